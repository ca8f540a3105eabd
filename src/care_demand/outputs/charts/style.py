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
import io
import math
import re
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from xml.sax.saxutils import escape

import matplotlib
import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import Bbox

from care_demand.outputs.disclosure import DisclosureRule, recorded_values
from care_demand.outputs.summary import financial_year

__all__ = [
    "A4_WIDTH",
    "MIN_CONTRAST",
    "PALETTE",
    "SCENARIO_COLOURS",
    "STYLE",
    "contrast_ratio",
    "relative_luminance",
    "save_figure",
    "source_caption",
    "style_colours",
]


# Okabe-Ito, "Color Universal Design" (colour-blind-safe), with the hues that fail WCAG 2.1
# success criterion 1.4.11 "Non-text Contrast" (3:1 on white) darkened to pass: orange, sky
# blue, reddish purple and grey; vermillion is darkened too, so that it stays apart from the
# darkened orange for readers with deuteranopia. Yellow (1.3:1) is left out.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#BD8300",
    "green": "#009E73",
    "vermillion": "#B34A00",
    "sky": "#2D93CF",
    "purple": "#C26A9C",
    "black": "#000000",
    "grey": "#767676",
}
# Scenario colours in order.
SCENARIO_COLOURS = ("blue", "orange", "green", "vermillion", "sky", "purple", "grey", "black")
# Text colours besides black: captions.
TEXT_GREY = "#444444"
# Gridlines are decoration (values are read from the axes' ticks), lighter on purpose.
GRID_GREY = "#dddddd"
# The least contrast with white for lines, markers and text (WCAG 2.1, 1.4.11).
MIN_CONTRAST = 3.0

# An A4 page's text width: 16 cm, drawn at its printed size.
A4_WIDTH = 16 / 2.54
TITLE_SIZE = 11
TEXT_SIZE = 9

STYLE: dict[str, Any] = {
    "figure.figsize": (A4_WIDTH, 4.0),
    "font.size": TEXT_SIZE,
    "font.family": "sans-serif",
    "font.sans-serif": ["Arial", "Helvetica", "Liberation Sans", "DejaVu Sans"],
    "axes.titlesize": 10,
    "axes.titlelocation": "left",
    "axes.labelsize": TEXT_SIZE,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,  # grid lines behind the bands, bars and areas they measure
    "grid.color": GRID_GREY,
    "grid.linewidth": 0.8,
    "xtick.labelsize": TEXT_SIZE,
    "ytick.labelsize": TEXT_SIZE,
    "legend.fontsize": TEXT_SIZE,
    "legend.frameon": False,
    "lines.linewidth": 1.8,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "figure.constrained_layout.h_pad": 0.06,
    "figure.constrained_layout.w_pad": 0.06,
    "svg.fonttype": "none",  # text stays text: editable and searchable
    "svg.hashsalt": "care_demand",  # the same chart gives the same file
    "axes.prop_cycle": matplotlib.cycler(color=[PALETTE[c] for c in SCENARIO_COLOURS]),
}

# Characters per inch of wrapped text (DejaVu Sans is about 0.55 em a character).
_CHARS_PER_INCH = {TEXT_SIZE: 14.5, TITLE_SIZE: 10.0}  # titles are bold


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
# Contrast


def relative_luminance(colour: Any) -> float:
    """WCAG 2.1 relative luminance of a colour (any matplotlib colour spec), 0 to 1."""
    rgb = np.asarray(to_rgb(colour), dtype=float)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(colour: Any, background: Any = "white") -> float:
    """WCAG 2.1 contrast ratio of two colours, from 1 (none) to 21 (black on white)."""
    a, b = relative_luminance(colour), relative_luminance(background)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def style_colours() -> dict[str, str]:
    """Every colour a chart draws lines, markers, bars or text with, by name.

    Gridlines (:data:`GRID_GREY`) are left out: they are decoration, lighter on purpose.
    """
    return {**PALETTE, "caption text": TEXT_GREY}


# ---------------------------------------------------------------------------------------
# Layout: an A4-wide figure with the title, a legend row above the panels and the caption


def _wrap(text: str, fontsize: float, width: float) -> str:
    chars = max(20, int(width * _CHARS_PER_INCH.get(fontsize, 72 / (0.6 * fontsize))))
    return "\n".join(textwrap.fill(p, chars) for p in text.split("\n"))


def _figure(
    nrows: int = 1,
    ncols: int = 1,
    height: float = 4.0,
    *,
    legend: bool = True,
    sharex: bool | str = False,
    sharey: bool | str = False,
) -> tuple[Figure, np.ndarray]:
    """An A4-wide figure (16 cm) with ``nrows`` by ``ncols`` panels (a 2-D array).

    With ``legend`` a row above the panels holds the figure's legend (:func:`_legend`), so
    the legend never covers data. ``sharex`` and ``sharey``: ``True``, ``"row"``, ``"col"``.
    """
    fig = plt.figure(figsize=(A4_WIDTH, height), layout="constrained")
    top = 1 if legend else 0
    grid = fig.add_gridspec(nrows + top, ncols, height_ratios=[0.001] * top + [1.0] * nrows)
    axes = np.empty((nrows, ncols), dtype=object)

    def partner(share: bool | str, i: int, j: int) -> Axes | None:
        if share is True or share == "all":
            return axes[0, 0] if (i, j) != (0, 0) else None
        if share == "row":
            return axes[i, 0] if j else None
        if share == "col":
            return axes[0, j] if i else None
        return None

    for i in range(nrows):
        for j in range(ncols):
            ax = fig.add_subplot(
                grid[i + top, j], sharex=partner(sharex, i, j), sharey=partner(sharey, i, j)
            )
            if sharex in (True, "all", "col") and i < nrows - 1:
                ax.tick_params(labelbottom=False)
            if sharey in (True, "all", "row") and j > 0:
                ax.tick_params(labelleft=False)
            axes[i, j] = ax
    if legend:
        holder = fig.add_subplot(grid[0, :])
        holder.set_axis_off()
        fig._care_demand_legend = holder  # type: ignore[attr-defined]
    return fig, axes


def _legend(fig: Figure, handles: Sequence[Any] | None = None, *, ncols: int = 2) -> Legend | None:
    """The figure's legend in its row above the panels, in as many columns as fit the width."""
    holder = getattr(fig, "_care_demand_legend", None)
    if holder is None:
        return None
    if handles is None:
        handles = [h for ax in fig.axes for h in ax.get_legend_handles_labels()[0]]
        seen: dict[str, Any] = {}
        for h in handles:
            seen.setdefault(h.get_label(), h)
        handles = list(seen.values())
    handles = list(handles)
    if not handles:
        return None
    renderer = fig.canvas.get_renderer()
    right_edge = fig.get_figwidth() * fig.dpi * 0.99
    legend = None
    for n in range(min(ncols, len(handles)), 0, -1):
        if legend is not None:
            legend.remove()
        legend = holder.legend(
            handles=handles, loc="lower left", ncols=n, borderaxespad=0.0, frameon=False
        )
        if legend.get_window_extent(renderer).x1 <= right_edge:  # wholly inside the figure
            break
    return legend


def _caption(fig: Figure, caption: str) -> None:
    """The caption under the chart, inside the figure's layout, wrapped to its width."""
    if caption:
        text = _wrap(caption, TEXT_SIZE, fig.get_figwidth() - 0.2)
        fig.supxlabel(text, x=0.01, ha="left", fontsize=TEXT_SIZE, color=TEXT_GREY)


def _suptitle(fig: Figure, title: str) -> None:
    text = _wrap(title, TITLE_SIZE, fig.get_figwidth() - 0.2)
    fig.suptitle(text, x=0.01, ha="left", fontsize=TITLE_SIZE, fontweight="bold")


def _finish(fig: Figure, title: str, caption: str, handles: Sequence[Any] | None = None) -> Figure:
    """Title, legend row and caption: the last steps of every figure-level chart."""
    _suptitle(fig, title)
    _legend(fig, handles)
    _caption(fig, caption)
    return fig


def _legend_right(ax: Axes, handles: Sequence[Any] | None = None, *, reverse: bool = False) -> None:
    """The figure's legend (in its row above the panels), from ``ax``'s handles."""
    if handles is None:
        handles, _ = ax.get_legend_handles_labels()
    handles = list(handles)[::-1] if reverse else list(handles)
    fig = ax.get_figure(root=True)
    if getattr(fig, "_care_demand_legend", None) is not None:
        _legend(fig, handles)  # type: ignore[arg-type]
    else:
        ax.legend(handles=handles, loc="best")


def _counts_from_zero(ax: Axes) -> None:
    """Counts start at zero: a reader compares the heights of lines and bars."""
    ax.set_ylim(bottom=0)


def _year_axis(ax: Axes, step: int = 1) -> None:
    """Ticks on 1 January of every ``step``-th year, labelled with the year."""
    ax.xaxis.set_major_locator(mdates.YearLocator(base=step))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))


def _date_axis(ax: Axes, max_ticks: int = 6) -> None:
    """Dates on the x-axis with as few labels as read cleanly (years, then months)."""
    locator = mdates.AutoDateLocator(minticks=2, maxticks=max_ticks)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


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


def _bands(ax: Axes, q: pd.DataFrame, colour: str, label: str = "Projection") -> dict[str, Any]:
    """The projection's 80% and 50% intervals as bands and its median as a line."""
    months = _months(q)
    band_80 = ax.fill_between(
        months,
        q["p10"],
        q["p90"],
        color=colour,
        alpha=0.18,
        lw=0,
        label=f"{label}, 80% interval (P10-P90)",
    )
    band_50 = ax.fill_between(
        months,
        q["p25"],
        q["p75"],
        color=colour,
        alpha=0.35,
        lw=0,
        label=f"{label}, 50% interval (P25-P75)",
    )
    (median,) = ax.plot(months, q["p50"], color=colour, lw=2.0, label=f"{label}, median")
    return {"band_80": band_80, "band_50": band_50, "median": median}


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


def _whole_years(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows of financial years the frame covers in all twelve months, with ``year``."""
    frame = frame.assign(year=financial_year(_months(frame)))
    counts = frame.groupby("year")["month"].nunique()
    return frame[frame["year"].isin(counts[counts == 12].index)]


def source_caption(
    *,
    synthetic: bool,
    recorded: bool = False,
    projected: bool = True,
    replicates: int | None = None,
    note: str = "",
    returns: str = "SSDA903, CIN census, early help",
) -> str:
    """The caption: the source of what is drawn, a note, and "synthetic data" if it is.
    ``returns``: the council's files the recorded figures come from."""
    sources = []
    if recorded:
        sources.append(f"recorded: the council's returns ({returns})")
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


def _figure_title(fig: Figure) -> str:
    """The figure's title: its suptitle, or its first panel's title."""
    texts = [getattr(fig, "_suptitle", None)] + [
        ax.title for ax in fig.axes if hasattr(ax, "title")
    ]
    for text in texts:
        if text is not None and text.get_text():
            return " ".join(text.get_text().split())
    return ""


# The ids matplotlib gives clip paths, markers and hatches: a letter and ten hex digits of a
# hash of their coordinates, which carry the last bits of floating-point noise in the layout.
_HASHED_ID = re.compile(r'(?<=id=")[a-z][0-9a-f]{10}(?=")|(?<=#)[a-z][0-9a-f]{10}(?=[)"])')


def _stable_ids(svg: str) -> str:
    """The SVG with its hashed ids renumbered in order of first use.

    The same chart then gives the same file whatever the process drew before it (a worker
    process that drew other charts first lays out text to within a rounding error).
    """
    order: dict[str, str] = {}
    for found in _HASHED_ID.finditer(svg):
        name = found.group()
        order.setdefault(name, f"{name[0]}{len(order):010d}")
    return _HASHED_ID.sub(lambda m: order[m.group()], svg)


def _svg_with_title(svg: str, title: str, description: str) -> str:
    """The SVG with ``<title>`` and ``<desc>`` first inside its root, as screen readers read."""
    head = f"<title>{escape(title)}</title>"
    if description:
        head += f"<desc>{escape(description)}</desc>"
    start = svg.index("<svg")
    end = svg.index(">", start)
    root = svg[start:end]
    if "role=" not in root:
        root += ' role="img"'
    return svg[:start] + root + ">\n " + head + svg[end + 1 :]


def _tight_box(fig: Figure) -> Bbox:
    """The box (inches) ``bbox_inches="tight"`` trims ``fig`` to, from its last drawing."""
    box = fig.get_tightbbox()
    return box.padded(plt.rcParams["savefig.pad_inches"])


def save_figure(
    fig: Figure,
    path_png: Path,
    *,
    title: str | None = None,
    description: str = "",
    tight: bool = True,
) -> list[Path]:
    """Save ``fig`` as PNG and SVG beside each other; return both paths.

    The SVG keeps its text as text (editable) and starts with a ``<title>`` (``title``, or
    the figure's own) and a ``<desc>`` (``description``). With ``tight=False`` both files
    have the figure's own size (charts drawn for an A4 page); with ``tight`` the margins
    are trimmed to what is drawn.
    """
    svg = path_png.with_suffix(".svg")
    path_png.parent.mkdir(parents=True, exist_ok=True)
    bbox = "tight" if tight else None
    with plt.rc_context(STYLE):  # editable SVG text in the style's fonts
        fig.savefig(path_png, dpi=150, bbox_inches=bbox, metadata={"Software": None})
        # The SVG keeps the layout and the trimmed box the PNG's drawing worked out, rather
        # than working them out again: the two files agree, and each chart is drawn three
        # times instead of four, with the layout solved once instead of twice.
        if fig.get_layout_engine() is not None:
            fig.set_layout_engine("none")
        if tight:
            bbox = _tight_box(fig)
        buffer = io.StringIO()
        fig.savefig(
            buffer, format="svg", bbox_inches=bbox, metadata={"Date": None, "Creator": None}
        )
    name = _figure_title(fig) if title is None else title
    text = _svg_with_title(_stable_ids(buffer.getvalue()), name, description)
    svg.write_text(text, encoding="utf-8")
    plt.close(fig)
    return [path_png, svg]
