"""The backtest's public names under their former module path.

They live in :mod:`.settings`, :mod:`.metrics`, :mod:`.run` and :mod:`.publish`; this
module re-exports them so that ``from care_demand.backtest.core import ...`` keeps working.
New code imports from :mod:`care_demand.backtest` or from those modules.
"""

from __future__ import annotations

from care_demand.backtest.metrics import (
    central_interval,
    mase_scale,
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
    load_backtest_config,
    register_backtest_schema,
    validate_backtest,
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
