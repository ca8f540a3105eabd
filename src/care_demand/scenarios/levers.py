"""Turn a scenario's lever settings into the lever objects calibration and simulation use."""

from __future__ import annotations

from dataclasses import dataclass

from care_demand.calibration.arrival_levers import ArrivalLevel, ArrivalLever
from care_demand.calibration.arrival_settings import CARE_ENTRY_UASC
from care_demand.calibration.hazard_levers import EntryPreferenceLever, HazardLever
from care_demand.scenarios.schema import ScenarioConfig

__all__ = ["ScenarioLevers", "scenario_levers"]


@dataclass(frozen=True)
class ScenarioLevers:
    """A scenario's levers on arrivals, transition hazards and placement at entry, and the
    arrival kinds it sets to a fixed level (``levels``: the UASC arrivals)."""

    arrivals: tuple[ArrivalLever, ...] = ()
    hazards: tuple[HazardLever, ...] = ()
    entry: tuple[EntryPreferenceLever, ...] = ()
    levels: tuple[ArrivalLevel, ...] = ()


def scenario_levers(scenario: ScenarioConfig) -> ScenarioLevers:
    """The lever objects of ``scenario``, in name order (so results do not depend on file order)."""
    arrivals = tuple(
        ArrivalLever(
            kind=lever.kind,
            multiplier=float(lever.multiplier),
            start=str(lever.start),
            ramp_months=int(lever.ramp_months),
            name=name,
        )
        for name, lever in sorted(scenario.arrival_levers.items())
    )
    hazards = tuple(
        HazardLever(
            state=lever.state,
            destination=lever.destination,
            multiplier=float(lever.multiplier),
            start=str(lever.start),
            group=lever.group,
            age_bands=tuple(lever.age_bands),
            ramp_months=int(lever.ramp_months),
            name=name,
            multiplier_log_sd=float(lever.multiplier_log_sd),
        )
        for name, lever in sorted(scenario.hazard_levers.items())
    )
    entry = tuple(
        EntryPreferenceLever(
            group=lever.group,
            multiplier=float(lever.multiplier),
            start=str(lever.start),
            age_bands=tuple(lever.age_bands),
            ramp_months=int(lever.ramp_months),
            name=name,
        )
        for name, lever in sorted(scenario.entry_levers.items())
    )
    uasc = scenario.uasc_arrivals
    levels = (
        (
            ArrivalLevel(
                kind=CARE_ENTRY_UASC,
                per_month=float(uasc.per_month),
                start=str(uasc.start),
                name="uasc_arrivals",
            ),
        )
        if uasc is not None
        else ()
    )
    return ScenarioLevers(arrivals=arrivals, hazards=hazards, entry=entry, levels=levels)
