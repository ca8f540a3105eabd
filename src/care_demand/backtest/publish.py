"""Publishing the backtest: withhold small recorded counts, write tables, charts and summary.

Recorded counts pass through the disclosure rule (:func:`withheld_counts`, which uses
:func:`care_demand.outputs.disclosure.suppression_mask`): a withheld figure is replaced by the
rule's marker in every table, and the scores that depend on it are withheld and left out of
the aggregates. :func:`write_backtest` writes the tables, the charts (:mod:`.charts`) and
the Markdown summary (:mod:`.summary`) through a :class:`RunFolder`.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from care_demand import __version__
from care_demand.backtest.arrival_drift import SCORE as DRIFT_SCORE
from care_demand.backtest.arrival_variants import ERROR, variant_record
from care_demand.backtest.charts import forecast_chart, pit_histogram
from care_demand.backtest.metrics import summarise
from care_demand.backtest.rate_variants import rate_record
from care_demand.backtest.settings import (
    ARRIVAL_VARIANT_FILE,
    ARRIVAL_VARIANTS_FILE,
    CALIBRATION_FILE,
    FORECASTS_FILE,
    METRICS_FILE,
    RATE_VARIANT_FILE,
    RATE_VARIANTS_FILE,
    RECORDED_FILE,
    REPORT_FILE,
    SUMMARY_FILE,
    BacktestAppConfig,
    BacktestConfig,
    measure_atoms,
)
from care_demand.backtest.summary import measure_label, summary_markdown, target_row
from care_demand.outputs.charts import save_figure
from care_demand.outputs.disclosure import DisclosureRule, suppress_counts, suppression_mask
from care_demand.outputs.interval_widening import widening_record
from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.run_folder import RunFolder
from care_demand.pipeline import SYNTHETIC_CAPTION

if TYPE_CHECKING:
    from care_demand.backtest.run import BacktestResult

__all__ = ["accuracy_record", "published_tables", "withheld_counts", "write_backtest"]

# Columns holding recorded counts.
_COUNT_COLUMNS = frozenset(("actual", "naive", "recorded"))
# Columns of the metrics table that are derived from recorded counts (withheld together).
_RECORDED_COLUMNS = (
    "actual",
    "naive",
    "error",
    "abs_error",
    "pct_error",
    "abs_pct_error",
    "naive_abs_error",
    "mase",
    "pit",
    "luck_abs_pct_error",
)


def _totals(measures: Mapping[str, Sequence[str]]) -> list[tuple[str, list[str]]]:
    """Lines ``(total, parts)`` among the measures, where the parts partition the total.

    The parts of a measure are the largest other measures inside it (those not inside a
    larger one that is itself inside the total); a line exists when they cover the total
    exactly once. Nested lines (care, fostering, the foster groups) each form a line.
    """
    atoms = {
        name: frozenset(a for c in cats for a in measure_atoms(c))
        for name, cats in measures.items()
    }
    lines = []
    for total, whole in atoms.items():
        inner = {n: a for n, a in atoms.items() if n != total and a < whole}
        parts = [n for n, a in inner.items() if not any(a < b for b in inner.values())]
        covered = [a for n in parts for a in atoms[n]]
        if parts and len(covered) == len(set(covered)) and set(covered) == whole:
            lines.append((total, parts))
    return lines


def withheld_counts(
    recorded: pd.DataFrame, measures: Mapping[str, Sequence[str]], rule: DisclosureRule
) -> pd.DataFrame:
    """Which recorded values to withhold: a boolean frame like ``recorded`` (wide, month rows).

    Each month's figures go through :func:`care_demand.outputs.disclosure.suppression_mask`,
    the one implementation of the disclosure rule: counts from 1 to ``rule.suppress_max``
    and, with ``rule.secondary``, a second figure wherever a measure is the total of others
    and exactly one of the line is withheld.
    """
    columns = list(recorded.columns)
    lines = [
        [columns.index(total), *(columns.index(p) for p in parts)]
        for total, parts in _totals({m: measures[m] for m in columns})
    ]
    values = recorded.to_numpy(dtype=float)
    hidden = np.array([suppression_mask(row, lines, rule) for row in values], dtype=bool)
    return pd.DataFrame(hidden.reshape(values.shape), index=recorded.index, columns=columns)


def published_tables(
    result: BacktestResult, rule: DisclosureRule
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Recorded, forecasts, metrics and summary tables with small counts withheld."""
    marker = rule.marker
    wide = result.recorded.pivot(index="month", columns="measure", values="recorded")
    wide = wide[list(result.measures)]
    hidden = withheld_counts(wide, result.measures, rule)
    hidden_long = (
        hidden.rename_axis(index="month")
        .reset_index()
        .melt(id_vars="month", var_name="measure", value_name="hidden")
    )

    recorded = result.recorded.merge(hidden_long, on=["month", "measure"], how="left")
    recorded["recorded"] = _marked(recorded["recorded"], recorded["hidden"], marker)
    recorded = recorded.drop(columns="hidden")

    forecasts = result.forecasts.merge(hidden_long, on=["month", "measure"], how="left")
    forecasts["recorded"] = _marked(forecasts["recorded"], forecasts["hidden"], marker)
    forecasts = forecasts.drop(columns="hidden")

    metrics = result.metrics.copy()
    at_date = metrics.merge(
        hidden_long.rename(columns={"month": "date"}), on=["date", "measure"], how="left"
    )["hidden"].to_numpy(dtype=bool)
    at_cut = metrics.merge(
        hidden_long.rename(columns={"month": "cut"}), on=["cut", "measure"], how="left"
    )["hidden"].to_numpy(dtype=bool)
    withheld = at_date | at_cut
    metrics["scored"] = ~withheld
    inside = [c for c in metrics.columns if c.startswith("inside_")]
    present = [c for c in _RECORDED_COLUMNS if c in metrics.columns]
    for column in (*present, *inside):
        metrics[column] = _marked(metrics[column], pd.Series(withheld), marker)
    levels = [float(c.removeprefix("inside_")) / 100 for c in inside]
    # The aggregates cover the published rows only.
    summary = summarise(result.metrics.assign(scored=~withheld), levels)
    return recorded, forecasts, metrics, summary


def _marked(values: pd.Series, hidden: pd.Series, marker: str) -> pd.Series:
    """``values`` with the hidden ones replaced by ``marker`` (counts shown as integers)."""
    hidden = pd.Series(np.asarray(hidden, dtype=bool), index=values.index)
    if values.name in _COUNT_COLUMNS:
        values = values.round().astype("Int64")
    if not hidden.any():
        return values
    return values.astype(object).where(~hidden, marker)


def write_backtest(
    result: BacktestResult,
    run_dir: str | Path,
    config: BacktestAppConfig,
    *,
    synthetic: bool,
    details: Mapping[str, object] | None = None,
) -> list[Path]:
    """Publish the backtest's tables, charts and summary through a :class:`RunFolder`."""
    settings = config.backtest
    recorded, forecasts, metrics, summary = published_tables(
        result, DisclosureRule.from_config(config.output)
    )
    caption = SYNTHETIC_CAPTION if synthetic else ""
    run_dir = Path(run_dir)
    with RunFolder(run_dir) as out:
        out.write_csv(RECORDED_FILE, _dates(recorded, "month"))
        out.write_csv(FORECASTS_FILE, _rounded(_dates(forecasts, "cut", "month")))
        out.write_csv(METRICS_FILE, _rounded(_dates(metrics, "cut", "date")))
        out.write_csv(SUMMARY_FILE, _rounded(summary))
        out.write_csv(
            CALIBRATION_FILE, _rounded(_dates(result.calibration, "cut", "fit_start", "fit_end"))
        )
        for measure in result.measures:
            figure = forecast_chart(
                recorded[recorded["measure"] == measure],
                forecasts[forecasts["measure"] == measure],
                levels=[float(level) for level in settings.levels],
                horizons=[int(h) for h in settings.horizons],
                history_months=settings.chart_history_months,
                title=f"Backtest: {measure_label(measure)}, forecasts from each cut "
                "against the record",
                caption=caption,
            )
            save_figure(figure, out.path(LAYOUT.backtest.forecast_chart(measure)))
        scored = metrics[metrics["scored"]]
        save_figure(
            pit_histogram(
                pd.to_numeric(scored["pit"]).to_numpy(),
                scored["horizon_months"].to_numpy(),
                bins=settings.pit_bins,
                caption=caption,
            ),
            out.path(LAYOUT.backtest.pit_histogram),
        )
        rule = settings.interval_widening
        widening = {
            "data_fingerprint": dict(details or {}).get("data_fingerprint"),
            "window": [f"{result.window[0]:%Y-%m-%d}", f"{result.window[1]:%Y-%m-%d}"],
            **widening_record(
                metrics,
                [float(level) for level in settings.levels],
                rule.measures,
                max_factor=float(rule.max_factor),
                min_cuts=int(rule.min_cuts),
            ),
            "accuracy": accuracy_record(summary, settings),
        }
        out.write_text(LAYOUT.backtest.interval_widening, json.dumps(widening, indent=2) + "\n")
        variant = _write_choice(
            out,
            result.arrival_scores,
            result.shipped_variant,
            int(settings.arrival_variants.months),
            config,
            ("trend_damping", ERROR),
            (ARRIVAL_VARIANTS_FILE, ARRIVAL_VARIANT_FILE),
        )
        drift = _write_choice(
            out,
            result.drift_scores,
            result.shipped_drift,
            int(settings.arrival_drift.months),
            config,
            ("level_drift_sd", DRIFT_SCORE),
            (LAYOUT.backtest.arrival_drifts, LAYOUT.backtest.arrival_drift),
        )
        rates = None
        if not result.rate_scores.empty:
            rates = rate_record(
                result.rate_scores,
                settings.rate_variants.recent_months,
                int(settings.rate_variants.months),
                settings.rate_variants.half_life_years,
            )
            out.write_csv(
                RATE_VARIANTS_FILE,
                published_variant_scores(result.rate_scores, rule_of(config)),
            )
            out.write_text(RATE_VARIANT_FILE, json.dumps(rates, indent=2) + "\n")
        out.write_text(
            REPORT_FILE,
            summary_markdown(
                result,
                summary,
                metrics,
                config,
                synthetic=synthetic,
                widening=widening,
                variant=variant,
                rates=rates,
                drift=drift,
            ),
        )
        run_details = {
            "package_version": __version__,
            "synthetic_data": synthetic,
            **dict(details or {}),
            "mode": result.mode,
            "seed": config.seed,
            "cuts": [f"{c:%Y-%m-%d}" for c in result.cuts],
            "skipped_measures": list(result.skipped),
            "config": dataclasses.asdict(config),
        }
        out.write_text(LAYOUT.run_details, json.dumps(run_details, indent=2, default=str) + "\n")
    return sorted(p for p in run_dir.rglob("*") if p.is_file())


def _write_choice(
    out: RunFolder,
    scores: pd.DataFrame,
    shipped: str,
    months: int,
    config: BacktestAppConfig,
    scored: tuple[str, str],
    files: tuple[str, str],
) -> dict[str, object] | None:
    """An arrival setting's variants scored over the cuts, published (``files``: the scores'
    CSV, the choice's JSON), and the choice; None when nothing was scored. ``scored``: the
    setting each variant sets and the score it is chosen by."""
    if scores.empty:
        return None
    setting, score = scored
    values = {str(k): float(v) for k, v in scores.groupby("variant")[setting].first().items()}
    record = variant_record(scores, values, shipped, months, setting, score)
    out.write_csv(files[0], published_variant_scores(scores, rule_of(config)))
    out.write_text(files[1], json.dumps(record, indent=2) + "\n")
    return record


def accuracy_record(summary: pd.DataFrame, settings: BacktestConfig) -> dict[str, object]:
    """The error of the target measure at the target horizon (``backtest.targets``) as plain
    data, for a run on the same data to quote: ``measure`` and its ``label`` in words,
    ``horizon``, ``forecasts`` scored, ``mape``, its ``mape_mc_error`` and ``luck_mape``
    (None when not scored)."""
    targets = settings.targets
    row = target_row(summary, targets)

    def value(column: str) -> float | None:
        if not len(row) or column not in row:
            return None
        number = float(row[column].iloc[0])
        return None if np.isnan(number) else round(number, 4)

    return {
        "measure": targets.measure,
        "label": measure_label(targets.measure),
        "horizon": int(targets.horizon),
        "forecasts": int(row["n"].iloc[0]) if len(row) else 0,
        "mape": value("mape"),
        "mape_mc_error": value("mape_mc_error"),
        "luck_mape": value("luck_mape"),
    }


def rule_of(config: BacktestAppConfig) -> DisclosureRule:
    """The disclosure rule of the backtest's output settings."""
    return DisclosureRule.from_config(config.output)


def published_variant_scores(scores: pd.DataFrame, rule: DisclosureRule) -> pd.DataFrame:
    """A variant choice's scores (arrival trends and drifts, rate periods) as published:
    recorded counts from 1 to ``rule.suppress_max`` withheld with their scores (kinds are
    disjoint: primary suppression only), cut dates as YYYY-MM-DD, figures rounded."""
    primary = DisclosureRule(rule.suppress_max, rule.marker, secondary=False)
    out = suppress_counts(scores.reset_index(drop=True), "recorded", primary)
    hidden = out["recorded"] == rule.marker
    for column in ("pct_error", "abs_pct_error", "crps_pct"):
        if column in out.columns:
            out[column] = out[column].astype(object).where(~hidden, rule.marker)
    columns = ["cut", *(c for c in out.columns if c != "cut")]
    return _rounded(_dates(out[columns], "cut"))


def _dates(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    out = frame.copy()
    for column in columns:
        out[column] = pd.to_datetime(out[column]).dt.strftime("%Y-%m-%d")
    return out


def _rounded(frame: pd.DataFrame, digits: int = 4) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(digits)
    return out
