"""SSDA903 episodes for the simulated periods of care.

Each period of care (a run of placement spells) becomes SSDA903 episodes: a new episode at
every placement change (RNE P, or T for the same carer moving between agency and council, B/U
when the legal status changes the same day) and at every change of legal status alone (RNE L);
every episode but the last ends REC X1, the last ends with the E-code of the exit. Legal
statuses, placement codes and exit codes are drawn from the shares in ``ground_truth.yaml``;
they never change the journey itself (its periods of care, and its placement groups apart
from the last weeks before an adoption by the child's own foster carers, below).

The codes keep the DfE's validation rules for the return (``benchmarks/dfe_rules.py``):
police protection (L1) ends within 72 hours; a child placed with parents (P1) is never
accommodated under section 20 (V2), so a care order is sought by the time they go home;
other public bodies (PR3) provide only the placements they can (never fostering, adoption,
children's homes or placements with parents); special guardianship to former foster carers
(E45/E46) follows a foster placement; a placement for adoption with consent (A4) follows a
foster placement; and a child adopted by their foster carers is first placed for adoption with
them (A5 under a placement order made that day: RNE U, or T if one was in force)
:data:`CARER_ADOPTION_DAYS` days before the adoption order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.data.ssda903_xml import EPISODE_ITEMS
from care_demand.synthetic import engine as eng
from care_demand.synthetic.draws import Shares
from care_demand.synthetic.truth import HAZARD_AGE_BANDS, GroundTruth

__all__ = ["EPISODE_COLUMNS", "CareRecords", "build_care_records"]

# The Episodes columns in the order of the return (the data layer reads the same).
EPISODE_COLUMNS: Final = EPISODE_ITEMS
EMERGENCY_LS: Final = ("L1", "L2")
# Days under police protection (at most 72 hours) and under an emergency protection order
# (up to 8 days) before the next legal status.
_EMERGENCY_DAYS: Final = {"L1": (1, 3), "L2": (2, 8)}
# Days a child adopted by their foster carers is placed for adoption with them before the
# order (the carers must have had the child for 10 weeks before applying).
CARER_ADOPTION_DAYS: Final = 91
_CARER_ADOPTION_REASON: Final = "CARPL"  # a change to the care plan
_GROUPS = vocab.PLACEMENT_GROUPS
_G = {g: i for i, g in enumerate(_GROUPS)}
_SAME_CARER_PAIRS: Final = {
    (_G[vocab.IFA], _G[vocab.INHOUSE_FOSTER]),
    (_G[vocab.INHOUSE_FOSTER], _G[vocab.IFA]),
}
_SAME_CARER_SHARE: Final = 0.2  # agency carers who transfer to the council, and back
_SOURCE_NAMES: Final = ("assessment", "cin", "cp", "direct", "reentry")
# Before 2018/19 the return coded special guardianship as E43 (to former foster carers) and
# E44 (to other carers) instead of E45-E48.
_OLD_SGO: Final = {"E45": "E43", "E46": "E43", "E47": "E44", "E48": "E44"}
_OLD_SGO_UNTIL: Final = eng.day_number(pd.Timestamp("2018-03-31").date())
_TO_OTHER_CARERS: Final = {"E45": "E47", "E46": "E48"}


@dataclass(frozen=True)
class CareRecords:
    """SSDA903 episodes and the legal facts the spells table needs.

    Attributes:
        episodes: every episode of every period (child index in ``CHILD``; ``DECOM``/``DEC``
            as day numbers, ``DEC`` -1 while open); columns as :data:`EPISODE_COLUMNS`
            without the blank postcode and URN columns.
        spell_ls: legal status at the start of each spell of the journeys ("" outside care).
        period_emergency: per period of care, whether it began under an emergency order.
    """

    episodes: pd.DataFrame
    spell_ls: np.ndarray
    period_emergency: np.ndarray


def _rand_int(u: float, low: int, high: int) -> int:
    return low + int(u * (high - low + 1))


class _Coder:
    """Draws the codes of one period of care at a time."""

    def __init__(self, truth: GroundTruth, u: Any) -> None:
        spec = truth.raw["ssda903"]
        self.u = u
        self.need = Shares(spec["category_of_need"], "ssda903.category_of_need")
        self.emergency = {k: float(v) for k, v in spec["emergency_share"].items()}
        self.s20 = {k: float(v) for k, v in spec["section20_share"].items()}
        self.s20_to_c1 = float(spec["section20_to_c1_share"])
        self.c2_days = tuple(int(x) for x in spec["c1_to_c2_days"])
        self.e1_days = tuple(int(x) for x in spec["e1_before_placement_days"])
        self.consent = float(spec["adoption_consent_share"])
        self.rec = {k: Shares(v, f"ssda903.rec.{k}") for k, v in spec["rec"].items()}
        self.place_change = Shares(spec["place_change_reasons"], "ssda903.place_change_reasons")

    def placement(
        self, group: int, first: bool, age_years: float, consent: bool, with_carers: bool = False
    ) -> tuple[str, str]:
        """PLACE and PLACE_PROVIDER for a placement spell (``with_carers``: placed for
        adoption with the current foster carers)."""
        u = self.u
        name = _GROUPS[group]
        if with_carers:
            return ("A3" if consent else "A5"), "PR1"
        if name == vocab.KINSHIP_FOSTER:
            return ("U3" if first or u() < 0.4 else "U1"), "PR1"
        if name in (vocab.INHOUSE_FOSTER, vocab.IFA):
            ffa = 0.15 if age_years < 1 else 0.02
            x = u()
            if x < ffa:
                place = "U5"
            elif first or x < ffa + 0.45 * (1 - ffa):
                place = "U6"
            else:
                place = "U4"
            if name == vocab.IFA:
                return place, "PR4" if u() < 0.75 else "PR5"
            return place, "PR1" if u() < 0.93 else "PR2"
        if name == vocab.INHOUSE_RESIDENTIAL:
            return "K2", "PR1"
        if name == vocab.EXTERNAL_RESIDENTIAL:
            x = u()
            if x < 0.78:
                return "K2", "PR4"
            if x < 0.86:
                return "K2", "PR5"
            if x < 0.92:
                return "S1", "PR4"
            return ("S1", "PR5") if x < 0.96 else ("S1", "PR1")
        if name == vocab.SUPPORTED_16PLUS:
            x = u()
            return ("H5", "PR4") if x < 0.6 else (("H5", "PR5") if x < 0.75 else ("P2", "PR1"))
        if name == vocab.PLACED_WITH_PARENTS:
            return "P1", "PR0"
        if name == vocab.PLACED_FOR_ADOPTION:
            if consent:
                return "A4", "PR1"
            x = u()
            return "A6", "PR1" if x < 0.7 else ("PR2" if x < 0.8 else "PR5")
        # secure and other placements
        x = u()
        if age_years < 1:
            return "R3", "PR1" if x < 0.6 else "PR3"
        if age_years < 10:
            return ("Z1", "") if x < 0.7 else ("R2", "PR3")
        if x < 0.5:
            return "K1", "PR1" if x < 0.3 else "PR2"
        return ("Z1", "") if x < 0.85 else ("R2", "PR3")

    def exit_code(self, outcome: int, group: int, age_years: float, day: int) -> str:
        """REC for the last episode of a period of care."""
        u = self.u
        if outcome == eng.RETURN_HOME:
            code = self.rec["return_home"].pick(u())
        elif outcome == eng.ADOPTION:
            code = self.rec["adoption"].pick(u())
        elif outcome == eng.SGO_CAO:
            table = "sgo_cao_kinship" if _GROUPS[group] == vocab.KINSHIP_FOSTER else "sgo_cao_other"
            code = self.rec[table].pick(u())
            if _GROUPS[group] not in vocab.FOSTER_GROUPS:  # not to former foster carers
                code = _TO_OTHER_CARERS.get(code, code)
            if day <= _OLD_SGO_UNTIL:
                code = _OLD_SGO.get(code, code)
        elif outcome == eng.EXIT_OTHER:
            table = "care_exit_other_16_17" if age_years >= 16 else "care_exit_other_under_16"
            code = self.rec[table].pick(u())
        else:  # 18th birthday
            foster = _GROUPS[group] in vocab.FOSTER_GROUPS
            code = self.rec["age_18_foster" if foster else "age_18_other"].pick(u())
        return code

    def legal_events(
        self,
        start: int,
        end: float,
        source: int,
        band: str,
        uasc: bool,
        adoption_moves: list[int],
        home: list[tuple[int, float]],
        orders_on: tuple[int, ...] = (),
    ) -> tuple[str, dict[int, str], bool]:
        """Legal status at entry, later changes (day -> LS) and whether the entry was urgent.

        ``home``: (start, end) of the period's placements with parents; ``orders_on``: days a
        placement order (E1) is made on the day of the placement for adoption.
        """
        u = self.u
        events: dict[int, str] = {}
        emergency = False
        if uasc:
            status, since = "V2", start
        elif u() < self.emergency[_SOURCE_NAMES[source]]:
            emergency = True
            first = EMERGENCY_LS[0] if u() < 0.6 else EMERGENCY_LS[1]
            since = start + _rand_int(u(), *_EMERGENCY_DAYS[first])
            status = "C1" if u() < 0.7 else "V2"
            events[start] = first
        else:
            status = "V2" if u() < self.s20[band] else "C1"
            since = start
        care_order: float = np.inf
        if status == "V2" and not uasc and u() < self.s20_to_c1:
            care_order = since + _rand_int(u(), 30, 180)
        if status == "V2":  # section 20 never covers a placement with parents
            care_order = min([care_order] + [max(s, since) for s, e in home if e > since])
        if care_order == since:
            status = "C1"
        events[since] = status
        if care_order < np.inf and status == "V2":
            since, status = int(care_order), "C1"
            events[since] = status
        if status == "C1":
            events[since + _rand_int(u(), *self.c2_days)] = "C2"
        for move in adoption_moves:
            day = max(move - _rand_int(u(), *self.e1_days), start + 1)
            events[day] = "E1"
        for day in orders_on:
            events[day] = "E1"
        # Once a placement order is made, later care-order steps no longer apply.
        out: dict[int, str] = {}
        placement_order = False
        for day in sorted(events):
            if day >= end:
                break
            if placement_order and events[day] != "E1":
                continue
            placement_order = placement_order or events[day] == "E1"
            out[day] = events[day]
        return out.pop(start), out, emergency


def build_care_records(truth: GroundTruth, journeys: eng.Journeys, u: Any) -> CareRecords:
    """SSDA903 episodes of every period of care in ``journeys`` (codes drawn with ``u``)."""
    j = journeys
    coder = _Coder(truth, u)
    spell_ls = np.full(j.spell_child.size, "", dtype=object)
    emergency = np.zeros(j.period_start.size, dtype=bool)
    care = np.flatnonzero(j.spell_period >= 0)
    bounds = np.flatnonzero(np.diff(j.spell_period[care])) + 1
    rows: list[tuple[Any, ...]] = []
    state, start, end = j.spell_state.tolist(), j.spell_start.tolist(), j.spell_end.tolist()
    outcome = j.spell_outcome.tolist()
    for idx in np.split(care, bounds):
        p = int(j.spell_period[idx[0]])
        child = int(j.period_child[p])
        dob = int(j.child_dob[child])
        entry = int(j.period_start[p])
        source = int(j.period_source[p])
        band = HAZARD_AGE_BANDS[eng.age_band_index(entry - dob)]
        uasc = source == eng.SOURCE_DIRECT and band == "16_17"
        need = "N8" if uasc else coder.need.pick(u())
        spells = idx.tolist()
        groups = [state[s] - eng.CARE0 for s in spells]
        last = spells[-1]
        period_end = end[last] if end[last] >= 0 else np.inf
        pfa = _G[vocab.PLACED_FOR_ADOPTION]
        # Placed for adoption with consent (A4) only from foster care; otherwise under an order.
        consent = {
            k: u() < coder.consent and _GROUPS[groups[k - 1]] in vocab.FOSTER_GROUPS
            for k, g in enumerate(groups)
            if g == pfa and k > 0
        }
        order_moves = [start[spells[k]] for k, c in consent.items() if not c]
        # Adopted by their foster carers: placed for adoption with them (A5, under a placement
        # order made that day) before the adoption order.
        by_carers = outcome[last] == eng.ADOPTION and groups[-1] != pfa
        carers_from = max(end[last] - CARER_ADOPTION_DAYS, start[last]) if by_carers else -1
        home = [
            (start[s], end[s] if end[s] >= 0 else np.inf)
            for s, g in zip(spells, groups, strict=True)
            if g == _G[vocab.PLACED_WITH_PARENTS]
        ]
        ls, changes, emergency[p] = coder.legal_events(
            entry, period_end, source, band, uasc, order_moves, home, (carers_from,) * by_carers
        )
        codes = [
            coder.placement(
                g, k == 0, (start[s] - dob) / vocab.DAYS_PER_YEAR, consent.get(k, False)
            )
            for k, (s, g) in enumerate(zip(spells, groups, strict=True))
        ]
        moves = {start[s]: k for k, s in enumerate(spells) if k > 0}
        adopters = len(codes)  # the placement with the foster carers as adopters, if any
        if by_carers:
            carer_codes = coder.placement(pfa, False, 0.0, False, with_carers=True)
            if carers_from == start[last]:
                adopters = len(codes) - 1
                codes[-1] = carer_codes
            else:
                codes.append(carer_codes)
                moves[carers_from] = adopters
        days = sorted(set(moves) | set(changes))
        k = 0
        episode = [child, entry, "S", ls, need, *codes[0]]
        spell_ls[spells[0]] = ls
        for day in days:
            new_ls = changes.get(day, ls)
            moved = day in moves
            if not moved and new_ls == ls:
                continue
            reason = ""
            if moved:
                k_new = moves[day]
                changed = new_ls != ls
                if k_new == adopters:
                    same_carer, reason = True, _CARER_ADOPTION_REASON
                else:
                    same_carer = (
                        groups[k],
                        groups[k_new],
                    ) in _SAME_CARER_PAIRS and u() < _SAME_CARER_SHARE
                    reason = coder.place_change.pick(u())
                    spell_ls[spells[k_new]] = new_ls
                rne = ("U" if changed else "T") if same_carer else ("B" if changed else "P")
                k = k_new
            else:
                rne = "L"
            rows.append((*episode, day, "X1", reason))
            ls = new_ls
            episode = [child, day, rne, ls, need, *codes[k]]
        if end[last] >= 0:
            age = (end[last] - dob) / vocab.DAYS_PER_YEAR
            rec = coder.exit_code(outcome[last], groups[-1], age, end[last])
            rows.append((*episode, end[last], rec, ""))
        else:
            rows.append((*episode, -1, "", ""))
    # Every Episodes column up to REASON_PLACE_CHANGE; postcodes and URN stay blank.
    columns = EPISODE_COLUMNS[: EPISODE_COLUMNS.index("REASON_PLACE_CHANGE") + 1]
    episodes = pd.DataFrame(rows, columns=list(columns))
    return CareRecords(episodes=episodes, spell_ls=spell_ls, period_emergency=emergency)
