"""The records of children who stay outside care, counted in bulk rather than followed.

A child whose drawn path outside care (:mod:`.paths`) never reaches care and never needs the
engine to draw a move of its own touches nothing another child or a capacity process can
see: its moves only add to the counts of moves and exits, and its state only to the stocks
the monthly monitor counts. Such a child (most children in early help, assessment, CIN and
CP) need not be an event in the run at all: :func:`outside_totals` counts its moves, exits
and month-end stocks with numpy, exactly as the run would have, and the run follows only
the children who can meet care.

Exactly, because nothing in the run depends on the order in which these moves come: the
SimPy event ids they would have taken only ever decide the order of events at the same
time, and leaving some out keeps the order of the rest. The one thing that could differ is
a move at the very instant of a month end (the monitor's time), where the run's order
decides whether the monitor sees the move; a child with such a move is left to the run
(:func:`stays_outside`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from care_demand.simulation.paths import TO_AT_18, TO_CARE, TO_ENGINE, Paths

__all__ = ["OutsideTotals", "outside_totals", "stays_outside"]


@dataclass(frozen=True)
class OutsideTotals:
    """What the children counted in bulk add to a replicate's records.

    ``flows`` and ``exits`` are flat, laid out as the replicate's own counters
    (``(month, from + 1, to + 1)`` and ``(month, exit reason)``); ``stocks`` is
    ``(month, code, report age band)``; ``events`` the number of events they stand for.
    """

    flows: np.ndarray
    exits: np.ndarray
    stocks: np.ndarray
    events: int


def _on_month_end(times: np.ndarray, months: int) -> np.ndarray:
    """Whether each time is a month end of the horizon (a monitor's instant)."""
    return (times == np.floor(times)) & (times >= 1.0) & (times <= months)


def stays_outside(paths: Paths, start: np.ndarray, until: float, months: int) -> np.ndarray:
    """Per child of ``paths``: whether it can be counted in bulk.

    True when none of its steps enters care or is left to the engine, and neither its start
    (``start``, its arrival time, or 0 for a child open at the start) nor any move it makes
    before ``until`` falls on a month end.
    """
    n = len(paths.first)
    ok = np.ones(n, dtype=bool)
    reaches = (paths.outcome == TO_CARE) | (paths.outcome == TO_ENGINE)
    ok[paths.child[reaches]] = False
    fires = (paths.outcome >= TO_AT_18) & (paths.time < until)
    ok[paths.child[fires & _on_month_end(np.nan_to_num(paths.time), months)]] = False
    ok &= ~_on_month_end(np.asarray(start, dtype=float), months)
    return ok


def outside_totals(
    paths: Paths,
    bulk: np.ndarray,
    start: np.ndarray,
    birth: np.ndarray,
    *,
    until: float,
    months: int,
    n_codes: int,
    report_edges: np.ndarray,
    exit_closed: int,
    n_exits: int,
) -> OutsideTotals:
    """The moves, exits and month-end stocks of the children of ``paths`` marked ``bulk``.

    ``start`` and ``birth`` are per child of ``paths`` (its first state holds from
    ``start``). Moves are counted in the month of their time (the last month for any later),
    from the state left to the state entered, 0 standing for outside every service; a
    closure or an 18th birthday outside care is also an exit, ``exit_closed``. A child is in
    a month end's stock when it entered its state before that month end and left after, by
    its age band then (``report_edges``, in years), as the monitor counts.
    """
    width = n_codes + 1
    last = months - 1
    n_bands = len(report_edges) + 1
    mine = bulk[paths.child]
    fires = mine & (paths.outcome >= TO_AT_18) & (paths.time < until)
    step = np.flatnonzero(fires)
    time = paths.time[step]
    out = paths.outcome[step]
    month = np.minimum(time.astype(np.int64), last)
    origin = (month * width + paths.code[step] + 1) * width
    flows = np.bincount(
        np.where(out >= 0, origin + out + 1, origin), minlength=months * width * width
    )
    left = out < 0  # closed, or 18 outside care
    exits = np.bincount(month[left] * n_exits + exit_closed, minlength=months * n_exits)

    # Spells in a state: each child's first state from its start, then each move to another
    # state outside care; each ends at the child's next move that happens, or never.
    following = paths.following
    ends_at = np.full(len(paths.outcome), np.inf)
    happens = (paths.outcome >= TO_AT_18) & (paths.time < until)
    ends_at[happens] = paths.time[happens]
    children = np.flatnonzero(bulk)
    firsts = paths.first[children]
    moved = step[out >= 0]
    nxt = following[moved]
    s = np.concatenate([np.asarray(start, dtype=float)[children], paths.time[moved]])
    e = np.concatenate([ends_at[firsts], np.where(nxt >= 0, ends_at[np.maximum(nxt, 0)], np.inf)])
    code = np.concatenate([paths.code[firsts], paths.outcome[moved]])
    b = np.concatenate([np.asarray(birth, dtype=float)[children], birth[paths.child[moved]]])
    # Month ends m + 1 (m = 0 .. months - 1) with s < m + 1 < e.
    lo = np.floor(s).astype(np.int64)
    hi = np.minimum(np.where(np.isinf(e), last, np.ceil(np.minimum(e, months + 1.0)) - 2), last)
    hi = hi.astype(np.int64)
    count = np.maximum(hi - lo + 1, 0)
    spell = np.repeat(np.arange(len(s)), count)
    first_of = np.cumsum(count) - count
    m = lo[spell] + (np.arange(len(spell)) - first_of[spell])
    ages = (m + 1.0 - b[spell]) / 12.0
    bands = np.searchsorted(report_edges, ages, side="right")
    cells = (m * n_codes + code[spell]) * n_bands + bands
    stocks = np.bincount(cells, minlength=months * n_codes * n_bands)
    return OutsideTotals(
        flows=flows,
        exits=exits,
        stocks=stocks.reshape(months, n_codes, n_bands),
        events=len(step),
    )
