"""Records of one replicate: the result, and the bookkeeping that fills it as children move.

:class:`ReplicateResult` holds a replicate's monthly records; :class:`RecordingMixin` gives
the replicate model (:class:`~care_demand.simulation.engine.ReplicateModel`) its record
arrays and the methods that keep them: children per placement group and placement-days,
moves between states and exits, care leavers supported past 21, and the monthly monitor
that counts stocks, capacity and occupancy at each month end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import simpy

from care_demand import streams, vocab
from care_demand.simulation.engine_common import (
    _ADULT_M,
    _EXTERNAL_RES,
    _IFA,
    _INHOUSE_FOSTER,
    _INHOUSE_RES,
    _REPORT_EDGES_Y,
    _X_AGED_OUT,
    ENTRY_AGE_BANDS,
    ENTRY_ROUTES,
    EXIT_REASONS,
    REPORT_AGE_BANDS,
    _Child,
)
from care_demand.simulation.system import CODES, FIRST_CARE, LEAVER, N_GROUPS, CareSystem

__all__ = ["RecordingMixin", "ReplicateResult"]


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
    ``entry_ages``: the same entries by the age band at entry ``(month, ENTRY_AGE_BANDS)``;
    ``placed_for_want``: children placed externally because the in-house group they were
    bound for was full, during the month ``(month, [foster, residential])``;
    ``harbour_step_downs``: young people supported by the Harbour moving out of residential
    care (to a family placement) during the month;
    ``leavers_supported``: care leavers past the care-leaver end age (21) still supported by
    a personal adviser at month end (to 25);
    ``family_network``: family network meetings held, entries to care they averted, and
    entries to care with a kinship carer the family network found, during the month
    ``(month, [meetings, averted, kinship])``.
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
    entry_ages: np.ndarray
    placed_for_want: np.ndarray
    harbour_step_downs: np.ndarray
    family_network: np.ndarray


class RecordingMixin:
    """The replicate model's records and the bookkeeping of every move (a mixin of
    :class:`~care_demand.simulation.engine.ReplicateModel`, whose state it shares)."""

    def _init_records(self, system: CareSystem) -> None:
        """Empty monthly records for the horizon, and the counters behind them."""
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
        # Counters only: they record moves the engine makes and draw no random number.
        self.entry_ages_rec = np.zeros((h, len(ENTRY_AGE_BANDS)), dtype=np.int32)
        self.placed_for_want_rec = np.zeros((h, 2), dtype=np.int32)
        self.harbour_steps_rec = np.zeros(h, dtype=np.int32)
        self.network_rec = np.zeros((h, 3), dtype=np.int32)
        self.leavers_rec = np.zeros(h, dtype=np.int32)
        self._leavers_supported = 0
        self._group_count = [0] * N_GROUPS
        self._group_since = [0.0] * N_GROUPS
        self._ooa = 0

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

    # ----------------------------------------------------------------- care leavers
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

    # ----------------------------------------------------------------- monthly records
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

    def _result(self) -> ReplicateResult:
        """The run's records, as a result."""
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
            entry_ages=self.entry_ages_rec,
            placed_for_want=self.placed_for_want_rec,
            harbour_step_downs=self.harbour_steps_rec,
            family_network=self.network_rec,
        )
