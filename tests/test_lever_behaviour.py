"""Every shipped lever moves the projection the way a commissioner would expect.

Each test runs the same small system with constant hazards (``toy_system``) with and
without the lever, paired (same seed and replicate, so the same children have the same
luck), and asks that the mean paired difference lies in the expected direction by more
than its Monte Carlo error (twice the standard error of the paired differences).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from care_demand import streams, vocab
from care_demand.calibration.arrival_levers import ArrivalLever, lever_multipliers
from care_demand.calibration.hazard_levers import EntryPreferenceLever, HazardLever
from care_demand.finance import CostConfig, cost_replicates
from care_demand.simulation.capacity import (
    CapacityConfig,
    FosteringConfig,
    HarbourConfig,
    HomeConfig,
    RecruitmentChange,
)
from care_demand.simulation.engine import ReplicateModel
from care_demand.simulation.hazard_tables import _drawn_levers
from care_demand.simulation.recording import ReplicateResult
from care_demand.simulation.runner import replicate_table
from care_demand.simulation.system import FIRST_CARE, LEAVER, CareSystem, code_of
from toy_system import KINDS, small_system

SEED = 21
N_REPLICATES = 16
IFA = code_of(vocab.CARE, vocab.IFA)


def paired(
    base: CareSystem, lever: CareSystem, measure: Callable[[ReplicateResult], float]
) -> tuple[float, float]:
    """Mean and standard error of ``measure`` with the lever minus without, paired."""
    diffs = np.array(
        [
            measure(ReplicateModel(lever, r, SEED).run())
            - measure(ReplicateModel(base, r, SEED).run())
            for r in range(N_REPLICATES)
        ]
    )
    return float(diffs.mean()), float(diffs.std(ddof=1) / np.sqrt(len(diffs)))


def placement_days(group: str) -> Callable[[ReplicateResult], float]:
    column = vocab.PLACEMENT_GROUPS.index(group)
    return lambda res: float(res.placement_days[:, column].sum())


def in_care_at_end(res: ReplicateResult) -> float:
    return float(res.stocks[-1, FIRST_CARE:LEAVER].sum())


def test_a_recruitment_campaign_means_fewer_ifa_placements() -> None:
    def system(enquiries: float) -> CareSystem:
        fostering = FosteringConfig(
            households=5,
            recruitment={
                "campaign": RecruitmentChange(start="2022-04-01", enquiries_multiplier=enquiries)
            },
        )
        capacity = CapacityConfig(fostering=fostering)
        return small_system(horizon=24, capacity=capacity, intensity=(60.0, 80.0, 10.0))

    mean, se = paired(system(1.0), system(3.0), placement_days(vocab.IFA))
    assert mean < -2.0 * se and mean < 0, (mean, se)


def test_more_beds_in_homes_mean_fewer_external_residential_placements() -> None:
    def system(beds: int) -> CareSystem:
        homes = {"home": HomeConfig(name="home", beds=beds, min_age=10.0, max_age=18.0)}
        return small_system(horizon=24, ages=14.0, capacity=CapacityConfig(homes=homes))

    mean, se = paired(system(2), system(12), placement_days(vocab.EXTERNAL_RESIDENTIAL))
    assert mean < -2.0 * se and mean < 0, (mean, se)


def test_more_arrivals_mean_more_children_in_care() -> None:
    base = small_system(horizon=24)
    months = pd.date_range(base.start, periods=base.horizon_months, freq="MS")
    factors = lever_multipliers(
        [ArrivalLever(kind="referral", multiplier=1.5, start="2022-04-01")], months, KINDS
    )
    lever = replace(base, arrival_intensity=base.arrival_intensity * factors[None, :, :])
    mean, se = paired(base, lever, in_care_at_end)
    assert mean > 2.0 * se and mean > 0, (mean, se)


def test_more_outreach_means_fewer_adolescent_entries_to_care() -> None:
    def system(places: int) -> CareSystem:
        harbour = HarbourConfig(caseload=[["2022-04-01", places]])
        capacity = CapacityConfig(enforce=False, harbour=harbour)
        return small_system(horizon=24, ages=14.0, capacity=capacity)

    def entries(res: ReplicateResult) -> float:
        return float(res.entry_routes.sum())

    mean, se = paired(system(10), system(30), entries)
    assert mean < -2.0 * se and mean < 0, (mean, se)


def test_a_higher_unit_cost_means_a_higher_cost_and_no_change_in_any_count() -> None:
    # The unit cost is a finance setting: the scenario's simulation is the baseline's.
    base, lever = small_system(horizon=24), small_system(horizon=24)
    runs = {
        name: [ReplicateModel(system, r, SEED).run() for r in range(4)]
        for name, system in (("base", base), ("lever", lever))
    }
    tables = {name: replicate_table(results, base) for name, results in runs.items()}
    pd.testing.assert_frame_equal(tables["base"], tables["lever"])

    dearer = CostConfig()
    dearer.placements[vocab.IFA].weekly *= 1.25
    costed = {
        "base": cost_replicates(tables["base"], CostConfig(), seed=SEED),
        "lever": cost_replicates(tables["lever"], dearer, seed=SEED),
    }
    totals = {
        name: frame.groupby("replicate", observed=True)["value"].sum()
        for name, frame in costed.items()
    }
    ifa = {
        name: frame[frame["line"] == vocab.IFA].groupby("replicate", observed=True)["value"].sum()
        for name, frame in costed.items()
    }
    assert (totals["lever"] > totals["base"]).all()
    # The whole difference is the IFA line's, a quarter of it.
    np.testing.assert_allclose(totals["lever"] - totals["base"], 0.25 * ifa["base"], rtol=1e-9)
    np.testing.assert_allclose(ifa["lever"], 1.25 * ifa["base"], rtol=1e-9)


def steps_up(res: ReplicateResult) -> float:
    """Moves to a higher level of need outside care (early help, then assessment or in
    need, then child protection)."""
    eh, assessment, cin, cp = (code_of(s) + 1 for s in ("early_help", "assessment", "cin", "cp"))
    flows = res.flows
    return float(flows[:, eh, [assessment, cin, cp]].sum() + flows[:, [assessment, cin], cp].sum())


def continuity_levers(log_sd: float) -> tuple[HazardLever, ...]:
    """Family Help continuity: fewer steps up from early help and from children in need."""
    return tuple(
        HazardLever(
            state=state,
            destination=dest,
            multiplier=0.8,
            start="2022-06-01",
            ramp_months=6,
            name=f"continuity_{state}",
            multiplier_log_sd=log_sd,
        )
        for state, dest in (("early_help", "assessment"), ("cin", "cp"))
    )


def test_family_help_continuity_means_fewer_steps_up() -> None:
    base = small_system(horizon=24)
    lever = replace(base, hazard_levers=continuity_levers(0.2))
    mean, se = paired(base, lever, steps_up)
    assert mean < -2.0 * se and mean < 0, (mean, se)


def test_an_uncertain_lever_draws_its_multiplier_per_replicate_the_same_in_every_scenario() -> None:
    system = replace(small_system(horizon=12), hazard_levers=continuity_levers(0.2))
    # Another scenario with the same levers and one more, listed first.
    extra = HazardLever(state="cp", destination="care", multiplier=0.9, start="2022-06-01")
    other = replace(system, hazard_levers=(extra, *continuity_levers(0.2)))

    def drawn(sys: CareSystem, r: int) -> list[float]:
        model = ReplicateModel(sys, r, SEED)
        return [
            lever.multiplier
            for lever in _drawn_levers(sys, lambda a: model._rng(streams.LEVER_EFFECTS, a, 0))
        ]

    draws = [drawn(system, r) for r in range(8)]
    assert draws[0] == drawn(other, 0)[1:]
    assert len({d[0] for d in draws}) == 8  # a draw per replicate
    assert draws[0][0] != draws[0][1]  # and per lever
    # With no uncertainty the multiplier is the lever's own.
    fixed = replace(system, hazard_levers=continuity_levers(0.0))
    assert drawn(fixed, 3) == [0.8, 0.8]


def test_kinship_first_means_more_entries_to_kinship_care() -> None:
    kinship = code_of(vocab.CARE, vocab.KINSHIP_FOSTER)

    def kinship_entries(res: ReplicateResult) -> float:
        return float(res.flows[:, : FIRST_CARE + 1, kinship + 1].sum())

    base = small_system(horizon=24)
    first = EntryPreferenceLever(
        group=vocab.KINSHIP_FOSTER, multiplier=1.5, start="2022-06-01", ramp_months=6
    )
    mean, se = paired(base, replace(base, entry_levers=(first,)), kinship_entries)
    assert mean > 2.0 * se and mean > 0, (mean, se)
