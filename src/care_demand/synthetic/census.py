"""CIN census rows (one per child per referral, more for repeat plans) and early-help episodes.

An episode of need starts at a referral and runs through assessment, CIN plans and CP plans
until it closes: with no further action after assessment (RC8), a step down to early help
(RC9), entry to care (RC7, the same day), or the end of services (RC7 mostly, RC1/RC3/RC4/RC5
for a share). The assessment runs from the referral to its authorisation; a CP plan starts on
the day of its initial conference, after a section 47 enquiry. Section 47 enquiries that lead
to no conference, and conferences that make no plan, are added to assessments that did not
end in a plan, at the rates in ``ground_truth.yaml``.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from care_demand.synthetic import engine as eng
from care_demand.synthetic.draws import Shares
from care_demand.synthetic.truth import GroundTruth

__all__ = ["CIN_COLUMNS", "EARLY_HELP_COLUMNS", "build_cin_rows", "build_early_help_rows"]

CIN_COLUMNS: Final = (
    "LAchildID",
    "PersonBirthDate",
    "CINreferralDate",
    "ReferralNFA",
    "AssessmentActualStartDate",
    "AssessmentAuthorisationDate",
    "CINPlanStartDate",
    "CINPlanEndDate",
    "S47ActualStartDate",
    "DateOfInitialCPC",
    "ICPCnotRequired",
    "CPPstartDate",
    "CPPendDate",
    "CINclosureDate",
    "ReasonForClosure",
)
CIN_DATE_COLUMNS: Final = tuple(c for c in CIN_COLUMNS if "Date" in c and c != "ReferralNFA")
EARLY_HELP_COLUMNS: Final = ("child_id", "date_of_birth", "start_date", "end_date", "end_reason")
NONE: Final = -1  # a blank date


def _rand_int(u: float, low: int, high: int) -> int:
    return low + int(u * (high - low + 1))


def build_cin_rows(truth: GroundTruth, journeys: eng.Journeys, u: Any, since: int) -> pd.DataFrame:
    """CIN census rows for referrals open on or after day ``since``.

    Dates are day numbers (-1 = blank); ``LAchildID`` holds the child index; ``ReferralNFA``
    and ``ICPCnotRequired`` are ``"true"``/``"false"``/``""``.
    """
    j = journeys
    spec = truth.raw["cin_census"]
    s47_only = float(spec["s47_no_icpc_share"])
    icpc_only = float(spec["icpc_no_plan_share"])
    closure = Shares(spec["closure_reasons"], "cin_census.closure_reasons")
    need_spells = np.flatnonzero(j.spell_need >= 0)
    order = need_spells[np.argsort(j.spell_need[need_spells], kind="stable")]
    firsts = np.searchsorted(j.spell_need[order], j.ref_need)
    lasts = np.searchsorted(j.spell_need[order], j.ref_need, side="right")
    state, start, end = j.spell_state.tolist(), j.spell_start.tolist(), j.spell_end.tolist()
    outcome = j.spell_outcome.tolist()
    rows: list[list[Any]] = []
    for r in range(j.ref_child.size):
        child = int(j.ref_child[r])
        referral = int(j.ref_day[r])
        if j.ref_nfa[r]:
            if referral >= since:
                rows.append([child, referral, "true", *[NONE] * 6, "", NONE, NONE, referral, "RC7"])
            continue
        spells = order[firsts[r] : lasts[r]].tolist()
        last = spells[-1]
        if 0 <= end[last] < since:
            continue
        close_day, reason = NONE, ""
        if end[last] >= 0:
            close_day = end[last]
            out = outcome[last]
            if out == eng.EH:
                reason = "RC9"
            elif out == eng.CLOSED and state[last] == eng.ASSESS:
                reason = "RC8"
            elif out == eng.CLOSED:
                reason = closure.pick(u())
            else:  # entry to care, 18th birthday
                reason = "RC7"
        assess = spells[0]
        cin_plans = [(start[s], end[s]) for s in spells if state[s] == eng.CIN]
        cp_plans = []
        for k, s in enumerate(spells):
            if state[s] != eng.CP:
                continue
            before = start[spells[k - 1]] if k > 0 else referral
            s47 = max(before, start[s] - _rand_int(u(), 3, 20))
            cp_plans.append((s47, start[s], start[s], end[s]))
        extra = None  # an enquiry during the assessment that led to no plan
        a_end = end[assess]
        if a_end >= 0 and outcome[assess] != eng.CP:
            x = u()
            if x < s47_only + icpc_only:
                s47 = referral + min(_rand_int(u(), 0, 10), a_end - referral - 1)
                icpc = NONE
                if x >= s47_only:
                    icpc = min(s47 + _rand_int(u(), 5, 15), a_end)
                extra = (s47, icpc)
        n_rows = max(1, len(cin_plans), len(cp_plans))
        base = [child, referral, "false"]
        tail = [close_day, reason]
        for i in range(n_rows):
            row = base + ([referral, a_end] if i == 0 else [NONE, NONE])
            row += list(cin_plans[i]) if i < len(cin_plans) else [NONE, NONE]
            if i < len(cp_plans):
                s47, icpc, cp_start, cp_end = cp_plans[i]
                row += [s47, icpc, "false", cp_start, cp_end]
            elif i == 0 and extra is not None:
                row += [extra[0], extra[1], "true" if extra[1] == NONE else "false", NONE, NONE]
                extra = None
            else:
                row += [NONE, NONE, "", NONE, NONE]
            rows.append(row + tail)
        if extra is not None:
            rows.append(
                base
                + [NONE] * 4
                + [extra[0], extra[1], "true" if extra[1] == NONE else "false", NONE, NONE]
                + tail
            )
    columns = ["child", *CIN_COLUMNS[2:]]
    return pd.DataFrame(rows, columns=columns).rename(columns={"child": "LAchildID"})


def build_early_help_rows(
    truth: GroundTruth, journeys: eng.Journeys, u: Any, since: int
) -> pd.DataFrame:
    """Early-help episodes open on or after day ``since``: child index, start, end, end_reason."""
    j = journeys
    reasons = Shares(truth.raw["early_help"]["closed_reasons"], "early_help.closed_reasons")
    idx = np.flatnonzero((j.spell_state == eng.EH) & ((j.spell_end < 0) | (j.spell_end >= since)))
    out_reason = []
    for s in idx.tolist():
        out = int(j.spell_outcome[s])
        if out == eng.OPEN:
            out_reason.append("")
        elif out == eng.ASSESS:
            out_reason.append("step_up")
        elif out == eng.CLOSED:
            out_reason.append(reasons.pick(u()))
        else:  # closed at 18
            out_reason.append("other")
    return pd.DataFrame(
        {
            "child_id": j.spell_child[idx],
            "start_date": j.spell_start[idx],
            "end_date": j.spell_end[idx],
            "end_reason": out_reason,
        }
    )
