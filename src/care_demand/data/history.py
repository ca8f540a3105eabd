"""The event history every later stage reads: spells and arrivals, and the queries on them.

:class:`EventHistory` holds every child's journey through services as tidy tables
(``SPELL_COLUMNS``, ``ARRIVAL_COLUMNS``; see ``docs/event_history.md``) and answers stocks,
flows and arrivals from outside. :func:`build_history` (in :mod:`care_demand.data.history_build`)
makes it from a council's records and is re-exported here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.data.uasc import uasc_on

if TYPE_CHECKING:
    from care_demand.data.history_build import build_history

__all__ = [
    "ARRIVAL_COLUMNS",
    "PRE_PROCEEDINGS_EVENTS",
    "PRE_PROCEEDINGS_SPELL_COLUMNS",
    "SPELL_COLUMNS",
    "EventHistory",
    "build_history",
    "censor_pre_proceedings",
    "empty_pre_proceedings",
]

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
# Pre-proceedings spells with their family group decision-making meeting (CIN census 2025/26
# block; see docs/event_history.md).
PRE_PROCEEDINGS_SPELL_COLUMNS = (
    "child_id",
    "referral_date",
    "start",
    "end",
    "letter_date",
    "fgdm_offered",
    "fgdm_held",
    "fgdm_date",
    "outcome",
    "court_application_date",
    "proceedings_issued",
    "age_at_start",
)
# The dated events of pre-proceedings, as :meth:`EventHistory.pre_proceedings_events` names them.
PRE_PROCEEDINGS_EVENTS = (
    "pre_proceedings_started",
    "letter_before_proceedings",
    "fgdm_held",
    "court_application",
)
_PP_DATES = ("end", "letter_date", "fgdm_date", "court_application_date")


def empty_pre_proceedings() -> pd.DataFrame:
    """The pre-proceedings table with no rows (a history without the census block)."""
    dates = ("referral_date", "start", *_PP_DATES)
    columns: dict[str, pd.Series] = {}
    for name in PRE_PROCEEDINGS_SPELL_COLUMNS:
        if name in dates:
            columns[name] = pd.Series(dtype="datetime64[ns]")
        elif name in ("fgdm_offered", "fgdm_held", "proceedings_issued"):
            columns[name] = pd.Series(dtype=bool)
        elif name == "age_at_start":
            columns[name] = pd.Series(dtype=float)
        else:
            columns[name] = pd.Series(dtype="string")
    return pd.DataFrame(columns)


def censor_pre_proceedings(table: pd.DataFrame, cut: pd.Timestamp) -> pd.DataFrame:
    """Pre-proceedings as known on ``cut``: those starting later are dropped; later dates
    become NaT (a meeting after the cut is not yet held, a later court application not yet
    made, so ``proceedings_issued`` is false and the outcome unknown)."""
    out = table.loc[table["start"] <= cut].copy()
    open_on_cut = out["end"].isna() | (out["end"] > cut)
    out.loc[open_on_cut, "outcome"] = pd.NA
    out.loc[out["fgdm_date"] > cut, "fgdm_held"] = False
    for name in _PP_DATES:
        out.loc[out[name] > cut, name] = pd.NaT
    out["proceedings_issued"] = out["court_application_date"].notna()
    return out.reset_index(drop=True)


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
        pre_proceedings: one row per pre-proceedings spell from the CIN census's
            pre-proceedings and family group decision-making block
            (``PRE_PROCEEDINGS_SPELL_COLUMNS``; see ``docs/event_history.md``); no rows when
            the census does not carry it. These spells run beside the state spells (a child
            in pre-proceedings is still in its state).
    """

    spells: pd.DataFrame
    arrivals: pd.DataFrame
    children: pd.DataFrame
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    mode: str
    fingerprint: str
    uasc_supplied: bool = False
    pre_proceedings: pd.DataFrame = field(default_factory=empty_pre_proceedings)

    @property
    def recorded_states(self) -> tuple[str, ...]:
        """The states the council's files record, in the continuum's order: care and care
        leavers always, early help, assessment, CIN and CP where their files hold spells of
        them (the SSDA903 return alone records none)."""
        present = set(self.spells["state"])
        always = (vocab.CARE, vocab.CARE_LEAVER)
        return tuple(s for s in vocab.STATES if s in present or s in always)

    @property
    def recorded_kinds(self) -> frozenset[str]:
        """The kinds of arrival the council's files record (entries to care alone for the
        SSDA903 return)."""
        return frozenset(self.arrivals["kind"])

    @property
    def has_pre_proceedings(self) -> bool:
        """Whether the history holds any pre-proceedings (the CIN census 2025/26 block)."""
        return not self.pre_proceedings.empty

    def pre_proceedings_events(self) -> pd.DataFrame:
        """The dated events of pre-proceedings: ``child_id``, ``date``, ``event``
        (``PRE_PROCEEDINGS_EVENTS``), sorted by date.

        A meeting held with no date recorded is dated at the start of its pre-proceedings.
        """
        table = self.pre_proceedings
        held = table.loc[table["fgdm_held"]]
        parts = [
            (table["child_id"], table["start"], "pre_proceedings_started"),
            (table["child_id"], table["letter_date"], "letter_before_proceedings"),
            (held["child_id"], held["fgdm_date"].fillna(held["start"]), "fgdm_held"),
            (table["child_id"], table["court_application_date"], "court_application"),
        ]
        events = pd.concat(
            [
                pd.DataFrame({"child_id": ids, "date": dates, "event": name})
                for ids, dates, name in parts
            ],
            ignore_index=True,
        )
        events = events.loc[events["date"].notna()].astype({"child_id": "string"})
        return events.sort_values(["date", "event", "child_id"], kind="stable").reset_index(
            drop=True
        )

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
        dropped; pre-proceedings are cut the same way (:func:`censor_pre_proceedings`);
        ``window_end`` becomes ``end``. The fingerprint records the cut.
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
            pre_proceedings=censor_pre_proceedings(self.pre_proceedings, cut),
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


def __getattr__(name: str) -> Any:
    # build_history lives with the building steps, which import EventHistory from here.
    if name == "build_history":
        from care_demand.data.history_build import build_history

        return build_history
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
