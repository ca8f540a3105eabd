"""Charts of the backtest: forecasts from each cut against the record, and the PIT histogram.

Same style as :mod:`care_demand.outputs.charts` (Okabe-Ito colours, Agg backend); the
functions take the backtest's published tables and return a ``Figure``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from care_demand.outputs.charts import PALETTE

__all__ = ["forecast_chart", "pit_histogram"]


def _style(ax) -> None:  # type: ignore[no-untyped-def]
    ax.grid(axis="y", color="#dddddd", lw=0.8)
    ax.spines[["top", "right"]].set_visible(False)


def forecast_chart(
    recorded: pd.DataFrame,
    forecasts: pd.DataFrame,
    *,
    levels: Sequence[float],
    horizons: Sequence[int],
    history_months: int,
    title: str,
    ylabel: str = "Children at month end",
    caption: str = "",
) -> Figure:
    """One panel per cut: the record as a line, the forecast as a fan of central intervals.

    ``recorded``: ``month``, ``recorded`` (withheld values are not drawn). ``forecasts``:
    ``cut``, ``month``, ``months_ahead``, ``median`` and ``lower_L``/``upper_L`` per level
    (``L`` in percent). Dots mark the record at the scored horizons.
    """
    series = pd.Series(
        pd.to_numeric(recorded["recorded"], errors="coerce").to_numpy(),
        index=pd.to_datetime(recorded["month"]),
    ).sort_index()
    cuts = sorted(pd.to_datetime(forecasts["cut"]).unique())
    ncols = min(3, len(cuts))
    nrows = math.ceil(len(cuts) / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.3 * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharey=True, squeeze=False).ravel()
    colour = PALETTE["blue"]
    ordered = sorted((float(level) for level in levels), reverse=True)
    top = float(np.nanmax(series.to_numpy())) if series.notna().any() else 1.0
    for ax, cut in zip(axes, cuts, strict=False):
        cut = pd.Timestamp(cut)
        part = forecasts[pd.to_datetime(forecasts["cut"]) == cut].sort_values("month")
        months = pd.to_datetime(part["month"])
        first = cut - pd.offsets.MonthEnd(history_months)
        shown = series[(series.index >= first) & (series.index <= months.max())]
        for i, level in enumerate(ordered):
            name = f"{round(level * 100):d}"
            ax.fill_between(
                months,
                part[f"lower_{name}"],
                part[f"upper_{name}"],
                color=colour,
                alpha=0.15 + 0.12 * i,
                lw=0,
                label=f"{name}% interval",
            )
            top = max(top, float(part[f"upper_{name}"].max()))
        ax.plot(months, part["median"], color=colour, lw=1.8, label="Forecast median")
        ax.plot(shown.index, shown.to_numpy(), color=PALETTE["black"], lw=1.3, label="Recorded")
        scored = part[part["months_ahead"].isin([int(h) for h in horizons])]
        marks = series.reindex(pd.to_datetime(scored["month"]))
        ax.plot(
            marks.index,
            marks.to_numpy(),
            "o",
            color=PALETTE["vermillion"],
            ms=4,
            label="Recorded at the scored horizons",
        )
        ax.axvline(cut, color="#777777", lw=0.8, ls=":")
        ax.set_title(f"Cut {cut:%d %b %Y}", loc="left", fontsize=10)
        span = (months.max() - first).days / 30.4
        locator = mdates.MonthLocator(bymonth=(4,) if span > 30 else (1, 4, 7, 10))
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.tick_params(axis="x", labelsize=8)
        _style(ax)
    axes[0].set_ylim(0, top * 1.08)
    for row in range(nrows):
        axes[row * ncols].set_ylabel(ylabel)
    handles, labels = axes[0].get_legend_handles_labels()
    spare = axes[len(cuts) :]
    for ax in spare:
        ax.set_axis_off()
    if len(spare):  # the legend takes the first free panel
        spare[0].legend(handles, labels, loc="center", frameon=False, fontsize=9)
    else:
        axes[0].legend(handles, labels, loc="lower left", frameon=False, fontsize=7)
    fig.suptitle(title, x=0.01, ha="left", fontsize=12)
    if caption:
        fig.text(0.01, -0.02, caption, fontsize=8, color="#444444", ha="left", va="top")
    return fig


def pit_histogram(
    pit: np.ndarray,
    horizons: np.ndarray,
    *,
    bins: int,
    caption: str = "",
) -> Figure:
    """Histograms of PIT values, one panel per horizon and one for all together.

    A calibrated forecast gives a flat histogram: the dashed line is the expected count per
    bin and the band its 90% binomial range. A U shape means intervals too narrow; a hump,
    too wide; a slope, forecasts biased (mass on the left: forecasts ran high).
    """
    pit = np.asarray(pit, dtype=float)
    horizons = np.asarray(horizons)
    panels = [(f"{h} months ahead", pit[horizons == h]) for h in sorted(set(horizons.tolist()))]
    panels.append(("All horizons", pit))
    fig = Figure(figsize=(3.4 * len(panels), 3.2), layout="constrained")
    axes = fig.subplots(1, len(panels), squeeze=False).ravel()
    edges = np.linspace(0.0, 1.0, bins + 1)
    for ax, (label, values) in zip(axes, panels, strict=True):
        n = values.size
        expected = n / bins
        spread = 1.645 * math.sqrt(n * (1 / bins) * (1 - 1 / bins))
        ax.axhspan(max(expected - spread, 0), expected + spread, color="#e4e4e4", lw=0, zorder=0)
        ax.hist(values, bins=edges, color=PALETTE["sky"], edgecolor="white", zorder=2)
        ax.axhline(expected, color=PALETTE["black"], lw=1.0, ls="--", zorder=3)
        ax.set_title(f"{label} (n = {n})", loc="left", fontsize=10)
        ax.set_xlabel("PIT: share of replicates below the record")
        ax.set_xlim(0, 1)
        _style(ax)
    axes[0].set_ylabel("Forecasts")
    fig.suptitle(
        "Backtest: PIT histogram (flat when the intervals are calibrated)", x=0.01, ha="left"
    )
    if caption:
        fig.text(0.01, -0.02, caption, fontsize=8, color="#444444", ha="left", va="top")
    return fig
