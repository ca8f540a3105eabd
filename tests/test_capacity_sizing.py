"""In-house capacity sized to a council's own caseload when its own figures are not set."""

from __future__ import annotations

import dataclasses
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from care_demand import vocab
from care_demand.config import AppConfig, load_config, projection_settings, shipped_capacity
from care_demand.data import EventHistory
from care_demand.paths import EXAMPLE_DATA_DIR
from care_demand.pipeline import Calibrated
from care_demand.simulation import prepare, simulate
from care_demand.simulation.build import sizing_note
from care_demand.simulation.capacity import (
    CapacityConfig,
    HomeConfig,
    capacity_problems,
    sized_to_caseload,
    usable_places_per_household,
)
from care_demand.simulation.system import code_of

START = pd.Timestamp("2022-04-01")


def test_sizing_fills_the_service_the_council_had_at_the_start() -> None:
    shipped = load_config([]).capacity
    sized = sized_to_caseload(shipped, inhouse_foster=38, inhouse_residential=2, start=START)
    per_household = usable_places_per_household(shipped.fostering)
    assert per_household == pytest.approx(1.7 * shipped.fostering.usable_share)
    assert sized.fostering.households == math.ceil(38 / per_household)
    scale = sized.fostering.households / shipped.fostering.households
    assert sized.fostering.enquiries_per_month == pytest.approx(
        shipped.fostering.enquiries_per_month * scale
    )
    assert sized.fostering.annual_attrition == shipped.fostering.annual_attrition
    assert sum(home.beds for home in sized.homes.values()) == 2
    assert sized.harbour.caseload == []  # the example's outreach (from April 2021) is not theirs
    assert sized.sizing == "configured"
    # The shipped settings are not changed.
    assert shipped.fostering.households == 133 and shipped.harbour.caseload


def test_a_scenarios_new_homes_and_later_outreach_are_kept_as_configured() -> None:
    shipped = load_config([]).capacity
    homes = {
        "old_a": HomeConfig(name="a", beds=8, opens="2010-01-01"),
        "old_b": HomeConfig(name="b", beds=4, opens="2015-01-01"),
        "closed": HomeConfig(name="c", beds=3, opens="2010-01-01", closes="2020-01-01"),
        "new": HomeConfig(name="n", beds=5, opens="2023-01-01"),
    }
    harbour = dataclasses.replace(
        shipped.harbour, caseload=[["2021-04-01", 40], ["2023-04-01", 80]]
    )
    cap = dataclasses.replace(shipped, homes=homes, harbour=harbour)
    sized = sized_to_caseload(cap, inhouse_foster=0, inhouse_residential=6, start=START)
    beds = {name: home.beds for name, home in sized.homes.items()}
    assert beds == {"old_a": 4, "old_b": 2, "closed": 3, "new": 5}
    assert sized.harbour.caseload == [["2023-04-01", 80]]
    assert sized.fostering.households == 0 and sized.fostering.enquiries_per_month == 0.0
    note = sizing_note(sized, START)
    assert "0 mainstream fostering households" in note and ", 6 beds in the" in note
    assert "no Harbour outreach, then as the scenario sets it." in note
    kept = dataclasses.replace(sized.harbour, caseload=[["2021-04-01", 12], ["2023-04-01", 80]])
    note = sizing_note(dataclasses.replace(sized, harbour=kept), START)
    assert "Harbour outreach for 12, then as the scenario sets it." in note


def test_what_a_scenario_adds_to_a_sized_capacity_is_set_beside_the_examples() -> None:
    """On a council's data the shipped scenarios' homes, outreach and fixed costs are the
    example's absolute figures: the run's scenario page lists them beside the capacity the
    council starts with and the example's; the baseline adds none. The scenario's outreach
    steps are growth over the example's outreach team, which is costed from the first of
    them (the example's base team alone is left out, with the example's outreach)."""
    from care_demand.pipeline import _outreach_from, _own_fixed_costs, _scenario_additions

    def sized_and_costs(scenario: str) -> tuple[AppConfig, CapacityConfig]:
        config = load_config([f"scenario={scenario}"])
        settings = projection_settings(config)
        example = shipped_capacity()  # as on a council's data (capacity.sizing auto)
        sized = sized_to_caseload(
            settings.capacity,
            inhouse_foster=30,
            inhouse_residential=2,
            start=START,
            example=example,
        )
        costs = _own_fixed_costs(config.costs, START, _outreach_from(sized, START))
        return dataclasses.replace(config, costs=costs), sized

    def added(scenario: str) -> str:
        config, sized = sized_and_costs(scenario)
        return _scenario_additions(config, sized, START, shipped_capacity())

    harbour_config, _ = sized_and_costs("harbour_expansion")
    team = harbour_config.costs.fixed["harbour_team"]
    assert team.start == "2022-06-01" and team.annual == 1_000_000.0
    assert "harbour_team" not in sized_and_costs("baseline")[0].costs.fixed
    harbour = added("harbour_expansion")
    assert "8 beds in 2 children's home(s) opening later, against the 2 open at the" in harbour
    assert "Harbour outreach for up to 80 young people" in harbour
    # the example's team (£1m) and the two steps of growth (£0.5m each)
    assert "fixed costs of £2.00m a year and £1.30m capital" in harbour
    households = load_config([]).capacity.fostering.households
    assert f"in-house fostering of {households} households, where this council starts" in harbour
    assert added("baseline") == ""
    assert "opening later" not in added("more_foster_carers")


def test_figures_a_council_has_set_are_kept_and_the_examples_sized() -> None:
    shipped = load_config([]).capacity
    own_homes = dict(shipped.homes)
    own_homes["ours"] = HomeConfig(name="our home", beds=3, opens="2012-01-01")
    council = dataclasses.replace(
        shipped,
        fostering=dataclasses.replace(shipped.fostering, households=60, enquiries_per_month=9.0),
        homes=own_homes,
    )
    sized = sized_to_caseload(
        council, inhouse_foster=38, inhouse_residential=5, start=START, example=shipped
    )
    assert sized.fostering.households == 60 and sized.fostering.enquiries_per_month == 9.0
    # The council's own home keeps its beds; the example's existing home takes the rest.
    assert sized.homes["ours"].beds == 3 and sized.homes["existing"].beds == 2
    assert sized.harbour.caseload == []
    # Outreach the council had before the start is its own: kept.
    theirs = dataclasses.replace(
        shipped, harbour=dataclasses.replace(shipped.harbour, caseload=[["2020-01-01", 12]])
    )
    sized = sized_to_caseload(
        theirs, inhouse_foster=38, inhouse_residential=5, start=START, example=shipped
    )
    assert sized.harbour.caseload == [["2020-01-01", 12]]
    assert sized.fostering.households == math.ceil(
        38 / usable_places_per_household(shipped.fostering)
    )


def test_the_examples_outreach_is_dropped_whenever_the_run_starts() -> None:
    """A backtest cut before the example's service began (April 2021) must not gain it on
    another council's data; a scenario's steps after the example's are kept."""
    shipped = load_config([]).capacity
    early = pd.Timestamp("2019-04-01")
    sized = sized_to_caseload(
        shipped, inhouse_foster=38, inhouse_residential=5, start=early, example=shipped
    )
    assert shipped.harbour.caseload == [["2021-04-01", 40]] and sized.harbour.caseload == []
    expansion = dataclasses.replace(
        shipped,
        harbour=dataclasses.replace(
            shipped.harbour,
            caseload=[["2021-04-01", 40], ["2022-06-01", 60], ["2023-04-01", 80]],
        ),
    )
    for start in (early, START):
        sized = sized_to_caseload(
            expansion, inhouse_foster=38, inhouse_residential=5, start=start, example=shipped
        )
        assert sized.harbour.caseload == [["2022-06-01", 60], ["2023-04-01", 80]]


def test_auto_means_the_examples_capacity_for_the_example_and_sized_for_a_council(
    tmp_path: Path,
) -> None:
    def sizing(*overrides: str) -> str:
        return projection_settings(load_config(list(overrides))).capacity.sizing

    assert load_config([]).capacity.sizing == "auto"
    assert sizing() == "configured"
    assert sizing(f"data.path={EXAMPLE_DATA_DIR}") == "configured"
    assert sizing(f"data.path={tmp_path}") == "caseload"
    settings = projection_settings(load_config([f"data.path={tmp_path}"]))
    assert settings.example_capacity is not None
    assert settings.example_capacity.fostering.households == 133
    assert projection_settings(load_config([])).example_capacity is None
    # Asked for outright, every part is sized, whatever its figures.
    assert projection_settings(load_config(["capacity.sizing=caseload"])).example_capacity is None
    assert sizing(f"data.path={tmp_path}", "capacity.sizing=configured") == "configured"
    assert sizing("capacity.sizing=caseload") == "caseload"


def test_an_unknown_sizing_is_named() -> None:
    cap = dataclasses.replace(load_config([]).capacity, sizing="fitted")
    problems = dict(capacity_problems(cap))
    assert "capacity.sizing" in problems
    assert "auto, configured, caseload" in problems["capacity.sizing"]


def _inhouse_foster(
    history: EventHistory, calibrated: Calibrated, config: AppConfig
) -> tuple[int, np.ndarray, int]:
    """The system's fostering households, the children in in-house foster care 24 months
    on (one per replicate) and those at the start."""
    settings = dataclasses.replace(
        projection_settings(config),
        simulation=dataclasses.replace(config.simulation, horizon_months=24),
    )
    system = prepare(history, calibrated, settings)
    code = code_of(vocab.CARE, vocab.INHOUSE_FOSTER)
    at_start = int((system.caseload["code"] == code).sum())
    projection = simulate(system, settings)
    rows = projection.replicates
    last = rows[
        (rows["measure"] == "children")
        & (rows["category"] == vocab.INHOUSE_FOSTER)
        & (rows["age_band"] == "all")
    ]
    last = last[last["month"] == last["month"].max()]["value"].to_numpy()
    return system.capacity.fostering.households, last, at_start


def test_sized_capacity_keeps_a_councils_children_in_house_as_they_were(
    example_history: EventHistory, example_calibrated: Calibrated, quick_config: AppConfig
) -> None:
    """The example's own capacity (the shipped figures) against three times as many
    households (recruiting as many per household): the extra places fill with children who
    would have gone to agencies. Sized to the caseload, the roomy settings give back about
    the example's own in-house foster care."""
    shipped = quick_config.capacity.fostering
    roomy_fostering = dataclasses.replace(
        shipped,
        households=3 * shipped.households,
        enquiries_per_month=3 * shipped.enquiries_per_month,
    )

    def with_capacity(fostering: object, sizing: str) -> AppConfig:
        capacity = dataclasses.replace(quick_config.capacity, fostering=fostering, sizing=sizing)
        return dataclasses.replace(quick_config, capacity=capacity)

    run = example_history, example_calibrated
    _, own, at_start = _inhouse_foster(*run, with_capacity(shipped, "configured"))
    households, roomy, _ = _inhouse_foster(*run, with_capacity(roomy_fostering, "configured"))
    assert households == 3 * shipped.households
    households, sized, _ = _inhouse_foster(*run, with_capacity(roomy_fostering, "caseload"))
    assert households == math.ceil(at_start / usable_places_per_household(shipped))
    assert roomy.mean() > 1.2 * own.mean()
    # Common random numbers: the replicates differ only by the capacity (and the example's
    # Harbour outreach, not kept when sized), so the sized service's mean is within a few
    # children of the example's own (8 replicates; measured 131 against 133).
    assert abs(sized.mean() - own.mean()) < 0.05 * own.mean(), (sized, own, roomy)


def test_a_run_sized_to_its_caseload_says_so_in_its_report_and_details(
    tmp_path: Path, report_config: AppConfig
) -> None:
    import json

    from care_demand.outputs.layout import LAYOUT
    from care_demand.pipeline import run

    config = dataclasses.replace(
        report_config, capacity=dataclasses.replace(report_config.capacity, sizing="caseload")
    )
    out = tmp_path / "run"
    run(config, out)
    details = json.loads((out / LAYOUT.run_details).read_text())
    as_run = details["capacity_as_run"]
    assert as_run["sizing"] == "configured" and as_run["harbour"]["caseload"] == []
    households = as_run["fostering"]["households"]
    scenario = (out / LAYOUT.scenario).read_text()
    assert "sized the service to the council's own caseload" in scenario
    assert f"{households} mainstream fostering households" in scenario
    assert "capacity.sizing=configured" in scenario
    assert "priced at the shipped unit costs" in scenario  # whose prices, said too
    # The example's running services go with its capacity: their costs too.
    assert "left out of the costs with its capacity: Harbour outreach team." in scenario
    lines = set(pd.read_csv(out / LAYOUT.costs_by_replicate)["line"])
    assert "harbour_team" not in lines and "kinship_foster" in lines
    assert "harbour_team" not in details["config"]["costs"]["fixed"]
    report = (out / LAYOUT.report).read_text()
    assert f"{households} mainstream fostering households" in report
    # The report's table of capacity settings gives what the simulation ran with.
    from care_demand.outputs.run_files import read_run

    assert read_run(out).config["capacity"]["fostering"]["households"] == households
    assert "young people from 2021-04-01" not in report  # the example's outreach
    row = re.search(r"Mainstream fostering households at the start</th><td>(\d+)<", report)
    assert row is not None and int(row.group(1)) == households
    # The capacity the simulation used is the one reported: in the first month, the usable
    # places of that many households (their sizes are drawn, so about).
    q = pd.read_csv(out / LAYOUT.quantiles)
    first = (
        q[
            (q["measure"] == "capacity")
            & (q["category"] == vocab.INHOUSE_FOSTER)
            & (q["age_band"] == "all")
        ]
        .sort_values("month")["p50"]
        .iloc[0]
    )
    places = households * usable_places_per_household(config.capacity.fostering)
    assert abs(first / places - 1.0) < 0.1


def test_the_example_runs_with_its_own_capacity_and_services(report_run: Path) -> None:
    import json

    from care_demand.outputs.layout import LAYOUT

    details = json.loads((report_run / LAYOUT.run_details).read_text())
    assert details["capacity_as_run"] is None
    scenario = (report_run / LAYOUT.scenario).read_text()
    assert "sized the service" not in scenario
    assert "priced at the shipped unit costs" not in scenario
    lines = set(pd.read_csv(report_run / LAYOUT.costs_by_replicate)["line"])
    assert "harbour_team" in lines


def test_the_app_says_what_a_run_on_a_councils_data_starts_with(
    tmp_path: Path,
    example_history: EventHistory,
    example_calibrated: Calibrated,
    quick_config: AppConfig,
) -> None:
    """The Data page's note on a council's folder gives the capacity the run's system is
    built with; on the built-in example it says nothing (the run uses configs/capacity/)."""
    import shutil

    from care_demand.app.actions import inspect_data
    from care_demand.simulation.build import capacity_at_start

    council = tmp_path / "council"
    shutil.copytree(EXAMPLE_DATA_DIR, council)
    assert inspect_data(None).capacity_note == ""
    note = inspect_data(str(council)).capacity_note
    settings = projection_settings(load_config([f"data.path={council}"]))
    settings = dataclasses.replace(settings, simulation=quick_config.simulation)
    system = prepare(example_history, example_calibrated, settings)
    sized = capacity_at_start(example_history, settings.capacity, settings.example_capacity)
    assert sized == system.capacity
    assert sized.fostering.households != settings.capacity.fostering.households
    beds = sum(home.beds for home in sized.homes.values() if home.open_at(START))
    assert f"{sized.fostering.households} mainstream fostering households" in note
    assert f", {beds} beds in the children's homes open then and no Harbour outreach" in note
    assert sized.harbour.caseload == []  # the example's outreach (from April 2021)
    assert note.startswith("A run on these data starts on 1 April 2022")
