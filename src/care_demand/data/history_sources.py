"""The intervals each source gives before the overlay, with dates as whole day numbers.

SSDA903 episodes become placement spells grouped into periods of care, qualifying care exits
become care leaver intervals, CIN census referrals become assessment, CIN and CP intervals,
and early-help episodes become early-help intervals (``docs/event_history.md``);
:mod:`care_demand.data.history_build` overlays them into spells.

Dates are whole day numbers (days since 1970-01-01) held in numpy arrays; an open end is the
sentinel ``OPEN``. Intervals are half-open: ``[start, end)`` is open on day ``d`` when
``start <= d < end``. A state's level is its place in ``LEVELS`` (``vocab.STATE_PRIORITY``,
then ``care_leaver`` last): the lower level wins where intervals overlap.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from care_demand import vocab
from care_demand.data.dates import add_years
from care_demand.data.settings import CareLeaverConfig

__all__ = [
    "AGE_18_NEAR_CODES",
    "AGE_18_NEAR_DAYS",
    "CARE_LEVEL",
    "EMERGENCY_LEGAL_STATUSES",
    "LEVELS",
    "OPEN",
    "PRIORITY",
    "Care",
    "Cin",
    "Raw",
    "care_leavers",
    "care_spells",
    "cin_intervals",
    "early_help_intervals",
    "load_exit_reasons",
    "to_days",
    "to_float_days",
    "to_timestamps",
]

# Legal statuses that mark an emergency entry to care. SSDA903 LS meanings (DfE SSDA903
# guidance, [SSDA903 guidance] in docs/sources.md): L1 police protection, L2 emergency
# protection order, L3 child assessment order, J1 remanded to local authority accommodation,
# J2 accommodated under the Police and Criminal Evidence Act 1984.
EMERGENCY_LEGAL_STATUSES = frozenset({"L1", "L2", "L3", "J1", "J2"})
# SSDA903 RNE: S started to be looked after, P/B change of carer (always a new placement
# spell); T/U change of placement with the same carer (a new spell only when the placement
# group changes); L change of legal status only (never a new spell).
_RNE_NEW_CARER = ("S", "P", "B")
_RNE_LEGAL_ONLY = ("L",)
# SSDA903 REC X1: the episode ceased and a new one began the same day (not a care exit).
_REC_NOT_AN_EXIT = "X1"
# Leaving care with one of these REC codes up to this many days before the 18th birthday
# counts as leaving at 18 (moves to independent living or staying put are often recorded on
# the last working day before the birthday; SSDA903 REC meanings E17, E5, E6, E8).
AGE_18_NEAR_CODES = frozenset({"E17", "E5", "E6", "E8"})
AGE_18_NEAR_DAYS = 7
_ADULT_AGE = 18

OPEN = 1_000_000  # day number standing for "not ended" (year 4707)
LEVELS = (*vocab.STATE_PRIORITY, vocab.CARE_LEAVER)
PRIORITY = {state: level for level, state in enumerate(LEVELS)}
CARE_LEVEL = PRIORITY[vocab.CARE]


# --------------------------------------------------------------------------------------
# Dates as day numbers
# --------------------------------------------------------------------------------------


def _day_array(values: pd.Series) -> np.ndarray:
    """Dates as datetime64[D] (NaT kept)."""
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values)
    return values.to_numpy().astype("datetime64[D]")


def to_days(values: pd.Series) -> np.ndarray:
    """Dates as int64 day numbers; blank dates become ``OPEN``."""
    raw = _day_array(values)
    out = raw.astype(np.int64)
    out[np.isnat(raw)] = OPEN
    return out


def to_float_days(values: pd.Series) -> np.ndarray:
    """Dates as float day numbers; blank dates become NaN."""
    raw = _day_array(values)
    out = raw.astype(np.int64).astype(float)
    out[np.isnat(raw)] = np.nan
    return out


def to_timestamps(days: np.ndarray) -> np.ndarray:
    """Day numbers back to datetime64[ns]; ``OPEN`` becomes NaT."""
    out = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    out[np.asarray(days) == OPEN] = np.datetime64("NaT")
    return out.astype("datetime64[ns]")


def _birthdays(dob: pd.Series, years: float) -> np.ndarray:
    """Float day numbers of the birthday at ``years`` (calendar years when whole)."""
    if float(years).is_integer():
        shifted = add_years(dob, int(years))
    else:
        shifted = dob + pd.to_timedelta(float(years) * vocab.DAYS_PER_YEAR, unit="D")
    return to_float_days(shifted)


def _codes(values: pd.Series) -> np.ndarray:
    """Upper-case code strings as an object array ('' for blank)."""
    text = values.astype(object).where(values.notna(), "").astype(str)
    return text.str.strip().str.upper().to_numpy(dtype=object)


# --------------------------------------------------------------------------------------
# Raw intervals from each source
# --------------------------------------------------------------------------------------


@dataclass
class Raw:
    """Intervals of one kind before the overlay (all arrays the same length)."""

    cid: np.ndarray
    level: np.ndarray
    start: np.ndarray
    end: np.ndarray
    group: np.ndarray | None = None
    legal_status: np.ndarray | None = None
    period: np.ndarray | None = None
    entry_route: np.ndarray | None = None
    exit_reason: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.cid)


def _make_raw(cid: np.ndarray, state: str, start: np.ndarray, end: np.ndarray) -> Raw:
    keep = end > start
    cid, start, end = cid[keep], start[keep], end[keep]
    return Raw(
        cid.astype(np.int64),
        np.full(len(cid), PRIORITY[state], dtype=np.int64),
        start.astype(np.int64),
        end.astype(np.int64),
    )


def load_exit_reasons(path: Path) -> dict[str, str]:
    """REC code -> care exit reason from the mapping file."""
    try:
        mapping = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise ValueError(f"cannot read the exit reason mapping {path}: {err}") from err
    if not isinstance(mapping, dict):
        raise ValueError(f"{path}: expected a mapping of exit reason -> list of REC codes")
    codes: dict[str, str] = {}
    for reason, listed in mapping.items():
        if reason not in vocab.CARE_EXITS:
            raise ValueError(
                f"{path}: unknown exit reason {reason!r}; expected one of {vocab.CARE_EXITS}"
            )
        for code in listed or ():
            code = str(code).strip().upper()
            if code in codes:
                raise ValueError(
                    f"{path}: REC code {code} is listed under both {codes[code]!r} and {reason!r}"
                )
            codes[code] = reason
    return codes


@dataclass
class Care:
    """Placement spells, and the periods of care (child, first day, end) they make up."""

    spells: Raw
    period_cid: np.ndarray
    period_start: np.ndarray
    period_end: np.ndarray


def care_spells(
    episodes: pd.DataFrame,
    ids: pd.Index,
    dob: pd.Series,
    exit_codes: dict[str, str],
    exit_reasons_file: Path,
) -> Care:
    """Placement spells and periods of care from SSDA903 episodes."""
    ep = episodes.sort_values(["child_id", "decom"], kind="stable")
    cid = ids.get_indexer(ep["child_id"]).astype(np.int64)
    start = to_days(ep["decom"])
    end = to_days(ep["dec"])
    rne = _codes(ep["rne"])
    rec = _codes(ep["rec"])
    ls = _codes(ep["ls"])
    group = ep["placement_group"].astype(object)
    group = group.where(group.notna(), None).to_numpy(dtype=object)
    n = len(ep)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        none = np.zeros(0, dtype=object)
        return Care(
            Raw(empty, empty, empty, empty, none, none, empty, none, none), empty, empty, empty
        )

    same_child_next = np.r_[cid[1:] == cid[:-1], False]
    # An episode left open although the child has a later one ends where the next begins.
    unclosed = (end == OPEN) & same_child_next
    end[unclosed] = np.r_[start[1:], 0][unclosed]
    rec[unclosed] = _REC_NOT_AN_EXIT

    prev_same = np.r_[False, same_child_next[:-1]]
    continues = prev_same & np.r_[False, (rec[:-1] == _REC_NOT_AN_EXIT) & (end[:-1] == start[1:])]
    group_key = np.where(pd.isna(group), "", group).astype(object)
    group_changed = np.r_[True, group_key[1:] != group_key[:-1]]
    new_spell = (
        ~continues | np.isin(rne, _RNE_NEW_CARER) | (~np.isin(rne, _RNE_LEGAL_ONLY) & group_changed)
    )
    # A same-day episode inside a period joins the spell before it, so that a period never
    # ends on a spell that the overlay would drop for having no length.
    new_spell &= ~(continues & (start == end))

    spell_first = np.flatnonzero(new_spell)
    spell_last = np.r_[spell_first[1:] - 1, n - 1]
    period_first = np.flatnonzero(~continues)
    period_last = np.r_[period_first[1:] - 1, n - 1]
    period_of_episode = np.cumsum(~continues) - 1

    p_cid = cid[period_first]
    p_start = start[period_first]
    p_end = end[period_last]
    p_rec = rec[period_last]
    p_number = pd.Series(p_cid).groupby(p_cid).cumcount().to_numpy() + 1

    # Exit reasons of the periods that ended.
    ended = p_end != OPEN
    unknown = sorted(
        {c for c in p_rec[ended] if c and c != _REC_NOT_AN_EXIT and c not in exit_codes}
    )
    if unknown:
        raise ValueError(
            f"SSDA903 episodes: REC code(s) {', '.join(unknown)} have no exit reason in "
            f"{exit_reasons_file}; add them to the mapping"
        )
    reason = np.array([exit_codes.get(c, vocab.CARE_EXIT_OTHER) for c in p_rec], dtype=object)
    adult = _birthdays(dob, _ADULT_AGE)[p_cid]
    at_18 = ended & (
        (p_end >= adult)
        | (np.isin(p_rec, list(AGE_18_NEAR_CODES)) & (p_end >= adult - AGE_18_NEAR_DAYS))
    )
    reason[at_18] = vocab.AGE_18
    reason[~ended] = None

    emergency = np.isin(ls[period_first], list(EMERGENCY_LEGAL_STATUSES))
    route = np.where(emergency, "emergency", "planned").astype(object)

    s_period = period_of_episode[spell_first]
    is_period_last = np.isin(spell_last, period_last)
    # The first spell of a period is the one starting on the period's first day (a same-day
    # episode opening the period has no length and is dropped by the overlay).
    opens_period = start[spell_first] == p_start[s_period]
    spells = Raw(
        cid=cid[spell_first],
        level=np.full(len(spell_first), CARE_LEVEL, dtype=np.int64),
        start=start[spell_first],
        end=end[spell_last],
        group=group[spell_first],
        legal_status=np.where(ls[spell_first] == "", None, ls[spell_first]).astype(object),
        period=p_number[s_period],
        entry_route=np.where(opens_period, route[s_period], None).astype(object),
        exit_reason=np.where(is_period_last, reason[s_period], None).astype(object),
    )
    return Care(spells, p_cid, p_start, p_end)


def care_leavers(care: Care, dob: pd.Series, rules: CareLeaverConfig) -> Raw:
    """Care leaver intervals from qualifying exits (docs/event_history.md, Care leavers)."""
    cid, start, end = care.period_cid, care.period_start, care.period_end
    exit_age_day = _birthdays(dob, rules.min_exit_age)[cid]
    from_day = _birthdays(dob, rules.start_age)[cid]
    to_day = _birthdays(dob, rules.end_age)[cid]
    qualifies = (
        (end != OPEN)
        & (end >= exit_age_day)
        & ((end - start) >= rules.min_weeks_in_care * 7)
        & ~np.isnan(to_day)
    )
    cid, end = cid[qualifies], end[qualifies]
    begin = np.maximum(end, from_day[qualifies]).astype(np.int64)
    return _make_raw(cid, vocab.CARE_LEAVER, begin, to_day[qualifies].astype(np.int64))


_CIN_OTHER_DATES = (
    "assessment_start",
    "assessment_end",
    "cin_plan_start",
    "cin_plan_end",
    "s47_start",
    "icpc_date",
    "cp_start",
    "cp_end",
)


@dataclass
class Cin:
    """Assessment, CIN and CP intervals, and every referral (child, day) by child and date."""

    intervals: list[Raw]
    referral_cid: np.ndarray
    referral_day: np.ndarray


def cin_intervals(cin: pd.DataFrame, ids: pd.Index) -> Cin:
    """Assessment, CIN and CP intervals and every referral from the CIN census."""
    rows = cin.loc[cin["referral_date"].notna()].copy()
    rows["cid"] = ids.get_indexer(rows["child_id"])
    rows["nfa"] = rows["referral_nfa"].astype("boolean").fillna(False).astype(bool)
    rows["other"] = rows[list(_CIN_OTHER_DATES)].notna().any(axis=1)
    keys = ["cid", "referral_date"]
    ref = (
        rows.groupby(keys, sort=True)
        .agg(
            nfa=("nfa", "all"),
            other=("other", "any"),
            assessment_start=("assessment_start", "min"),
            assessment_end=("assessment_end", "max"),
            cin_plan_start=("cin_plan_start", "min"),
            cp_start=("cp_start", "min"),
            closure=("closure_date", "max"),
        )
        .reset_index()
    )
    referral_cid = ref["cid"].to_numpy(dtype=np.int64)
    referral_day = to_days(ref["referral_date"])

    work = ref.loc[~(ref["nfa"] & ~ref["other"])]
    cid = work["cid"].to_numpy(dtype=np.int64)
    referral = to_days(work["referral_date"])
    closure = to_days(work["closure"])
    a_start = to_days(work["assessment_start"].fillna(work["referral_date"]))
    fallback = np.minimum.reduce(
        [to_days(work["cp_start"]), to_days(work["cin_plan_start"]), closure]
    )
    a_end = to_days(work["assessment_end"])
    a_end = np.where(a_end == OPEN, fallback, a_end)
    has_cin = a_end != OPEN
    cin_from = np.maximum(a_end, referral)
    intervals = [
        _make_raw(cid, vocab.ASSESSMENT, a_start, a_end),
        _make_raw(cid[has_cin], vocab.CIN, cin_from[has_cin], closure[has_cin]),
    ]

    # Plans: one row per plan (several rows may repeat a plan); an open plan ends at closure.
    rows = rows.merge(work[[*keys, "closure"]], on=keys, how="inner")
    for state, first, last in (
        (vocab.CIN, "cin_plan_start", "cin_plan_end"),
        (vocab.CP, "cp_start", "cp_end"),
    ):
        plans = rows.loc[rows[first].notna(), ["cid", first, last, "closure"]]
        plans = plans.assign(**{last: plans[last].fillna(plans["closure"])})
        plans = plans.drop_duplicates(["cid", first, last])
        intervals.append(
            _make_raw(
                plans["cid"].to_numpy(dtype=np.int64),
                state,
                to_days(plans[first]),
                to_days(plans[last]),
            )
        )
    return Cin(intervals, referral_cid, referral_day)


def early_help_intervals(early_help: pd.DataFrame, ids: pd.Index) -> Raw:
    """Early-help intervals from the early-help episodes (repeated rows once)."""
    rows = early_help.loc[early_help["start"].notna(), ["child_id", "start", "end"]]
    rows = rows.drop_duplicates()
    return _make_raw(
        ids.get_indexer(rows["child_id"]).astype(np.int64),
        vocab.EARLY_HELP,
        to_days(rows["start"]),
        to_days(rows["end"]),
    )
