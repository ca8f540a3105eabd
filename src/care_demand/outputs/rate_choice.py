"""The period the council's own backtest chooses to fit the rates on, and whether a run uses it.

The backtest scores transition rates fitted before each cut on the whole record, on its
recent months only, and on the whole record weighted by age (the earlier years as a power
prior), and checks its choice out of sample (``backtest/rate_variant.json``; docs/backtest.md,
"The period the rates are fitted on"). A run that found a backtest of the same data
(:func:`care_demand.outputs.interval_widening.find_widening`) fits its rates as the backtest
chose when ``calibration.reference_from_backtest`` is on, it sets no period or weighting of
its own, and the nested check supports the choice: chosen on earlier cuts only, it erred less
on later cuts than the whole record. Otherwise it keeps the whole record, and says why.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from care_demand.outputs.backtest_choice import (
    APPLIED,
    NO_BETTER,
    NOT_CHECKED,
    NOT_CONVERGED,
    OFF,
    OWN,
    SAME,
    held_status,
    read_choice,
)
from care_demand.outputs.layout import LAYOUT
from care_demand.vocab import weighting_words

__all__ = ["rate_choice", "rate_choice_note", "rate_run_words", "rate_variant_words"]


def rate_variant_words(record: Mapping[str, object]) -> str:
    """The variants a backtest scored, in words, with their names in brackets."""
    words = ["the whole record (whole)"]
    recent = record.get("considered_recent_months")
    if recent is not None:
        words.append(f"its last {recent} months (recent)")
    half_life = record.get("considered_half_life_years")
    if half_life is not None:
        words.append(f"the whole record with {weighting_words(half_life)} (weighted)")  # type: ignore[arg-type]
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]


def rate_run_words(record: Mapping[str, object]) -> str:
    """How the chosen variant fits the rates, in words ("the last 36 months")."""
    if record.get("chosen") == "recent":
        return f"the last {record.get('recent_months')} months"
    if record.get("chosen") == "weighted":
        return f"the whole record, {weighting_words(record.get('half_life_years'))}"  # type: ignore[arg-type]
    return "the whole record"


def rate_choice(
    backtest_dir: str | Path | None, use: bool = True, own_period: bool = False
) -> dict[str, object] | None:
    """The backtest's choice of period and what the run does with it.

    ``use``: ``calibration.reference_from_backtest``; ``own_period``: the run sets a
    reference period or weighting itself. Returns None without a backtest or a choice in
    it; otherwise the backtest's record with ``backtest_dir`` and ``status`` (``applied``,
    or why not).
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
    text = (
        f"Transition rates: over the backtest's {record.get('cuts')} cuts, rates fitted before "
        f"each cut on {rate_variant_words(record)} expected the next {record.get('months')} "
        "months' transitions with errors (each transition's absolute error summed, as a "
        "share of those recorded, averaged over the cuts) of "
        + ", ".join(f"{float(value):.1f}% ({name})" for name, value in means.items())
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
        APPLIED: f"This run fits its rates on {rate_run_words(record)} "
        "(calibration.reference_from_backtest).",
        SAME: "This run fits its rates on the whole record, as the backtest chose.",
        OFF: "This run keeps the whole record: calibration.reference_from_backtest is off.",
        OWN: "This run keeps the reference period or weighting set in its calibration settings.",
        NOT_CHECKED: "This run keeps the whole record: the backtest had too few cuts to check "
        "the choice out of sample.",
        NO_BETTER: "This run keeps the whole record: chosen on earlier cuts, the choice did "
        "no better on later ones.",
        NOT_CONVERGED: f"This run fits its rates on the whole record: fitted on "
        f"{rate_run_words(record)}, as the backtest chose, they did not pass the sampler's "
        f"checks ({record.get('failure')}).",
    }.get(str(record.get("status")), "")
    return f"{text}. {why}".strip()
