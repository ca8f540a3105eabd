"""The Scenarios page's plain logic: scenario files read into form values, written back,
checked by the command line's own validation, saved, copied and deleted."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from care_demand.app.scenario_files import (
    ScenarioFileError,
    add_row,
    delete_scenario,
    duplicate_scenario,
    form_problems,
    read_form,
    save_scenario,
    scenario_titles,
    scenario_yaml,
    search_root,
)
from care_demand.config import load_config, validate_config
from care_demand.paths import SCENARIO_DIR

SHIPPED = sorted(p.stem for p in SCENARIO_DIR.glob("*.yaml"))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A copy of the shipped scenarios, as the app's scenarios folder."""
    out = tmp_path / "scenarios"
    shutil.copytree(SCENARIO_DIR, out)
    return out


def _tree(config: object) -> dict:
    return OmegaConf.to_container(OmegaConf.structured(config))  # type: ignore[return-value]


def _load(folder: Path, name: str, root: Path) -> object:
    """``care-demand scenario=NAME`` with ``folder`` on Hydra's search path."""
    return load_config([f"scenario={name}", search_root(folder, root)])


@pytest.mark.parametrize("name", SHIPPED)
def test_every_shipped_scenario_round_trips(name: str, folder: Path, tmp_path: Path) -> None:
    form = read_form(folder, name)
    text = scenario_yaml(form)
    assert text.startswith("# @package _global_\n")
    (folder / f"copy_of_{name}.yaml").write_text(text, encoding="utf-8")
    shipped = _tree(load_config([f"scenario={name}"]))
    written = _tree(_load(folder, f"copy_of_{name}", tmp_path / "root"))
    assert written == shipped
    assert form_problems(form, folder) == []


def test_a_saved_scenario_runs_on_the_command_line(folder: Path, tmp_path: Path) -> None:
    form = read_form(folder, "baseline")
    form = add_row(form, "capacity.fostering.recruitment")
    key = form.rows["capacity.fostering.recruitment"][-1]
    base = f"capacity.fostering.recruitment.{key}"
    form.values.update(
        {
            "scenario.name": "campaign_2024",
            "scenario.title": "A campaign in 2024",
            "scenario.description": "Thirty per cent more enquiries from April 2024.",
            f"{base}.enquiries_multiplier": 1.3,
            f"{base}.start": "2024-04-01",
            f"{base}.source": "assumption: the fostering service's plan",
        }
    )
    path = save_scenario(form, folder)
    assert path == folder / "campaign_2024.yaml"
    text = path.read_text(encoding="utf-8")
    assert "# assumption: the fostering service's plan" in text
    assert "description: >-" in text and "homes:" not in text  # only what changes
    config = _load(folder, "campaign_2024", tmp_path / "root")
    validate_config(config)  # type: ignore[arg-type]
    change = config.capacity.fostering.recruitment[key]  # type: ignore[attr-defined]
    assert (change.enquiries_multiplier, change.start) == (1.3, "2024-04-01")
    again = read_form(folder, "campaign_2024")
    assert again.values[f"{base}.source"] == "assumption: the fostering service's plan"
    assert scenario_titles(folder)["campaign_2024"] == "A campaign in 2024"


def test_negative_beds_name_the_field(folder: Path) -> None:
    form = read_form(folder, "new_childrens_homes")
    form.values["capacity.homes.block_contract.beds"] = -2
    problems = dict(form_problems(form, folder))
    message = problems["capacity.homes.block_contract.beds"]
    assert "Beds" in message and "capacity.homes.block_contract.beds" in message
    assert "-2" in message
    with pytest.raises(ScenarioFileError, match="Beds"):
        save_scenario(form, folder, overwrite=True)


def test_an_end_before_its_start_names_the_field(folder: Path) -> None:
    form = read_form(folder, "harbour_expansion")
    form.values["costs.fixed.harbour_hub_setup.end"] = "2021-01-01"
    form.values["capacity.homes.harbour_hub.closes"] = "2022-01-01"
    problems = dict(form_problems(form, folder))
    assert "not after the start" in problems["costs.fixed.harbour_hub_setup.end"]
    assert "not after opens" in problems["capacity.homes.harbour_hub.closes"]


def test_a_lever_on_a_missing_transition_names_it(folder: Path) -> None:
    form = read_form(folder, "more_foster_carers")
    form.values["scenario.hazard_levers.mockingbird_stability.destination"] = "closed"
    problems = dict(form_problems(form, folder))
    assert (
        "care has no transition to 'closed'"
        in problems["scenario.hazard_levers.mockingbird_stability.destination"]
    )


def test_copy_and_delete(folder: Path) -> None:
    path = duplicate_scenario(folder, "demand_surge", "surge_copy")
    assert read_form(folder, "surge_copy").values["scenario.name"] == "surge_copy"
    assert "referral_surge" in path.read_text(encoding="utf-8")
    with pytest.raises(ScenarioFileError, match="exists already"):
        duplicate_scenario(folder, "demand_surge", "surge_copy")
    delete_scenario(folder, "surge_copy")
    assert not path.exists()
    with pytest.raises(ScenarioFileError, match="baseline cannot be deleted"):
        delete_scenario(folder, "baseline")
    assert (folder / "baseline.yaml").is_file()
