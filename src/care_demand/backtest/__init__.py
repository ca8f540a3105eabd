"""Backtesting: how well the model would have forecast what then happened.

Rolling-origin cuts of the event history, a calibration and projection per cut, and scores
against the record: error of the median, MASE against a no-change forecast, interval
coverage and PIT values (:mod:`.core`); their charts (:mod:`.charts`); the
``care-demand-backtest`` command (:mod:`.cli`). Method: ``docs/backtest.md``.
"""

from __future__ import annotations

from care_demand.backtest.core import (
    BacktestAppConfig,
    BacktestConfig,
    BacktestResult,
    BacktestTargets,
    backtest,
    central_interval,
    load_backtest_config,
    mase_scale,
    pit_value,
    register_backtest_schema,
    run_backtest,
    score_forecast,
    summarise,
    validate_backtest,
    withheld_counts,
    write_backtest,
)

__all__ = [
    "BacktestAppConfig",
    "BacktestConfig",
    "BacktestResult",
    "BacktestTargets",
    "backtest",
    "central_interval",
    "load_backtest_config",
    "mase_scale",
    "pit_value",
    "register_backtest_schema",
    "run_backtest",
    "score_forecast",
    "summarise",
    "validate_backtest",
    "withheld_counts",
    "write_backtest",
]
