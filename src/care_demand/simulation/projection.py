"""The one projection entry point: history + calibration + settings -> a projection.

Every caller that projects (the main job, the backtest, the benchmarks, the notebooks, the
browser app) goes through :func:`project`, so the replicate count, the posterior draws and
the random streams are decided in one place:

- the hazards' posterior is drawn ``settings.simulation.replicates`` times from the stream
  :func:`care_demand.streams.hazard_draws_rng` (replicate ``r`` uses draw ``r``);
- as many arrival paths are drawn, from the arrival model's own streams;
- replicates ``0 .. replicates-1`` are run, each from its own flow-model streams, serially or
  in worker processes with identical results.

:func:`prepare` builds the :class:`~care_demand.simulation.system.CareSystem` alone (for a
benchmark that times the engine, or a check that changes the system before running it) and
:func:`simulate` runs a prepared system; :func:`project` is the two in turn. :func:`schedule`
prepares a projection and starts its futures in the shared worker pool without waiting, so
several projections queue there while their caller writes the outputs of each in turn.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Protocol

import pandas as pd
from joblib import effective_n_jobs

from care_demand import streams
from care_demand.simulation.build import build_system
from care_demand.simulation.runner import (
    Submitted,
    flow_replicates,
    quantile_table,
    replicate_table,
    run_replicates,
)
from care_demand.simulation.settings import ProjectionSettings
from care_demand.simulation.system import CareSystem

if TYPE_CHECKING:
    import numpy as np

    from care_demand.calibration.arrivals import ArrivalModel
    from care_demand.calibration.hazards import HazardDraws
    from care_demand.data import EventHistory

__all__ = ["Calibration", "Projection", "Scheduled", "prepare", "project", "schedule", "simulate"]

log = logging.getLogger(__name__)


class _Hazards(Protocol):
    def draw(self, n: int, rng: np.random.Generator) -> HazardDraws: ...


class Calibration(Protocol):
    """What a projection needs from the calibration: fitted hazards and arrival trends."""

    @property
    def hazards(self) -> _Hazards: ...

    @property
    def arrivals(self) -> ArrivalModel: ...


@dataclass
class Projection:
    """A projection: the system it ran and every replicate's monthly figures.

    ``replicates`` is the tidy replicate table
    (:func:`~care_demand.simulation.runner.replicate_table`); ``quantiles`` its quantiles
    across replicates, computed when first read; ``flows`` every replicate's monthly flows
    by age at entry, placement move and step-down
    (:func:`~care_demand.simulation.runner.flow_replicates`).
    """

    system: CareSystem
    replicates: pd.DataFrame
    flows: pd.DataFrame = field(default_factory=pd.DataFrame)

    @cached_property
    def quantiles(self) -> pd.DataFrame:
        """Quantiles across replicates (:func:`~care_demand.simulation.runner.quantile_table`)."""
        return quantile_table(self.replicates)


def prepare(
    history: EventHistory, calibrated: Calibration, settings: ProjectionSettings
) -> CareSystem:
    """The care system of one projection: draws, arrival paths, caseload and capacity."""
    n = int(settings.simulation.replicates)
    if n < 1:
        raise ValueError(f"simulation.replicates is {n}; expected at least 1")
    draws = calibrated.hazards.draw(n, streams.hazard_draws_rng(settings.seed))
    return build_system(
        history,
        draws,
        calibrated.arrivals,
        settings.capacity,
        horizon_months=int(settings.simulation.horizon_months),
        n_paths=n,
        seed=settings.seed,
        care_leaver=settings.care_leaver,
        arrival_levers=settings.arrival_levers,
        arrival_levels=settings.arrival_levels,
        hazard_levers=settings.hazard_levers,
        entry_levers=settings.entry_levers,
        example_capacity=settings.example_capacity,
        rate_drift_sd=float(settings.simulation.rate_drift_sd),
    )


class Scheduled:
    """A projection whose futures are under way in the worker pool (see :func:`schedule`).

    :meth:`result` waits for them and returns the :class:`Projection`; with one process
    (``simulation.n_jobs`` 1) the futures run there and then.
    """

    def __init__(self, system: CareSystem, settings: ProjectionSettings) -> None:
        self.system = system
        self.settings = settings
        sim = settings.simulation
        self._submitted = (
            Submitted(
                system, int(sim.replicates), settings.seed, int(sim.n_jobs), int(sim.chunk_size)
            )
            if effective_n_jobs(int(sim.n_jobs)) > 1
            else None
        )

    def result(self, progress: Callable[[int], None] | None = None) -> Projection:
        """The projection, once every future is done.

        ``progress`` is called with the number of replicates finished so far.
        """
        sim = self.settings.simulation
        log.info(
            "Simulating %d replicates x %d months from %s (%d children open at the start)",
            sim.replicates,
            self.system.horizon_months,
            f"{self.system.start:%Y-%m-%d}",
            len(self.system.caseload),
        )
        if self._submitted is not None:
            results = self._submitted.results(progress)
        else:
            results = run_replicates(
                self.system,
                int(sim.replicates),
                self.settings.seed,
                n_jobs=1,
                chunk_size=int(sim.chunk_size),
                progress=progress,
            )
        return Projection(
            system=self.system,
            replicates=replicate_table(results, self.system),
            flows=flow_replicates(results, self.system),
        )

    def cancel(self) -> None:
        """Withdraw the futures not yet started."""
        if self._submitted is not None:
            self._submitted.cancel()


def schedule(
    history: EventHistory, calibrated: Calibration, settings: ProjectionSettings
) -> Scheduled:
    """Prepare a projection and hand its futures to the worker pool at once.

    The pool works through projections in the order they were scheduled, so a caller with
    several (the scenarios of a multirun, the browser app's comparison) schedules them all
    first and then reads each :meth:`Scheduled.result` in turn, writing one's outputs while
    the pool simulates the next. The results are those of :func:`project`.
    """
    return Scheduled(prepare(history, calibrated, settings), settings)


def simulate(
    system: CareSystem,
    settings: ProjectionSettings,
    progress: Callable[[int], None] | None = None,
) -> Projection:
    """Run replicates ``0 .. settings.simulation.replicates-1`` of a prepared system.

    ``progress`` is called with the number of replicates finished so far.
    """
    return Scheduled(system, settings).result(progress)


def project(
    history: EventHistory,
    calibrated: Calibration,
    settings: ProjectionSettings,
    progress: Callable[[int], None] | None = None,
) -> Projection:
    """Project ``history`` forward with the calibrated models under ``settings``."""
    return schedule(history, calibrated, settings).result(progress)
