"""Moves of children outside care, drawn for many children at once with numpy.

Outside care a child's next move depends only on its own uniforms, its age, its time in
the state, the date (scenario levers change the hazards from a date on) and whether Harbour
outreach supports it; in-house capacity plays no part. So the moves of every child arriving
over the horizon can be drawn together before the simulation reaches them, as long as no
outreach support intervenes: the engine follows these paths one event per move, in SimPy's
order, and takes over with its one-child walk (``ReplicateModel._schedule``) for a child who
is offered outreach, enters care or runs past what was drawn here.

The draws are the engine's, in the same order and with the same floating-point operations
(basic arithmetic is correctly rounded in numpy as in Python, and the logarithms are taken
with :func:`math.log`), so a child's moves are identical whichever way they are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import log

import numpy as np

__all__ = ["HazardArrays", "Paths", "draw_paths"]

# Outcomes of a drawn move, besides the code (>= 0) of another state outside care: closed,
# into care, a move between placements (in care only), the 18th birthday outside care,
# nothing before the horizon, or a move the engine must draw itself.
TO_CLOSED, TO_CARE, TO_MOVE, TO_AT_18, TO_NOTHING, TO_ENGINE = -1, -2, -3, -4, -5, -6


@dataclass(frozen=True)
class HazardArrays:
    """The hazard tables of the states outside care as arrays.

    ``total[epoch, code, age, dur]`` is the total rate out of the state,
    ``cum[epoch, code, age, dur, j]`` the cumulative rates of its destinations (padded with
    infinity), ``n_dest[code]`` their number (0 for a state without hazards) and
    ``outcome[code, j]`` what destination ``j`` means (a state code or ``TO_CLOSED`` /
    ``TO_CARE``). ``epoch_edges`` are the ends of the epochs (the last is infinite).
    """

    total: np.ndarray
    cum: np.ndarray
    n_dest: np.ndarray
    outcome: np.ndarray
    epoch_edges: np.ndarray
    age_edges: np.ndarray
    dur_edges: np.ndarray

    @classmethod
    def of(cls, tabs: list, n_codes: int, epoch_edges, age_edges, dur_edges) -> HazardArrays:
        """From the engine's per-epoch tables (``tabs[epoch][code] = (outcomes, table)``)."""
        n_ep = len(tabs)
        shapes = [
            (len(entry[1]), len(entry[1][0]), len(entry[0]))
            for epoch in tabs
            for entry in epoch[:n_codes]
            if entry is not None
        ]
        n_age, n_dur = (shapes[0][0], shapes[0][1]) if shapes else (1, 1)
        width = max((s[2] for s in shapes), default=1)
        total = np.zeros((n_ep, n_codes, n_age, n_dur))
        cum = np.full((n_ep, n_codes, n_age, n_dur, width), np.inf)
        n_dest = np.zeros(n_codes, dtype=np.int64)
        outcome = np.full((n_codes, width), TO_ENGINE, dtype=np.int64)
        for e, epoch in enumerate(tabs):
            for code in range(n_codes):
                entry = epoch[code]
                if entry is None:
                    continue
                outcomes, table = entry
                n_dest[code] = len(outcomes)
                outcome[code, : len(outcomes)] = outcomes
                for a, row in enumerate(table):
                    for d, (tot, cums) in enumerate(row):
                        total[e, code, a, d] = tot
                        cum[e, code, a, d, : len(cums)] = cums
        inf = [np.inf]
        return cls(
            total=total,
            cum=cum,
            n_dest=n_dest,
            outcome=outcome,
            epoch_edges=np.asarray(epoch_edges, dtype=float),
            age_edges=np.asarray([*age_edges, *inf], dtype=float),
            dur_edges=np.asarray([*dur_edges, *inf], dtype=float),
        )


@dataclass(frozen=True)
class Paths:
    """Drawn steps: child ``i``'s first step is ``first[i]``, and step ``j`` is followed by
    step ``following[j]`` (-1 when the path stops there).

    Per step: ``child``; ``code``, the state the step starts from; ``outcome`` (a state code,
    ``TO_CLOSED``, ``TO_CARE``, ``TO_AT_18``, or ``TO_NOTHING`` when nothing happens before
    the horizon, or ``TO_ENGINE`` when the engine must draw this step itself); ``when``, the
    time drawn for the move, and ``time``, the time of its SimPy event; ``k``, the index of
    the child's next unused uniform after the step.
    """

    first: np.ndarray
    following: np.ndarray
    child: np.ndarray
    code: np.ndarray
    outcome: np.ndarray
    when: np.ndarray
    time: np.ndarray
    k: np.ndarray


def _walk(
    h: HazardArrays,
    horizon: float,
    adult: float,
    now: np.ndarray,
    entered: np.ndarray,
    birth: np.ndarray,
    code: np.ndarray,
    uniforms: np.ndarray,
    rows: np.ndarray,
    k: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One move for each child in ``code`` since ``entered``, from ``now``.

    Returns the outcome, the time drawn and the index of the next unused uniform. The vector
    form of the engine's walk through piecewise-constant competing hazards; child ``i`` draws
    from ``uniforms[rows[i]]``.
    """
    n = len(now)
    out = np.full(n, TO_NOTHING, dtype=np.int64)
    when = np.zeros(n)
    k_next = k + 1
    limit = birth + adult
    limit = np.where(horizon <= limit, horizon, limit)
    ep = np.searchsorted(h.epoch_edges, now, side="right")
    e = -np.array(list(map(log, (1.0 - uniforms[rows, k]).tolist())))
    a = np.searchsorted(h.age_edges[:-1], now - birth, side="right")
    d = np.searchsorted(h.dur_edges[:-1], now - entered, side="right")
    # The walkers' state, kept for those still walking: each step of the loop crosses one
    # boundary (an age band, a duration band, an epoch) or ends the walk.
    idx = np.arange(n)
    t, lim, b, en, c, row, kk = now, limit, birth, entered, code, rows, k
    while idx.size:
        nxt = np.minimum(lim, h.epoch_edges[ep])
        nxt = np.minimum(nxt, b + h.age_edges[a])
        nxt = np.minimum(nxt, en + h.dur_edges[d])
        total = h.total[ep, c, a, d]
        step = total * (nxt - t)
        hit = (total > 0.0) & (step >= e)
        stop = ~hit & (nxt >= lim)
        if hit.any():
            hi = idx[hit]
            tot = total[hit]
            ch = c[hit]
            when[hi] = t[hit] + e[hit] / tot
            x = uniforms[row[hit], kk[hit] + 1] * tot
            cum = h.cum[ep[hit], ch, a[hit], d[hit]]
            j = np.minimum((cum <= x[:, None]).sum(axis=1), h.n_dest[ch] - 1)
            out[hi] = h.outcome[ch, j]
            k_next[hi] = kk[hit] + 2
        if stop.any():
            early = stop & (lim < horizon)
            out[idx[early]] = TO_AT_18
            when[idx[early]] = lim[early]
        go = ~(hit | stop)
        e = e[go] - step[go]
        t = nxt[go]
        idx, lim, b, en, c, row, kk = idx[go], lim[go], b[go], en[go], c[go], row[go], kk[go]
        a, d, ep = a[go], d[go], ep[go]
        a = a + (t >= b + h.age_edges[a])
        d = d + (t >= en + h.dur_edges[d])
        ep = ep + (t >= h.epoch_edges[ep])
    return out, when, k_next


def draw_paths(
    h: HazardArrays,
    horizon: float,
    adult: float,
    *,
    start: np.ndarray,
    clock: np.ndarray,
    entered: np.ndarray,
    birth: np.ndarray,
    code: np.ndarray,
    uniforms: np.ndarray,
    rows: np.ndarray,
    k: np.ndarray,
    max_steps: int = 16,
) -> Paths:
    """The moves outside care of children in ``code`` since ``entered``, step by step.

    Child ``i``'s first move is drawn from time ``start[i]`` and scheduled at SimPy time
    ``clock[i]`` (so its event comes at ``clock + (when - clock)``); each later move is drawn
    from the time of the event before it, on entering the new state. Child ``i`` draws from
    ``uniforms[rows[i]]`` starting at column ``k[i]``. A path stops at a closure, an entry to care,
    the 18th birthday, the horizon, or where the engine must take over: a state without
    hazards, a child about to use up its row of uniforms, or more than ``max_steps`` moves.
    """
    n = len(start)
    n_cols = uniforms.shape[1]
    steps: list[tuple[np.ndarray, ...]] = []
    first = np.full(n, -1)
    links: list[tuple[np.ndarray, np.ndarray]] = []  # (step, the same child's next step)
    n_steps = 0
    who = np.arange(n)
    prev = np.full(n, -1)  # each walking child's step before this one
    now = np.asarray(start, dtype=float)
    clock = np.asarray(clock, dtype=float)
    entered = np.asarray(entered, dtype=float)
    code = np.asarray(code, dtype=np.int64)
    k = np.asarray(k, dtype=np.int64)

    def add(who, prev, *columns) -> np.ndarray:
        nonlocal n_steps
        index = np.arange(n_steps, n_steps + len(who))
        n_steps += len(who)
        steps.append((who, *columns))
        later = prev >= 0
        links.append((prev[later], index[later]))
        first[who[~later]] = index[~later]
        return index

    for s in range(max_steps + 1):
        if who.size == 0:
            break
        engine = (k + 1 >= n_cols) | (h.n_dest[code] == 0)
        if s == max_steps:
            engine[:] = True
        if engine.any():
            m = int(engine.sum())
            nan = np.full(m, np.nan)
            add(who[engine], prev[engine], code[engine], np.full(m, TO_ENGINE), nan, nan,
                k[engine])  # fmt: skip
            keep = ~engine
            who, prev, now, clock = who[keep], prev[keep], now[keep], clock[keep]
            entered, code, k = entered[keep], code[keep], k[keep]
            if who.size == 0:
                break
        out, when, k_next = _walk(
            h, horizon, adult, now, entered, birth[who], code, uniforms, rows[who], k
        )
        time = clock + (when - clock)
        index = add(who, prev, code, out, when, time, k_next)
        on = out >= 0  # moved to another state outside care: its next move follows
        who, prev = who[on], index[on]
        now = clock = entered = time[on]
        code = out[on]
        k = k_next[on]
    following = np.full(n_steps, -1)
    for step, later in links:
        following[step] = later
    child, code, outcome, when, time, k = (np.concatenate([s[j] for s in steps]) for j in range(6))
    return Paths(
        first=first,
        following=following,
        child=child,
        code=code,
        outcome=outcome,
        when=when,
        time=time,
        k=k,
    )
