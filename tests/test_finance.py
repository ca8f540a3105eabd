"""Costing, savings and the cost configuration."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf

from care_demand import vocab
from care_demand.config import CONFIG_DIR, AppConfig
from care_demand.errors import ConfigError
from care_demand.finance import (
    ActivityCost,
    CostConfig,
    FixedCost,
    IncomeLine,
    PlacementCost,
    PriceTail,
    SavingsTarget,
    cost_assumptions,
    cost_replicates,
    cost_summary,
    financial_year,
    inflation_index,
    paired_savings,
    present_value,
    savings,
    tail_multipliers,
    validate_costs,
)
from care_demand.pipeline import Calibrated
from care_demand.simulation.build import build_system
from care_demand.simulation.capacity import CapacityConfig
from care_demand.simulation.runner import replicate_table, run_replicates

DEFAULT_FILE = "configs/costs/default.yaml"
CAPACITY_GROUPS = (vocab.INHOUSE_FOSTER, vocab.INHOUSE_RESIDENTIAL)


def replicate_frame(
    n_replicates: int = 3,
    months: int = 24,
    start: str = "2022-04-30",
    days: dict[str, float] | None = None,
    children: dict[str, float] | None = None,
    capacity: float = 6.0,
    flows: dict[str, float] | None = None,
) -> pd.DataFrame:
    """A hand-built replicate table: constant monthly values, replicate r scaled by (r + 1)."""
    month_ends = pd.date_range(start, periods=months, freq="ME")
    days = days or {g: 60.0 + 10 * i for i, g in enumerate(vocab.PLACEMENT_GROUPS)}
    states = (*vocab.STATES, "care", "care_leaver_21_plus")
    children = children or {s: 5.0 + i for i, s in enumerate(states)}
    blocks = []
    for rep in range(n_replicates):
        scale = rep + 1.0
        for group in vocab.PLACEMENT_GROUPS:
            blocks.append(("placement_days", group, days.get(group, 0.0) * scale, rep))
            blocks.append(("children", group, days.get(group, 0.0) * scale / 30.0, rep))
        for state, count in children.items():
            blocks.append(("children", state, count * scale, rep))
        for group in CAPACITY_GROUPS:
            blocks.append(("capacity", group, capacity, rep))
        for flow, count in (flows or {}).items():
            blocks.append(("flow", flow, count * scale, rep))
    frames = [
        pd.DataFrame(
            {
                "replicate": rep,
                "month": month_ends,
                "measure": measure,
                "category": category,
                "age_band": "all",
                "value": value,
            }
        )
        for measure, category, value, rep in blocks
    ]
    return pd.concat(frames, ignore_index=True)


def flat_costs(**changes: object) -> CostConfig:
    """The default configuration with every price in 2022/23 and no price uncertainty."""
    costs = CostConfig()
    for cost in costs.placements.values():
        cost.price_year = "2022/23"
    costs.price_year = "2022/23"
    costs.tail = PriceTail(log_sd=0.0)
    costs.fixed = {"team": FixedCost(annual=365_000.0, start="2022-04-01")}
    return dataclasses.replace(costs, **changes)


def line(costed: pd.DataFrame, name: str) -> pd.Series:
    rows = costed[costed["line"] == name]
    return rows.set_index(["replicate", "financial_year"])["value"]


# ---------------------------------------------------------------- configuration


def test_yaml_defaults_mirror_the_dataclass() -> None:
    schema = OmegaConf.structured(CostConfig)
    merged = OmegaConf.merge(schema, OmegaConf.load(CONFIG_DIR / "costs" / "default.yaml"))
    assert OmegaConf.to_object(merged) == CostConfig()
    validate_costs(CostConfig())
    assert isinstance(AppConfig().costs, CostConfig)


def test_a_scenario_file_can_add_a_fixed_cost_and_change_a_price() -> None:
    scenario = OmegaConf.create(
        {
            "fixed": {"new_home": {"annual": 730_000, "capital": 500_000, "start": "2023-01-01"}},
            "placements": {"ifa": {"weekly": 1000}},
        }
    )
    costs = OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(CostConfig), scenario))
    assert isinstance(costs.fixed["new_home"], FixedCost)
    assert costs.fixed["new_home"].capital == 500_000.0
    assert set(costs.fixed) == {"harbour_team", "new_home"}
    assert costs.placements[vocab.IFA].weekly == 1000.0
    assert costs.placements[vocab.IFA].price_year == "2020/21"  # the rest is kept
    validate_costs(costs)


def _mutations() -> list[tuple[str, object, str]]:
    def placement(**kw: object):
        def change(c: CostConfig) -> None:
            for key, value in kw.items():
                setattr(c.placements[vocab.IFA], key, value)

        return change

    def fixed(**kw: object):
        def change(c: CostConfig) -> None:
            c.fixed["harbour_team"] = dataclasses.replace(c.fixed["harbour_team"], **kw)

        return change

    return [
        ("negative weekly cost", placement(weekly=-5.0), "costs.placements.ifa.weekly"),
        (
            "unknown placement group",
            lambda c: c.placements.update(castle=PlacementCost(weekly=1.0)),
            "costs.placements.castle",
        ),
        (
            "missing placement group",
            lambda c: c.placements.pop(vocab.SECURE_OTHER),
            "costs.placements",
        ),
        ("unknown inflation line", placement(inflation="gold"), "costs.placements.ifa.inflation"),
        ("capacity basis for an external group", placement(basis="capacity"), "ifa.basis"),
        ("bad price year", placement(price_year="2020-21"), "costs.placements.ifa.price_year"),
        (
            "inflation below -1",
            lambda c: c.inflation.update(general=-1.5),
            "costs.inflation.general",
        ),
        (
            "inflation typed as a percentage",
            lambda c: c.inflation.update(staff=3.0),
            "costs.inflation.staff",
        ),
        ("negative casework", lambda c: c.casework.update(cin=-1.0), "costs.casework.cin"),
        ("unknown casework state", lambda c: c.casework.update(nursery=5.0), "casework.nursery"),
        ("negative running cost", fixed(annual=-1.0), "costs.fixed.harbour_team.annual"),
        ("negative capital", fixed(capital=-1.0), "costs.fixed.harbour_team.capital"),
        ("unreadable start", fixed(start="soon"), "costs.fixed.harbour_team.start"),
        (
            "end before start",
            fixed(start="2023-01-01", end="2022-06-01"),
            "costs.fixed.harbour_team.end",
        ),
        ("discount rate of 1", lambda c: setattr(c, "discount_rate", 1.0), "costs.discount_rate"),
        (
            "negative discount rate",
            lambda c: setattr(c, "discount_rate", -0.01),
            "costs.discount_rate",
        ),
        ("negative tail sd", lambda c: setattr(c.tail, "log_sd", -0.1), "costs.tail.log_sd"),
        (
            "negative savings target",
            lambda c: c.savings_target.annual.__setitem__(1, -2.0),
            "costs.savings_target.annual[1]",
        ),
    ]


@pytest.mark.parametrize(
    ("case", "mutate", "field"), _mutations(), ids=[m[0] for m in _mutations()]
)
def test_each_invalid_config_names_its_field_and_file(case: str, mutate, field: str) -> None:
    costs = CostConfig()
    mutate(costs)
    with pytest.raises(ConfigError) as err:
        validate_costs(costs)
    message = str(err.value)
    assert field in message and DEFAULT_FILE in message, message
    # A scenario file is named when the check is for one.
    with pytest.raises(ConfigError, match=r"scenarios/my_plan\.yaml"):
        validate_costs(costs, source="scenarios/my_plan.yaml")


def test_every_problem_is_reported_at_once() -> None:
    costs = CostConfig()
    costs.placements[vocab.IFA].weekly = -1.0
    costs.discount_rate = 2.0
    with pytest.raises(ConfigError) as err:
        validate_costs(costs)
    assert "placements.ifa.weekly" in str(err.value)
    assert "discount_rate" in str(err.value)


def test_costing_refuses_an_invalid_config() -> None:
    costs = flat_costs()
    costs.casework["cp"] = -10.0
    with pytest.raises(ConfigError, match=r"costs\.casework\.cp"):
        cost_replicates(replicate_frame(), costs, seed=1)


# ---------------------------------------------------------------- costing


def test_financial_year_and_inflation_index() -> None:
    assert financial_year("2023-03-31") == "2022/23"
    assert financial_year("2023-04-30") == "2023/24"
    assert inflation_index(0.06, "2020/21", "2020/21") == 1.0
    assert inflation_index(0.06, "2020/21", "2021/22") == pytest.approx(1.06, rel=1e-15)
    assert inflation_index(0.06, "2020/21", "2022/23") == pytest.approx(1.06**2, rel=1e-15)
    assert inflation_index(0.06, "2021/22", "2020/21") == pytest.approx(1 / 1.06, rel=1e-15)


def test_a_price_is_unchanged_in_its_price_year_and_uprated_a_year_later() -> None:
    costs = flat_costs()
    costs.placements[vocab.IFA] = PlacementCost(
        weekly=700.0, price_year="2022/23", inflation="placements_external"
    )
    table = replicate_frame(n_replicates=1, days={vocab.IFA: 70.0})
    ifa = line(cost_replicates(table, costs, seed=1), vocab.IFA)
    # 70 child-days a month for 12 months at £700 a week (£100 a day).
    assert ifa[(0, "2022/23")] == pytest.approx(12 * 70 * 100.0, rel=1e-12)
    assert ifa[(0, "2023/24")] == pytest.approx(12 * 70 * 100.0 * 1.06, rel=1e-12)


def test_doubling_a_unit_cost_doubles_that_line_exactly_and_no_other() -> None:
    table = replicate_frame()
    costs = CostConfig()  # with the external residential price drawn per replicate
    base = cost_replicates(table, costs, seed=4)
    changes = {
        vocab.IFA: lambda c: setattr(c.placements[vocab.IFA], "weekly", 2 * 962.0),
        vocab.EXTERNAL_RESIDENTIAL: lambda c: setattr(
            c.placements[vocab.EXTERNAL_RESIDENTIAL], "weekly", 2 * 4902.0
        ),
        vocab.INHOUSE_RESIDENTIAL: lambda c: setattr(
            c.placements[vocab.INHOUSE_RESIDENTIAL], "weekly", 2 * 5500.0
        ),
        vocab.CIN: lambda c: c.casework.update(cin=2 * 60.0),
        "harbour_team": lambda c: setattr(c.fixed["harbour_team"], "annual", 2_000_000.0),
    }
    for name, change in changes.items():
        doubled_costs = CostConfig()
        change(doubled_costs)
        doubled = cost_replicates(table, doubled_costs, seed=4)
        assert (doubled["line"] == base["line"]).all()
        this = doubled["line"] == name
        assert this.any() and (base.loc[this, "value"] > 0).all()
        assert (doubled.loc[this, "value"] == 2 * base.loc[this, "value"]).all(), name
        assert (doubled.loc[~this, "value"] == base.loc[~this, "value"]).all(), name


def test_casework_uses_month_end_stock_times_days_in_month() -> None:
    costs = flat_costs(casework={vocab.CIN: 70.0})
    table = replicate_frame(n_replicates=1, children={vocab.CIN: 4.0})
    cin = line(cost_replicates(table, costs, seed=1), vocab.CIN)
    # 4 children x 365 days x £10 a day in 2022/23; 2023/24 has 366 days and 3% staff inflation.
    assert cin[(0, "2022/23")] == pytest.approx(4 * 365 * 10.0, rel=1e-12)
    assert cin[(0, "2023/24")] == pytest.approx(4 * 366 * 10.0 * 1.03, rel=1e-12)


def test_inhouse_residential_is_costed_by_places_available_not_occupancy() -> None:
    costs = flat_costs()
    busy = replicate_frame(n_replicates=1, capacity=5.0)
    idle = replicate_frame(n_replicates=1, capacity=5.0, days={vocab.INHOUSE_RESIDENTIAL: 0.0})
    a = line(cost_replicates(busy, costs, seed=1), vocab.INHOUSE_RESIDENTIAL)
    b = line(cost_replicates(idle, costs, seed=1), vocab.INHOUSE_RESIDENTIAL)
    weekly = costs.placements[vocab.INHOUSE_RESIDENTIAL].weekly
    assert a.equals(b)
    assert a[(0, "2022/23")] == pytest.approx(5 * 365 * weekly / 7, rel=1e-12)


def test_fixed_costs_are_pro_rated_by_days_and_capital_falls_in_the_start_month() -> None:
    costs = flat_costs()
    costs.fixed = {
        "whole": FixedCost(annual=365_000.0, start="2021-01-01"),
        "new_home": FixedCost(
            annual=730_000.0, capital=500_000.0, start="2022-10-16", end="2023-01-01"
        ),
    }
    costed = cost_replicates(replicate_frame(n_replicates=2), costs, seed=1)
    whole = line(costed, "whole")  # prices of 2022/23, uprated by staff inflation (3%)
    assert whole[(0, "2022/23")] == pytest.approx(365_000.0, rel=1e-12)
    assert whole[(1, "2023/24")] == pytest.approx(365_000.0 * 1.03, rel=1e-12)
    home = line(costed, "new_home")
    # 16 October to 31 December: 77 days of £2,000, plus the capital; nothing in 2023/24.
    assert home[(0, "2022/23")] == pytest.approx(77 * 2000.0 + 500_000.0, rel=1e-12)
    assert home[(0, "2023/24")] == 0.0


def test_capital_before_the_projection_is_not_counted() -> None:
    costs = flat_costs()
    costs.fixed = {"old": FixedCost(annual=0.0, capital=1e6, start="2020-01-01")}
    costed = cost_replicates(replicate_frame(n_replicates=1), costs, seed=1)
    assert (line(costed, "old") == 0.0).all()


def test_partial_financial_years_are_flagged() -> None:
    costed = cost_replicates(
        replicate_frame(n_replicates=2, months=18, start="2022-01-31"), flat_costs(), seed=1
    )
    flags = costed.groupby("financial_year")["complete"].first().to_dict()
    assert flags == {"2021/22": False, "2022/23": True, "2023/24": False}
    summary = cost_summary(costed)
    # One complete year: no span of years; each line once per year.
    assert not summary["financial_year"].str.contains(" to ").any()
    assert not summary.duplicated(["financial_year", "kind", "line"]).any()
    assert (summary.loc[summary["line"] == "total", "financial_year"]).tolist() == [
        "2021/22",
        "2022/23",
        "2023/24",
    ]


def test_price_tail_draws_depend_on_seed_and_replicate_only() -> None:
    tail = PriceTail(log_sd=0.2)
    a = tail_multipliers(range(400), tail, seed=9)
    b = tail_multipliers([17, 3], tail, seed=9)
    assert a[17] == b[17] and a[3] == b[3]
    assert tail_multipliers([3], tail, seed=10)[3] != a[3]
    values = np.array(list(a.values()))
    assert abs(values.mean() - 1.0) < 3 * 0.2 / np.sqrt(len(values))
    assert np.std(np.log(values)) == pytest.approx(0.2, rel=0.15)
    assert set(tail_multipliers(range(5), PriceTail(log_sd=0.0), seed=9).values()) == {1.0}


def test_cost_summary_total_is_the_sum_of_lines_per_replicate() -> None:
    costed = cost_replicates(replicate_frame(n_replicates=5), CostConfig(), seed=3)
    summary = cost_summary(costed)
    total = summary[(summary["line"] == "total") & (summary["financial_year"] == "2022/23")]
    per_rep = costed[costed["financial_year"] == "2022/23"].groupby("replicate")["value"].sum()
    assert total["mean"].item() == pytest.approx(per_rep.mean(), rel=1e-12)
    assert total["p50"].item() == pytest.approx(per_rep.median(), rel=1e-12)
    span = summary[summary["financial_year"] == "2022/23 to 2023/24"]
    both = costed.groupby("replicate")["value"].sum()
    assert span.loc[span["line"] == "total", "mean"].item() == pytest.approx(both.mean())
    assert (summary[["p10", "p50", "p90"]].diff(axis=1).iloc[:, 1:] >= 0).all().all()


def test_the_replicate_table_must_hold_the_measures_costed() -> None:
    table = replicate_frame()
    with pytest.raises(ValueError, match="capacity"):
        cost_replicates(table[table["measure"] != "capacity"], CostConfig(), seed=1)


# ---------------------------------------------------------------- savings


def test_identical_runs_save_exactly_nothing() -> None:
    table = replicate_frame(n_replicates=4)
    base = cost_replicates(table, CostConfig(), seed=5)
    same = cost_replicates(table, CostConfig(), seed=5)
    paired = paired_savings(base, same)
    assert (paired["saving"] == 0.0).all()
    summary = savings(base, same, CostConfig())
    assert (summary[["p10", "p50", "p90", "mean"]] == 0.0).all().all()
    cumulative = summary[summary["measure"] == "cumulative_saving"]
    assert (cumulative["p_meets_target"] == 0.0).all()  # the target is not met by nothing


def test_savings_are_baseline_minus_scenario_and_cumulate() -> None:
    costs = flat_costs(inflation={**CostConfig().inflation, "placements_external": 0.0})
    base = cost_replicates(replicate_frame(days={vocab.IFA: 100.0}), costs, seed=1)
    fewer = cost_replicates(replicate_frame(days={vocab.IFA: 70.0}), costs, seed=1)
    paired = paired_savings(base, fewer)
    ifa = paired[(paired["line"] == vocab.IFA) & (paired["replicate"] == 0)]
    yearly = 30 * 12 * 962.0 / 7  # 30 fewer child-days a month
    assert ifa["saving"].tolist() == pytest.approx([yearly, yearly], rel=1e-12)
    assert ifa["cumulative_saving"].tolist() == pytest.approx([yearly, 2 * yearly], rel=1e-12)
    total = paired[(paired["line"] == "total") & (paired["replicate"] == 0)]
    assert total["saving"].tolist() == pytest.approx([yearly, yearly], rel=1e-9)


def test_a_line_only_the_scenario_has_costs_zero_in_the_baseline() -> None:
    table = replicate_frame(n_replicates=2)
    plan = flat_costs()
    plan.fixed = {**plan.fixed, "campaign": FixedCost(annual=120_000.0, start="2022-04-01")}
    paired = paired_savings(
        cost_replicates(table, flat_costs(), seed=1), cost_replicates(table, plan, seed=1)
    )
    campaign = paired[paired["line"] == "campaign"]
    assert (campaign["baseline"] == 0.0).all()
    assert campaign["saving"].iloc[0] == pytest.approx(-120_000.0, rel=1e-12)


def test_savings_need_the_same_replicates() -> None:
    base = cost_replicates(replicate_frame(n_replicates=3), CostConfig(), seed=1)
    fewer = cost_replicates(replicate_frame(n_replicates=2), CostConfig(), seed=1)
    with pytest.raises(ValueError, match="same replicates"):
        paired_savings(base, fewer)


def test_present_value_of_a_known_stream() -> None:
    assert present_value([100.0, 100.0, 100.0], 0.035) == pytest.approx(
        100 + 100 / 1.035 + 100 / 1.035**2, rel=1e-14
    )
    assert present_value([50.0, 80.0], 0.035, deflator=0.02) == pytest.approx(
        50 + 80 / (1.02 * 1.035), rel=1e-14
    )


def test_npv_and_target_probability_from_a_known_saving_stream() -> None:
    """Replicate r saves (r + 1) x £1m a year, every year, in cash terms."""
    costs = flat_costs(
        inflation={**CostConfig().inflation, "placements_external": 0.0},
        savings_target=SavingsTarget(start_year="2022/23", annual=[2.5e6, 2.5e6]),
    )
    n = 4
    weekly = costs.placements[vocab.IFA].weekly
    base = replicate_frame(n_replicates=n, days={vocab.IFA: 0.0})
    scenario = base.copy()
    # The baseline costs an extra (r + 1) x £1m a year in IFA placements.
    rows = (base["measure"] == "placement_days") & (base["category"] == vocab.IFA)
    months = base.loc[rows, "month"]
    per_day = weekly / 7
    base.loc[rows, "value"] = (
        (base.loc[rows, "replicate"] + 1) * 1e6 / 365.0 * months.dt.days_in_month / per_day
    )
    base.loc[rows & (months >= "2023-04-01"), "value"] *= 365.0 / 366.0
    summary = savings(
        cost_replicates(base, costs, seed=1), cost_replicates(scenario, costs, seed=1), costs
    )
    total = summary[summary["kind"] == "total"].set_index(["financial_year", "measure"])
    assert total.loc[("2022/23", "saving"), "mean"] == pytest.approx(2.5e6, rel=1e-9)
    # Saving 1-4 £m a year against £2.5m: half the replicates meet it each year.
    assert total.loc[("2022/23", "saving"), "p_meets_target"] == 0.5
    assert total.loc[("2023/24", "cumulative_saving"), "target"] == 5e6
    assert total.loc[("2023/24", "cumulative_saving"), "p_meets_target"] == 0.5
    # NPV of 2.5, 2.5 (£m, mean): second year deflated at 2% and discounted at 3.5%.
    expected = present_value([2.5e6, 2.5e6], 0.035, deflator=0.02)
    assert total.loc[("2023/24", "npv_to_date"), "mean"] == pytest.approx(expected, rel=1e-9)
    assert total.loc[("2022/23", "npv_to_date"), "mean"] == pytest.approx(2.5e6, rel=1e-9)


def test_cost_assumptions_list_every_unit_cost_with_a_source() -> None:
    table = cost_assumptions(CostConfig())
    weekly = table[table["section"] == "placement weekly cost"]
    assert len(weekly) == len(vocab.PLACEMENT_GROUPS)
    assert (table["source"].str.len() > 0).all()
    assert set(table["unit"]) >= {"GBP a week", "GBP a year", "rate a year", "GBP"}


# ---------------------------------------------------------------- pairing on real runs


@pytest.mark.slow
def test_paired_savings_spread_less_than_independent_runs(
    example_history, example_calibrated: Calibrated, quick_config: AppConfig
) -> None:
    """Ten more foster households: the same seed pairs replicates; another seed does not."""
    n, horizon = 30, 24
    base_cap = quick_config.capacity
    more = dataclasses.replace(
        base_cap,
        fostering=dataclasses.replace(
            base_cap.fostering, households=base_cap.fostering.households + 10
        ),
    )

    def costed(capacity: CapacityConfig, seed: int) -> pd.DataFrame:
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
        system = build_system(
            example_history,
            example_calibrated.hazards.draw(n, rng),
            example_calibrated.arrivals,
            capacity,
            horizon_months=horizon,
            n_paths=n,
            seed=seed,
            care_leaver=quick_config.data.care_leaver,
            rate_drift_sd=quick_config.simulation.rate_drift_sd,
        )
        table = replicate_table(run_replicates(system, n, seed, n_jobs=1), system)
        return cost_replicates(table, quick_config.costs, seed)

    base = costed(base_cap, 7)

    def total_saving(other: pd.DataFrame) -> pd.Series:
        paired = paired_savings(base, other)
        return paired[paired["line"] == "total"].groupby("replicate")["saving"].sum()

    paired_sd = total_saving(costed(more, 7)).std()
    independent_sd = total_saving(costed(more, 8)).std()
    assert paired_sd < 0.5 * independent_sd, (paired_sd, independent_sd)


def test_costs_config_file_is_in_the_primary_config() -> None:
    text = Path(CONFIG_DIR / "config.yaml").read_text(encoding="utf-8")
    assert "- costs: default" in text


# ---------------------------------------------------------------- activity costs and income


def test_income_lowers_the_net_cost_by_exactly_the_allocation() -> None:
    table = replicate_frame(n_replicates=3, months=36, start="2022-04-30")
    grant = IncomeLine(by_year={"2022/23": 1_400_000.0, "2023/24": 1_250_000.0}, title="Grant")
    without = cost_replicates(table, flat_costs(), seed=4)
    with_grant = cost_replicates(table, flat_costs(income={"grant": grant}), seed=4)
    totals = [
        c.groupby(["replicate", "financial_year"])["value"].sum() for c in (without, with_grant)
    ]
    diff = (totals[1] - totals[0]).unstack()
    np.testing.assert_allclose(diff["2022/23"], -1_400_000.0, rtol=0, atol=1e-6)
    np.testing.assert_allclose(diff["2023/24"], -1_250_000.0, rtol=0, atol=1e-6)
    np.testing.assert_allclose(diff["2024/25"], 0.0, atol=1e-6)  # a year not listed
    income = with_grant[with_grant["kind"] == "income"]
    assert set(income["line"]) == {"grant"} and (income["value"] <= 0).all()
    # Every other line is untouched.
    others = with_grant[with_grant["kind"] != "income"].reset_index(drop=True)
    pd.testing.assert_frame_equal(others, without.reset_index(drop=True))


def test_activity_costs_are_units_counted_times_the_unit_cost_from_their_start() -> None:
    table = replicate_frame(n_replicates=2, months=24, flows={"family_network:meetings": 3.0})
    costs = flat_costs(
        activity={
            "meetings": ActivityCost(
                unit=1_000.0, category="family_network:meetings", price_year="2022/23"
            ),
            "later": ActivityCost(
                unit=1_000.0,
                category="family_network:meetings",
                price_year="2022/23",
                start="2022-10-01",
            ),
            "packages": ActivityCost(
                unit=365.25,
                basis="placement_year",
                category=vocab.KINSHIP_FOSTER,
                price_year="2022/23",
            ),
        }
    )
    costed = cost_replicates(table, costs, seed=1)
    meetings, later = line(costed, "meetings"), line(costed, "later")
    # 3 meetings a month (x2 in replicate 1), £1,000 each in 2022/23 prices, staff inflation.
    assert meetings[(0, "2022/23")] == pytest.approx(36 * 1_000.0, rel=1e-12)
    assert meetings[(1, "2023/24")] == pytest.approx(72 * 1_000.0 * 1.03, rel=1e-12)
    assert later[(0, "2022/23")] == pytest.approx(18 * 1_000.0, rel=1e-12)  # October-March
    # £365.25 a child-year is £1 a child-day placed with kinship carers.
    days = table[(table["measure"] == "placement_days") & (table["category"] == "kinship_foster")]
    first = days[(days["replicate"] == 0) & (days["month"] <= "2023-03-31")]["value"].sum()
    assert line(costed, "packages")[(0, "2022/23")] == pytest.approx(first, rel=1e-12)
    assert set(costed.loc[costed["line"].isin(["meetings", "packages"]), "kind"]) == {"activity"}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"activity": {"x": ActivityCost(category="meetings")}}, "costs.activity.x.category"),
        ({"activity": {"x": ActivityCost(basis="child")}}, "costs.activity.x.basis"),
        ({"activity": {"x": ActivityCost(unit=-1.0)}}, "costs.activity.x.unit"),
        ({"income": {"g": IncomeLine(by_year={"2025": 1.0})}}, "costs.income.g.by_year"),
        ({"income": {"g": IncomeLine(by_year={"2025/26": -1.0})}}, "costs.income.g.by_year"),
    ],
)
def test_invalid_activity_and_income_settings_name_their_field(changes: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        validate_costs(flat_costs(**changes))
