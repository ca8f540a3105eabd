"""The starting caseload checked against the record before a projection starts from it.

A projection starts from the children in care at the end of the observation window. When
lenient reading drops rows, open episodes can go with them, and a projection from a caseload
that is too small (or zero) looks plausible while being wrong. :func:`check_caseload`
compares the caseload the event history holds with the record as supplied (the history's
children in care plus the children whose open episode was dropped) and stops the run when
too much was lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from care_demand import vocab
from care_demand.data.council import CouncilData
from care_demand.data.history import EventHistory
from care_demand.errors import CareDemandError

__all__ = ["CaseloadCheck", "CaseloadError", "check_caseload", "starting_caseload"]

# At most this many dropped rows are listed in the error; the rest are counted.
_LISTED = 20


class CaseloadError(CareDemandError):
    """The starting caseload is zero or lost more than the allowed share of the record."""


@dataclass(frozen=True)
class CaseloadCheck:
    """Children in care at the end of the window: in the history and in the record.

    ``history``: children in care in the event history (what a projection starts from).
    ``lost``: children whose open episode was dropped in lenient reading (and not read from
    another return). ``record``: ``history + lost``, the caseload the files describe.
    """

    date: pd.Timestamp
    history: int
    lost: int

    @property
    def record(self) -> int:
        """Children in care on ``date`` as the files describe them."""
        return self.history + self.lost

    @property
    def lost_share(self) -> float:
        """Share of the recorded caseload that was lost (0 when the record is empty)."""
        return self.lost / self.record if self.record else 0.0


def starting_caseload(council: CouncilData, history: EventHistory) -> CaseloadCheck:
    """Count the children in care at the end of the window, kept and lost."""
    date = history.window_end
    in_care = int(history.stock(date, ("state",)).get(vocab.CARE, 0))
    lost = _lost_rows(council)
    children = int(lost["child_id"].dropna().nunique()) if lost is not None else 0
    return CaseloadCheck(date=pd.Timestamp(date), history=in_care, lost=children)


def _lost_rows(council: CouncilData) -> pd.DataFrame | None:
    """The dropped rows that were open episodes read from no other return (``None`` when
    nothing was dropped)."""
    rows = council.dropped_rows
    if not len(rows) or "open_episode" not in rows:
        return None
    lost = rows["open_episode"].fillna(False).astype(bool)
    if "kept_from_other_return" in rows:
        lost &= ~rows["kept_from_other_return"].fillna(False).astype(bool)
    return rows.loc[lost]


def check_caseload(
    council: CouncilData, history: EventHistory, max_lost_share: float
) -> CaseloadCheck:
    """Stop with :class:`CaseloadError` when the starting caseload cannot be trusted.

    The caseload is refused when it is zero, or when the children whose open episode was
    dropped are more than ``max_lost_share`` of the recorded caseload
    (``data.max_lost_caseload_share``). The message names the dropped rows (file, line and
    rule; never a child id) so they can be corrected.
    """
    if not 0.0 <= max_lost_share <= 1.0:
        raise CareDemandError(
            f"data.max_lost_caseload_share={max_lost_share} (configs/data/default.yaml): "
            "expected a share from 0 to 1"
        )
    check = starting_caseload(council, history)
    when = f"{check.date:%d %B %Y}"
    if check.history == 0:
        reason = (
            f"no child is in care at {when} in the data read, so a projection would start from zero"
        )
        if check.lost:
            reason += f" ({check.lost} children's open episodes were dropped)"
        raise CaseloadError(f"{reason}.{_dropped_text(council)}")
    if check.lost_share > max_lost_share:
        raise CaseloadError(
            f"{check.lost} of the {check.record} children in care at {when} "
            f"({check.lost_share:.0%}) lost their open episode to rows dropped in lenient "
            f"reading, more than data.max_lost_caseload_share={max_lost_share:.0%}: the "
            f"projection would start from {check.history} children instead of "
            f"{check.record}.{_dropped_text(council)}"
        )
    return check


def _dropped_text(council: CouncilData) -> str:
    """The open episodes dropped and why, for an error message (no child ids)."""
    lost = _lost_rows(council)
    if lost is None:
        return (
            " No rows were dropped: check that the SSDA903 files cover the last year and "
            "that open episodes have DEC blank (care-demand-validate DIR lists every problem)."
        )
    # The latest return first: its open episodes are the caseload the projection starts from.
    lost_rows = lost.sort_values(["file", "line"], ascending=[False, True])
    if lost_rows.empty:
        return " care-demand-validate DIR lists every problem."
    per_rule = lost_rows["rule"].value_counts().sort_index()
    lines = [
        "",
        "Open episodes dropped, by rule: "
        + ", ".join(f"{rule} {n}" for rule, n in per_rule.items())
        + ". The rows, latest return first:",
    ]
    for _, row in lost_rows.head(_LISTED).iterrows():
        line = "" if pd.isna(row["line"]) else f", line {int(row['line'])}"
        lines.append(f"  {row['file']}{line}: {row['rule']}")
    if len(lost_rows) > _LISTED:
        lines.append(f"  ... and {len(lost_rows) - _LISTED} more")
    lines.append(
        "Correct these rows (care-demand-validate DIR explains each), or raise "
        "data.max_lost_caseload_share to run anyway."
    )
    return "\n".join(lines)
