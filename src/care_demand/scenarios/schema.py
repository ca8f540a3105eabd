"""The schema of a scenario file (``scenarios/*.yaml``): its name, story and levers.

A scenario file is a Hydra config with ``# @package _global_``: besides the ``scenario``
block described here it may override any other value of the run (``capacity``, ``costs``),
and only what changes. Levers are keyed by name so that a combined scenario (such as
``transformation``) merges the levers of the scenarios it builds on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ArrivalLeverConfig",
    "EntryLeverConfig",
    "HazardLeverConfig",
    "ScenarioConfig",
    "UascArrivalsConfig",
]


@dataclass
class ArrivalLeverConfig:
    """Multiply one kind of arrival (``referral``, ``early_help_request``, ``care_entry``,
    ``care_entry_uasc``: the last only when the returns hold UASC information)."""

    kind: str = "referral"
    multiplier: float = 1.0
    start: str = "2022-04-01"
    ramp_months: int = 0
    source: str = ""


@dataclass
class HazardLeverConfig:
    """Multiply the hazard of one transition (see :class:`~care_demand.calibration.HazardLever`)."""

    state: str = "cin"
    destination: str = "care"
    multiplier: float = 1.0
    start: str = "2022-04-01"
    group: str | None = None
    age_bands: list[str] = field(default_factory=list)
    ramp_months: int = 0
    # Uncertainty in the effect: each replicate draws its multiplier from a log-normal with
    # median ``multiplier`` and this standard deviation of its log (0: known exactly).
    multiplier_log_sd: float = 0.0
    source: str = ""


@dataclass
class EntryLeverConfig:
    """Reweight the placement group children enter care in (kinship first, say)."""

    group: str = "kinship_foster"
    multiplier: float = 1.0
    start: str = "2022-04-01"
    age_bands: list[str] = field(default_factory=list)
    ramp_months: int = 0
    source: str = ""


@dataclass
class UascArrivalsConfig:
    """Entries to care of unaccompanied asylum-seeking children at a fixed level.

    From ``start`` the fitted UASC series is replaced by ``per_month`` expected arrivals a
    month (a National Transfer Scheme quota, say); each month's number is a Poisson draw with
    that mean. Needs returns with UASC information.
    """

    per_month: float = 0.0
    start: str = "2022-04-01"
    source: str = ""


@dataclass
class ScenarioConfig:
    """One what-if: a name, what it assumes in plain English, and its levers."""

    name: str = "baseline"
    title: str = "Baseline: today's capacity and trends"
    description: str = ""
    arrival_levers: dict[str, ArrivalLeverConfig] = field(default_factory=dict)
    hazard_levers: dict[str, HazardLeverConfig] = field(default_factory=dict)
    entry_levers: dict[str, EntryLeverConfig] = field(default_factory=dict)
    uasc_arrivals: UascArrivalsConfig | None = None
