"""Scenarios: composition, validation, levers inside the engine, in-house first."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from care_demand import vocab
from care_demand.calibration.hazard_levers import EntryPreferenceLever, HazardLever
from care_demand.config import SCENARIO_DIR, load_config
from care_demand.errors import ConfigError
from care_demand.simulation.capacity import (
    CapacityConfig,
    FosteringConfig,
    RecruitmentChange,
)
from care_demand.simulation.engine import ReplicateModel
from care_demand.simulation.system import code_of
from toy_system import small_system

SHIPPED = (
    "baseline",
    "more_foster_carers",
    "harbour_expansion",
    "new_childrens_homes",
    "transformation",
    "demand_surge",
    "uasc_nts_quota",
    "families_first",
)


def test_every_shipped_scenario_is_a_file_that_composes_and_validates() -> None:
    assert {p.stem for p in SCENARIO_DIR.glob("*.yaml")} == set(SHIPPED)
    for name in SHIPPED:
        config = load_config([f"scenario={name}"])
        assert config.scenario.name == name
        assert config.scenario.description.strip(), name


def test_transformation_combines_its_parts_and_the_baseline_is_left_alone() -> None:
    base = load_config([])
    combined = load_config(["scenario=transformation"])
    assert set(base.capacity.homes) == {"existing"}
    assert set(combined.capacity.homes) == {
        "existing",
        "harbour_hub",
        "harbour_home",
        "block_contract",
        "partner_homes",
    }
    assert "campaign" in combined.capacity.fostering.recruitment
    assert "mockingbird_stability" in combined.scenario.hazard_levers
    assert combined.capacity.harbour.caseload[-1][1] == 80
    # Fields a scenario does not touch keep their defaults.
    assert combined.capacity.fostering.households == base.capacity.fostering.households


@pytest.mark.parametrize(
    ("overrides", "field", "source", "what"),
    [
        (
            ["capacity.homes.existing.beds=-3"],
            "capacity.homes.existing.beds",
            "configs/capacity/default.yaml",
            "must be >= 0",
        ),
        (
            ["capacity.fostering.annual_attrition=1.2"],
            "capacity.fostering.annual_attrition",
            "configs/capacity/default.yaml",
            "must be <= 1",
        ),
        (
            ["+capacity.policy.out_of_area.residential=0.5"],
            "capacity.policy.out_of_area.residential",
            "configs/capacity/default.yaml",
            "placement group 'residential', which does not exist",
        ),
        (
            ["scenario=harbour_expansion", "capacity.homes.harbour_hub.closes=2021-01-01"],
            "capacity.homes.harbour_hub.closes",
            "scenarios/harbour_expansion.yaml",
            "not after opens",
        ),
        (
            ["scenario=demand_surge", "scenario.arrival_levers.referral_surge.multiplier=-1"],
            "scenario.arrival_levers.referral_surge.multiplier",
            "scenarios/demand_surge.yaml",
            "must be >= 0",
        ),
        (
            ["simulation.rate_drift_sd=-0.2"],
            "simulation.rate_drift_sd",
            "configs/simulation/default.yaml",
            "must be >= 0",
        ),
        (
            ["scenario=more_foster_carers", "scenario.hazard_levers.mockingbird_stability.group=x"],
            "scenario.hazard_levers.mockingbird_stability.group",
            "scenarios/more_foster_carers.yaml",
            "does not exist",
        ),
    ],
)
def test_invalid_values_give_one_message_naming_field_and_file(
    overrides: list[str], field: str, source: str, what: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(overrides)
    message = str(info.value)
    line = next(line for line in message.splitlines() if field in line)
    assert source in line and what in line, message


def test_an_unknown_scenario_lists_the_ones_there_are() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(["scenario=more_carers"])
    message = str(info.value)
    assert "scenario/more_carers" in message
    assert "more_foster_carers" in message and "Traceback" not in message


def test_a_wrongly_typed_value_names_its_field() -> None:
    with pytest.raises(ConfigError, match=r"capacity\.homes\.existing\.beds"):
        load_config(["capacity.homes.existing.beds=eight"])


def _stocks(system, replicate: int = 0, seed: int = 4) -> np.ndarray:
    return ReplicateModel(system, replicate, seed).run().stocks.sum(axis=2)


def test_a_hazard_lever_acts_from_its_month_and_leaves_earlier_months_unchanged() -> None:
    base = small_system(horizon=18)
    lever = HazardLever(state="cin", destination="care", multiplier=0.0, start="2022-10-01")
    changed = dataclasses.replace(base, hazard_levers=(lever,))
    a = ReplicateModel(base, 0, 4).run()
    b = ReplicateModel(changed, 0, 4).run()
    cin, care = (
        code_of(vocab.CIN) + 1,
        slice(code_of(vocab.CARE, vocab.PLACEMENT_GROUPS[0]) + 1, None),
    )
    # Common random numbers: the same children have the same luck until the lever starts.
    assert np.array_equal(a.stocks[:6], b.stocks[:6])
    assert a.flows[6:, cin, care].sum() > 10
    assert b.flows[6:, cin, care].sum() == 0


def test_a_lever_that_changes_nothing_changes_no_result() -> None:
    base = small_system(horizon=12)
    lever = HazardLever(state="cp", destination="care", multiplier=1.0, start="2022-07-01")
    same = dataclasses.replace(base, hazard_levers=(lever,))
    assert np.array_equal(_stocks(base), _stocks(same))


def test_an_entry_lever_shifts_placement_at_entry() -> None:
    base = small_system(horizon=12)
    lever = EntryPreferenceLever(group="kinship_foster", multiplier=20.0, start="2022-04-01")
    shifted = dataclasses.replace(base, entry_levers=(lever,))
    kinship = code_of(vocab.CARE, vocab.KINSHIP_FOSTER) + 1
    a = ReplicateModel(base, 0, 4).run().flows[:, : code_of(vocab.CARE, vocab.KINSHIP_FOSTER) + 1]
    b = (
        ReplicateModel(shifted, 0, 4)
        .run()
        .flows[:, : code_of(vocab.CARE, vocab.KINSHIP_FOSTER) + 1]
    )
    assert b[:, :, kinship].sum() > 3 * a[:, :, kinship].sum()


def _fostering_capacity(recruitment: dict) -> np.ndarray:
    capacity = CapacityConfig(
        fostering=FosteringConfig(households=100, recruitment=recruitment), homes={}
    )
    system = small_system(horizon=36, capacity=capacity)
    return np.stack([ReplicateModel(system, r, 9).run().capacity[:, 0] for r in range(6)])


def test_a_recruitment_campaign_adds_carers_from_its_start_and_not_before() -> None:
    base = _fostering_capacity({})
    campaign = RecruitmentChange(start="2023-01-01", enquiries_multiplier=3.0)
    more = _fostering_capacity({"campaign": campaign})
    # Months before the campaign's approvals (it starts in month 9; assessments take 6).
    assert np.array_equal(base[:, :15], more[:, :15])
    assert (more[:, -1] > base[:, -1]).all()


def test_inhouse_first_places_agency_bound_children_in_free_inhouse_places() -> None:
    roomy = CapacityConfig(fostering=FosteringConfig(households=2000), homes={})
    first = small_system(horizon=12, capacity=roomy)
    not_first = dataclasses.replace(
        first,
        capacity=dataclasses.replace(
            roomy, policy=dataclasses.replace(roomy.policy, inhouse_first=False)
        ),
    )
    ifa = code_of(vocab.CARE, vocab.IFA) + 1
    into_ifa = [ReplicateModel(s, 0, 2).run().flows[:, :, ifa].sum() for s in (first, not_first)]
    assert into_ifa[0] == 0 < into_ifa[1]


def test_help_lists_the_scenarios_and_the_settings_people_change() -> None:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "care_demand.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for name in SHIPPED:
        assert name in done.stdout
    for setting in ("data.path", "simulation.replicates", "care-demand-validate", "-m scenario="):
        assert setting in done.stdout


def test_families_first_validates_and_runs_with_its_levers_meetings_and_money() -> None:
    import pandas as pd

    from care_demand.finance import cost_replicates
    from care_demand.scenarios import scenario_levers
    from care_demand.simulation.runner import replicate_table

    config = load_config(["scenario=families_first"])
    base = load_config([])
    levers = scenario_levers(config.scenario)
    assert {lever.name for lever in levers.hazards} == {
        "family_help_early_help_step_up",
        "family_help_cin_step_up",
    }
    assert all(lever.multiplier_log_sd > 0 for lever in levers.hazards)
    # The toy system from January 2025, with the scenario's capacity, hazard and entry levers.
    capacity = dataclasses.replace(config.capacity, enforce=False)
    system = dataclasses.replace(
        small_system(horizon=24, ages=5.0, capacity=capacity),
        start=pd.Timestamp("2025-01-01"),
        hazard_levers=levers.hazards,
        entry_levers=levers.entry,
    )
    results = [ReplicateModel(system, r, 5).run() for r in range(2)]
    held = sum(int(res.family_network[:, 0].sum()) for res in results)
    assert held > 0
    assert all(res.family_network[:3].sum() == 0 for res in results)  # none before April 2025
    costed = cost_replicates(replicate_table(results, system), config.costs, seed=5)
    by_line = costed.groupby(["kind", "line"])["value"].sum()
    assert by_line[("activity", "family_network_meetings")] > 0
    assert by_line[("income", "prevention_grant")] < 0
    # The baseline adds no family network meetings, activity costs or income.
    assert base.capacity.family_network.offer_share == 0.0
    assert not base.costs.activity and not base.costs.income
