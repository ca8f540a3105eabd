"""Backtesting: how well the model would have forecast what then happened.

Rolling-origin cuts of the event history, a calibration and projection per cut
(:mod:`.run`), and scores against the record: error of the median, MASE against a no-change
forecast, interval coverage and PIT values (:mod:`.metrics`); the settings and their
validation (:mod:`.settings`); the published tables with small counts withheld
(:mod:`.publish`), the Markdown summary (:mod:`.summary`) and the charts (:mod:`.charts`);
the ``care-demand-backtest`` command (:mod:`.cli`). Method: ``docs/backtest.md``.
"""

from __future__ import annotations

from care_demand.backtest.metrics import (
    central_interval,
    luck_error,
    mape_mc_error,
    mase_scale,
    median_mc_error,
    pit_value,
    score_forecast,
    summarise,
)
from care_demand.backtest.publish import withheld_counts, write_backtest
from care_demand.backtest.run import BacktestResult, backtest, run_backtest
from care_demand.backtest.settings import (
    BacktestAppConfig,
    BacktestConfig,
    BacktestTargets,
    IntervalWidening,
    load_backtest_config,
    register_backtest_schema,
    validate_backtest,
)

__all__ = [
    "BacktestAppConfig",
    "BacktestConfig",
    "BacktestResult",
    "BacktestTargets",
    "IntervalWidening",
    "backtest",
    "central_interval",
    "load_backtest_config",
    "luck_error",
    "mape_mc_error",
    "mase_scale",
    "median_mc_error",
    "pit_value",
    "register_backtest_schema",
    "run_backtest",
    "score_forecast",
    "summarise",
    "validate_backtest",
    "withheld_counts",
    "write_backtest",
]
