"""The flow model: expected values, capacity, conservation and reproducibility."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from care_demand import vocab
from care_demand.simulation import plan
from care_demand.simulation.build import luck_only
from care_demand.simulation.capacity import CapacityConfig, HarbourConfig, HomeConfig
from care_demand.simulation.engine import EXIT_REASONS, ReplicateModel, _epoch_starts
from care_demand.simulation.expected import expected_stocks
from care_demand.simulation.outside import OutsideTotals, outside_totals, stays_outside
from care_demand.simulation.paths import TO_NOTHING, Paths
from care_demand.simulation.runner import quantile_table, replicate_table, run_replicates
from care_demand.simulation.system import CODES, FIRST_CARE, LEAVER, code_of
from toy_system import constant_draws, small_system


def test_mean_stocks_match_forward_equations_within_monte_carlo_error() -> None:
    system = small_system(horizon=24)
    expected = expected_stocks(system)
    results = run_replicates(system, n_replicates=60, seed=11)
    stocks = np.stack([r.stocks.sum(axis=2) for r in results])  # (rep, month, code)
    mean = stocks.mean(axis=0)
    se = stocks.std(axis=0, ddof=1) / np.sqrt(len(results))
    for month in (5, 11, 23):
        for code in range(LEAVER):
            if expected[month, code] < 5:
                continue
            z = (mean[month, code] - expected[month, code]) / max(se[month, code], 0.5)
            assert abs(z) < 4.5, (CODES[code], month, mean[month, code], expected[month, code])


def test_luck_alone_leaves_the_poisson_spread_of_a_system_whose_rates_are_known() -> None:
    """Children who arrive by a Poisson process and move independently are in care in
    Poisson numbers once the rates and the arrivals' level are fixed. luck_only fixes them at
    the mean of the draws and paths: its replicates spread like a Poisson count (variance =
    mean), while those of the same system with uncertain rates and arrival levels spread far
    wider."""
    base = small_system(horizon=24)
    draws = constant_draws(2)
    draws.rates[0] *= 0.6
    draws.rates[1] *= 1.4
    low, high = np.full((24, 3), (30.0, 40.0, 1.0)), np.full((24, 3), (90.0, 120.0, 3.0))
    system = dataclasses.replace(
        base, caseload=base.caseload.iloc[:0], draws=draws, arrival_intensity=np.stack([low, high])
    )
    luck = luck_only(system)
    assert luck.draws.rates.shape[0] == 1
    assert np.allclose(luck.draws.rates[0], draws.rates.mean(axis=0))
    assert np.allclose(luck.arrival_intensity, (low + high)[None] / 2)

    def in_care(of: object) -> np.ndarray:
        runs = run_replicates(of, n_replicates=200, seed=17)
        return np.array([r.stocks[-1].sum(axis=1)[FIRST_CARE:LEAVER].sum() for r in runs])

    alone, uncertain = in_care(luck), in_care(system)
    # A Poisson count's variance / mean is 1; over 200 replicates its standard error is
    # about sqrt(2 / 199) = 0.10, so 0.4 is four of them.
    assert alone.mean() > 30
    assert abs(alone.var(ddof=1) / alone.mean() - 1.0) < 0.4
    assert uncertain.var(ddof=1) / uncertain.mean() > 3.0


def test_forward_equations_refuse_hazards_that_vary_with_age() -> None:
    system = small_system()
    system.draws.rates[0, 0, 2, :] *= 2.0
    with pytest.raises(ValueError, match="do not vary by age"):
        expected_stocks(system)


def enforced_capacity() -> CapacityConfig:
    return CapacityConfig(
        homes={
            "existing": HomeConfig(name="existing", beds=4, min_age=0.0),
            "new": HomeConfig(name="new", beds=3, opens="2023-01-01", min_age=0.0),
        },
        harbour=HarbourConfig(caseload=[["2022-04-01", 20]], min_age=0.0),
    )


def test_capacity_is_never_exceeded_and_shortfall_goes_external() -> None:
    system = small_system(horizon=36, capacity=enforced_capacity())
    for res in run_replicates(system, n_replicates=4, seed=3):
        assert (res.occupancy <= res.capacity).all()
        assert res.shortfall.sum() > 0  # four beds cannot hold everyone
        # Children waiting for an in-house place sit in the external equivalent.
        ifa = code_of(vocab.CARE, vocab.IFA)
        assert (res.stocks[:, ifa].sum(axis=1) >= res.shortfall[:, 0]).all()
        assert res.capacity[:8, 1].max() == 4 and res.capacity[-1, 1] == 7
        assert res.outreach.max() <= 20


def test_children_are_conserved() -> None:
    system = small_system(horizon=24, capacity=enforced_capacity())
    res = ReplicateModel(system, 0, seed=5).run()
    stocks = res.stocks.sum(axis=2).sum(axis=1)
    inflow = res.flows[:, 0, 1:].sum(axis=1)
    outflow = res.flows[:, 1:, 0].sum(axis=1)
    start = len(system.caseload)
    # Every child present at the end entered (caseload or arrival) and has not left.
    assert stocks[-1] == start + inflow.sum() - outflow.sum()
    assert np.array_equal(np.diff(stocks), (inflow - outflow)[1:])
    # Every exit has a reason; care leavers arise only from care exits.
    assert res.exits.sum() == outflow.sum()


def test_same_seed_same_results_serial_or_parallel() -> None:
    system = small_system(horizon=12, capacity=enforced_capacity())
    serial = run_replicates(system, n_replicates=4, seed=9, n_jobs=1)
    parallel = run_replicates(system, n_replicates=4, seed=9, n_jobs=2, chunk_size=1)
    for a, b in zip(serial, parallel, strict=True):
        assert np.array_equal(a.stocks, b.stocks)
        assert np.array_equal(a.flows, b.flows)
        assert np.array_equal(a.placement_days, b.placement_days)
    other = run_replicates(system, n_replicates=1, seed=10)[0]
    assert not np.array_equal(other.stocks, serial[0].stocks)


def test_common_random_numbers_keep_unchanged_children_identical() -> None:
    base = small_system(horizon=12)
    more = small_system(horizon=12, intensity=(72.0, 80.0, 2.0))
    a = ReplicateModel(base, 0, seed=1).run()
    b = ReplicateModel(more, 0, seed=1).run()
    # Early-help requests and entries to care are unchanged: same counts, month by month.
    assert np.array_equal(a.arrivals[:, 1:], b.arrivals[:, 1:])
    assert (b.arrivals[:, 0] >= a.arrivals[:, 0]).all()
    assert b.arrivals[:, 0].sum() > a.arrivals[:, 0].sum()


def test_quantile_table_orders_quantiles() -> None:
    system = small_system(horizon=6)
    results = run_replicates(system, n_replicates=5, seed=2)
    reps = replicate_table(results, system)
    table = quantile_table(reps)
    care = table[
        (table.measure == "children") & (table.category == "care") & (table.age_band == "all")
    ]
    assert len(care) == 6
    cols = ["p5", "p10", "p25", "p50", "p75", "p90", "p95"]
    assert (care[cols].diff(axis=1).iloc[:, 1:] >= 0).all().all()
    assert set(EXIT_REASONS) <= {
        c.split(":", 1)[1] for c in table.category if c.startswith("exit:")
    }
    # Care in total equals the sum over placement groups.
    month = reps[(reps.measure == "children") & (reps.age_band == "all")]
    wide = month.pivot_table(index=["replicate", "month"], columns="category", values="value")
    groups = list(vocab.PLACEMENT_GROUPS)
    assert np.allclose(wide[groups].sum(axis=1), wide["care"])


def test_entries_to_care_split_into_planned_and_emergency_at_the_calibrated_share() -> None:
    system = dataclasses.replace(small_system(horizon=24), emergency_share=(0.3,) * 5)
    results = run_replicates(system, n_replicates=6, seed=8)
    routes = np.stack([r.entry_routes for r in results])  # (rep, month, route)
    care = slice(code_of(vocab.CARE, vocab.PLACEMENT_GROUPS[0]) + 1, LEAVER + 1)
    entries = np.stack([r.flows[:, : care.start, care].sum(axis=(1, 2)) for r in results])
    assert np.array_equal(routes.sum(axis=2), entries)  # every entry has one route
    n = routes.sum()
    share = routes[..., 1].sum() / n
    assert abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / n), (share, n)


@pytest.mark.parametrize("age", [10.0, 16.2])
def test_a_placement_move_goes_where_children_of_that_age_move(age: float) -> None:
    system = small_system(horizon=12, ages=age)
    groups = vocab.PLACEMENT_GROUPS
    supported, kinship = groups.index(vocab.SUPPORTED_16PLUS), groups.index(vocab.KINSHIP_FOSTER)
    move = np.zeros_like(system.draws.move)
    move[:, :, :4, kinship] = 1.0  # under 16: every move is to kinship foster care
    move[:, :, 4, supported] = 1.0  # 16-17: every move is to supported accommodation
    system = dataclasses.replace(system, draws=dataclasses.replace(system.draws, move=move))
    flows = sum(r.flows for r in run_replicates(system, n_replicates=2, seed=4))
    ifa = code_of(vocab.CARE, vocab.IFA) + 1  # flows index codes from 1 (0: outside)
    to_supported = flows[:, ifa, code_of(vocab.CARE, vocab.SUPPORTED_16PLUS) + 1].sum()
    to_kinship = flows[:, ifa, code_of(vocab.CARE, vocab.KINSHIP_FOSTER) + 1].sum()
    # 150 children in an IFA at the start move at 3% a month: about 50 moves in a year.
    if age < 16:
        assert to_supported == 0 and to_kinship > 20
    else:
        assert to_kinship == 0 and to_supported > 20


def test_transition_rates_drift_as_a_random_walk_per_destination() -> None:
    system = dataclasses.replace(small_system(horizon=24), rate_drift_sd=0.1)
    index = system.draws.index
    walks = np.stack([ReplicateModel(system, r, 9)._rate_walk(index) for r in range(400)])
    assert walks.shape == (400, 4, len(index.pairs))  # four six-month periods in 24 months
    logs = np.log(walks)
    care = [p for p, (_, _, dest) in enumerate(index.pairs) if dest == vocab.CARE]
    # Every pair into one destination shares its walk; destinations walk independently.
    assert np.allclose(logs[:, :, care], logs[:, :, care[:1]])
    home = next(p for p, (_, _, dest) in enumerate(index.pairs) if dest == "return_home")
    assert abs(np.corrcoef(logs[:, 3, care[0]], logs[:, 3, home])[0, 1]) < 4 / np.sqrt(400)
    # Period k holds the walk at its middle, 6k + 3 months in: variance 0.1^2 (6k + 3) / 12.
    for k in range(4):
        sd = 0.1 * np.sqrt((6 * k + 3) / 12)
        values = logs[:, k, care[0]]
        assert abs(values.mean()) < 4 * sd / np.sqrt(400)
        assert abs(values.std() - sd) < 4 * sd / np.sqrt(2 * 400)
    # The rates change only at the periods' starts; without drift they never change.
    assert _epoch_starts(system) == [0, 6, 12, 18]
    assert _epoch_starts(small_system(horizon=24)) == [0]
    with pytest.raises(ValueError, match="rate_drift_sd"):
        dataclasses.replace(small_system(), rate_drift_sd=-0.1)


def test_care_leavers_supported_past_21_are_counted_until_25() -> None:
    system = dataclasses.replace(
        small_system(horizon=36),
        care_leaver_supported_share=1.0,
        leavers_past_21=(5.5, 29.5, 80.0),
    )
    supported = ReplicateModel(system, 0, seed=2).run().leavers_supported
    # Month m's record is at the end of month m (time m + 1).
    assert supported[:5].tolist() == [3] * 5
    assert supported[5:29].tolist() == [2] * 24
    assert supported[29:].tolist() == [1] * 7
    none = dataclasses.replace(system, care_leaver_supported_share=0.0)
    assert ReplicateModel(none, 0, seed=2).run().leavers_supported.sum() == 0


def test_young_people_who_left_care_before_the_start_become_care_leavers_at_18() -> None:
    born = -12.0 * 17.5  # 17 and a half at the start: 18 in month 6, 21 in month 42
    system = dataclasses.replace(
        small_system(horizon=48), leavers_pending=(born,), care_leaver_supported_share=1.0
    )
    base = ReplicateModel(small_system(horizon=48), 0, seed=3).run()
    res = ReplicateModel(system, 0, seed=3).run()
    extra = res.stocks[:, LEAVER].sum(axis=1) - base.stocks[:, LEAVER].sum(axis=1)
    assert extra.tolist() == [0] * 5 + [1] * 36 + [0] * 7
    assert (res.flows[:, 0, LEAVER + 1] - base.flows[:, 0, LEAVER + 1]).nonzero()[0].tolist() == [6]
    assert (res.leavers_supported - base.leavers_supported).tolist() == [0] * 41 + [1] * 7


def test_recorded_arrivals_replace_the_forecast_month_by_month(example_history) -> None:
    from care_demand.simulation.build import OutsideArrivals, with_recorded_arrivals

    system = dataclasses.replace(small_system(horizon=15), start=pd.Timestamp("2019-01-01"))
    fed = with_recorded_arrivals(system, example_history)
    assert fed.arrival_intensity.shape == (1, 15, len(system.arrival_kinds))
    arrivals = OutsideArrivals.of(example_history).arrivals
    dates = pd.to_datetime(arrivals["date"])
    for k, kind in enumerate(system.arrival_kinds):
        for month, first in enumerate(pd.date_range("2019-01-01", periods=15, freq="MS")):
            inside = (dates >= first) & (dates < first + pd.offsets.MonthBegin(1))
            assert fed.arrival_intensity[0, month, k] == (inside & (arrivals["kind"] == kind)).sum()
    assert fed.arrival_intensity[0, :, 0].sum() > 2000  # about 240 referrals a month


def test_poisson_quantile_matches_scipy_stats() -> None:
    from scipy.stats import poisson

    from care_demand.simulation.plan import poisson_quantile

    rng = np.random.default_rng(11)
    q = rng.random(200_000)
    mu = np.exp(rng.uniform(-6.0, 7.0, q.size))
    np.testing.assert_array_equal(poisson_quantile(q, mu), poisson.ppf(q, mu))


@pytest.mark.parametrize("with_capacity", [False, True])
def test_children_counted_in_bulk_give_the_records_of_following_each_one(
    monkeypatch: pytest.MonkeyPatch, with_capacity: bool
) -> None:
    """Children who stay outside care are counted with numpy, not followed event by event;
    every record of the replicate is the same either way."""
    system = small_system(horizon=24, capacity=enforced_capacity() if with_capacity else None)
    counted: list[int] = []
    real = plan.outside_totals

    def spy(*args: object, **kwargs: object) -> OutsideTotals:
        totals = real(*args, **kwargs)
        counted.append(totals.events)
        return totals

    monkeypatch.setattr(plan, "outside_totals", spy)
    bulk = ReplicateModel(system, 0, seed=7).run()
    monkeypatch.setattr(ReplicateModel, "bulk_outside", False)
    followed = ReplicateModel(system, 0, seed=7).run()
    assert counted and counted[0] > 100  # moves counted in bulk
    for field in dataclasses.fields(bulk):
        assert np.array_equal(getattr(bulk, field.name), getattr(followed, field.name)), field.name


def test_a_move_at_a_month_end_is_left_to_the_run() -> None:
    # Two children, each a move to another state then nothing; the second moves at the
    # instant of the month end 3, where the run's order decides what the monitor sees.
    paths = Paths(
        first=np.array([0, 2]),
        following=np.array([1, -1, 3, -1]),
        child=np.array([0, 0, 1, 1]),
        code=np.array([0, 1, 0, 1]),
        outcome=np.array([1, TO_NOTHING, 1, TO_NOTHING]),
        when=np.array([2.5, 0.0, 3.0, 0.0]),
        time=np.array([2.5, 0.0, 3.0, 0.0]),
        k=np.array([2, 3, 2, 3]),
    )
    start = np.array([0.0, 0.5])
    assert stays_outside(paths, start, until=12.0, months=12).tolist() == [True, False]
    totals = outside_totals(
        paths,
        np.array([True, False]),
        start,
        np.array([-24.0, -24.0]),
        until=12.0,
        months=12,
        n_codes=3,
        report_edges=np.array([1.0, 5.0, 10.0, 16.0, 18.0]),
        exit_closed=0,
        n_exits=1,
    )
    # The first child: state 0 at month ends 1 and 2, state 1 from month end 3 on.
    by_code = totals.stocks.sum(axis=2)
    assert by_code[:, 0].tolist() == [1, 1] + [0] * 10
    assert by_code[:, 1].tolist() == [0, 0] + [1] * 10
    assert totals.flows.reshape(12, 4, 4)[2, 1, 2] == 1 and totals.flows.sum() == 1
    assert totals.events == 1 and totals.exits.sum() == 0
