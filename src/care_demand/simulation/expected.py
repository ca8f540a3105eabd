"""Expected stocks by the Kolmogorov forward equations: an independent check of the engine.

For a configuration whose hazards do not depend on age or time in state, with no capacity
limits and no child reaching 16, the simulation is a continuous-time Markov chain with
arrivals: the expected number of children in each state solves

    dm/dt = a(t) + Q^T m,

where ``Q`` is the generator built from the hazards (placement moves spread over destination
groups, entries to care over entry groups) and ``a(t)`` the arrival rate into each state.
Arrival rates are constant within each month, so the solution is exact month by month with a
matrix exponential of the augmented system.
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import expm

from care_demand import vocab
from care_demand.calibration.hazard_exposure import MOVE
from care_demand.simulation.system import (
    ARRIVAL_STATES,
    CODES,
    FIRST_CARE,
    LEAVER,
    CareSystem,
    code_of,
)

__all__ = ["expected_stocks"]


def _generator(system: CareSystem, draw: int) -> np.ndarray:
    draws = system.draws
    rates = draws.rates[draw]
    if not np.allclose(rates, rates[:, :1, :1]):
        raise ValueError(
            "the forward equations need hazards that do not vary by age or time in state"
        )
    n = len(CODES)
    q = np.zeros((n, n))
    entry = draws.entry[draw][0] if draws.entry is not None else None
    move = draws.move[draw] if draws.move is not None else None
    if move is not None:
        if not np.allclose(move, move[:, :1, :]):
            raise ValueError("the forward equations need move shares that do not vary by age")
        move = move[:, 0, :]
    for p, (state, group, dest) in enumerate(draws.index.pairs):
        i = code_of(state, group)
        h = float(rates[p, 0, 0])
        if dest == MOVE:
            q[i, FIRST_CARE:LEAVER] += h * move[i - FIRST_CARE] / move[i - FIRST_CARE].sum()
        elif dest == vocab.CARE:
            q[i, FIRST_CARE:LEAVER] += h * entry / entry.sum()
        elif dest in CODES:
            q[i, CODES.index(dest)] += h
        # every other destination leaves the system (closed, care exits)
        q[i, i] -= h
    return q


def expected_stocks(system: CareSystem, draw: int = 0, path: int = 0) -> np.ndarray:
    """Expected children by code at each month end, ``(month, code)``.

    Valid only for constant hazards, unlimited capacity (``capacity.enforce`` false), no
    Harbour outreach and children who stay under 16 over the horizon; a ``ValueError`` says
    when the hazards vary.
    """
    q = _generator(system, draw)
    n = q.shape[0]
    m = np.bincount(system.caseload["code"].to_numpy(dtype=int), minlength=n).astype(float)
    entry = system.draws.entry[draw][0] if system.draws.entry is not None else None
    out = np.zeros((system.horizon_months, n))
    for month in range(system.horizon_months):
        a = np.zeros(n)
        for k, kind in enumerate(system.arrival_kinds):
            lam = float(system.arrival_intensity[path, month, k])
            state = ARRIVAL_STATES[kind]
            if state == vocab.CARE:
                a[FIRST_CARE:LEAVER] += lam * entry / entry.sum()
            elif state == vocab.ASSESSMENT:
                a[CODES.index(state)] += lam * (1.0 - system.referral_nfa_share)
            else:
                a[CODES.index(state)] += lam
        # Augmented system d/dt [m; 1] = [[Q^T, a], [0, 0]] [m; 1] over one month.
        aug = np.zeros((n + 1, n + 1))
        aug[:n, :n] = q.T
        aug[:n, n] = a
        step = expm(aug)
        m = step[:n, :n] @ m + step[:n, n]
        out[month] = m
    return out
