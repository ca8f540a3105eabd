"""The period the council's own backtest chooses to fit the rates on, and whether a run uses it.

The backtest scores transition rates fitted on the whole record before each cut and on its
recent months only, and checks its choice out of sample (``backtest/rate_variant.json``;
docs/backtest.md, "The period the rates are fitted on"). A run that found a backtest of the
same data (:func:`care_demand.outputs.interval_widening.find_widening`) fits its rates on the
recent period when ``calibration.reference_from_backtest`` is on, it sets no reference period
of its own, and the nested check supports the choice: chosen on earlier cuts only, the recent
period erred less on later cuts than the whole record. Otherwise it keeps the whole record,
and says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from care_demand.outputs.arrival_choice import (
    APPLIED,
    NO_BETTER,
    NOT_CHECKED,
    OFF,
    OWN,
    SAME,
    held_status,
    read_choice,
)
from care_demand.outputs.layout import LAYOUT

__all__ = ["rate_choice", "rate_choice_note"]


def rate_choice(
    backtest_dir: str | Path | None, use: bool = True, own_period: bool = False
) -> dict[str, object] | None:
    """The backtest's choice of period and what the run does with it.

    ``use``: ``calibration.reference_from_backtest``; ``own_period``: the run sets a
    reference period itself. Returns None without a backtest or a choice in it; otherwise the
    backtest's record with ``backtest_dir`` and ``status`` (``applied``, or why not).
    """
    record = read_choice(backtest_dir, LAYOUT.backtest.rate_variant, "chosen")
    if record is None:
        return None
    same = str(record["chosen"]) == str(record.get("shipped"))
    status = held_status(record, same=same, use=use, own=own_period)
    return {**record, "backtest_dir": str(backtest_dir), "status": status}


def rate_choice_note(record: Mapping[str, object] | None) -> str:
    """The backtest's verdict on the rates' period and what the run did, in plain sentences
    ('' with no backtest)."""
    if not record:
        return ""
    means: Mapping[str, float] = record.get("mean_abs_pct_error", {})  # type: ignore[assignment]
    recent = record.get("considered_recent_months")
    text = (
        f"Transition rates: over the backtest's {record.get('cuts')} cuts, rates fitted on the "
        f"last {recent} months before each cut (recent) or on the whole record (whole) "
        f"expected the next {record.get('months')} months' transitions with mean absolute "
        "errors of " + ", ".join(f"{float(value):.1f}% ({name})" for name, value in means.items())
    )
    chosen_error, whole_error = (
        record.get("nested_chosen_error"),
        record.get("nested_shipped_error"),
    )
    if chosen_error is not None and whole_error is not None:
        text += (
            f"; chosen on earlier cuts only, the choice erred {float(chosen_error):.1f}% against "  # type: ignore[arg-type]
            f"{float(whole_error):.1f}% for the whole record on later ones"  # type: ignore[arg-type]
        )
    why = {
        APPLIED: f"This run fits its rates on the last {recent} months "
        "(calibration.reference_from_backtest).",
        SAME: "This run fits its rates on the whole record, as the backtest chose.",
        OFF: "This run keeps the whole record: calibration.reference_from_backtest is off.",
        OWN: "This run keeps the reference period set in its calibration settings.",
        NOT_CHECKED: "This run keeps the whole record: the backtest had too few cuts to check "
        "the choice out of sample.",
        NO_BETTER: "This run keeps the whole record: chosen on earlier cuts, the recent period "
        "did no better on later ones.",
    }.get(str(record.get("status")), "")
    return f"{text}. {why}".strip()
