"""The schema of ``configs/costs/``: unit costs, fixed costs, inflation, discounting, target.

Plain dataclasses whose defaults mirror ``configs/costs/default.yaml`` (the YAML is where the
numbers and their sources live; the defaults let Hydra type-check every field and let tests
build a configuration without Hydra). :func:`validate_costs` checks a configuration before
anything is costed and raises one :class:`~care_demand.errors.ConfigError` listing every
problem, each naming the field and the file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import pandas as pd

from care_demand import vocab
from care_demand.errors import ConfigError

__all__ = [
    "ACTIVITY_BASES",
    "ACTIVITY_FLOWS",
    "BASES",
    "CASEWORK_STATES",
    "ActivityCost",
    "CostConfig",
    "FixedCost",
    "IncomeLine",
    "PlacementCost",
    "PriceTail",
    "SavingsTarget",
    "fixed_cost_title",
    "fixed_cost_titles",
    "fy_start_year",
    "validate_costs",
]

# How a placement group's weekly cost is applied: to the child-days placed in the group, or
# to the in-house places available (filled or not) in the month.
BASES: tuple[str, ...] = ("placement_days", "capacity")
# Groups for which the replicate table records in-house capacity.
_CAPACITY_GROUPS: tuple[str, ...] = (vocab.INHOUSE_FOSTER, vocab.INHOUSE_RESIDENTIAL)
# States whose children can carry a weekly casework cost (``care`` is optional).
CASEWORK_STATES: tuple[str, ...] = (
    vocab.EARLY_HELP,
    vocab.ASSESSMENT,
    vocab.CIN,
    vocab.CP,
    vocab.CARE,
    vocab.CARE_LEAVER,
    "care_leaver_21_plus",  # care leavers past 21 still supported by a personal adviser
)
# How an activity cost is charged: per move of a flow the projection counts in the month, or
# per child-year placed in a placement group (child-days / 365.25).
ACTIVITY_BASES: tuple[str, ...] = ("flow", "placement_year")
# Flows of the replicate table an activity cost can be charged per (the flow model's names):
# family network meetings held, entries to care they averted, entries with a kinship carer
# the network found, every entry to care with kinship carers, every entry to care.
ACTIVITY_FLOWS: tuple[str, ...] = (
    "family_network:meetings",
    "family_network:averted",
    "family_network:kinship",
    "entries_to_kinship_care",
    "entry_to_care",
)
# An annual rate above this is taken for a percentage typed as a whole number (3 for 3%).
_MAX_ANNUAL_RATE = 1.0
_FY_PATTERN = re.compile(r"^(\d{4})/(\d{2})$")

DEFAULT_FILE = "configs/costs/default.yaml"


@dataclass
class PlacementCost:
    """The weekly cost of one placement group.

    Attributes:
        weekly: cost per child per week (``basis: placement_days``) or per in-house place
            per week (``basis: capacity``), in the prices of ``price_year``.
        price_year: financial year of the price (``"2020/21"``); ``None`` means the
            configuration's ``price_year``.
        inflation: the line of ``CostConfig.inflation`` that uprates it.
        basis: ``placement_days`` (child-days in the group) or ``capacity`` (in-house places
            available, filled or not: the running cost of a home does not fall when a bed
            is empty).
        source: where the number comes from.
    """

    weekly: float = 0.0
    price_year: str | None = None
    inflation: str = "placements_external"
    basis: str = "placement_days"
    source: str = ""


@dataclass
class PriceTail:
    """Uncertainty in one group's mean weekly price, drawn once per replicate.

    The mean price is multiplied by a log-normal factor with mean 1 and log-scale standard
    deviation ``log_sd``: ``exp(log_sd * Z - log_sd**2 / 2)``. The factor is drawn from a
    stream seeded by the run seed and the replicate number only, so one replicate gets the
    same draw in every scenario (paired savings). ``log_sd: 0`` switches it off.
    """

    group: str = vocab.EXTERNAL_RESIDENTIAL
    log_sd: float = 0.15
    source: str = (
        "assumption: a few high-cost placements (1,510 at £10,000+ a week in 2022/23 "
        "[LGA high-cost placements survey 2023]) more or fewer among ~57 external residential "
        "placements (Dorset, Nov 2020 [Dorset Echo Dec 2020]) move the mean price by several "
        "per cent each"
    )


@dataclass
class FixedCost:
    """A cost that does not depend on the number of children (a team, a home, a campaign).

    Attributes:
        annual: running cost a year, pro-rated by the days it runs in each month.
        capital: one-off cost, counted in the month ``start`` falls in (a start before the
            projection is a sunk cost and is not counted).
        start: first day it runs (``YYYY-MM-DD``).
        end: first day it no longer runs; ``None`` means it runs to the end of the projection.
        inflation: the line of ``CostConfig.inflation`` that uprates it.
        price_year: financial year of the prices; ``None`` means the configuration's.
        source: where the numbers come from.
        title: its name in plain words on the report, the workbook and the charts
            ("Harbour outreach team"); ``None`` writes out the key ("Harbour team").
    """

    annual: float = 0.0
    capital: float = 0.0
    start: str = "2022-04-01"
    end: str | None = None
    inflation: str = "staff"
    price_year: str | None = None
    source: str = ""
    title: str | None = None

    def label(self, key: str) -> str:
        """Its title, or its key with underscores as spaces, capitalised."""
        return fixed_cost_title(key, self.title)


class _Titled:
    """A budget line with an optional plain title (``title``)."""

    title: str | None

    def label(self, key: str) -> str:
        """Its title, or its key in words."""
        return fixed_cost_title(key, self.title)


@dataclass
class ActivityCost(_Titled):
    """A cost per unit of something the projection counts (a family network meeting held, a
    child placed with kinship carers for a year).

    Attributes:
        unit: cost per unit, in the prices of ``price_year``.
        basis: ``flow`` (per move of the flow ``category`` in the month, one of
            :data:`ACTIVITY_FLOWS`) or ``placement_year`` (per child-year placed in the
            placement group ``category``).
        category: the flow or placement group charged for.
        start: first day it is charged (``YYYY-MM-DD``; months ending before it cost
            nothing); ``None`` means from the projection start.
        inflation, price_year, source, title: as for :class:`FixedCost`.
    """

    unit: float = 0.0
    basis: str = "flow"
    category: str = "family_network:meetings"
    start: str | None = None
    inflation: str = "staff"
    price_year: str | None = None
    source: str = ""
    title: str | None = None


@dataclass
class IncomeLine(_Titled):
    """Income that offsets the cost (a grant), by financial year, in cash.

    Each year's amount is spread evenly over its twelve months and counted as a negative
    cost (kind ``income``), so a whole year lowers the total by exactly the amount. Years
    not listed bring nothing.
    """

    by_year: dict[str, float] = field(default_factory=dict)  # {"2025/26": amount, ...}
    source: str = ""
    title: str | None = None


def fixed_cost_title(key: str, title: str | None = None) -> str:
    """A fixed cost's name in plain words: ``title``, or ``key`` written out
    (``harbour_team`` -> "Harbour team")."""
    if title is not None and str(title).strip():
        return str(title).strip()
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def fixed_cost_titles(costs: CostConfig) -> dict[str, str]:
    """Every fixed cost's, activity cost's and income line's plain title by key (for the
    workbook's and the charts' labels)."""
    return {
        key: line.label(key)
        for lines in (costs.fixed, costs.activity, costs.income)
        for key, line in lines.items()
    }


@dataclass
class SavingsTarget:
    """Annual cashable savings targets from ``start_year`` (one per financial year)."""

    start_year: str = "2022/23"
    annual: list[float] = field(
        default_factory=lambda: [2_200_000.0, 3_175_000.0, 3_175_000.0, 3_175_000.0, 3_175_000.0]
    )
    source: str = (
        "£14.9m cashable over five years, £2.2m in 2022/23 [Dorset self-evaluation 2022]; "
        "the remaining £12.7m spread evenly over 2023/24-2026/27 (assumption)"
    )


def _default_placements() -> dict[str, PlacementCost]:
    return {
        vocab.KINSHIP_FOSTER: PlacementCost(
            weekly=300.0,
            price_year="2023/24",
            inflation="placements_inhouse",
            source="assumption: kinship foster £250-350 a week, 2023/24, a range drawn up "
            "from published prices [Cost ranges, set locally]",
        ),
        vocab.INHOUSE_FOSTER: PlacementCost(
            weekly=646.0,
            price_year="2016/17",
            inflation="placements_inhouse",
            source="Unit Costs of Health and Social Care 2017: LA foster care £646 a week, "
            "all-in [PSSRU Unit Costs 2017]",
        ),
        vocab.IFA: PlacementCost(
            weekly=962.0,
            price_year="2020/21",
            inflation="placements_external",
            source="Dorset Council, Nov 2020: £102,000 a week for 106 IFA placements "
            "[Dorset Echo Dec 2020]",
        ),
        vocab.INHOUSE_RESIDENTIAL: PlacementCost(
            weekly=5500.0,
            price_year="2023/24",
            inflation="placements_inhouse",
            basis="capacity",
            source="assumption: LA children's home £5,000-6,000 a week, a range drawn up "
            "from published prices [Cost ranges, set locally]",
        ),
        vocab.EXTERNAL_RESIDENTIAL: PlacementCost(
            weekly=4902.0,
            price_year="2020/21",
            inflation="placements_external",
            source="Dorset Council, Nov 2020: £279,400 a week for 57 external residential "
            "[Dorset Echo Dec 2020]",
        ),
        vocab.SUPPORTED_16PLUS: PlacementCost(
            weekly=1050.0,
            price_year="2023/24",
            inflation="placements_external",
            source="assumption: supported accommodation £600-1,500, a range drawn up from "
            "published prices [Cost ranges, set locally]",
        ),
        vocab.PLACED_WITH_PARENTS: PlacementCost(
            weekly=0.0,
            inflation="general",
            source="assumption: the child lives at home; the cost is social work",
        ),
        vocab.PLACED_FOR_ADOPTION: PlacementCost(
            weekly=0.0,
            inflation="general",
            source="assumption: prospective adopters receive no fostering allowance",
        ),
        vocab.SECURE_OTHER: PlacementCost(
            weekly=4902.0,
            price_year="2020/21",
            inflation="placements_external",
            source="assumption: no published secure price found; external residential "
            "price until a council enters its own [Cost ranges, set locally]",
        ),
    }


def _default_casework() -> dict[str, float]:
    return {
        vocab.EARLY_HELP: 30.0,
        vocab.ASSESSMENT: 90.0,
        vocab.CIN: 60.0,
        vocab.CP: 80.0,
        vocab.CARE_LEAVER: 35.0,
        "care_leaver_21_plus": 20.0,
    }


def _default_fixed() -> dict[str, FixedCost]:
    return {
        "harbour_team": FixedCost(
            annual=1_000_000.0,
            start="2020-12-01",
            inflation="staff",
            source="assumption: no published cost; ~20 posts at ~£50,000 all-in for an "
            "outreach caseload of 40 [Dorset Annual Report 2020-21]",
            title="Harbour outreach team",
        ),
    }


def _default_inflation() -> dict[str, float]:
    return {
        "placements_external": 0.06,
        "placements_inhouse": 0.04,
        "staff": 0.03,
        "general": 0.02,
    }


def _default_sources() -> dict[str, str]:
    return {
        "casework": "assumption: an all-in social worker cost of ~£55,000 a year (~£1,050 a "
        "week) over typical caseloads; see configs/costs/default.yaml",
        "discount_rate": "HM Treasury Green Book: 3.5% real",
    }


def _default_inflation_sources() -> dict[str, str]:
    return {
        "placements_external": "children's home prices rising ~6% a year since 2013 "
        "[NCERCC/Revolution Consulting 2020]",
        "placements_inhouse": "assumption: between staff pay and external prices; fostering "
        "allowances rose 12.43% in 2023/24 and 6.88% in 2024/25 [Fostering allowance uplifts]",
        "staff": "assumption: local government pay awards",
        "general": "assumption: the Bank of England's 2% CPI target",
    }


@dataclass
class CostConfig:
    """Everything needed to put a price on a projection (``configs/costs/default.yaml``).

    Attributes:
        price_year: financial year of every price without its own ``price_year``.
        placements: weekly cost per placement group (every group in ``vocab.PLACEMENT_GROUPS``).
        tail: per-replicate uncertainty in one group's mean price.
        casework: weekly casework cost per child at month end, by state (``early_help``,
            ``assessment``, ``cin``, ``cp``, ``care_leaver``; add ``care`` to cost social
            work for children in care on top of their placements).
        casework_inflation: the inflation line that uprates casework.
        fixed: named fixed costs (teams, homes, campaigns); scenarios add entries.
        activity: named costs per unit counted (per meeting held, per kinship child a year).
        income: named income lines by financial year (grants), counted as negative costs.
        inflation: annual price inflation by line (a fraction: 0.06 is 6% a year).
        deflator: the inflation line that turns cash into real terms for the NPV.
        discount_rate: real annual discount rate for the NPV.
        savings_target: annual savings targets.
        sources: sources of numbers with no ``source`` field of their own (``casework``,
            ``discount_rate``).
        inflation_sources: the source of each inflation line's rate.
        currency_note: how to read the money columns.
    """

    price_year: str = "2020/21"
    placements: dict[str, PlacementCost] = field(default_factory=_default_placements)
    tail: PriceTail = field(default_factory=PriceTail)
    casework: dict[str, float] = field(default_factory=_default_casework)
    casework_inflation: str = "staff"
    fixed: dict[str, FixedCost] = field(default_factory=_default_fixed)
    activity: dict[str, ActivityCost] = field(default_factory=dict)
    income: dict[str, IncomeLine] = field(default_factory=dict)
    inflation: dict[str, float] = field(default_factory=_default_inflation)
    deflator: str = "general"
    discount_rate: float = 0.035
    savings_target: SavingsTarget = field(default_factory=SavingsTarget)
    sources: dict[str, str] = field(default_factory=_default_sources)
    inflation_sources: dict[str, str] = field(default_factory=_default_inflation_sources)
    currency_note: str = (
        "GBP, cash terms: each year's prices uprated from their price year by their "
        "inflation line; NPVs are in real terms of the first projected financial year"
    )


def fy_start_year(label: str) -> int:
    """The calendar year a financial year label starts in: ``"2022/23"`` -> 2022.

    Raises ``ValueError`` for a label that is not ``YYYY/YY`` with consecutive years.
    """
    match = _FY_PATTERN.match(str(label))
    if match is None:
        raise ValueError(f"{label!r} is not a financial year like '2022/23'")
    start = int(match.group(1))
    if (start + 1) % 100 != int(match.group(2)):
        raise ValueError(f"{label!r}: the second year must follow the first, e.g. '2022/23'")
    return start


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def validate_costs(cfg: CostConfig, source: str = DEFAULT_FILE) -> None:
    """Check ``cfg`` before costing; raise one ``ConfigError`` listing every problem.

    Each problem names the field (``costs.placements.ifa.weekly``), the file ``source`` and
    what is wrong: a negative or non-numeric cost, an unknown placement group, casework state
    or inflation line, a missing placement group, an inflation rate below -1 or above 1
    (a percentage typed as a whole number), a bad date or an end before a start, a bad
    financial year, a discount rate outside [0, 1), a negative savings target.
    """
    problems: list[str] = []

    def bad(name: str, value: object, what: str) -> None:
        problems.append(f"costs.{name} = {value!r} ({source}): {what}")

    def check_amount(name: str, value: object) -> None:
        if not _is_number(value):
            bad(name, value, "expected a number of pounds")
        elif value < 0:  # type: ignore[operator]
            bad(name, value, "a cost cannot be negative")

    def check_year(name: str, value: object, optional: bool = True) -> None:
        if value is None and optional:
            return
        try:
            fy_start_year(str(value))
        except ValueError:
            bad(name, value, "expected a financial year like '2020/21'")

    lines = cfg.inflation
    for line, rate in lines.items():
        if not _is_number(rate):
            bad(f"inflation.{line}", rate, "expected an annual rate such as 0.03")
        elif rate <= -1.0 or rate > _MAX_ANNUAL_RATE:
            bad(
                f"inflation.{line}",
                rate,
                "not a plausible annual rate: expected a fraction above -1 and at most 1 "
                "(0.03 for 3% a year)",
            )

    def check_line(name: str, value: object) -> None:
        if value not in lines:
            bad(name, value, f"unknown inflation line; expected one of {sorted(lines)}")

    check_year("price_year", cfg.price_year, optional=False)
    for group, cost in cfg.placements.items():
        prefix = f"placements.{group}"
        if group not in vocab.PLACEMENT_GROUPS:
            bad(
                prefix,
                group,
                f"unknown placement group; expected one of {list(vocab.PLACEMENT_GROUPS)}",
            )
            continue
        check_amount(f"{prefix}.weekly", cost.weekly)
        check_year(f"{prefix}.price_year", cost.price_year)
        check_line(f"{prefix}.inflation", cost.inflation)
        if cost.basis not in BASES:
            bad(f"{prefix}.basis", cost.basis, f"expected one of {list(BASES)}")
        elif cost.basis == "capacity" and group not in _CAPACITY_GROUPS:
            bad(
                f"{prefix}.basis",
                cost.basis,
                f"only {list(_CAPACITY_GROUPS)} have an in-house capacity to cost",
            )
    missing = [g for g in vocab.PLACEMENT_GROUPS if g not in cfg.placements]
    if missing:
        bad("placements", sorted(cfg.placements), f"no weekly cost for {missing}")

    tail = cfg.tail
    if tail.group not in vocab.PLACEMENT_GROUPS:
        bad("tail.group", tail.group, f"expected one of {list(vocab.PLACEMENT_GROUPS)}")
    if not _is_number(tail.log_sd) or tail.log_sd < 0:
        bad("tail.log_sd", tail.log_sd, "expected a standard deviation >= 0")

    for state, weekly in cfg.casework.items():
        if state not in CASEWORK_STATES:
            bad(f"casework.{state}", state, f"unknown state; expected one of {CASEWORK_STATES}")
        else:
            check_amount(f"casework.{state}", weekly)
    check_line("casework_inflation", cfg.casework_inflation)

    taken = set(vocab.PLACEMENT_GROUPS) | set(CASEWORK_STATES) | {"total"}
    for name, cost in cfg.fixed.items():
        prefix = f"fixed.{name}"
        if name in taken:
            bad(prefix, name, "a fixed cost needs a name that is not a placement group or state")
        if cost.title is not None and (not isinstance(cost.title, str) or not cost.title.strip()):
            bad(f"{prefix}.title", cost.title, "expected a plain title, or leave it out")
        check_amount(f"{prefix}.annual", cost.annual)
        check_amount(f"{prefix}.capital", cost.capital)
        check_year(f"{prefix}.price_year", cost.price_year)
        check_line(f"{prefix}.inflation", cost.inflation)
        start = _parse_date(cost.start)
        if start is None:
            bad(f"{prefix}.start", cost.start, "expected a date like 2022-06-01")
        if cost.end is not None:
            end = _parse_date(cost.end)
            if end is None:
                bad(f"{prefix}.end", cost.end, "expected a date like 2027-03-31, or null")
            elif start is not None and end <= start:
                bad(f"{prefix}.end", cost.end, f"the end is not after the start ({cost.start})")

    for name, activity in cfg.activity.items():
        prefix = f"activity.{name}"
        if name in taken or name in cfg.fixed:
            bad(prefix, name, "needs a name that is not a placement group, state or fixed cost")
        check_amount(f"{prefix}.unit", activity.unit)
        check_year(f"{prefix}.price_year", activity.price_year)
        check_line(f"{prefix}.inflation", activity.inflation)
        if activity.basis not in ACTIVITY_BASES:
            bad(f"{prefix}.basis", activity.basis, f"expected one of {list(ACTIVITY_BASES)}")
        else:
            known = ACTIVITY_FLOWS if activity.basis == "flow" else vocab.PLACEMENT_GROUPS
            if activity.category not in known:
                bad(f"{prefix}.category", activity.category, f"expected one of {list(known)}")
        if activity.start is not None and _parse_date(activity.start) is None:
            bad(f"{prefix}.start", activity.start, "expected a date like 2025-04-01, or null")
    for name, income in cfg.income.items():
        prefix = f"income.{name}"
        if name in taken or name in cfg.fixed or name in cfg.activity:
            bad(prefix, name, "needs a name that is not another budget line's")
        for year, amount in income.by_year.items():
            check_year(f"{prefix}.by_year", year, optional=False)
            if not _is_number(amount) or amount < 0:
                bad(f"{prefix}.by_year.{year}", amount, "expected an amount in pounds >= 0")

    check_line("deflator", cfg.deflator)
    rate = cfg.discount_rate
    if not _is_number(rate) or not 0.0 <= rate < 1.0:
        bad("discount_rate", rate, "expected a real annual rate in [0, 1), e.g. 0.035")

    target = cfg.savings_target
    check_year("savings_target.start_year", target.start_year, optional=False)
    for i, amount in enumerate(target.annual):
        if not _is_number(amount) or amount < 0:
            bad(f"savings_target.annual[{i}]", amount, "expected a saving in pounds >= 0")

    if problems:
        raise ConfigError("invalid cost configuration:\n  " + "\n  ".join(problems))


def _parse_date(value: object) -> pd.Timestamp | None:
    if value is None or str(value).strip() == "":
        return None
    try:
        stamp = pd.Timestamp(str(value))
    except (ValueError, TypeError):
        return None
    return None if pd.isna(stamp) else stamp
