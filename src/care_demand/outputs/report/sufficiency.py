"""The report's sufficiency tables: each quarter, children needing each kind of placement
against in-house places, and external placements and out of area at each 31 March.

Read from ``finance/sufficiency_by_quarter.csv`` (:mod:`care_demand.outputs.sufficiency`)
and ``projection/key_measures_by_replicate.csv``: one table per in-house group, quarters
down and the measures across, each a median with its 80% interval.
"""

from __future__ import annotations

import pandas as pd

from care_demand import vocab
from care_demand.outputs.report.html import _quantiles, _spread, html_table
from care_demand.outputs.report.sections import _GROUP_LABELS
from care_demand.outputs.run_files import RunFiles
from care_demand.outputs.settings import OutputConfig
from care_demand.outputs.sufficiency import SUFFICIENCY_MEASURES

__all__ = ["sufficiency_caption", "sufficiency_html", "sufficiency_words"]


def sufficiency_caption(inhouse: str, external: str) -> str:
    """The caption of one in-house group's quarterly table."""
    return (
        f"{_GROUP_LABELS[inhouse]} and {_GROUP_LABELS[external].lower()}: sufficiency at "
        "each quarter end, median (80% interval)"
    )


def _share(table: pd.DataFrame, group: str) -> str:
    rows = table[table["inhouse_group"] == group]
    if rows.empty or pd.isna(rows["target_share"].iloc[0]):
        return "not set"
    return f"{float(rows['target_share'].iloc[0]):.0%}"


def _source(table: pd.DataFrame) -> str:
    """Where the target shares come from: the built-in assumptions or the council's own."""
    defaults = OutputConfig().target_inhouse_share
    used = table.drop_duplicates("inhouse_group").set_index("inhouse_group")["target_share"]
    if all(abs(float(used.get(g, -1)) - v) < 1e-9 for g, v in defaults.items()):
        return (
            "These are the built-in assumptions, not published targets: Dorset's plans call "
            "for more in-house fostering and residential places without stating a share. "
            "Set the council's own from its sufficiency strategy."
        )
    return "These are the council's own settings."


def sufficiency_words(table: pd.DataFrame) -> str:
    """What the quarterly tables show, in plain words, with the target shares used."""
    foster = _share(table, vocab.INHOUSE_FOSTER)
    homes = _share(table, vocab.INHOUSE_RESIDENTIAL)
    return (
        "<p>For each kind of placement the council provides itself, each quarter end: the "
        "children needing that kind of placement (placed in-house or externally), the "
        "in-house places available, the children placed in them, and the children placed "
        "externally, in two parts. <strong>Placed externally for want of an in-house "
        "place</strong> is the gap: these children would have had an in-house place had one "
        "been free. <strong>Placed externally by preference or need</strong> is not a gap: "
        "these children are with an agency or an external home because it is the better "
        "match (a specialist service, a sibling group kept together, a child already settled "
        "there), so more in-house places would not by themselves bring them in-house.</p>"
        "<p><strong>In-house places needed for the target share</strong> is how many places "
        "would have to be added for the target share of the children needing that kind of "
        "placement to be placed in-house: the target share of the children needing, rounded "
        "up, less the places available, and 0 when there are enough. The target shares are "
        f"{foster} for in-house foster care and {homes} for in-house children's homes "
        f"(<code>output.target_inhouse_share</code>). {_source(table)}</p>"
        "<p>Every figure is worked out within each simulated future first, then summarised: "
        "the median across futures, with the 80% interval (P10 to P90) in brackets, in whole "
        "children. Medians of parts need not add up to the median of the whole.</p>"
    )


def _group_table(table: pd.DataFrame, inhouse: str, external: str) -> str:
    rows = table[table["inhouse_group"] == inhouse].sort_values("quarter_end")
    if rows.empty:
        return ""
    frame = pd.DataFrame(
        {"Quarter end": [f"{pd.Timestamp(d):%d %b %Y}" for d in rows["quarter_end"]]}
    )
    for measure, label in SUFFICIENCY_MEASURES.items():
        frame[label] = [
            _spread(a, b, c)
            for a, b, c in zip(
                rows[f"{measure}_median"],
                rows[f"{measure}_p10"],
                rows[f"{measure}_p90"],
                strict=True,
            )
        ]
    return html_table(frame, caption=sufficiency_caption(inhouse, external), model=True)


def _external_table(run: RunFiles) -> str:
    """External placements and children placed out of area at each 31 March."""
    km = run.key_measures
    if km is None or km.empty:
        return ""
    march = km[pd.to_datetime(km["month"]).dt.month == 3]
    rows: dict[pd.Timestamp, dict[str, str]] = {}
    for measure, label in (
        ("external_placements", "External placements (agencies and external homes)"),
        ("out_of_area", "Placed out of area"),
    ):
        for month, group in march[march["measure"] == measure].groupby("month"):
            rows.setdefault(pd.Timestamp(month), {})[label] = _spread(*_quantiles(group["value"]))
    if not rows:
        return ""
    frame = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    frame.index = [f"{d:%d %b %Y}" for d in frame.index]
    return html_table(
        frame.reset_index(names="Date"),
        caption="External placements and children placed out of area at 31 March: median "
        "(80% interval)",
        model=True,
    )


def sufficiency_html(run: RunFiles) -> str:
    """The sufficiency section's tables: one per in-house group, then external placements."""
    parts = []
    table = run.sufficiency
    if table is not None and not table.empty:
        parts.append(sufficiency_words(table))
        for inhouse, external in vocab.EXTERNAL_EQUIVALENT.items():
            parts.append(_group_table(table, inhouse, external))
    parts.append(_external_table(run))
    return "".join(parts)
