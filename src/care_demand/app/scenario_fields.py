"""The Scenarios page's form as plain data: which settings it shows, grouped and labelled.

Every form field is named by the dotted key of the setting it edits
(``capacity.homes.harbour_hub.beds``), the same key the command line's validation names in
its messages, so a problem finds its field without a second map. Tables edit settings keyed
by name (levers, homes, fixed costs); schedules edit ``[[date, value], ...]`` lists, whose
rows are keyed ``path[i][0]`` and ``path[i][1]`` as the validation names them. A ``source``
field under ``capacity`` has no setting of its own: it is written as a comment above the
entry, as the shipped files cite their sources.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from care_demand import vocab
from care_demand.calibration.arrival_settings import ARRIVAL_KINDS
from care_demand.calibration.hazard_exposure import FULL_INDEX, TRANSITIONS
from care_demand.finance.schema import (
    ACTIVITY_BASES,
    ACTIVITY_FLOWS,
    ActivityCost,
    CostConfig,
    FixedCost,
    IncomeLine,
)
from care_demand.scenarios import ArrivalLeverConfig, EntryLeverConfig, HazardLeverConfig
from care_demand.simulation.capacity import HomeConfig, RecruitmentChange

__all__ = ["SECTIONS", "Field", "Schedule", "Section", "Table", "all_tables"]

_STATES = tuple(TRANSITIONS)
_DESTINATIONS = tuple(dict.fromkeys(d for moves in TRANSITIONS.values() for d in moves))
_INFLATION_LINES = tuple(CostConfig().inflation)
_ACTIVITY_CATEGORIES = (*ACTIVITY_FLOWS, *vocab.PLACEMENT_GROUPS)


@dataclass(frozen=True)
class Field:
    """One input. ``key``: the full dotted key for a single setting, or the key under each
    row for a table's field. ``kind``: ``number``, ``int``, ``text``, ``longtext``, ``date``,
    ``optional_date``, ``select``, ``optional_select`` (empty means none), ``optional_number``
    (empty means 0: none), ``bands`` (age bands), ``amounts`` (numbers separated by commas),
    ``year_amounts`` (amounts by financial year, ``2025/26: 1400000, 2026/27: 1400000``) or
    ``toggle`` (a block set or not)."""

    key: str
    label: str
    kind: str = "number"
    choices: tuple[str, ...] = ()
    help: str = ""


@dataclass(frozen=True)
class Table:
    """Settings keyed by name (``path.NAME.field``); ``fixed``: rows cannot be added or
    removed; ``prefix``: the name a new row gets (``prefix_1``, ...)."""

    path: str
    title: str
    fields: tuple[Field, ...]
    prefix: str = "row"
    defaults: dict[str, Any] | None = None
    fixed: bool = False
    note: str = ""


@dataclass(frozen=True)
class Schedule:
    """A ``[[date, value], ...]`` list, one row a step, with a source for the whole list."""

    path: str
    title: str
    value_label: str
    kind: str = "int"
    note: str = ""


@dataclass(frozen=True)
class Section:
    """A group of the form, as a commissioner thinks of it."""

    title: str
    intro: str
    items: tuple[Field | Table | Schedule, ...]


_START = Field("start", "From", "date")
_RAMP = Field("ramp_months", "Reached over (months)", "int")
_SOURCE = Field("source", "Source", "text", help="where the number comes from")
_INFLATION = Field("inflation", "Inflation line", "select", _INFLATION_LINES)
_PRICE_YEAR = Field("price_year", "Price year (empty: the default)", "text")
_BANDS = Field(
    "age_bands", "Age bands (none: all ages)", "bands", FULL_INDEX.age_bands, "children's ages"
)

SECTIONS: tuple[Section, ...] = (
    Section(
        "The scenario",
        "Its file name (lower case letters, digits and _), its title and what it assumes.",
        (
            Field("scenario.name", "File name", "text"),
            Field("scenario.title", "Title", "text"),
            Field("scenario.description", "What it assumes, in plain English", "longtext"),
        ),
    ),
    Section(
        "Arrivals",
        "Multiply referrals, early-help requests or entries to care from a date on "
        "(1.2 = 20% more), reached over a ramp.",
        (
            Table(
                "scenario.arrival_levers",
                "Arrival changes",
                (
                    Field("kind", "Kind of arrival", "select", ARRIVAL_KINDS),
                    Field("multiplier", "Multiplier"),
                    _START,
                    _RAMP,
                    _SOURCE,
                ),
                "arrivals",
                asdict(ArrivalLeverConfig()),
            ),
            Field("scenario.uasc_arrivals", "Set UASC arrivals at a fixed level", "toggle"),
            Field("scenario.uasc_arrivals.per_month", "UASC entering care a month (expected)"),
            Field("scenario.uasc_arrivals.start", "UASC level from", "date"),
            Field("scenario.uasc_arrivals.source", "UASC source", "text"),
        ),
    ),
    Section(
        "Transition rates",
        "Multiply how often children move from one service to the next (0.9 = 10% less "
        "often), for a placement group and ages, from a date on.",
        (
            Table(
                "scenario.hazard_levers",
                "Transition changes",
                (
                    Field("state", "From (service)", "select", _STATES),
                    Field("destination", "To", "select", _DESTINATIONS),
                    Field(
                        "group",
                        "Placement group (none: all)",
                        "optional_select",
                        vocab.PLACEMENT_GROUPS,
                    ),
                    _BANDS,
                    Field("multiplier", "Multiplier"),
                    Field(
                        "multiplier_log_sd",
                        "Uncertainty (sd of log; empty: none)",
                        "optional_number",
                        help="the multiplier is drawn once per future from a log-normal "
                        "with this spread: 0.15 gives an 80% range of about x0.83 to x1.21",
                    ),
                    _START,
                    _RAMP,
                    _SOURCE,
                ),
                "transition",
                asdict(HazardLeverConfig()),
            ),
        ),
    ),
    Section(
        "Placement preferences",
        "Make a placement group more (above 1) or less (below 1) likely for children "
        "entering care: kinship first, say, or in-house before agency foster care.",
        (
            Table(
                "scenario.entry_levers",
                "Preferences at entry to care",
                (
                    Field("group", "Placement group", "select", vocab.PLACEMENT_GROUPS),
                    Field("multiplier", "Weight"),
                    _BANDS,
                    _START,
                    _RAMP,
                    _SOURCE,
                ),
                "preference",
                asdict(EntryLeverConfig()),
            ),
        ),
    ),
    Section(
        "Capacity",
        "In-house foster carers, Mockingbird, children's homes, Harbour outreach and family "
        "network meetings.",
        (
            Table(
                "capacity.fostering.recruitment",
                "Foster carer recruitment",
                (
                    _START,
                    Field("enquiries_multiplier", "Enquiries multiplier (1.3 = 30% more)"),
                    Field("conversion_multiplier", "Enquiries to assessment multiplier"),
                    _RAMP,
                    _SOURCE,
                ),
                "campaign",
                asdict(RecruitmentChange()),
            ),
            Schedule(
                "capacity.fostering.mockingbird.constellations",
                "Mockingbird constellations",
                "Constellations",
                note="from each date on",
            ),
            Field(
                "capacity.fostering.mockingbird.attrition_multiplier_median",
                "Resignations of households in a constellation (multiplier, median)",
            ),
            Table(
                "capacity.homes",
                "Children's homes",
                (
                    Field("name", "Name", "text"),
                    Field("beds", "Beds", "int"),
                    Field("opens", "Opens", "date"),
                    Field("closes", "Closes (empty: stays open)", "optional_date"),
                    Field("min_age", "Youngest age"),
                    Field("max_age", "Oldest age (below)"),
                    Field("max_occupancy", "Share of beds fillable at once"),
                    _SOURCE,
                ),
                "home",
                asdict(HomeConfig()),
                note="A home the baseline has cannot be removed: set its beds to 0.",
            ),
            Schedule(
                "capacity.harbour.caseload",
                "Harbour outreach caseload",
                "Young people supported",
                note="from each date on",
            ),
            Field(
                "capacity.harbour.care_entry_multiplier_median",
                "Harbour: share of referred young people who still enter care (median)",
            ),
            Field(
                "capacity.harbour.support_months",
                "Harbour: months a young person holds an outreach place",
            ),
            Field(
                "capacity.harbour.max_wait_months",
                "Harbour: longest wait for a place before a planned move into care (months; "
                "0: no waiting list)",
            ),
            Field(
                "capacity.harbour.residential_step_down_multiplier_median",
                "Harbour: step-down from residential care (multiplier, median)",
            ),
            Schedule(
                "capacity.family_network.meetings",
                "Family network meetings",
                "Meetings a month",
                note="meetings the council can hold a month, from each date on (none: no "
                "meetings); offered before a planned entry to care",
            ),
            Field(
                "capacity.family_network.offer_share",
                "Family network meetings: share of families about to enter care offered one "
                "(0 to 1)",
            ),
            Field(
                "capacity.family_network.care_entry_multiplier_median",
                "Family network meetings: share of children whose family held one who still "
                "enter care (median)",
            ),
            Field(
                "capacity.family_network.kinship_share_median",
                "Family network meetings: share of those entering care placed with kinship "
                "carers the network found (median)",
            ),
        ),
    ),
    Section(
        "Costs",
        "Weekly unit costs, inflation, fixed costs of new services, costs per meeting or per "
        "kinship child, income such as grants and the savings target.",
        (
            Table(
                "costs.placements",
                "Weekly unit costs by placement group",
                (
                    Field("weekly", "£ a week"),
                    _PRICE_YEAR,
                    _SOURCE,
                ),
                fixed=True,
            ),
            *(
                f
                for line in _INFLATION_LINES
                for f in (
                    Field(f"costs.inflation.{line}", f"Inflation a year: {line} (0.03 = 3%)"),
                    Field(f"costs.inflation_sources.{line}", f"Source ({line})", "text"),
                )
            ),
            Table(
                "costs.fixed",
                "Fixed costs",
                (
                    Field("annual", "£ a year"),
                    Field("capital", "£ one-off"),
                    _START,
                    Field("end", "Ends (empty: runs on)", "optional_date"),
                    _INFLATION,
                    _PRICE_YEAR,
                    _SOURCE,
                ),
                "cost",
                asdict(FixedCost()),
                note="A cost the baseline has cannot be removed: set it to 0.",
            ),
            Table(
                "costs.activity",
                "Costs per meeting or per kinship child",
                (
                    Field("unit", "£ a unit"),
                    Field(
                        "basis",
                        "Charged per (flow: each one in a month; placement_year: each child "
                        "placed a year)",
                        "select",
                        ACTIVITY_BASES,
                    ),
                    Field(
                        "category",
                        "What is counted (a flow such as family_network:meetings, or a "
                        "placement group)",
                        "select",
                        _ACTIVITY_CATEGORIES,
                    ),
                    Field("start", "From (empty: the projection start)", "optional_date"),
                    _INFLATION,
                    _PRICE_YEAR,
                    _SOURCE,
                ),
                "activity",
                asdict(ActivityCost()),
            ),
            Table(
                "costs.income",
                "Income such as the Prevention Grant",
                (
                    Field(
                        "by_year",
                        "£ by financial year (e.g. 2025/26: 1400000, 2026/27: 1400000)",
                        "year_amounts",
                    ),
                    _SOURCE,
                ),
                "income",
                asdict(IncomeLine()),
                note="Income lowers the cost: each year's amount is spread over its months.",
            ),
            Field("costs.savings_target.start_year", "Savings target from (e.g. 2022/23)", "text"),
            Field(
                "costs.savings_target.annual",
                "Savings target a year (£, comma-separated)",
                "amounts",
            ),
            Field("costs.savings_target.source", "Savings target source", "text"),
        ),
    ),
)


def all_tables() -> list[Table]:
    """Every table of the form."""
    return [item for s in SECTIONS for item in s.items if isinstance(item, Table)]
