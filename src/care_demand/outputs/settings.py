"""The settings of what a run writes: disclosure control, rates and stock dates.

:class:`OutputConfig` is the schema of ``configs/output/default.yaml``; it is part of
:class:`care_demand.config.AppConfig` (``output``) and importable from there too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from care_demand import vocab
from care_demand.checking import Checker, Problems
from care_demand.outputs.interval_widening import WIDENING_MODES

__all__ = ["FAMILY_HELP_VALUES", "OutputConfig", "output_problems"]

# The values of ``output.family_help``.
FAMILY_HELP_VALUES = ("auto", "true", "false")


def _default_target_shares() -> dict[str, float]:
    return {vocab.INHOUSE_FOSTER: 0.7, vocab.INHOUSE_RESIDENTIAL: 0.25}


@dataclass
class OutputConfig:
    """What the run writes (``configs/output/default.yaml``)."""

    # The council's name, shown on the report and the workbook (None: "the council"; the
    # built-in example is always named as synthetic).
    council: str | None = None
    # Published tables replace counts from 1 to this value with a marker (1-5:
    # [Small-number suppression] in docs/sources.md).
    suppress_max: int = 5
    suppression_marker: str = "[c]"
    # Also hide a second figure wherever a total and its parts would reveal a hidden count.
    secondary_suppression: bool = True
    # Children aged 0-17 in the council's area, for rates per 10,000 (None: counts only).
    child_population: int | None = None
    # Dates on which stocks are counted in the data summary: 31 March of each year.
    # Draw the run's charts (PNG, SVG and alt text, and in the report). False: tables, the
    # workbook and the report without charts, seconds faster (the browser app's quick look).
    charts: bool = True
    stock_month: int = 3
    stock_day: int = 31
    # The in-house share of the children needing each kind of placement (in-house plus its
    # external equivalent) the council aims for, per in-house group: the sufficiency table's
    # "in-house places needed for the target share". The defaults are assumptions (no
    # published target; see configs/output/default.yaml).
    target_inhouse_share: dict[str, float] = field(default_factory=_default_target_shares)
    # Report Family Help (targeted early help plus children in need, one service under the
    # Families First Partnership programme) beside the model's states: "auto" (when the
    # history runs past April 2025), "true" or "false" (configs/output/default.yaml).
    family_help: str = "auto"
    # Widen the published intervals where the council's own backtest shows coverage below
    # nominal: "auto" (when a backtest of the same data is found under backtest_dir) or
    # "off" (configs/output/default.yaml; the rule: docs/backtest.md).
    interval_widening: str = "auto"
    # Where to look for that backtest: one backtest's run folder, or a folder holding them
    # (searched to any depth; the newest backtest of the same data is used).
    backtest_dir: str = "outputs/backtest"


def output_problems(output: OutputConfig) -> Problems:
    """Every problem in the output settings, as ``(field, message)`` pairs."""
    check = Checker()
    check.number("output.suppress_max", output.suppress_max, 0)
    if not str(output.suppression_marker).strip():
        check.add("output.suppression_marker", "is empty; published tables need a visible marker")
    if output.child_population is not None:
        check.number("output.child_population", output.child_population, 1)
    check.number("output.stock_month", output.stock_month, 1, 12)
    try:
        pd.Timestamp(year=2023, month=int(output.stock_month), day=int(output.stock_day))
    except (TypeError, ValueError):
        check.add(
            "output.stock_day",
            f"day {output.stock_day} of month {output.stock_month} is not a date",
        )
    if str(output.family_help).strip().lower() not in FAMILY_HELP_VALUES:
        check.add(
            "output.family_help",
            f"is {output.family_help!r}; expected one of {', '.join(FAMILY_HELP_VALUES)}",
        )
    if str(output.interval_widening).strip().lower() not in WIDENING_MODES:
        check.add(
            "output.interval_widening",
            f"is {output.interval_widening!r}; expected one of {', '.join(WIDENING_MODES)}",
        )
    for group, share in (output.target_inhouse_share or {}).items():
        name = f"output.target_inhouse_share.{group}"
        if group not in vocab.EXTERNAL_EQUIVALENT:
            check.add(
                name, f"unknown in-house group; expected one of {list(vocab.EXTERNAL_EQUIVALENT)}"
            )
        elif isinstance(share, bool) or not isinstance(share, int | float):
            check.add(name, f"is {share!r}; expected a share from 0 to 1")
        else:
            check.probability(name, share)
    return check.problems
