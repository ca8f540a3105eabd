"""Flows as numbers: recorded and projected moves per financial year, in one tidy table.

One table with one set of labels (:data:`FLOW_LABELS`) serves the report, the workbook and
``projection/flows_by_year.csv``:

- **recorded** years, counted from the council's returns (whole years inside the record),
  published under disclosure control: referrals of children not already in a service,
  entries to care (every child entering care, new to services or stepping up), exits from
  care by reason, steps up and down between services outside care (early help, then
  assessment or children in need, then child protection), defined as the flow model
  counts them;
- **projected** years: the mean across the simulated futures (a mean of yearly totals is
  the sum of the monthly means, so years and reasons add up); a year the projection covers
  in part is marked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.data import EventHistory
from care_demand.outputs.disclosure import DisclosureRule, suppress_counts
from care_demand.outputs.summary import financial_year

__all__ = [
    "ADOLESCENT_ENTRIES",
    "FLOW_LABELS",
    "flows_by_replicate",
    "flows_by_year",
    "projected_flows",
    "recorded_flows",
]

# Why children leave care, in plain words.
_EXIT_LABELS = {
    vocab.RETURN_HOME: "returned home",
    vocab.SGO_CAO: "special guardianship or child arrangements order",
    vocab.ADOPTION: "adopted",
    vocab.AGE_18: "turned 18",
    vocab.CARE_EXIT_OTHER: "other reasons",
}
# The age bands of children entering care (the flow model's bands under 18), in words.
_ENTRY_BANDS = {
    name: "under 1" if low == 0 else f"{low:g} to {high - 1:g}"
    for name, low, high in vocab.AGE_BANDS
    if high <= 18
}
# Adolescents entering care: the sum of the flow model's bands from 10 to 17, per future.
ADOLESCENT_ENTRIES = "entries_to_care:10_17"
ADOLESCENT_BANDS: tuple[str, ...] = ("entries_to_care:10_15", "entries_to_care:16_17")
# Each flow's label, in the order shown (flows_by_year.csv, flows_by_replicate.csv and the
# comparison's flow differences).
FLOW_LABELS: dict[str, str] = {
    "referrals": "Referrals of children not already in a service",
    "entries_to_care": "Entries to care (all)",
    **{f"entries_to_care:{b}": f"of which: aged {w} at entry" for b, w in _ENTRY_BANDS.items()},
    ADOLESCENT_ENTRIES: "Entries to care of adolescents (aged 10 to 17)",
    "exits_from_care": "Exits from care (all reasons)",
    **{f"exit:{r}": f"of which: {_EXIT_LABELS[r]}" for r in vocab.CARE_EXITS},
    "move:inhouse_to_external": "Moves from in-house to external placements",
    "move:external_to_inhouse": "Moves from external to in-house placements",
    "placed_externally_for_want:inhouse_foster": "Placed with a fostering agency for want "
    "of an in-house foster carer",
    "placed_externally_for_want:inhouse_residential": "Placed in an external children's home "
    "for want of an in-house place",
    "step_down:residential_to_family": "Step-downs from residential care to a family placement",
    "step_down:harbour": "of which: supported by the Harbour",
    "step_up": "Steps up between services outside care",
    "step_down": "Steps down between services outside care",
    "family_network:meetings": "Family network meetings held before an entry to care",
    "family_network:averted": "of which: the entry to care averted",
    "family_network:kinship": "Entries to care with a kinship carer the family network found",
    "entries_to_kinship_care": "Entries to care placed with kinship carers",
}
# The flows between services outside care, which data of children in care alone do not hold.
_SERVICE_FLOWS = ("referrals", "step_up", "step_down")
# The (measure, categories) of the projection that add up to each flow.
_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    "referrals": ("arrivals", ("referral",)),
    "entries_to_care": ("flow", ("entry_to_care",)),
    "exits_from_care": ("flow", tuple(f"exit:{r}" for r in vocab.CARE_EXITS)),
    **{f"exit:{r}": ("flow", (f"exit:{r}",)) for r in vocab.CARE_EXITS},
    "step_up": ("flow", ("step_up",)),
    "step_down": ("flow", ("step_down",)),
}
# Levels of the services outside care, as the flow model counts steps up and down.
_LEVEL = {vocab.EARLY_HELP: 1, vocab.ASSESSMENT: 2, vocab.CIN: 2, vocab.CP: 3}


def projected_flows(quantiles: pd.DataFrame) -> pd.DataFrame:
    """Mean flows per financial year: index the flows of :data:`FLOW_LABELS`, columns the
    years (a year the projection covers only in part is labelled ``(part year)``)."""
    q = quantiles[quantiles["age_band"] == "all"].copy()
    q["month"] = pd.to_datetime(q["month"])
    q["year"] = financial_year(q["month"])
    months = q.groupby("year")["month"].nunique()
    rows = {}
    for flow, (measure, categories) in _SOURCES.items():
        sel = q[(q["measure"] == measure) & q["category"].isin(categories)]
        if sel.empty:
            continue
        rows[flow] = sel.groupby("year")["mean"].sum()
    table = pd.DataFrame(rows).T
    if table.empty:
        return table
    table.columns = [y if months[y] == 12 else f"{y} (part year)" for y in table.columns]
    return table


def flows_by_replicate(monthly: pd.DataFrame) -> pd.DataFrame:
    """Each simulated future's flows per financial year (``projection/flows_by_replicate.csv``).

    ``monthly``: :func:`care_demand.simulation.runner.flow_replicates` output (``replicate``,
    ``month``, ``flow``, ``value``). Returns columns ``replicate``, ``financial_year``,
    ``part_year`` (a year the projection covers in part), ``flow`` (a key of
    :data:`FLOW_LABELS`) and ``value`` (whole moves in that future and year): the means
    across futures are ``flows_by_year.csv``'s projected values.
    """
    columns = ["replicate", "financial_year", "part_year", "flow", "value"]
    if monthly.empty:
        return pd.DataFrame(columns=columns)
    months = pd.to_datetime(monthly["month"])
    frame = monthly.assign(financial_year=financial_year(months).to_numpy())
    covered = months.groupby(frame["financial_year"].to_numpy()).nunique()
    out = frame.groupby(["replicate", "financial_year", "flow"], sort=False, as_index=False)[
        "value"
    ].sum()
    out["part_year"] = out["financial_year"].map(covered < 12)
    order = {f: i for i, f in enumerate(FLOW_LABELS)}
    out = out.assign(_o=out["flow"].map(order).fillna(len(order)))
    out = out.sort_values(["replicate", "financial_year", "_o"], kind="stable")
    return out[columns].astype({"value": np.int64}).reset_index(drop=True)


def _whole_years(history: EventHistory) -> list[str]:
    """The financial years wholly inside the record."""
    first = history.window_start
    start = first.year if first <= pd.Timestamp(first.year, 4, 1) else first.year + 1
    end = history.window_end
    years = []
    year = start
    while pd.Timestamp(year + 1, 3, 31) <= end:
        years.append(f"{year}/{(year + 1) % 100:02d}")
        year += 1
    return years


def recorded_flows(history: EventHistory) -> pd.DataFrame:
    """Recorded flows per whole financial year of the record (raw counts, not published):
    index the flows of :data:`FLOW_LABELS`, columns the years."""
    years = _whole_years(history)
    spells = history.spells
    rows: dict[str, pd.Series] = {}
    arrivals = history.arrivals_from_outside()  # as the projection counts them
    referrals = arrivals[arrivals["kind"] == "referral"]
    rows["referrals"] = financial_year(pd.to_datetime(referrals["date"])).value_counts()
    care = spells["state"] == vocab.CARE
    entries = spells[care & (spells["prev_state"] != vocab.CARE)]
    rows["entries_to_care"] = financial_year(entries["start"]).value_counts()
    ended = spells["end"].notna()
    exits = spells[care & ended & (spells["next_state"] != vocab.CARE)]
    rows["exits_from_care"] = financial_year(exits["end"]).value_counts()
    for reason in vocab.CARE_EXITS:
        some = exits[exits["exit_reason"] == reason]
        rows[f"exit:{reason}"] = financial_year(some["end"]).value_counts()
    level = spells["state"].map(_LEVEL)
    next_level = spells["next_state"].map(_LEVEL)
    moved = spells[ended & level.notna() & next_level.notna()]
    up = moved[next_level[moved.index] > level[moved.index]]
    down = moved[next_level[moved.index] < level[moved.index]]
    rows["step_up"] = financial_year(up["end"]).value_counts()
    rows["step_down"] = financial_year(down["end"]).value_counts()
    table = pd.DataFrame(rows).T.reindex(columns=years).fillna(0).astype(np.int64)
    return table


def flows_by_year(
    recorded: pd.DataFrame | None,
    projected: pd.DataFrame | None,
    rule: DisclosureRule,
    *,
    services: bool = True,
) -> pd.DataFrame:
    """The published flows table: one row per flow and financial year.

    Columns ``flow``, ``label``, ``financial_year``, ``kind`` (``recorded`` or
    ``projected``), ``part_year`` (a projected year covered in part), ``value``: recorded
    counts under ``rule`` (text: a whole number or the marker), projected means to one
    decimal place. Steps up and down are recorded only where the returns cover the services
    outside care (the early help and CIN census files); without ``services`` (children in
    care alone, SSDA903 only) referrals and steps between services are left out.
    """
    if not services:
        recorded, projected = (
            None if t is None else t.drop(index=list(_SERVICE_FLOWS), errors="ignore")
            for t in (recorded, projected)
        )
    parts = []
    if recorded is not None and not recorded.empty:
        tidy = recorded.rename_axis(index="flow", columns="financial_year").stack()
        frame = tidy.rename("value").reset_index()
        frame = frame.assign(kind="recorded", part_year=False)
        frame["value"] = suppress_counts(frame, "value", rule)["value"]
        parts.append(frame)
    if projected is not None and not projected.empty:
        tidy = projected.rename_axis(index="flow", columns="financial_year").stack()
        frame = tidy.rename("value").reset_index()
        part = frame["financial_year"].str.endswith(" (part year)")
        frame["financial_year"] = frame["financial_year"].str.removesuffix(" (part year)")
        frame = frame.assign(kind="projected", part_year=part.to_numpy())
        frame["value"] = [f"{v:.1f}" for v in frame["value"]]
        parts.append(frame)
    if not parts:
        return pd.DataFrame(
            columns=["flow", "label", "financial_year", "kind", "part_year", "value"]
        )
    out = pd.concat(parts, ignore_index=True)
    order = {f: i for i, f in enumerate(FLOW_LABELS)}
    out["label"] = out["flow"].map(FLOW_LABELS)
    out = out.assign(_o=out["flow"].map(order)).sort_values(
        ["_o", "kind", "financial_year"],
        key=lambda s: s.map({"recorded": 0, "projected": 1}) if s.name == "kind" else s,
        kind="stable",
    )
    columns = ["flow", "label", "financial_year", "kind", "part_year", "value"]
    return out[columns].reset_index(drop=True)
