"""Intervals honest on the council's own record: the widening rule (``docs/backtest.md``).

The backtest (``care-demand-backtest``) scores each forecast's central intervals against what
was recorded. Where the recorded values fell outside an interval more often than its level
allows, a run on the same data widens that interval by the factor that would have made the
backtest's coverage nominal:

1. For each scored forecast of the judged measures (the care total and its placement groups),
   over every cut and horizon, the **distance ratio** ``r`` of the record ``y`` from the median
   ``m``, in units of the interval's half-width on the record's side:
   ``r = (y - m) / (upper - m)`` above the median, ``(m - y) / (m - lower)`` below it (0 when
   ``y = m``; infinite when that half-width is 0 and ``y`` is not the median). The record
   is inside the interval widened by ``k`` (both ends moved away from the median ``k`` times
   as far) exactly when ``r <= k``.
2. The **factor** of a level ``L`` is the smallest ``k`` with at least ``L`` of the ratios
   ``<= k`` (their ``L`` quantile, inverted empirical distribution), never below 1 (intervals
   are never narrowed) and at most ``max_factor``.
3. The factors are **applied** only when the backtest had at least ``min_cuts`` cuts; a run
   moves each published quantile ``q`` of the judged measures away from the median:
   ``m + k (q - m)``, with ``k`` the factor of the central interval ``q`` bounds (P10 and P90:
   80%), keeping the quantiles in order and counts at 0 or more.

The backtest writes the factors (:func:`widening_record`) as plain data in
``backtest/interval_widening.json``; the run reads them (:func:`find_widening`) and widens
its quantile table (:func:`widen_quantiles`). The per-replicate tables are never changed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from care_demand.outputs.layout import LAYOUT

__all__ = [
    "WIDENING_MODES",
    "accuracy_note",
    "applied_factors",
    "distance_ratios",
    "find_widening",
    "mc_error_text",
    "quantile_level",
    "run_widening",
    "widen_quantiles",
    "widening_factor",
    "widening_note",
    "widening_record",
]

# The values of ``output.interval_widening``.
WIDENING_MODES = ("auto", "off")


def distance_ratios(
    median: Sequence[float] | np.ndarray,
    lower: Sequence[float] | np.ndarray,
    upper: Sequence[float] | np.ndarray,
    actual: Sequence[float] | np.ndarray,
) -> np.ndarray:
    """How far each record lies from the median, in half-widths of its interval (rule 1)."""
    m, lo, hi, y = (np.asarray(v, dtype=float) for v in (median, lower, upper, actual))
    above = y > m
    half = np.where(above, hi - m, m - lo)
    gap = np.abs(y - m)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(half > 0, gap / np.where(half > 0, half, 1.0), np.inf)
    return np.where(gap == 0, 0.0, ratio)


def widening_factor(ratios: Sequence[float] | np.ndarray, level: float, max_factor: float) -> float:
    """The factor of the ``level`` interval from the backtest's distance ratios (rule 2).

    1 when at least ``level`` of the records were already inside (or there are none);
    otherwise the smallest factor that would have held ``level`` of them, at most
    ``max_factor``.
    """
    if max_factor < 1.0:
        raise ValueError(f"max_factor {max_factor!r} is below 1")
    return float(min(max(_needed(ratios, level), 1.0), max_factor))


def _needed(ratios: Sequence[float] | np.ndarray, level: float) -> float:
    """The smallest factor holding ``level`` of the ratios (0 when there are none)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level {level!r} is not between 0 and 1")
    values = np.asarray(ratios, dtype=float)
    if values.size == 0:
        return 0.0
    return float(np.quantile(values, level, method="inverted_cdf"))


def _level_name(level: float) -> str:
    return f"{round(level * 100):d}"


def widening_record(
    metrics: pd.DataFrame,
    levels: Iterable[float],
    measures: Iterable[str],
    *,
    max_factor: float,
    min_cuts: int,
) -> dict[str, object]:
    """The backtest's widening factors as plain data (``backtest/interval_widening.json``).

    ``metrics`` holds the backtest's scores (``cut``, ``measure``, ``scored``, ``median``,
    ``actual`` and ``lower_L``/``upper_L`` per level). Only scored rows of ``measures`` are
    used, pooled over cuts and horizons; ``measures`` in the record lists those of them
    the backtest forecast (a run widens each by the pooled factors, even one whose records
    were all withheld). ``applies`` is false when fewer than ``min_cuts`` cuts were scored,
    or no row was.
    """
    judged = list(measures)
    rows = metrics[metrics["measure"].isin(judged) & metrics["scored"].astype(bool)]
    cuts = int(rows["cut"].nunique())
    record: dict[str, object] = {
        "measures": [m for m in judged if m in set(metrics["measure"])],
        "cuts": cuts,
        "forecasts": len(rows),
        "horizons": sorted(int(h) for h in rows["horizon_months"].unique())
        if "horizon_months" in rows
        else [],
        "max_factor": float(max_factor),
        "min_cuts": int(min_cuts),
        "applies": bool(cuts >= min_cuts and len(rows) > 0),
        "levels": {},
    }
    for level in levels:
        name = _level_name(float(level))
        lower = pd.to_numeric(rows[f"lower_{name}"]).to_numpy(dtype=float)
        upper = pd.to_numeric(rows[f"upper_{name}"]).to_numpy(dtype=float)
        ratios = distance_ratios(
            pd.to_numeric(rows["median"]).to_numpy(dtype=float),
            lower,
            upper,
            pd.to_numeric(rows["actual"]).to_numpy(dtype=float),
        )
        factor = widening_factor(ratios, float(level), max_factor)
        record["levels"][name] = {  # type: ignore[index]
            "level": float(level),
            "coverage": float(np.mean(ratios <= 1.0)) if ratios.size else None,
            "factor": factor,
            "capped": _needed(ratios, float(level)) > max_factor,
            "coverage_widened": float(np.mean(ratios <= factor)) if ratios.size else None,
        }
    return record


def quantile_level(column: str) -> float | None:
    """The central interval a quantile column bounds (``p10`` and ``p90``: 0.8); None for
    the median and columns that are not quantiles."""
    if not (column.startswith("p") and column[1:].isdigit()):
        return None
    level = abs(2 * int(column[1:]) / 100 - 1)
    return round(level, 6) if level > 0 else None


def widen_quantiles(
    quantiles: pd.DataFrame,
    factors: Mapping[float, float],
    categories: Iterable[str],
    *,
    measure: str = "children",
) -> pd.DataFrame:
    """The quantile table with ``measure`` rows of ``categories`` widened (rule 3).

    ``factors`` maps a central level (0.8) to its factor; a quantile whose level has no
    factor takes that of the nearest level below it that has one (1 when none). The median,
    the mean and every other row are unchanged; a widened quantile below 0 becomes 0, and
    the quantiles stay in order.
    """
    out = quantiles.copy()
    if "p50" not in out:
        raise KeyError("the quantile table has no p50 (median) column")
    rows = (out["measure"] == measure) & out["category"].isin(list(categories))
    if not rows.any():
        return out
    median = out.loc[rows, "p50"].to_numpy(dtype=float)
    columns = sorted(
        (c for c in out.columns if quantile_level(c) is not None), key=lambda c: int(c[1:])
    )
    known = sorted(float(level) for level in factors)
    widened = {}
    for column in columns:
        level = quantile_level(column)
        below = [lv for lv in known if lv <= level + 1e-9]  # type: ignore[operator]
        factor = float(factors[below[-1]]) if below else 1.0
        values = out.loc[rows, column].to_numpy(dtype=float)
        widened[column] = np.maximum(median + factor * (values - median), 0.0)
    lows = [c for c in columns if int(c[1:]) < 50]
    highs = [c for c in columns if int(c[1:]) > 50]
    # Keep the order: each lower quantile at most the next one in, each upper at least.
    for outer, inner in zip(lows, [*lows[1:], "p50"], strict=True):
        inner_values = median if inner == "p50" else widened[inner]
        widened[outer] = np.minimum(widened[outer], inner_values)
    for outer, inner in zip(reversed(highs), ["p50", *highs[:-1]][::-1], strict=True):
        inner_values = median if inner == "p50" else widened[inner]
        widened[outer] = np.maximum(widened[outer], inner_values)
    for column, values in widened.items():
        out.loc[rows, column] = values
    return out


def find_widening(
    places: Iterable[str | Path], fingerprint: str
) -> tuple[dict[str, object] | None, list[str]]:
    """The newest widening record of a backtest of the data with ``fingerprint``.

    ``places`` are backtest run folders or folders holding them (searched to any depth for
    ``backtest/interval_widening.json``). Returns the record (with ``backtest_dir`` added)
    or None, and a note per record seen that was not used (other data, unreadable).
    """
    found: list[tuple[float, Path]] = []
    for place in places:
        root = Path(place).expanduser()
        if (root / LAYOUT.backtest.interval_widening).is_file():
            found.append(((root / LAYOUT.backtest.interval_widening).stat().st_mtime, root))
        elif root.is_dir():
            for path in root.rglob(Path(LAYOUT.backtest.interval_widening).name):
                if path.parent.name == Path(LAYOUT.backtest.interval_widening).parent.name:
                    found.append((path.stat().st_mtime, path.parent.parent))
    notes: list[str] = []
    for _, folder in sorted(found, key=lambda item: item[0], reverse=True):
        path = folder / LAYOUT.backtest.interval_widening
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            notes.append(f"{path}: not readable ({exc})")
            continue
        if record.get("data_fingerprint") != fingerprint:
            notes.append(f"{folder}: a backtest of other data")
            continue
        return {**record, "backtest_dir": str(folder)}, notes
    return None, notes


def run_widening(mode: str, place: str | Path, fingerprint: str) -> dict[str, object]:
    """What a run does with its intervals: the detail written to ``run_details.json``.

    ``status``: ``off`` (``mode`` off), ``no backtest`` (none of these data under
    ``place``), ``too few cuts`` (found, fewer than its ``min_cuts``) or ``applied``; with
    the backtest's record (``backtest_dir``, ``levels`` with each level's coverage and
    factor, ``measures``) when one was found, and ``not_used`` notes.
    """
    if str(mode).strip().lower() == "off":
        return {"status": "off"}
    record, notes = find_widening([place], fingerprint)
    if record is None:
        return {"status": "no backtest", "searched": str(place), "not_used": notes}
    status = "applied" if record.get("applies") else "too few cuts"
    return {"status": status, **record, "not_used": notes}


def applied_factors(detail: Mapping[str, object]) -> dict[float, float]:
    """The factor of each level a run applies (empty unless ``status`` is ``applied``)."""
    if detail.get("status") != "applied":
        return {}
    levels: Mapping[str, Mapping[str, object]] = detail.get("levels", {})  # type: ignore[assignment]
    return {float(e["level"]): float(e["factor"]) for e in levels.values()}  # type: ignore[arg-type]


def widening_note(record: Mapping[str, object] | None) -> str:
    """What a run's ``interval_widening`` detail says, in one or two plain sentences."""
    if not record or record.get("status") == "off":
        return (
            "The intervals were not checked against a backtest of these data "
            "(output.interval_widening is off)."
        )
    if record.get("status") == "no backtest":
        return (
            "The intervals were not checked against a backtest of these data: none was "
            "found (run care-demand-backtest on them, then this run again)."
        )
    levels: Mapping[str, Mapping[str, object]] = record.get("levels", {})  # type: ignore[assignment]
    parts, widened = [], False
    for name, entry in levels.items():
        coverage = entry.get("coverage")
        held = "" if coverage is None else f"held {float(coverage) * 100:.0f}%"  # type: ignore[arg-type]
        factor = float(entry.get("factor", 1.0))  # type: ignore[arg-type]
        change = f"widened x{factor:.2f}" if factor > 1 else "unchanged"
        widened = widened or factor > 1
        parts.append(f"{name}% intervals {held}, {change}")
    where = f"the backtest in {record.get('backtest_dir')}"
    judged = (
        f"{record.get('cuts')} cuts, {record.get('forecasts')} forecasts of children in care "
        "and its placement groups"
    )
    if record.get("status") == "too few cuts":
        return (
            f"The intervals are as simulated: {where} had too few cuts to judge them "
            f"({judged}; at least {record.get('min_cuts')} needed). There: "
            + "; ".join(parts)
            + "."
        )
    how = (
        " Each widened interval's ends were moved away from the median by that factor (at most "
        f"x{float(record.get('max_factor', 0)):.1f}; docs/backtest.md), so it would have held "
        "its share of the record."
        if widened
        else " Each held at least its share of the record, so none was widened (docs/backtest.md)."
    )
    return (
        f"Intervals of children in care and its placement groups checked against {where} "
        f"({judged}): " + "; ".join(parts) + "." + how
    )


# An error at most this many times luck alone is told as "about as close as the record's own
# randomness allows" (an assumption, docs/backtest.md: a mean over a handful of cuts is
# itself a draw of luck, so a small excess says nothing).
_CLOSE_TO_LUCK = 1.2


def mc_error_text(value: object) -> str:
    """A Monte Carlo error of a % error as " ± 0.2" (points; " ± <0.1" below 0.05), or
    nothing when unknown."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return ""
    if math.isnan(number):
        return ""
    return " ± <0.1" if number < 0.05 else f" ± {number:.1f}"


def accuracy_note(record: Mapping[str, object] | None) -> str:
    """How close the council's own backtest came (its ``accuracy`` record: the target
    measure's mean absolute % error at the target horizon, its Monte Carlo error and the
    error luck alone gives), in one or two plain sentences; empty without a record."""
    if not record or record.get("mape") is None:
        return ""
    what = record.get("label") or str(record.get("measure", "")).replace("_", " ")
    mape = float(record["mape"])  # type: ignore[arg-type]
    text = (
        f"On that backtest, forecasts of {what} {record.get('horizon')} months ahead were "
        f"{mape:.1f}%{mc_error_text(record.get('mape_mc_error'))} from the record on average "
        f"({record.get('forecasts')} forecasts)"
    )
    luck = record.get("luck_mape")
    if luck is None:
        return text + "."
    luck = float(luck)  # type: ignore[arg-type]
    text += (
        f"; luck alone, with the rates and the level of arrivals known, would give "
        f'{luck:.1f}% (docs/backtest.md, "Luck alone")'
    )
    if mape <= _CLOSE_TO_LUCK * luck:
        return text + ": about as close as the record's own randomness allows."
    return text + (
        ": the forecasts missed something the record holds; the backtest's summary shows "
        "where they ran high or low."
    )
