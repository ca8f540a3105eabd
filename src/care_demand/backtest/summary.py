"""The backtest's Markdown summary page (``backtest/summary.md``) and its target checks.

:func:`target_checks` compares the summary with ``backtest.targets`` (the error of the median
at one horizon, the coverage of each interval); :func:`summary_markdown` writes the page:
settings, targets, the target measure at every cut, accuracy and coverage over the cuts, and
the calibration at each cut.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from care_demand import vocab
from care_demand.backtest.metrics import level_name
from care_demand.backtest.settings import (
    CALIBRATION_FILE,
    CHART_DIR,
    FORECASTS_FILE,
    METRICS_FILE,
    RECORDED_FILE,
    SUMMARY_FILE,
    BacktestAppConfig,
    BacktestConfig,
    BacktestTargets,
)
from care_demand.outputs.disclosure import DisclosureRule
from care_demand.outputs.interval_widening import mc_error_text
from care_demand.outputs.rate_choice import rate_variant_words
from care_demand.pipeline import SYNTHETIC_CAPTION

if TYPE_CHECKING:
    from care_demand.backtest.run import BacktestResult

__all__ = ["mape_cell", "measure_label", "summary_markdown", "target_checks", "target_row"]


def measure_label(measure: str) -> str:
    names = {
        vocab.CARE: "children in care",
        vocab.CIN: "children in need (CIN)",
        vocab.CP: "child protection plans",
        vocab.EARLY_HELP: "early help",
    }
    return names.get(measure, measure.replace("_", " "))


def _formatted(value: object, spec: str, suffix: str = "") -> str:
    """A number formatted with ``spec``; blank when missing, other values as text."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    return "" if math.isnan(number) else f"{number:{spec}}{suffix}"


def _pct(value: object, digits: int = 1) -> str:
    return _formatted(value, f"+.{digits}f", "%")


def _num(value: object, digits: int = 0) -> str:
    return _formatted(value, f",.{digits}f")


def mape_cell(mape: object, mc_error: object) -> str:
    """A mean absolute % error with its Monte Carlo error ("4.6% ± 0.7"); blank when there
    is none (every record of the row withheld)."""
    text = _formatted(mape, ",.1f", "%")
    return text + mc_error_text(mc_error) if text else ""


def _interval_cell(row: pd.Series, level: str) -> str:
    """An interval for the Markdown table, marked when the record fell outside it."""
    text = f"{_num(row[f'lower_{level}'])}-{_num(row[f'upper_{level}'])}"
    inside = row[f"inside_{level}"]
    if row["scored"] and not bool(inside):
        text += " (missed)"
    return text


def target_row(summary: pd.DataFrame, targets: BacktestTargets) -> pd.DataFrame:
    """The summary's row of ``targets.measure`` at ``targets.horizon`` months (none when it
    was not scored)."""
    return summary[
        (summary["horizon_months"].astype(str) == str(targets.horizon))
        & (summary["measure"] == targets.measure)
    ]


def target_checks(summary: pd.DataFrame, settings: BacktestConfig) -> list[dict[str, object]]:
    """The summary's checks against ``backtest.targets``: name, target, result, met."""
    targets = settings.targets
    checks: list[dict[str, object]] = []
    row = target_row(summary, targets)
    mape = float(row["mape"].iloc[0]) if len(row) else float("nan")
    mc = row["mape_mc_error"].iloc[0] if len(row) and "mape_mc_error" in row else float("nan")
    luck = row["luck_mape"].iloc[0] if len(row) and "luck_mape" in row else float("nan")
    beside = f" (luck alone: {luck:.1f}%)" if not math.isnan(float(luck)) else ""
    checks.append(
        {
            "check": f"{targets.horizon}-month error of the median, "
            f"{measure_label(targets.measure)} (mean absolute % over the cuts)",
            "target": f"under {targets.max_abs_pct_error:g}%",
            "result": f"{mape:.1f}%{mc_error_text(mc)}{beside}"
            if not math.isnan(mape)
            else "not scored",
            "met": bool(mape < targets.max_abs_pct_error) if not math.isnan(mape) else False,
        }
    )
    pooled = summary[(summary["horizon_months"] == "all") & (summary["measure"] == "all")]
    for level in settings.levels:
        name = level_name(float(level))
        rate = float(pooled[f"coverage_{name}"].iloc[0]) if len(pooled) else float("nan")
        gap = abs(rate - float(level)) * 100
        checks.append(
            {
                "check": f"coverage of the {name}% intervals (every measure, cut and horizon; "
                f"n = {int(pooled['n'].iloc[0]) if len(pooled) else 0})",
                "target": f"{name}% +/- {targets.coverage_tolerance_points:g} points",
                "result": f"{rate * 100:.0f}%" if not math.isnan(rate) else "not scored",
                "met": bool(gap <= targets.coverage_tolerance_points)
                if not math.isnan(rate)
                else False,
            }
        )
    return checks


def summary_markdown(
    result: BacktestResult,
    summary: pd.DataFrame,
    metrics: pd.DataFrame,
    config: BacktestAppConfig,
    *,
    synthetic: bool,
    widening: Mapping[str, object] | None = None,
    variant: Mapping[str, object] | None = None,
    rates: Mapping[str, object] | None = None,
    drift: Mapping[str, object] | None = None,
) -> str:
    """The backtest's summary page: settings, targets, the care series, the tables,
    (``widening``) the factors a run on the same data widens its intervals by, and the
    choices its record makes: the arrival trend (``variant``), the arrivals' level drift
    (``drift``) and the rates' period (``rates``)."""
    settings = config.backtest
    levels = [level_name(float(level)) for level in settings.levels]
    start, end = result.window
    lines = ["# Backtest: forecasts against what happened", ""]
    if synthetic:
        lines += [f"_{SYNTHETIC_CAPTION}_", ""]
    lines += [
        f"Data: {start:%d %B %Y} to {end:%d %B %Y}, {vocab.MODE_TITLES[result.mode]}.",
        f"Cuts: {', '.join(f'{c:%Y-%m-%d}' for c in result.cuts)}; horizons "
        f"{', '.join(str(h) for h in settings.horizons)} months; {settings.replicates} "
        f"replicates per cut; intervals {', '.join(f'{lv}%' for lv in levels)}.",
        "At each cut the hazards and arrival trends are fitted on the data up to the cut only; "
        "the projection starts the month after it. Method and definitions: docs/backtest.md.",
        "",
    ]
    if not config.capacity.enforce:
        lines += [
            "In-house capacity limits were not applied (capacity.enforce false): the placement "
            "mix follows the shares fitted before each cut.",
            "",
        ]
    if result.skipped:
        lines += [f"Not scored (not in care-only data): {', '.join(result.skipped)}.", ""]

    lines += ["## Targets", "", "| Check | Target | Result | Met |", "|---|---|---|---|"]
    for check in target_checks(summary, settings):
        met = "yes" if check["met"] else "no"
        lines.append(f"| {check['check']} | {check['target']} | {check['result']} | {met} |")
    lines.append("")

    care = settings.targets.measure
    lines += [
        f"## {measure_label(care).capitalize()}, every cut",
        "",
        "| Cut | Months ahead | Date | Recorded | Median | Error | "
        + " | ".join(f"{lv}% interval" for lv in levels)
        + " | PIT |",
        "|---|---|---|---|---|---|" + "---|" * len(levels) + "---|",
    ]
    for _, row in metrics[metrics["measure"] == care].iterrows():
        intervals = " | ".join(_interval_cell(row, lv) for lv in levels)
        pit = _num(row["pit"], 2) if row["scored"] else row["pit"]
        lines.append(
            f"| {pd.Timestamp(row['cut']):%Y-%m-%d} | {row['horizon_months']} | "
            f"{pd.Timestamp(row['date']):%Y-%m-%d} | {_num(row['actual'])} | "
            f"{_num(row['median'])} | {_pct(row['pct_error'])} | {intervals} | {pit} |"
        )
    lines.append("")

    lines += [
        "## Accuracy and coverage over the cuts",
        "",
        "MAPE: mean absolute % error of the median, ± its Monte Carlo error (how far "
        "another draw of the replicates could move it: a difference smaller than that is "
        "noise); luck alone: the mean absolute % error a forecast that knew the rates and the "
        "arrivals' level would still make, from who arrives in a month and who leaves when "
        "(no model beats it on average; an error near it leaves little to gain); bias: mean "
        "signed % error (positive: forecasts ran high); MASE below 1: smaller errors than a "
        "no-change forecast makes on average over the training window. Coverage: share of "
        "recorded values inside the interval (+/- the binomial sd if calibrated).",
        "",
        "| Months ahead | Measure | n | MAPE | Luck alone | Bias | MASE | Mean PIT | "
        + " | ".join(f"{lv}% coverage" for lv in levels)
        + " |",
        "|---|---|---|---|---|---|---|---|" + "---|" * len(levels),
    ]
    for _, row in summary.iterrows():
        coverage = " | ".join(
            f"{row[f'coverage_{lv}'] * 100:.0f}% +/- {row[f'coverage_{lv}_sd'] * 100:.0f}"
            if row["n"]
            else ""
            for lv in levels
        )
        withheld = f" ({row['withheld']} withheld)" if row["withheld"] else ""
        mape = mape_cell(row["mape"], row.get("mape_mc_error"))
        luck = _formatted(row.get("luck_mape", float("nan")), ".1f", "%")
        lines.append(
            f"| {row['horizon_months']} | {measure_label(str(row['measure']))} | "
            f"{row['n']}{withheld} | {mape} | {luck} | {_pct(row['mean_pct_error'])} | "
            f"{_num(row['mean_mase'], 2)} | {_num(row['mean_pit'], 2)} | {coverage} |"
        )
    lines.append("")

    if widening is not None:
        lines += _widening_lines(widening)
    if variant is not None:
        lines += _variant_lines(variant)
    if drift:
        lines += _drift_lines(drift)
    if rates is not None:
        lines += _rate_lines(rates)
    lines += [
        "## Calibration at each cut",
        "",
        "| Cut | Fitted on | Children open at the cut | Max R-hat | Min bulk ESS | Divergences |",
        "|---|---|---|---|---|---|",
    ]
    for _, row in result.calibration.iterrows():
        lines.append(
            f"| {row['cut']:%Y-%m-%d} | {row['fit_start']:%Y-%m-%d} to {row['fit_end']:%Y-%m-%d} "
            f"({row['fit_months']} months) | {row['children_open_at_cut']:,} | "
            f"{row['max_rhat']:.3f} | {row['min_ess_bulk']:.0f} | {row['divergences']} |"
        )
    lines += [
        "",
        f"{DisclosureRule.from_config(config.output).describe()} Withheld figures are left "
        "out of the aggregates.",
        "",
        f"Files: `{FORECASTS_FILE}`, `{METRICS_FILE}`, `{SUMMARY_FILE}`, `{RECORDED_FILE}`, "
        f"`{CALIBRATION_FILE}`, charts in `{CHART_DIR}/`.",
    ]
    return "\n".join(lines) + "\n"


def _widening_lines(widening: Mapping[str, object]) -> list[str]:
    """The section on the intervals of a run on these data (output.interval_widening)."""
    levels: Mapping[str, Mapping[str, object]] = widening["levels"]  # type: ignore[assignment]
    applies = bool(widening["applies"])
    lines = [
        "## Intervals of a run on these data",
        "",
        f"Children in care and its placement groups, pooled over {widening['cuts']} cuts and "
        f"every horizon ({widening['forecasts']} forecasts). A run on the same data with "
        "output.interval_widening auto moves each interval's ends away from the median by the "
        "factor below, the smallest that would have held the interval's share of these "
        f"records (never below 1, at most {float(widening['max_factor']):g}; docs/backtest.md)"
        + (
            "."
            if applies
            else f", but only after at least {widening['min_cuts']} cuts: with these, it does not."
        ),
        "",
        "| Interval | Coverage | Factor | Coverage widened |",
        "|---|---|---|---|",
    ]
    for name, entry in levels.items():
        capped = " (capped)" if entry.get("capped") else ""
        lines.append(
            f"| {name}% | {_formatted(_share(entry.get('coverage')), '.0f', '%')} | "
            f"{float(entry['factor']):.2f}{capped} | "  # type: ignore[arg-type]
            f"{_formatted(_share(entry.get('coverage_widened')), '.0f', '%')} |"
        )
    return [*lines, ""]


def _share(value: object) -> float:
    return float("nan") if value is None else 100 * float(value)  # type: ignore[arg-type]


def _variant_lines(variant: Mapping[str, object]) -> list[str]:
    """The section on the arrival trend variant the record chooses, and its nested check."""
    intro = (
        f"Arrivals from outside services over the {variant['months']} months after each cut "
        f"({variant['cuts']} cuts), each kind's forecast (median) against the record, by how "
        "far the fitted trend is carried past the history (calibration.arrivals.trend_damping). "
        f"Chosen: **{variant['chosen']}** (trend_damping {float(variant['trend_damping']):g}); "  # type: ignore[arg-type]
        f"the shipped setting is {variant['shipped']}."
    )
    return _choice_lines("The arrival trend the record chooses", intro, variant)


def _drift_lines(record: Mapping[str, object]) -> list[str]:
    """The section on the arrivals' level drift the record chooses, and its nested check."""
    intro = (
        f"Arrivals from outside services over the {record['months']} months after each origin "
        f"({record['cuts']} origins: the cuts and the dates between them, each with an arrival "
        "fit of its own), each kind's forecast distribution (each path's total drawn "
        "as a Poisson count) against the record, by how far the arrivals may wander from "
        "their forecast in a year (calibration.arrivals.level_drift_sd). Scored by the "
        "continuous ranked probability score as a % of the record: lowest for the forecast "
        "whose spread matches its errors, too wide or too narrow. It sets most of the width "
        "of the intervals of children in care. "
        f"Chosen: **{record['chosen']}** (level_drift_sd "
        f"{float(record['level_drift_sd']):g}); the shipped setting is {record['shipped']}."  # type: ignore[arg-type]
    )
    return _choice_lines(
        "The arrivals' drift the record chooses", intro, record, "crps_pct", "Mean CRPS"
    )


def _rate_lines(record: Mapping[str, object]) -> list[str]:
    """The section on the period the rates are fitted on, and its nested check."""
    intro = (
        f"Transitions over the {record['months']} months after each cut ({record['cuts']} "
        "cuts), each expected by the rates fitted before the cut (posterior means, given the "
        "children recorded in each state, age and time in state) against the record: rates "
        f"fitted on {rate_variant_words(record)}. Each cut's error is that of all "
        "transitions together: each transition's absolute error summed, as a percentage of "
        "the transitions recorded (`rate_variants.csv` has each transition's). Arrivals do "
        f"not enter this score. Chosen: **{record['chosen']}**; the shipped setting is "
        f"{record['shipped']}."
    )
    left_out = record.get("left_out") or []
    if left_out:
        intro += (
            f" Left out of the choice: {', '.join(map(str, left_out))} (its fit did not pass "  # type: ignore[call-overload]
            "the convergence checks at every cut)."
        )
    return _choice_lines("The period the rates are fitted on", intro, record)


def _choice_lines(
    title: str,
    intro: str,
    record: Mapping[str, object],
    score: str = "abs_pct_error",
    label: str = "Mean absolute % error",
) -> list[str]:
    """A variant choice's section: its intro, each variant's mean ``score`` (headed
    ``label``) and the nested check."""
    means: Mapping[str, float] = record[f"mean_{score}"]  # type: ignore[assignment]
    nested: list[Mapping[str, object]] = record["nested"]  # type: ignore[assignment]
    lines = [
        f"## {title}",
        "",
        intro,
        "",
        f"| Variant | {label} |",
        "|---|---|",
        *(f"| {name} | {_num(value, 1)}% |" for name, value in means.items()),
        "",
    ]
    if nested:
        lines += [
            "Nested check: at each cut, the variant chosen on the earlier cuts whose months "
            "had ended by then, against the shipped one, on that cut alone.",
            "",
            "| Cut | Earlier cuts | Chosen | Its error | Shipped error |",
            "|---|---|---|---|---|",
            *(
                f"| {row['cut']} | {row['earlier_cuts']} | {row['chosen']} | "
                f"{_num(row['chosen_error'], 1)}% | {_num(row['shipped_error'], 1)}% |"
                for row in nested
            ),
            "",
            f"Mean: chosen {_num(record['nested_chosen_error'], 1)}%, shipped "
            f"{_num(record['nested_shipped_error'], 1)}%.",
            "",
        ]
    else:
        lines += ["No cut has an earlier cut whose months had ended: no nested check.", ""]
    return lines
