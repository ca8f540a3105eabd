"""The plan of one replicate: every child's random numbers and drawn moves outside care.

:class:`PlanMixin` gives the replicate model
(:class:`~care_demand.simulation.engine.ReplicateModel`) the plan it draws before the run
(rows of children: the caseload at the start, then every arrival over the horizon, with
their uniforms, births, arrival times and states, and their moves outside care drawn in
bulk by :mod:`.paths`), and the processes that start from it: the caseload's first moves,
the arrivals month by month, and the engine taking a child over from its drawn path.
"""

from __future__ import annotations

import numpy as np
from scipy import special
from simpy.events import NORMAL

from care_demand import streams, vocab
from care_demand.simulation.engine_common import (
    _ADULT_M,
    _AGE_EDGES_M,
    _ARRIVAL,
    _ARRIVE_CARE,
    _ARRIVE_NFA,
    _DUR_EDGES_M,
    _ENGINE_STEP,
    _NO_EID,
    _NO_STEP,
    _REPORT_EDGES_Y,
    _ROW,
    _STATE_CODE,
    _X_CLOSED,
    EXIT_REASONS,
    _Child,
)
from care_demand.simulation.outside import OutsideTotals, outside_totals, stays_outside
from care_demand.simulation.paths import TO_AT_18, TO_ENGINE, HazardArrays, Paths, draw_paths
from care_demand.simulation.system import CODES, FIRST_CARE, LEAVER

__all__ = ["PlanMixin", "poisson_quantile"]


def poisson_quantile(q: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """The smallest count ``k`` with ``P(N <= k) >= q`` for ``N ~ Poisson(mu)``, elementwise.

    The inverse CDF as SciPy's ``poisson.ppf`` computes it (the same numbers, for ``q`` in
    ``(0, 1)``), from ``scipy.special`` alone: importing ``scipy.stats`` in every worker
    process took longer than the rest of the engine's imports together.
    """
    k = np.ceil(special.pdtrik(q, mu))
    below = np.maximum(k - 1, 0)
    return np.where(special.pdtr(below, mu) >= q, below, k)


class PlanMixin:
    """The replicate's plan and the processes that start from it (a mixin of
    :class:`~care_demand.simulation.engine.ReplicateModel`, whose state it shares)."""

    #: Count the children who stay outside care in bulk (:mod:`.outside`) rather than
    #: follow each move as an event; the records are the same either way.
    bulk_outside: bool = True
    _outside: OutsideTotals | None = None

    def _plan(self) -> None:
        """Draw, before the run, everything that depends only on the children's own streams.

        Rows ``g`` of the plan are the children open at the start (``g`` = their position
        in the caseload) followed by every arrival over the horizon, by month, then kind,
        then order within the month and kind (the order in which the arrivals process
        schedules them). Each row has its uniforms (the caseload's from one block, each
        arrival's from row ``i`` of the block of its kind and month), birth and random-number
        key; arrivals also their time and state. The moves outside care of every child
        who starts outside care are drawn here (see :mod:`.paths`).
        """
        env = self.env
        system = self.system
        h = system.horizon_months
        caseload = system.caseload
        n_case = len(caseload)
        u_case = self._rng(streams.CASELOAD, 0, 0).random((n_case, _ROW))
        case_birth = -12.0 * caseload["age"].to_numpy(dtype=float)
        case_code = caseload["code"].to_numpy(dtype=np.int64)
        self._case = (
            case_code.tolist(),
            caseload["months_in_state"].to_numpy(dtype=float).tolist(),
            caseload["months_in_care"].to_numpy(dtype=float).tolist(),
        )

        path = self.replicate % system.arrival_intensity.shape[0]
        intensity = system.arrival_intensity[path, :h]
        n_kinds = intensity.shape[1]
        kind_of = [k for _ in range(h) for k in range(n_kinds)]
        month_of = [month for month in range(h) for _ in range(n_kinds)]
        u0 = np.array(
            [rng.random() for rng in self._rngs(streams.COUNTS, kind_of, month_of)]
        ).reshape(h, n_kinds)
        # Inverse-CDF counts: a scenario with more arrivals keeps these children and adds more.
        counts = np.where(intensity > 0, poisson_quantile(u0, np.maximum(intensity, 1e-12)), 0)
        counts = counts.astype(np.int64)
        self.arrivals += counts.astype(np.int32)
        self._counts = counts.sum(axis=1).tolist()
        # The times at which the arrivals process, started now, schedules each month.
        month_now = [env.now]
        for month in range(1, h):
            now = month_now[-1]
            month_now.append(now + (month - now) if month > now else now)
        self._month_now = month_now
        blocks, kinds, months, index = [u_case], [], [], []
        drawn = [(k, month) for month in range(h) for k in range(n_kinds) if counts[month, k]]
        rngs = self._rngs(streams.ARRIVALS, [k for k, _ in drawn], [m for _, m in drawn])
        for (k, month), rng in zip(drawn, rngs, strict=True):
            n = int(counts[month, k])
            blocks.append(rng.random((n, _ROW)))
            kinds.append(np.full(n, k))
            months.append(np.full(n, month))
            index.append(np.arange(n))
        u = np.concatenate(blocks)
        n_arr = len(u) - n_case
        kind = np.concatenate(kinds) if kinds else np.zeros(0, dtype=np.int64)
        month = np.concatenate(months) if months else np.zeros(0, dtype=np.int64)
        # Arrival times as SimPy makes them: now + (month + u0 - now), now the scheduling time.
        now = np.asarray(month_now)[month]
        u_arr = u[n_case:]
        t = now + ((month + u_arr[:, 0]) - now)
        birth = np.empty(n_arr)
        code = np.full(n_arr, _ARRIVE_NFA)
        k0 = np.full(n_arr, 2)
        for k, (ages, state) in enumerate(
            zip(system.arrival_ages, self._arrival_states, strict=True)
        ):
            mine = kind == k
            n_ages = len(ages)
            age = ages[np.minimum((u_arr[mine, 1] * n_ages).astype(np.int64), n_ages - 1)]
            birth[mine] = t[mine] - 12.0 * age
            if state == vocab.CARE:
                code[mine] = _ARRIVE_CARE
            elif state == vocab.ASSESSMENT:
                taken = u_arr[mine, 2] >= system.referral_nfa_share
                code[np.flatnonzero(mine)[taken]] = _STATE_CODE[state]
                k0[mine] = 3
            else:
                code[mine] = _STATE_CODE[state]
        last = self._last_month
        width = self._flow_width
        n_all = len(u)
        self._u_all = u
        birth_all = np.concatenate([case_birth, birth])
        self._birth = birth_all.tolist()
        self._births = birth_all
        self._codes = np.full(n_all, -1, dtype=np.int16)
        # The rows of the children who can be present at the end of each month.
        self._rows_by = (n_case + np.cumsum(counts.sum(axis=1))).tolist()
        # Random-number key of every row: (kind, month, index) for arrivals, as for streams.
        self._keys = np.column_stack(
            [
                np.concatenate([np.full(n_case, -1), kind]),
                np.concatenate([np.zeros(n_case, dtype=np.int64), month]),
                np.concatenate([np.arange(n_case), *index]),
            ]
        )
        self._arrival_times = t
        self._seq: np.ndarray | None = None
        # Per row (the caseload's rows unused): arrival state, where the arrival is counted,
        # first unused uniform, and the part of the arrival time past the month's start.
        pad = np.zeros(n_case, dtype=np.int64)
        self._a_code = np.concatenate([pad, code]).tolist()
        flow = np.minimum(t.astype(np.int64), last) * width * width + np.where(
            code >= 0, code + 1, 0
        )
        self._a_flow = np.concatenate([pad, flow]).tolist()
        self._a_k0 = np.concatenate([pad, k0])
        self._r0 = np.concatenate([np.zeros(n_case), u_arr[:, 0]]).tolist()

        # Paths of the children outside care: the caseload's from the start (their first
        # move is drawn at time 0 and scheduled by SimPy at its current time) and every
        # arrival's from its arrival.
        outside_case = np.flatnonzero(case_code < FIRST_CARE)
        outside_arr = np.flatnonzero(code >= 0)
        rows = np.concatenate([outside_case, n_case + outside_arr])
        paths = None
        # Rows the run need not follow (see .outside): arrivals closed at once, and children
        # whose drawn path stays outside care.
        bulk_row = np.zeros(n_all, dtype=bool)
        bulk_row[n_case:] = code == _ARRIVE_NFA
        if rows.size:
            in_state = caseload["months_in_state"].to_numpy(dtype=float)[outside_case]
            hazards = HazardArrays.of(
                self._tabs, FIRST_CARE, self._epoch_edges, _AGE_EDGES_M, _DUR_EDGES_M
            )
            start = np.concatenate([np.zeros(len(outside_case)), t[outside_arr]])
            paths = draw_paths(
                hazards,
                self.horizon,
                _ADULT_M,
                start=start,
                clock=np.concatenate([np.full(len(outside_case), env.now), t[outside_arr]]),
                entered=np.concatenate([-in_state, t[outside_arr]]),
                birth=birth_all[rows],
                code=np.concatenate([case_code[outside_case], code[outside_arr]]),
                uniforms=u,
                rows=rows,
                k=np.concatenate([np.zeros(len(outside_case), dtype=np.int64), k0[outside_arr]]),
            )
            if self.bulk_outside:
                bulk = stays_outside(paths, start, self._until, h)
                bulk_row[rows] = bulk
                self._outside = outside_totals(
                    paths,
                    bulk,
                    start,
                    birth_all[rows],
                    until=self._until,
                    months=h,
                    n_codes=len(CODES),
                    report_edges=_REPORT_EDGES_Y,
                    exit_closed=_X_CLOSED,
                    n_exits=len(EXIT_REASONS),
                )
        if not self.bulk_outside:
            bulk_row[:] = False
        # What the arrivals counted in bulk add: their moves in, and one event each.
        in_bulk = bulk_row[n_case:]
        self._arrived_in_bulk = (
            np.bincount(flow[in_bulk], minlength=h * width * width),
            int(in_bulk.sum()),
        )
        self._bulk_case = bulk_row[:n_case].tolist()
        self._records(paths, rows, t, n_case, bulk_row, month)

    def _records(
        self,
        paths: Paths | None,
        rows: np.ndarray,
        t: np.ndarray,
        n_case: int,
        bulk_row: np.ndarray,
        arrival_month: np.ndarray,
    ) -> None:
        """The planned moves: every arrival and every drawn step outside care that is an
        event, in order of time, with what each one needs.

        Record ``r`` is an arrival (``_p_out[r] == _ARRIVAL``, of row ``_p_row[r]``) or
        step ``_p_src[r]`` of the drawn paths, of row ``_p_row[r]``, with the outcome
        ``_p_out``, where its move is counted (``_p_flow``) and the record that follows it,
        ``_p_next`` (or ``_NO_STEP`` / ``_ENGINE_STEP``). The time drawn for each step, the
        index of the next unused uniform after it and the state it leaves are ``_s_when``,
        ``_s_k`` and ``_s_code``, by step. Each row's first record is ``_first[g]``;
        ``_a_rec[g]`` is an arrival's record.

        The first ``_n_stream`` records, those whose time no other record shares, are in
        order of time (``_p_time``, with an infinite time after them): the run takes them
        in turn, merged with SimPy's queue in SimPy's own order (see ``_simulate``). The
        rest, few or none, are SimPy events, so that records due at the same time come in
        the order SimPy gives them.

        Rows marked in ``bulk_row`` have no records: their arrivals and moves are counted in
        bulk (see :mod:`.outside`). ``_month_rows[m]`` lists the other rows arriving in
        month ``m`` (``arrival_month``), in order.
        """
        n_arr = len(t)
        n_all = n_case + n_arr
        first = np.full(n_all, _NO_STEP)
        if paths is None:
            out = np.zeros(0, dtype=np.int64)
            fires = np.zeros(0, dtype=np.int64)
            step_time = np.zeros(0)
        else:
            out = paths.outcome
            fires = np.flatnonzero((out >= TO_AT_18) & ~bulk_row[rows[paths.child]])
            step_time = paths.time[fires]
        n_steps = len(fires)
        followed = np.flatnonzero(~bulk_row[n_case:])
        # Arrival rows come month by month, so each month's are one stretch of them.
        ends = np.searchsorted(arrival_month[followed], np.arange(1, len(self._counts)))
        self._month_rows = [part.tolist() for part in np.split(n_case + followed, ends)]
        time = np.concatenate([step_time, t[followed]])
        n_rec = len(time)
        # Records sharing a time go last; the others' order is that of their times alone.
        by_time = np.argsort(time)
        ordered = time[by_time]
        same = ordered[1:] == ordered[:-1]
        tied = np.zeros(n_rec, dtype=bool)
        tied[1:] |= same
        tied[:-1] |= same
        by_time = np.concatenate([by_time[~tied], by_time[tied]])
        record = np.empty(n_rec, dtype=np.int64)
        record[by_time] = np.arange(n_rec)
        self._n_stream = int(n_rec - tied.sum())
        self._p_time = ordered[~tied].tolist()
        self._p_time.append(float("inf"))
        self._p_eid = [_NO_EID] * n_rec
        a_rec = np.full(n_all, -1)
        a_rec[n_case + followed] = record[n_steps:]
        self._a_rec = a_rec.tolist()

        is_step = by_time < n_steps
        src = np.where(is_step, fires[np.where(is_step, by_time, 0)] if n_steps else 0, -1)
        arrival_row = (
            n_case + followed[np.where(is_step, 0, by_time - n_steps)]
            if len(followed)
            else np.full(n_rec, n_case)
        )
        if paths is None:
            p_row, p_out = arrival_row, np.full(n_rec, _ARRIVAL)
            p_flow = p_next = np.zeros(n_rec, dtype=np.int64)
            self._s_when = self._s_k = self._s_code = np.zeros(0)
        else:
            step_record = np.full(len(out), _NO_STEP)
            step_record[fires] = record[:n_steps]
            step_record[out == TO_ENGINE] = _ENGINE_STEP
            following = paths.following[src]
            p_next = np.where(following >= 0, step_record[following], _NO_STEP)
            p_row = np.where(is_step, rows[paths.child[src]], arrival_row)
            p_out = np.where(is_step, out[src], _ARRIVAL)
            # Where each step's move is counted: the month of its event, from and to.
            width = self._flow_width
            month = np.minimum(time[by_time].astype(np.int64), self._last_month)
            origin = (month * width + paths.code[src] + 1) * width
            p_flow = np.where(p_out >= 0, origin + p_out + 1, origin)
            first[rows] = step_record[paths.first]
            self._s_when = paths.when
            self._s_k = paths.k
            self._s_code = paths.code
        self._p_src = src
        self._p_row = p_row.tolist()
        self._p_out = p_out.tolist()
        self._p_flow = p_flow.tolist()
        self._p_next = p_next.tolist()
        self._first = first.tolist()

    def _start_caseload(self) -> None:
        codes, in_state, in_care = self._case
        bulk = self._bulk_case
        for i, code in enumerate(codes):
            if bulk[i]:
                continue
            r = self._first[i]
            if r != _ENGINE_STEP and code < FIRST_CARE:
                self._codes[i] = code
                if r >= 0:
                    self._due(r)
                continue
            c = _Child(i, self._birth[i], (-1, 0, i), self._u_all[i].tolist())
            c.care_start = -in_care[i]
            if FIRST_CARE <= code < LEAVER:
                self._place_initial(c, code)
            else:
                self._set_code(c, code, 0.0, record=False)
            c.entered = -in_state[i]
            self._schedule(c, 0.0)

    def _arrivals(self):
        """Each month, schedule each of the month's arrivals at its own time."""
        env = self.env
        arrival = self._arrival_event
        r0 = self._r0
        a_rec = self._a_rec
        eids = self._p_eid
        eid = env._eid
        n_stream = self._n_stream
        for month, rows in enumerate(self._month_rows):
            if month > env.now:
                yield env.timeout(month - env.now)
            now = env.now
            if now != self._month_now[month]:
                raise RuntimeError("the arrivals process is out of step with its plan")
            # Each arrival takes its place in SimPy's order now, as if scheduled now.
            for row in rows:
                r = a_rec[row]
                if r < n_stream:
                    eids[r] = next(eid)
                else:
                    env.schedule(arrival(row), NORMAL, month + r0[row] - now)

    def _order(self) -> np.ndarray:
        """Rank of each row in the order the children come: the caseload, then arrivals by time
        (arrivals at the same time in the order they were scheduled)."""
        if self._seq is None:
            t = self._arrival_times
            n_case = len(self._case[0])
            seq = np.empty(n_case + len(t), dtype=np.int64)
            seq[:n_case] = np.arange(n_case)
            seq[n_case + np.lexsort((np.arange(len(t)), t))] = n_case + np.arange(len(t))
            self._seq = seq
        return self._seq

    def _adopt(self, g: int, code: int, k: int, now: float) -> _Child:
        """The engine takes over the child of row ``g`` from its drawn path."""
        key = tuple(self._keys[g].tolist())
        c = _Child(g, self._birth[g], key, self._u_all[g].tolist())
        c.code = int(code)
        c.entered = now
        c.k = int(k)
        return c
