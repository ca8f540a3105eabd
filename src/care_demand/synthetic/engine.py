"""Child-by-child simulation of the ground-truth model with exact event times.

Children new to services arrive as monthly Poisson counts. Each child is then followed from
arrival to their 18th birthday or the end of the simulation: in every state the competing
exponential clocks are run piecewise over the intervals where the hazards are constant (a
change of age band or of duration band is a change point), so event times are exact draws
from the piecewise-constant model. Event times are rounded to whole days for the records.
After a closure (or a return home from care) the child stays within reach for a while: a
re-referral hazard (and, after a return home, a hazard of coming back into care) runs for the
months the ground truth gives, after which the child leaves the simulation.

The result is a set of flat integer tables (:class:`Journeys`): spells, referrals, periods of
care and children, with days counted from 1 January 1970.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np

from care_demand import vocab
from care_demand.synthetic.draws import uniform_stream
from care_demand.synthetic.truth import (
    ARRIVAL_KINDS,
    CARE_DESTINATIONS,
    HAZARD_AGE_BANDS,
    NON_CARE_DESTINATIONS,
    GroundTruth,
)

__all__ = ["Journeys", "age_band_index", "birthday", "day_number", "simulate_journeys"]

EPOCH: Final = dt.date(1970, 1, 1)

# State codes of a spell.
EH, ASSESS, CIN, CP = 0, 1, 2, 3
CARE0: Final = 4  # care in placement group g has code CARE0 + g
POST: Final = CARE0 + len(vocab.PLACEMENT_GROUPS)  # closed, within reach of a re-referral
POST_CARE: Final = POST + 1  # returned home from care: a re-referral or a return to care
NON_CARE_CODE: Final = {
    vocab.EARLY_HELP: EH,
    vocab.ASSESSMENT: ASSESS,
    vocab.CIN: CIN,
    vocab.CP: CP,
}

# Outcome codes of a spell (how it ended). 0-3: moved to that non-care state.
OPEN: Final = -1
TO_CARE: Final = 10
CLOSED: Final = 11
AGED_OUT: Final = 12  # left care on the 18th birthday / service closed at 18
MOVE: Final = 20
RETURN_HOME: Final = 21
SGO_CAO: Final = 22
ADOPTION: Final = 23
EXIT_OTHER: Final = 24
REFERRAL: Final = 30  # outcomes of the post-closure windows
REENTRY: Final = 31
CARE_OUTCOMES: Final = (MOVE, RETURN_HOME, SGO_CAO, ADOPTION, EXIT_OTHER)

# Where a period of care came from.
SOURCE_ASSESSMENT, SOURCE_CIN, SOURCE_CP, SOURCE_DIRECT, SOURCE_REENTRY = 0, 1, 2, 3, 4
# Kind of a new child's arrival (index into ARRIVAL_KINDS).
KIND_REFERRAL, KIND_EARLY_HELP, KIND_CARE = 0, 1, 2

_AGE_EDGES: Final = [low * vocab.DAYS_PER_YEAR for _, low, _ in vocab.AGE_BANDS[1:5]]
_DUR_EDGES: Final = [high * vocab.DAYS_PER_MONTH for _, _, high in vocab.DURATION_BANDS[:-1]]
_DUR_EDGES_INF: Final = [*_DUR_EDGES, math.inf]
_ADULT_DAYS: Final = 18.0 * vocab.DAYS_PER_YEAR
_LAST_AGE: Final = len(HAZARD_AGE_BANDS) - 1


@dataclass(frozen=True)
class Journeys:
    """Every simulated child's journey as flat arrays (days since 1970-01-01).

    Attributes:
        child_dob, child_b18, child_kind, child_arrival: per child (row = child index).
        spell_child, spell_state, spell_start, spell_end, spell_outcome, spell_need,
            spell_period: per spell in time order within a child; ``spell_end`` is -1 and
            ``spell_outcome`` is ``OPEN`` when the spell is open at the end of the simulation;
            ``spell_need`` numbers the episode of need (-1 outside assessment, CIN and CP);
            ``spell_period`` numbers the period of care (-1 outside care).
        ref_child, ref_day, ref_nfa, ref_need: per referral (episode of need).
        period_child, period_start, period_source: per period of care.
        end_day: last simulated day.
    """

    child_dob: np.ndarray
    child_b18: np.ndarray
    child_kind: np.ndarray
    child_arrival: np.ndarray
    spell_child: np.ndarray
    spell_state: np.ndarray
    spell_start: np.ndarray
    spell_end: np.ndarray
    spell_outcome: np.ndarray
    spell_need: np.ndarray
    spell_period: np.ndarray
    ref_child: np.ndarray
    ref_day: np.ndarray
    ref_nfa: np.ndarray
    ref_need: np.ndarray
    period_child: np.ndarray
    period_start: np.ndarray
    period_source: np.ndarray
    end_day: int


def day_number(value: dt.date) -> int:
    """Days from 1970-01-01 to ``value``."""
    return (value - EPOCH).days


def birthday(dob_day: int, years: int) -> int:
    """Day number of the calendar birthday ``years`` after ``dob_day`` (29 Feb -> 1 Mar)."""
    born = EPOCH + dt.timedelta(days=dob_day)
    try:
        when = born.replace(year=born.year + years)
    except ValueError:
        when = dt.date(born.year + years, 3, 1)
    return day_number(when)


class _Model:
    """Hazard tables in the form the inner loop wants (plain lists, rates per day)."""

    def __init__(self, truth: GroundTruth) -> None:
        n_states = POST_CARE + 1
        per_day = 1.0 / vocab.DAYS_PER_MONTH
        self.total: list[list[list[float]]] = []
        self.cum: list[list[list[list[float]]]] = []
        self.outcomes: list[list[int]] = []
        self.dead_from: list[int] = []
        for s in range(n_states):
            if s == POST:
                block = truth.rereferral[None, :, :] * per_day
                outs = [REFERRAL]
            elif s == POST_CARE:
                block = np.stack([truth.rereferral, truth.reentry]) * per_day
                outs = [REFERRAL, REENTRY]
            elif s < CARE0:
                state = (vocab.EARLY_HELP, vocab.ASSESSMENT, vocab.CIN, vocab.CP)[s]
                dests = NON_CARE_DESTINATIONS[state]
                block = truth.rates[s, : len(dests)] * per_day
                outs = [NON_CARE_CODE.get(d, TO_CARE if d == vocab.CARE else CLOSED) for d in dests]
            else:
                block = truth.rates[s, : len(CARE_DESTINATIONS)] * per_day
                outs = list(CARE_OUTCOMES)
            tot = block.sum(axis=0)  # [age, dur]
            cum = np.cumsum(block, axis=0) / np.where(tot > 0, tot, 1.0)[None]
            self.total.append(tot.tolist())
            self.cum.append(np.moveaxis(cum, 0, -1).tolist())
            self.outcomes.append(outs)
            alive = np.flatnonzero(tot.any(axis=0))
            self.dead_from.append(int(alive[-1]) + 1 if alive.size else 0)
        self.entry_cum = np.cumsum(truth.entry_placement, axis=1).tolist()
        self.move_cum = np.cumsum(truth.move_destination, axis=2).tolist()
        self.nfa = truth.referral_nfa_share


def age_band_index(age_days: float) -> int:
    """Position in ``HAZARD_AGE_BANDS`` of an age given in days (18 and over: the last band)."""
    return min(bisect_right(_AGE_EDGES, age_days), _LAST_AGE)


class _Simulator:
    def __init__(self, model: _Model, u: Callable[[], float], end_day: int) -> None:
        self.m = model
        self.u = u
        self.end_day = end_day
        self.spells: tuple[list[int], ...] = tuple([] for _ in range(7))
        self.refs: tuple[list[int], ...] = tuple([] for _ in range(4))
        self.periods: tuple[list[int], ...] = tuple([] for _ in range(3))
        self.n_need = 0

    def _pick(self, cum: list[float]) -> int:
        return min(bisect_right(cum, self.u()), len(cum) - 1)

    def _walk(self, s: int, t0: int, dob: int, stop: float) -> tuple[float, int, int] | None:
        """First event time of state ``s`` entered at ``t0``, or None if none before ``stop``."""
        total = self.m.total[s]
        dead = self.m.dead_from[s]
        e = -math.log(1.0 - self.u())
        t = float(t0)
        a = age_band_index(t0 - dob)
        d = 0
        while t < stop:
            if d >= dead:
                return None
            t_age = dob + _AGE_EDGES[a] if a < _LAST_AGE else math.inf
            t_dur = t0 + _DUR_EDGES_INF[d]
            t_next = min(t_age, t_dur, stop)
            r = total[a][d]
            if r > 0.0:
                cap = r * (t_next - t)
                if e < cap:
                    return t + e / r, a, d
                e -= cap
            t = t_next
            if t >= t_age:
                a += 1
            if t >= t_dur:
                d += 1
        return None

    def _spell(
        self, child: int, s: int, start: int, end: int, outcome: int, need: int, period: int
    ) -> None:
        sp = self.spells
        sp[0].append(child)
        sp[1].append(s)
        sp[2].append(start)
        sp[3].append(end)
        sp[4].append(outcome)
        sp[5].append(need)
        sp[6].append(period)

    def _referral(self, child: int, day: int, nfa: bool) -> int:
        need = self.n_need
        self.n_need += 1
        r = self.refs
        r[0].append(child)
        r[1].append(day)
        r[2].append(int(nfa))
        r[3].append(need)
        return need

    def _enter_care(self, child: int, day: int, dob: int, source: int) -> tuple[int, int]:
        period = len(self.periods[0])
        self.periods[0].append(child)
        self.periods[1].append(day)
        self.periods[2].append(source)
        group = self._pick(self.m.entry_cum[age_band_index(day - dob)])
        return CARE0 + group, period

    def child(self, child: int, kind: int, day: int, dob: int, b18: int) -> None:
        """Follow one child from arrival to 18 or the end of the simulation."""
        end_day = self.end_day
        adult = dob + _ADULT_DAYS
        close_at_18 = math.ceil(adult)
        need = -1
        period = -1
        if kind == KIND_REFERRAL:
            state = -2  # a referral is pending
        elif kind == KIND_EARLY_HELP:
            state = EH
        elif day < b18:
            state, period = self._enter_care(child, day, dob, SOURCE_DIRECT)
        else:  # turns 18 on arrival: never looked after
            return
        while True:
            if state == -2:  # referral on `day`
                nfa = self.u() < self.m.nfa
                need = self._referral(child, day, nfa)
                state = POST if nfa else ASSESS
                if nfa:
                    need = -1
                continue
            care = CARE0 <= state < POST
            window = state >= POST
            aged_day = b18 if care else close_at_18
            stop = min(adult, float(b18), end_day + 1.0) if care else min(adult, end_day + 1.0)
            hit = self._walk(state, day, dob, stop)
            event_day: int | None = None
            outcome = OPEN
            if hit is not None:
                t, a, d = hit
                event_day = max(math.floor(t + 0.5), day + 1)
                outcome = self.m.outcomes[state][self._pick(self.m.cum[state][a][d])]
                # No transition on or after the day the child leaves at 18 (care can only
                # start before the 18th birthday).
                entering_care = outcome in (TO_CARE, REENTRY)
                if event_day >= aged_day or (entering_care and event_day >= b18):
                    event_day = None
            if event_day is None or event_day > end_day:
                if window:
                    return
                if event_day is None and aged_day <= end_day:
                    self._spell(child, state, day, aged_day, AGED_OUT, need, period)
                else:
                    self._spell(child, state, day, OPEN, OPEN, need, period)
                return
            if window:
                day = event_day
                if outcome == REENTRY:
                    state, period = self._enter_care(child, day, dob, SOURCE_REENTRY)
                else:
                    state = -2
                continue
            self._spell(child, state, day, event_day, outcome, need, period)
            day = event_day
            if outcome <= CP:
                if state == EH:  # step up: a new referral, never closed at referral
                    need = self._referral(child, day, False)
                elif outcome == EH:
                    need = -1
                state = outcome
            elif outcome == TO_CARE:
                source = {ASSESS: SOURCE_ASSESSMENT, CIN: SOURCE_CIN, CP: SOURCE_CP}[state]
                need = -1
                state, period = self._enter_care(child, day, dob, source)
            elif outcome == MOVE:
                origin = state - CARE0
                dest = self._pick(self.m.move_cum[origin][age_band_index(day - dob)])
                state = CARE0 + dest
            elif outcome == CLOSED:
                if state == EH:
                    return
                need = -1
                state = POST
            elif outcome == RETURN_HOME:
                period = -1
                state = POST_CARE
            else:  # SGO, adoption, other exits: the child leaves services
                return


def _arrivals(
    truth: GroundTruth, rng: np.random.Generator, start: int, end: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """New children: (day, kind, age in days) sorted by day, kind and draw order."""
    days, kinds, ages = [], [], []
    first = EPOCH + dt.timedelta(days=start)
    months = np.arange(
        np.datetime64(first, "M"), np.datetime64(EPOCH + dt.timedelta(days=end), "M") + 1
    )
    age_low = np.array([low for _, low, _ in vocab.AGE_BANDS[:5]])
    age_high = np.array([high for _, _, high in vocab.AGE_BANDS[:5]])
    for k, kind in enumerate(ARRIVAL_KINDS):
        probs = truth.arrival_age_probabilities(kind)
        for month in months:
            m_start = int((month.astype("datetime64[D]") - np.datetime64(EPOCH)).astype(int))
            m_end = int(((month + 1).astype("datetime64[D]") - np.datetime64(EPOCH)).astype(int))
            lo, hi = max(m_start, start), min(m_end, end + 1)
            if hi <= lo:
                continue
            rate = truth.arrival_rate(kind, month.astype("datetime64[D]").item())
            n = rng.poisson(rate * (hi - lo) / (m_end - m_start))
            if n == 0:
                continue
            days.append(lo + np.floor(rng.random(n) * (hi - lo)).astype(np.int64))
            kinds.append(np.full(n, k))
            band = rng.choice(len(probs), size=n, p=probs)
            years = age_low[band] + rng.random(n) * (age_high[band] - age_low[band])
            ages.append(np.floor(years * vocab.DAYS_PER_YEAR).astype(np.int64))
    day = np.concatenate(days)
    kind = np.concatenate(kinds)
    age = np.concatenate(ages)
    order = np.lexsort((np.arange(day.size), kind, day))
    return day[order], kind[order], age[order]


def simulate_journeys(
    truth: GroundTruth, seed: int, start: dt.date | None = None, end: dt.date | None = None
) -> Journeys:
    """Simulate every child from ``start`` (default: the burn-in start) to ``end``.

    ``seed`` feeds a :class:`numpy.random.SeedSequence`; arrivals and journeys use separate
    child streams so that changing one arrival rate does not reshuffle every journey.
    """
    start_day = day_number(start or truth.sim_start.date())
    end_day = day_number(end or truth.sim_end.date())
    arrival_seq, journey_seq = np.random.SeedSequence(seed).spawn(2)
    day, kind, age = _arrivals(truth, np.random.default_rng(arrival_seq), start_day, end_day)
    dob = day - age
    sim = _Simulator(_Model(truth), uniform_stream(np.random.default_rng(journey_seq)), end_day)
    b18 = np.array([birthday(int(x), 18) for x in dob], dtype=np.int64)
    for c, (k, d, b, e) in enumerate(
        zip(kind.tolist(), day.tolist(), dob.tolist(), b18.tolist(), strict=True)
    ):
        sim.child(c, k, d, b, e)
    sp, rf, pr = sim.spells, sim.refs, sim.periods

    def arr(values: list[int]) -> np.ndarray:
        return np.asarray(values, dtype=np.int64)

    return Journeys(
        child_dob=dob,
        child_b18=b18,
        child_kind=kind,
        child_arrival=day,
        spell_child=arr(sp[0]),
        spell_state=arr(sp[1]),
        spell_start=arr(sp[2]),
        spell_end=arr(sp[3]),
        spell_outcome=arr(sp[4]),
        spell_need=arr(sp[5]),
        spell_period=arr(sp[6]),
        ref_child=arr(rf[0]),
        ref_day=arr(rf[1]),
        ref_nfa=arr(rf[2]).astype(bool),
        ref_need=arr(rf[3]),
        period_child=arr(pr[0]),
        period_start=arr(pr[1]),
        period_source=arr(pr[2]),
        end_day=end_day,
    )
