"""A scenario that changes what the council's data do not record stops before any work,
naming each lever and its file: referrals on the SSDA903 return alone would change nothing,
and the comparison would show no effect for a reason nobody could see."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from care_demand import vocab
from care_demand.config import CONFIG_DIR, load_config, scenario_file
from care_demand.data import EventHistory
from care_demand.errors import ConfigError
from care_demand.paths import EXAMPLE_DATA_DIR, SCENARIO_DIR
from care_demand.scenarios import check_levers_held

CARE_ONLY = ({"care_entry"}, {"care", "care_leaver"})


def _problems(scenario: str, kinds: set[str], states: set[str]) -> list[str]:
    config = load_config([f"scenario={scenario}"])
    try:
        check_levers_held(config, kinds, states, scenario_file(config), CONFIG_DIR)
    except ConfigError as exc:
        return str(exc).splitlines()[1:]
    return []


def test_referrals_on_the_ssda903_return_alone_are_named_with_the_way_out() -> None:
    (line,) = _problems("demand_surge", *CARE_ONLY)
    assert line.strip().startswith(
        "scenario.arrival_levers.referral_surge.kind (scenarios/demand_surge.yaml)"
    )
    assert "changes referral arrivals, which these data do not record" in line
    assert "(kind care_entry)" in line and "CIN census and early help" in line


def test_moves_out_of_services_the_data_lack_are_named_too() -> None:
    lines = _problems("families_first", *CARE_ONLY)
    fields = {line.split()[0] for line in lines}
    assert "scenario.arrival_levers.family_help_re_referrals.kind" in fields
    assert "scenario.hazard_levers.family_help_cin_step_up.state" in fields
    assert "scenario.hazard_levers.family_help_early_help_step_up.state" in fields
    # A CIN census without early help: moves out of children in need are recorded.
    partial = _problems(
        "families_first", {"referral", "care_entry"}, {"assessment", "cin", "cp", "care"}
    )
    assert {line.split()[0] for line in partial} == {
        "scenario.hazard_levers.family_help_early_help_step_up.state"
    }


def test_every_shipped_scenario_fits_the_example(example_history: EventHistory) -> None:
    kinds = set(example_history.arrivals_from_outside()["kind"])
    states = set(example_history.spells["state"])
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        assert _problems(path.stem, kinds, states) == [], path.name
    # Levers on care alone fit data of children in care alone.
    for scenario in ("more_foster_carers", "harbour_expansion", "new_childrens_homes"):
        assert _problems(scenario, *CARE_ONLY) == [], scenario


def test_a_run_on_the_ssda903_return_alone_stops_before_calibrating(tmp_path: Path) -> None:
    from care_demand.pipeline import run

    data = tmp_path / "data"
    shutil.copytree(EXAMPLE_DATA_DIR / "ssda903", data / "ssda903")
    config = load_config([f"data.path={data}", "scenario=demand_surge", "run_until=data"])
    with pytest.raises(ConfigError, match=r"referral_surge\.kind .*do not record"):
        run(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_the_app_names_the_scenarios_that_cannot_run_on_the_data_checked(
    tmp_path: Path,
) -> None:
    from care_demand.app.actions import inspect_data
    from care_demand.app.scenario_files import scenarios_not_held

    data = tmp_path / "data"
    shutil.copytree(EXAMPLE_DATA_DIR / "ssda903", data / "ssda903")
    view = inspect_data(str(data))
    assert view.states == {"care", "care_leaver"} and view.arrival_kinds == {"care_entry"}
    not_held = scenarios_not_held(SCENARIO_DIR, view.arrival_kinds, view.states)
    assert set(not_held) == {"demand_surge", "families_first"}
    example = inspect_data(None)
    assert example.states is not None and example.arrival_kinds is not None
    assert scenarios_not_held(SCENARIO_DIR, example.arrival_kinds, example.states) == {}


def test_the_scenarios_page_marks_levers_the_data_checked_do_not_record() -> None:
    """Edited in the app against the SSDA903 return alone, a referral lever is marked on its
    own field as not on those data, which does not stop the file being saved (it may be
    run on data that record referrals); with no data checked, or the whole continuum,
    nothing is marked."""
    from care_demand.app.scenario_files import check_form, read_form

    form = read_form(SCENARIO_DIR, "demand_surge")
    checked = check_form(form, SCENARIO_DIR, CARE_ONLY)
    assert checked.problems == []
    assert [field for field, _ in checked.not_held] == [
        "scenario.arrival_levers.referral_surge.kind"
    ]
    assert checked.not_held[0][1].startswith("changes referral arrivals, which these data do not")
    assert check_form(form, SCENARIO_DIR).not_held == []
    everything = ({"referral", "early_help_request", "care_entry"}, set(vocab.STATES))
    assert check_form(form, SCENARIO_DIR, everything).not_held == []
