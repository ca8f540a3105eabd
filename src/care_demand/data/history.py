"""Turn a council's records into the tidy event history every later stage reads.

The rules are documented in ``docs/event_history.md``. In outline: SSDA903 episodes become
placement spells grouped into periods of care, CIN census referrals become assessment, CIN
and CP intervals, early-help episodes become early-help intervals, and care leavers are
derived from qualifying care exits. Per child, the intervals of all sources are overlaid so
that spells never overlap: at any moment the highest-priority state wins
(``vocab.STATE_PRIORITY``, then ``care_leaver`` last). Spells are then linked to the next
spell (a step up, a step down, a placement move or an exit) and cut to the observation
window.

Internally dates are whole day numbers (days since 1970-01-01) held in numpy arrays; an open
end is the sentinel ``_OPEN``. Intervals are half-open: a spell ``[start, end)`` is open on
day ``d`` when ``start <= d < end``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from care_demand import vocab
from care_demand.data.council import CouncilData
from care_demand.data.dates import add_years
from care_demand.data.settings import CareLeaverConfig, DataConfig
from care_demand.data.uasc import uasc_on

__all__ = ["ARRIVAL_COLUMNS", "SPELL_COLUMNS", "EventHistory", "build_history"]

SPELL_COLUMNS = (
    "child_id",
    "state",
    "placement_group",
    "start",
    "end",
    "prev_state",
    "next_state",
    "next_group",
    "exit_reason",
    "dob",
    "age_at_start",
    "entered_before_window",
    "care_period",
    "legal_status",
    "entry_route",
)
ARRIVAL_COLUMNS = ("child_id", "date", "kind", "rereferral", "age")

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

_OPEN = 1_000_000  # day number standing for "not ended" (year 4707)
_BASE = -100_000  # earliest day number handled (year 1696)
_WIDTH = 1 << 21  # > _OPEN - _BASE: packs (child, day) into one int64 key
_LEVELS = (*vocab.STATE_PRIORITY, vocab.CARE_LEAVER)
_PRIORITY = {state: level for level, state in enumerate(_LEVELS)}
_CARE_LEVEL = _PRIORITY[vocab.CARE]
_SOCIAL_CARE_LEVELS = tuple(
    _PRIORITY[s] for s in (vocab.CARE, vocab.CP, vocab.CIN, vocab.ASSESSMENT)
)

_STRING_SPELL_COLUMNS = (
    "child_id",
    "state",
    "placement_group",
    "prev_state",
    "next_state",
    "next_group",
    "exit_reason",
    "legal_status",
    "entry_route",
)


# --------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------


@dataclass
class EventHistory:
    """Every child's journey through services as spells and arrivals.

    Attributes:
        spells: one row per spell (``SPELL_COLUMNS``; see ``docs/event_history.md``).
        arrivals: one row per arrival into services (``ARRIVAL_COLUMNS``).
        children: ``child_id``, ``dob``, ``sex``, ``uasc`` (bool: recorded as an
            unaccompanied asylum-seeking child), ``uasc_ceased`` (date UASC status ceased,
            NaT when none or unknown) for every child in the council's records.
        window_start: first day of the observation window (1 April).
        window_end: last day of the observation window (31 March); spells still open then
            have ``end`` NaT.
        mode: ``"continuum"`` or ``"care_only"``.
        fingerprint: the input files' fingerprint, copied from ``CouncilData``.
        uasc_supplied: whether the returns held any UASC information (when false, ``uasc``
            is false for every child because nothing is known, not because none were UASC).
    """

    spells: pd.DataFrame
    arrivals: pd.DataFrame
    children: pd.DataFrame
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    mode: str
    fingerprint: str
    uasc_supplied: bool = False

    def uasc_on(self, child_ids: pd.Series, dates: pd.Series | pd.Timestamp) -> np.ndarray:
        """Whether each child is UASC on its date (one date per child, or one for all):
        flagged (``children.uasc``) and the date before ``uasc_ceased`` (or none ceased)."""
        return uasc_on(self.children, child_ids, dates)

    def open_on(self, date: str | pd.Timestamp) -> pd.DataFrame:
        """Return the spells open on ``date`` (``start <= date < end``, or open-ended)."""
        day = pd.Timestamp(date)
        spells = self.spells
        mask = (spells["start"] <= day) & (spells["end"].isna() | (spells["end"] > day))
        return spells.loc[mask]

    def stock(self, date: str | pd.Timestamp, by: Sequence[str] = ("state",)) -> pd.Series:
        """Count the children in each group on ``date``.

        ``by`` names spell columns (for example ``("state", "placement_group")``) and may
        include ``"age_band"`` (``vocab.AGE_BANDS``, by age on ``date``). With the default
        ``by=("state",)`` every state in ``vocab.STATES`` is listed, zeros included. Missing
        values (such as ``placement_group`` outside care) form their own group.
        """
        by = _check_by(by, self.spells.columns)
        day = pd.Timestamp(date)
        table = self.open_on(day)
        if "age_band" in by:
            ages = (day - table["dob"]).dt.days.to_numpy(dtype=float) / vocab.DAYS_PER_YEAR
            table = table.assign(age_band=_age_band_labels(ages))
        counts = table.groupby(list(by), dropna=False, sort=True).size().rename("count")
        if by == ("state",):
            counts = counts.reindex(pd.Index(vocab.STATES, name="state"), fill_value=0)
        return counts.astype("int64")

    def stocks_at(
        self, dates: Iterable[str | pd.Timestamp], by: Sequence[str] = ("state",)
    ) -> pd.DataFrame:
        """Return tidy counts on several dates: columns ``date``, the ``by`` columns, ``count``."""
        by = _check_by(by, self.spells.columns)
        frames = []
        for date in dates:
            counts = self.stock(date, by).reset_index()
            counts.insert(0, "date", pd.Timestamp(date))
            frames.append(counts)
        if not frames:
            return pd.DataFrame(columns=["date", *by, "count"])
        return pd.concat(frames, ignore_index=True)

    def flows(self, start: str | pd.Timestamp, end: str | pd.Timestamp) -> pd.DataFrame:
        """Count transitions dated from ``start`` to ``end`` (both days included).

        Returns columns ``from_state``, ``to_state``, ``count``. A spell ending in the period
        gives ``(state, next_state)`` (``to_state`` ``"none"`` for a child leaving services,
        ``"care"`` to ``"care"`` for a placement move); a spell starting in the period that
        no earlier spell leads to gives ``("none", state)``.
        """
        first, last = pd.Timestamp(start), pd.Timestamp(end)
        spells = self.spells
        ended = spells.loc[spells["end"].between(first, last), ["state", "next_state"]]
        ended.columns = ["from_state", "to_state"]
        began = spells.loc[
            spells["start"].between(first, last) & (spells["prev_state"] == vocab.NONE),
            ["prev_state", "state"],
        ]
        began.columns = ["from_state", "to_state"]
        moves = pd.concat([ended, began], ignore_index=True)
        if moves.empty:
            return pd.DataFrame(
                {
                    "from_state": pd.Series(dtype="str"),
                    "to_state": pd.Series(dtype="str"),
                    "count": pd.Series(dtype="int64"),
                }
            )
        counts = moves.groupby(["from_state", "to_state"], sort=True).size()
        return counts.rename("count").astype("int64").reset_index()

    def truncate(self, end: str | pd.Timestamp) -> EventHistory:
        """The history as it would have been known on ``end`` (a backtest's cut).

        Spells starting after ``end`` are dropped; spells open on ``end`` become open
        (right-censored) with no next state or exit reason; arrivals after ``end`` are
        dropped; ``window_end`` becomes ``end``. The fingerprint records the cut.
        """
        cut = pd.Timestamp(end).normalize()
        if not self.window_start < cut <= self.window_end:
            raise ValueError(
                f"cut {cut.date()} is outside the window {self.window_start.date()} to "
                f"{self.window_end.date()}"
            )
        spells = self.spells.loc[self.spells["start"] <= cut].copy()
        still_open = spells["end"].isna() | (spells["end"] > cut)
        spells.loc[still_open, "end"] = pd.NaT
        for column in ("next_state", "next_group", "exit_reason"):
            spells.loc[still_open, column] = pd.NA
        arrivals = self.arrivals.loc[self.arrivals["date"] <= cut].reset_index(drop=True)
        return dataclasses.replace(
            self,
            spells=spells.reset_index(drop=True),
            arrivals=arrivals,
            window_end=cut,
            fingerprint=f"{self.fingerprint}:cut:{cut.date()}",
        )

    def arrivals_from_outside(self) -> pd.DataFrame:
        """Arrivals the projection draws from outside services (``arrivals`` columns).

        An arrival is internal, and left out, when the spell it opens follows another spell
        by a move the model follows (``vocab.TRANSITIONS``): a referral that steps a child
        up from early help, an entry to care from CIN or CP. Everything else is from outside:
        a first referral, a referral closed with no further action, a new referral while on
        a plan (the model closes the plan and the referral arrives), an early-help request
        (step-downs are already excluded), an entry to care from no service.

        When the returns hold UASC information (``uasc_supplied``), an entry to care of a
        child who is UASC on the day (:meth:`uasc_on`) has kind ``care_entry_uasc`` instead
        of ``care_entry``: the projection sets those arrivals apart. Without UASC
        information the kinds are those of ``arrivals``.
        """
        arrivals = self.arrivals
        spells = self.spells
        modelled = (
            np.array(
                [
                    vocab.is_modelled_move(p, s)
                    for p, s in zip(spells["prev_state"], spells["state"], strict=True)
                ],
                dtype=bool,
            )
            if len(spells)
            else np.zeros(0, dtype=bool)
        )
        linked = spells.loc[modelled, ["child_id", "start", "state"]]
        internal = arrivals.merge(
            linked.rename(columns={"start": "date"}), on=["child_id", "date"], how="left"
        )
        follows = (
            ((internal["kind"] == "referral") & internal["state"].isin(_REFERRAL_STATES))
            | ((internal["kind"] == "care_entry") & (internal["state"] == vocab.CARE))
        ).to_numpy()
        keys = internal.loc[follows, ["child_id", "date", "kind"]].drop_duplicates()
        marked = arrivals.merge(keys.assign(_inside=True), how="left", on=list(keys.columns))
        outside = marked["_inside"].isna().to_numpy()
        out = arrivals.loc[outside].reset_index(drop=True)
        if self.uasc_supplied:
            entries = (out["kind"] == "care_entry").to_numpy()
            uasc = np.zeros(len(out), dtype=bool)
            uasc[entries] = self.uasc_on(
                out.loc[entries, "child_id"].reset_index(drop=True),
                out.loc[entries, "date"].reset_index(drop=True),
            )
            if uasc.any():
                out["kind"] = out["kind"].astype(object)
                out.loc[uasc, "kind"] = "care_entry_uasc"
                out["kind"] = out["kind"].astype(arrivals["kind"].dtype)
        return out


# States a referral can open: the spell that starts on the referral date.
_REFERRAL_STATES = (vocab.ASSESSMENT, vocab.CIN, vocab.CP)


def _check_by(by: Sequence[str], columns: Iterable[str]) -> tuple[str, ...]:
    by = (by,) if isinstance(by, str) else tuple(by)
    allowed = {*columns, "age_band"}
    unknown = [name for name in by if name not in allowed]
    if not by or unknown:
        raise ValueError(
            f"cannot group spells by {unknown or list(by)}: choose one or more of {sorted(allowed)}"
        )
    return by


def _age_band_labels(ages: np.ndarray) -> np.ndarray:
    """Age band names for ages in years (None outside every band or for unknown ages)."""
    lows = np.array([low for _, low, _ in vocab.AGE_BANDS])
    highs = np.array([high for _, _, high in vocab.AGE_BANDS])
    names = np.array(vocab.AGE_BAND_NAMES, dtype=object)
    index = np.searchsorted(lows, ages, side="right") - 1
    inside = (index >= 0) & ~np.isnan(ages)
    inside[inside] &= ages[inside] < highs[index[inside]]
    out = np.full(len(ages), None, dtype=object)
    out[inside] = names[index[inside]]
    return out


# --------------------------------------------------------------------------------------
# Dates as day numbers
# --------------------------------------------------------------------------------------


def _day_array(values: pd.Series) -> np.ndarray:
    """Dates as datetime64[D] (NaT kept)."""
    if not pd.api.types.is_datetime64_any_dtype(values):
        values = pd.to_datetime(values)
    return values.to_numpy().astype("datetime64[D]")


def _days(values: pd.Series) -> np.ndarray:
    """Dates as int64 day numbers; blank dates become ``_OPEN``."""
    raw = _day_array(values)
    out = raw.astype(np.int64)
    out[np.isnat(raw)] = _OPEN
    return out


def _float_days(values: pd.Series) -> np.ndarray:
    """Dates as float day numbers; blank dates become NaN."""
    raw = _day_array(values)
    out = raw.astype(np.int64).astype(float)
    out[np.isnat(raw)] = np.nan
    return out


def _timestamps(days: np.ndarray) -> np.ndarray:
    """Day numbers back to datetime64[ns]; ``_OPEN`` becomes NaT."""
    out = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    out[np.asarray(days) == _OPEN] = np.datetime64("NaT")
    return out.astype("datetime64[ns]")


def _birthdays(dob: pd.Series, years: float) -> np.ndarray:
    """Float day numbers of the birthday at ``years`` (calendar years when whole)."""
    if float(years).is_integer():
        shifted = add_years(dob, int(years))
    else:
        shifted = dob + pd.to_timedelta(float(years) * vocab.DAYS_PER_YEAR, unit="D")
    return _float_days(shifted)


def _codes(values: pd.Series) -> np.ndarray:
    """Upper-case code strings as an object array ('' for blank)."""
    text = values.astype(object).where(values.notna(), "").astype(str)
    return text.str.strip().str.upper().to_numpy(dtype=object)


# --------------------------------------------------------------------------------------
# Raw intervals from each source
# --------------------------------------------------------------------------------------


@dataclass
class _Raw:
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


def _make_raw(cid: np.ndarray, state: str, start: np.ndarray, end: np.ndarray) -> _Raw:
    keep = end > start
    cid, start, end = cid[keep], start[keep], end[keep]
    return _Raw(
        cid.astype(np.int64),
        np.full(len(cid), _PRIORITY[state], dtype=np.int64),
        start.astype(np.int64),
        end.astype(np.int64),
    )


def _load_exit_reasons(path: Path) -> dict[str, str]:
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
class _Care:
    spells: _Raw
    period_cid: np.ndarray
    period_start: np.ndarray
    period_end: np.ndarray


def _care(
    episodes: pd.DataFrame,
    ids: pd.Index,
    dob: pd.Series,
    exit_codes: dict[str, str],
    exit_reasons_file: Path,
) -> _Care:
    """Placement spells and periods of care from SSDA903 episodes."""
    ep = episodes.sort_values(["child_id", "decom"], kind="stable")
    cid = ids.get_indexer(ep["child_id"]).astype(np.int64)
    start = _days(ep["decom"])
    end = _days(ep["dec"])
    rne = _codes(ep["rne"])
    rec = _codes(ep["rec"])
    ls = _codes(ep["ls"])
    group = ep["placement_group"].astype(object)
    group = group.where(group.notna(), None).to_numpy(dtype=object)
    n = len(ep)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        none = np.zeros(0, dtype=object)
        return _Care(
            _Raw(empty, empty, empty, empty, none, none, empty, none, none), empty, empty, empty
        )

    same_child_next = np.r_[cid[1:] == cid[:-1], False]
    # An episode left open although the child has a later one ends where the next begins.
    unclosed = (end == _OPEN) & same_child_next
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
    ended = p_end != _OPEN
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
    spells = _Raw(
        cid=cid[spell_first],
        level=np.full(len(spell_first), _CARE_LEVEL, dtype=np.int64),
        start=start[spell_first],
        end=end[spell_last],
        group=group[spell_first],
        legal_status=np.where(ls[spell_first] == "", None, ls[spell_first]).astype(object),
        period=p_number[s_period],
        entry_route=np.where(opens_period, route[s_period], None).astype(object),
        exit_reason=np.where(is_period_last, reason[s_period], None).astype(object),
    )
    return _Care(spells, p_cid, p_start, p_end)


def _care_leavers(care: _Care, dob: pd.Series, rules: CareLeaverConfig) -> _Raw:
    """Care leaver intervals from qualifying exits (docs/event_history.md, Care leavers)."""
    cid, start, end = care.period_cid, care.period_start, care.period_end
    exit_age_day = _birthdays(dob, rules.min_exit_age)[cid]
    from_day = _birthdays(dob, rules.start_age)[cid]
    to_day = _birthdays(dob, rules.end_age)[cid]
    qualifies = (
        (end != _OPEN)
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
class _Cin:
    intervals: list[_Raw]
    referral_cid: np.ndarray
    referral_day: np.ndarray


def _cin(cin: pd.DataFrame, ids: pd.Index) -> _Cin:
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
    referral_day = _days(ref["referral_date"])

    work = ref.loc[~(ref["nfa"] & ~ref["other"])]
    cid = work["cid"].to_numpy(dtype=np.int64)
    referral = _days(work["referral_date"])
    closure = _days(work["closure"])
    a_start = _days(work["assessment_start"].fillna(work["referral_date"]))
    fallback = np.minimum.reduce([_days(work["cp_start"]), _days(work["cin_plan_start"]), closure])
    a_end = _days(work["assessment_end"])
    a_end = np.where(a_end == _OPEN, fallback, a_end)
    has_cin = a_end != _OPEN
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
                _days(plans[first]),
                _days(plans[last]),
            )
        )
    return _Cin(intervals, referral_cid, referral_day)


def _early_help(early_help: pd.DataFrame, ids: pd.Index) -> _Raw:
    rows = early_help.loc[early_help["start"].notna(), ["child_id", "start", "end"]]
    rows = rows.drop_duplicates()
    return _make_raw(
        ids.get_indexer(rows["child_id"]).astype(np.int64),
        vocab.EARLY_HELP,
        _days(rows["start"]),
        _days(rows["end"]),
    )


# --------------------------------------------------------------------------------------
# Overlay
# --------------------------------------------------------------------------------------


def _concat(parts: list[_Raw]) -> _Raw:
    """Concatenate raw intervals, filling absent care attributes."""

    def column(name: str, fill: object, dtype: object) -> np.ndarray:
        return (
            np.concatenate(
                [
                    getattr(p, name)
                    if getattr(p, name) is not None
                    else np.full(len(p), fill, dtype=dtype)
                    for p in parts
                ]
            )
            if parts
            else np.zeros(0, dtype=dtype)
        )

    return _Raw(
        cid=column("cid", 0, np.int64),
        level=column("level", 0, np.int64),
        start=column("start", 0, np.int64),
        end=column("end", 0, np.int64),
        group=column("group", None, object),
        legal_status=column("legal_status", None, object),
        period=column("period", -1, np.int64),
        entry_route=column("entry_route", None, object),
        exit_reason=column("exit_reason", None, object),
    )


def _union_same_state(raw: _Raw) -> _Raw:
    """Merge overlapping or touching intervals of one child in one state (not care)."""
    if len(raw) == 0:
        return raw
    order = np.lexsort((raw.start, raw.level, raw.cid))
    cid, level, start, end = raw.cid[order], raw.level[order], raw.start[order], raw.end[order]
    new_group = np.r_[True, (cid[1:] != cid[:-1]) | (level[1:] != level[:-1])]
    reach = pd.Series(end).groupby(np.cumsum(new_group)).cummax().to_numpy()
    new_block = new_group | np.r_[True, start[1:] > reach[:-1]]
    first = np.flatnonzero(new_block)
    return _Raw(cid[first], level[first], start[first], np.maximum.reduceat(end, first))


def _overlay(raw: _Raw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pieces ``(row, start, end)`` such that per child the winning interval covers each day.

    The winner on a day is the covering interval of lowest level; between intervals of the
    same level (overlapping care episodes in inconsistent data) the later-starting wins.
    Consecutive days won by the same interval form one piece.
    """
    if len(raw) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    key_start = raw.cid * _WIDTH + (raw.start - _BASE)
    key_end = raw.cid * _WIDTH + (raw.end - _BASE)
    bounds = np.unique(np.concatenate([key_start, key_end]))
    first_seg = np.searchsorted(bounds, key_start)
    n_segs = np.maximum(np.searchsorted(bounds, key_end) - first_seg, 0)
    owner = np.repeat(np.arange(len(raw)), n_segs)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(n_segs) - n_segs, n_segs)
    segment = first_seg[owner] + offset

    order = np.lexsort((-raw.start[owner], raw.level[owner], segment))
    segment, owner = segment[order], owner[order]
    best = np.r_[True, segment[1:] != segment[:-1]]
    segment, owner = segment[best], owner[best]

    new_piece = np.r_[True, (owner[1:] != owner[:-1]) | (segment[1:] != segment[:-1] + 1)]
    last_of_piece = np.r_[new_piece[1:], True]
    start = bounds[segment[new_piece]] % _WIDTH + _BASE
    end = bounds[segment[last_of_piece] + 1] % _WIDTH + _BASE
    return owner[new_piece], start, end


# --------------------------------------------------------------------------------------
# Children, arrivals, assembly
# --------------------------------------------------------------------------------------


def _children(council: CouncilData) -> pd.DataFrame:
    """One row per child in any source: dob from the header first, then CIN, then early help;
    ``uasc`` and ``uasc_ceased`` from the header (false / NaT for a child not in it)."""
    header = council.header
    frames = [header[["child_id", "sex", "dob"]], council.episodes[["child_id"]]]
    for table in (council.cin, council.early_help):
        if table is not None:
            frames.append(table[["child_id", "dob"]])
    everyone = pd.concat(frames, ignore_index=True)
    children = everyone.groupby("child_id", sort=True).agg(
        dob=("dob", "first"), sex=("sex", "first")
    )
    children = children.reset_index()[["child_id", "dob", "sex"]]
    children["dob"] = children["dob"].astype("datetime64[ns]")
    flags = header.set_index("child_id") if "uasc" in header.columns else None
    if flags is not None and len(flags):
        flagged = set(flags.index[flags["uasc"].astype(bool).to_numpy()])
        children["uasc"] = children["child_id"].isin(flagged).astype(bool)
        ceased = flags["uasc_ceased"].astype("datetime64[ns]")
        on = ceased.reindex(pd.Index(children["child_id"], dtype=object)).to_numpy()
        children["uasc_ceased"] = pd.Series(on, index=children.index, dtype="datetime64[ns]")
    else:
        children["uasc"] = False
        children["uasc_ceased"] = pd.Series(pd.NaT, index=children.index, dtype="datetime64[ns]")
    return children


def _step_downs(eh: _Raw, social: _Raw, gap: int) -> np.ndarray:
    """For each early-help interval: was the child in social care within ``gap`` days before?"""
    if len(eh) == 0 or len(social) == 0:
        return np.zeros(len(eh), dtype=bool)
    left = pd.DataFrame({"cid": eh.cid, "day": eh.start, "row": np.arange(len(eh))})
    right = pd.DataFrame({"cid": social.cid, "s": social.start, "e": social.end})
    pairs = left.merge(right, on="cid", how="inner")
    near = pairs.loc[(pairs["s"] <= pairs["day"]) & (pairs["e"] >= pairs["day"] - gap), "row"]
    out = np.zeros(len(eh), dtype=bool)
    out[near.to_numpy()] = True
    return out


def _arrivals(
    ids: pd.Index,
    dob_days: np.ndarray,
    parts: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]],
    window: tuple[int, int],
) -> pd.DataFrame:
    """Arrivals inside the window from (kind, cid, day, rereferral) arrays."""
    kinds = np.concatenate([np.full(len(c), k, dtype=object) for k, c, _, _ in parts])
    cid = np.concatenate([c for _, c, _, _ in parts]).astype(np.int64)
    day = np.concatenate([d for _, _, d, _ in parts]).astype(np.int64)
    again = np.concatenate([r for _, _, _, r in parts]).astype(bool)
    inside = (day >= window[0]) & (day <= window[1])
    kinds, cid, day, again = kinds[inside], cid[inside], day[inside], again[inside]
    out = pd.DataFrame(
        {
            "child_id": pd.Series(ids.to_numpy()[cid], dtype="str"),
            "date": _timestamps(day),
            "kind": pd.Series(kinds, dtype="str"),
            "rereferral": again,
            "age": (day - dob_days[cid]) / vocab.DAYS_PER_YEAR,
        }
    )
    return out.sort_values(["date", "kind", "child_id"], kind="stable").reset_index(drop=True)


def build_history(council: CouncilData, config: DataConfig) -> EventHistory:
    """Build the event history (spells and arrivals) from a council's records.

    Args:
        council: validated tables from ``load_council``.
        config: the data configuration (link gap, re-referral window, care leaver rules,
            exit reason mapping file).

    Returns:
        The ``EventHistory`` described in ``docs/event_history.md``.

    Raises:
        ValueError: when a REC code has no exit reason in the mapping file, or the mapping
            file is malformed.
    """
    window_start = pd.Timestamp(council.window_start).normalize()
    window_end = pd.Timestamp(council.window_end).normalize()
    first_day = int(_days(pd.Series([window_start]))[0])
    last_day = int(_days(pd.Series([window_end]))[0])
    gap = int(config.link_gap_days)

    children = _children(council)
    ids = pd.Index(children["child_id"])
    dob = children["dob"]
    dob_days = _float_days(dob)
    exit_file = config.resolve(config.exit_reasons_file)

    care = _care(council.episodes, ids, dob, _load_exit_reasons(exit_file), exit_file)
    others: list[_Raw] = [_care_leavers(care, dob, config.care_leaver)]
    arrival_parts = [
        (
            "care_entry",
            care.period_cid,
            care.period_start,
            np.zeros(len(care.period_cid), dtype=bool),
        )
    ]
    if council.cin is not None:
        cin = _cin(council.cin, ids)
        others.extend(cin.intervals)
        same_child = np.r_[False, cin.referral_cid[1:] == cin.referral_cid[:-1]]
        since = np.r_[0, np.diff(cin.referral_day)]
        again = same_child & (since <= int(config.rereferral_days))
        arrival_parts.append(("referral", cin.referral_cid, cin.referral_day, again))
    if council.early_help is not None:
        eh = _early_help(council.early_help, ids)
        others.append(eh)
        social = _concat([care.spells, *others])
        social_mask = np.isin(social.level, _SOCIAL_CARE_LEVELS)
        social = _Raw(
            social.cid[social_mask],
            social.level[social_mask],
            social.start[social_mask],
            social.end[social_mask],
        )
        fresh = ~_step_downs(eh, social, gap)
        arrival_parts.append(
            (
                "early_help_request",
                eh.cid[fresh],
                eh.start[fresh],
                np.zeros(int(fresh.sum()), dtype=bool),
            )
        )

    merged = _union_same_state(_concat(others))
    leaver = merged.level == _PRIORITY[vocab.CARE_LEAVER]
    merged.exit_reason = np.where(leaver, "aged_out", None).astype(object)
    raw = _concat([care.spells, merged])
    row, start, end = _overlay(raw)

    spells = _assemble(raw, row, start, end, (first_day, last_day), gap)
    spells = _finish(spells, ids, children, window_start)
    arrivals = _arrivals(ids, dob_days, arrival_parts, (first_day, last_day))
    return EventHistory(
        spells=spells,
        arrivals=arrivals,
        children=children,
        window_start=window_start,
        window_end=window_end,
        mode=council.mode,
        fingerprint=council.fingerprint,
        uasc_supplied=council.uasc_supplied,
    )


def _assemble(
    raw: _Raw,
    row: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    window: tuple[int, int],
    gap: int,
) -> dict[str, np.ndarray]:
    """Attach attributes to the overlay's pieces, censor at the window end and link."""
    # Censor at the window end; drop what starts after it.
    keep = start <= window[1]
    row, start, end = row[keep], start[keep], end[keep].copy()
    end[end > window[1]] = _OPEN
    order = np.lexsort((start, raw.cid[row]))
    row, start, end = row[order], start[order], end[order]

    cid = raw.cid[row]
    level = raw.level[row]
    state = np.array(_LEVELS, dtype=object)[level]
    group = raw.group[row]
    is_open = end == _OPEN
    whole_end = end == raw.end[row]
    exit_reason = np.where(whole_end & ~is_open, raw.exit_reason[row], None).astype(object)
    entry_route = np.where(start == raw.start[row], raw.entry_route[row], None).astype(object)

    # Link each spell to the child's next one when it starts within the gap.
    same_next = np.r_[cid[1:] == cid[:-1], False]
    next_start = np.r_[start[1:], _OPEN]
    linked = same_next & ~is_open & (next_start - end <= gap)
    next_state_all = np.r_[state[1:], None]
    next_group_all = np.r_[group[1:], None]
    next_state = np.where(linked, next_state_all, vocab.NONE).astype(object)
    next_state[is_open] = None
    next_group = np.where(linked & (next_state_all == vocab.CARE), next_group_all, None)
    prev_linked = np.r_[False, linked[:-1]]
    prev_state = np.where(prev_linked, np.r_[None, state[:-1]], vocab.NONE).astype(object)

    outside_care = ~np.isin(level, (_CARE_LEVEL, _PRIORITY[vocab.CARE_LEAVER]))
    exit_reason[outside_care & (next_state == vocab.NONE)] = vocab.CLOSED
    # A care leaver spell cut short by another service has no exit reason.
    exit_reason[(level == _PRIORITY[vocab.CARE_LEAVER]) & (next_state != vocab.NONE)] = None

    # Keep spells that overlap the window.
    overlaps = end > window[0]
    return {
        "cid": cid[overlaps],
        "state": state[overlaps],
        "placement_group": group[overlaps],
        "start": start[overlaps],
        "end": end[overlaps],
        "prev_state": prev_state[overlaps],
        "next_state": next_state[overlaps],
        "next_group": next_group[overlaps],
        "exit_reason": exit_reason[overlaps],
        "care_period": raw.period[row][overlaps],
        "legal_status": raw.legal_status[row][overlaps],
        "entry_route": entry_route[overlaps],
    }


def _finish(
    parts: dict[str, np.ndarray],
    ids: pd.Index,
    children: pd.DataFrame,
    window_start: pd.Timestamp,
) -> pd.DataFrame:
    """Typed spells table in ``SPELL_COLUMNS`` order."""
    cid = parts["cid"]
    dob = children["dob"].to_numpy(dtype="datetime64[ns]")[cid]
    start = _timestamps(parts["start"])
    period = parts["care_period"]
    spells = pd.DataFrame(
        {
            "child_id": ids.to_numpy()[cid],
            "state": parts["state"],
            "placement_group": parts["placement_group"],
            "start": start,
            "end": _timestamps(parts["end"]),
            "prev_state": parts["prev_state"],
            "next_state": parts["next_state"],
            "next_group": parts["next_group"],
            "exit_reason": parts["exit_reason"],
            "dob": dob,
            "age_at_start": (start - dob) / np.timedelta64(1, "D") / vocab.DAYS_PER_YEAR,
            "entered_before_window": start < window_start.to_datetime64(),
            "care_period": pd.array(np.where(period > 0, period, 0), dtype="Int64"),
            "legal_status": parts["legal_status"],
            "entry_route": parts["entry_route"],
        }
    )
    spells.loc[period <= 0, "care_period"] = pd.NA
    for name in _STRING_SPELL_COLUMNS:
        spells[name] = spells[name].astype("str")
    return spells.reset_index(drop=True)
