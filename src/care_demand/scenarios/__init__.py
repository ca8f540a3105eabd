"""Scenarios: what-if configurations and their comparison against the baseline.

- :class:`ScenarioConfig`: the ``scenario`` block of a file in ``scenarios/`` (name, story,
  levers on arrivals, hazards and placement at entry); capacity and cost changes are plain
  overrides of ``capacity`` and ``costs`` in the same file.
- :func:`validate_config`: every range, date and name checked before any computation.
- :func:`scenario_levers`: the lever objects the simulation applies.
"""

from __future__ import annotations

from care_demand.scenarios.levers import ScenarioLevers, scenario_levers
from care_demand.scenarios.schema import (
    ArrivalLeverConfig,
    EntryLeverConfig,
    HazardLeverConfig,
    ScenarioConfig,
)
from care_demand.scenarios.validate import config_problems, validate_config

__all__ = [
    "ArrivalLeverConfig",
    "EntryLeverConfig",
    "HazardLeverConfig",
    "ScenarioConfig",
    "ScenarioLevers",
    "config_problems",
    "scenario_levers",
    "validate_config",
]
