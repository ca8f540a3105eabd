"""The flow model: children moving through services in a SimPy environment per replicate.

- :func:`project` (with :func:`prepare`, :func:`simulate` and :func:`schedule`): the one
  projection entry point, from history, calibration and :class:`ProjectionSettings` to a
  :class:`Projection`.
- :class:`CareSystem` and :func:`build_system`: the model described as plain data.
- :class:`ReplicateModel`: one replicate; :func:`run_replicates`, :func:`replicate_table` and
  :func:`quantile_table`: many, serially or in parallel, and their tidy summaries.
- :func:`expected_stocks`: the independent expected-value check of the flow model.
- :class:`SimulationConfig`, :class:`CapacityConfig`: the stage's settings, validated by
  :func:`simulation_problems` and :func:`capacity_problems`.
"""

from __future__ import annotations

from care_demand.simulation.build import build_system
from care_demand.simulation.capacity import CapacityConfig, capacity_problems
from care_demand.simulation.engine import ReplicateModel, ReplicateResult
from care_demand.simulation.expected import expected_stocks
from care_demand.simulation.projection import (
    Projection,
    Scheduled,
    prepare,
    project,
    schedule,
    simulate,
)
from care_demand.simulation.runner import quantile_table, replicate_table, run_replicates
from care_demand.simulation.settings import (
    ProjectionSettings,
    SimulationConfig,
    simulation_problems,
)
from care_demand.simulation.system import CareSystem

__all__ = [
    "CapacityConfig",
    "CareSystem",
    "Projection",
    "ProjectionSettings",
    "ReplicateModel",
    "ReplicateResult",
    "Scheduled",
    "SimulationConfig",
    "build_system",
    "capacity_problems",
    "expected_stocks",
    "prepare",
    "project",
    "quantile_table",
    "replicate_table",
    "run_replicates",
    "schedule",
    "simulate",
    "simulation_problems",
]
