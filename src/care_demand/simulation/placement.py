"""Placement and capacity policy of one replicate: where a child in care is placed.

:class:`PlacementMixin` gives the replicate model
(:class:`~care_demand.simulation.engine.ReplicateModel`) its in-house capacity state and the
policy that uses it: a child entering care, picking a placement group, placing a child
(in-house first when a place is free, externally when in-house groups are full), free
places in children's homes, offering freed places to children waiting outside, moving
children whose in-house placement closed, drawing out-of-area placements, referrals to
Harbour outreach and family network meetings before an entry to care (the arithmetic of
their effects is in :mod:`.engine`).
"""

from __future__ import annotations

from bisect import bisect_right
from math import floor

import simpy

from care_demand import streams, vocab
from care_demand.simulation.capacity import REFERRAL_ROUTES, CapacityConfig
from care_demand.simulation.engine_common import (
    _EXTERNAL_RES,
    _FAMILY,
    _IFA,
    _INHOUSE_FOSTER,
    _INHOUSE_RES,
    _KINSHIP,
    _RESIDENTIAL,
    _SUPPORTED,
    _WAIT_END,
    _age_band,
    _Child,
    _month_index,
)
from care_demand.simulation.system import FIRST_CARE, code_of

__all__ = ["PlacementMixin"]

_CIN = code_of(vocab.CIN)


class PlacementMixin:
    """Placement and capacity policy (a mixin of
    :class:`~care_demand.simulation.engine.ReplicateModel`, whose state it shares)."""

    def _init_capacity(self, cap: CapacityConfig) -> None:
        """In-house capacity (fostering households, homes, outreach), empty at first."""
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
        harbour = cap.harbour
        # Whether a move into care by each route (planned, emergency) is referred.
        self._refer_route = [route in harbour.referral_routes for route in REFERRAL_ROUTES]
        self._max_wait = float(harbour.max_wait_months)
        # Young people waiting for a place (and their placement group), longest first.
        self._harbour_queue: dict[int, tuple[_Child, int]] = {}
        self._harbour_on = any(int(places) > 0 for _, places in harbour.caseload)
        self._step_down = (
            self._harbour_on and harbour.residential_step_down_multiplier_median != 1.0
        )
        self.referrals = 0  # referrals to the Harbour of young people about to enter care
        self.reached = 0  # of which found a place (at once or from the waiting list)
        self.averted = 0  # of which averted
        self.step_downs = 0  # referrals for step-down from residential care
        self._p_ooa = {code_of(vocab.CARE, g): p for g, p in cap.policy.out_of_area.items()}
        network = cap.family_network
        # Family network meetings a month, month by month (none: off), and those held.
        self._meetings = _monthly_steps(self.system.start, network.meetings, self.horizon)
        self._network_on = network.offer_share > 0.0 and any(self._meetings)
        self._network_route = [route in network.routes for route in REFERRAL_ROUTES]

    # ----------------------------------------------------------------- placement
    def _enter_care(
        self,
        c: _Child,
        now: float,
        group: int | None = None,
        refer: bool = True,
        emergency: int | None = None,
    ) -> None:
        """The child moves into care, unless a Harbour referral averts or defers the move.

        ``group`` and ``emergency`` (the route) are drawn unless given; ``refer``: whether
        the move may be referred to the Harbour (a move from the edge of care or an arrival
        into care, not one already referred).
        """
        band = _age_band(now - c.birth)
        if group is None:
            cums = self._entry_cums[bisect_right(self._epoch_edges, now)]
            group = self._pick(cums[band], c)
        if emergency is None:
            emergency = 1 if self._u(c) < self._emergency[band] else 0
        if (
            refer
            and self._harbour_on
            and c.outreach != 1
            and (c.code < 0 or c.code in self._edge)
            and self._refer(c, now, group, emergency)
        ):
            return
        month = min(int(now), self._last_month)
        if (
            refer
            and self._network_on
            and c.network == 0
            and (c.code < 0 or c.code in self._edge)
            and self._family_meeting(c, now, month, emergency)
        ):
            return
        if c.network == 2:  # the family network found a kinship carer
            group = _KINSHIP
            self.network_rec[month, 2] += 1
        self.routes_rec[month, emergency] += 1
        self.entry_ages_rec[month, band] += 1
        c.care_start = now
        self._place(c, FIRST_CARE + group, now)

    def _move_placement(self, c: _Child, now: float) -> None:
        origin = c.code - FIRST_CARE
        probs = self._move_cum[origin][_age_band(now - c.birth)]
        if c.outreach == 1 and c.code in _RESIDENTIAL:
            # Harbour step-down: a supported young person's move is to a family placement.
            target = self._pick(probs, c, allowed=_FAMILY)
            self.harbour_steps_rec[min(int(now), self._last_month)] += 1
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
        old = c.code
        self._set_code(c, code, now)
        if (
            self._step_down
            and code in _RESIDENTIAL
            and old not in _RESIDENTIAL
            and c.outreach != 1
            and self._outreach_now < self._outreach_cap
        ):
            self._refer_step_down(c, now)
        if code == _INHOUSE_FOSTER:
            self._foster_children[c.idx] = c
        elif code == _INHOUSE_RES and home >= 0:
            c.home = home
            self._home_children[home][c.idx] = c
        if waiting:
            side = int(code == _EXTERNAL_RES)
            self.placed_for_want_rec[min(int(now), self._last_month), side] += 1
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

    # ----------------------------------------------------------------- outreach
    def _refer(self, c: _Child, now: float, group: int, emergency: int) -> bool:
        """Refer a young person about to move into care to the Harbour, if it takes them.

        True when the move does not happen now: averted (they stay supported where they
        are) or waiting for a place (planned moves only, up to the maximum wait); False
        when it goes ahead (with or without support). A young person waiting keeps the
        placement group drawn for them and moves into care, when they do, by the planned
        route.
        """
        harbour = self.system.capacity.harbour
        if not harbour.min_age <= (now - c.birth) / 12.0 < harbour.max_age:
            return False
        if not self._refer_route[emergency]:
            return False
        self.referrals += 1
        if self._outreach_now < self._outreach_cap:
            return self._support(c, now)
        if emergency or self._max_wait <= 0.0 or self._outreach_cap <= 0:
            return False
        if c.code < 0:  # an arrival into care waits as a child in need, where modelled
            if not self._hold_outside:
                return False
            self._set_code(c, _CIN, now)
        self._harbour_queue[c.idx] = (c, group)
        self._at(c, now + self._max_wait, _WAIT_END, 0)
        return True

    def _support(self, c: _Child, now: float) -> bool:
        """A referred young person takes a free place; True when their move is averted.

        Whether it is averted is drawn from the Harbour's stream, keyed by the child and
        their referral, so scenarios with the same seed give the same young person the
        same luck at the same referral.
        """
        self._take_place(c)
        self.reached += 1
        c.referrals += 1
        key = hash(c.key) & 0x7FFFFFFF
        if self._rng(streams.HARBOUR, key, c.referrals).random() >= self._p_avert:
            return False
        self.averted += 1
        return self._stay_out(c, now)

    def _stay_out(self, c: _Child, now: float) -> bool:
        """A child whose move into care was averted stays where they are: an arrival as a
        child in need, or, where the services outside care are not modelled, out of care
        and not followed. Always True (the move did not happen)."""
        if c.code < 0:
            if not self._hold_outside:
                return True
            self._set_code(c, _CIN, now)
        c.entered = now  # time in the state counts from the referral or the meeting
        self._schedule(c, now)  # their state continues (held out of care while supported)
        return True

    def _take_place(self, c: _Child) -> None:
        """The young person holds an outreach place for the support months."""
        c.outreach = 1
        self._outreach_now += 1
        end = self.env.timeout(self.system.capacity.harbour.support_months, c)
        end.callbacks.append(self._end_outreach)

    def _refer_step_down(self, c: _Child, now: float) -> None:
        """A young person newly placed in residential care takes a free place for step-down."""
        harbour = self.system.capacity.harbour
        if harbour.min_age <= (now - c.birth) / 12.0 < harbour.max_age:
            self.step_downs += 1
            self._take_place(c)

    def _end_outreach(self, event: simpy.Event) -> None:
        c = event.value
        c.outreach = 2
        self._outreach_now -= 1
        now = self.env.now
        if 0 <= c.code < FIRST_CARE or c.code in _RESIDENTIAL:
            self._schedule(c, now)  # back to the usual hazards from now on
        self._serve_waiting(now)

    def _serve_waiting(self, now: float) -> None:
        """Free places go to the young people waiting, longest-waiting first."""
        queue = self._harbour_queue
        while queue and self._outreach_now < self._outreach_cap:
            c, group = queue.pop(next(iter(queue)))
            c.due = None  # their wait is over
            if not self._support(c, now):
                self._enter_care(c, now, group, refer=False, emergency=0)

    # ----------------------------------------------------------------- family network
    def _family_meeting(self, c: _Child, now: float, month: int, emergency: int) -> bool:
        """Offer the family of a child about to move into care a family network meeting.

        True when a meeting is held and averts the move (the child stays where they are,
        their time in the state counting from the meeting); False when the move goes ahead:
        not offered (the offer share), no meeting left this month, or not averted. A held
        meeting also decides, once, whether the network found a kinship carer for the
        child's entry to care, now or later. The three draws come from the family network's
        stream, keyed by the child and their approach, so scenarios with the same seed give
        the same family the same luck.
        """
        if not self._network_route[emergency]:
            return False
        c.network_tries += 1
        key = hash(c.key) & 0x7FFFFFFF
        offer, avert, kin = self._rng(streams.FAMILY_NETWORK, key, c.network_tries).random(3)
        if offer >= self.system.capacity.family_network.offer_share:
            return False
        if self.network_rec[month, 0] >= self._meetings[month]:
            return False
        self.network_rec[month, 0] += 1
        still_enters, kinship = self.network_effects
        c.network = 2 if kin < kinship else 1
        if avert >= 1.0 - still_enters:
            return False
        self.network_rec[month, 1] += 1
        return self._stay_out(c, now)

    def _end_wait(self, c: _Child, now: float) -> None:
        """No place came up within the maximum wait: the planned move into care goes ahead."""
        _, group = self._harbour_queue.pop(c.idx)
        self._enter_care(c, now, group, refer=False, emergency=0)


def _monthly_steps(start, steps: list, horizon: float) -> list[int]:
    """A piecewise schedule ``[[date, value], ...]`` as the value in each month of the run."""
    months = int(horizon)
    values = [0] * months
    for first, value in sorted((_month_index(start, date), int(v)) for date, v in steps):
        for m in range(max(first, 0), months):
            values[m] = value
    return values
