"""What the parts of the flow model's replicate share (internal to the simulation).

The record axes (``EXIT_REASONS``, ``REPORT_AGE_BANDS``, ``ENTRY_ROUTES``), the codes of the
placement groups the engine treats apart, the age and duration band edges, the codes of the
engine's event actions and outcomes, the engine's lighter SimPy event (``_Due``), the child
entity (``_Child``) and small helpers on ages and dates.
"""

from __future__ import annotations

from bisect import bisect_right

import numpy as np
import pandas as pd
import simpy

from care_demand import vocab
from care_demand.simulation.system import FIRST_CARE, code_of

__all__ = ["ENTRY_AGE_BANDS", "ENTRY_ROUTES", "EXIT_REASONS", "REPORT_AGE_BANDS"]

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
# Age bands of children entering care (the hazards' bands under 18; entry-age axis).
ENTRY_AGE_BANDS: tuple[str, ...] = REPORT_AGE_BANDS[: _N_AGE + 1]
_N_DUR = len(_DUR_EDGES_M)
_ROW = 24  # uniforms pre-drawn per child; more are drawn on demand

_INHOUSE_FOSTER = FIRST_CARE + vocab.PLACEMENT_GROUPS.index(vocab.INHOUSE_FOSTER)
_IFA = FIRST_CARE + vocab.PLACEMENT_GROUPS.index(vocab.IFA)
_INHOUSE_RES = FIRST_CARE + vocab.PLACEMENT_GROUPS.index(vocab.INHOUSE_RESIDENTIAL)
_EXTERNAL_RES = FIRST_CARE + vocab.PLACEMENT_GROUPS.index(vocab.EXTERNAL_RESIDENTIAL)
_SUPPORTED = FIRST_CARE + vocab.PLACEMENT_GROUPS.index(vocab.SUPPORTED_16PLUS)
_KINSHIP = vocab.PLACEMENT_GROUPS.index(vocab.KINSHIP_FOSTER)  # a placement group's index
_FAMILY = tuple(FIRST_CARE + vocab.PLACEMENT_GROUPS.index(g) for g in vocab.FOSTER_GROUPS)
_EDGE_OF_CARE = (code_of(vocab.ASSESSMENT), code_of(vocab.CIN), code_of(vocab.CP))
_RESIDENTIAL = (_INHOUSE_RES, _EXTERNAL_RES)
# Codes of the states outside care, by name (destinations of moves between services).
_STATE_CODE = {
    state: code_of(state) for state in (vocab.EARLY_HELP, vocab.ASSESSMENT, vocab.CIN, vocab.CP)
}

# Event actions.
_MOVE_ON, _AT_18, _LEAVER_START, _LEAVER_END, _WAIT_END = 0, 1, 2, 3, 4
# Outcomes of a move drawn from the hazards are those of .paths (TO_*), and for children in
# care also an index into EXIT_REASONS.
_X_CLOSED, _X_AGE_18, _X_AGED_OUT = _EXIT[vocab.CLOSED], _EXIT[vocab.AGE_18], _EXIT["aged_out"]
# What an arrival is, besides the code of the state outside care it enters.
_ARRIVE_NFA, _ARRIVE_CARE = -1, -2
# A child's next drawn step when it is not an event: nothing to draw, or the engine draws it.
_NO_STEP, _ENGINE_STEP = -1, -2
# A planned record that is an arrival (its outcome), and the SimPy event id of a planned
# record not yet due (after every real one, as SimPy would give it when it comes due).
_ARRIVAL = -10
_NO_EID = 1 << 62

# Routes into care (entry-route axis).
ENTRY_ROUTES: tuple[str, ...] = ("planned", "emergency")


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
        "network",
        "network_tries",
        "ooa",
        "outreach",
        "referrals",
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
        self.referrals = 0  # referrals to the Harbour that found a place
        self.network = 0  # family network meeting: 0 none held, 1 held, 2 held, kinship carer found
        self.network_tries = 0  # approaches to the edge of care considered for a meeting
        self.waiting_since = -1.0


def _month_index(start: pd.Timestamp, date: object) -> int:
    stamp = pd.Timestamp(str(date))
    return (stamp.year - start.year) * 12 + (stamp.month - start.month)


def _age_band(age_months: float) -> int:
    """Index of the hazard age band of an age in months (under 18)."""
    return min(bisect_right(_AGE_EDGES_M, age_months), _N_AGE)
