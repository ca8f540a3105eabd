"""Scenarios: the what-if description of a run, checked before the run starts.

- :class:`ScenarioConfig`: the ``scenario`` block of a file in ``scenarios/`` (name, story,
  levers on arrivals, hazards and placement at entry); capacity and cost changes are plain
  overrides of ``capacity`` and ``costs`` in the same file.
- :func:`scenario_problems`: every lever's range, date and name checked before any
  computation (gathered with the other stages' by :func:`care_demand.config.validate_config`).
- :func:`check_uasc_levers`: a scenario that sets UASC arrivals needs returns with UASC
  information (checked once the data are read).
- :func:`scenario_levers`: the lever objects the simulation applies.

The comparison of a multirun's scenarios with the baseline, after they have run, is
:func:`care_demand.outputs.comparison.compare_runs`.
"""

from __future__ import annotations

from care_demand.scenarios.levers import ScenarioLevers, scenario_levers
from care_demand.scenarios.schema import (
    ArrivalLeverConfig,
    EntryLeverConfig,
    HazardLeverConfig,
    ScenarioConfig,
    UascArrivalsConfig,
)
from care_demand.scenarios.validate import (
    check_levers_held,
    check_uasc_levers,
    levers_not_held,
    scenario_problems,
)

__all__ = [
    "ArrivalLeverConfig",
    "EntryLeverConfig",
    "HazardLeverConfig",
    "ScenarioConfig",
    "ScenarioLevers",
    "UascArrivalsConfig",
    "check_levers_held",
    "check_uasc_levers",
    "levers_not_held",
    "scenario_levers",
    "scenario_problems",
]
