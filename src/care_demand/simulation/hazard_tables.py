"""Hazard tables of one replicate, as the engine walks them.

Per epoch (the horizon is cut at every month a scenario lever's factor or the rates' random
walk changes) and per state code: the outcomes of its moves and, by age band and duration
band, the total rate and the cumulative rates of those moves. Children supported by Harbour
outreach have tables of their own with the outreach effects applied.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.calibration.hazard_exposure import MOVE, HazardIndex
from care_demand.calibration.hazard_levers import (
    HazardLever,
    apply_entry_levers,
    apply_levers,
    drawn_lever,
)
from care_demand.simulation.engine_common import _EXIT, _STATE_CODE, _month_index
from care_demand.simulation.paths import TO_CARE, TO_CLOSED, TO_MOVE
from care_demand.simulation.system import CODES, FIRST_CARE, CareSystem, code_of

__all__ = ["DRIFT_MONTHS"]

# Months between steps of the transition rates' random walk (CareSystem.rate_drift_sd).
DRIFT_MONTHS = 6


def _outcome(code: int, dest: str) -> int:
    """What a move to ``dest`` from ``code`` does (see ``_TO_*``), as an integer."""
    if code < FIRST_CARE:
        if dest == vocab.CLOSED:
            return TO_CLOSED
        return TO_CARE if dest == vocab.CARE else _STATE_CODE[dest]
    return TO_MOVE if dest == MOVE else _EXIT[dest]


def _layout(
    pairs: list[tuple[str, str | None, str]],
) -> list[tuple[int, tuple[int, ...], np.ndarray, tuple[str, ...]]]:
    """Per state code with moves: the code, its moves' outcomes, the positions of its pairs
    in ``pairs`` and their destinations, in the order of ``pairs``."""
    per_code: dict[int, list[tuple[int, str]]] = {}
    for position, (state, group, dest) in enumerate(pairs):
        per_code.setdefault(code_of(state, group), []).append((position, dest))
    return [
        (
            code,
            tuple(_outcome(code, dest) for _, dest in items),
            np.array([position for position, _ in items]),
            tuple(dest for _, dest in items),
        )
        for code, items in per_code.items()
    ]


def _tables(
    rates: np.ndarray,
    layout: list,
    factors: np.ndarray | None = None,
    before: tuple[list, list] | None = None,
) -> tuple[list, list]:
    """Per code: (outcomes, table[age][dur] = (total, cumulative rates)), and the rates
    each was built from. ``rates`` is ``(pair, age, dur)``, ``factors`` an optional
    multiplier per pair; ``before``, the tables and rates of the previous epoch, whose
    table a code keeps when its rates are unchanged (a lever usually changes one move)."""
    out: list = [None] * len(CODES)
    stacks: list = [None] * len(CODES)
    for code, dests, positions, _ in layout:
        stack = rates[positions]  # (dest, age, dur)
        if factors is not None:
            stack = stack * factors[positions][:, None, None]
        stacks[code] = stack
        if before is not None and np.array_equal(before[1][code], stack):
            out[code] = before[0][code]
            continue
        cum = np.cumsum(stack, axis=0)
        # One conversion to lists per code: [age][dur] totals and [age][dur][dest] sums.
        totals = cum[-1].tolist()
        sums = cum.transpose(1, 2, 0).tolist()
        table = [list(zip(t, c, strict=True)) for t, c in zip(totals, sums, strict=True)]
        out[code] = (dests, table)
    return out, stacks


def _epoch_tables(
    system: CareSystem,
    draw: int,
    epochs: list[int],
    walk: np.ndarray | None,
    supported: dict[tuple[int, str], float],
    levers: tuple[HazardLever, ...] | None = None,
) -> tuple[list, list, list]:
    """Per epoch starting at ``epochs``: the hazard tables of posterior draw ``draw``, those
    of children supported by outreach (rates times ``supported``), and the cumulative
    shares of the placement groups children enter care in (none without entry draws).

    Scenario levers change hazards from a date on: the horizon is cut into epochs at every
    month a lever's factor changes, with one set of tables per epoch. ``levers``: the
    hazard levers with this replicate's multipliers drawn (the system's when not given).
    """
    if levers is None:
        levers = system.hazard_levers
    index = system.draws.index
    pairs = list(index.pairs)
    rates = system.draws.rates[draw]
    entry_draw = system.draws.entry[draw] if system.draws.entry is not None else None
    layout = _layout(pairs)
    factors = np.ones(len(pairs))
    for code, _, positions, dests in layout:
        for position, dest in zip(positions, dests, strict=True):
            factors[position] = supported.get((code, dest), 1.0)
    tabs = []
    tabs_supported = []
    entry_cums = []
    plain = held = None
    for month in epochs:
        date = system.start + pd.DateOffset(months=month)
        epoch_rates = apply_levers(rates, index, levers, date)
        if walk is not None:
            epoch_rates = epoch_rates * walk[month // DRIFT_MONTHS][:, None, None]
        plain = _tables(epoch_rates, layout, before=plain)
        held = _tables(epoch_rates, layout, factors, before=held)
        tabs.append(plain[0])
        tabs_supported.append(held[0])
        if entry_draw is not None:
            entry = apply_entry_levers(
                entry_draw, vocab.PLACEMENT_GROUPS, index.age_bands, system.entry_levers, date
            )
            entry_cums.append(np.cumsum(entry, 1).tolist())
    return tabs, tabs_supported, entry_cums


def _drawn_levers(system: CareSystem, rng_of) -> tuple[HazardLever, ...]:
    """The system's hazard levers with one replicate's draw of each uncertain multiplier.

    ``rng_of(a)`` is the replicate's generator for key ``a``; a lever draws from the key of
    its name (crc32), so it gets the same draw in every scenario that has it, whatever
    other levers there are. Levers without uncertainty draw nothing.
    """
    return tuple(
        drawn_lever(lever, float(rng_of(zlib.crc32(lever.label.encode())).standard_normal()))
        if lever.multiplier_log_sd > 0.0
        else lever
        for lever in system.hazard_levers
    )


def _drift_walk(system: CareSystem, index: HazardIndex, rng: np.random.Generator) -> np.ndarray:
    """Rate multipliers ``(drift period, pair)`` drawn from ``rng``.

    Every destination (entry to care, return home, closure, ...) has its own random
    walk on log scale, shared by the pairs that lead there from any state or placement
    group: practice and thresholds shift the rate of, say, entries to care from CIN and
    CP together. Each period of ``DRIFT_MONTHS`` months takes the walk's value at its
    middle, with variance ``rate_drift_sd**2`` per year from the projection start, so
    the median multiplier is 1. A replicate draws its walk from a stream of its own, so
    scenarios share it.
    """
    destinations = sorted({dest for _, _, dest in index.pairs})
    column = {dest: i for i, dest in enumerate(destinations)}
    n_periods = -(-system.horizon_months // DRIFT_MONTHS)
    step_sd = system.rate_drift_sd * np.sqrt(DRIFT_MONTHS / 12.0)
    steps = rng.normal(0.0, step_sd, (n_periods, len(destinations)))
    steps[0] *= np.sqrt(0.5)  # the first period's middle is half a period from the start
    walk = np.exp(np.cumsum(steps, axis=0))
    return walk[:, [column[dest] for _, _, dest in index.pairs]]


def _epoch_starts(system: CareSystem) -> list[int]:
    """Months (from the start) at which some hazard or entry lever's factor changes; 0 first."""
    months = {0}
    if system.rate_drift_sd > 0.0:
        months.update(range(0, system.horizon_months, DRIFT_MONTHS))
    for lever in (*system.hazard_levers, *system.entry_levers):
        first = _month_index(system.start, lever.start)
        months.update(range(first, first + max(lever.ramp_months, 1)))
    return sorted(m for m in months if 0 <= m < system.horizon_months)
