"""Calibration: turn the event history into the parameters the flow model runs on.

- :class:`HazardModel` (PyMC): transition hazards by state, destination, age band and time
  in state, with partial pooling; placement group on entry to care and after a move.
- :class:`ArrivalModel` (Prophet): monthly arrivals from outside services with trend,
  school-year seasonality and the pandemic lockdowns; sample paths for each replicate.
- Levers (:class:`HazardLever`, :class:`EntryPreferenceLever`, :class:`ArrivalLever`,
  :class:`ArrivalLevel`) that scenarios use to change them.
- :class:`CalibrationConfig`: the stage's settings (``configs/calibration/``).
"""

from __future__ import annotations

from care_demand.calibration.arrival_levers import ArrivalLevel, ArrivalLever
from care_demand.calibration.arrival_settings import ArrivalSettings, LockdownPeriod
from care_demand.calibration.arrivals import ArrivalModel, monthly_arrivals
from care_demand.calibration.hazard_exposure import MOVE, TRANSITIONS, HazardIndex
from care_demand.calibration.hazard_levers import (
    EntryPreferenceLever,
    HazardLever,
    apply_entry_levers,
    apply_levers,
)
from care_demand.calibration.hazard_settings import HazardSettings
from care_demand.calibration.hazards import ConvergenceError, HazardDraws, HazardModel
from care_demand.calibration.settings import CalibrationConfig
from care_demand.errors import NotFittedError

__all__ = [
    "MOVE",
    "TRANSITIONS",
    "ArrivalLevel",
    "ArrivalLever",
    "ArrivalModel",
    "ArrivalSettings",
    "CalibrationConfig",
    "ConvergenceError",
    "EntryPreferenceLever",
    "HazardDraws",
    "HazardIndex",
    "HazardLever",
    "HazardModel",
    "HazardSettings",
    "LockdownPeriod",
    "NotFittedError",
    "apply_entry_levers",
    "apply_levers",
    "monthly_arrivals",
]
