"""The sufficiency chart of one in-house group, from ``finance/sufficiency_by_quarter.csv``.

At each quarter end: the children needing that kind of placement (in-house or its external
equivalent), the in-house places available and the children placed externally for want of
an in-house place, each as the median across simulated futures with its 80% interval
(P10 to P90) shaded. :func:`plot_sufficiency` draws the panel on a given ``Axes``;
:func:`sufficiency_chart` lays it out on an A4-wide page; :func:`sufficiency_finding` is its
alt text's finding.
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from care_demand import vocab
from care_demand.outputs.charts.style import (
    PALETTE,
    _counts_from_zero,
    _date_axis,
    _figure,
    _finish,
    _styled,
)

__all__ = [
    "SUFFICIENCY_NAMES",
    "SUFFICIENCY_SERIES",
    "plot_sufficiency",
    "sufficiency_chart",
    "sufficiency_finding",
    "sufficiency_title",
]

# Each in-house group's name and its external equivalent's, as the chart writes them.
SUFFICIENCY_NAMES: dict[str, tuple[str, str]] = {
    vocab.INHOUSE_FOSTER: ("in-house foster care", "an independent fostering agency"),
    vocab.INHOUSE_RESIDENTIAL: ("in-house children's homes", "an external children's home"),
}
# The series drawn: measure of the sufficiency table, legend label, colour, line style.
SUFFICIENCY_SERIES: tuple[tuple[str, str, str, str], ...] = (
    ("children_needing", "Needing this kind of placement", PALETTE["blue"], "-"),
    ("places_available", "In-house places", PALETTE["black"], "--"),
    (
        "placed_externally_for_want_of_place",
        "Placed externally for want of a place",
        PALETTE["vermillion"],
        "-",
    ),
)


def _rows(table: pd.DataFrame, group: str) -> pd.DataFrame:
    rows = table[table["inhouse_group"] == group].copy()
    rows["quarter_end"] = pd.to_datetime(rows["quarter_end"])
    return rows.sort_values("quarter_end")


def plot_sufficiency(
    table: pd.DataFrame, group: str = vocab.INHOUSE_FOSTER, *, ax: Axes | None = None
) -> dict[str, Any]:
    """One in-house group's demand, places and shortfall at each quarter end: medians as
    lines with markers, 80% intervals (P10-P90) shaded; counts from zero.

    ``table``: :func:`care_demand.outputs.sufficiency.sufficiency_table` output. Returns
    ``{measure: Line2D}`` and ``{measure + "_band": PolyCollection}`` for each series.
    """
    ax = ax if ax is not None else plt.gca()
    rows = _rows(table, group)
    artists: dict[str, Any] = {}
    for measure, label, colour, style in SUFFICIENCY_SERIES:
        if rows.empty:
            continue
        artists[f"{measure}_band"] = ax.fill_between(
            rows["quarter_end"],
            rows[f"{measure}_p10"],
            rows[f"{measure}_p90"],
            color=colour,
            alpha=0.15,
            lw=0,
            label=f"_{measure}_band",  # named in its line's legend entry
        )
        (artists[measure],) = ax.plot(
            rows["quarter_end"],
            rows[f"{measure}_median"],
            color=colour,
            ls=style,
            lw=1.8,
            marker="o",
            ms=3,
            label=f"{label}: median, 80% interval shaded",
        )
    _counts_from_zero(ax)
    return artists


def sufficiency_title(group: str) -> str:
    """The chart's title for one in-house group."""
    inhouse, external = SUFFICIENCY_NAMES[group]
    return (
        f"Sufficiency of {inhouse}: children needing it or {external}, places and children "
        "placed externally for want of a place"
    )


@_styled
def sufficiency_chart(
    table: pd.DataFrame,
    group: str = vocab.INHOUSE_FOSTER,
    *,
    title: str | None = None,
    caption: str = "",
) -> Figure:
    """One in-house group's sufficiency at each quarter end (see :func:`plot_sufficiency`)."""
    fig, axes = _figure(height=4.4)
    ax = axes[0, 0]
    plot_sufficiency(table, group, ax=ax)
    _date_axis(ax)
    ax.set_xlabel("Quarter end")
    ax.set_ylabel("Children at quarter end")
    return _finish(
        fig, title or sufficiency_title(group), caption, ax.get_legend_handles_labels()[0]
    )


def sufficiency_finding(table: pd.DataFrame, group: str = vocab.INHOUSE_FOSTER) -> str:
    """The last quarter's demand, places, shortfall and places needed for the target share,
    as medians with 80% intervals."""
    rows = _rows(table, group)
    inhouse, external = SUFFICIENCY_NAMES[group]
    if rows.empty:
        return f"No projection of {inhouse}."
    last = rows.iloc[-1]

    def spread(measure: str) -> str:
        return (
            f"{last[f'{measure}_median']:,.0f} (80% interval "
            f"{last[f'{measure}_p10']:,.0f}-{last[f'{measure}_p90']:,.0f})"
        )

    target = last["target_share"]
    needed = (
        f"; {spread('places_needed_for_target')} more in-house places would be needed for "
        f"the target share of {float(target):.0%}"
        if pd.notna(target)
        else ""
    )
    return (
        f"By {last['quarter_end']:%B %Y} (medians across simulated futures), "
        f"{spread('children_needing')} children need {inhouse} or {external}, against "
        f"{spread('places_available')} in-house places; "
        f"{spread('placed_externally_for_want_of_place')} are placed externally for want of "
        f"an in-house place{needed}."
    )
