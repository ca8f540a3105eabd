"""Spells drawn from known piecewise-constant hazards, for checking the hazard estimator.

Each simulated spell is independent (its own pseudonymous child): it starts on a uniform
date, at a uniform age, and runs through the age and duration bands with competing
exponential exits at the given rates until an exit or the 18th birthday. The observation
window then applies as it does to real data: spells that end after ``window_end`` are open
(``end`` NaT) and spells that started before ``window_start`` are flagged as such.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.calibration.hazard_exposure import HAZARD_AGE_BANDS, MOVE, HazardIndex

__all__ = ["simulate_spells"]

_AGE_LOW = np.array([low for _, low, _ in HAZARD_AGE_BANDS])
_DUR_LOW = np.array([low for _, low, _ in vocab.DURATION_BANDS])
_ADULT_MONTHS = 18.0 * 12.0


def _next_edge(edges: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Smallest edge strictly above each x (inf when none)."""
    pos = np.searchsorted(edges, x, side="right")
    padded = np.append(edges, np.inf)
    return padded[pos]


def _run(
    rates: np.ndarray, age0: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Duration (months) and destination slot (-1: reached 18) for one stratum's spells."""
    n = len(age0)
    d = np.zeros(n)
    dest = np.full(n, -2)  # -2: still running
    age_edges_m = _AGE_LOW[1:] * 12.0
    for _ in range(64):
        run = np.flatnonzero(dest == -2)
        if run.size == 0:
            break
        age_m = age0[run] * 12.0 + d[run]
        a = np.searchsorted(_AGE_LOW * 12.0, age_m, side="right") - 1
        k = np.searchsorted(_DUR_LOW, d[run], side="right") - 1
        to_age = np.minimum(_next_edge(age_edges_m, age_m), _ADULT_MONTHS) - age_m
        to_dur = _next_edge(_DUR_LOW[1:], d[run]) - d[run]
        length = np.minimum(to_age, to_dur)
        cell = rates[:, a, k].T  # (spell, destination)
        total = cell.sum(axis=1)
        wait = rng.exponential(1.0, size=run.size) / total
        hit = wait < length
        d[run] += np.where(hit, wait, length)
        u = rng.random(hit.sum())[:, None]
        choice = (np.cumsum(cell[hit], axis=1) / total[hit, None] < u).sum(axis=1)
        dest[run[hit]] = np.minimum(choice, cell.shape[1] - 1)
        adult = ~hit & (age_m + length >= _ADULT_MONTHS - 1e-9)
        dest[run[adult]] = -1
    return d, dest


def simulate_spells(
    rates: np.ndarray,
    index: HazardIndex,
    n_spells: int | Mapping[tuple[str, str | None], int],
    window_start: pd.Timestamp,
    window_end: pd.Timestamp,
    rng: np.random.Generator,
    *,
    lead_years: float = 3.0,
    age_range: tuple[float, float] = (0.0, 17.0),
) -> pd.DataFrame:
    """Simulate a spells table (docs/event_history.md schema) from monthly ``rates``.

    ``rates`` has shape ``index.shape``. ``n_spells`` is the number of spells per stratum
    (one number for all, or a mapping by ``(state, group)``). Starts are uniform over
    ``[window_start - lead_years, window_end]``, ages at start uniform over ``age_range``.
    A move's destination group and a step into care's placement group are uniform.
    """
    rates = np.asarray(rates, dtype=float)
    if rates.shape != index.shape:
        raise ValueError(f"rates have shape {rates.shape}, index needs {index.shape}")
    ws, we = pd.Timestamp(window_start), pd.Timestamp(window_end)
    first = ws - pd.to_timedelta(lead_years * vocab.DAYS_PER_YEAR, unit="D")
    span_days = (we - first).days
    groups = np.array(vocab.PLACEMENT_GROUPS, dtype=object)
    frames = []
    serial = 0
    for state, group in index.strata:
        n = n_spells if isinstance(n_spells, int) else int(n_spells.get((state, group), 0))
        if n <= 0:
            continue
        pairs = [index.position(state, group, d) for d in index.destinations(state, group)]
        dests = np.array(index.destinations(state, group), dtype=object)
        age0 = rng.uniform(*age_range, size=n)
        start = first + pd.to_timedelta(rng.integers(0, span_days, size=n), unit="D")
        months, slot = _run(rates[pairs], age0, rng)
        dob = start - pd.to_timedelta(np.round(age0 * vocab.DAYS_PER_YEAR), unit="D")
        age0 = np.asarray((start - dob).days) / vocab.DAYS_PER_YEAR
        end = start + pd.to_timedelta(np.round(months * vocab.DAYS_PER_MONTH), unit="D")
        reached = slot == -1
        adult = dob + pd.to_timedelta(18.0 * vocab.DAYS_PER_YEAR, unit="D")
        end = end.where(~reached, adult.floor("D"))
        end = end.where(end > start, start + pd.Timedelta(days=1))
        destination = np.where(slot >= 0, dests[np.maximum(slot, 0)], "")
        care = state == vocab.CARE
        next_state = np.where(destination == vocab.CLOSED, vocab.NONE, destination)
        next_group = np.full(n, None, dtype=object)
        exit_reason = np.full(n, None, dtype=object)
        if care:
            exits = (slot >= 0) & (destination != MOVE)
            next_state = np.where(
                destination == MOVE, vocab.CARE, np.where(exits, vocab.NONE, vocab.CARE_LEAVER)
            )
            exit_reason[exits] = destination[exits]
            exit_reason[reached] = vocab.AGE_18
        else:
            exit_reason[destination == vocab.CLOSED] = vocab.CLOSED
            next_state = np.where(reached, vocab.NONE, next_state)
            exit_reason[reached] = vocab.CLOSED
        to_care = next_state == vocab.CARE
        next_group[to_care] = rng.choice(groups, size=int(to_care.sum()))
        open_ = np.asarray(end > we)
        frame = pd.DataFrame(
            {
                "child_id": [f"S{serial + i:07d}" for i in range(n)],
                "state": state,
                "placement_group": group,
                "start": start,
                "end": end.where(~open_),
                "next_state": np.where(open_, None, next_state),
                "next_group": np.where(open_, None, next_group),
                "exit_reason": np.where(open_, None, exit_reason),
                "dob": dob,
                "age_at_start": age0,
                "entered_before_window": (start < ws),
                "care_period": pd.array([1 if care else pd.NA] * n, dtype="Int64"),
            }
        )
        frames.append(frame)
        serial += n
    out = pd.concat(frames, ignore_index=True)
    for col in ("state", "placement_group", "next_state", "next_group", "exit_reason"):
        out[col] = pd.Series(out[col].to_numpy(dtype=object), dtype="str")
    return out
