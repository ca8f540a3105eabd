"""What a run does with a choice its council's backtest made: the plain-data record, read
from the backtest folder, and the rule that decides whether the run uses it.

The backtest chooses the arrival trend (:mod:`.arrival_choice`) and the period the
transition rates are fitted on (:mod:`.rate_choice`) on the council's own record, and checks
each choice out of sample with a nested backtest. A run uses a choice only when it differs
from the run's own setting, the run allows it, sets nothing of its own instead, and the
nested check found it better on later cuts; ``status`` says which of these held.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

__all__ = [
    "APPLIED",
    "NOT_CHECKED",
    "NOT_CONVERGED",
    "NO_BETTER",
    "OFF",
    "OWN",
    "SAME",
    "held_status",
    "read_choice",
]

# What a run did with the backtest's choice (``status`` of a choice).
APPLIED = "applied"
SAME = "same as the run's setting"
OFF = "off"
NOT_CHECKED = "not checked out of sample"
NO_BETTER = "no better out of sample"
OWN = "the run's own setting"
# Applied, but the fit on the chosen period failed the sampler's checks: the run fell back.
NOT_CONVERGED = "not converged on this record"


def held_status(record: Mapping[str, object], *, same: bool, use: bool, own: bool = False) -> str:
    """What a run does with a backtest's choice ``record``: ``applied`` when the choice
    differs from the run's setting (not ``same``), ``use`` is on, the run sets nothing of its
    own instead (``own``) and the nested check found the choice better out of sample; else
    why not."""
    nested_chosen = record.get("nested_chosen_error")
    nested_shipped = record.get("nested_shipped_error")
    if same:
        return SAME
    if not use:
        return OFF
    if own:
        return OWN
    if nested_chosen is None or nested_shipped is None:
        return NOT_CHECKED
    if float(nested_chosen) < float(nested_shipped):  # type: ignore[arg-type]
        return APPLIED
    return NO_BETTER


def read_choice(
    backtest_dir: str | Path | None, relative: str, key: str
) -> dict[str, object] | None:
    """A backtest's choice record (``relative`` to ``backtest_dir``), or None when there is
    no backtest or the file is missing, unreadable or holds no ``key``."""
    if not backtest_dir:
        return None
    try:
        record = json.loads((Path(str(backtest_dir)) / relative).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and key in record else None
