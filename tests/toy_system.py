"""A small care system with constant hazards, for tests of the flow model."""

from __future__ import annotations

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.calibration.hazard_exposure import FULL_INDEX, HazardIndex
from care_demand.calibration.hazards import HazardDraws
from care_demand.simulation.capacity import CapacityConfig
from care_demand.simulation.system import CareSystem, code_of

KINDS = ("referral", "early_help_request", "care_entry")
MONTHLY = {  # constant monthly hazards by state and destination
    "early_help": {"assessment": 0.03, "closed": 0.15},
    "assessment": {"cin": 0.25, "cp": 0.05, "early_help": 0.06, "care": 0.02, "closed": 0.3},
    "cin": {"cp": 0.02, "early_help": 0.02, "care": 0.01, "closed": 0.1},
    "cp": {"cin": 0.06, "early_help": 0.01, "care": 0.02, "closed": 0.04},
    "care": {
        "move": 0.03,
        "return_home": 0.012,
        "sgo_cao": 0.006,
        "adoption": 0.004,
        "care_exit_other": 0.003,
    },
}


def constant_draws(n_draws: int = 1) -> HazardDraws:
    rates = np.zeros((n_draws, len(FULL_INDEX.pairs), 5, 5))
    for p, (state, _group, dest) in enumerate(FULL_INDEX.pairs):
        rates[:, p] = MONTHLY[state][dest]
    n_groups = len(vocab.PLACEMENT_GROUPS)
    entry = np.full((n_draws, 5, n_groups), 1.0)
    entry[:, :, vocab.PLACEMENT_GROUPS.index(vocab.SUPPORTED_16PLUS)] = 0.0
    entry /= entry.sum(axis=2, keepdims=True)
    move = np.broadcast_to(entry[:, None, :1, :], (n_draws, n_groups, 5, n_groups)).copy()
    return HazardDraws(rates=rates, index=FULL_INDEX, entry=entry, move=move)


def small_system(
    horizon: int = 24,
    ages: float = 1.0,
    capacity: CapacityConfig | None = None,
    intensity: tuple[float, float, float] = (60.0, 80.0, 2.0),
) -> CareSystem:
    codes = [code_of(vocab.CIN)] * 150 + [code_of(vocab.CARE, vocab.IFA)] * 150
    caseload = pd.DataFrame(
        {"code": codes, "age": ages, "months_in_state": 4.0, "months_in_care": 6.0}
    )
    arrival = np.zeros((2, horizon, 3))
    arrival[:, :, :] = intensity
    return CareSystem(
        start=pd.Timestamp("2022-04-01"),
        horizon_months=horizon,
        draws=constant_draws(),
        arrival_kinds=KINDS,
        arrival_intensity=arrival,
        arrival_ages=tuple(np.full(10, ages) for _ in KINDS),
        referral_nfa_share=0.25,
        caseload=caseload,
        capacity=capacity if capacity is not None else CapacityConfig(enforce=False),
    )


def care_only_system(
    horizon: int = 12,
    ages: float = 14.0,
    capacity: CapacityConfig | None = None,
    per_month: float = 20.0,
) -> CareSystem:
    """The toy system as data of children in care alone (the SSDA903 return) give it: care
    hazards only, entries to care the one kind of arrival, children in care at the start."""
    full = constant_draws()
    care = [p for p, pair in enumerate(full.index.pairs) if pair[0] == vocab.CARE]
    draws = HazardDraws(
        rates=full.rates[:, care],
        index=HazardIndex(tuple(full.index.pairs[p] for p in care)),
        entry=full.entry,
        move=full.move,
    )
    caseload = pd.DataFrame(
        {
            "code": [code_of(vocab.CARE, vocab.IFA)] * 150,
            "age": ages,
            "months_in_state": 4.0,
            "months_in_care": 6.0,
        }
    )
    return CareSystem(
        start=pd.Timestamp("2022-04-01"),
        horizon_months=horizon,
        draws=draws,
        arrival_kinds=("care_entry",),
        arrival_intensity=np.full((2, horizon, 1), per_month),
        arrival_ages=(np.full(10, ages),),
        referral_nfa_share=0.0,
        caseload=caseload,
        capacity=capacity if capacity is not None else CapacityConfig(enforce=False),
        mode="care_only",
    )
