"""The flow model's settings (``configs/simulation/``) and their validation.

:class:`SimulationConfig` is the schema of ``configs/simulation/default.yaml``;
:class:`ProjectionSettings` is everything one projection needs besides the history and the
calibration (its size, capacity, the seed, care leavers and the scenario's levers), built by
the composer (:func:`care_demand.config.projection_settings`) or directly in a notebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from care_demand.calibration.arrivals import ArrivalLevel, ArrivalLever
from care_demand.calibration.hazard_levers import EntryPreferenceLever, HazardLever
from care_demand.checking import Checker, Problems
from care_demand.data.settings import CareLeaverConfig
from care_demand.simulation.capacity import CapacityConfig
from care_demand.simulation.system import RATE_DRIFT_SD_RANGE

__all__ = ["ProjectionSettings", "SimulationConfig", "simulation_problems"]


@dataclass
class SimulationConfig:
    """Flow-model run settings (``configs/simulation/default.yaml``)."""

    horizon_months: int = 60
    replicates: int = 200
    n_jobs: int = -1
    chunk_size: int = 10
    rate_drift_sd: float = 0.0


def simulation_problems(sim: SimulationConfig) -> Problems:
    """Every problem in the simulation settings, as ``(field, message)`` pairs."""
    check = Checker()
    check.number("simulation.horizon_months", sim.horizon_months, 1)
    check.number("simulation.replicates", sim.replicates, 1)
    check.number("simulation.chunk_size", sim.chunk_size, 1)
    check.number("simulation.rate_drift_sd", sim.rate_drift_sd, *RATE_DRIFT_SD_RANGE)
    return check.problems


@dataclass(frozen=True)
class ProjectionSettings:
    """Everything a projection needs besides the event history and the calibration.

    ``simulation.replicates`` is the one replicate count: the number of posterior draws, of
    arrival paths and of replicates run. ``seed`` is the run's seed, split into every random
    stream by :mod:`care_demand.streams`. The levers are those of the scenario, already in
    name order (:func:`care_demand.scenarios.scenario_levers`). ``care_leaver``: who counts
    as a care leaver. ``example_capacity``: the shipped capacity a sizing compares with.
    """

    simulation: SimulationConfig = field(default_factory=SimulationConfig)
    capacity: CapacityConfig = field(default_factory=CapacityConfig)
    seed: int = 20220331
    care_leaver: CareLeaverConfig = field(default_factory=CareLeaverConfig)
    arrival_levers: tuple[ArrivalLever, ...] = ()
    arrival_levels: tuple[ArrivalLevel, ...] = ()
    hazard_levers: tuple[HazardLever, ...] = ()
    entry_levers: tuple[EntryPreferenceLever, ...] = ()
    # The shipped capacity (the built-in example's), when ``capacity`` is to be sized to the
    # caseload: only the parts still holding its figures are sized (sized_to_caseload).
    example_capacity: CapacityConfig | None = None
