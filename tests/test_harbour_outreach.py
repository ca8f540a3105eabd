"""Harbour outreach takes referrals of adolescents about to move into care.

On a small system with constant hazards (``toy_system``), the paired reduction in entries
to care between no outreach and ``K`` places matches the arithmetic documented in
:mod:`care_demand.simulation.engine`: referrals reached times the share averted.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from care_demand import vocab
from care_demand.simulation.capacity import CapacityConfig, HarbourConfig, capacity_problems
from care_demand.simulation.engine import ReplicateModel
from care_demand.simulation.system import CareSystem, code_of
from toy_system import care_only_system, small_system


def harbour_system(
    places: int,
    ages: float = 14.0,
    horizon: int = 12,
    support_months: float = 24.0,
    **harbour: object,
) -> CareSystem:
    """The toy system with ``places`` outreach places from the start and no step-down."""
    settings = {
        "caseload": [["2022-04-01", places]],
        "support_months": support_months,
        "care_entry_multiplier_median": 0.6,
        "care_entry_multiplier_log_sd": 0.3,
        "residential_step_down_multiplier_median": 1.0,
        "residential_step_down_multiplier_log_sd": 0.0,
        **harbour,
    }
    capacity = CapacityConfig(enforce=False, harbour=HarbourConfig(**settings))
    return small_system(horizon=horizon, ages=ages, capacity=capacity)


def entries(result) -> int:
    return int(result.entry_routes.sum())


def _check_the_arithmetic(
    base: CareSystem, harbour: CareSystem, places: int, each: Callable[..., None] | None = None
) -> None:
    """Support outlasts the horizon, so each of the K places is reached once and an averted
    young person stays out of care to the end: the expected reduction in entries to care is
    K x (1 - min(1, multiplier)), the multiplier drawn per replicate; the gap is Monte Carlo
    noise, within 3 standard errors over the replicates. ``each(model, result)`` checks
    every replicate further."""
    seed, n = 7, 40
    gaps, reductions = [], []
    for r in range(n):
        before = ReplicateModel(base, r, seed).run()
        model = ReplicateModel(harbour, r, seed)
        after = model.run()
        assert model.referrals > places  # every place is taken
        assert model.reached == places
        if each is not None:
            each(model, after)
        share_averted = max(0.0, 1.0 - model.harbour_effects[0])
        reduction = entries(before) - entries(after)
        reductions.append(reduction)
        gaps.append(reduction - places * share_averted)
    gaps = np.asarray(gaps)
    se = gaps.std(ddof=1) / np.sqrt(n)
    assert abs(gaps.mean()) <= 3.0 * se + 0.05, (gaps.mean(), se)
    # The effect is there: about 0.4 x 20 = 8 fewer entries to care on average.
    assert np.mean(reductions) > 5.0


def test_entries_avoided_are_places_reached_times_the_share_averted() -> None:
    _check_the_arithmetic(harbour_system(0), harbour_system(20), 20)


def test_on_the_ssda903_return_alone_arrivals_averted_stay_out_of_care() -> None:
    """Data of children in care alone model no children in need to hold an averted arrival
    in: it stays out of care, not followed, and the arithmetic holds as above. An arrival
    never waits for a place (there is nowhere to wait), and no child appears outside care."""
    settings = {
        "support_months": 24.0,
        "care_entry_multiplier_median": 0.6,
        "care_entry_multiplier_log_sd": 0.3,
        "residential_step_down_multiplier_median": 1.0,
        "residential_step_down_multiplier_log_sd": 0.0,
        "max_wait_months": 3.0,
    }

    def system(k: int) -> CareSystem:
        harbour = HarbourConfig(caseload=[["2022-04-01", k]], **settings)
        return care_only_system(capacity=CapacityConfig(enforce=False, harbour=harbour))

    outside = [code_of(s) for s in (vocab.EARLY_HELP, vocab.ASSESSMENT, vocab.CIN, vocab.CP)]

    def nobody_waits_or_stays_outside(model: ReplicateModel, after: object) -> None:
        assert not model._harbour_queue
        assert after.stocks[:, outside].sum() == 0  # type: ignore[attr-defined]

    _check_the_arithmetic(system(0), system(20), 20, nobody_waits_or_stays_outside)


def test_children_younger_than_the_age_range_are_never_referred() -> None:
    a = ReplicateModel(harbour_system(0, ages=10.0), 0, 3).run()
    model = ReplicateModel(harbour_system(40, ages=10.0), 0, 3)
    b = model.run()
    assert model.referrals == 0
    assert np.array_equal(a.stocks, b.stocks)
    assert np.array_equal(a.entry_routes, b.entry_routes)


def test_only_planned_moves_are_referred_when_emergencies_are_not() -> None:
    planned_only = harbour_system(40, referral_routes=["planned"])
    for r in range(3):
        before = ReplicateModel(harbour_system(0), r, 5).run()
        model = ReplicateModel(planned_only, r, 5)
        after = model.run()
        # Emergency entries are the same young people as without outreach; planned ones fall.
        assert np.array_equal(before.entry_routes[:, 1], after.entry_routes[:, 1])
        assert after.entry_routes[:, 0].sum() < before.entry_routes[:, 0].sum()
        assert model.averted == before.entry_routes[:, 0].sum() - after.entry_routes[:, 0].sum()


def test_a_waiting_list_fills_every_place_that_frees_up() -> None:
    # Five places held three months each over a year: each place can take four referrals
    # (at about 0, 3, 6 and 9 months). Without a waiting list a freed place is idle until
    # the next referral; with one it goes at once to the young person waiting longest.
    places, support = 5, 3.0
    without = harbour_system(places, support_months=support)
    with_list = harbour_system(places, support_months=support, max_wait_months=2.0)
    reached = {True: [], False: []}
    for r in range(8):
        for listed, system in ((False, without), (True, with_list)):
            model = ReplicateModel(system, r, 11)
            model.run()
            reached[listed].append(model.reached)
    assert all(x <= 4 * places for x in reached[True])
    assert np.mean(reached[True]) >= 0.95 * 4 * places
    assert np.mean(reached[True]) >= np.mean(reached[False])


def test_a_planned_move_that_waits_too_long_goes_ahead_a_wait_later() -> None:
    # One place, held past the horizon, goes to the first referral; every later planned
    # move into care waits the maximum month for a place that never frees and then goes
    # ahead: the planned entries of each month are the previous month's without outreach.
    before = ReplicateModel(harbour_system(0), 2, 13).run()
    model = ReplicateModel(harbour_system(1, max_wait_months=1.0), 2, 13)
    after = model.run()
    assert model.reached == 1
    planned_before, planned_after = before.entry_routes[:, 0], after.entry_routes[:, 0]
    assert planned_after[0] <= 1  # only the young person with the place, if not averted
    shifted = np.abs(planned_after[1:] - planned_before[:-1])
    assert shifted.sum() <= 1  # the first referral's entry, averted or in its own month
    assert planned_before[:-1].sum() > 20
    assert np.array_equal(before.entry_routes[:, 1], after.entry_routes[:, 1])


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"referral_routes": ["planned", "urgent"]}, "capacity.harbour.referral_routes[1]"),
        ({"max_wait_months": -1.0}, "capacity.harbour.max_wait_months"),
    ],
)
def test_invalid_referral_settings_name_their_field(change: dict, field: str) -> None:
    problems = capacity_problems(CapacityConfig(harbour=HarbourConfig(**change)))
    assert field in [f for f, _ in problems]
