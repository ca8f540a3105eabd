"""The Scenarios page's plain logic: scenario files read into form values, written back,
checked by the command line's own validation, saved, copied and deleted."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from care_demand.app import scenario_files
from care_demand.app.scenario_fields import Table
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


def test_a_lever_setting_the_form_does_not_show_survives_a_save(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A form without the uncertainty column stands for a form older than a new setting.
    def without_log_sd(item: object) -> object:
        if isinstance(item, Table) and item.path == "scenario.hazard_levers":
            kept = tuple(f for f in item.fields if f.key != "multiplier_log_sd")
            return dataclasses.replace(item, fields=kept)
        return item

    sections = tuple(
        dataclasses.replace(s, items=tuple(without_log_sd(i) for i in s.items))
        for s in scenario_files.SECTIONS
    )
    monkeypatch.setattr(scenario_files, "SECTIONS", sections)
    form = read_form(folder, "families_first")
    lever = "scenario.hazard_levers.family_help_cin_step_up"
    assert f"{lever}.multiplier_log_sd" not in form.values
    form.values.update({"scenario.name": "ff_edited", f"{lever}.multiplier": 0.85})
    save_scenario(form, folder)
    config = _load(folder, "ff_edited", tmp_path / "root")
    saved = config.scenario.hazard_levers["family_help_cin_step_up"]  # type: ignore[attr-defined]
    assert (saved.multiplier, saved.multiplier_log_sd) == (0.85, 0.15)


def test_family_network_meetings_edited_in_the_form_run_on_the_command_line(
    folder: Path, tmp_path: Path
) -> None:
    form = read_form(folder, "families_first")
    meetings = "capacity.family_network.meetings"
    assert form.values[f"{meetings}[0][1]"] == 10
    assert form.values["capacity.family_network.offer_share"] == 0.8
    assert form.values["costs.income.prevention_grant.by_year"] == (
        "2025/26: 1400000, 2026/27: 1400000, 2027/28: 1400000"
    )
    form = add_row(form, meetings)
    form.values.update(
        {
            "scenario.name": "more_meetings",
            f"{meetings}[0][1]": 15.0,
            f"{meetings}[1][0]": "2027-04-01",
            f"{meetings}[1][1]": 20,
            "capacity.family_network.kinship_share_median": 0.3,
            # As a finance officer types it: pounds signs and thousands separators.
            "costs.income.prevention_grant.by_year": "2025/26: £1,500,000; 2026/27: 1400000",
        }
    )
    save_scenario(form, folder)
    config = _load(folder, "more_meetings", tmp_path / "root")
    validate_config(config)  # type: ignore[arg-type]
    net = config.capacity.family_network  # type: ignore[attr-defined]
    assert net.meetings == [["2025-04-01", 15], ["2027-04-01", 20]]
    assert (net.offer_share, net.kinship_share_median) == (0.8, 0.3)
    # The settings the form does not show are kept.
    assert (net.routes, net.care_entry_multiplier_log_sd, net.kinship_share_log_sd) == (
        ["planned"],
        0.15,
        0.5,
    )
    costs = config.costs  # type: ignore[attr-defined]
    assert costs.income["prevention_grant"].by_year == {"2025/26": 1500000.0, "2026/27": 1400000.0}
    assert costs.activity["family_network_meetings"].title.startswith("Family network meetings")


def test_family_network_and_cost_problems_name_their_fields(folder: Path) -> None:
    form = read_form(folder, "families_first")
    form.values["capacity.family_network.offer_share"] = -0.2
    form.values["capacity.family_network.meetings[0][1]"] = -3
    form.values["costs.activity.family_network_meetings.category"] = "kinship_foster"
    form.values["costs.activity.family_network_meetings.basis"] = "flow"
    form.values["scenario.hazard_levers.family_help_cin_step_up.multiplier_log_sd"] = -0.1
    problems = dict(form_problems(form, folder))
    offer = problems["capacity.family_network.offer_share"]
    assert "share of families about to enter care offered one" in offer and "-0.2" in offer
    meetings = problems["capacity.family_network.meetings[0][1]"]
    assert "Family network meetings, row 1: Meetings a month" in meetings
    assert "What is counted" in problems["costs.activity.family_network_meetings.category"]
    spread = problems["scenario.hazard_levers.family_help_cin_step_up.multiplier_log_sd"]
    assert "Uncertainty (sd of log" in spread


@pytest.mark.parametrize("typed", ["about a million", "2025/26: 5, 2025/26: 4", "2025: 1"])
def test_income_that_cannot_be_read_names_its_field(folder: Path, typed: str) -> None:
    form = read_form(folder, "families_first")
    form.values["costs.income.prevention_grant.by_year"] = typed
    problems = form_problems(form, folder)
    assert [p for p, _ in problems] == ["costs.income.prevention_grant.by_year"]
    assert "£ by financial year" in problems[0][1] and "cannot be read" in problems[0][1]
