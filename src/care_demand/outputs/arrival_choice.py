"""What the council's own backtest says of the run's arrival trend setting.

The backtest scores arrival trend variants (``calibration.arrivals.trend_damping``) at each
cut and checks its choice out of sample (``backtest/arrival_variant.json``; docs/backtest.md,
"The arrival trend the council's record chooses"). A run that found a backtest of the same
data (:func:`care_demand.outputs.interval_widening.run_widening`) records that verdict beside
its own setting; it does not change the setting.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from care_demand.outputs.layout import LAYOUT

__all__ = ["arrival_choice", "arrival_choice_note"]


def arrival_choice(widening: Mapping[str, object], run_damping: float) -> dict[str, object] | None:
    """The backtest's arrival trend choice beside the run's ``trend_damping``; None when no
    backtest of the same data was found or it holds no choice."""
    folder = widening.get("backtest_dir")
    if not folder:
        return None
    path = Path(str(folder)) / LAYOUT.backtest.arrival_variant
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return {**record, "backtest_dir": str(folder), "run_trend_damping": float(run_damping)}


def arrival_choice_note(record: Mapping[str, object] | None) -> str:
    """The backtest's verdict on the arrival trend, in a sentence or two ('' with none)."""
    if not record:
        return ""
    means: Mapping[str, float] = record.get("mean_abs_pct_error", {})  # type: ignore[assignment]
    chosen, shipped = str(record.get("chosen")), str(record.get("shipped"))
    text = (
        f"Arrival trend: over the backtest's {record.get('cuts')} cuts, the {chosen} variant "
        f"(trend_damping {float(record.get('trend_damping', 0)):g}) forecast the next "  # type: ignore[arg-type]
        f"{record.get('months')} months' arrivals best ("
        + ", ".join(f"{name} {float(value):.1f}%" for name, value in means.items())
        + " mean absolute error)"
    )
    nested_chosen = record.get("nested_chosen_error")
    nested_shipped = record.get("nested_shipped_error")
    if nested_chosen is not None and nested_shipped is not None:
        text += (
            f"; chosen on earlier cuts only, it erred {float(nested_chosen):.1f}% against "  # type: ignore[arg-type]
            f"{float(nested_shipped):.1f}% for the {shipped} setting on later ones"  # type: ignore[arg-type]
        )
    return (
        text + f". This run uses trend_damping "
        f"{float(record.get('run_trend_damping', 0)):g}"  # type: ignore[arg-type]
        " (calibration.arrivals.trend_damping; the backtest does not change it)."
    )
