"""In-house placement capacity: foster households, children's homes and Harbour outreach.

Plain dataclasses (the schema of ``configs/capacity/``). Times are calendar dates in config
and months from the projection start inside the engine.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from care_demand.checking import Checker, Problems
from care_demand.vocab import PLACEMENT_GROUPS

__all__ = [
    "REFERRAL_ROUTES",
    "SIZINGS",
    "CapacityConfig",
    "FamilyNetworkConfig",
    "FosteringConfig",
    "HarbourConfig",
    "HomeConfig",
    "MockingbirdConfig",
    "PlacementPolicy",
    "RecruitmentChange",
    "capacity_problems",
    "sized_to_caseload",
    "usable_places_per_household",
]


@dataclass
class RecruitmentChange:
    """A change to foster-carer recruitment from a date on (a marketing campaign, say).

    Multiplies the monthly enquiries and the share of enquiries going on to assessment from
    the month containing ``start``, reached linearly over ``ramp_months``.
    """

    start: str = "2022-04-01"
    enquiries_multiplier: float = 1.0
    conversion_multiplier: float = 1.0
    ramp_months: int = 0


@dataclass
class MockingbirdConfig:
    """Mockingbird constellations: a hub carer supporting a group of fostering households.

    Households in a constellation resign less often; the attrition multiplier is uncertain,
    drawn once per replicate from a log-normal (median, standard deviation of its log).
    """

    constellations: list[Any] = field(default_factory=list)  # [[date, number], ...] piecewise
    households_per_constellation: int = 10
    attrition_multiplier_median: float = 0.6
    attrition_multiplier_log_sd: float = 0.3


@dataclass
class FosteringConfig:
    """The pool of approved mainstream in-house fostering households.

    Recruitment is a pipeline: enquiries arrive (Poisson per month), a share goes on to a
    formal assessment, which ends after a lag in approval or withdrawal. Approved households
    resign or retire with a constant monthly probability.
    """

    households: int = 133
    places_per_household: list[float] = field(default_factory=lambda: [0.45, 0.40, 0.15])
    enquiries_per_month: float = 19.8
    enquiry_to_assessment: float = 0.12
    assessment_months: float = 6.0
    assessment_to_approval: float = 0.75
    annual_attrition: float = 0.12
    # Households that can take a child at once (not every approved place is usable:
    # matching, carers' breaks, sibling groups).
    usable_share: float = 0.9
    # Changes to recruitment from a date on, by name (scenarios add entries).
    recruitment: dict[str, RecruitmentChange] = field(default_factory=dict)
    mockingbird: MockingbirdConfig = field(default_factory=MockingbirdConfig)


@dataclass
class HomeConfig:
    """One in-house (or block-contracted) children's home."""

    name: str = "home"
    beds: int = 1
    opens: str = "2000-01-01"
    closes: str | None = None
    min_age: float = 10.0
    max_age: float = 18.0
    # Share of beds that can be filled at once (matching of young people in one home).
    max_occupancy: float = 1.0

    def open_at(self, day: pd.Timestamp) -> bool:
        """Whether the home is open on ``day``."""
        closes = pd.Timestamp(self.closes) if self.closes else None
        return pd.Timestamp(self.opens) <= day and (closes is None or closes > day)


# Routes into care (the engine's ENTRY_ROUTES) a Harbour referral can come from.
REFERRAL_ROUTES: tuple[str, ...] = ("planned", "emergency")


@dataclass
class HarbourConfig:
    """Harbour outreach (No Wrong Door model) for adolescents on the edge of care.

    A young person of ``min_age`` to ``max_age`` about to move into care (from assessment,
    CIN or CP, or arriving into care other than as an unaccompanied asylum seeker) by one
    of ``referral_routes`` is referred. With a free place they hold it for
    ``support_months``, and the move into care is averted with probability one minus the
    care-entry multiplier (the share who still move into care); with none, a planned move
    waits up to ``max_wait_months`` for a place (0: no waiting list) and then goes ahead.
    A young person placed in residential care is referred for step-down when the step-down
    multiplier's median is not 1: with a free place, their moves out of residential care
    are that much more likely, and go to a family placement, while they hold it.
    """

    caseload: list[Any] = field(default_factory=list)  # [[date, places], ...] piecewise
    min_age: float = 13.0
    max_age: float = 18.0
    support_months: float = 6.0
    # Share of referred young people with a place who still move into care (one minus the
    # share averted): log-normal (median, sd of log), drawn once per replicate, capped at 1.
    care_entry_multiplier_median: float = 0.6
    care_entry_multiplier_log_sd: float = 0.3
    # Multiplier on the hazard of moving out of residential care while supported.
    residential_step_down_multiplier_median: float = 1.5
    residential_step_down_multiplier_log_sd: float = 0.3
    # Routes into care that are referred (of REFERRAL_ROUTES); emergencies never wait.
    referral_routes: list[str] = field(default_factory=lambda: list(REFERRAL_ROUTES))
    # Longest wait for a place before a planned move into care goes ahead (0: no list).
    max_wait_months: float = 0.0

    def steps(self) -> list[tuple[pd.Timestamp, int]]:
        """The outreach schedule as ``(from, places)`` in date order."""
        return sorted((pd.Timestamp(date), int(places)) for date, places in self.caseload)


@dataclass
class FamilyNetworkConfig:
    """Family group decision-making: family network meetings before an entry to care.

    A child of any age about to move into care (from assessment, CIN or CP, or arriving into
    care other than as an unaccompanied asylum seeker) by one of ``routes`` is offered a
    family network meeting with probability ``offer_share``, while the month's meetings
    (``meetings``, a month, piecewise from a date; none: off) last. A family has at most
    one meeting held. A held meeting averts the move with probability one minus the
    care-entry multiplier (the share who still move into care); a child whose family held
    one enters care, when they do, with a kinship carer with probability ``kinship_share``.
    Both effects are uncertain, drawn once per replicate from log-normals (median, sd of
    the log; capped at 1).
    """

    meetings: list[Any] = field(default_factory=list)  # [[date, meetings a month], ...]
    offer_share: float = 0.0
    routes: list[str] = field(default_factory=lambda: ["planned"])
    care_entry_multiplier_median: float = 0.8
    care_entry_multiplier_log_sd: float = 0.15
    kinship_share_median: float = 0.2
    kinship_share_log_sd: float = 0.5


@dataclass
class PlacementPolicy:
    """How children are matched to placements when in-house places run out."""

    # A child placed externally for want of an in-house place moves back in-house when one
    # frees up, if they have been external for at most this many months (0 = never).
    step_back_within_months: float = 6.0
    # Commissioning rule: a child whose placement would be with an agency (IFA, external
    # residential) is placed in-house instead when an in-house place fits.
    inhouse_first: bool = True
    # Probability that an external placement is outside the council's area, by group.
    out_of_area: dict[str, float] = field(
        default_factory=lambda: {"ifa": 0.55, "external_residential": 0.8}
    )


@dataclass
class CapacityConfig:
    """All in-house capacity the simulation knows about."""

    fostering: FosteringConfig = field(default_factory=FosteringConfig)
    # Children's homes by name: a scenario adds a home, or changes one, by its name.
    homes: dict[str, HomeConfig] = field(default_factory=dict)
    harbour: HarbourConfig = field(default_factory=HarbourConfig)
    family_network: FamilyNetworkConfig = field(default_factory=FamilyNetworkConfig)
    policy: PlacementPolicy = field(default_factory=PlacementPolicy)
    # When false, in-house groups are unlimited (used by the expected-value check).
    enforce: bool = True
    # How the in-house capacity is set (SIZINGS): "configured" as above; "caseload" sized
    # to the council's own caseload at the start (sized_to_caseload); "auto" as configured
    # for the built-in example and sized to the caseload for a council's own data.
    sizing: str = "auto"

    def beds_open(self, date: pd.Timestamp) -> int:
        """Beds in the children's homes open on ``date``."""
        return sum(home.beds for home in self.homes.values() if home.open_at(date))


# The ways capacity can be set (CapacityConfig.sizing).
SIZINGS: tuple[str, ...] = ("auto", "configured", "caseload")


def usable_places_per_household(fostering: FosteringConfig) -> float:
    """Usable places an approved household offers on average (sizes and usable share)."""
    shares = list(fostering.places_per_household)
    mean = sum((i + 1) * share for i, share in enumerate(shares)) / sum(shares)
    return mean * fostering.usable_share


def sized_to_caseload(
    cap: CapacityConfig,
    *,
    inhouse_foster: int,
    inhouse_residential: int,
    start: pd.Timestamp,
    example: CapacityConfig | None = None,
) -> CapacityConfig:
    """``cap`` with the in-house service it had at ``start`` sized to the caseload then.

    For a council whose own capacity is not configured: the shipped figures are the built-in
    example's, and another council's places would move its children between in-house and
    agency placements for no reason of its own. Sized, the service is full at the start:

    - fostering: as many households as give ``inhouse_foster`` usable places on average,
      with enquiries scaled in proportion (recruitment and attrition per household as
      configured);
    - homes open at ``start``: their beds scaled to ``inhouse_residential`` in all (by their
      configured shares); homes that open later (a scenario's) as configured;
    - Harbour outreach: places dated before ``start`` dropped (a council's own service is
      in its record), later steps (a scenario's) kept.

    With ``example`` (the shipped capacity), only the parts still holding its figures are
    sized: fostering households and enquiries, each home's beds, and the outreach: the
    example's steps are dropped whenever dated (a run or a backtest starting before the
    example's service began would otherwise gain it), a scenario's steps after them kept; a
    schedule that does not begin with the example's is the council's and kept whole.
    Scenario changes from ``start`` on (recruitment multipliers, Mockingbird, new homes,
    outreach) apply on top.
    """

    def is_example(part: Callable[[CapacityConfig], object]) -> bool:
        return example is None or part(cap) == part(example)

    f = cap.fostering
    fostering = f
    if is_example(lambda c: (c.fostering.households, c.fostering.enquiries_per_month)):
        per_household = usable_places_per_household(f)
        households = math.ceil(inhouse_foster / per_household - 1e-9) if inhouse_foster else 0
        scale = households / f.households if f.households > 0 else 0.0
        fostering = dataclasses.replace(
            f, households=households, enquiries_per_month=f.enquiries_per_month * scale
        )

    existing = {name: home for name, home in cap.homes.items() if home.open_at(start)}
    examples = {
        name: home
        for name, home in existing.items()
        if example is None or (name in example.homes and example.homes[name].beds == home.beds)
    }
    kept_beds = sum(home.beds for name, home in existing.items() if name not in examples)
    to_give = max(inhouse_residential - kept_beds, 0)
    configured_beds = sum(home.beds for home in examples.values())
    homes = dict(cap.homes)
    given = 0
    for i, (name, home) in enumerate(examples.items()):
        if i == len(examples) - 1:  # the last takes what rounding left over
            beds = to_give - given
        elif configured_beds > 0:
            beds = round(to_give * home.beds / configured_beds)
        else:
            beds = 0
        beds = max(int(beds), 0)
        given += beds
        homes[name] = dataclasses.replace(home, beds=beds)

    steps = [list(step) for step in cap.harbour.caseload]
    if example is None:  # every part sized: the outreach before the start is not known
        kept = [step for step in steps if pd.Timestamp(step[0]) >= start]
    else:  # the example's steps, whenever dated, are its service, not the council's
        shipped = [list(step) for step in example.harbour.caseload]
        kept = steps[len(shipped) :] if steps[: len(shipped)] == shipped else steps
    harbour = dataclasses.replace(cap.harbour, caseload=kept)
    return dataclasses.replace(
        cap, fostering=fostering, homes=homes, harbour=harbour, sizing="configured"
    )


def _routes(check: Checker, base: str, routes: list[str]) -> None:
    for i, route in enumerate(routes):
        check.member(f"{base}[{i}]", route, REFERRAL_ROUTES, "entry routes")


def _family_network_problems(check: Checker, net: FamilyNetworkConfig) -> None:
    base = "capacity.family_network"
    check.steps(f"{base}.meetings", net.meetings, "meetings")
    check.probability(f"{base}.offer_share", net.offer_share)
    _routes(check, f"{base}.routes", net.routes)
    for name in ("care_entry_multiplier", "kinship_share"):
        check.number(f"{base}.{name}_median", getattr(net, f"{name}_median"), 0.0, low_open=True)
        check.number(f"{base}.{name}_log_sd", getattr(net, f"{name}_log_sd"), 0.0)


def capacity_problems(cap: CapacityConfig) -> Problems:
    """Every problem in the capacity settings, as ``(field, message)`` pairs."""
    check = Checker()
    check.member("capacity.sizing", cap.sizing, SIZINGS, "sizings")
    f = cap.fostering
    check.number("capacity.fostering.households", f.households, 0)
    shares = list(f.places_per_household)
    for i, share in enumerate(shares):
        check.probability(f"capacity.fostering.places_per_household[{i}]", share)
    if not shares or sum(shares) <= 0:
        check.add("capacity.fostering.places_per_household", "must have a positive share")
    check.number("capacity.fostering.enquiries_per_month", f.enquiries_per_month, 0.0)
    for name in (
        "enquiry_to_assessment",
        "assessment_to_approval",
        "annual_attrition",
        "usable_share",
    ):
        check.probability(f"capacity.fostering.{name}", getattr(f, name))
    check.number("capacity.fostering.assessment_months", f.assessment_months, 0.0)
    for key, change in f.recruitment.items():
        base = f"capacity.fostering.recruitment.{key}"
        check.date(f"{base}.start", change.start)
        check.number(f"{base}.enquiries_multiplier", change.enquiries_multiplier, 0.0)
        check.number(f"{base}.conversion_multiplier", change.conversion_multiplier, 0.0)
        check.number(f"{base}.ramp_months", change.ramp_months, 0)
    mb = f.mockingbird
    check.steps(
        "capacity.fostering.mockingbird.constellations", mb.constellations, "constellations"
    )
    check.number(
        "capacity.fostering.mockingbird.households_per_constellation",
        mb.households_per_constellation,
        0,
    )
    check.number(
        "capacity.fostering.mockingbird.attrition_multiplier_median",
        mb.attrition_multiplier_median,
        0.0,
        low_open=True,
    )
    check.number(
        "capacity.fostering.mockingbird.attrition_multiplier_log_sd",
        mb.attrition_multiplier_log_sd,
        0.0,
    )
    for key, home in cap.homes.items():
        base = f"capacity.homes.{key}"
        check.number(f"{base}.beds", home.beds, 0)
        check.probability(f"{base}.max_occupancy", home.max_occupancy)
        opens = check.date(f"{base}.opens", home.opens)
        if home.closes is not None:
            closes = check.date(f"{base}.closes", home.closes)
            if opens is not None and closes is not None and closes <= opens:
                check.add(f"{base}.closes", f"is {home.closes}, not after opens ({home.opens})")
        if home.min_age >= home.max_age:
            check.add(f"{base}.min_age", f"{home.min_age} is not below max_age {home.max_age}")
    h = cap.harbour
    check.steps("capacity.harbour.caseload", h.caseload, "places")
    if h.min_age >= h.max_age:
        check.add("capacity.harbour.min_age", f"{h.min_age} is not below max_age {h.max_age}")
    check.number("capacity.harbour.support_months", h.support_months, 0.0, low_open=True)
    for name in ("care_entry_multiplier", "residential_step_down_multiplier"):
        check.number(
            f"capacity.harbour.{name}_median", getattr(h, f"{name}_median"), 0.0, low_open=True
        )
        check.number(f"capacity.harbour.{name}_log_sd", getattr(h, f"{name}_log_sd"), 0.0)
    _routes(check, "capacity.harbour.referral_routes", h.referral_routes)
    check.number("capacity.harbour.max_wait_months", h.max_wait_months, 0.0)
    _family_network_problems(check, cap.family_network)
    check.number("capacity.policy.step_back_within_months", cap.policy.step_back_within_months, 0.0)
    for group, p in cap.policy.out_of_area.items():
        check.member(
            f"capacity.policy.out_of_area.{group}", group, PLACEMENT_GROUPS, "placement groups"
        )
        check.probability(f"capacity.policy.out_of_area.{group}", p)
    return check.problems
