"""Statistical disclosure control for published tables.

The rule (``configs/output/default.yaml``, documented in ``docs/outputs.md``):

1. **Primary suppression.** A recorded count from 1 to ``suppress_max`` (5 by default,
   the convention of published children's social care statistics, docs/sources.md) is
   replaced by the marker (``[c]``). Zeros and larger counts are shown.
2. **Secondary suppression** (``secondary_suppression``, on by default). A suppressed count
   must not be derivable from the figures shown beside it. Wherever a table holds a total
   and its parts (the children in care and their placement groups, say), a total-and-parts
   line with exactly one hidden figure gets a second one hidden: the smallest other part
   that is not zero; failing that, the smallest zero part; failing that, the total itself.
   This repeats until no line has exactly one hidden figure, so a total minus the shown
   parts never reveals a hidden count. Ties go to the part named first in the line's
   definition, so the same counts are hidden the same way in every file that shows them.

Tables become text columns where a figure was hidden, so a published CSV never carries the
hidden number. The marker in an input table counts as already hidden, so applying the rule
to a published table changes nothing.

Projections are model output (averages over simulated children), not counts of real
children; they are not suppressed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.outputs.family_help import FAMILY_HELP, FAMILY_HELP_PARTS
from care_demand.outputs.layout import LAYOUT

__all__ = [
    "MONTHLY_TOTALS",
    "PUBLISHED_TABLES",
    "STOCK_TOTALS",
    "DisclosureRule",
    "Total",
    "disclosure_problems",
    "recorded_values",
    "suppress_arrivals",
    "suppress_counts",
    "suppress_recorded_monthly",
    "suppress_small_counts",
    "suppress_stocks",
    "suppression_mask",
]


@dataclass(frozen=True)
class DisclosureRule:
    """The suppression rule: counts 1..``suppress_max`` hidden, and (``secondary``) any
    figure from which a hidden one could be derived; hidden figures show ``marker``."""

    suppress_max: int = 5
    marker: str = "[c]"
    secondary: bool = True

    @classmethod
    def from_config(cls, output: object) -> DisclosureRule:
        """The rule of an ``OutputConfig`` (or the ``output`` mapping of run_details.json)."""

        def get(name: str, default: object) -> object:
            if isinstance(output, dict):
                return output.get(name, default)
            return getattr(output, name, default)

        return cls(
            suppress_max=int(get("suppress_max", 5)),  # type: ignore[call-overload]
            marker=str(get("suppression_marker", "[c]")),
            secondary=bool(get("secondary_suppression", True)),
        )

    def describe(self) -> str:
        """The rule in one plain-English sentence."""
        text = f"Recorded counts from 1 to {self.suppress_max} are shown as {self.marker}"
        if self.secondary:
            text += (
                ", and so is one more figure wherever a total and its parts would otherwise "
                "let a hidden count be worked out"
            )
        return text + "."


@dataclass(frozen=True)
class Total:
    """An additive relation in a tidy table.

    Within each group of rows sharing the values of ``within``, the row whose ``column`` is
    ``total`` equals the sum of the rows whose ``column`` is one of ``parts``.
    """

    column: str
    total: str
    parts: tuple[str, ...]
    within: tuple[str, ...] = ()


# Children in care at 31 March: the state's total (placement group ``all``) and its groups.
STOCK_TOTALS = Total(
    column="placement_group",
    total="all",
    parts=vocab.PLACEMENT_GROUPS,
    within=("date", "state"),
)
# Recorded children at each month end: ``care`` and its placement groups.
MONTHLY_TOTALS = Total(
    column="category",
    total=vocab.CARE,
    parts=vocab.PLACEMENT_GROUPS,
    within=("month",),
)

# Family Help (output.family_help) is early help plus child in need: a total of its own.
FAMILY_HELP_STOCK_TOTALS = Total(
    column="state",
    total=FAMILY_HELP,
    parts=FAMILY_HELP_PARTS,
    within=("date", "placement_group"),
)
FAMILY_HELP_MONTHLY_TOTALS = Total(
    column="category",
    total=FAMILY_HELP,
    parts=FAMILY_HELP_PARTS,
    within=("month",),
)

# Every published table of recorded counts in a run folder: its count column and relations.
PUBLISHED_TABLES: dict[str, tuple[str, tuple[Total, ...]]] = {
    LAYOUT.stocks: ("children", (STOCK_TOTALS, FAMILY_HELP_STOCK_TOTALS)),
    LAYOUT.recorded: ("children", (MONTHLY_TOTALS, FAMILY_HELP_MONTHLY_TOTALS)),
    LAYOUT.arrivals: ("arrivals", ()),
}


def recorded_values(values: pd.Series | Sequence[object], marker: str = "[c]") -> np.ndarray:
    """Counts as floats, with the marker (or any other non-number) as NaN."""
    series = pd.Series(values, dtype="object")
    series = series.where(series.astype("string") != marker, np.nan)
    return np.array(pd.to_numeric(series, errors="coerce"), dtype=float)


def _lines(frame: pd.DataFrame, totals: Iterable[Total]) -> list[list[int]]:
    """Each relation's rows as positions: the total first, then the parts in their order."""
    lines: list[list[int]] = []
    for total in totals:
        for column in (total.column, *total.within):
            if column not in frame.columns:
                raise KeyError(f"cannot apply the total over {column!r}: not in the table")
        order = {part: i for i, part in enumerate(total.parts)}
        labels = frame[total.column].astype(str).to_numpy()
        positions = pd.RangeIndex(len(frame))
        keys = (
            frame[list(total.within)].astype(str).agg("\x1f".join, axis=1).to_numpy()
            if total.within
            else np.zeros(len(frame), dtype=int)
        )
        for key in pd.unique(keys):
            rows = positions[keys == key]
            heads = [int(r) for r in rows if labels[r] == total.total]
            parts = sorted(
                (int(r) for r in rows if labels[r] in order), key=lambda r: order[labels[r]]
            )
            if len(heads) == 1 and parts:
                lines.append([heads[0], *parts])
    return lines


def suppression_mask(
    values: Sequence[float] | np.ndarray,
    lines: Sequence[Sequence[int]],
    rule: DisclosureRule,
) -> np.ndarray:
    """Which figures to hide: primary (1..``suppress_max``, or NaN = already hidden) and,
    with ``rule.secondary``, the complementary figures.

    ``lines`` lists positions bound by one total: the total first, then its parts in the
    order ties are broken.
    """
    v = np.asarray(values, dtype=float)
    hidden = np.isnan(v) | ((v >= 1) & (v <= rule.suppress_max))
    if not rule.secondary:
        return hidden
    changed = True
    while changed:
        changed = False
        for line in lines:
            cells = list(line)
            if int(hidden[cells].sum()) != 1:
                continue
            parts = [i for i in cells[1:] if not hidden[i]]
            nonzero = [i for i in parts if v[i] != 0]
            zero = [i for i in parts if v[i] == 0]
            if nonzero:
                pick = min(nonzero, key=lambda i: (v[i], cells.index(i)))
            elif zero:
                pick = zero[0]
            else:
                pick = cells[0]
            hidden[pick] = True
            changed = True
    return hidden


def suppress_counts(
    frame: pd.DataFrame,
    column: str,
    rule: DisclosureRule,
    totals: Iterable[Total] = (),
) -> pd.DataFrame:
    """Return a copy of ``frame`` with ``column`` under the disclosure rule.

    ``totals`` names the additive relations in the table (see :class:`Total`), which
    secondary suppression protects. The column becomes text: whole numbers, or the marker.
    """
    if column not in frame.columns:
        raise KeyError(f"cannot suppress column {column!r}: not in the table")
    out = frame.reset_index(drop=True).copy()
    raw = out[column]
    marked = (raw.astype("string") == rule.marker).fillna(False).to_numpy(dtype=bool)
    values = recorded_values(raw, rule.marker)
    unreadable = np.isnan(values) & ~marked
    if unreadable.any():
        bad = raw[unreadable].iloc[0]
        raise ValueError(f"column {column!r} holds {bad!r}, which is not a count")
    hidden = suppression_mask(values, _lines(out, totals), rule)
    shown = pd.Series(values).round().astype("Int64").astype("string")
    out[column] = shown.where(~hidden, rule.marker).array
    out.index = frame.index
    return out


def suppress_stocks(stocks: pd.DataFrame, rule: DisclosureRule) -> pd.DataFrame:
    """``stocks_31_march.csv`` as published: children by state and placement group."""
    column, totals = PUBLISHED_TABLES[LAYOUT.stocks]
    return suppress_counts(stocks, column, rule, totals)


def suppress_recorded_monthly(recorded: pd.DataFrame, rule: DisclosureRule) -> pd.DataFrame:
    """``recorded_monthly.csv`` as published: recorded children by category at month end."""
    column, totals = PUBLISHED_TABLES[LAYOUT.recorded]
    return suppress_counts(recorded, column, rule, totals)


def suppress_arrivals(arrivals: pd.DataFrame, rule: DisclosureRule) -> pd.DataFrame:
    """``arrivals_by_year.csv`` as published: arrivals by kind and financial year."""
    column, totals = PUBLISHED_TABLES[LAYOUT.arrivals]
    return suppress_counts(arrivals, column, rule, totals)


def suppress_small_counts(
    frame: pd.DataFrame,
    columns: Iterable[str],
    suppress_max: int = 5,
    marker: str = "[c]",
) -> pd.DataFrame:
    """Return a copy of ``frame`` with counts 1..``suppress_max`` in ``columns`` replaced.

    Primary suppression only, column by column; use :func:`suppress_counts` with the
    table's totals for the full rule. Raises ``KeyError`` naming a column not in the table.
    """
    rule = DisclosureRule(suppress_max=suppress_max, marker=marker, secondary=False)
    out = frame.copy()
    for column in columns:
        out[column] = suppress_counts(out, column, rule)[column]
    return out


def disclosure_problems(
    frame: pd.DataFrame,
    column: str,
    rule: DisclosureRule,
    totals: Iterable[Total] = (),
) -> list[str]:
    """Why a published table breaks the rule (empty when it does not).

    Reports every shown count from 1 to ``suppress_max`` and, with ``rule.secondary``,
    every total-and-parts line with exactly one hidden figure.
    """
    data = frame.reset_index(drop=True)
    values = recorded_values(data[column], rule.marker)
    problems = [
        f"row {i}: {column} = {values[i]:g} is shown"
        for i in np.flatnonzero((values >= 1) & (values <= rule.suppress_max))
    ]
    if rule.secondary:
        hidden = np.isnan(values)
        for line in _lines(data, totals):
            if int(hidden[line].sum()) == 1:
                (row,) = [i for i in line if hidden[i]]
                problems.append(
                    f"row {row}: the hidden {column} can be worked out from its total and the "
                    f"other parts (rows {line})"
                )
    return problems
