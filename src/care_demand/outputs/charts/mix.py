"""The placement mix at each 31 March as the chart draws it: recorded and projected.

Recorded bars start from the published total of children in care (which is shown) and the
published placement groups. A chart group with a hidden part, or one that would itself be
hidden under the disclosure rule, is merged into "other" before the rule is applied again
(:func:`care_demand.outputs.disclosure.suppress_counts`), until nothing in the chart is
hidden. So the recorded bars always add up to the recorded total, and "other" shows no
more than the published table already lets a reader work out (the total less the parts
shown). Projected bars are means across simulated futures, with the total's interval.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.outputs.charts.style import PALETTE, _months
from care_demand.outputs.disclosure import DisclosureRule, Total, recorded_values, suppress_counts

__all__ = [
    "MIX_GROUPS",
    "OTHER",
    "projected_placement_mix",
    "recorded_placement_mix",
]

OTHER = "Other placements"
# Placement groups as a commissioner reads them, with their colours; "other" last.
MIX_GROUPS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Kinship foster care", (vocab.KINSHIP_FOSTER,), PALETTE["green"]),
    ("In-house foster care", (vocab.INHOUSE_FOSTER,), PALETTE["blue"]),
    ("Independent fostering agency", (vocab.IFA,), PALETTE["sky"]),
    ("In-house children's homes", (vocab.INHOUSE_RESIDENTIAL,), PALETTE["vermillion"]),
    ("External children's homes", (vocab.EXTERNAL_RESIDENTIAL,), PALETTE["orange"]),
    ("Supported accommodation (16+)", (vocab.SUPPORTED_16PLUS,), PALETTE["purple"]),
    (
        OTHER,
        (vocab.PLACED_WITH_PARENTS, vocab.PLACED_FOR_ADOPTION, vocab.SECURE_OTHER),
        PALETTE["grey"],
    ),
)
_LABELS = tuple(label for label, _, _ in MIX_GROUPS)
_CHART_TOTAL = Total(column="group", total="all", parts=_LABELS)


def _one_date(values: pd.Series, total: float, rule: DisclosureRule) -> dict[str, float]:
    """The chart groups of one 31 March: hidden or small groups merged into "other"."""
    known: dict[str, float] = {}
    for label, groups, _ in MIX_GROUPS[:-1]:
        parts = values.reindex(list(groups))
        if parts.notna().all():
            known[label] = float(parts.sum())
    while True:
        other = total - sum(known.values())
        row = {**known, OTHER: other}
        table = pd.DataFrame(
            {"group": ["all", *row], "children": [total, *(max(v, 0.0) for v in row.values())]}
        )
        shown = suppress_counts(table, "children", rule, (_CHART_TOTAL,))
        hidden = [
            g
            for g, c in zip(shown["group"], shown["children"], strict=True)
            if c == rule.marker and g in known
        ]
        if not hidden:
            return {label: row.get(label, 0.0) for label in _LABELS}
        for label in hidden:
            del known[label]


def recorded_placement_mix(stocks: pd.DataFrame | None, rule: DisclosureRule) -> pd.DataFrame:
    """Recorded children in care by chart group at each 31 March, adding up to the total.

    ``stocks``: the published ``stocks_31_march.csv``. Columns are the chart groups
    (:data:`MIX_GROUPS`) and ``total`` (the recorded total); a date whose total is hidden
    is left out.
    """
    if stocks is None or stocks.empty:
        return pd.DataFrame(columns=[*_LABELS, "total"])
    care = stocks[stocks["state"] == vocab.CARE].copy()
    care["value"] = recorded_values(care["children"], rule.marker)
    care.loc[(care["value"] >= 1) & (care["value"] <= rule.suppress_max), "value"] = np.nan
    rows = {}
    for date, group in care.groupby("date"):
        values = group.set_index("placement_group")["value"]
        total = values.get("all", np.nan)
        if pd.isna(total):
            continue
        rows[pd.Timestamp(date)] = {**_one_date(values, float(total), rule), "total": total}
    out = pd.DataFrame.from_dict(rows, orient="index", columns=[*_LABELS, "total"])
    return out.sort_index()


def projected_placement_mix(quantiles: pd.DataFrame) -> pd.DataFrame:
    """Projected children in care by chart group at each 31 March (means across futures),
    with the total's ``p10``, ``p50`` and ``p90``."""
    q = quantiles[(quantiles["measure"] == "children") & (quantiles["age_band"] == "all")].copy()
    q["month"] = _months(q)
    q = q[q["month"].dt.month == 3]
    wide = q.pivot(index="month", columns="category", values="mean")
    out = pd.DataFrame(index=wide.index)
    for label, groups, _ in MIX_GROUPS:
        out[label] = wide[[g for g in groups if g in wide.columns]].sum(axis=1)
    care = q[q["category"] == vocab.CARE].set_index("month")
    for column in ("p10", "p50", "p90"):
        out[column] = care[column].reindex(out.index) if column in care else np.nan
    return out
