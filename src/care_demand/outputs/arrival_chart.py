"""The arrival trend models' components chart: trend, school-year seasonality, lockdowns.

Drawn from a fitted :class:`~care_demand.calibration.arrivals.ArrivalModel` (its
``history_``, :meth:`~care_demand.calibration.arrivals.ArrivalModel.components` and
:meth:`~care_demand.calibration.arrivals.ArrivalModel.seasonal_effects`), or from those
tables alone (:class:`ArrivalComponents`, plain data a worker process can draw from), in the
package's chart style (:mod:`care_demand.outputs.charts`), on the Agg canvas. The run folder
keeps it as ``calibration/arrival_components.png``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from care_demand.calibration.arrival_prophet import inverse
from care_demand.calibration.arrival_settings import (
    CARE_ENTRY,
    CARE_ENTRY_UASC,
    EARLY_HELP_REQUEST,
    REFERRAL,
)
from care_demand.outputs.charts import PALETTE, STYLE, save_figure

if TYPE_CHECKING:
    from care_demand.calibration.arrivals import ArrivalModel

__all__ = [
    "ArrivalComponents",
    "arrival_components",
    "arrival_components_figure",
    "write_arrival_components",
]

_KIND_LABELS = {
    REFERRAL: "Referrals",
    EARLY_HELP_REQUEST: "Early-help requests",
    CARE_ENTRY: "Entries to care",
    CARE_ENTRY_UASC: "Entries to care of UASC",
}


@dataclass(frozen=True)
class ArrivalComponents:
    """What the chart shows of a fitted arrival model, as plain tables.

    ``components`` and ``seasonal`` are the model's
    :meth:`~care_demand.calibration.arrivals.ArrivalModel.components` and
    :meth:`~care_demand.calibration.arrivals.ArrivalModel.seasonal_effects`, ``history`` its
    monthly counts (``history_``), ``transform`` the scale the components are on and
    ``kinds`` the kinds with a trend model, in order.
    """

    components: pd.DataFrame
    seasonal: pd.DataFrame
    history: pd.DataFrame
    transform: str
    kinds: tuple[str, ...]


def arrival_components(model: ArrivalModel) -> ArrivalComponents:
    """The tables of a fitted ``model`` that :func:`arrival_components_figure` draws."""
    return ArrivalComponents(
        components=model.components(),
        seasonal=model.seasonal_effects(),
        history=model.history_,
        transform=model.settings.transform,
        kinds=tuple(kind for kind in model.kinds_ if kind in model.models_),
    )


def write_arrival_components(parts: ArrivalComponents, path: str | Path) -> list[Path]:
    """Draw the chart of ``parts`` and save it at ``path`` (PNG) and beside it (SVG)."""
    return save_figure(arrival_components_figure(parts), Path(path))


def arrival_components_figure(model: ArrivalModel | ArrivalComponents) -> Figure:
    """Trend, school-year seasonality and lockdown effect for each modelled kind.

    Rows are the trend (Prophet) kinds of the fitted ``model`` (or of its
    :func:`arrival_components`); columns show observed counts with the fitted values and
    trend, the seasonal effect by calendar month, and the arrivals per month removed or
    added by the lockdowns. Drawn on the Agg canvas (no display needed).
    """
    parts = model if isinstance(model, ArrivalComponents) else arrival_components(model)
    comp = parts.components
    seasonal = parts.seasonal
    history = parts.history
    tf = parts.transform
    trend_kinds = list(parts.kinds)
    with plt.rc_context(STYLE):
        fig = Figure(figsize=(13, 3.2 * max(len(trend_kinds), 1)), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(max(len(trend_kinds), 1), 3, squeeze=False)
        for row, kind in enumerate(trend_kinds):
            group = comp[comp["kind"] == kind]
            observed = history[history["kind"] == kind]
            label = _KIND_LABELS.get(kind, kind.replace("_", " ").capitalize())
            ax = axes[row, 0]
            ax.plot(
                observed["month"],
                observed["count"],
                "o",
                ms=3,
                color=PALETTE["grey"],
                label="observed",
            )
            fitted = inverse(group["fitted"].to_numpy(), tf)
            ax.plot(group["month"], fitted, color=PALETTE["blue"], label="fitted")
            trend = inverse(group["trend"].to_numpy(), tf)
            ax.plot(group["month"], trend, color=PALETTE["orange"], label="trend")
            ax.set_title(f"{label}: trend")
            ax.set_xlabel("month")
            ax.set_ylabel("arrivals per month")
            ax.legend(fontsize="small")
            ax = axes[row, 1]
            effects = seasonal[seasonal["kind"] == kind]
            ax.bar(effects["calendar_month"], effects["effect"], color=PALETTE["blue"])
            ax.axhline(0.0, color=PALETTE["black"], lw=0.8)
            ax.set_xticks(range(1, 13), list("JFMAMJJASOND"))
            ax.set_title(f"{label}: yearly seasonality")
            ax.set_xlabel("calendar month")
            ax.set_ylabel("arrivals per month vs trend")
            ax = axes[row, 2]
            without = group["trend"].to_numpy() + group["yearly"].to_numpy()
            effect = inverse(without + group["lockdown"].to_numpy(), tf) - inverse(without, tf)
            ax.bar(group["month"], effect, width=25, color=PALETTE["vermillion"])
            ax.axhline(0.0, color=PALETTE["black"], lw=0.8)
            ax.set_title(f"{label}: lockdown effect")
            ax.set_xlabel("month")
            ax.set_ylabel("arrivals per month")
    return fig
