"""The look shared by every chart: palette, fonts, captions, axes helpers and saving.

Colours are from the Okabe-Ito palette, safe for colour-blind readers; :data:`STYLE` sets
fonts, grid and spines for every chart drawn inside :func:`_styled`. The helpers here lay
out titles, captions and legends, read quantile tables and recorded counts (small or hidden
counts become NaN, so they are not drawn), and format axes. :func:`save_figure` writes a
figure as PNG and SVG. Names starting with an underscore are shared within
:mod:`care_demand.outputs.charts` only.
"""

from __future__ import annotations

import functools
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import matplotlib
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from care_demand.outputs.disclosure import DisclosureRule, recorded_values

__all__ = [
    "PALETTE",
    "SCENARIO_COLOURS",
    "STYLE",
    "save_figure",
    "source_caption",
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
# Writing a chart to disk


def save_figure(fig: Figure, path_png: Path) -> list[Path]:
    """Save ``fig`` as PNG and SVG beside each other; return both paths."""
    svg = path_png.with_suffix(".svg")
    path_png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path_png, dpi=150, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(svg, bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return [path_png, svg]
