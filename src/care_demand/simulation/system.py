"""The care system as data: everything one simulation run needs, validated once.

A :class:`CareSystem` is built by :func:`build_system` from the calibrated models, the event
history and the capacity configuration. The engine reads it and never changes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.calibration.hazard_levers import EntryPreferenceLever, HazardLever
from care_demand.calibration.hazards import HazardDraws
from care_demand.simulation.capacity import CapacityConfig

__all__ = [
    "ARRIVAL_STATES",
    "CODES",
    "RATE_DRIFT_SD_RANGE",
    "CareSystem",
    "caseload_at",
    "code_of",
]

# The range of the rates' random-walk step (a log-scale standard deviation per six months).
RATE_DRIFT_SD_RANGE: tuple[float, float] = (0.0, 2.0)

# Integer codes of where a child can be: the four states outside care, one code per
# placement group in care, then care leaver. Engine arrays are indexed by these codes.
CODES: tuple[str, ...] = (
    vocab.EARLY_HELP,
    vocab.ASSESSMENT,
    vocab.CIN,
    vocab.CP,
    *(f"care:{g}" for g in vocab.PLACEMENT_GROUPS),
    vocab.CARE_LEAVER,
)
N_NON_CARE = 4
FIRST_CARE = N_NON_CARE
N_GROUPS = len(vocab.PLACEMENT_GROUPS)
LEAVER = FIRST_CARE + N_GROUPS

# The state an arrival of each kind enters.
ARRIVAL_STATES: dict[str, str] = {
    "referral": vocab.ASSESSMENT,
    "early_help_request": vocab.EARLY_HELP,
    "care_entry": vocab.CARE,
    "care_entry_uasc": vocab.CARE,
}


def code_of(state: str, group: str | None = None) -> int:
    """Integer code of a state (and placement group, for care)."""
    if state == vocab.CARE:
        if group not in vocab.PLACEMENT_GROUPS:
            raise ValueError(f"unknown placement group {group!r} for a child in care")
        return FIRST_CARE + vocab.PLACEMENT_GROUPS.index(group)
    return CODES.index(state)


@dataclass(frozen=True)
class CareSystem:
    """A complete, validated description of one simulation run.

    Attributes:
        start: first day of the projection (a month start).
        horizon_months: months projected.
        draws: posterior draws of the hazards, entry and move probabilities; replicate ``r``
            uses draw ``r % n``.
        arrival_kinds: the kinds of arrival from outside services.
        arrival_intensity: expected arrivals per month ``(path, month, kind)``; replicate
            ``r`` uses path ``r % n`` and draws Poisson counts around it.
        arrival_ages: per kind, a sample of ages (years) at arrival to draw new children from.
        referral_nfa_share: share of referrals closed with no further action (no spell).
        caseload: the children open at ``start``: ``code`` (see :data:`CODES`), ``age``
            (years), ``months_in_state``, ``months_in_care`` (for care, the period so far).
        capacity: in-house capacity and placement policy.
        mode: ``continuum`` or ``care_only``.
        care_leaver_end_age: age at which a care leaver's service ends.
        care_leaver_min_exit_age: minimum age at leaving care to become a care leaver.
        care_leaver_min_months: minimum months in care to become a care leaver.
        care_leaver_supported_share: share of care leavers still supported at the end age,
            who go on to ``care_leaver_supported_end_age``.
        care_leaver_supported_end_age: age at which extended care-leaver support ends.
        emergency_share: share of entries to care that are emergencies, by hazard age band.
        leavers_past_21: for each care leaver whose service ended at the end age in the four
            years before the start, the month (from the start) they turn the supported end
            age; each is still supported with ``care_leaver_supported_share``.
        leavers_pending: young people who left care before the start qualifying as care
            leavers but are not yet 18: each one's birth time in months from the start.
        hazard_levers: scenario changes to transition hazards from a date on.
        entry_levers: scenario changes to the placement groups children enter care in.
        rate_drift_sd: standard deviation per year of a random walk (log scale) on the
            transition rates into each destination, drawn per replicate (0 = rates stay at
            their posterior draw over the whole horizon).
    """

    start: pd.Timestamp
    horizon_months: int
    draws: HazardDraws
    arrival_kinds: tuple[str, ...]
    arrival_intensity: np.ndarray
    arrival_ages: tuple[np.ndarray, ...]
    referral_nfa_share: float
    caseload: pd.DataFrame
    capacity: CapacityConfig
    mode: str = "continuum"
    care_leaver_end_age: float = 21.0
    care_leaver_min_exit_age: float = 16.0
    care_leaver_min_months: float = 3.0
    care_leaver_supported_share: float = 0.0
    care_leaver_supported_end_age: float = 25.0
    emergency_share: tuple[float, ...] = ()
    leavers_past_21: tuple[float, ...] = ()
    leavers_pending: tuple[float, ...] = ()
    hazard_levers: tuple[HazardLever, ...] = ()
    entry_levers: tuple[EntryPreferenceLever, ...] = ()
    rate_drift_sd: float = 0.0

    def __post_init__(self) -> None:
        problems = []
        low, high = RATE_DRIFT_SD_RANGE
        if not low <= self.rate_drift_sd <= high:
            problems.append(f"rate_drift_sd is {self.rate_drift_sd}; expected {low:g} to {high:g}")
        if self.horizon_months < 1:
            problems.append(f"horizon_months is {self.horizon_months}; expected at least 1")
        if self.start != self.start.normalize() or self.start.day != 1:
            problems.append(f"start {self.start.date()} is not the first day of a month")
        if self.arrival_intensity.ndim != 3:
            problems.append("arrival_intensity must have dims (path, month, kind)")
        elif self.arrival_intensity.shape[1] < self.horizon_months:
            problems.append(
                f"arrival paths cover {self.arrival_intensity.shape[1]} months; the horizon "
                f"is {self.horizon_months}"
            )
        elif self.arrival_intensity.shape[2] != len(self.arrival_kinds):
            problems.append("arrival_intensity's kind axis does not match arrival_kinds")
        if np.any(self.arrival_intensity < 0) or not np.all(np.isfinite(self.arrival_intensity)):
            problems.append("arrival intensities must be finite and not negative")
        unknown = set(self.arrival_kinds) - set(ARRIVAL_STATES)
        if unknown:
            problems.append(f"unknown arrival kinds {sorted(unknown)}")
        if len(self.arrival_ages) != len(self.arrival_kinds):
            problems.append("one age sample per arrival kind is needed")
        for kind, ages in zip(self.arrival_kinds, self.arrival_ages, strict=False):
            if len(ages) == 0 or np.any((ages < 0) | (ages >= 18)):
                problems.append(f"arrival ages for {kind} must be a non-empty sample in [0, 18)")
        if not 0.0 <= self.care_leaver_supported_share <= 1.0:
            problems.append("care_leaver_supported_share must be in [0, 1]")
        if self.care_leaver_supported_end_age < self.care_leaver_end_age:
            problems.append("care_leaver_supported_end_age is before care_leaver_end_age")
        if any(not 0.0 <= s <= 1.0 for s in self.emergency_share):
            problems.append("emergency shares must be in [0, 1]")
        if not 0.0 <= self.referral_nfa_share <= 1.0:
            problems.append(f"referral_nfa_share {self.referral_nfa_share} is not in [0, 1]")
        needed = {"code", "age", "months_in_state", "months_in_care"}
        if not needed <= set(self.caseload.columns):
            problems.append(f"caseload needs columns {sorted(needed)}")
        if problems:
            raise ValueError("invalid care system: " + "; ".join(problems))


def caseload_at(spells: pd.DataFrame, date: pd.Timestamp) -> pd.DataFrame:
    """The open caseload on ``date`` from an event history's spells, in engine form.

    One row per child open on ``date`` (start <= date < end, or open): ``code``, ``age``,
    ``months_in_state`` and ``months_in_care`` (time since the period of care began, for
    children in care). Rows are sorted by code, age and time in state so that the order, and
    so each child's random stream, does not depend on pseudonymous ids.
    """
    open_now = (spells["start"] <= date) & (spells["end"].isna() | (spells["end"] > date))
    live = spells.loc[open_now].copy()
    codes = []
    for state, group in zip(live["state"], live["placement_group"], strict=True):
        codes.append(code_of(state, None if pd.isna(group) else group))
    live["code"] = np.asarray(codes, dtype=np.int64)
    days = vocab.DAYS_PER_MONTH
    live["age"] = (date - live["dob"]).dt.days / vocab.DAYS_PER_YEAR
    live["months_in_state"] = (date - live["start"]).dt.days / days
    # Time in the current period of care: back to the first care spell of the same period.
    care = spells[spells["state"] == vocab.CARE]
    period_start = care.groupby(["child_id", "care_period"])["start"].min()
    keys = list(zip(live["child_id"], live["care_period"], strict=True))
    starts = [
        period_start.get(k, pd.NaT) if live_state == vocab.CARE else pd.NaT
        for k, live_state in zip(keys, live["state"], strict=True)
    ]
    live["months_in_care"] = (date - pd.to_datetime(pd.Series(starts, index=live.index))).dt.days
    live["months_in_care"] = (live["months_in_care"] / days).fillna(0.0)
    out = live[["code", "age", "months_in_state", "months_in_care"]]
    return out.sort_values(["code", "age", "months_in_state"], ignore_index=True)
