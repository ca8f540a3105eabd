"""The arrival trend and level drift the council's own backtest chooses, and whether a run
uses them.

The backtest scores arrival trend variants (``calibration.arrivals.trend_damping``) at each
cut and checks its choice out of sample (``backtest/arrival_variant.json``; docs/backtest.md,
"The arrival trend the council's record chooses"). A run that found a backtest of the same
data (:func:`care_demand.outputs.interval_widening.find_widening`) uses the chosen variant
when ``calibration.arrivals.trend_from_backtest`` is on and the nested check supports it:
chosen on earlier cuts only, the variant erred less on the later cuts than the setting it
would replace. Otherwise the run keeps its own setting, and says why.

The level drift (``calibration.arrivals.level_drift_sd``, ``backtest/arrival_drift.json``)
is chosen and used the same way (:func:`drift_choice`, with
``calibration.arrivals.drift_from_backtest``), scored by the CRPS of the arrivals' totals.
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

__all__ = [
    "arrival_choice",
    "arrival_choice_note",
    "drift_choice",
    "drift_choice_note",
]


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
    return _choice(backtest_dir, LAYOUT.backtest.arrival_variant, "trend_damping", run_damping, use)


def _choice(
    backtest_dir: str | Path | None, relative: str, setting: str, run_value: float, use: bool
) -> dict[str, object] | None:
    """The backtest's choice of ``setting`` (its record at ``relative``) and the value the
    run uses instead of its own ``run_value``: the record with ``backtest_dir``,
    ``configured_<setting>``, ``run_<setting>`` and ``status``; None without a record."""
    record = read_choice(backtest_dir, relative, setting)
    try:
        chosen = float(record[setting])  # type: ignore[index, arg-type]
    except (TypeError, ValueError):  # no record, or not a number
        return None
    status = held_status(record, same=chosen == float(run_value), use=use)  # type: ignore[arg-type]
    return {
        **record,
        "backtest_dir": str(backtest_dir),
        f"configured_{setting}": float(run_value),
        f"run_{setting}": chosen if status == APPLIED else float(run_value),
        "status": status,
    }


def arrival_choice_note(record: Mapping[str, object] | None) -> str:
    """The backtest's verdict on the arrival trend and what the run did, in plain sentences
    ('' with no backtest)."""
    return _note(
        record,
        title="Arrival trend",
        setting="trend_damping",
        flag="trend_from_backtest",
        did="forecast the next {months} months' arrivals best",
        score=("abs_pct_error", "mean absolute error", "erred"),
    )


def _note(
    record: Mapping[str, object] | None,
    *,
    title: str,
    setting: str,
    flag: str,
    did: str,
    score: tuple[str, str, str],
    origins: str = "cuts",
) -> str:
    """A backtest choice of the arrivals' ``setting`` and what the run did, in plain
    sentences: the variant that ``did`` best by ``score`` (its record key, its name in words,
    and the verb of its nested check) over the backtest's ``origins``, the nested check, and
    why the run uses or keeps it (``calibration.arrivals.<flag>``)."""
    if not record:
        return ""
    key, words, verb = score
    means: Mapping[str, float] = record.get(f"mean_{key}", {})  # type: ignore[assignment]
    chosen, shipped = str(record.get("chosen")), str(record.get("shipped"))
    text = (
        f"{title}: over the backtest's {record.get('cuts')} {origins}, the {chosen} variant "
        f"({setting} {float(record.get(setting, 0)):g}) "  # type: ignore[arg-type]
        + did.format(months=record.get("months"))
        + " ("
        + ", ".join(f"{name} {float(value):.1f}%" for name, value in means.items())
        + f" {words})"
    )
    nested_chosen = record.get("nested_chosen_error")
    nested_shipped = record.get("nested_shipped_error")
    if nested_chosen is not None and nested_shipped is not None:
        text += (
            f"; chosen on earlier cuts only, it {verb} {float(nested_chosen):.1f}% against "  # type: ignore[arg-type]
            f"{float(nested_shipped):.1f}% for the {shipped} setting on later ones"  # type: ignore[arg-type]
        )
    used = float(record.get(f"run_{setting}", 0))  # type: ignore[arg-type]
    configured = float(record.get(f"configured_{setting}", used))  # type: ignore[arg-type]
    reasons = {
        APPLIED: f"This run uses it: {setting} {used:g} in place of {configured:g} "
        f"(calibration.arrivals.{flag}).",
        OFF: f"This run keeps {setting} {used:g}: calibration.arrivals.{flag} is off.",
        NOT_CHECKED: f"This run keeps {setting} {used:g}: the backtest had too few cuts to "
        "check the choice out of sample.",
        NO_BETTER: f"This run keeps {setting} {used:g}: chosen on earlier cuts, the variant "
        "did no better on later ones.",
    }
    why = reasons.get(
        str(record.get("status")), f"This run uses {setting} {used:g}, the variant chosen."
    )
    return text + ". " + why


def drift_choice(
    backtest_dir: str | Path | None, run_drift: float, use: bool = True
) -> dict[str, object] | None:
    """The backtest's level drift choice and the ``level_drift_sd`` the run uses.

    As :func:`arrival_choice`: None without a backtest or a choice; otherwise the record with
    ``backtest_dir``, ``configured_level_drift_sd``, ``run_level_drift_sd`` and ``status``.
    """
    return _choice(backtest_dir, LAYOUT.backtest.arrival_drift, "level_drift_sd", run_drift, use)


def drift_choice_note(record: Mapping[str, object] | None) -> str:
    """The backtest's verdict on the arrivals' level drift and what the run did, in plain
    sentences ('' with no backtest)."""
    return _note(
        record,
        title="Arrival drift",
        setting="level_drift_sd",
        flag="drift_from_backtest",
        did="matched the spread of the next {months} months' arrivals best",
        score=("crps_pct", "mean CRPS", "scored"),
        origins="origins (its cuts and the dates between them)",
    )
