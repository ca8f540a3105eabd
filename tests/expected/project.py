"""The projection behind the stored expected results, through the public entry points."""

from __future__ import annotations

from typing import Any

from care_demand.calibration.arrivals import ArrivalModel
from care_demand.calibration.hazards import HazardDraws
from care_demand.config import load_config, projection_settings
from care_demand.data import EventHistory
from care_demand.finance import cost_replicates
from care_demand.pipeline import Calibrated
from care_demand.simulation.build import OutsideArrivals
from care_demand.simulation.projection import project

from . import figures


def project_figures(scenario: str, history: EventHistory, draws: HazardDraws) -> dict[str, Any]:
    """Key figures of ``scenario`` projected from the stored draws (see ``figures``)."""
    config = load_config([*figures.OVERRIDES, f"scenario={scenario}"])
    arrivals = ArrivalModel(config.calibration.arrivals).fit(OutsideArrivals.of(history))
    fitted = Calibrated(hazards=figures.StoredHazards(draws), arrivals=arrivals)  # type: ignore[arg-type]
    replicates = project(history, fitted, projection_settings(config)).replicates
    costs = cost_replicates(replicates, config.costs, config.seed)
    return figures.summarise(replicates, costs)
