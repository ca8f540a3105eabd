"""The arrival trend models' components chart: trend, school-year seasonality, lockdowns.

Drawn from a fitted :class:`~care_demand.calibration.arrivals.ArrivalModel` (its
``history_``, :meth:`~care_demand.calibration.arrivals.ArrivalModel.components` and
:meth:`~care_demand.calibration.arrivals.ArrivalModel.seasonal_effects`) in the package's
chart style (:mod:`care_demand.outputs.charts`), on the Agg canvas. The run folder keeps it
as ``calibration/arrival_components.png``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from care_demand.calibration.arrival_prophet import inverse
from care_demand.calibration.arrival_settings import (
    CARE_ENTRY,
    CARE_ENTRY_UASC,
    EARLY_HELP_REQUEST,
    REFERRAL,
)
from care_demand.outputs.charts import PALETTE, STYLE

if TYPE_CHECKING:
    from care_demand.calibration.arrivals import ArrivalModel

__all__ = ["arrival_components_figure"]

_KIND_LABELS = {
    REFERRAL: "Referrals",
    EARLY_HELP_REQUEST: "Early-help requests",
    CARE_ENTRY: "Entries to care",
    CARE_ENTRY_UASC: "Entries to care of UASC",
}


def arrival_components_figure(model: ArrivalModel) -> Figure:
    """Trend, school-year seasonality and lockdown effect for each modelled kind.

    Rows are the trend (Prophet) kinds of the fitted ``model``; columns show observed counts
    with the fitted values and trend, the seasonal effect by calendar month, and the
    arrivals per month removed or added by the lockdowns. Drawn on the Agg canvas (no
    display needed).
    """
    comp = model.components()
    seasonal = model.seasonal_effects()
    history = model.history_
    tf = model.settings.transform
    trend_kinds = [kind for kind in model.kinds_ if kind in model.models_]
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
