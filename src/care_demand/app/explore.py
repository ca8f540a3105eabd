"""The Data page's explorer: the recorded history of care, filtered by placement and age.

:func:`history_cube` counts, once per data folder, the children in care at each month end
by placement group and age band, entries to and exits from care per financial year (by the
group and age band at the move) and unaccompanied asylum-seeking children in care. These
are counts, never rows about a child, and they stay on the server: the page only shows
:func:`explore_series` and :func:`explore_flows`, which add up the chosen groups and bands
and pass every count through :mod:`care_demand.outputs.disclosure` (counts from 1 to the
rule's maximum are shown as the marker, as in every published table).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from care_demand import vocab
from care_demand.data import EventHistory
from care_demand.outputs.charts import PALETTE, STYLE
from care_demand.outputs.disclosure import DisclosureRule, recorded_values, suppress_counts
from care_demand.outputs.workbook_names import display_name

__all__ = [
    "AGE_CHOICES",
    "ALL_AGES",
    "GROUP_CHOICES",
    "HistoryCube",
    "explore_figure",
    "explore_flows",
    "explore_series",
    "history_cube",
]

ALL_AGES = "all"


def _age_label(band: str) -> str:
    """``10_15`` -> "10 to 15", ``under_1`` -> "under 1", ``18_plus`` -> "18 and over"."""
    if band.endswith("_plus"):
        return f"{band.removesuffix('_plus')} and over"
    if band.startswith("under_"):
        return band.replace("_", " ")
    return band.replace("_", " to ")


# The filters' choices: value -> label.
AGE_CHOICES: dict[str, str] = {ALL_AGES: "All ages"} | {
    b: f"Aged {_age_label(b)}" for b in vocab.AGE_BAND_NAMES
}
GROUP_CHOICES: dict[str, str] = {g: display_name(g) for g in vocab.PLACEMENT_GROUPS}


@dataclass(frozen=True)
class HistoryCube:
    """Counts of the recorded history of care (see the module docstring)."""

    monthly: pd.DataFrame  # month, placement_group, age_band, children
    flows: (
        pd.DataFrame
    )  # financial_year, flow (entries, exits), placement_group, age_band, children
    uasc: pd.DataFrame  # month, children (UASC in care; empty when the data have no UASC)


def _band(ages: np.ndarray) -> np.ndarray:
    lows = np.array([low for _, low, _ in vocab.AGE_BANDS])
    highs = np.array([high for _, _, high in vocab.AGE_BANDS])
    names = np.array(vocab.AGE_BAND_NAMES, dtype=object)
    index = np.clip(np.searchsorted(lows, ages, side="right") - 1, 0, len(lows) - 1)
    inside = ~np.isnan(ages) & (ages >= lows[index]) & (ages < highs[index])
    return np.where(inside, names[index], "unknown")


def _financial_year(dates: pd.Series) -> pd.Series:
    end = dates.dt.year + (dates.dt.month >= 4).astype(int)
    return (end - 1).astype(str) + "/" + (end % 100).astype(str).str.zfill(2)


def history_cube(history: EventHistory) -> HistoryCube:
    """Count the history of care by month, placement group and age band."""
    months = pd.date_range(history.window_start, history.window_end, freq="ME")
    care = history.spells[history.spells["state"] == vocab.CARE]
    frames = []
    for month in months:
        open_ = care[(care["start"] <= month) & (care["end"].isna() | (care["end"] > month))]
        ages = (month - open_["dob"]).dt.days.to_numpy(dtype=float) / vocab.DAYS_PER_YEAR
        counts = (
            pd.DataFrame(
                {
                    "placement_group": open_["placement_group"].fillna("unknown").to_numpy(),
                    "age_band": _band(ages),
                }
            )
            .value_counts()
            .rename("children")
            .reset_index()
        )
        counts.insert(0, "month", month)
        frames.append(counts)
    monthly = pd.concat(frames, ignore_index=True)

    inside = lambda d: d.between(history.window_start, history.window_end)  # noqa: E731
    entries = care[(care["prev_state"] != vocab.CARE) & inside(care["start"])]
    exits = care[(care["next_state"] != vocab.CARE) & care["end"].notna() & inside(care["end"])]
    flow_frames = []
    for flow, table, when in (("entries", entries, "start"), ("exits", exits, "end")):
        ages = (table[when] - table["dob"]).dt.days.to_numpy(dtype=float) / vocab.DAYS_PER_YEAR
        frame = pd.DataFrame(
            {
                "financial_year": _financial_year(table[when]).to_numpy(),
                "flow": flow,
                "placement_group": table["placement_group"].fillna("unknown").to_numpy(),
                "age_band": _band(ages),
            }
        )
        flow_frames.append(frame.value_counts().rename("children").reset_index())
    flows = pd.concat(flow_frames, ignore_index=True)

    uasc = pd.DataFrame(columns=["month", "children"])
    if history.uasc_supplied:
        rows = []
        for month in months:
            open_ = care[(care["start"] <= month) & (care["end"].isna() | (care["end"] > month))]
            flags = history.uasc_on(open_["child_id"], month)
            rows.append((month, int(np.count_nonzero(flags))))
        uasc = pd.DataFrame(rows, columns=["month", "children"])
    return HistoryCube(monthly=monthly, flows=flows, uasc=uasc)


def _pick(frame: pd.DataFrame, groups: Sequence[str], age_band: str) -> pd.DataFrame:
    keep = frame["placement_group"].isin(list(groups))
    if age_band != ALL_AGES:
        keep &= frame["age_band"] == age_band
    return frame[keep]


def explore_series(
    cube: HistoryCube, groups: Sequence[str], age_band: str, rule: DisclosureRule
) -> pd.DataFrame:
    """Children in care at each month end in ``groups`` and ``age_band``, as published.

    Columns ``month`` and ``children`` (text: a whole number or the disclosure marker).
    """
    months = pd.Index(sorted(cube.monthly["month"].unique()), name="month")
    picked = _pick(cube.monthly, groups, age_band)
    series = picked.groupby("month")["children"].sum().reindex(months, fill_value=0)
    return suppress_counts(series.reset_index(), "children", rule)


def explore_flows(
    cube: HistoryCube, groups: Sequence[str], age_band: str, rule: DisclosureRule
) -> pd.DataFrame:
    """Entries to and exits from care per financial year in ``groups`` and ``age_band``.

    One row per financial year; ``Entries to care`` (group at entry) and ``Exits from care``
    (group at exit), each under the disclosure rule.
    """
    years = sorted(cube.flows["financial_year"].unique())
    picked = _pick(cube.flows, groups, age_band)
    table = (
        picked.pivot_table(index="financial_year", columns="flow", values="children", aggfunc="sum")
        .reindex(index=years, columns=["entries", "exits"])
        .fillna(0)
        .astype(int)
        .reset_index()
    )
    for column in ("entries", "exits"):
        table[column] = suppress_counts(table, column, rule)[column]
    return table.rename(
        columns={
            "financial_year": "Financial year",
            "entries": "Entries to care",
            "exits": "Exits from care",
        }
    )


def explore_figure(
    cube: HistoryCube, groups: Sequence[str], age_band: str, rule: DisclosureRule
) -> Figure:
    """The chosen children in care month by month (suppressed months left as gaps)."""
    series = explore_series(cube, groups, age_band, rule)
    values = recorded_values(series["children"], rule.marker)
    with mpl.rc_context(STYLE):
        fig = Figure(layout="tight")
        ax = fig.add_subplot()
        ax.plot(pd.to_datetime(series["month"]), values, color=PALETTE["black"], lw=1.8)
        if (
            cube.uasc is not None
            and not cube.uasc.empty
            and len(groups) == len(cube.monthly["placement_group"].unique())
            and age_band == ALL_AGES
        ):
            uasc = suppress_counts(cube.uasc, "children", rule)
            ax.plot(
                pd.to_datetime(uasc["month"]),
                recorded_values(uasc["children"], rule.marker),
                color=PALETTE["blue"],
                lw=1.4,
                ls="--",
                label="of whom unaccompanied asylum-seeking children",
            )
            ax.legend(loc="lower left", frameon=False)
        ax.set_ylim(bottom=0)
        band = AGE_CHOICES.get(age_band, age_band).lower()
        if set(groups) >= set(vocab.PLACEMENT_GROUPS):
            chosen = "all placement types"
        elif len(groups) <= 3:
            chosen = ", ".join(GROUP_CHOICES.get(g, g) for g in groups)
        else:
            chosen = f"{len(groups)} placement types"
        ax.set_title(f"Children in care at month end: {chosen}, {band} (recorded)", loc="left")
        ax.set_ylabel("Children")
        ax.grid(axis="y", alpha=0.3)
        return fig
