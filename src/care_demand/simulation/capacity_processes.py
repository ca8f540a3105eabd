"""The SimPy processes that change one replicate's in-house capacity over the horizon.

:class:`CapacityProcessesMixin` gives the replicate model
(:class:`~care_demand.simulation.engine.ReplicateModel`) its capacity processes: foster
carer recruitment (enquiries, assessments, approvals) and resignations month by month,
children's homes opening and closing, and the Harbour outreach caseload stepping up. Each
draws from random streams of its own (:mod:`care_demand.streams`).
"""

from __future__ import annotations

from math import floor

import numpy as np
import pandas as pd
import simpy

from care_demand import streams, vocab
from care_demand.simulation.engine_common import _INHOUSE_FOSTER, _INHOUSE_RES, _month_index

__all__ = ["CapacityProcessesMixin"]


class CapacityProcessesMixin:
    """Capacity processes (a mixin of :class:`~care_demand.simulation.engine.ReplicateModel`,
    whose state they share)."""

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
        months = list(range(self.system.horizon_months))
        recruiting = self._rngs(streams.FOSTERING, [1] * len(months), months)
        resigning = self._rngs(streams.FOSTERING, [2] * len(months), months)
        for month in months:
            yield self.env.timeout(month + 0.5 - self.env.now)
            rng = recruiting[month]
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
            rng = resigning[month]
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
            self._serve_waiting(self.env.now)  # new places go to young people waiting


def _ramp_share(first: int, ramp: int, month: int) -> float:
    """Share of a change in effect in ``month``: 0 before ``first``, rising over ``ramp``."""
    if month < first:
        return 0.0
    return 1.0 if ramp <= 0 else min(1.0, (month - first + 1) / ramp)


def _months_between(start: pd.Timestamp, date: pd.Timestamp) -> float:
    return (date - start).days / vocab.DAYS_PER_MONTH
