"""Charts: one consistent, accessible style (matplotlib, Agg backend).

Plotting functions take tidy tables and return a ``Figure``; they never read engine
internals. Colours are from the Okabe-Ito palette, safe for colour-blind readers.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

__all__ = ["PALETTE", "fan_chart", "save_figure"]

# Okabe-Ito colour-blind-safe palette.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}


def fan_chart(
    history: pd.Series,
    quantiles: pd.DataFrame,
    *,
    title: str,
    ylabel: str,
    caption: str = "",
) -> Figure:
    """History as a line and the projection's P10-P90 and P25-P75 bands with the median.

    ``history``: values indexed by date. ``quantiles``: columns ``month``, ``p10``, ``p25``,
    ``p50``, ``p75``, ``p90``.
    """
    fig, ax = plt.subplots(figsize=(9, 4.8), layout="constrained")
    colour = PALETTE["blue"]
    ax.plot(history.index, history.to_numpy(), color=PALETTE["black"], lw=1.6, label="Recorded")
    months = pd.to_datetime(quantiles["month"])
    ax.fill_between(
        months,
        quantiles["p10"],
        quantiles["p90"],
        color=colour,
        alpha=0.18,
        lw=0,
        label="Projection, 80% interval (P10-P90)",
    )
    ax.fill_between(
        months,
        quantiles["p25"],
        quantiles["p75"],
        color=colour,
        alpha=0.35,
        lw=0,
        label="Projection, 50% interval (P25-P75)",
    )
    ax.plot(months, quantiles["p50"], color=colour, lw=2.0, label="Projection, median")
    ax.set_title(title, loc="left", fontsize=12)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Month")
    ax.set_ylim(bottom=0)
    ax.grid(axis="y", color="#dddddd", lw=0.8)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="lower left", frameon=False, fontsize=9)
    if caption:
        fig.text(0.01, -0.02, caption, fontsize=8, color="#444444", ha="left", va="top")
    return fig


def save_figure(fig: Figure, path_png: Path) -> list[Path]:
    """Save ``fig`` as PNG and SVG beside each other; return both paths."""
    svg = path_png.with_suffix(".svg")
    fig.savefig(path_png, dpi=150, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(svg, bbox_inches="tight", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return [path_png, svg]
