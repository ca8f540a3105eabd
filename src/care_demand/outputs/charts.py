"""Charts: one consistent, accessible style (matplotlib, Agg backend).

Plotting functions take tidy tables (as read from a run folder) and return a ``Figure``;
they never read engine internals. Colours are from the Okabe-Ito palette, safe for
colour-blind readers; every chart has a title saying what it shows, labelled axes with
units, and a caption giving the source (and "synthetic data" for the built-in example).
Recorded counts pass through disclosure control: a point or bar of 1 to 5 children, or one
hidden in the published tables, is not drawn.

:func:`write_run_charts` and :func:`write_comparison_charts` write every chart of a run
folder or a multirun as PNG and SVG.
"""

from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from care_demand import vocab
from care_demand.outputs.disclosure import DisclosureRule, recorded_values
from care_demand.outputs.run_files import RunFiles, SweepFiles, read_run, read_sweep

__all__ = [
    "PALETTE",
    "STYLE",
    "Chart",
    "comparison_charts",
    "continuum_chart",
    "costs_chart",
    "cumulative_savings_chart",
    "demand_capacity_chart",
    "fan_chart",
    "flows_chart",
    "out_of_area_chart",
    "overlaid_fan_chart",
    "placement_mix_chart",
    "run_charts",
    "save_figure",
    "savings_chart",
    "scenario_comparison_chart",
    "scenario_demand_capacity_chart",
    "scenario_fan_chart",
    "source_caption",
    "write_comparison_charts",
    "write_run_charts",
]

# Okabe-Ito colour-blind-safe palette (with its neutral grey).
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
    "grey": "#999999",
}
# Scenario colours in order (yellow is too pale for lines on white).
SCENARIO_COLOURS = ("blue", "orange", "green", "vermillion", "sky", "purple", "grey", "black")

STYLE: dict[str, Any] = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titlelocation": "left",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#dddddd",
    "grid.linewidth": 0.8,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "svg.fonttype": "none",
    "axes.prop_cycle": matplotlib.cycler(color=[PALETTE[c] for c in SCENARIO_COLOURS]),
}

_CAPTION_CHARS_PER_INCH = 15  # caption characters per inch of figure width at 8 pt

# Placement groups as a commissioner reads them, with their colours.
_MIX_GROUPS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("Kinship foster care", (vocab.KINSHIP_FOSTER,), PALETTE["green"]),
    ("In-house foster care", (vocab.INHOUSE_FOSTER,), PALETTE["blue"]),
    ("Independent fostering agency", (vocab.IFA,), PALETTE["sky"]),
    ("In-house children's homes", (vocab.INHOUSE_RESIDENTIAL,), PALETTE["vermillion"]),
    ("External children's homes", (vocab.EXTERNAL_RESIDENTIAL,), PALETTE["orange"]),
    ("Supported accommodation (16+)", (vocab.SUPPORTED_16PLUS,), PALETTE["purple"]),
    (
        "Other (with parents, for adoption, secure)",
        (vocab.PLACED_WITH_PARENTS, vocab.PLACED_FOR_ADOPTION, vocab.SECURE_OTHER),
        PALETTE["grey"],
    ),
)
# Budget lines as finance reads them: (label, kind, lines or None for every line of kind).
_COST_GROUPS: tuple[tuple[str, str, tuple[str, ...] | None, str], ...] = (
    ("External children's homes", "placements", (vocab.EXTERNAL_RESIDENTIAL,), PALETTE["orange"]),
    ("Independent fostering agencies", "placements", (vocab.IFA,), PALETTE["sky"]),
    ("In-house foster care", "placements", (vocab.INHOUSE_FOSTER,), PALETTE["blue"]),
    (
        "In-house children's homes",
        "placements",
        (vocab.INHOUSE_RESIDENTIAL,),
        PALETTE["vermillion"],
    ),
    (
        "Other placements",
        "placements",
        (
            vocab.KINSHIP_FOSTER,
            vocab.SUPPORTED_16PLUS,
            vocab.PLACED_WITH_PARENTS,
            vocab.PLACED_FOR_ADOPTION,
            vocab.SECURE_OTHER,
        ),
        PALETTE["green"],
    ),
    ("Casework", "casework", None, PALETTE["purple"]),
    ("Fixed costs (teams, new services)", "fixed", None, PALETTE["grey"]),
)
_CONTINUUM = (
    (vocab.EARLY_HELP, "Early help"),
    (vocab.CIN, "Children in need"),
    (vocab.CP, "Child protection plans"),
    (vocab.CARE, "Children in care"),
)
_COMPARED = {
    "children_in_care": "Children in care",
    "external_placements": "External placements",
    "out_of_area": "Placed out of area",
    "shortfall": "Placed externally for want\nof an in-house place",
}
_INHOUSE = (
    (vocab.INHOUSE_FOSTER, "In-house foster care"),
    (vocab.INHOUSE_RESIDENTIAL, "In-house children's homes"),
)
_SYNTHETIC = "Synthetic data: the built-in example council (invented children, Dorset-like totals)."

P = ParamSpec("P")
R = TypeVar("R")


def _styled(func: Callable[P, R]) -> Callable[P, R]:
    """Draw inside the package's chart style."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with plt.rc_context(STYLE):
            return func(*args, **kwargs)

    return wrapper


@dataclass(frozen=True)
class Chart:
    """One chart of a run or multirun: file name, title, alt text and how to draw it."""

    name: str
    title: str
    description: str
    draw: Callable[[], Figure]


# ---------------------------------------------------------------------------------------
# Helpers


def _caption(fig: Figure, caption: str) -> None:
    """The caption under the chart, inside the figure's layout, wrapped to its width."""
    if caption:
        width = int(fig.get_figwidth() * _CAPTION_CHARS_PER_INCH)
        text = "\n".join(textwrap.fill(p, width) for p in caption.split("\n"))
        fig.supxlabel(text, x=0.01, ha="left", fontsize=8, color="#444444")


def _suptitle(fig: Figure, title: str) -> None:
    fig.suptitle(title, x=0.01, ha="left", fontsize=12)


def _legend_right(ax: Axes, handles: Sequence[Any] | None = None, *, reverse: bool = False) -> None:
    """The legend to the right of ``ax``, inside the figure's layout."""
    if handles is None:
        handles, _ = ax.get_legend_handles_labels()
    handles = list(handles)[::-1] if reverse else list(handles)
    ax.legend(
        handles=handles,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        fontsize=8,
    )


def _year_axis(ax: Axes, step: int = 1) -> None:
    """Ticks on 1 January of every ``step``-th year, labelled with the year."""
    ax.xaxis.set_major_locator(mdates.YearLocator(base=step))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))


def _months(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["month"])


def _select(
    quantiles: pd.DataFrame, measure: str, category: str, age_band: str = "all"
) -> pd.DataFrame:
    q = quantiles[
        (quantiles["measure"] == measure)
        & (quantiles["category"] == category)
        & (quantiles["age_band"] == age_band)
    ].copy()
    q["month"] = _months(q)
    return q.sort_values("month", ignore_index=True)


def _recorded(recorded: pd.DataFrame | None, category: str, rule: DisclosureRule) -> pd.Series:
    """Recorded children of ``category`` by month; hidden or small counts as NaN."""
    if recorded is None or recorded.empty:
        return pd.Series(dtype=float)
    rows = recorded[recorded["category"] == category]
    values = recorded_values(rows["children"], rule.marker)
    values[(values >= 1) & (values <= rule.suppress_max)] = np.nan
    return pd.Series(values, index=pd.to_datetime(rows["month"]).to_numpy()).sort_index()


def _bands(ax: Axes, q: pd.DataFrame, colour: str, label: str = "Projection") -> None:
    months = _months(q)
    ax.fill_between(
        months,
        q["p10"],
        q["p90"],
        color=colour,
        alpha=0.18,
        lw=0,
        label=f"{label}, 80% interval (P10-P90)",
    )
    ax.fill_between(
        months,
        q["p25"],
        q["p75"],
        color=colour,
        alpha=0.35,
        lw=0,
        label=f"{label}, 50% interval (P25-P75)",
    )
    ax.plot(months, q["p50"], color=colour, lw=2.0, label=f"{label}, median")


def _rate_axis(ax: Axes, population: int | None) -> None:
    """A right-hand axis with the rate per 10,000 children aged 0-17."""
    if not population:
        return
    per = 10_000 / population
    secondary = ax.secondary_yaxis("right", functions=(lambda x: x * per, lambda r: r / per))
    secondary.set_ylabel("Per 10,000 children aged 0-17")


def _label(name: str) -> str:
    text = name.replace("_", " ")
    return text[:1].upper() + text[1:]


def _labels(names: Sequence[str], labels: Mapping[str, str] | None) -> dict[str, str]:
    return {n: (labels or {}).get(n, _label(n)) for n in names}


def _colour(i: int) -> str:
    return PALETTE[SCENARIO_COLOURS[i % len(SCENARIO_COLOURS)]]


def _grid(n: int, ncols: int = 3) -> tuple[int, int]:
    cols = max(1, min(n, ncols))
    return math.ceil(n / cols), cols


def _money(scale: float = 1e6, decimals: int = 0) -> FuncFormatter:
    def fmt(value: float, _pos: object) -> str:
        sign = "-" if value < 0 else ""
        return f"{sign}£{abs(value) / scale:,.{decimals}f}m"

    return FuncFormatter(fmt)


def _financial_year(months: pd.Series) -> pd.Series:
    start = months.dt.year - (months.dt.month < 4).astype(int)
    return start.astype(str) + "/" + ((start + 1) % 100).astype(str).str.zfill(2)


def _whole_years(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of financial years the frame covers in all twelve months, with ``year``."""
    frame = frame.assign(year=_financial_year(_months(frame)))
    counts = frame.groupby("year")["month"].nunique()
    return frame[frame["year"].isin(counts[counts == 12].index)]


def source_caption(
    *,
    synthetic: bool,
    recorded: bool = False,
    projected: bool = True,
    replicates: int | None = None,
    note: str = "",
) -> str:
    """The caption: the source of what is drawn, a note, and "synthetic data" if it is."""
    sources = []
    if recorded:
        sources.append("recorded: the council's returns (SSDA903, CIN census, early help)")
    if projected:
        reps = f", {replicates} simulated futures" if replicates else ""
        sources.append(f"projected: care_demand flow model{reps}")
    parts = [f"Source: {'; '.join(sources)}." if sources else ""]
    if note:
        parts.append(note)
    if synthetic:
        parts.append(_SYNTHETIC)
    return " ".join(p for p in parts if p)


# ---------------------------------------------------------------------------------------
# Children in care: fan charts


@_styled
def fan_chart(
    history: pd.Series,
    quantiles: pd.DataFrame,
    *,
    title: str,
    ylabel: str,
    caption: str = "",
    population: int | None = None,
) -> Figure:
    """History as a line and the projection's P10-P90 and P25-P75 bands with the median.

    ``history``: values indexed by date. ``quantiles``: columns ``month``, ``p10``, ``p25``,
    ``p50``, ``p75``, ``p90``. With ``population`` (children aged 0-17) a right-hand axis
    shows the rate per 10,000.
    """
    fig, ax = plt.subplots(figsize=(9, 4.8), layout="constrained")
    ax.plot(history.index, history.to_numpy(), color=PALETTE["black"], lw=1.6, label="Recorded")
    _bands(ax, quantiles, PALETTE["blue"])
    ax.set_title(title, loc="left", fontsize=12)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Month")
    ax.set_ylim(bottom=0)
    _rate_axis(ax, population)
    ax.legend(loc="lower left", fontsize=9)
    _caption(fig, caption)
    return fig


@_styled
def scenario_fan_chart(
    history: pd.Series,
    quantiles: Mapping[str, pd.DataFrame],
    *,
    title: str,
    ylabel: str,
    caption: str = "",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """One fan chart per scenario, as small multiples on shared axes.

    ``quantiles`` maps each scenario to its P10-P90 table (as in :func:`fan_chart`); the
    first scenario's median is repeated as a dashed grey line in the other panels.
    """
    names = list(quantiles)
    label = _labels(names, labels)
    rows, cols = _grid(len(names))
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(3.6 * cols + 1, 3.0 * rows + 0.8),
        sharex=True,
        sharey=True,
        layout="constrained",
        squeeze=False,
    )
    reference = names[0] if names else None
    for i, ax in enumerate(axes.flat):
        if i >= len(names):
            ax.set_visible(False)
            continue
        name = names[i]
        ax.plot(history.index, history.to_numpy(), color=PALETTE["black"], lw=1.3, label="Recorded")
        _bands(ax, quantiles[name], _colour(i))
        if reference is not None and name != reference:
            ref = quantiles[reference]
            ax.plot(
                _months(ref),
                ref["p50"],
                color=PALETTE["grey"],
                lw=1.2,
                ls="--",
                label=f"{label[reference]}, median",
            )
        ax.set_title(label[name], fontsize=10)
        if i % cols == 0:
            ax.set_ylabel(ylabel)
        _year_axis(ax, 2)
    axes.flat[0].set_ylim(bottom=0)  # shared: after every panel is drawn
    handles = [
        Line2D([], [], color=PALETTE["black"], lw=1.3, label="Recorded"),
        Patch(color=PALETTE["grey"], alpha=0.3, lw=0, label="Projection, 80% interval (P10-P90)"),
        Patch(color=PALETTE["grey"], alpha=0.6, lw=0, label="Projection, 50% interval (P25-P75)"),
        Line2D([], [], color=PALETTE["grey"], lw=2.0, label="Projection, median"),
    ]
    if reference is not None and len(names) > 1:
        handles.append(
            Line2D(
                [], [], color=PALETTE["grey"], lw=1.2, ls="--", label=f"{label[reference]}, median"
            )
        )
    _legend_right(axes[0, -1], handles)
    _suptitle(fig, title)
    _caption(fig, caption)
    return fig


@_styled
def overlaid_fan_chart(
    history: pd.Series,
    quantiles: Mapping[str, pd.DataFrame],
    *,
    title: str,
    ylabel: str,
    caption: str = "",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Every scenario's median and P10-P90 band on one chart, with the recorded history."""
    names = list(quantiles)
    label = _labels(names, labels)
    fig, ax = plt.subplots(figsize=(9, 5), layout="constrained")
    ax.plot(history.index, history.to_numpy(), color=PALETTE["black"], lw=1.6, label="Recorded")
    for i, name in enumerate(names):
        q = quantiles[name]
        colour = _colour(i)
        ax.fill_between(_months(q), q["p10"], q["p90"], color=colour, alpha=0.12, lw=0)
        ax.plot(
            _months(q),
            q["p50"],
            color=colour,
            lw=2.0,
            label=f"{label[name]}: median (band: P10-P90)",
        )
    ax.set_title(title, loc="left", fontsize=12)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Month")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower left", fontsize=8)
    _caption(fig, caption)
    return fig


# ---------------------------------------------------------------------------------------
# Placements and sufficiency


def _mix_recorded(stocks: pd.DataFrame | None, rule: DisclosureRule) -> pd.DataFrame:
    """Recorded children in care by chart group at each 31 March (NaN where hidden)."""
    if stocks is None or stocks.empty:
        return pd.DataFrame()
    care = stocks[(stocks["state"] == vocab.CARE) & (stocks["placement_group"] != "all")].copy()
    care["value"] = recorded_values(care["children"], rule.marker)
    care.loc[(care["value"] >= 1) & (care["value"] <= rule.suppress_max), "value"] = np.nan
    wide = care.pivot(index="date", columns="placement_group", values="value")
    wide = wide.reindex(columns=list(vocab.PLACEMENT_GROUPS))
    out = pd.DataFrame(index=pd.to_datetime(wide.index))
    for label, groups, _ in _MIX_GROUPS:
        # A group with any part hidden is hidden: its sum would reveal the part.
        out[label] = wide[list(groups)].sum(axis=1, min_count=len(groups)).to_numpy()
    return out


def _mix_projected(quantiles: pd.DataFrame) -> pd.DataFrame:
    q = quantiles[(quantiles["measure"] == "children") & (quantiles["age_band"] == "all")].copy()
    q["month"] = _months(q)
    q = q[q["month"].dt.month == 3]
    wide = q.pivot(index="month", columns="category", values="mean")
    out = pd.DataFrame(index=wide.index)
    for label, groups, _ in _MIX_GROUPS:
        out[label] = wide[[g for g in groups if g in wide.columns]].sum(axis=1)
    return out


@_styled
def placement_mix_chart(
    stocks: pd.DataFrame | None,
    quantiles: pd.DataFrame,
    *,
    title: str = "Children in care by placement type at 31 March: recorded and projected",
    caption: str = "",
    rule: DisclosureRule | None = None,
) -> Figure:
    """Stacked bars of children in care by placement type at each 31 March.

    ``stocks``: ``stocks_31_march.csv`` (recorded, published; hidden counts are not drawn).
    ``quantiles``: the projection; projected bars are the mean across replicates, so the
    parts add up to the total.
    """
    rule = rule or DisclosureRule()
    recorded = _mix_recorded(stocks, rule)
    projected = _mix_projected(quantiles)
    fig, ax = plt.subplots(figsize=(10, 5.2), layout="constrained")
    labelled = False
    for frame, alpha, hatch in ((recorded, 1.0, ""), (projected, 0.55, "//")):
        if frame.empty:
            continue
        x = frame.index.year.to_numpy()
        bottom = np.zeros(len(frame))
        for label, _, colour in _MIX_GROUPS:
            height = frame[label].fillna(0).to_numpy()
            ax.bar(
                x,
                height,
                bottom=bottom,
                color=colour,
                alpha=alpha,
                hatch=hatch,
                edgecolor="white",
                lw=0.5,
                label=None if labelled else label,
            )
            bottom += height
        labelled = True
    if not recorded.empty and not projected.empty:
        edge = recorded.index.year.max() + 0.5
        ax.axvline(edge, color=PALETTE["black"], lw=1, ls=":")
        ax.text(edge - 0.1, ax.get_ylim()[1] * 0.98, "Recorded", ha="right", va="top", fontsize=9)
        ax.text(
            edge + 0.1, ax.get_ylim()[1] * 0.98, "Projected (mean)", ha="left", va="top", fontsize=9
        )
    _suptitle(fig, title)
    ax.set_ylabel("Children in care at 31 March")
    ax.set_xlabel("Year (31 March)")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    _legend_right(ax, reverse=True)
    note = (
        f"Recorded groups shown as {rule.marker} in the published tables (counts from 1 to "
        f"{rule.suppress_max}, or figures they could be worked out from) are left out."
    )
    _caption(fig, f"{caption}\n{note}" if caption else note)
    return fig


def _draw_demand_capacity(ax: Axes, quantiles: pd.DataFrame, group: str, legend: bool) -> None:
    children = _select(quantiles, "children", group)
    shortfall = _select(quantiles, "shortfall", group)
    capacity = _select(quantiles, "capacity", group)
    months = children["month"]
    placed = children["mean"].to_numpy()
    demand = placed + shortfall["mean"].to_numpy() if len(shortfall) == len(children) else placed
    ax.fill_between(
        months,
        placed,
        demand,
        color=PALETTE["vermillion"],
        alpha=0.35,
        lw=0,
        label="Shortfall: placed externally\nfor want of an in-house place",
    )
    ax.plot(
        months,
        demand,
        color=PALETTE["vermillion"],
        lw=1.6,
        label="Children needing an\nin-house place (mean)",
    )
    ax.plot(months, placed, color=PALETTE["blue"], lw=2.0, label="Children placed in-house (mean)")
    if not capacity.empty:
        ax.plot(
            capacity["month"],
            capacity["p50"],
            color=PALETTE["black"],
            lw=1.4,
            ls="--",
            drawstyle="steps-post",
            label="Places available (median)",
        )
    if legend:
        _legend_right(ax)


@_styled
def demand_capacity_chart(
    quantiles: pd.DataFrame,
    *,
    title: str = "Demand for in-house placements against places available, with the shortfall",
    caption: str = "",
) -> Figure:
    """Per in-house placement group: places available, children placed in-house and the
    children who needed an in-house place, with the external shortfall shaded."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained", squeeze=False)
    for i, (group, name) in enumerate(_INHOUSE):
        ax = axes[0, i]
        _draw_demand_capacity(ax, quantiles, group, legend=i == len(_INHOUSE) - 1)
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("Children at month end")
        ax.set_xlabel("Month")
    _suptitle(fig, title)
    _caption(fig, caption)
    return fig


@_styled
def scenario_demand_capacity_chart(
    quantiles: Mapping[str, pd.DataFrame],
    *,
    title: str = "In-house demand, places and shortfall by scenario",
    caption: str = "",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """The demand-against-capacity chart for each scenario: one row per in-house group,
    one column per scenario, shared axes along each row."""
    names = list(quantiles)
    label = _labels(names, labels)
    fig, axes = plt.subplots(
        len(_INHOUSE),
        len(names),
        figsize=(2.9 * len(names) + 1.2, 6.2),
        sharex=True,
        sharey="row",
        layout="constrained",
        squeeze=False,
    )
    for j, name in enumerate(names):
        for i, (group, group_name) in enumerate(_INHOUSE):
            ax = axes[i, j]
            _draw_demand_capacity(ax, quantiles[name], group, legend=False)
            if i == 0:
                ax.set_title(label[name], fontsize=10)
            if j == 0:
                ax.set_ylabel(f"{group_name}\n(children at month end)")
            _year_axis(ax, 2)
    _legend_right(axes[0, -1], axes[0, 0].get_legend_handles_labels()[0])
    _suptitle(fig, title)
    _caption(fig, caption)
    return fig


@_styled
def out_of_area_chart(
    quantiles: pd.DataFrame,
    *,
    title: str = "Children in care placed out of area: projected",
    caption: str = "",
) -> Figure:
    """Projected children in care placed outside the council's area: median and bands."""
    fig, ax = plt.subplots(figsize=(9, 4.6), layout="constrained")
    _bands(ax, _select(quantiles, "out_of_area", vocab.CARE), PALETTE["orange"])
    ax.set_title(title, loc="left", fontsize=12)
    ax.set_ylabel("Children placed out of area at month end")
    ax.set_xlabel("Month")
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower left")
    _caption(fig, caption)
    return fig


# ---------------------------------------------------------------------------------------
# The continuum


@_styled
def continuum_chart(
    recorded: pd.DataFrame | None,
    quantiles: pd.DataFrame,
    *,
    title: str = "Children in early help, in need, on a protection plan and in care",
    caption: str = "",
    population: int | None = None,
    rule: DisclosureRule | None = None,
) -> Figure:
    """Early help, CIN, CP and care at month end: recorded history and projection.

    ``recorded``: ``recorded_monthly.csv``; hidden or small counts are not drawn. With
    ``population`` each panel has a right-hand axis with the rate per 10,000 children.
    """
    rule = rule or DisclosureRule()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True, layout="constrained")
    for ax, (state, name) in zip(axes.flat, _CONTINUUM, strict=True):
        history = _recorded(recorded, state, rule)
        if not history.empty:
            ax.plot(
                history.index, history.to_numpy(), color=PALETTE["black"], lw=1.3, label="Recorded"
            )
        q = _select(quantiles, "children", state)
        if not q.empty:
            _bands(ax, q, PALETTE["blue"])
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("Children at month end")
        ax.set_ylim(bottom=0)
        _rate_axis(ax, population)
    # Inside the first panel: the counts start at zero, so its lower part is empty.
    axes[0, 0].legend(
        handles=axes[1, 1].get_legend_handles_labels()[0], loc="lower left", fontsize=8
    )
    _suptitle(fig, title)
    _caption(fig, caption)
    return fig


@_styled
def flows_chart(
    quantiles: pd.DataFrame,
    *,
    title: str = "Projected moves between services per financial year",
    caption: str = "",
) -> Figure:
    """Step-ups and step-downs between early help, CIN and CP, and entries to and exits
    from care, per complete financial year (mean across replicates)."""
    q = quantiles[(quantiles["measure"] == "flow") & (quantiles["age_band"] == "all")].copy()
    q["month"] = _months(q)
    q = _whole_years(q)
    exits = [f"exit:{reason}" for reason in vocab.CARE_EXITS]
    q["series"] = q["category"].where(~q["category"].isin(exits), "care_exit")
    yearly = q.groupby(["year", "series"])["mean"].sum().unstack("series").fillna(0.0)
    panels = (
        (
            "Between early help, children in need and protection",
            (
                ("step_up", "Step-ups (to a higher level of need)", PALETTE["vermillion"]),
                ("step_down", "Step-downs", PALETTE["green"]),
            ),
        ),
        (
            "Into and out of care",
            (
                ("entry_to_care", "Entries to care", PALETTE["orange"]),
                ("care_exit", "Exits from care", PALETTE["blue"]),
            ),
        ),
    )
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), layout="constrained")
    years = list(yearly.index)
    x = np.arange(len(years))
    for ax, (panel, series) in zip(axes, panels, strict=True):
        width = 0.8 / len(series)
        for k, (key, name, colour) in enumerate(series):
            values = yearly[key].to_numpy() if key in yearly.columns else np.zeros(len(years))
            ax.bar(x + (k - (len(series) - 1) / 2) * width, values, width, color=colour, label=name)
        ax.set_xticks(x, years)
        ax.set_title(panel, fontsize=10)
        ax.set_ylabel("Children moving in the year")
        ax.set_xlabel("Financial year (April-March)")
        ax.set_ylim(top=ax.get_ylim()[1] * 1.2)  # room for the legend above the bars
        ax.legend(loc="upper left", ncol=2, fontsize=8)
    _suptitle(fig, title)
    _caption(fig, caption)
    return fig


# ---------------------------------------------------------------------------------------
# Finance


@_styled
def costs_chart(
    cost_summary: pd.DataFrame,
    *,
    title: str = "Projected cost by budget line and financial year",
    caption: str = "",
) -> Figure:
    """Stacked bars of each budget line's mean cost per financial year, with the total's
    median and 80% interval; a year the projection covers in part is marked."""
    costs = cost_summary[~cost_summary["financial_year"].astype(str).str.contains(" to ")]
    years = list(dict.fromkeys(costs["financial_year"].astype(str)))
    fig, ax = plt.subplots(figsize=(10, 5.2), layout="constrained")
    x = np.arange(len(years))
    bottom = np.zeros(len(years))
    for label, kind, lines, colour in _COST_GROUPS:
        rows = costs[costs["kind"] == kind]
        if lines is not None:
            rows = rows[rows["line"].isin(lines)]
        values = rows.groupby("financial_year")["mean"].sum().reindex(years).fillna(0.0)
        ax.bar(
            x,
            values.to_numpy(),
            bottom=bottom,
            color=colour,
            edgecolor="white",
            lw=0.5,
            label=label,
        )
        bottom += values.to_numpy()
    total = costs[costs["kind"] == "total"].set_index("financial_year").reindex(years)
    if not total["p50"].isna().all():
        ax.errorbar(
            x,
            total["p50"],
            yerr=[total["p50"] - total["p10"], total["p90"] - total["p50"]],
            fmt="o",
            color=PALETTE["black"],
            ms=4,
            capsize=4,
            lw=1.2,
            label="Total: median and 80% interval",
        )
    complete = costs.groupby("financial_year")["complete"].all().reindex(years)
    ax.set_xticks(x, [y if bool(c) else f"{y}\n(part year)" for y, c in complete.items()])
    ax.yaxis.set_major_formatter(_money())
    _suptitle(fig, title)
    ax.set_ylabel("Cost, £ million (cash terms)")
    ax.set_xlabel("Financial year (April-March)")
    handles, _ = ax.get_legend_handles_labels()
    # Budget lines top to bottom as stacked, then the total.
    _legend_right(ax, [*handles[:-1][::-1], handles[-1]] if handles else None)
    _caption(fig, caption)
    return fig


def _total_savings(savings: pd.DataFrame, measure: str) -> pd.DataFrame:
    rows = savings[(savings["measure"] == measure) & (savings["line"] == "total")]
    return rows[~rows["financial_year"].astype(str).str.contains(" to ")]


@_styled
def savings_chart(
    savings: pd.DataFrame,
    *,
    title: str = "Saving against the baseline per financial year, with its uncertainty",
    caption: str = "",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Each scenario's paired saving per financial year: median bar and P10-P90 whiskers,
    with the year's savings target."""
    rows = _total_savings(savings, "saving")
    names = list(dict.fromkeys(rows["scenario"]))
    label = _labels(names, labels)
    years = sorted(set(rows["financial_year"].astype(str)))
    x = np.arange(len(years))
    width = 0.8 / max(len(names), 1)
    fig, ax = plt.subplots(figsize=(10, 5), layout="constrained")
    for k, name in enumerate(names):
        s = rows[rows["scenario"] == name].set_index("financial_year").reindex(years)
        pos = x + (k - (len(names) - 1) / 2) * width
        ax.bar(pos, s["p50"], width, color=_colour(k + 1), label=f"{label[name]}: median")
        ax.errorbar(
            pos,
            s["p50"],
            yerr=[s["p50"] - s["p10"], s["p90"] - s["p50"]],
            fmt="none",
            color=PALETTE["black"],
            capsize=3,
            lw=1,
        )
    target = rows.groupby("financial_year")["target"].max().reindex(years)
    if target.notna().any():
        ax.scatter(
            x,
            target,
            marker="_",
            s=900,
            color=PALETTE["black"],
            lw=2.5,
            zorder=3,
            label="Savings target for the year",
        )
    ax.axhline(0, color=PALETTE["black"], lw=0.8)
    ax.set_xticks(x, years)
    ax.yaxis.set_major_formatter(_money(decimals=1))
    _suptitle(fig, title)
    ax.set_ylabel("Saving, £ million (cash; above 0 = cheaper)")
    ax.set_xlabel("Financial year (April-March)")
    _legend_right(ax)
    _caption(fig, caption)
    return fig


@_styled
def cumulative_savings_chart(
    savings: pd.DataFrame,
    *,
    title: str = "Cumulative saving against the baseline and the savings target",
    caption: str = "",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Each scenario's cumulative paired saving (median and P10-P90 band) over the complete
    financial years, against the cumulative savings target."""
    rows = _total_savings(savings, "cumulative_saving")
    names = list(dict.fromkeys(rows["scenario"]))
    label = _labels(names, labels)
    years = sorted(set(rows["financial_year"].astype(str)))
    x = np.arange(len(years))
    fig, ax = plt.subplots(figsize=(10, 5), layout="constrained")
    for k, name in enumerate(names):
        s = rows[rows["scenario"] == name].set_index("financial_year").reindex(years)
        colour = _colour(k + 1)
        ax.fill_between(x, s["p10"], s["p90"], color=colour, alpha=0.15, lw=0)
        ax.plot(
            x,
            s["p50"],
            color=colour,
            marker="o",
            ms=4,
            label=f"{label[name]}: median (band: P10-P90)",
        )
    target = rows.groupby("financial_year")["target"].max().reindex(years)
    if target.notna().any():
        ax.plot(
            x,
            target,
            color=PALETTE["black"],
            ls="--",
            marker="s",
            ms=4,
            label="Cumulative savings target",
        )
    ax.axhline(0, color=PALETTE["black"], lw=0.8)
    ax.set_xticks(x, [f"to {y}" for y in years])
    ax.yaxis.set_major_formatter(_money(decimals=1))
    _suptitle(fig, title)
    ax.set_ylabel("Cumulative saving, £ million (cash)")
    ax.set_xlabel("Financial years from the start of the projection")
    _legend_right(ax)
    _caption(fig, caption)
    return fig


# ---------------------------------------------------------------------------------------
# Scenario comparison


@_styled
def scenario_comparison_chart(
    by_year: pd.DataFrame,
    *,
    title: str = "Scenarios compared at each 31 March: median and 80% interval",
    caption: str = "",
    labels: Mapping[str, str] | None = None,
    measures: Mapping[str, str] | None = None,
) -> Figure:
    """Small multiples on shared axes: one row per measure (shared y), one column per
    scenario; the first scenario's median is repeated dashed in the other columns.

    ``by_year``: ``comparison_by_year.csv`` (``scenario``, ``period``, ``measure``,
    ``p10``, ``p50``, ``p90``).
    """
    measures = measures or _COMPARED
    table = by_year[by_year["period"].astype(str).str.match(r"\d{4}-\d{2}-\d{2}$")].copy()
    table["date"] = pd.to_datetime(table["period"])
    rows = [m for m in measures if m in set(table["measure"])]
    names = list(dict.fromkeys(table["scenario"]))
    label = _labels(names, labels)
    fig, axes = plt.subplots(
        max(len(rows), 1),
        max(len(names), 1),
        figsize=(2.6 * len(names) + 1.4, 2.2 * len(rows) + 1.2),
        sharex=True,
        sharey="row",
        layout="constrained",
        squeeze=False,
    )
    reference = names[0] if names else None
    for i, measure in enumerate(rows):
        ref = table[(table["scenario"] == reference) & (table["measure"] == measure)]
        ref = ref.sort_values("date")
        for j, name in enumerate(names):
            ax = axes[i, j]
            s = table[(table["scenario"] == name) & (table["measure"] == measure)]
            s = s.sort_values("date")
            colour = _colour(j)
            ax.fill_between(
                s["date"],
                s["p10"],
                s["p90"],
                color=colour,
                alpha=0.2,
                lw=0,
                label="80% interval (P10-P90)",
            )
            ax.plot(s["date"], s["p50"], color=colour, marker="o", ms=3, label="Median")
            if name != reference:
                ax.plot(
                    ref["date"],
                    ref["p50"],
                    color=PALETTE["grey"],
                    ls="--",
                    lw=1.2,
                    label=f"{label[reference]}, median",
                )
            if i == 0:
                ax.set_title(label[name], fontsize=10)
            if j == 0:
                ax.set_ylabel(f"{measures[measure]}\n(children)", fontsize=9)
            _year_axis(ax, 2)
        axes[i, 0].set_ylim(bottom=0)  # shared along the row: after every panel is drawn
    if rows:
        handles = [
            Patch(color=PALETTE["grey"], alpha=0.4, lw=0, label="80% interval (P10-P90)"),
            Line2D([], [], color=PALETTE["grey"], marker="o", ms=3, label="Median"),
        ]
        if len(names) > 1:
            handles.append(
                Line2D(
                    [],
                    [],
                    color=PALETTE["grey"],
                    ls="--",
                    lw=1.2,
                    label=f"{label[reference]}, median",
                )
            )
        _legend_right(axes[0, -1], handles)
    _suptitle(fig, title)
    _caption(fig, caption)
    return fig


# ---------------------------------------------------------------------------------------
# Every chart of a run folder or a multirun


def save_figure(fig: Figure, path_png: Path) -> list[Path]:
    """Save ``fig`` as PNG and SVG beside each other; return both paths."""
    svg = path_png.with_suffix(".svg")
    path_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path_png, dpi=150, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(svg, bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return [path_png, svg]


def _care_history(run: RunFiles) -> pd.Series:
    return _recorded(run.recorded, vocab.CARE, run.rule)


def run_charts(run: RunFiles | str | Path) -> list[Chart]:
    """Every chart of one run folder (none without a projection)."""
    run = run if isinstance(run, RunFiles) else read_run(run)
    q = run.quantiles
    if q is None or q.empty:
        return []
    reps = run.replicates
    rate = (
        f"Rates per 10,000 use {run.population:,} children aged 0-17 (output.child_population)."
        if run.population
        else ""
    )

    def both(note: str = "") -> str:
        return source_caption(synthetic=run.synthetic, recorded=True, replicates=reps, note=note)

    def projected(note: str = "") -> str:
        return source_caption(synthetic=run.synthetic, replicates=reps, note=note)

    title = run.title
    charts = [
        Chart(
            "children_in_care_fan",
            f"Children in care: recorded and projected ({title})",
            "Children in care at each month end: the recorded history as a line and the "
            "projection's median with its 50% and 80% intervals.",
            lambda: fan_chart(
                _care_history(run),
                _select(q, "children", vocab.CARE),
                title=f"Children in care: recorded and projected ({title})",
                ylabel="Children in care at month end",
                caption=both(rate),
                population=run.population,
            ),
        ),
        Chart(
            "continuum",
            "Children in early help, in need, on a protection plan and in care",
            "Four panels, one per service: recorded children at month end and the projection "
            "with its intervals.",
            lambda: continuum_chart(
                run.recorded, q, caption=both(rate), population=run.population, rule=run.rule
            ),
        ),
        Chart(
            "flows",
            "Projected moves between services per financial year",
            "Bars per financial year: step-ups and step-downs between early help, children in "
            "need and protection plans; entries to and exits from care.",
            lambda: flows_chart(q, caption=projected("Bars are means across simulated futures.")),
        ),
        Chart(
            "placement_mix",
            "Children in care by placement type at 31 March: recorded and projected",
            "Stacked bars of children in care by placement type at each 31 March; recorded "
            "years solid, projected years hatched.",
            lambda: placement_mix_chart(run.stocks, q, caption=both(), rule=run.rule),
        ),
        Chart(
            "demand_capacity",
            "Demand for in-house placements against places available, with the shortfall",
            "Two panels (in-house foster care, in-house children's homes): places available, "
            "children placed in-house and children who needed an in-house place; the gap, "
            "children placed externally for want of a place, is shaded.",
            lambda: demand_capacity_chart(
                q, caption=projected("Lines are means across simulated futures.")
            ),
        ),
        Chart(
            "out_of_area",
            "Children in care placed out of area: projected",
            "The projected number of children in care placed outside the council's area: "
            "median with its 50% and 80% intervals.",
            lambda: out_of_area_chart(q, caption=projected()),
        ),
    ]
    if run.costs is not None and not run.costs.empty:
        charts.append(
            Chart(
                "costs_by_line",
                "Projected cost by budget line and financial year",
                "Stacked bars of the mean cost of each budget line per financial year, with the "
                "total's median and 80% interval.",
                lambda: costs_chart(
                    run.costs, caption=projected("Cash terms; stacked bars are means.")
                ),
            )
        )
    return charts


def comparison_charts(sweep: SweepFiles | str | Path) -> list[Chart]:
    """Every chart of a multirun: scenarios side by side and their savings."""
    sweep = sweep if isinstance(sweep, SweepFiles) else read_sweep(sweep)
    runs = {n: r for n, r in sweep.runs.items() if r.quantiles is not None}
    reference = sweep.reference
    if not runs or reference is None:
        return []
    reps = next(iter(runs.values())).replicates
    short = {n: _label(n) for n in runs}
    both = source_caption(synthetic=sweep.synthetic, recorded=True, replicates=reps)
    projected = source_caption(synthetic=sweep.synthetic, replicates=reps)
    paired = source_caption(
        synthetic=sweep.synthetic,
        replicates=reps,
        note="Savings are paired replicate by replicate (common random numbers).",
    )
    care = {n: _select(r.quantiles, "children", vocab.CARE) for n, r in runs.items()}  # type: ignore[arg-type]
    history = _care_history(reference)
    charts = [
        Chart(
            "fan_by_scenario",
            "Children in care by scenario: recorded and projected",
            "One panel per scenario on shared axes: recorded children in care and the "
            "projection's median with its 50% and 80% intervals; the baseline's median dashed.",
            lambda: scenario_fan_chart(
                history,
                care,
                title="Children in care by scenario: recorded and projected",
                ylabel="Children in care at month end",
                caption=both,
                labels=short,
            ),
        ),
        Chart(
            "fan_overlaid",
            "Children in care: every scenario's projection on one chart",
            "Recorded children in care and each scenario's median with its 80% interval.",
            lambda: overlaid_fan_chart(
                history,
                care,
                title="Children in care: every scenario's projection",
                ylabel="Children in care at month end",
                caption=both,
                labels=short,
            ),
        ),
    ]
    if sweep.by_year is not None and not sweep.by_year.empty:
        charts.append(
            Chart(
                "scenario_comparison",
                "Scenarios compared at each 31 March",
                "Small multiples on shared axes: rows are children in care, external placements, "
                "children placed out of area and the in-house shortfall; columns are scenarios.",
                lambda: scenario_comparison_chart(sweep.by_year, caption=projected, labels=short),
            )
        )
    charts.append(
        Chart(
            "demand_capacity_by_scenario",
            "In-house demand, places and shortfall by scenario",
            "One column per scenario and one row per in-house placement group: places "
            "available, children placed in-house and the external shortfall shaded.",
            lambda: scenario_demand_capacity_chart(
                {n: r.quantiles for n, r in runs.items()},  # type: ignore[misc]
                caption=projected,
                labels=short,
            ),
        )
    )
    if sweep.savings is not None and not sweep.savings.empty:
        charts += [
            Chart(
                "savings_by_year",
                "Saving against the baseline per financial year",
                "Bars per financial year and scenario: the median paired saving against the "
                "baseline with its 80% interval, and the year's savings target.",
                lambda: savings_chart(sweep.savings, caption=paired, labels=short),
            ),
            Chart(
                "cumulative_savings",
                "Cumulative saving against the baseline and the savings target",
                "Each scenario's cumulative saving (median and 80% band) against the cumulative "
                "savings target.",
                lambda: cumulative_savings_chart(sweep.savings, caption=paired, labels=short),
            ),
        ]
    return charts


def _write(charts: list[Chart], out_dir: Path) -> list[Path]:
    paths: list[Path] = []
    for chart in charts:
        paths += save_figure(chart.draw(), Path(out_dir) / f"{chart.name}.png")
    return paths


def write_run_charts(run_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write every chart of the run folder ``run_dir`` into ``out_dir`` (PNG and SVG)."""
    return _write(run_charts(run_dir), Path(out_dir))


def write_comparison_charts(sweep_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Write every comparison chart of the multirun ``sweep_dir`` into ``out_dir``."""
    return _write(comparison_charts(sweep_dir), Path(out_dir))
