"""The arrival trend the council's own backtest chooses, and whether a run uses it.

The backtest scores arrival trend variants (``calibration.arrivals.trend_damping``) at each
cut and checks its choice out of sample (``backtest/arrival_variant.json``; docs/backtest.md,
"The arrival trend the council's record chooses"). A run that found a backtest of the same
data (:func:`care_demand.outputs.interval_widening.find_widening`) uses the chosen variant
when ``calibration.arrivals.trend_from_backtest`` is on and the nested check supports it:
chosen on earlier cuts only, the variant erred less on the later cuts than the setting it
would replace. Otherwise the run keeps its own setting, and says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from care_demand.outputs.backtest_choice import (
    APPLIED,
    NO_BETTER,
    NOT_CHECKED,
    OFF,
    held_status,
    read_choice,
)
from care_demand.outputs.layout import LAYOUT

__all__ = ["arrival_choice", "arrival_choice_note", "choice_status"]


def arrival_choice(
    backtest_dir: str | Path | None, run_damping: float, use: bool = True
) -> dict[str, object] | None:
    """The backtest's arrival trend choice and the ``trend_damping`` the run uses.

    ``backtest_dir``: a backtest of the run's data (None: none found); ``run_damping``: the
    run's own setting; ``use``: ``calibration.arrivals.trend_from_backtest``. Returns None
    when there is no backtest or it holds no choice; otherwise the backtest's record with
    ``backtest_dir``, ``configured_trend_damping`` (the run's setting),
    ``run_trend_damping`` (what the run uses) and ``status`` (``applied``, ``off``, or why
    the setting was kept).
    """
    record = read_choice(backtest_dir, LAYOUT.backtest.arrival_variant, "trend_damping")
    try:
        chosen = float(record["trend_damping"])  # type: ignore[index, arg-type]
    except (TypeError, ValueError):  # no record, or not a number
        return None
    status = choice_status(record, run_damping, use)
    return {
        **record,
        "backtest_dir": str(backtest_dir),
        "configured_trend_damping": float(run_damping),
        "run_trend_damping": chosen if status == APPLIED else float(run_damping),
        "status": status,
    }


def choice_status(record: Mapping[str, object], run_damping: float, use: bool = True) -> str:
    """What a run set to ``run_damping`` does with a backtest's ``record`` (from
    :func:`care_demand.backtest.arrival_variants.variant_record`): ``applied`` when ``use``
    and the nested check found the choice better out of sample, else why not."""
    same = float(record["trend_damping"]) == float(run_damping)  # type: ignore[arg-type]
    return held_status(record, same=same, use=use)


def arrival_choice_note(record: Mapping[str, object] | None) -> str:
    """The backtest's verdict on the arrival trend and what the run did, in plain sentences
    ('' with no backtest)."""
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
    used = float(record.get("run_trend_damping", 0))  # type: ignore[arg-type]
    configured = float(record.get("configured_trend_damping", used))  # type: ignore[arg-type]
    status = record.get("status")
    if status == APPLIED:
        why = (
            f"This run uses it: trend_damping {used:g} in place of {configured:g} "
            "(calibration.arrivals.trend_from_backtest)."
        )
    elif status == OFF:
        why = (
            f"This run keeps trend_damping {used:g}: calibration.arrivals.trend_from_backtest "
            "is off."
        )
    elif status == NOT_CHECKED:
        why = (
            f"This run keeps trend_damping {used:g}: the backtest had too few cuts to check "
            "the choice out of sample."
        )
    elif status == NO_BETTER:
        why = (
            f"This run keeps trend_damping {used:g}: chosen on earlier cuts, the variant did "
            "no better on later ones."
        )
    else:
        why = f"This run uses trend_damping {used:g}, the variant chosen."
    return text + ". " + why
