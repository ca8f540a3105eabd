"""Each stage checks its own settings; the composer names the field and the file that set it."""

from __future__ import annotations

import dataclasses

import pytest

from care_demand.config import AppConfig, config_problems, load_config
from care_demand.data.settings import DataConfig, data_problems
from care_demand.errors import ConfigError
from care_demand.outputs.settings import OutputConfig, output_problems
from care_demand.simulation.settings import SimulationConfig, simulation_problems
from care_demand.simulation.system import RATE_DRIFT_SD_RANGE


def test_the_shipped_settings_have_no_problems() -> None:
    assert config_problems(load_config()) == []


def test_the_data_stage_checks_its_settings() -> None:
    bad = DataConfig(max_lost_caseload_share=1.5, link_gap_days=-1)
    fields = [field for field, _ in data_problems(bad)]
    assert fields == ["data.link_gap_days", "data.max_lost_caseload_share"]
    assert data_problems(DataConfig()) == []


def test_the_outputs_stage_checks_its_settings() -> None:
    assert output_problems(OutputConfig()) == []
    problems = dict(output_problems(OutputConfig(suppress_max=-1, stock_month=2, stock_day=30)))
    assert set(problems) == {"output.suppress_max", "output.stock_day"}
    assert "not a date" in problems["output.stock_day"]


def test_the_rate_drift_range_is_one_range() -> None:
    low, high = RATE_DRIFT_SD_RANGE
    assert simulation_problems(SimulationConfig(rate_drift_sd=high)) == []
    assert [f for f, _ in simulation_problems(SimulationConfig(rate_drift_sd=high + 0.1))] == [
        "simulation.rate_drift_sd"
    ]
    assert [f for f, _ in simulation_problems(SimulationConfig(rate_drift_sd=low - 0.1))] == [
        "simulation.rate_drift_sd"
    ]


def test_the_composer_gathers_every_stage_and_names_the_files() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(
            [
                "output.suppress_max=-1",
                "data.max_lost_caseload_share=2",
                "simulation.replicates=0",
                "capacity.fostering.households=-3",
            ]
        )
    message = str(caught.value)
    for line in (
        "output.suppress_max (configs/output/default.yaml)",
        "data.max_lost_caseload_share (configs/data/default.yaml)",
        "simulation.replicates (configs/simulation/default.yaml)",
        "capacity.fostering.households (configs/capacity/default.yaml)",
    ):
        assert line in message


def test_config_problems_is_the_sum_of_the_stages() -> None:
    config = AppConfig()
    config = dataclasses.replace(
        config,
        output=OutputConfig(suppress_max=-1),
        simulation=SimulationConfig(horizon_months=0),
    )
    fields = {field for field, _ in config_problems(config)}
    assert {"output.suppress_max", "simulation.horizon_months"} <= fields
