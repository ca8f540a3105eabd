"""Family group decision-making: family network meetings before an entry to care.

On a small system with constant hazards (``toy_system``), paired by seed and replicate:
meetings avert entries to care at the drawn share, place children with kinship carers the
network found, never exceed the month's meetings, and change nothing when switched off.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from care_demand import vocab
from care_demand.simulation.capacity import (
    CapacityConfig,
    FamilyNetworkConfig,
    capacity_problems,
)
from care_demand.simulation.engine import ReplicateModel
from care_demand.simulation.recording import ReplicateResult
from care_demand.simulation.system import FIRST_CARE, CareSystem, code_of
from toy_system import care_only_system, small_system

SEED = 17
KINSHIP = code_of(vocab.CARE, vocab.KINSHIP_FOSTER)


def network_system(
    meetings: int, offer_share: float = 1.0, start: str = "2022-04-01", **settings: object
) -> CareSystem:
    """The toy system (children aged 5, all ages are offered) with ``meetings`` a month."""
    network = FamilyNetworkConfig(
        meetings=[[start, meetings]] if meetings else [],
        offer_share=offer_share,
        **settings,
    )
    capacity = CapacityConfig(enforce=False, family_network=network)
    return small_system(horizon=24, ages=5.0, capacity=capacity)


def entries(res: ReplicateResult) -> int:
    return int(res.entry_routes.sum())


def kinship_entries(res: ReplicateResult) -> int:
    return int(res.flows[:, : FIRST_CARE + 1, KINSHIP + 1].sum())


def same(a: ReplicateResult, b: ReplicateResult) -> bool:
    fields = ("stocks", "flows", "exits", "placement_days", "entry_routes", "entry_ages")
    return all(np.array_equal(getattr(a, f), getattr(b, f)) for f in fields)


def test_switched_off_or_not_yet_started_the_run_is_the_baseline() -> None:
    base = small_system(horizon=24, ages=5.0)
    off = [
        network_system(0),  # no meetings
        network_system(20, offer_share=0.0),  # none offered
        network_system(20, start="2030-04-01"),  # after the horizon
    ]
    for r in range(3):
        expected = ReplicateModel(base, r, SEED).run()
        for system in off:
            model = ReplicateModel(system, r, SEED)
            assert same(model.run(), expected)
            assert model.network_rec.sum() == 0


def test_before_meetings_start_every_month_is_the_baseline() -> None:
    base = ReplicateModel(small_system(horizon=24, ages=5.0), 1, SEED).run()
    later = ReplicateModel(network_system(20, start="2023-04-01"), 1, SEED).run()
    assert np.array_equal(base.stocks[:12], later.stocks[:12])
    assert np.array_equal(base.flows[:12], later.flows[:12])
    assert later.family_network[:12].sum() == 0 and later.family_network[12:, 0].sum() > 0


def test_meetings_avert_entries_at_the_drawn_share_and_never_exceed_the_month() -> None:
    # Averted entries are meetings held x (1 - m), m drawn per replicate: the gap between
    # them is Monte Carlo noise (binomial), within 3 standard errors.
    per_month, n = 3, 24
    gaps = []
    for r in range(n):
        model = ReplicateModel(network_system(per_month), r, SEED)
        res = model.run()
        held, averted = res.family_network[:, 0], res.family_network[:, 1]
        assert (held <= per_month).all()
        assert held.sum() > 0.8 * per_month * 24  # the meetings are used
        gaps.append(averted.sum() - held.sum() * (1.0 - model.network_effects[0]))
    gaps = np.asarray(gaps)
    se = gaps.std(ddof=1) / np.sqrt(n)
    assert abs(gaps.mean()) <= 3.0 * se + 0.05, (gaps.mean(), se)


def test_on_the_ssda903_return_alone_meetings_avert_entries_from_outside() -> None:
    """Data of children in care alone: a family whose meeting averted the entry stays out of
    care, not followed (no child in need to hold them in); the entries fall by the averted."""
    network = FamilyNetworkConfig(meetings=[["2022-04-01", 3]], offer_share=1.0)
    with_meetings = care_only_system(
        horizon=24, ages=5.0, capacity=CapacityConfig(enforce=False, family_network=network)
    )
    base = care_only_system(horizon=24, ages=5.0)
    outside = [code_of(s) for s in (vocab.EARLY_HELP, vocab.ASSESSMENT, vocab.CIN, vocab.CP)]
    for r in range(4):
        before = ReplicateModel(base, r, SEED).run()
        model = ReplicateModel(with_meetings, r, SEED)
        after = model.run()
        averted = int(after.family_network[:, 1].sum())
        assert after.family_network[:, 0].sum() > 0.8 * 3 * 24  # the meetings are used
        assert averted > 0 and entries(before) - entries(after) == averted
        assert after.stocks[:, outside].sum() == 0


def test_more_meetings_mean_fewer_entries_to_care_and_more_of_them_with_kinship_carers() -> None:
    few, many = network_system(1), network_system(6)
    d_entries, d_share = [], []
    for r in range(16):
        a = ReplicateModel(few, r, SEED).run()
        b = ReplicateModel(many, r, SEED).run()
        d_entries.append(entries(b) - entries(a))
        d_share.append(kinship_entries(b) / entries(b) - kinship_entries(a) / entries(a))
    for diffs in (-np.asarray(d_entries), np.asarray(d_share)):
        mean, se = diffs.mean(), diffs.std(ddof=1) / np.sqrt(len(diffs))
        assert mean > 2.0 * se and mean > 0, (mean, se)


def test_emergency_entries_are_not_offered_a_meeting() -> None:
    emergency = replace(network_system(50), emergency_share=(1.0,) * 5)
    model = ReplicateModel(emergency, 0, SEED)
    model.run()
    assert model.network_rec.sum() == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"routes": ["urgent"]}, "capacity.family_network.routes[0]"),
        ({"offer_share": 1.5}, "capacity.family_network.offer_share"),
        ({"meetings": [["2025-04-01", -2]]}, "capacity.family_network.meetings[0][1]"),
        ({"kinship_share_median": 0.0}, "capacity.family_network.kinship_share_median"),
    ],
)
def test_invalid_family_network_settings_name_their_field(change: dict, field: str) -> None:
    problems = capacity_problems(CapacityConfig(family_network=FamilyNetworkConfig(**change)))
    assert field in [f for f, _ in problems]
