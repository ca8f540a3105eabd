"""One replicate of the flow model: a SimPy environment of children moving through services.

Each child is an entity whose next move is drawn, when it enters a state, from the
piecewise-constant competing hazards of that state (by age band and time already in the
state), and scheduled as one SimPy event. Arrivals, foster-carer recruitment and attrition,
children's homes opening and closing, Harbour outreach and the monthly monitor are SimPy
processes in the same environment.

Outside care nothing but a child's own random numbers, age, time in state and the date
decide its moves until it is about to enter care, so before the run the engine draws, for
every child starting outside care or arriving over the horizon, its moves outside care in
bulk (:mod:`.paths`, the same numbers as the one-child walk of ``_schedule``); it then
follows them one SimPy event per move, and draws for itself from the point a child is about
to enter care or runs past the drawn path. Arrivals and these moves are taken in order of
time from their records, merged with SimPy's queue in SimPy's own order (``_simulate``).
A child whose drawn path never comes near care (most children in early help, assessment,
CIN and CP) is not followed at all: its moves, exits and month-end stocks are counted with
numpy before the run (:mod:`.outside`), with the same records as following it would give.

Harbour outreach (No Wrong Door) works where the risk is. A young person in the configured
age range about to move into care (from assessment, CIN or CP, or arriving into care other
than as an unaccompanied asylum-seeking child) by a referred route is referred: with a free
place they hold it for the support months, and the move is averted with probability
``1 - min(1, m)``, ``m`` the care-entry multiplier drawn once per replicate (they stay where
they are, held out of care while supported, and back on the usual hazards after); otherwise
the move goes ahead, supported. With no free place a planned move may wait for one up to
the maximum wait, then goes ahead. A young person newly placed in residential care takes a
free place for step-down, while supported moving out of residential care at the step-down
multiplier's rate and to a family placement. The arithmetic to expect::

    referrals reached a year   ~ places x 12 / support months   (when places are the limit)
    moves into care averted    = referrals reached x (1 - m)
    children in care avoided   ~ averted a year x years a young person would have spent in care

Places used for step-down reach fewer referrals; young people whose move was averted may
be referred again after their support ends, so the last line is an upper bound that holds
as the horizon grows past the support months. On data of children in care alone (the
SSDA903 return) there is no child in need to hold an averted arrival in: it stays out of
care and is not followed, so a later entry to care of the same young person is not
modelled and the effect is the upper bound; an arrival is referred only when a place is
free. ``tests/test_harbour_outreach.py`` checks the
first two lines against the engine within Monte Carlo error.

Family network meetings (family group decision-making, the Families First reforms) work at
the same point for children of any age: a child about to move into care by an offered route
(planned, by default) is offered a meeting with the configured share while the month's
meetings last, at most one held per family. A held meeting averts the move with probability
``1 - min(1, f)``, ``f`` the care-entry multiplier drawn once per replicate (the child stays
where they are, on the usual hazards), and finds a kinship carer with probability
``min(1, k)``, also drawn per replicate: the child's entry to care, now or later, is then
with kinship carers. The arithmetic to expect::

    meetings held a year        ~ meetings a month x 12  (when meetings are the limit)
    entries averted             = meetings held x (1 - f)

``tests/test_family_network.py`` checks the second line within Monte Carlo error. With no
meetings configured nothing is drawn, so the baseline is unchanged.

Random numbers are tied to entities, not to the order of events, so that two scenarios run
with the same seed give the same children the same luck (common random numbers): child ``i``
arriving in month ``m`` with kind ``k`` draws from row ``i`` of a uniform block seeded by
``(seed, replicate, k, m)``; capacity processes have streams of their own.

Time is in months from the projection start; ages are kept as a birth time in months.

The replicate's parts are mixins of one class sharing its state, so that the hot loop's
calls stay plain method calls: :mod:`.recording` (the records and the bookkeeping of every
move), :mod:`.placement` (placement and capacity policy), :mod:`.capacity_processes`
(foster carers, children's homes and the outreach caseload over time) and :mod:`.plan` (the
plan drawn before the run); the hazard tables come from :mod:`.hazard_tables` and the shared
codes from :mod:`.engine_common`. This module keeps the replicate itself: its set-up, the
drawing and firing of children's moves, moves between services, and the run.
"""

from __future__ import annotations

import gc
from bisect import bisect_right
from heapq import heappop
from math import log

import numpy as np
import simpy
from simpy.events import NORMAL, URGENT

from care_demand import streams, vocab
from care_demand.calibration.hazard_exposure import MOVE, HazardIndex
from care_demand.simulation.capacity_processes import CapacityProcessesMixin
from care_demand.simulation.engine_common import (
    _ADULT_M,
    _AGE_EDGES_M,
    _ARRIVAL,
    _ARRIVE_NFA,
    _AT_18,
    _DUR_EDGES_M,
    _EDGE_OF_CARE,
    _ENGINE_STEP,
    _INHOUSE_FOSTER,
    _INHOUSE_RES,
    _LEAVER_END,
    _LEAVER_START,
    _MOVE_ON,
    _N_AGE,
    _N_DUR,
    _RESIDENTIAL,
    _ROW,
    _WAIT_END,
    _X_AGE_18,
    _X_AGED_OUT,
    _X_CLOSED,
    ENTRY_AGE_BANDS,
    ENTRY_ROUTES,
    EXIT_REASONS,
    REPORT_AGE_BANDS,
    _Child,
    _event_class,
)
from care_demand.simulation.hazard_tables import (
    _drawn_levers,
    _drift_walk,
    _epoch_starts,
    _epoch_tables,
)
from care_demand.simulation.paths import TO_CARE, TO_CLOSED, TO_MOVE
from care_demand.simulation.placement import PlacementMixin
from care_demand.simulation.plan import PlanMixin
from care_demand.simulation.recording import RecordingMixin, ReplicateResult
from care_demand.simulation.system import (
    ARRIVAL_STATES,
    CODES,
    FIRST_CARE,
    LEAVER,
    CareSystem,
    code_of,
)

__all__ = [
    "ENTRY_AGE_BANDS",
    "ENTRY_ROUTES",
    "EXIT_REASONS",
    "REPORT_AGE_BANDS",
    "ReplicateModel",
    "ReplicateResult",
]


class ReplicateModel(PlanMixin, PlacementMixin, CapacityProcessesMixin, RecordingMixin):
    """One replicate: build with a system, a replicate number and the run's seed; ``run()``.

    Replicate ``r`` uses posterior draw ``r`` and arrival path ``r``. A system holding fewer
    (a check that runs many replicates of one draw, say) reuses them in turn, ``r mod n``;
    a system prepared by :func:`~care_demand.simulation.projection.prepare` holds exactly one
    of each per replicate.
    """

    def __init__(self, system: CareSystem, replicate: int, seed: int) -> None:
        self.system = system
        self.replicate = replicate
        self.seed = seed
        self.horizon = float(system.horizon_months)
        self._until = self.horizon + 1e-9  # the run's end: every month end's records are in
        cap = system.capacity
        draw = replicate % system.draws.rates.shape[0]
        self._move = system.draws.move[draw] if system.draws.move is not None else None
        self._move_cum = None if self._move is None else np.cumsum(self._move, -1).tolist()

        effects = self._rng(streams.EFFECTS, 0, 0)
        harbour = cap.harbour
        m_entry = _lognormal(
            harbour.care_entry_multiplier_median, harbour.care_entry_multiplier_log_sd, effects
        )
        m_step = _lognormal(
            harbour.residential_step_down_multiplier_median,
            harbour.residential_step_down_multiplier_log_sd,
            effects,
        )
        mockingbird = cap.fostering.mockingbird
        self._m_mockingbird = _lognormal(
            mockingbird.attrition_multiplier_median,
            mockingbird.attrition_multiplier_log_sd,
            effects,
        )
        self.harbour_effects = (m_entry, m_step)
        # Drawn after the Harbour's and Mockingbird's, so those stay the same draws.
        network = cap.family_network
        self.network_effects = (
            min(
                1.0,
                _lognormal(
                    network.care_entry_multiplier_median,
                    network.care_entry_multiplier_log_sd,
                    effects,
                ),
            ),
            min(
                1.0,
                _lognormal(network.kinship_share_median, network.kinship_share_log_sd, effects),
            ),
        )
        # A referral with a place averts the move into care with this probability.
        self._p_avert = max(0.0, 1.0 - m_entry)
        # While supported, a young person is held out of care and steps down from
        # residential care more readily.
        supported = {(code, vocab.CARE): 0.0 for code in range(FIRST_CARE)}
        supported.update({(code, MOVE): m_step for code in _RESIDENTIAL})
        # Codes of the states whose moves into care are referred, and whether arrivals of
        # each kind into care are (not unaccompanied asylum-seeking children).
        self._edge = frozenset(_EDGE_OF_CARE)
        self._refer_kind = [kind == "care_entry" for kind in system.arrival_kinds]
        # Scenario levers and the rates' random walk cut the horizon into epochs, each with
        # its own hazard tables.
        epochs = _epoch_starts(system)
        self._epoch_edges = [float(m) for m in epochs[1:]] + [float("inf")]
        walk = self._rate_walk(system.draws.index) if system.rate_drift_sd > 0.0 else None
        levers = _drawn_levers(system, lambda a: self._rng(streams.LEVER_EFFECTS, a, 0))
        self._tabs, self._tabs_supported, self._entry_cums = _epoch_tables(
            system, draw, epochs, walk, supported, levers
        )
        # Whether the services outside care are modelled, to hold an arrival whose entry
        # to care was averted or deferred. Data of children in care alone model none: an
        # averted arrival then stays out of care and is not followed (as a family's
        # future outside children's services is not), and an arrival never waits.
        self._hold_outside = self._tabs[0][code_of(vocab.CIN)] is not None
        self._leaver_end = 12.0 * system.care_leaver_end_age
        self._emergency = list(system.emergency_share) or [0.0] * (_N_AGE + 1)
        self._supported_end = 12.0 * system.care_leaver_supported_end_age
        self.events = 0
        self._init_records(system)
        self._init_capacity(cap)

        self._arrival_states = [ARRIVAL_STATES[kind] for kind in system.arrival_kinds]
        self.env = simpy.Environment()
        self._fire_event = _event_class(self.env, self._fire)
        self._step_event = _event_class(self.env, self._step_due)
        self._arrival_event = _event_class(self.env, self._arrival_due)
        self._next_eid = self.env._eid.__next__  # SimPy's next event id
        # Children are kept in slots, one per row of the plan (see ``_plan``).
        self._codes = np.zeros(0, dtype=np.int16)
        self._births = np.zeros(0)

    # ----------------------------------------------------------------- randomness
    def _rate_walk(self, index: HazardIndex) -> np.ndarray:
        """This replicate's rate multipliers ``(drift period, pair)``, from a stream of
        its own (see :func:`.hazard_tables._drift_walk`)."""
        return _drift_walk(self.system, index, self._rng(streams.DRIFT, 0, 0))

    def _rng(self, stream: int, a: int, b: int) -> np.random.Generator:
        return streams.engine_rng(self.seed, self.replicate, stream, a, b)

    def _rngs(self, stream: int, a: list[int], b: list[int]) -> list[np.random.Generator]:
        """The generators of keys ``(a[i], b[i])`` of ``stream``, seeded together."""
        return streams.engine_rngs(self.seed, self.replicate, stream, a, b)

    def _u(self, c: _Child) -> float:
        k = c.k
        u = c.u
        if k == len(u):
            u = self._refill(c)
            k = 0
        c.k = k + 1
        return u[k]

    def _refill(self, c: _Child) -> list[float]:
        """A fresh row of uniforms for a child who has used up its row."""
        c.refills += 1
        c.u = self._rng(streams.MORE, hash(c.key) & 0x7FFFFFFF, c.refills).random(_ROW).tolist()
        c.k = 0
        return c.u

    # ----------------------------------------------------------------- hazards
    def _schedule(self, c: _Child, now: float) -> None:
        """Draw the child's next move from its current state and schedule it.

        The hot path of the model: the uniforms are taken from the child's row inline and
        the tables are walked with local variables.
        """
        code = c.code
        c.due = None
        birth = c.birth
        horizon = self.horizon
        if code == LEAVER:
            end = birth + self._leaver_end
            if end < horizon:
                self._at(c, end, _LEAVER_END, 0)
            return
        limit = birth + _ADULT_M
        if horizon <= limit:
            limit = horizon
        tabs = self._tabs_supported if c.outreach == 1 else self._tabs
        edges = self._epoch_edges
        ep = bisect_right(edges, now)
        epoch_end = edges[ep]
        state = tabs[ep][code]
        if state is None:
            raise RuntimeError(f"no hazards for state {CODES[code]}; calibrate with data for it")
        table = state[1]
        k = c.k
        u = c.u
        if k == len(u):
            u = self._refill(c)
            k = 0
        c.k = k + 1
        e = -log(1.0 - u[k])
        entered = c.entered
        age_edges = _AGE_EDGES_M
        dur_edges = _DUR_EDGES_M
        a = bisect_right(age_edges, now - birth)
        d = bisect_right(dur_edges, now - entered)
        t = now
        while True:
            nxt = limit if limit < epoch_end else epoch_end
            if a < _N_AGE:
                edge = birth + age_edges[a]
                if edge < nxt:
                    nxt = edge
            if d < _N_DUR:
                edge = entered + dur_edges[d]
                if edge < nxt:
                    nxt = edge
            total, cum = table[a][d]
            step = total * (nxt - t)
            if total > 0.0 and step >= e:
                when = t + e / total
                k = c.k
                if k == len(u):
                    u = self._refill(c)
                    k = 0
                c.k = k + 1
                j = bisect_right(cum, u[k] * total)  # the first destination past the draw
                if j == len(cum):
                    j -= 1
                env = self.env
                event = self._fire_event((c, _MOVE_ON, state[0][j]))
                c.due = event
                env.schedule(event, NORMAL, when - env.now)
                return
            e -= step
            t = nxt
            if t >= limit:
                break
            if a < _N_AGE and t >= birth + age_edges[a]:
                a += 1
            if d < _N_DUR and t >= entered + dur_edges[d]:
                d += 1
            if t >= epoch_end:
                ep += 1
                epoch_end = edges[ep]
                state = tabs[ep][code]
                table = state[1]
        if limit < horizon:
            self._at(c, limit, _AT_18, 0)

    def _at(self, c: _Child, when: float, action: int, arg: int) -> None:
        env = self.env
        event = self._fire_event((c, action, arg))
        c.due = event
        env.schedule(event, NORMAL, when - env.now)

    def _fire(self, event: simpy.Event) -> None:
        c, action, outcome = event._value
        if c.due is not event:
            return  # superseded: the child moved for another reason first
        self.events += 1
        now = self.env.now
        code = c.code
        if action == _MOVE_ON:
            if code < FIRST_CARE:
                if outcome >= 0:  # another state outside care
                    month = int(now)
                    if month > self._last_month:
                        month = self._last_month
                    width = self._flow_width
                    self._flows[(month * width + code + 1) * width + outcome + 1] += 1
                    c.code = outcome
                    c.entered = now
                    self._codes[c.idx] = outcome
                    self._schedule(c, now)
                elif outcome == TO_CLOSED:
                    self._leave(c, now, _X_CLOSED)
                else:
                    self._enter_care(c, now)
            elif outcome == TO_MOVE:
                self._move_placement(c, now)
            else:
                self._leave(c, now, outcome)
        elif action == _AT_18:
            self._leave(c, now, _X_AGE_18 if code >= FIRST_CARE else _X_CLOSED)
        elif action == _LEAVER_START:
            self._set_code(c, LEAVER, now)
            self._schedule(c, now)
        elif action == _WAIT_END:
            self._end_wait(c, now)
        else:  # _LEAVER_END
            if self._u(c) < self.system.care_leaver_supported_share:
                self._support_to_25(c.birth + self._supported_end, now)
            self._leave(c, now, _X_AGED_OUT)

    # ----------------------------------------------------------------- moves
    def _leave(self, c: _Child, now: float, reason: int) -> None:
        """The child leaves every service for ``reason`` (an index into EXIT_REASONS)."""
        code = c.code
        month = int(now)
        if month > self._last_month:
            month = self._last_month
        self._exits[month * len(EXIT_REASONS) + reason] += 1
        c.due = None
        if code < FIRST_CARE:  # outside care: nothing else to release
            width = self._flow_width
            self._flows[(month * width + code + 1) * width] += 1
            c.code = -1
            c.entered = now
            self._codes[c.idx] = -1
            return
        in_care = code < LEAVER
        freed = code if code in (_INHOUSE_FOSTER, _INHOUSE_RES) else -1
        self._set_code(c, -1, now)
        if in_care:
            age = (now - c.birth) / 12.0
            if (
                age >= self.system.care_leaver_min_exit_age
                and now - c.care_start >= self.system.care_leaver_min_months
            ):
                start = max(now, c.birth + _ADULT_M)
                if start < c.birth + self._leaver_end and start < self.horizon:
                    if start <= now:
                        self._set_code(c, LEAVER, now)
                        self._schedule(c, now)
                    else:
                        self._at(c, start, _LEAVER_START, 0)
        if freed >= 0:
            self._fill_vacancy(freed, now)

    # ----------------------------------------------------------------- planned moves
    def _due(self, r: int) -> None:
        """Planned record ``r`` comes due: it takes its place in SimPy's order now, as if
        scheduled now (see ``_simulate``)."""
        if r < self._n_stream:
            self._p_eid[r] = self._next_eid()
        else:
            env = self.env
            when = float(self._s_when[self._p_src[r]])
            env.schedule(self._step_event(r), NORMAL, when - env.now)

    def _arrival_due(self, event: simpy.Event) -> None:
        self.events += 1
        self._arrive(event._value)

    def _step_due(self, event: simpy.Event) -> None:
        self.events += 1
        self._step(event._value)

    def _arrive(self, g: int) -> None:
        """An arrival from outside services (the child of row ``g``)."""
        code = self._a_code[g]
        if code < 0:
            if code == _ARRIVE_NFA:  # referral closed at once (no further action): no spell
                self._flows[self._a_flow[g]] += 1
            else:
                now = self.env.now
                refer = self._refer_kind[self._keys[g, 0]]
                self._enter_care(self._adopt(g, -1, 2, now), now, refer=refer)
            return
        self._flows[self._a_flow[g]] += 1
        self._codes[g] = code
        r = self._first[g]
        if r >= 0:
            self._due(r)
        elif r == _ENGINE_STEP:
            now = self.env.now
            self._schedule(self._adopt(g, code, self._a_k0[g], now), now)

    def _step(self, r: int) -> None:
        """Planned step ``r`` of the drawn paths outside care."""
        out = self._p_out[r]
        g = self._p_row[r]
        if out >= 0:  # to another state outside care
            self._flows[self._p_flow[r]] += 1
            self._codes[g] = out
            nxt = self._p_next[r]
            if nxt >= 0:
                if nxt < self._n_stream:  # the common case of ``_due``, inline
                    self._p_eid[nxt] = self._next_eid()
                else:
                    self._due(nxt)
            elif nxt == _ENGINE_STEP:
                now = self.env.now
                self._schedule(self._adopt(g, out, self._s_k[self._p_src[r]], now), now)
        elif out == TO_CARE:
            now = self.env.now
            i = self._p_src[r]
            self._enter_care(self._adopt(g, self._s_code[i], self._s_k[i], now), now)
        else:  # closed, or 18 outside care
            self._flows[self._p_flow[r]] += 1
            month = int(self.env.now)
            if month > self._last_month:
                month = self._last_month
            self._exits[month * len(EXIT_REASONS) + _X_CLOSED] += 1
            self._codes[g] = -1

    def _simulate(self, until: float) -> None:
        """``env.run(until=until)``, with the planned moves taken from their records.

        Arrivals and drawn steps outside care are most of a run's events and their times
        are known before the run, in order (``_p_time``). Rather than pass each through
        SimPy's queue, the loop takes the next planned record when it comes before the
        head of the queue in SimPy's own order, ``(time, priority, event id)``: a record's
        event id is taken when it comes due, as SimPy's would be when it was scheduled
        (``_due``). Every event is therefore handled at the same time and in the same
        order as if each had been a SimPy event, and the queue holds only the rest.
        """
        env = self.env
        queue = env._queue
        stop = simpy.Event(env)
        stop._ok = True
        stop._value = None
        env.schedule(stop, URGENT, until - env.now)
        times = self._p_time
        eids = self._p_eid
        outs = self._p_out
        rows = self._p_row
        step = self._step
        arrive = self._arrive
        p = 0
        tp = times[0]
        while True:
            head = queue[0]
            t = head[0]
            if tp < t or (
                tp == t and (head[1] > NORMAL or (head[1] == NORMAL and eids[p] < head[2]))
            ):
                env._now = tp
                if outs[p] == _ARRIVAL:
                    arrive(rows[p])
                else:
                    step(p)
                p += 1
                tp = times[p]
                continue
            heappop(queue)
            env._now = t
            event = head[3]
            if event is stop:
                break
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
            if not event._ok and not hasattr(event, "_defused"):
                exc = type(event._value)(*event._value.args)
                exc.__cause__ = event._value
                raise exc
        self.events += p

    # ----------------------------------------------------------------- run
    def run(self) -> ReplicateResult:
        """Simulate the horizon and return the monthly records.

        Python's cyclic garbage collector is paused meanwhile: the run allocates hundreds of
        thousands of short-lived, acyclic objects (events, children), which reference
        counting frees, and repeated full collections over them made the run time grow
        faster than the caseload.
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._run()
        finally:
            self._release()
            if collecting:
                gc.enable()

    def _release(self) -> None:
        """Let go of the run's working state once it is over.

        Pending events and the event classes refer back to the model through their
        callbacks; dropping them, and the plan, lets reference counting free the model (and
        its megabytes of drawn paths) as soon as the caller drops it, rather than at the
        next collection of cycles.
        """
        for name in (
            "_fire_event",
            "_step_event",
            "_arrival_event",
            "_next_eid",
            "_u_all",
            "_birth",
            "_keys",
            "_seq",
            "_arrival_times",
            "_a_code",
            "_a_flow",
            "_a_k0",
            "_r0",
            "_first",
            "_p_row",
            "_p_out",
            "_p_flow",
            "_p_next",
            "_p_src",
            "_s_when",
            "_s_k",
            "_s_code",
            "_p_time",
            "_p_eid",
            "_a_rec",
            "_month_rows",
            "_bulk_case",
            "_arrived_in_bulk",
            "_outside",
            "_foster_children",
            "_home_children",
            "_waiting",
        ):
            self.__dict__.pop(name, None)
        self.env = simpy.Environment(self.env.now)

    def _run(self) -> ReplicateResult:
        env = self.env
        if self._enforce:
            env.process(self._fostering())
            env.process(self._homes_process())
        env.process(self._harbour_process())
        # Capacity is in place before the caseload takes its places.
        env.run(until=1e-9)
        self._plan()
        self._start_caseload()
        self._start_supported_leavers()
        env.process(self._arrivals())
        env.process(self._monitor())
        self._simulate(self._until)
        self._add_in_bulk()
        self._add_pending_leavers()
        return self._result()

    def _add_in_bulk(self) -> None:
        """Add what the children counted in bulk did (see :mod:`.outside`) to the records."""
        flows, n_arrived = self._arrived_in_bulk
        self.events += n_arrived
        outside = self._outside
        if outside is not None:
            flows = flows + outside.flows
            self.stocks += outside.stocks.astype(self.stocks.dtype)
            self._exits = (np.asarray(self._exits, dtype=np.int64) + outside.exits).tolist()
            self.events += outside.events
        self._flows = (np.asarray(self._flows, dtype=np.int64) + flows).tolist()


def _lognormal(median: float, log_sd: float, rng: np.random.Generator) -> float:
    """One draw of an uncertain multiplier (always consumes one normal from ``rng``)."""
    return float(np.exp(np.log(median) + log_sd * rng.standard_normal()))
