"""The true journeys of the synthetic example as an EventHistory spells / arrivals table.

These are the facts the council files were written from (docs/event_history.md schema, child
ids unhashed), so tests can count stocks and flows exactly and compare them with what the
data layer rebuilds from the files.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.data.history import SPELL_COLUMNS as HISTORY_SPELL_COLUMNS
from care_demand.data.settings import CareLeaverConfig
from care_demand.synthetic import engine as eng
from care_demand.synthetic.ssda903 import CareRecords

__all__ = ["SPELL_COLUMNS", "true_arrivals", "true_spells"]

# The event history's spell columns; true spells carry no ``prev_state`` (the linking the
# data layer does is not needed when the next state is known).
SPELL_COLUMNS: Final = tuple(c for c in HISTORY_SPELL_COLUMNS if c != "prev_state")
_STATE_NAMES: Final = np.array(
    [vocab.EARLY_HELP, vocab.ASSESSMENT, vocab.CIN, vocab.CP] + [vocab.CARE] * 9, dtype=object
)
_GROUP_NAMES: Final = np.array([None] * 4 + list(vocab.PLACEMENT_GROUPS), dtype=object)
_EXIT_NAMES: Final = {
    eng.RETURN_HOME: vocab.RETURN_HOME,
    eng.SGO_CAO: vocab.SGO_CAO,
    eng.ADOPTION: vocab.ADOPTION,
    eng.EXIT_OTHER: vocab.CARE_EXIT_OTHER,
}
_EPOCH: Final = np.datetime64("1970-01-01", "D")


def _timestamps(days: np.ndarray) -> pd.Series:
    values = np.where(days >= 0, days, 0).astype("timedelta64[D]") + _EPOCH
    out = pd.Series(values.astype("datetime64[ns]"))
    out[days < 0] = pd.NaT
    return out


def _care_leavers(
    j: eng.Journeys, rules: CareLeaverConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Children who qualify as care leavers: (child index, first day, 21st birthday)."""
    care = (j.spell_state >= eng.CARE0) & (j.spell_state < eng.POST)
    exits = np.flatnonzero(care & (j.spell_end >= 0) & (j.spell_outcome != eng.MOVE))
    child = j.spell_child[exits]
    age = (j.spell_end[exits] - j.child_dob[child]) / vocab.DAYS_PER_YEAR
    weeks = (j.spell_end[exits] - j.period_start[j.spell_period[exits]]) / 7.0
    qualify = np.unique(child[(age >= rules.min_exit_age) & (weeks >= rules.min_weeks_in_care)])
    last_end = np.full(j.child_dob.size, -1, dtype=np.int64)
    # A spell still open at the end of the simulation keeps the child from every later spell.
    np.maximum.at(last_end, j.spell_child, np.where(j.spell_end < 0, 1 << 40, j.spell_end))
    start_years, end_years = int(rules.start_age), int(rules.end_age)
    start = np.array(
        [eng.birthday(int(d), start_years) for d in j.child_dob[qualify]], dtype=np.int64
    )
    start = np.maximum(start, last_end[qualify])
    end = np.array([eng.birthday(int(d), end_years) for d in j.child_dob[qualify]], dtype=np.int64)
    return qualify, start, end


def true_spells(
    j: eng.Journeys,
    care: CareRecords,
    ids: np.ndarray,
    window_start: int,
    window_end: int,
    rules: CareLeaverConfig | None = None,
) -> pd.DataFrame:
    """Spells open at some time in ``[window_start, window_end]`` (day numbers).

    Same columns and meaning as ``EventHistory.spells`` (docs/event_history.md) with the
    council's own child ids in ``child_id``. A spell still open at ``window_end`` has ``end``
    NaT. ``next_state`` is the true next state (``none`` after leaving services), with no
    linking gap.
    """
    rules = rules or CareLeaverConfig()
    n = j.spell_child.size
    outcome = j.spell_outcome
    state_code = j.spell_state
    is_care = (state_code >= eng.CARE0) & (state_code < eng.POST)
    leaver_child, leaver_start, leaver_end = _care_leavers(j, rules)
    leaver_from = np.full(j.child_dob.size, -1, dtype=np.int64)
    leaver_from[leaver_child] = leaver_start

    next_idx = np.minimum(np.arange(n) + 1, n - 1)
    next_state = np.full(n, None, dtype=object)
    next_group = np.full(n, None, dtype=object)
    exit_reason = np.full(n, None, dtype=object)
    to_state = outcome <= eng.CP
    to_state &= outcome >= 0
    next_state[to_state] = _STATE_NAMES[outcome[to_state]]
    to_care = np.isin(outcome, [eng.TO_CARE, eng.MOVE])
    next_state[to_care] = vocab.CARE
    next_group[to_care] = _GROUP_NAMES[state_code[next_idx[to_care]]]
    closed = outcome == eng.CLOSED
    next_state[closed] = vocab.NONE
    exit_reason[closed] = vocab.CLOSED
    for code, name in _EXIT_NAMES.items():
        rows = outcome == code
        next_state[rows] = vocab.NONE
        exit_reason[rows] = name
    aged = outcome == eng.AGED_OUT
    leaver_next = aged & (leaver_from[j.spell_child] == j.spell_end)
    next_state[aged] = vocab.NONE
    next_state[leaver_next] = vocab.CARE_LEAVER
    exit_reason[aged & is_care] = vocab.AGE_18
    exit_reason[aged & ~is_care & ~leaver_next] = vocab.CLOSED

    period_number = np.zeros(j.period_start.size, dtype=np.int64)
    if j.period_start.size:
        first = np.r_[True, j.period_child[1:] != j.period_child[:-1]]
        run_start = np.maximum.accumulate(np.where(first, np.arange(first.size), 0))
        period_number = np.arange(first.size) - run_start + 1
    care_period = np.where(is_care, period_number[np.maximum(j.spell_period, 0)], -1)
    first_spell = is_care & (j.spell_start == j.period_start[np.maximum(j.spell_period, 0)])
    emergency = care.period_emergency[np.maximum(j.spell_period, 0)]
    entry_route = np.full(n, None, dtype=object)
    entry_route[first_spell] = np.where(emergency[first_spell], "emergency", "planned")
    legal = np.where(is_care, care.spell_ls, None)

    table = pd.DataFrame(
        {
            "child": j.spell_child,
            "state": _STATE_NAMES[state_code],
            "placement_group": _GROUP_NAMES[state_code],
            "start_day": j.spell_start,
            "end_day": j.spell_end,
            "next_state": next_state,
            "next_group": next_group,
            "exit_reason": exit_reason,
            "care_period": care_period,
            "legal_status": legal,
            "entry_route": entry_route,
        }
    )
    leavers = pd.DataFrame(
        {
            "child": leaver_child,
            "state": vocab.CARE_LEAVER,
            "placement_group": None,
            "start_day": leaver_start,
            "end_day": leaver_end,
            "next_state": vocab.NONE,
            "next_group": None,
            "exit_reason": "aged_out",
            "care_period": -1,
            "legal_status": None,
            "entry_route": None,
        }
    )
    table = pd.concat([table, leavers], ignore_index=True)
    keep = (table["start_day"] <= window_end) & (
        (table["end_day"] < 0) | (table["end_day"] >= window_start)
    )
    table = table.loc[keep].reset_index(drop=True)
    still_open = (table["end_day"] < 0) | (table["end_day"] > window_end)
    table.loc[still_open, "end_day"] = -1
    for col in ("next_state", "next_group", "exit_reason"):
        table.loc[still_open, col] = None
    dob = j.child_dob[table["child"].to_numpy()]
    out = pd.DataFrame(
        {
            "child_id": pd.array(ids[table["child"].to_numpy()], dtype="string"),
            "state": pd.array(table["state"], dtype="string"),
            "placement_group": pd.array(table["placement_group"], dtype="string"),
            "start": _timestamps(table["start_day"].to_numpy()),
            "end": _timestamps(table["end_day"].to_numpy()),
            "next_state": pd.array(table["next_state"], dtype="string"),
            "next_group": pd.array(table["next_group"], dtype="string"),
            "exit_reason": pd.array(table["exit_reason"], dtype="string"),
            "dob": _timestamps(dob),
            "age_at_start": (table["start_day"].to_numpy() - dob) / vocab.DAYS_PER_YEAR,
            "entered_before_window": table["start_day"].to_numpy() < window_start,
            "care_period": pd.array(
                np.where(table["care_period"] > 0, table["care_period"], 0), dtype="Int64"
            ),
            "legal_status": pd.array(table["legal_status"], dtype="string"),
            "entry_route": pd.array(table["entry_route"], dtype="string"),
        }
    )
    out.loc[table["care_period"].to_numpy() <= 0, "care_period"] = pd.NA
    return out.sort_values(["child_id", "start", "state"], kind="stable").reset_index(drop=True)


def true_arrivals(
    j: eng.Journeys, ids: np.ndarray, window_start: int, window_end: int, rereferral_days: int = 365
) -> pd.DataFrame:
    """Arrivals inside the window as in ``EventHistory.arrivals``: referrals (re-referral when
    within ``rereferral_days`` of the child's previous referral), early-help requests (starts
    that are not step-downs) and entries to care."""
    order = np.lexsort((j.ref_day, j.ref_child))
    child, day = j.ref_child[order], j.ref_day[order]
    same = np.r_[False, child[1:] == child[:-1]]
    gap = np.r_[0, np.diff(day)]
    rerefer = same & (gap <= rereferral_days)

    eh = np.flatnonzero(j.spell_state == eng.EH)
    prev = np.maximum(eh - 1, 0)
    stepped_down = (
        (eh > 0)
        & (j.spell_child[prev] == j.spell_child[eh])
        & (j.spell_outcome[prev] == eng.EH)
        & (j.spell_end[prev] == j.spell_start[eh])
    )
    eh = eh[~stepped_down]

    parts = [
        (child, day, "referral", rerefer),
        (j.spell_child[eh], j.spell_start[eh], "early_help_request", np.zeros(eh.size, bool)),
        (j.period_child, j.period_start, "care_entry", np.zeros(j.period_child.size, bool)),
    ]
    frames = []
    for who, when, kind, flag in parts:
        inside = (when >= window_start) & (when <= window_end)
        who, when = who[inside], when[inside]
        frames.append(
            pd.DataFrame(
                {
                    "child_id": pd.array(ids[who], dtype="string"),
                    "date": _timestamps(when),
                    "kind": pd.array([kind] * who.size, dtype="string"),
                    "rereferral": flag[inside],
                    "age": (when - j.child_dob[who]) / vocab.DAYS_PER_YEAR,
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    return out.sort_values(["date", "kind", "child_id"], kind="stable").reset_index(drop=True)
