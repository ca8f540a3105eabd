"""Backtesting: how well the model would have forecast what then happened.

Rolling-origin cuts of the event history, a calibration and projection per cut, and scores
against the record: error of the median, MASE against a no-change forecast, interval
coverage and PIT values (:mod:`.core`); their charts (:mod:`.charts`); the
``care-demand-backtest`` command (:mod:`.cli`). Method: ``docs/backtest.md``.
"""

from __future__ import annotations

from care_demand.backtest import core
from care_demand.backtest.core import *  # noqa: F403  (the public surface is core's)

__all__ = list(core.__all__)
