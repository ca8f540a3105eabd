"""The calibration stage's settings (``configs/calibration/default.yaml``).

The hazards' and arrivals' own settings are validated where they are defined
(:mod:`.hazard_settings`, :mod:`.arrivals`); this is the block that holds them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from care_demand.calibration.arrivals import ArrivalSettings
from care_demand.calibration.hazard_settings import HazardSettings

__all__ = ["CalibrationConfig"]


@dataclass
class CalibrationConfig:
    """Calibration settings (``configs/calibration/default.yaml``)."""

    hazards: HazardSettings = field(default_factory=HazardSettings)
    arrivals: ArrivalSettings = field(default_factory=ArrivalSettings)
    # The reference period the transition rates are fitted on (YYYY-MM-DD; None: from the
    # start / to the end of the record). See :mod:`care_demand.calibration.reference`.
    reference_start: str | None = None
    reference_end: str | None = None
    # With no reference period set: fit the rates on the recent period a backtest of the same
    # data chose, when the choice held out of sample (:mod:`care_demand.outputs.rate_choice`).
    reference_from_backtest: bool = True
    # Where fitted posteriors are kept and reused while the data and settings are unchanged.
    cache_dir: str = ".cache/calibration"
