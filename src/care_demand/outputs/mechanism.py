"""How a scenario works: paired differences in flows and the cost bridge from the baseline.

Both are taken within each simulated future, scenario minus baseline (the futures share
their random numbers, see :mod:`care_demand.outputs.comparison`), then summarised as the
mean and the 80% interval (P10-P90) of the differences:

- :func:`flow_differences`: entries to care by age band, moves between in-house and
  external placements, placements made externally for want of an in-house place,
  step-downs and exits by reason, per financial year and over the whole projection, from
  each run's ``projection/flows_by_replicate.csv``;
- :func:`cost_bridge`: the difference in cost by budget line, grouped as a finance officer
  reads them (:data:`BRIDGE_GROUPS`: placements avoided or added, in-house places and
  carers, casework, activity costs such as family network meetings, fixed costs, and
  income such as a grant, negative), per financial year and over the complete financial years,
  from each run's ``finance/costs_by_replicate.csv``. The lines' differences sum exactly to
  the total difference in every future, so their means sum to the mean total difference;
- :func:`mechanism_summary`: one sentence in words from those numbers, claiming a change
  only where the interval is on one side of zero.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.finance.costs import span_label
from care_demand.outputs.flows import ADOLESCENT_BANDS, ADOLESCENT_ENTRIES, FLOW_LABELS
from care_demand.outputs.workbook_names import line_name

__all__ = [
    "BRIDGE_GROUPS",
    "SUMMARY_FLOWS",
    "bridge_group",
    "cost_bridge",
    "flow_differences",
    "is_clear",
    "mechanism_summary",
]

# Groups of budget lines in the cost bridge, in the order a finance officer reads them.
BRIDGE_GROUPS: tuple[str, ...] = (
    "placements",
    "inhouse",
    "casework",
    "activity",
    "fixed",
    "income",
)
TOTAL = "total"
# The flows the sentence speaks of, each with its words (plural noun phrase, verb).
SUMMARY_FLOWS: dict[str, str] = {
    "entries_to_care": "children entering care",
    ADOLESCENT_ENTRIES: "adolescents (aged 10 to 17) entering care",
    "move:inhouse_to_external": "moves from in-house to external placements",
    "placed_externally_for_want:inhouse_residential": (
        "children placed in external children's homes for want of an in-house place"
    ),
    "step_down:residential_to_family": "step-downs from residential care to a family placement",
    "exits_from_care": "exits from care",
    "family_network:meetings": "family network meetings held",
    "entries_to_kinship_care": "entries to care placed with kinship carers",
}
_SUMMARY = ("p10", "p50", "p90", "mean")


def _summary(values: pd.Series) -> pd.Series:
    v = values.to_numpy(dtype=float)
    return pd.Series([*np.quantile(v, [0.10, 0.50, 0.90]), v.mean()], index=_SUMMARY)


def _paired(scenario: pd.DataFrame, baseline: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Scenario and baseline values side by side per replicate and key, with their difference.

    A key only one of them has (a fixed cost only the scenario pays) counts as 0 in the other.
    """
    if set(scenario["replicate"]) != set(baseline["replicate"]):
        raise ValueError(
            "a scenario and the baseline do not share their replicates; "
            "run them with the same seed and number of replicates"
        )
    on = ["replicate", *keys]
    paired = scenario[[*on, "value"]].merge(
        baseline[[*on, "value"]], on=on, how="outer", suffixes=("", "_base")
    )
    paired[["value", "value_base"]] = paired[["value", "value_base"]].fillna(0.0)
    paired["diff"] = paired["value"] - paired["value_base"]
    return paired


def _summarise(paired: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean of each side and the mean, P10, P50 and P90 of the paired difference per key."""
    grouped = paired.groupby(keys, sort=False)
    out = grouped[["value_base", "value"]].mean()
    out.columns = ["baseline_mean", "scenario_mean"]
    diff = grouped["diff"].apply(_summary).unstack()
    diff.columns = [f"diff_{c}" for c in diff.columns]
    return out.join(diff).reset_index()


def _with_adolescents(flows: pd.DataFrame) -> pd.DataFrame:
    """The flows with adolescents' entries to care (the bands from 10 to 17) added per future."""
    bands = flows[flows["flow"].isin(ADOLESCENT_BANDS)]
    if bands.empty:
        return flows
    keys = ["replicate", "financial_year", "part_year"]
    extra = bands.groupby(keys, as_index=False)["value"].sum().assign(flow=ADOLESCENT_ENTRIES)
    return pd.concat([flows, extra[flows.columns]], ignore_index=True)


def _with_span(frame: pd.DataFrame, keys: list[str], years: list[str], flag: str) -> pd.DataFrame:
    """``frame`` with a row per replicate and key for ``years`` together (their sum), labelled
    with the span of years (``2024/25 to 2028/29``) and ``flag`` false."""
    if len(years) < 2:
        return frame
    chosen = frame[frame["financial_year"].isin(years)]
    span = chosen.groupby(["replicate", *keys], sort=False, as_index=False)["value"].sum()
    span = span.assign(financial_year=span_label(years), **{flag: flag == "complete"})
    return pd.concat([frame, span[frame.columns]], ignore_index=True)


def _year_key(year: pd.Series) -> pd.Series:
    """Sort key of financial years: single years in order, spans of years last."""
    return year.map(lambda y: (" to " in y, y))


def flow_differences(scenario: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    """Paired differences in flows, scenario minus baseline, per financial year and over the
    whole projection.

    ``scenario`` and ``baseline``: ``flows_by_replicate.csv`` tables (``replicate``,
    ``financial_year``, ``part_year``, ``flow``, ``value``) of runs with the same seed and
    replicates. Adolescents' entries to care (:data:`ADOLESCENT_ENTRIES`) are added per
    future. Returns columns ``financial_year`` (a span such as ``2024/25 to 2028/29`` for the
    whole projection), ``part_year``, ``flow``, ``label``, ``baseline_mean``,
    ``scenario_mean``, ``diff_p10``, ``diff_p50``, ``diff_p90``, ``diff_mean``.
    """
    frames = [_with_adolescents(f.astype({"financial_year": str})) for f in (scenario, baseline)]
    years = sorted(set(frames[1]["financial_year"]))
    frames = [_with_span(f, ["flow"], years, "part_year") for f in frames]
    keys = ["financial_year", "part_year", "flow"]
    paired = _paired(frames[0], frames[1], keys)
    paired["part_year"] = paired["part_year"].astype(bool)
    out = _summarise(paired, keys)
    order = {f: i for i, f in enumerate(FLOW_LABELS)}
    out = out.assign(label=out["flow"].map(FLOW_LABELS).fillna(out["flow"]))
    out = out.assign(_f=out["flow"].map(order), _y=_year_key(out["financial_year"]))
    out = out.sort_values(["_y", "_f"], kind="stable").drop(columns=["_f", "_y"])
    columns = ["financial_year", "part_year", "flow", "label", "baseline_mean", "scenario_mean"]
    return out[[*columns, *(f"diff_{c}" for c in _SUMMARY)]].reset_index(drop=True)


def bridge_group(kind: str, line: str) -> str:
    """The cost bridge's group of a budget line (one of :data:`BRIDGE_GROUPS`, or total)."""
    if kind == "placements":
        return "inhouse" if line in vocab.EXTERNAL_EQUIVALENT else "placements"
    return kind if kind in BRIDGE_GROUPS else TOTAL


def cost_bridge(scenario: pd.DataFrame, baseline: pd.DataFrame) -> pd.DataFrame:
    """The bridge from the baseline's cost to the scenario's by budget line, paired by future.

    ``scenario`` and ``baseline``: ``costs_by_replicate.csv`` tables (``replicate``,
    ``financial_year``, ``kind``, ``line``, ``complete``, ``value``). One row per financial
    year (and the complete years together, labelled with their span) and budget line, with
    its group (:func:`bridge_group`), and a ``total`` row: the sum of the lines in each
    future. Columns ``financial_year``, ``complete``, ``group``, ``kind``, ``line``,
    ``baseline_mean``, ``scenario_mean``, ``diff_p10``, ``diff_p50``, ``diff_p90``,
    ``diff_mean``; the lines' ``diff_mean`` sum to the total's in every year.
    """
    complete = dict(
        zip(baseline["financial_year"], baseline["complete"].astype(bool), strict=False)
    )
    keys = ["financial_year", "kind", "line"]
    paired = _paired(scenario, baseline, keys)
    lines = paired.rename(columns={"value": "v", "value_base": "b"})
    totals = lines.groupby(["replicate", "financial_year"], as_index=False)[
        ["v", "b", "diff"]
    ].sum()
    lines = pd.concat([lines, totals.assign(kind=TOTAL, line=TOTAL)], ignore_index=True)
    lines["complete"] = lines["financial_year"].map(complete).fillna(False).astype(bool)
    whole = sorted(y for y, c in complete.items() if c)
    frames = [lines]
    if len(whole) > 1:
        chosen = lines[lines["financial_year"].isin(whole)]
        span = chosen.groupby(["replicate", "kind", "line"], sort=False, as_index=False)[
            ["v", "b", "diff"]
        ].sum()
        frames.append(span.assign(financial_year=span_label(whole), complete=True))
    both = pd.concat(frames, ignore_index=True).rename(columns={"v": "value", "b": "value_base"})
    both["group"] = [bridge_group(k, ln) for k, ln in zip(both["kind"], both["line"], strict=True)]
    out = _summarise(both, ["financial_year", "complete", "group", "kind", "line"])
    group_order = {g: i for i, g in enumerate((*BRIDGE_GROUPS, TOTAL))}
    line_order = {ln: i for i, ln in enumerate(pd.unique(baseline["line"]))}
    out = out.assign(
        _y=_year_key(out["financial_year"]),
        _g=out["group"].map(group_order),
        _l=out["line"].map(line_order).fillna(len(line_order)),
    )
    out = out.sort_values(["_y", "_g", "_l"], kind="stable").drop(columns=["_y", "_g", "_l"])
    columns = ["financial_year", "complete", "group", "kind", "line"]
    columns += ["baseline_mean", "scenario_mean"]
    return out[[*columns, *(f"diff_{c}" for c in _SUMMARY)]].reset_index(drop=True)


def is_clear(p10: float, p90: float) -> bool:
    """Whether an 80% interval of a difference lies wholly on one side of zero."""
    return bool(p10 > 0 or p90 < 0)


def _amount(value: float, whole: bool) -> str:
    """A number of moves without its sign: whole, or to one decimal place."""
    return f"{abs(value):,.0f}" if whole else f"{abs(value):,.1f}"


def _money(value: float) -> str:
    value = abs(value)
    return f"£{value / 1e6:,.1f}m" if value >= 1e6 else f"£{value / 1e3:,.0f}k"


def _phrase(noun: str, mean: float, p10: float, p90: float) -> str:
    """``14 fewer <noun> (6 to 22 fewer)``; ``on average`` with ``0 to`` when the interval
    reaches zero from one side; no clear change when it spans zero or is zero."""
    if p10 < 0 < p90 or (p10 == 0 and p90 == 0):
        return f"no clear change in {noun}"
    word = "more" if mean > 0 else "fewer"
    low, high = sorted((abs(p10), abs(p90)))
    whole = high >= 10  # whole numbers from 10, one decimal place below
    amounts = [_amount(v, whole) for v in (mean, low, high)]
    if low == 0:  # as many as the baseline in some futures: fewer (or more) on average only
        amounts[1] = "0"
        return "{} {word} {noun} on average ({} to {} {word})".format(
            *amounts, word=word, noun=noun
        )
    return "{} {word} {noun} ({} to {} {word})".format(*amounts, word=word, noun=noun)


def _cost_sentence(row: pd.Series) -> str:
    years = row["financial_year"]
    p10, p90 = row["diff_p10"], row["diff_p90"]
    if not is_clear(p10, p90):
        return (
            f"Over the complete financial years {years}, there is no clear change in cost "
            f"(80% interval {_signed(p10)} to {_signed(p90)})."
        )
    word = "more" if p10 > 0 else "less"
    low, high = sorted((abs(p10), abs(p90)))
    return (
        f"Over the complete financial years {years}, the scenario costs {_money(row['diff_mean'])}"
        f" {word} than the baseline ({_money(low)} to {_money(high)} {word})."
    )


def _signed(value: float) -> str:
    return f"{'-' if value < 0 else '+'}{_money(value)}"


def _largest_lines(rows: pd.DataFrame, names: Mapping[str, str] | None) -> str:
    """The budget lines whose difference is clear, largest first (at most three)."""
    clear = (rows["diff_p10"] > 0) | (rows["diff_p90"] < 0)  # as is_clear
    lines = rows[(rows["line"] != TOTAL) & clear]
    lines = lines.reindex(lines["diff_mean"].abs().sort_values(ascending=False).index)[:3]
    parts = [
        f"{line_name(r.kind, r.line, names)} {_signed(r.diff_mean)} "
        f"({_signed(r.diff_p10)} to {_signed(r.diff_p90)})"
        for r in lines.itertuples()
    ]
    return f" The largest clear changes by budget line: {'; '.join(parts)}." if parts else ""


def mechanism_summary(
    flows: pd.DataFrame,
    bridge: pd.DataFrame | None = None,
    names: Mapping[str, str] | None = None,
) -> str:
    """The scenario's mechanism in words, from its flow differences over the whole
    projection and its cost bridge over the complete years: "Over 2024/25 to 2028/29: 14
    fewer adolescents (aged 10 to 17) entering care (6 to 22 fewer); ...".

    A change is claimed only where the 80% interval of the paired difference is on one
    side of zero; otherwise the sentence says there is no clear change. Flows that are zero
    in both runs are left out. The budget lines that moved clearly follow, largest first
    (``names``: fixed costs' titles).
    """
    years = flows["financial_year"].astype(str)
    spans = flows[years.str.contains(" to ")]
    rows = spans if not spans.empty else flows[years == years.max()]
    parts = []
    period = str(rows["financial_year"].iloc[0]) if not rows.empty else ""
    rows = rows.set_index("flow")
    for flow, noun in SUMMARY_FLOWS.items():
        if flow in rows.index:
            r = rows.loc[flow]
            if r["baseline_mean"] == 0 and r["scenario_mean"] == 0:
                continue
            parts.append(_phrase(noun, r["diff_mean"], r["diff_p10"], r["diff_p90"]))
    text = f"Over {period}: " + "; ".join(parts) + "." if parts else ""
    if bridge is not None and not bridge.empty:
        span = bridge[bridge["financial_year"].str.contains(" to ")]
        total = span[span["line"] == TOTAL]
        if not total.empty:
            text += " " + _cost_sentence(total.iloc[0]) + _largest_lines(span, names)
    return text.strip()
