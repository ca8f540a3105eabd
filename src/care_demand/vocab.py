"""The vocabulary of the care system: states, placement groups, age and duration bands.

Every module speaks these names. They are plain constants so that configuration files,
tables and charts agree on spelling; nothing here holds a number that a council might
want to change (those live in ``configs/``).
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ADOPTION",
    "AGE_18",
    "AGE_BANDS",
    "AGE_BAND_NAMES",
    "ASSESSMENT",
    "CARE",
    "CARE_EXITS",
    "CARE_EXIT_OTHER",
    "CARE_LEAVER",
    "CIN",
    "CLOSED",
    "CP",
    "DAYS_PER_MONTH",
    "DAYS_PER_YEAR",
    "DURATION_BANDS",
    "DURATION_BAND_NAMES",
    "EARLY_HELP",
    "EXTERNAL_EQUIVALENT",
    "EXTERNAL_RESIDENTIAL",
    "FOSTER_GROUPS",
    "IFA",
    "INHOUSE_FOSTER",
    "INHOUSE_RESIDENTIAL",
    "KINSHIP_FOSTER",
    "MODE_TITLES",
    "MOVE",
    "NONE",
    "PLACED_FOR_ADOPTION",
    "PLACED_WITH_PARENTS",
    "PLACEMENT_GROUPS",
    "RESIDENTIAL_GROUPS",
    "RETURN_HOME",
    "SECURE_OTHER",
    "SGO_CAO",
    "STATES",
    "STATE_PRIORITY",
    "SUPPORTED_16PLUS",
    "TRANSITIONS",
    "age_band",
    "duration_band",
    "is_modelled_move",
    "weighting_words",
]

# States of the continuum, in priority order: when a child is recorded in two services at
# once (for example an open CIN episode while in care) the earlier state in this tuple wins.
CARE: Final = "care"
CP: Final = "cp"
CIN: Final = "cin"
ASSESSMENT: Final = "assessment"
EARLY_HELP: Final = "early_help"
CARE_LEAVER: Final = "care_leaver"

STATE_PRIORITY: Final[tuple[str, ...]] = (CARE, CP, CIN, ASSESSMENT, EARLY_HELP)
STATES: Final[tuple[str, ...]] = (EARLY_HELP, ASSESSMENT, CIN, CP, CARE, CARE_LEAVER)
# Outside every service (before a first arrival, after a closure).
NONE: Final = "none"

# What a run models: the whole continuum (the CIN census and/or early help beside the
# SSDA903 return) or children in care alone (the SSDA903 return alone), as outputs name it.
MODE_TITLES: Final[dict[str, str]] = {
    "continuum": "whole continuum",
    "care_only": "care only (SSDA903 alone)",
}

# Placement groups a commissioner plans for (SSDA903 PLACE and PLACE_PROVIDER codes
# [SSDA903 guidance]; the cost lines of [Social Finance regional demand model]).
KINSHIP_FOSTER: Final = "kinship_foster"
INHOUSE_FOSTER: Final = "inhouse_foster"
IFA: Final = "ifa"
INHOUSE_RESIDENTIAL: Final = "inhouse_residential"
EXTERNAL_RESIDENTIAL: Final = "external_residential"
SUPPORTED_16PLUS: Final = "supported_16plus"
PLACED_WITH_PARENTS: Final = "placed_with_parents"
PLACED_FOR_ADOPTION: Final = "placed_for_adoption"
SECURE_OTHER: Final = "secure_other"

PLACEMENT_GROUPS: Final[tuple[str, ...]] = (
    KINSHIP_FOSTER,
    INHOUSE_FOSTER,
    IFA,
    INHOUSE_RESIDENTIAL,
    EXTERNAL_RESIDENTIAL,
    SUPPORTED_16PLUS,
    PLACED_WITH_PARENTS,
    PLACED_FOR_ADOPTION,
    SECURE_OTHER,
)
FOSTER_GROUPS: Final[tuple[str, ...]] = (KINSHIP_FOSTER, INHOUSE_FOSTER, IFA)
RESIDENTIAL_GROUPS: Final[tuple[str, ...]] = (INHOUSE_RESIDENTIAL, EXTERNAL_RESIDENTIAL)
# In-house group -> the external group a child is placed in when in-house is full.
EXTERNAL_EQUIVALENT: Final[dict[str, str]] = {
    INHOUSE_FOSTER: IFA,
    INHOUSE_RESIDENTIAL: EXTERNAL_RESIDENTIAL,
}

# Reasons a period of care ends (grouped SSDA903 REC codes; see configs/mappings/exit_reasons.yaml).
RETURN_HOME: Final = "return_home"
SGO_CAO: Final = "sgo_cao"
ADOPTION: Final = "adoption"
AGE_18: Final = "age_18"
CARE_EXIT_OTHER: Final = "care_exit_other"
CARE_EXITS: Final[tuple[str, ...]] = (RETURN_HOME, SGO_CAO, ADOPTION, AGE_18, CARE_EXIT_OTHER)

# Reason a spell outside care ends with no onward service.
CLOSED: Final = "closed"

# A move between placements within a period of care.
MOVE: Final = "move"

# The moves the model follows from each state (competing risks). A recorded move outside
# these (for example a new referral while on a CP plan) is a closure followed by a new
# arrival from outside services.
TRANSITIONS: Final[dict[str, tuple[str, ...]]] = {
    EARLY_HELP: (ASSESSMENT, CLOSED),
    ASSESSMENT: (CIN, CP, EARLY_HELP, CARE, CLOSED),
    CIN: (CP, EARLY_HELP, CARE, CLOSED),
    CP: (CIN, EARLY_HELP, CARE, CLOSED),
    CARE: (MOVE, RETURN_HOME, SGO_CAO, ADOPTION, CARE_EXIT_OTHER),
}


def is_modelled_move(origin: str, target: str) -> bool:
    """Whether the model follows a move from state ``origin`` to state ``target``."""
    return target in TRANSITIONS.get(origin, ())


# Age bands (years, lower bound inclusive, upper exclusive) used for hazards and reporting.
AGE_BANDS: Final[tuple[tuple[str, float, float], ...]] = (
    ("under_1", 0.0, 1.0),
    ("1_4", 1.0, 5.0),
    ("5_9", 5.0, 10.0),
    ("10_15", 10.0, 16.0),
    ("16_17", 16.0, 18.0),
    ("18_plus", 18.0, 26.0),
)
AGE_BAND_NAMES: Final[tuple[str, ...]] = tuple(name for name, _, _ in AGE_BANDS)

# Duration-in-state bands (months, lower inclusive) for piecewise-constant hazards.
DURATION_BANDS: Final[tuple[tuple[str, float, float], ...]] = (
    ("0_3m", 0.0, 3.0),
    ("3_6m", 3.0, 6.0),
    ("6_12m", 6.0, 12.0),
    ("12_24m", 12.0, 24.0),
    ("24m_plus", 24.0, float("inf")),
)
DURATION_BAND_NAMES: Final[tuple[str, ...]] = tuple(name for name, _, _ in DURATION_BANDS)

DAYS_PER_YEAR: Final = 365.25
DAYS_PER_MONTH: Final = DAYS_PER_YEAR / 12.0


def age_band(age_years: float) -> str:
    """Return the name of the age band containing ``age_years``.

    Raises ``ValueError`` for a negative age or an age past the last band.
    """
    for name, low, high in AGE_BANDS:
        if low <= age_years < high:
            return name
    raise ValueError(f"age {age_years!r} years is outside every age band (0 to 26)")


def duration_band(months: float) -> str:
    """Return the name of the duration band containing ``months`` spent in a state."""
    if months < 0:
        raise ValueError(f"duration {months!r} months is negative")
    for name, low, high in DURATION_BANDS:
        if low <= months < high:
            return name
    raise AssertionError("unreachable: the last duration band is unbounded")


def weighting_words(half_life_years: float) -> str:
    """The record weighted by age in words: "each year weighted half as much every 2 years
    back" ("... every year back" at a half-life of one year)."""
    years = float(half_life_years)
    every = "every year" if years == 1.0 else f"every {years:g} years"
    return f"each year weighted half as much {every} back"
