"""The reference period: the months of the record the transition rates are fitted on.

By default the hazards are fitted on the whole observation window of the event history.
A commissioner may instead choose a reference period (``calibration.reference_start`` and
``calibration.reference_end``), as the regional demand models offer: for example the three
years since a new front door, or the record before a pandemic. Only the months inside the
period count: exposure and events of every spell are clipped to it, placement shares count
the entries and moves inside it. Children's ages and durations in care are still measured
from their real birth and spell start, so a spell that began before the period counts in its
true duration band. The projection always starts from the caseload at the end of the data,
and the arrival trends are fitted on the whole record (a trend needs every year there is).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from care_demand.calibration.hazards import HazardModel, HistoryLike
from care_demand.calibration.settings import CalibrationConfig
from care_demand.checking import Checker, Problems
from care_demand.errors import ConfigError
from care_demand.vocab import weighting_words

__all__ = [
    "MIN_REFERENCE_MONTHS",
    "RATE_PERIODS",
    "RECENT",
    "WEIGHTED",
    "WHOLE",
    "ReferenceHistory",
    "calibration_problems",
    "fit_hazards",
    "has_reference_period",
    "rate_period_settings",
    "recent_start",
    "reference_history",
    "reference_label",
    "sets_rate_period",
]

# A period shorter than a year cannot separate a rate from the school-year pattern of
# referrals and entries, and leaves most age and duration bands without an event.
MIN_REFERENCE_MONTHS = 12

# The ways of fitting the rates on the record that a council's backtest compares
# (care_demand.backtest.rate_variants): the whole record, its recent months only (a reference
# period), and the whole record with the earlier years weighted down by their age (a power
# prior, ``hazards.priors.record_half_life_years``).
WHOLE = "whole"
RECENT = "recent"
WEIGHTED = "weighted"
RATE_PERIODS = (WHOLE, RECENT, WEIGHTED)


@dataclass(frozen=True)
class ReferenceHistory:
    """An event history seen through a reference period (what the hazard model reads)."""

    spells: pd.DataFrame
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    fingerprint: str


def calibration_problems(settings: CalibrationConfig) -> Problems:
    """Every problem in the calibration settings that types cannot catch."""
    check = Checker()
    start = end = None
    if settings.reference_start is not None:
        start = check.date("calibration.reference_start", settings.reference_start)
    if settings.reference_end is not None:
        end = check.date("calibration.reference_end", settings.reference_end)
    if start is not None and end is not None and end <= start:
        check.add(
            "calibration.reference_end",
            f"is {end:%Y-%m-%d}, not after reference_start {start:%Y-%m-%d}",
        )
    return check.problems


def has_reference_period(settings: CalibrationConfig) -> bool:
    """Whether the settings fit the rates on a reference period rather than the whole record."""
    return settings.reference_start is not None or settings.reference_end is not None


def sets_rate_period(settings: CalibrationConfig) -> bool:
    """Whether the settings themselves choose which part of the record the rates rest on: a
    reference period, or the record weighted by age."""
    return (
        has_reference_period(settings) or settings.hazards.priors.record_half_life_years is not None
    )


def rate_period_settings(
    settings: CalibrationConfig,
    period: str,
    end: pd.Timestamp,
    *,
    recent_months: int | None = None,
    half_life_years: float | None = None,
) -> CalibrationConfig:
    """``settings`` fitting the rates as ``period`` says on a record ending at ``end``:
    unchanged for ``whole``; from :func:`recent_start` for ``recent`` (``recent_months``);
    with ``hazards.priors.record_half_life_years`` for ``weighted`` (``half_life_years``)."""
    if period == WHOLE:
        return settings
    if period == RECENT and recent_months is not None:
        return dataclasses.replace(settings, reference_start=recent_start(end, recent_months))
    if period == WEIGHTED and half_life_years is not None:
        priors = dataclasses.replace(
            settings.hazards.priors, record_half_life_years=float(half_life_years)
        )
        hazards = dataclasses.replace(settings.hazards, priors=priors)
        return dataclasses.replace(settings, hazards=hazards)
    raise ValueError(
        f"rate period {period!r} needs its setting (recent_months, half_life_years) and must "
        f"be one of {', '.join(RATE_PERIODS)}"
    )


def recent_start(end: pd.Timestamp, months: int) -> str:
    """The first day (YYYY-MM-DD) of the last ``months`` months up to ``end``: the
    ``reference_start`` of a recent period."""
    start = pd.Timestamp(end) - pd.DateOffset(months=int(months)) + pd.Timedelta(days=1)
    return f"{start:%Y-%m-%d}"


def reference_history(history: HistoryLike, settings: CalibrationConfig) -> HistoryLike:
    """``history`` clipped to the reference period (``history`` itself when none is set).

    Raises :class:`ConfigError` naming the setting when the period lies outside the record
    or is shorter than :data:`MIN_REFERENCE_MONTHS` months once clipped to it.
    """
    if not has_reference_period(settings):
        return history
    start, end = history.window_start, history.window_end
    if settings.reference_start is not None:
        start = max(start, pd.Timestamp(str(settings.reference_start)))
    if settings.reference_end is not None:
        end = min(end, pd.Timestamp(str(settings.reference_end)))
    months = (end - start).days / 30.4375
    if months < MIN_REFERENCE_MONTHS:
        raise ConfigError(
            "calibration.reference_start / reference_end: the reference period "
            f"{start:%d %B %Y} to {end:%d %B %Y} inside the record "
            f"({history.window_start:%d %B %Y} to {history.window_end:%d %B %Y}) is "
            f"{max(months, 0):.0f} months; the rates need at least {MIN_REFERENCE_MONTHS} "
            "months. Choose a longer period, or leave both unset to use the whole record."
        )
    if start == history.window_start and end == history.window_end:
        return history
    return ReferenceHistory(
        spells=history.spells,
        window_start=start,
        window_end=end,
        fingerprint=f"{history.fingerprint}|reference {start:%Y-%m-%d} {end:%Y-%m-%d}",
    )


def reference_label(history: HistoryLike, settings: CalibrationConfig) -> str | None:
    """The reference period in words ("1 April 2019 to 31 March 2022"), with the weighting
    by age when one is set; ``None`` when the rates are fitted on the whole record as it is."""
    seen = reference_history(history, settings)
    period = None
    if seen is not history:
        period = f"{seen.window_start:%-d %B %Y} to {seen.window_end:%-d %B %Y}"
    half_life = settings.hazards.priors.record_half_life_years
    if half_life is None:
        return period
    return f"{period or 'the whole record'}, {weighting_words(half_life)}"


def fit_hazards(history: HistoryLike, settings: CalibrationConfig) -> HazardModel:
    """The transition hazards fitted on the reference period, through the posterior cache."""
    cache = Path(settings.cache_dir).expanduser()
    return HazardModel(settings.hazards).fit(reference_history(history, settings), cache_dir=cache)
