"""One replicate of the flow model: a SimPy environment of children moving through services.

Each child is an entity whose next move is drawn, when it enters a state, from the
piecewise-constant competing hazards of that state (by age band and time already in the
state), and scheduled as one SimPy event. Arrivals, foster-carer recruitment and attrition,
children's homes opening and closing, Harbour outreach and the monthly monitor are SimPy
processes in the same environment.

Outside care nothing but a child's own random numbers, age, time in state, the date and
outreach support decide its moves, so before the run the engine draws, for every child
starting outside care or arriving over the horizon, its moves outside care in bulk
(:mod:`.paths`, the same numbers as the one-child walk of ``_schedule``); it then follows
them one SimPy event per move, and draws for itself from the point a child enters care, is
offered outreach or runs past the drawn path.

Random numbers are tied to entities, not to the order of events, so that two scenarios run
with the same seed give the same children the same luck (common random numbers): child ``i``
arriving in month ``m`` with kind ``k`` draws from row ``i`` of a uniform block seeded by
``(seed, replicate, k, m)``; capacity processes have streams of their own.

Time is in months from the projection start; ages are kept as a birth time in months.
"""

from __future__ import annotations

import gc
from bisect import bisect_right
from dataclasses import dataclass
from math import floor, log

import numpy as np
import pandas as pd
import simpy
from scipy.stats import poisson
from simpy.events import NORMAL

from care_demand import streams, vocab
from care_demand.calibration.hazard_exposure import MOVE, HazardIndex
from care_demand.calibration.hazard_levers import apply_entry_levers, apply_levers
from care_demand.simulation.paths import (
    TO_AT_18,
    TO_CARE,
    TO_CLOSED,
    TO_ENGINE,
    TO_MOVE,
    HazardArrays,
    Paths,
    draw_paths,
)
from care_demand.simulation.system import (
    ARRIVAL_STATES,
    CODES,
    FIRST_CARE,
    LEAVER,
    N_GROUPS,
    CareSystem,
    code_of,
)

__all__ = [
    "ENTRY_ROUTES",
    "EXIT_REASONS",
    "REPORT_AGE_BANDS",
    "ReplicateModel",
    "ReplicateResult",
]

# Reasons a child leaves every service (exit-array axis).
EXIT_REASONS: tuple[str, ...] = (*vocab.CARE_EXITS, vocab.CLOSED, "aged_out")
_EXIT = {name: i for i, name in enumerate(EXIT_REASONS)}
# Age bands for reporting stocks: the five childhood bands and 18+.
REPORT_AGE_BANDS: tuple[str, ...] = vocab.AGE_BAND_NAMES
_AGE_EDGES_M = [12.0 * low for _, low, _ in vocab.AGE_BANDS[1:5]]  # band edges under 18
_REPORT_EDGES_Y = np.array([low for _, low, _ in vocab.AGE_BANDS[1:]])
_DUR_EDGES_M = [low for _, low, _ in vocab.DURATION_BANDS[1:]]
_ADULT_M = 18.0 * 12.0
_N_AGE = len(_AGE_EDGES_M)
_N_DUR = len(_DUR_EDGES_M)
_ROW = 24  # uniforms pre-drawn per child; more are drawn on demand

_INHOUSE_FOSTER = FIRST_CARE + vocab.PLACEMENT_GROUPS.index(vocab.INHOUSE_FOSTER)
_IFA = FIRST_CARE + vocab.PLACEMENT_GROUPS.index(vocab.IFA)
_INHOUSE_RES = FIRST_CARE + vocab.PLACEMENT_GROUPS.index(vocab.INHOUSE_RESIDENTIAL)
_EXTERNAL_RES = FIRST_CARE + vocab.PLACEMENT_GROUPS.index(vocab.EXTERNAL_RESIDENTIAL)
_SUPPORTED = FIRST_CARE + vocab.PLACEMENT_GROUPS.index(vocab.SUPPORTED_16PLUS)
_FAMILY = tuple(FIRST_CARE + vocab.PLACEMENT_GROUPS.index(g) for g in vocab.FOSTER_GROUPS)
_EDGE_OF_CARE = (code_of(vocab.ASSESSMENT), code_of(vocab.CIN), code_of(vocab.CP))
# Codes of the states outside care, by name (destinations of moves between services).
_STATE_CODE = {
    state: code_of(state) for state in (vocab.EARLY_HELP, vocab.ASSESSMENT, vocab.CIN, vocab.CP)
}

# Event actions.
_MOVE_ON, _AT_18, _LEAVER_START, _LEAVER_END = 0, 1, 2, 3
# Outcomes of a move drawn from the hazards are those of .paths (TO_*), and for children in
# care also an index into EXIT_REASONS.
_X_CLOSED, _X_AGE_18, _X_AGED_OUT = _EXIT[vocab.CLOSED], _EXIT[vocab.AGE_18], _EXIT["aged_out"]
# What an arrival is, besides the code of the state outside care it enters.
_ARRIVE_NFA, _ARRIVE_CARE = -1, -2
# A child's next drawn step when it is not an event: nothing to draw, or the engine draws it.
_NO_STEP, _ENGINE_STEP = -1, -2

# Months between steps of the transition rates' random walk (CareSystem.rate_drift_sd).
DRIFT_MONTHS = 6
# Routes into care (entry-route axis).
ENTRY_ROUTES: tuple[str, ...] = ("planned", "emergency")


@dataclass
class ReplicateResult:
    """Monthly records of one replicate (month ``m`` covers months ``[m, m+1)``).

    ``stocks``: children at each month end ``(month, code, report age band)``;
    ``flows``: moves ``(month, from, to)`` with index 0 meaning outside services and
    ``code + 1`` a state (arrivals are from 0, exits to 0);
    ``exits``: ``(month, EXIT_REASONS)``; ``arrivals``: ``(month, kind)`` including referrals
    closed with no further action; ``placement_days``: ``(month, group)``;
    ``capacity``, ``occupancy``, ``shortfall``: in-house places, children in them and children
    placed externally for want of one, at month end ``(month, [foster, residential])``;
    ``out_of_area``: children in care placed outside the area at month end;
    ``outreach``: children supported by Harbour outreach at month end;
    ``entry_routes``: entries to care during the month ``(month, ENTRY_ROUTES)``;
    ``leavers_supported``: care leavers past the care-leaver end age (21) still supported by
    a personal adviser at month end (to 25).
    """

    replicate: int
    stocks: np.ndarray
    flows: np.ndarray
    exits: np.ndarray
    arrivals: np.ndarray
    placement_days: np.ndarray
    capacity: np.ndarray
    occupancy: np.ndarray
    shortfall: np.ndarray
    out_of_area: np.ndarray
    outreach: np.ndarray
    entry_routes: np.ndarray
    leavers_supported: np.ndarray
    events: int


class _Due(simpy.Event):
    """An event scheduled with ``env.schedule``, triggered and with its value when made.

    The engine's lighter equivalent of ``env.timeout(delay, value)`` followed by
    ``callbacks.append(callback)``, for the one event per child's move: each engine makes
    a subclass per callback (:func:`_event_class`) that carries the environment and the
    callback, so that making an event sets only its value.
    """

    _ok = True

    def __init__(self, value) -> None:
        self._value = value


def _event_class(env: simpy.Environment, callback) -> type[_Due]:
    """Events of ``env`` processed by ``callback``."""
    return type("_Due", (_Due,), {"env": env, "callbacks": [callback]})


class _Child:
    """One child's place in the system (internal to the engine).

    ``due`` is the child's pending move; an event that is no longer ``due`` was superseded.
    """

    __slots__ = (
        "birth",
        "care_start",
        "code",
        "due",
        "entered",
        "home",
        "idx",
        "k",
        "key",
        "ooa",
        "outreach",
        "refills",
        "u",
        "waiting_since",
    )

    def __init__(self, idx: int, birth: float, key: tuple[int, ...], u: list[float]) -> None:
        self.idx = idx
        self.birth = birth
        self.key = key
        self.u = u
        self.k = 0
        self.refills = 0
        self.code = -1
        self.entered = 0.0
        self.care_start = 0.0
        self.due = None
        self.home = -1
        self.ooa = False
        self.outreach = 0  # 0 never, 1 supported now, 2 supported earlier
        self.waiting_since = -1.0


def _outcome(code: int, dest: str) -> int:
    """What a move to ``dest`` from ``code`` does (see ``_TO_*``), as an integer."""
    if code < FIRST_CARE:
        if dest == vocab.CLOSED:
            return TO_CLOSED
        return TO_CARE if dest == vocab.CARE else _STATE_CODE[dest]
    return TO_MOVE if dest == MOVE else _EXIT[dest]


def _tables(rates: np.ndarray, pairs: list[tuple[str, str | None, str]], multipliers=None):
    """Per code: (outcomes, table[age][dur] = (total, cumulative rates))."""
    per_code: dict[int, list[tuple[str, np.ndarray]]] = {}
    for position, (state, group, dest) in enumerate(pairs):
        code = code_of(state, group)
        rate = rates[position]
        if multipliers is not None:
            rate = rate * multipliers.get((code, dest), 1.0)
        per_code.setdefault(code, []).append((dest, rate))
    out: list = [None] * len(CODES)
    for code, items in per_code.items():
        dests = tuple(_outcome(code, d) for d, _ in items)
        stack = np.stack([r for _, r in items])  # (dest, age, dur)
        cum = np.cumsum(stack, axis=0)
        table = [
            [(float(cum[-1, a, d]), cum[:, a, d].tolist()) for d in range(stack.shape[2])]
            for a in range(stack.shape[1])
        ]
        out[code] = (dests, table)
    return out


class ReplicateModel:
    """One replicate: build with a system, a replicate number and the run's seed; ``run()``."""

    def __init__(self, system: CareSystem, replicate: int, seed: int) -> None:
        self.system = system
        self.replicate = replicate
        self.seed = seed
        self.horizon = float(system.horizon_months)
        cap = system.capacity
        draw = replicate % system.draws.rates.shape[0]
        pairs = list(system.draws.index.pairs)
        self._entry = system.draws.entry[draw] if system.draws.entry is not None else None
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
        supported = {(code, vocab.CARE): m_entry for code in _EDGE_OF_CARE}
        supported.update({(code, MOVE): m_step for code in (_INHOUSE_RES, _EXTERNAL_RES)})
        # Scenario levers change hazards from a date on: the horizon is cut into epochs at
        # every month a lever's factor changes, with one set of tables per epoch.
        index = system.draws.index
        rates = system.draws.rates[draw]
        epochs = _epoch_starts(system)
        self._epoch_edges = [float(m) for m in epochs[1:]] + [float("inf")]
        self._tabs = []
        self._tabs_supported = []
        self._entry_cums = []
        walk = self._rate_walk(index) if system.rate_drift_sd > 0.0 else None
        for month in epochs:
            date = system.start + pd.DateOffset(months=month)
            epoch_rates = apply_levers(rates, index, system.hazard_levers, date)
            if walk is not None:
                epoch_rates = epoch_rates * walk[month // DRIFT_MONTHS][:, None, None]
            self._tabs.append(_tables(epoch_rates, pairs))
            self._tabs_supported.append(_tables(epoch_rates, pairs, supported))
            if self._entry is not None:
                entry = apply_entry_levers(
                    self._entry, vocab.PLACEMENT_GROUPS, index.age_bands, system.entry_levers, date
                )
                self._entry_cums.append(np.cumsum(entry, 1).tolist())
        self._leaver_end = 12.0 * system.care_leaver_end_age

        h = system.horizon_months
        n_codes = len(CODES)
        self.stocks = np.zeros((h, n_codes, len(REPORT_AGE_BANDS)), dtype=np.int32)
        # Moves, exits and placement-days are counted in flat lists (cheaper than numpy
        # scalar updates) and reshaped at the end.
        self._flow_width = n_codes + 1
        self._flows = [0] * (h * self._flow_width * self._flow_width)
        self._last_month = h - 1
        self._exits = [0] * (h * len(EXIT_REASONS))
        self.arrivals = np.zeros((h, len(system.arrival_kinds)), dtype=np.int32)
        self._placement_days = [0.0] * (h * N_GROUPS)
        self.capacity_rec = np.zeros((h, 2), dtype=np.int32)
        self.occupancy_rec = np.zeros((h, 2), dtype=np.int32)
        self.shortfall_rec = np.zeros((h, 2), dtype=np.int32)
        self.ooa_rec = np.zeros(h, dtype=np.int32)
        self.outreach_rec = np.zeros(h, dtype=np.int32)
        self.routes_rec = np.zeros((h, len(ENTRY_ROUTES)), dtype=np.int32)
        self.leavers_rec = np.zeros(h, dtype=np.int32)
        self._leavers_supported = 0
        self._emergency = list(system.emergency_share) or [0.0] * (_N_AGE + 1)
        self._supported_end = 12.0 * system.care_leaver_supported_end_age
        self.events = 0

        self._arrival_states = [ARRIVAL_STATES[kind] for kind in system.arrival_kinds]
        self.env = simpy.Environment()
        self._fire_event = _event_class(self.env, self._fire)
        self._step_event = _event_class(self.env, self._step)
        self._arrival_event = _event_class(self.env, self._arrive)
        # Children are kept in slots, one per row of the plan (see ``_plan``).
        self._codes = np.zeros(0, dtype=np.int16)
        self._births = np.zeros(0)
        self._group_count = [0] * N_GROUPS
        self._group_since = [0.0] * N_GROUPS
        self._ooa = 0
        # In-house capacity.
        self._enforce = cap.enforce
        self._inhouse_first = cap.enforce and cap.policy.inhouse_first
        self._foster_children: dict[int, _Child] = {}
        self._households: list[int] = []
        self._foster_cap = 0
        self._homes = list(cap.homes.values())
        self._home_open = [False] * len(self._homes)
        self._home_beds = [floor(home.beds * home.max_occupancy + 1e-9) for home in self._homes]
        self._home_children: list[dict[int, _Child]] = [{} for _ in self._homes]
        self._waiting: dict[int, dict[int, _Child]] = {_IFA: {}, _EXTERNAL_RES: {}}
        self._outreach_now = 0
        self._outreach_cap = 0
        self._p_ooa = {code_of(vocab.CARE, g): p for g, p in cap.policy.out_of_area.items()}

    # ----------------------------------------------------------------- randomness
    def _rate_walk(self, index: HazardIndex) -> np.ndarray:
        """This replicate's rate multipliers ``(drift period, pair)``.

        Every destination (entry to care, return home, closure, ...) has its own random
        walk on log scale, shared by the pairs that lead there from any state or placement
        group: practice and thresholds shift the rate of, say, entries to care from CIN and
        CP together. Each period of ``DRIFT_MONTHS`` months takes the walk's value at its
        middle, with variance ``rate_drift_sd**2`` per year from the projection start, so
        the median multiplier is 1. The walk comes from its own stream, so scenarios share it.
        """
        destinations = sorted({dest for _, _, dest in index.pairs})
        column = {dest: i for i, dest in enumerate(destinations)}
        n_periods = -(-self.system.horizon_months // DRIFT_MONTHS)
        step_sd = self.system.rate_drift_sd * np.sqrt(DRIFT_MONTHS / 12.0)
        steps = self._rng(streams.DRIFT, 0, 0).normal(0.0, step_sd, (n_periods, len(destinations)))
        steps[0] *= np.sqrt(0.5)  # the first period's middle is half a period from the start
        walk = np.exp(np.cumsum(steps, axis=0))
        return walk[:, [column[dest] for _, _, dest in index.pairs]]

    def _rng(self, stream: int, a: int, b: int) -> np.random.Generator:
        return streams.engine_rng(self.seed, self.replicate, stream, a, b)

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

    # ----------------------------------------------------------------- bookkeeping
    def _occupy(self, group: int, delta: int, now: float) -> None:
        """Track children per placement group and integrate placement-days."""
        month = int(now)
        if month > self._last_month:
            month = self._last_month
        self._placement_days[month * N_GROUPS + group] += (
            self._group_count[group] * (now - self._group_since[group]) * vocab.DAYS_PER_MONTH
        )
        self._group_since[group] = now
        self._group_count[group] += delta

    def _count_flow(self, now: float, origin: int, target: int) -> None:
        month = int(now)
        if month > self._last_month:
            month = self._last_month
        width = self._flow_width
        self._flows[(month * width + origin) * width + target] += 1

    def _set_code(self, c: _Child, code: int, now: float, record: bool = True) -> None:
        old = c.code
        if old >= FIRST_CARE and old < LEAVER:
            self._occupy(old - FIRST_CARE, -1, now)
            if c.ooa:
                self._ooa -= 1
                c.ooa = False
            if old == _INHOUSE_FOSTER:
                self._foster_children.pop(c.idx, None)
            elif old == _INHOUSE_RES and c.home >= 0:
                del self._home_children[c.home][c.idx]
                c.home = -1
            elif old in self._waiting:
                self._waiting[old].pop(c.idx, None)
        if code >= FIRST_CARE and code < LEAVER:
            self._occupy(code - FIRST_CARE, 1, now)
        if record:
            self._count_flow(now, old + 1, code + 1)
        c.code = code
        c.entered = now
        self._codes[c.idx] = code

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
        outreach = c.outreach
        if outreach == 1 or (outreach and code in (_INHOUSE_RES, _EXTERNAL_RES)):
            tabs = self._tabs_supported
        else:
            tabs = self._tabs
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
                    if not c.outreach and self._outreach_now < self._outreach_cap:
                        self._maybe_outreach(c, now)
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
        else:  # _LEAVER_END
            if self._u(c) < self.system.care_leaver_supported_share:
                self._support_to_25(c.birth + self._supported_end, now)
            self._leave(c, now, _X_AGED_OUT)

    def _support_to_25(self, until: float, now: float) -> None:
        """Count a care leaver supported past 21 until ``until`` (months from the start)."""
        self._leavers_supported += 1
        if until < self.horizon:
            end = self.env.timeout(max(until - now, 0.0))
            end.callbacks.append(self._end_support)

    def _end_support(self, event: simpy.Event) -> None:
        self._leavers_supported -= 1

    def _add_pending_leavers(self) -> None:
        """Young people out of care before the start who become care leavers at 18.

        Nothing but their birthdays decides their path (care leaver from 18 to 21, then
        supported to 25 with the configured share), so they are added to the records at the
        end of the run rather than followed as entities.
        """
        births = np.asarray(self.system.leavers_pending, dtype=float)
        if births.size == 0:
            return
        h = self.system.horizon_months
        ends = np.arange(1, h + 1, dtype=float)  # month-end times
        start18 = births + _ADULT_M
        start21 = births + self._leaver_end
        end25 = births + self._supported_end
        leaver = (ends[:, None] >= start18) & (ends[:, None] < start21)
        self.stocks[:, LEAVER, len(REPORT_AGE_BANDS) - 1] += leaver.sum(axis=1).astype(np.int32)
        width = self._flow_width
        n_exit = len(EXIT_REASONS)
        for t18, t21 in zip(start18.tolist(), start21.tolist(), strict=True):
            if 0.0 <= t18 < self.horizon:
                self._flows_add(int(t18), 0, LEAVER + 1, width)
            if 0.0 <= t21 < self.horizon:
                self._flows_add(int(t21), LEAVER + 1, 0, width)
                self._exits[int(t21) * n_exit + _X_AGED_OUT] += 1
        supported = self._rng(streams.LEAVERS, 1, 0).random(births.size) < (
            self.system.care_leaver_supported_share
        )
        after = (ends[:, None] >= start21) & (ends[:, None] < end25) & supported[None, :]
        self.leavers_rec += after.sum(axis=1).astype(np.int32)

    def _flows_add(self, month: int, origin: int, target: int, width: int) -> None:
        self._flows[(month * width + origin) * width + target] += 1

    def _start_supported_leavers(self) -> None:
        """Care leavers who turned 21 before the start: each still supported with the share."""
        ends = self.system.leavers_past_21
        if not ends:
            return
        u = self._rng(streams.LEAVERS, 0, 0).random(len(ends))
        share = self.system.care_leaver_supported_share
        for until, x in zip(ends, u.tolist(), strict=True):
            if x < share:
                self._support_to_25(until, 0.0)

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

    def _enter_care(self, c: _Child, now: float, group: int | None = None) -> None:
        band = _age_band(now - c.birth)
        if group is None:
            cums = self._entry_cums[bisect_right(self._epoch_edges, now)]
            group = self._pick(cums[band], c)
        emergency = 1 if self._u(c) < self._emergency[band] else 0
        month = min(int(now), self._last_month)
        self.routes_rec[month, emergency] += 1
        c.care_start = now
        self._place(c, FIRST_CARE + group, now)

    def _move_placement(self, c: _Child, now: float) -> None:
        origin = c.code - FIRST_CARE
        probs = self._move_cum[origin][_age_band(now - c.birth)]
        if c.outreach and c.code in (_INHOUSE_RES, _EXTERNAL_RES):
            # Harbour step-down: a supported young person's move is to a family placement.
            target = self._pick(probs, c, allowed=_FAMILY)
        else:
            target = self._pick(probs, c)
        freed = c.code if c.code in (_INHOUSE_FOSTER, _INHOUSE_RES) else -1
        self._place(c, FIRST_CARE + target, now)
        if freed >= 0:
            self._fill_vacancy(freed, now)

    def _pick(self, cum: list[float], c: _Child, allowed: tuple[int, ...] | None = None) -> int:
        x = self._u(c)
        if allowed is not None:
            weights = [
                cum[i - FIRST_CARE] - (cum[i - FIRST_CARE - 1] if i > FIRST_CARE else 0.0)
                for i in allowed
            ]
            total = sum(weights)
            if total > 0.0:
                x *= total
                for code, w in zip(allowed, weights, strict=True):
                    x -= w
                    if x < 0.0:
                        return code - FIRST_CARE
                return allowed[-1] - FIRST_CARE
        x *= cum[-1]
        for i, value in enumerate(cum):
            if x < value:
                return i
        return len(cum) - 1

    def _place(self, c: _Child, code: int, now: float) -> None:
        """Place a child in care, preferring ``code``; full in-house groups overflow outside."""
        waiting = False
        home = -1
        age = (now - c.birth) / 12.0
        if code == _SUPPORTED and age < 16.0:
            code = _INHOUSE_FOSTER  # supported accommodation is for 16-17s only
        if code == c.code and code in (_INHOUSE_FOSTER, _INHOUSE_RES):
            home = c.home  # a move between in-house carers or within the home keeps a place
        elif self._inhouse_first and code == _IFA:
            if len(self._foster_children) < self._foster_cap:
                code = _INHOUSE_FOSTER  # an in-house carer is free: no agency placement
        elif self._inhouse_first and code == _EXTERNAL_RES:
            home = self._free_home(age)
            if home >= 0:
                code = _INHOUSE_RES
        elif self._enforce and code == _INHOUSE_FOSTER:
            if len(self._foster_children) >= self._foster_cap:
                code, waiting = _IFA, True
        elif self._enforce and code == _INHOUSE_RES:
            home = self._free_home(age)
            if home < 0:
                code, waiting = _EXTERNAL_RES, True
        self._set_code(c, code, now)
        if code == _INHOUSE_FOSTER:
            self._foster_children[c.idx] = c
        elif code == _INHOUSE_RES and home >= 0:
            c.home = home
            self._home_children[home][c.idx] = c
        if waiting:
            c.waiting_since = now
            self._waiting[code][c.idx] = c
        self._draw_out_of_area(c, code)
        self._schedule(c, now)

    def _draw_out_of_area(self, c: _Child, code: int) -> None:
        """An external placement is outside the area with the configured probability."""
        p = self._p_ooa.get(code, 0.0)
        if p > 0.0 and self._u(c) < p:
            c.ooa = True
            self._ooa += 1

    def _free_home(self, age: float) -> int:
        for i, home in enumerate(self._homes):
            if (
                self._home_open[i]
                and home.min_age <= age < home.max_age
                and len(self._home_children[i]) < self._home_beds[i]
            ):
                return i
        return -1

    def _fill_vacancy(self, code: int, now: float) -> None:
        """Offer freed in-house places to children waiting outside, longest-waiting first.

        The queue is in order of waiting time, so children past the step-back window are
        dropped from its front and the search stops at the first child who fits.
        """
        window = self.system.capacity.policy.step_back_within_months
        if not self._enforce or window <= 0:
            return
        external = _IFA if code == _INHOUSE_FOSTER else _EXTERNAL_RES
        queue = self._waiting[external]
        while queue:
            idx, c = next(iter(queue.items()))
            if now - c.waiting_since <= window:
                break
            del queue[idx]
        while queue:
            chosen = None
            if code == _INHOUSE_FOSTER:
                if len(self._foster_children) >= self._foster_cap:
                    return
                chosen = next(iter(queue.values()))
            else:
                for c in queue.values():
                    if self._free_home((now - c.birth) / 12.0) >= 0:
                        chosen = c
                        break
            if chosen is None:
                return
            del queue[chosen.idx]
            chosen.waiting_since = -1.0
            self._place(chosen, code, now)

    def _displace(self, children: list[_Child], now: float) -> None:
        """Children whose in-house placement closed move to the external equivalent."""
        for c in children:
            target = _IFA if c.code == _INHOUSE_FOSTER else _EXTERNAL_RES
            self._place(c, target, now)

    # ----------------------------------------------------------------- outreach
    def _maybe_outreach(self, c: _Child, now: float) -> None:
        harbour = self.system.capacity.harbour
        if c.outreach or self._outreach_now >= self._outreach_cap:
            return
        age = (now - c.birth) / 12.0
        if harbour.min_age <= age < harbour.max_age:
            c.outreach = 1
            self._outreach_now += 1
            end = self.env.timeout(harbour.support_months, c)
            end.callbacks.append(self._end_outreach)

    def _end_outreach(self, event: simpy.Event) -> None:
        c = event.value
        c.outreach = 2
        self._outreach_now -= 1
        if 0 <= c.code < FIRST_CARE:
            self._schedule(c, self.env.now)  # back to the usual hazards from now on

    # ----------------------------------------------------------------- processes
    def _place_initial(self, c: _Child, code: int) -> None:
        """Children already placed keep their placement; in-house ones take a place."""
        self._set_code(c, code, 0.0, record=False)
        if code == _INHOUSE_FOSTER:
            self._foster_children[c.idx] = c
        elif code == _INHOUSE_RES:
            home = self._free_home(max(0.0, -c.birth / 12.0))
            if home < 0:  # more children than beds at the start: they hold an extra place
                home = 0 if self._homes else -1
            if home >= 0:
                c.home = home
                self._home_children[home][c.idx] = c
        self._draw_out_of_area(c, code)

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
        u0 = np.array(
            [
                [self._rng(streams.COUNTS, k, month).random() for k in range(n_kinds)]
                for month in range(h)
            ]
        )
        # Inverse-CDF counts: a scenario with more arrivals keeps these children and adds more.
        counts = np.where(intensity > 0, poisson.ppf(u0, np.maximum(intensity, 1e-12)), 0)
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
        for month in range(h):
            for k in range(n_kinds):
                n = int(counts[month, k])
                if n:
                    blocks.append(self._rng(streams.ARRIVALS, k, month).random((n, _ROW)))
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
        first = np.full(n_all, _NO_STEP)
        first_when = np.zeros(n_all)
        if rows.size:
            in_state = caseload["months_in_state"].to_numpy(dtype=float)[outside_case]
            hazards = HazardArrays.of(
                self._tabs, FIRST_CARE, self._epoch_edges, _AGE_EDGES_M, _DUR_EDGES_M
            )
            paths = draw_paths(
                hazards,
                self.horizon,
                _ADULT_M,
                start=np.concatenate([np.zeros(len(outside_case)), t[outside_arr]]),
                clock=np.concatenate([np.full(len(outside_case), env.now), t[outside_arr]]),
                entered=np.concatenate([-in_state, t[outside_arr]]),
                birth=np.concatenate([case_birth[outside_case], birth[outside_arr]]),
                code=np.concatenate([case_code[outside_case], code[outside_arr]]),
                uniforms=u,
                rows=rows,
                k=np.concatenate([np.zeros(len(outside_case), dtype=np.int64), k0[outside_arr]]),
            )
            first[rows], first_when[rows] = self._step_records(paths, rows)
        self._first = first.tolist()
        self._first_when = first_when.tolist()

    def _step_records(self, paths: Paths, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keep the drawn steps that are events, in order of time, with what each one needs.

        Step ``r`` (the ``r``-th event in time) is of row ``_p_row[r]`` and has the outcome
        ``_p_out``, where its move is counted (``_p_flow``, ``_p_exit``), the index of the
        next unused uniform after it (``_p_k``), the state it leaves (``_p_code``), and what
        follows it: the next step ``_p_next`` (or ``_NO_STEP`` / ``_ENGINE_STEP``) and its
        drawn time ``_p_next_when``. Events are handled in order of time, so reading these
        lists in step order reads memory in order. Returns each child's first step and time.
        """
        out = paths.outcome
        fires = out >= TO_AT_18
        order = np.flatnonzero(fires)[np.argsort(paths.time[fires], kind="stable")]
        record = np.full(len(out), _NO_STEP)
        record[order] = np.arange(len(order))
        record[out == TO_ENGINE] = _ENGINE_STEP
        following = paths.following
        more = following >= 0
        after = np.where(more, following, 0)
        next_record = np.where(more, record[after], _NO_STEP)
        next_when = np.where(more, paths.when[after], 0.0)
        # Where each step's move is counted: the month of its event, from and to.
        last = self._last_month
        width = self._flow_width
        step_month = np.minimum(np.where(fires, paths.time, 0.0).astype(np.int64), last)
        origin = (step_month * width + paths.code + 1) * width
        flow = np.where(out >= 0, origin + out + 1, origin)
        self._p_row = rows[paths.child[order]].tolist()
        self._p_out = out[order].tolist()
        self._p_flow = flow[order].tolist()
        self._p_exit = (step_month * len(EXIT_REASONS) + _X_CLOSED)[order].tolist()
        self._p_next = next_record[order].tolist()
        self._p_next_when = next_when[order].tolist()
        self._p_k = paths.k[order]
        self._p_code = paths.code[order]
        return record[paths.first], paths.when[paths.first]

    def _start_caseload(self) -> None:
        codes, in_state, in_care = self._case
        now = self.env.now
        for i, code in enumerate(codes):
            r = self._first[i]
            if r != _ENGINE_STEP and code < FIRST_CARE:
                self._codes[i] = code
                if r >= 0:
                    self.env.schedule(self._step_event(r), NORMAL, self._first_when[i] - now)
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
        g = len(self._case[0])
        arrival = self._arrival_event
        r0 = self._r0
        for month, count in enumerate(self._counts):
            if month > env.now:
                yield env.timeout(month - env.now)
            now = env.now
            if now != self._month_now[month]:
                raise RuntimeError("the arrivals process is out of step with its plan")
            for row in range(g, g + count):
                env.schedule(arrival(row), NORMAL, month + r0[row] - now)
            g += count

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

    def _outreach_for(self, birth: float, now: float) -> bool:
        """Whether Harbour outreach would take on a child born at ``birth`` now."""
        harbour = self.system.capacity.harbour
        return harbour.min_age <= (now - birth) / 12.0 < harbour.max_age

    def _arrive(self, event: simpy.Event) -> None:
        """An arrival from outside services (the child of row ``g``)."""
        g = event._value
        self.events += 1
        code = self._a_code[g]
        if code < 0:
            if code == _ARRIVE_NFA:  # referral closed at once (no further action): no spell
                self._flows[self._a_flow[g]] += 1
            else:
                now = self.env.now
                self._enter_care(self._adopt(g, -1, 2, now), now)
            return
        self._flows[self._a_flow[g]] += 1
        self._codes[g] = code
        if self._outreach_now < self._outreach_cap:
            now = self.env.now
            if self._outreach_for(self._birth[g], now):
                c = self._adopt(g, code, self._a_k0[g], now)
                self._maybe_outreach(c, now)
                self._schedule(c, now)
                return
        r = self._first[g]
        if r >= 0:
            env = self.env
            env.schedule(self._step_event(r), NORMAL, self._first_when[g] - env.now)
        elif r == _ENGINE_STEP:
            now = self.env.now
            self._schedule(self._adopt(g, code, self._a_k0[g], now), now)

    def _step(self, event: simpy.Event) -> None:
        """Step ``r`` of the drawn paths outside care."""
        r = event._value
        self.events += 1
        out = self._p_out[r]
        g = self._p_row[r]
        if out >= 0:  # to another state outside care
            self._flows[self._p_flow[r]] += 1
            self._codes[g] = out
            if self._outreach_now < self._outreach_cap:
                now = self.env.now
                if self._outreach_for(self._birth[g], now):
                    c = self._adopt(g, out, self._p_k[r], now)
                    self._maybe_outreach(c, now)
                    self._schedule(c, now)
                    return
            nxt = self._p_next[r]
            if nxt >= 0:
                env = self.env
                env.schedule(self._step_event(nxt), NORMAL, self._p_next_when[r] - env.now)
            elif nxt == _ENGINE_STEP:
                now = self.env.now
                self._schedule(self._adopt(g, out, self._p_k[r], now), now)
        elif out == TO_CARE:
            now = self.env.now
            self._enter_care(self._adopt(g, self._p_code[r], self._p_k[r], now), now)
        else:  # closed, or 18 outside care
            self._flows[self._p_flow[r]] += 1
            self._exits[self._p_exit[r]] += 1
            self._codes[g] = -1

    def _fostering(self):
        """Recruitment (enquiries -> assessments -> approvals) and attrition, month by month.

        Each month's recruitment and resignations draw from streams of their own, so a
        scenario that changes recruitment from some date leaves the carers of every month
        before its first approvals exactly as in the baseline.
        """
        cfg = self.system.capacity.fostering
        sizes = np.asarray(cfg.places_per_household, dtype=float)
        sizes = sizes / sizes.sum()
        rng = self._rng(streams.FOSTERING, 0, 0)
        self._households = (rng.choice(len(sizes), size=cfg.households, p=sizes) + 1).tolist()
        self._update_foster_cap(0.0)
        base_attrition = 1.0 - (1.0 - cfg.annual_attrition) ** (1.0 / 12.0)
        start = self.system.start
        changes = [
            (_month_index(start, ch.start), ch.ramp_months, ch) for ch in cfg.recruitment.values()
        ]
        mockingbird = sorted(
            (_month_index(start, date), int(n)) for date, n in cfg.mockingbird.constellations
        )
        for month in range(self.system.horizon_months):
            yield self.env.timeout(month + 0.5 - self.env.now)
            rng = self._rng(streams.FOSTERING, 1, month)  # recruitment
            enquiries, conversion = cfg.enquiries_per_month, cfg.enquiry_to_assessment
            for first, ramp, change in changes:
                share = _ramp_share(first, ramp, month)
                enquiries *= 1.0 + (change.enquiries_multiplier - 1.0) * share
                conversion *= 1.0 + (change.conversion_multiplier - 1.0) * share
            assessments = rng.binomial(rng.poisson(enquiries), min(conversion, 1.0))
            approvals = rng.binomial(assessments, cfg.assessment_to_approval)
            for _ in range(approvals):
                places = int(rng.choice(len(sizes), p=sizes)) + 1
                done = self.env.timeout(cfg.assessment_months, places)
                done.callbacks.append(self._approve)
            # Households in a Mockingbird constellation resign less often.
            constellations = 0
            for first, n in mockingbird:
                if month >= first:
                    constellations = n
            covered = min(
                1.0,
                constellations
                * cfg.mockingbird.households_per_constellation
                / max(len(self._households), 1),
            )
            attrition = base_attrition * (1.0 - covered * (1.0 - self._m_mockingbird))
            rng = self._rng(streams.FOSTERING, 2, month)  # resignations
            leaving = rng.binomial(len(self._households), min(attrition, 1.0))
            for _ in range(leaving):
                self._households.pop(int(rng.integers(len(self._households))))
            if leaving:
                self._update_foster_cap(self.env.now, rng)

    def _approve(self, event: simpy.Event) -> None:
        self._households.append(event.value)
        self._update_foster_cap(self.env.now)

    def _update_foster_cap(self, now: float, rng: np.random.Generator | None = None) -> None:
        """Recount in-house foster places; children of carers who left move to an IFA."""
        cfg = self.system.capacity.fostering
        before = self._foster_cap
        self._foster_cap = floor(sum(self._households) * cfg.usable_share + 1e-9)
        if not self._enforce:
            return
        lost = before - self._foster_cap
        excess = min(len(self._foster_children) - self._foster_cap, lost)
        if excess > 0 and rng is not None:
            ids = sorted(self._foster_children, key=self._order().__getitem__)
            chosen = rng.choice(len(ids), size=excess, replace=False)
            self._displace([self._foster_children[ids[i]] for i in sorted(chosen)], now)
        elif self._foster_cap > before:
            self._fill_vacancy(_INHOUSE_FOSTER, now)

    def _homes_process(self):
        start = self.system.start
        changes = []
        for i, home in enumerate(self._homes):
            opens = _months_between(start, pd.Timestamp(home.opens))
            changes.append((max(opens, 0.0), i, True))
            if home.closes is not None:
                changes.append((_months_between(start, pd.Timestamp(home.closes)), i, False))
        for when, i, opening in sorted(changes):
            if when >= self.horizon:
                break
            if when > self.env.now:
                yield self.env.timeout(when - self.env.now)
            self._home_open[i] = opening
            if opening:
                self._fill_vacancy(_INHOUSE_RES, self.env.now)
            else:
                self._displace(list(self._home_children[i].values()), self.env.now)

    def _harbour_process(self):
        steps = sorted(
            (_months_between(self.system.start, pd.Timestamp(str(date))), int(places))
            for date, places in self.system.capacity.harbour.caseload
        )
        for when, places in steps:
            if when >= self.horizon:
                break
            if when > self.env.now:
                yield self.env.timeout(when - self.env.now)
            self._outreach_cap = places

    def _monitor(self):
        edges = _REPORT_EDGES_Y
        n_codes = len(CODES)
        n_bands = len(REPORT_AGE_BANDS)
        for month in range(self.system.horizon_months):
            yield self.env.timeout(month + 1 - self.env.now)
            now = self.env.now
            for g in range(N_GROUPS):
                self._occupy(g, 0, now - 1e-9)
                self._group_since[g] = now
            live = np.flatnonzero(self._codes[: self._rows_by[month]] >= 0)
            ages = (now - self._births[live]) / 12.0
            bands = np.searchsorted(edges, ages, side="right")
            codes = self._codes[live].astype(np.int64)
            counts = np.bincount(codes * n_bands + bands, minlength=n_codes * n_bands)
            self.stocks[month] = counts.reshape(n_codes, n_bands)
            home_places = sum(b for b, o in zip(self._home_beds, self._home_open, strict=True) if o)
            home_children = sum(len(h) for h in self._home_children)
            self.capacity_rec[month] = (self._foster_cap, home_places)
            self.occupancy_rec[month] = (len(self._foster_children), home_children)
            self.shortfall_rec[month] = (
                len(self._waiting[_IFA]),
                len(self._waiting[_EXTERNAL_RES]),
            )
            self.ooa_rec[month] = self._ooa
            self.outreach_rec[month] = self._outreach_now
            self.leavers_rec[month] = self._leavers_supported

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
            "_first_when",
            "_p_row",
            "_p_out",
            "_p_flow",
            "_p_exit",
            "_p_next",
            "_p_next_when",
            "_p_k",
            "_p_code",
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
        env.run(until=self.horizon + 1e-9)
        self._add_pending_leavers()
        h = self.system.horizon_months
        return ReplicateResult(
            replicate=self.replicate,
            stocks=self.stocks,
            flows=np.asarray(self._flows, dtype=np.int32).reshape(
                h, self._flow_width, self._flow_width
            ),
            exits=np.asarray(self._exits, dtype=np.int32).reshape(h, len(EXIT_REASONS)),
            arrivals=self.arrivals,
            placement_days=np.asarray(self._placement_days, dtype=np.float64).reshape(h, N_GROUPS),
            capacity=self.capacity_rec,
            occupancy=self.occupancy_rec,
            shortfall=self.shortfall_rec,
            out_of_area=self.ooa_rec,
            outreach=self.outreach_rec,
            entry_routes=self.routes_rec,
            leavers_supported=self.leavers_rec,
            events=self.events,
        )


def _lognormal(median: float, log_sd: float, rng: np.random.Generator) -> float:
    """One draw of an uncertain multiplier (always consumes one normal from ``rng``)."""
    return float(np.exp(np.log(median) + log_sd * rng.standard_normal()))


def _month_index(start: pd.Timestamp, date: object) -> int:
    stamp = pd.Timestamp(str(date))
    return (stamp.year - start.year) * 12 + (stamp.month - start.month)


def _age_band(age_months: float) -> int:
    """Index of the hazard age band of an age in months (under 18)."""
    return min(bisect_right(_AGE_EDGES_M, age_months), _N_AGE)


def _ramp_share(first: int, ramp: int, month: int) -> float:
    """Share of a change in effect in ``month``: 0 before ``first``, rising over ``ramp``."""
    if month < first:
        return 0.0
    return 1.0 if ramp <= 0 else min(1.0, (month - first + 1) / ramp)


def _epoch_starts(system: CareSystem) -> list[int]:
    """Months (from the start) at which some hazard or entry lever's factor changes; 0 first."""
    months = {0}
    if system.rate_drift_sd > 0.0:
        months.update(range(0, system.horizon_months, DRIFT_MONTHS))
    for lever in (*system.hazard_levers, *system.entry_levers):
        first = _month_index(system.start, lever.start)
        months.update(range(first, first + max(lever.ramp_months, 1)))
    return sorted(m for m in months if 0 <= m < system.horizon_months)


def _months_between(start: pd.Timestamp, date: pd.Timestamp) -> float:
    return (date - start).days / vocab.DAYS_PER_MONTH
