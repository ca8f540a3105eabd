"""Build a :class:`CareSystem` from the event history and the calibrated models."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.calibration.arrival_levers import ArrivalLevel, ArrivalLever
from care_demand.calibration.arrival_settings import ARRIVAL_KINDS, CARE_ENTRY, CARE_ENTRY_UASC
from care_demand.calibration.arrivals import ArrivalModel, monthly_arrivals
from care_demand.calibration.hazard_levers import EntryPreferenceLever, HazardLever
from care_demand.calibration.hazards import HazardDraws
from care_demand.data import EventHistory
from care_demand.data.settings import CareLeaverConfig
from care_demand.simulation.capacity import (
    CapacityConfig,
    sized_to_caseload,
    usable_places_per_household,
)
from care_demand.simulation.system import ARRIVAL_STATES, CareSystem, caseload_at, code_of

log = logging.getLogger(__name__)

__all__ = [
    "OutsideArrivals",
    "build_system",
    "capacity_at_start",
    "emergency_shares",
    "leavers_past_end_age",
    "luck_only",
    "nfa_share",
    "pending_care_leavers",
    "projection_start",
    "sizing_note",
    "with_recorded_arrivals",
]

# Ages of arrivals are drawn from the most recent years of the history.
_AGE_SAMPLE_YEARS = 3
_HAZARD_BANDS = tuple(band for band in vocab.AGE_BANDS if band[2] <= 18.0)
# UASC entering care when the history has none take the ages of the other entrants this age
# or over: most UASC who come into care are 16 or 17 (DfE, Children looked after in England
# including adoptions, UASC by age); the age samples otherwise come from the data.
_UASC_FALLBACK_AGE = 16.0


@dataclass(frozen=True)
class OutsideArrivals:
    """A history view whose arrivals are only those from outside services.

    Arrival trends are fitted on this view so that the projection does not count a step up
    from early help both as an arrival and as a transition. When the history holds UASC
    information, entries to care of UASC are their own kind (``care_entry_uasc``), listed in
    ``kinds`` even in a history with none of them (a series of zeros), so that a scenario can
    still set them.
    """

    arrivals: pd.DataFrame
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    fingerprint: str
    kinds: tuple[str, ...] | None = None

    @classmethod
    def of(cls, history: EventHistory) -> OutsideArrivals:
        """The outside arrivals of ``history``."""
        arrivals = history.arrivals_from_outside()
        kinds = None
        present = set(pd.unique(arrivals["kind"]))
        if history.uasc_supplied and present & {CARE_ENTRY, CARE_ENTRY_UASC}:
            present |= {CARE_ENTRY, CARE_ENTRY_UASC}
            kinds = tuple(k for k in ARRIVAL_KINDS if k in present) + tuple(
                sorted(present - set(ARRIVAL_KINDS))
            )
        return cls(
            arrivals=arrivals,
            window_start=history.window_start,
            window_end=history.window_end,
            fingerprint=history.fingerprint,
            kinds=kinds,
        )


def projection_start(history: EventHistory) -> pd.Timestamp:
    """The first month after the observation window."""
    return (history.window_end + pd.Timedelta(days=1)).to_period("M").to_timestamp()


def nfa_share(history: EventHistory, outside: pd.DataFrame) -> float:
    """Share of referrals from outside (``outside``) that opened no spell (no further action)."""
    referrals = outside[outside["kind"] == "referral"]
    if referrals.empty:
        return 0.0
    opened = history.spells[["child_id", "start"]].drop_duplicates()
    matched = referrals.merge(
        opened.rename(columns={"start": "date"}).assign(_spell=True),
        on=["child_id", "date"],
        how="left",
    )
    return float(matched["_spell"].isna().mean())


def emergency_shares(history: EventHistory) -> tuple[float, ...]:
    """Share of entries to care that were emergencies, by hazard age band at entry.

    From the legal status that opened each period of care (``entry_route``). A band with no
    entries takes the share over all ages; a history without care entries gives zeros.
    """
    spells = history.spells
    entries = spells[spells["entry_route"].notna()]
    if entries.empty:
        return tuple(0.0 for _ in _HAZARD_BANDS)
    emergency = (entries["entry_route"] == "emergency").to_numpy()
    overall = float(emergency.mean())
    ages = entries["age_at_start"].to_numpy(dtype=float)
    shares = []
    for _, low, high in _HAZARD_BANDS:
        inside = (ages >= low) & (ages < high)
        shares.append(float(emergency[inside].mean()) if inside.any() else overall)
    return tuple(shares)


def leavers_past_end_age(
    history: EventHistory, start: pd.Timestamp, leaver: CareLeaverConfig
) -> tuple[float, ...]:
    """Care leavers whose service ended at the end age and who are under the supported end
    age at ``start``: the month (from ``start``) each reaches the supported end age."""
    spells = history.spells
    done = spells[(spells["state"] == vocab.CARE_LEAVER) & spells["end"].notna()]
    if done.empty:
        return ()
    age_at_end = (done["end"] - done["dob"]).dt.days / vocab.DAYS_PER_YEAR
    ended_by_age = done[age_at_end >= leaver.end_age - 0.1]
    until = (
        ended_by_age["dob"] - start
    ).dt.days / vocab.DAYS_PER_MONTH + 12.0 * leaver.supported_end_age
    return tuple(sorted(float(m) for m in until if m > 0))


def pending_care_leavers(
    history: EventHistory, start: pd.Timestamp, leaver: CareLeaverConfig
) -> tuple[float, ...]:
    """Young people who left care qualifying as care leavers but are under the start age.

    They left care at ``min_exit_age`` or older after ``min_weeks_in_care`` in care, are out of
    care at the end of the history and have not yet reached ``start_age``: each becomes a
    care leaver on that birthday. Returns each one's birth time in months from ``start``.
    """
    spells = history.spells
    care = spells[spells["state"] == vocab.CARE]
    if care.empty:
        return ()
    periods = care.groupby(["child_id", "care_period"], observed=True).agg(
        begin=("start", "min"),
        end=("end", "max"),
        open=("end", lambda e: e.isna().any()),
        dob=("dob", "first"),
    )
    periods = periods[~periods["open"] & periods["end"].notna()]
    in_care_now = set(care.loc[care["end"].isna(), "child_id"])
    periods = periods[~periods.index.get_level_values("child_id").isin(in_care_now)]
    age_at_exit = (periods["end"] - periods["dob"]).dt.days / vocab.DAYS_PER_YEAR
    weeks = (periods["end"] - periods["begin"]).dt.days / 7.0
    age_now = (start - periods["dob"]).dt.days / vocab.DAYS_PER_YEAR
    pending = periods[
        (age_at_exit >= leaver.min_exit_age)
        & (weeks >= leaver.min_weeks_in_care)
        & (age_now < leaver.start_age)
    ]
    # One per young person (the latest qualifying exit decides).
    births = pending.groupby(level="child_id", observed=True)["dob"].first()
    months = (births - start).dt.days / vocab.DAYS_PER_MONTH
    return tuple(sorted(float(m) for m in months))


def _age_samples(
    history: EventHistory, outside: pd.DataFrame, kinds: Sequence[str]
) -> tuple[np.ndarray, ...]:
    """Per kind, the ages at arrival of the last years' arrivals of that kind (all years when
    there are none). UASC entries to care with none in the history take the ages of the
    other entries to care aged ``_UASC_FALLBACK_AGE`` or over."""
    recent = outside[outside["date"] > history.window_end - pd.DateOffset(years=_AGE_SAMPLE_YEARS)]
    samples = []
    for kind in kinds:
        ages = recent.loc[recent["kind"] == kind, "age"].to_numpy(dtype=float)
        if ages.size == 0:
            ages = outside.loc[outside["kind"] == kind, "age"].to_numpy(dtype=float)
        if ages.size == 0 and kind == CARE_ENTRY_UASC:
            entries = outside.loc[outside["kind"] == CARE_ENTRY, "age"].to_numpy(dtype=float)
            ages = entries[entries >= _UASC_FALLBACK_AGE]
        if ages.size == 0:
            raise ValueError(f"no {kind} arrivals in the history to take ages from")
        samples.append(np.sort(np.clip(ages, 0.0, 17.99)))
    return tuple(samples)


def sizing_note(sized: CapacityConfig, start: pd.Timestamp) -> str:
    """What a capacity sized to the caseload at ``start`` holds, and how to use the
    council's own figures instead."""
    fostering = sized.fostering
    places = fostering.households * usable_places_per_household(fostering)
    beds = sized.beds_open(start)
    steps = sized.harbour.steps()
    before = [n for date, n in steps if date <= start]
    outreach = (
        f"Harbour outreach for {before[-1]}" if before and before[-1] else "no Harbour outreach"
    )
    if any(date > start for date, _ in steps):
        outreach += ", then as the scenario sets it"
    return (
        f"{fostering.households} mainstream fostering households (about {places:.0f} usable "
        f"places), {beds} beds in the children's homes open then and {outreach}. Figures the "
        "council sets in configs/capacity/ are used as they stand (capacity.sizing=configured "
        "uses that file whole)."
    )


def capacity_at_start(
    history: EventHistory,
    capacity: CapacityConfig,
    example_capacity: CapacityConfig | None = None,
) -> CapacityConfig:
    """The in-house capacity a projection of ``history`` runs with.

    ``capacity`` itself unless its ``sizing`` is ``caseload``; then sized to the children
    open on the history's last day, where it still holds ``example_capacity``'s figures
    (every part without it), as :func:`build_system` sizes it. For a page or a report that
    says what a run will use before it runs.
    """
    if capacity.sizing != "caseload":
        return capacity
    caseload = caseload_at(history.spells, history.window_end)
    return _sized_capacity(capacity, caseload, projection_start(history), example_capacity)


def _sized_capacity(
    capacity: CapacityConfig,
    caseload: pd.DataFrame,
    start: pd.Timestamp,
    example: CapacityConfig | None,
) -> CapacityConfig:
    """``capacity`` as a run starting at ``start`` uses it: as it stands, or with
    ``sizing`` ``caseload`` sized to the in-house ``caseload``
    (:func:`~care_demand.simulation.capacity.sized_to_caseload`: the parts still holding the
    ``example``'s figures, or every part without one)."""
    if capacity.sizing != "caseload":
        return capacity
    codes = caseload["code"].to_numpy()
    return sized_to_caseload(
        capacity,
        inhouse_foster=int((codes == code_of(vocab.CARE, vocab.INHOUSE_FOSTER)).sum()),
        inhouse_residential=int((codes == code_of(vocab.CARE, vocab.INHOUSE_RESIDENTIAL)).sum()),
        start=start,
        example=example,
    )


def build_system(
    history: EventHistory,
    draws: HazardDraws,
    arrivals: ArrivalModel,
    capacity: CapacityConfig,
    *,
    horizon_months: int,
    n_paths: int,
    seed: int,
    arrival_levers: Sequence[ArrivalLever] = (),
    arrival_levels: Sequence[ArrivalLevel] = (),
    hazard_levers: Sequence[HazardLever] = (),
    entry_levers: Sequence[EntryPreferenceLever] = (),
    care_leaver: CareLeaverConfig | None = None,
    rate_drift_sd: float,
    example_capacity: CapacityConfig | None = None,
) -> CareSystem:
    """Everything one run needs, from the history and the fitted models.

    ``arrivals`` must have been fitted on :class:`OutsideArrivals`. The caseload is the
    children open on the last day of the history. Levers are a scenario's changes to
    arrivals, transition hazards and placement at entry from given dates; ``arrival_levels``
    set a kind's expected arrivals per month from a date (a UASC quota), before the arrival
    levers multiply. Arrivals of kind ``care_entry_uasc`` enter care like other entries from
    outside, with the ages of the history's UASC entrants.
    ``rate_drift_sd`` is :attr:`CareSystem.rate_drift_sd`; pass ``simulation.rate_drift_sd``
    (it has no default, so no caller leaves the configured drift out by omission).
    With ``capacity.sizing`` ``caseload``, the in-house service at the start is sized to
    the caseload then, where it still holds ``example_capacity``'s figures (every part
    without it); the system's ``capacity`` is what the simulation runs with.
    """
    start = projection_start(history)
    kinds = tuple(k for k in arrivals.kinds_ if k in ARRIVAL_STATES)
    if history.mode == "care_only":
        kinds = tuple(k for k in kinds if ARRIVAL_STATES[k] == vocab.CARE)
    paths = arrivals.sample_paths(
        start,
        horizon_months,
        n_paths,
        seed,
        include_noise=False,
        levers=arrival_levers,
        levels=arrival_levels,
    )
    intensity = paths.sel(kind=list(kinds)).to_numpy()
    caseload = caseload_at(history.spells, history.window_end)
    sized = _sized_capacity(capacity, caseload, start, example_capacity)
    if sized is not capacity and sized.enforce:  # limits apply (not a backtest's): say so
        log.info(
            "In-house capacity sized to the caseload at the start: %s", sizing_note(sized, start)
        )
    capacity = sized
    outside = history.arrivals_from_outside()
    leaver = care_leaver if care_leaver is not None else CareLeaverConfig()
    return CareSystem(
        start=start,
        horizon_months=horizon_months,
        draws=draws,
        arrival_kinds=kinds,
        arrival_intensity=np.ascontiguousarray(intensity),
        arrival_ages=_age_samples(history, outside, kinds),
        referral_nfa_share=nfa_share(history, outside) if "referral" in kinds else 0.0,
        caseload=caseload,
        capacity=capacity,
        mode=history.mode,
        care_leaver_end_age=leaver.end_age,
        care_leaver_min_exit_age=leaver.min_exit_age,
        care_leaver_min_months=leaver.min_weeks_in_care * 7 / vocab.DAYS_PER_MONTH,
        care_leaver_supported_share=leaver.supported_to_25_share,
        care_leaver_supported_end_age=leaver.supported_end_age,
        emergency_share=emergency_shares(history),
        leavers_past_21=leavers_past_end_age(history, start, leaver),
        leavers_pending=pending_care_leavers(history, start, leaver),
        hazard_levers=tuple(hazard_levers),
        entry_levers=tuple(entry_levers),
        rate_drift_sd=float(rate_drift_sd),
    )


def with_recorded_arrivals(system: CareSystem, history: EventHistory) -> CareSystem:
    """``system`` fed the arrivals recorded in ``history`` over its horizon (one path) in place
    of the forecast's: a back-simulation that checks the flow model alone."""
    months = pd.date_range(system.start, periods=system.horizon_months, freq="MS")
    recorded = monthly_arrivals(
        OutsideArrivals.of(history).arrivals, months[0], months[-1] + pd.offsets.MonthEnd(0)
    )
    wide = recorded.pivot(index="month", columns="kind", values="count")
    wide = wide.reindex(index=months, columns=list(system.arrival_kinds)).fillna(0.0)
    return dataclasses.replace(system, arrival_intensity=wide.to_numpy(float)[None].copy())


def luck_only(system: CareSystem) -> CareSystem:
    """``system`` with every replicate on the same transition rates and placement shares (the
    mean of its posterior draws) and the same expected arrivals each month (the mean of its
    arrival paths), without a drift of the rates.

    Its replicates differ by the process's own luck alone: how many arrive in a month, who
    leaves when, where each child is placed. The spread of their median is the error a
    forecast that knew the rates and the arrivals' level would still make (the backtest's
    ``luck_abs_pct_error``).
    """
    draws = system.draws

    def mean(values: np.ndarray | None) -> np.ndarray | None:
        return None if values is None else values.mean(axis=0, keepdims=True)

    point = dataclasses.replace(
        draws, rates=mean(draws.rates), entry=mean(draws.entry), move=mean(draws.move)
    )
    intensity = system.arrival_intensity.mean(axis=0, keepdims=True)
    return dataclasses.replace(system, draws=point, arrival_intensity=intensity, rate_drift_sd=0.0)
