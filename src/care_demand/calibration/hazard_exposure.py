"""Exposure and events for the transition hazards, from the spells of an event history.

Every spell is cut into pieces by age band and by duration band (months since the spell
started) and only the part inside ``[window_start, window_end]`` counts: time before the
window is not observed (left truncation), an open spell is right-censored at the window's
end, and a spell's end is an event in the cell where its last piece lies. Time from the 18th
birthday on is not exposure (hazards cover ages 0-17), and a spell that ends on (within a
day of) the 18th birthday is censored there, not an event. The result is a tidy table of
``(state, group, destination, age_band, duration_band, exposure_months, events)``.

Destinations (competing risks; an exit the model does not know is treated as censoring for
every modelled destination, which keeps each cause-specific hazard unbiased):

- ``early_help`` -> assessment, closed
- ``assessment`` -> cin, cp, early_help, care, closed
- ``cin`` -> cp, early_help, care, closed
- ``cp`` -> cin, early_help, care, closed
- ``care`` (one stratum per placement group) -> move, return_home, sgo_cao, adoption,
  care_exit_other; leaving at 18 (``age_18``) is deterministic and so censored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.errors import CareDemandError

__all__ = [
    "ALL_STRATA",
    "FULL_INDEX",
    "HAZARD_AGE_BANDS",
    "MOVE",
    "TRANSITIONS",
    "HazardIndex",
    "SpellDataError",
    "classify_exits",
    "compute_exposure",
    "placement_counts",
    "record_counts",
    "year_weights",
]

MOVE: Final = vocab.MOVE
CENSORED: Final = "censored"

TRANSITIONS: Final = vocab.TRANSITIONS
NON_CARE_STATES: Final = (vocab.EARLY_HELP, vocab.ASSESSMENT, vocab.CIN, vocab.CP)
# Hazards cover childhood: the age bands below 18.
HAZARD_AGE_BANDS: Final[tuple[tuple[str, float, float], ...]] = tuple(
    band for band in vocab.AGE_BANDS if band[2] <= 18.0
)
_AGE_NAMES = tuple(name for name, _, _ in HAZARD_AGE_BANDS)
_AGE_LOW = np.array([low for _, low, _ in HAZARD_AGE_BANDS])
_DUR_LOW = np.array([low for _, low, _ in vocab.DURATION_BANDS])
_MAX_AGE = HAZARD_AGE_BANDS[-1][2]
_REQUIRED = (
    "child_id",
    "state",
    "placement_group",
    "start",
    "end",
    "next_state",
    "next_group",
    "exit_reason",
    "dob",
)
_DAY = pd.Timedelta(days=1)
_EPOCH = pd.Timestamp("1970-01-01")


class SpellDataError(CareDemandError, ValueError):
    """A spells table that breaks a rule the hazard model relies on."""


@dataclass(frozen=True)
class HazardIndex:
    """Labels of the axes of a rate array ``(..., pair, age_band, duration_band)``.

    A *stratum* is ``(state, group)``: ``group`` is the placement group for care and ``None``
    otherwise. A *pair* is a stratum with one destination.
    """

    pairs: tuple[tuple[str, str | None, str], ...]
    age_bands: tuple[str, ...] = _AGE_NAMES
    duration_bands: tuple[str, ...] = vocab.DURATION_BAND_NAMES

    @classmethod
    def for_strata(cls, strata: list[tuple[str, str | None]]) -> HazardIndex:
        """Index of every destination of the given strata, in transition order."""
        return cls(tuple((s, g, d) for s, g in strata for d in TRANSITIONS[s]))

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(pairs, age bands, duration bands)``."""
        return len(self.pairs), len(self.age_bands), len(self.duration_bands)

    @property
    def strata(self) -> tuple[tuple[str, str | None], ...]:
        """The strata in index order, each once."""
        return tuple(dict.fromkeys((s, g) for s, g, _ in self.pairs))

    def position(self, state: str, group: str | None, destination: str) -> int:
        """Position of a pair on the pair axis; ``KeyError`` when it is not modelled."""
        try:
            return self.pairs.index((state, group, destination))
        except ValueError:
            raise KeyError(f"no hazard for {state}/{group} -> {destination}") from None

    def destinations(self, state: str, group: str | None = None) -> tuple[str, ...]:
        """Destinations modelled for a stratum, in pair order."""
        found = tuple(d for s, g, d in self.pairs if s == state and g == group)
        if not found:
            raise KeyError(f"no hazards for stratum {state}/{group}")
        return found

    def pair_labels(self) -> list[str]:
        """One string per pair, ``state|group|destination`` (group empty outside care)."""
        return [f"{s}|{g or ''}|{d}" for s, g, d in self.pairs]

    def cells(self) -> pd.DataFrame:
        """One row per cell in C order: state, group, destination, age_band, duration_band."""
        n_pair, n_age, n_dur = self.shape
        pair_pos = np.repeat(np.arange(n_pair), n_age * n_dur)
        pairs = pd.DataFrame(self.pairs, columns=["state", "group", "destination"])
        out = pairs.iloc[pair_pos].reset_index(drop=True)
        out["group"] = pd.Series(out["group"].to_numpy(dtype=object), dtype="str")
        out["age_band"] = np.tile(np.repeat(self.age_bands, n_dur), n_pair)
        out["duration_band"] = np.tile(self.duration_bands, n_pair * n_age)
        return out


ALL_STRATA: Final[list[tuple[str, str | None]]] = [(s, None) for s in NON_CARE_STATES] + [
    (vocab.CARE, g) for g in vocab.PLACEMENT_GROUPS
]
FULL_INDEX: Final = HazardIndex.for_strata(ALL_STRATA)


def _text(spells: pd.DataFrame, column: str) -> np.ndarray:
    return spells[column].astype("string").fillna("").to_numpy(dtype=object)


def _days(values: pd.Series | pd.Timestamp) -> np.ndarray | float:
    if isinstance(values, pd.Series):
        return ((pd.to_datetime(values) - _EPOCH) / _DAY).to_numpy(dtype=float, na_value=np.nan)
    return float((pd.Timestamp(values) - _EPOCH) / _DAY)


def _fail(spells: pd.DataFrame, mask: np.ndarray, column: str, rule: str) -> None:
    if mask.any():
        pos = int(np.flatnonzero(mask)[0])
        label = spells.index[pos]
        value = spells[column].iloc[pos]
        raise SpellDataError(
            f"spells row {label!r} (child {spells['child_id'].iloc[pos]}), column '{column}', "
            f"value {value!r}: {rule} ({int(mask.sum())} row(s) break this rule)"
        )


def _validate(spells: pd.DataFrame) -> None:
    missing = [c for c in _REQUIRED if c not in spells.columns]
    if missing:
        raise SpellDataError(f"spells table lacks column(s) {missing}; see docs/event_history.md")
    state = _text(spells, "state")
    _fail(spells, ~np.isin(state, vocab.STATES), "state", f"state must be one of {vocab.STATES}")
    care = state == vocab.CARE
    group = _text(spells, "placement_group")
    _fail(
        spells,
        care & ~np.isin(group, vocab.PLACEMENT_GROUPS),
        "placement_group",
        "a care spell needs a placement group from vocab.PLACEMENT_GROUPS",
    )
    _fail(spells, spells["start"].isna().to_numpy(), "start", "start date is missing")
    _fail(spells, spells["dob"].isna().to_numpy(), "dob", "date of birth is missing")
    ends = spells["end"].notna().to_numpy()
    _fail(
        spells,
        ends & (spells["end"] < spells["start"]).fillna(False).to_numpy(),
        "end",
        "a spell cannot end before it starts",
    )


def classify_exits(spells: pd.DataFrame) -> pd.Series:
    """Destination of each spell's end for the hazard model.

    Returns a string Series aligned with ``spells``: a destination from ``TRANSITIONS``,
    ``"censored"`` (open, care exit at 18, care leaver spells), or ``"other:<state>"`` for a
    care spell's end the model does not cover (censored for every modelled destination).
    Outside care, a move the model does not follow counts as ``closed``.
    """
    state = _text(spells, "state")
    nxt = _text(spells, "next_state")
    reason = _text(spells, "exit_reason")
    out = np.full(len(spells), CENSORED, dtype=object)
    open_ = spells["end"].isna().to_numpy()

    care = (state == vocab.CARE) & ~open_
    care_exit = care & np.isin(reason, TRANSITIONS[vocab.CARE])
    out[care_exit] = reason[care_exit]
    move = care & ~care_exit & (reason != vocab.AGE_18) & (nxt == vocab.CARE)
    out[move] = MOVE
    care_other = care & ~care_exit & ~move & (reason != vocab.AGE_18)
    out[care_other] = "other:" + nxt[care_other]

    for s in NON_CARE_STATES:
        rows = (state == s) & ~open_
        closed = rows & ((nxt == vocab.NONE) | (reason == vocab.CLOSED))
        known = rows & ~closed & np.isin(nxt, TRANSITIONS[s])
        out[known] = nxt[known]
        # A move the model does not follow from this state (a new referral while on a CP
        # plan, say) is a closure here; the next spell is an arrival from outside
        # (EventHistory.arrivals_from_outside), so no child is lost or counted twice.
        out[rows & ~known] = vocab.CLOSED
    return pd.Series(out, index=spells.index, dtype="string", name="destination")


@dataclass(frozen=True)
class _Observed:
    """Per-spell observation of the modelled spells (internal)."""

    rows: np.ndarray  # positions in the spells table
    stratum: np.ndarray  # position in ALL_STRATA
    dest: np.ndarray  # slot in the stratum's destinations, -1 = censored
    start: np.ndarray  # days since epoch
    age0: np.ndarray  # age in years at start
    d0: np.ndarray  # first observed month of duration
    d1: np.ndarray  # last observed month of duration
    event: np.ndarray  # bool: the spell's end is an observed event


def _years(later: np.ndarray, dob: np.ndarray) -> np.ndarray:
    """Age in years at ``later`` (datetime arrays); dates before birth count as 0."""
    return np.clip(((later - dob) / _DAY).astype(float) / vocab.DAYS_PER_YEAR, 0.0, None)


def _age_band(age: np.ndarray) -> np.ndarray:
    """Index of the hazard age band of each age in years (under 18)."""
    return np.searchsorted(_AGE_LOW, age, side="right") - 1


@dataclass(frozen=True)
class _Classified:
    """What the modelled spells are, whatever the window (internal): validated once per
    spells table, then observed through any number of windows."""

    rows: np.ndarray  # positions in the spells table
    stratum: np.ndarray  # position in ALL_STRATA
    dest: np.ndarray  # slot in the stratum's destinations, -1 = censored
    start: np.ndarray  # days since epoch
    end: np.ndarray  # days since epoch (NaN: open)
    dob: np.ndarray  # days since epoch


def _classify(spells: pd.DataFrame) -> _Classified:
    _validate(spells)
    state = _text(spells, "state")
    group = _text(spells, "placement_group")
    key = np.where(state == vocab.CARE, vocab.CARE + "|" + group, state + "|")
    stratum_code = {f"{s}|{g or ''}": i for i, (s, g) in enumerate(ALL_STRATA)}
    stratum = pd.Series(key).map(stratum_code).to_numpy()
    modelled = ~pd.isna(stratum)
    rows = np.flatnonzero(modelled)
    stratum = stratum[modelled].astype(np.int64)

    destination = classify_exits(spells).to_numpy(dtype=object)[rows]
    # The index of each spell's destination among its stratum's transitions (-1: none).
    named, names = pd.factorize(destination)  # -1 where there is no destination
    column = {name: k for k, name in enumerate(names)}
    lookup = np.full((len(ALL_STRATA), len(names) + 1), -1, dtype=np.int64)
    for i, (s, _) in enumerate(ALL_STRATA):
        for j, d in enumerate(TRANSITIONS[s]):
            if d in column:
                lookup[i, column[d]] = j
    dest = lookup[stratum, named]

    sub = spells.iloc[rows]
    return _Classified(
        rows=rows,
        stratum=stratum,
        dest=dest,
        start=_days(sub["start"]),
        end=_days(sub["end"]),
        dob=_days(sub["dob"]),
    )


def _observe(
    classified: _Classified, window_start: pd.Timestamp, window_end: pd.Timestamp
) -> _Observed:
    """The classified spells seen through ``[window_start, window_end]``."""
    rows, stratum, dest = classified.rows, classified.stratum, classified.dest
    start, end, dob = classified.start, classified.end, classified.dob
    ws, we = _days(window_start), _days(window_end)
    adult = dob + _MAX_AGE * vocab.DAYS_PER_YEAR
    stop = np.fmin(np.where(np.isnan(end), we, end), we)
    t0 = np.maximum(start, ws)
    t1 = np.minimum(stop, adult)
    # An end within a day of the 18th birthday is the deterministic end of childhood
    # services (the calendar birthday is 6574 or 6575 days after birth), not an event.
    event = (dest >= 0) & ~np.isnan(end) & (end <= we) & (end < adult - 1.0) & (t1 > t0)
    keep = t1 > t0
    return _Observed(
        rows=rows[keep],
        stratum=stratum[keep],
        dest=dest[keep],
        start=start[keep],
        age0=((start - dob) / vocab.DAYS_PER_YEAR)[keep],
        d0=((t0 - start) / vocab.DAYS_PER_MONTH)[keep],
        d1=((t1 - start) / vocab.DAYS_PER_MONTH)[keep],
        event=event[keep],
    )


def _pieces(obs: _Observed) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut each observed interval at band edges: lengths, age band, duration band, last."""
    d0, d1 = obs.d0[:, None], obs.d1[:, None]
    age_edges = (_AGE_LOW[1:][None, :] - obs.age0[:, None]) * 12.0
    dur_edges = np.broadcast_to(_DUR_LOW[1:], (len(obs.d0), len(_DUR_LOW) - 1))
    cuts = np.clip(np.concatenate([age_edges, dur_edges], axis=1), d0, d1)
    bounds = np.sort(np.concatenate([d0, cuts, d1], axis=1), axis=1)
    length = np.diff(bounds, axis=1)
    mid = 0.5 * (bounds[:, 1:] + bounds[:, :-1])
    age = np.clip(obs.age0[:, None] + mid / 12.0, 0.0, None)  # before birth counts as under 1
    age_band = _age_band(age)
    dur_band = np.searchsorted(_DUR_LOW, mid, side="right") - 1
    positive = length > 0
    last = positive.shape[1] - 1 - np.argmax(positive[:, ::-1], axis=1)
    return length, age_band, dur_band, last


def compute_exposure(
    spells: pd.DataFrame, window_start: pd.Timestamp, window_end: pd.Timestamp
) -> pd.DataFrame:
    """Tidy exposure and events for every cell of every modelled pair.

    Returns one row per (state, group, destination, age_band, duration_band) in
    :data:`FULL_INDEX` order, with ``exposure_months`` (float) and ``events`` (int).
    ``SpellDataError`` names the first bad row.
    """
    return _exposure(_classify(spells), window_start, window_end)


def _exposure(
    classified: _Classified, window_start: pd.Timestamp, window_end: pd.Timestamp
) -> pd.DataFrame:
    obs = _observe(classified, pd.Timestamp(window_start), pd.Timestamp(window_end))
    length, age_band, dur_band, last = _pieces(obs)
    n_age, n_dur = len(_AGE_NAMES), len(_DUR_LOW)
    n_strata = len(ALL_STRATA)
    cell = (obs.stratum[:, None] * n_age + age_band) * n_dur + dur_band
    exposure = np.bincount(
        cell.ravel(), weights=length.ravel(), minlength=n_strata * n_age * n_dur
    ).reshape(n_strata, n_age, n_dur)

    offsets = np.cumsum([0] + [len(TRANSITIONS[s]) for s, _ in ALL_STRATA])
    ev = obs.event
    rows = np.flatnonzero(ev)
    pair = offsets[obs.stratum[ev]] + obs.dest[ev]
    ev_cell = (pair * n_age + age_band[rows, last[ev]]) * n_dur + dur_band[rows, last[ev]]
    n_pairs = int(offsets[-1])
    events = np.bincount(ev_cell, minlength=n_pairs * n_age * n_dur)

    stratum_of_pair = np.repeat(np.arange(n_strata), np.diff(offsets))
    table = FULL_INDEX.cells()
    table["exposure_months"] = exposure[stratum_of_pair].ravel()
    table["events"] = events.astype(np.int64)
    return table


def placement_counts(
    spells: pd.DataFrame, window_start: pd.Timestamp, window_end: pd.Timestamp
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts for the placement shares.

    Returns ``(entry, move)``: ``entry`` has one row per hazard age band and one column per
    placement group, counting the first spells of periods of care that start inside the
    window (age at the start); ``move`` counts placement moves observed inside the window by
    origin group and hazard age band at the move (rows, a two-level index ``from_group``,
    ``age_band``) and destination group (columns): where a child moves depends on its age
    (supported accommodation only from 16, adoptive placements mostly under 5). Uses the
    ``care_period`` column to find the first spell of a period (a care spell without one is
    an error).
    """
    classified = _classify(spells)
    return _placements(spells, classified, _first_spells(spells), window_start, window_end)


def _first_spells(spells: pd.DataFrame) -> pd.DataFrame:
    """The first spell of each period of care (checked: every care spell has its period)."""
    care = spells.loc[_text(spells, "state") == vocab.CARE]
    if care.empty:
        return care
    if "care_period" not in care.columns:
        raise SpellDataError("spells table lacks column 'care_period' needed for care entries")
    _fail(
        care,
        care["care_period"].isna().to_numpy(),
        "care_period",
        "a care spell needs its period-of-care number",
    )
    first_start = care.groupby(["child_id", "care_period"], sort=False)["start"].transform("min")
    return care.loc[care["start"] == first_start].drop_duplicates(["child_id", "care_period"])


def _placements(
    spells: pd.DataFrame,
    classified: _Classified,
    first: pd.DataFrame,
    window_start: pd.Timestamp,
    window_end: pd.Timestamp,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    ws, we = pd.Timestamp(window_start), pd.Timestamp(window_end)
    groups = list(vocab.PLACEMENT_GROUPS)
    age_index = pd.Index(_AGE_NAMES, name="age_band")
    from_index = pd.MultiIndex.from_product(
        [groups, list(_AGE_NAMES)], names=["from_group", "age_band"]
    )
    entry = np.zeros((len(_AGE_NAMES), len(groups)), dtype=np.int64)
    move = np.zeros((len(groups), len(_AGE_NAMES), len(groups)), dtype=np.int64)

    def tables() -> tuple[pd.DataFrame, pd.DataFrame]:
        return (
            pd.DataFrame(entry, index=age_index, columns=pd.Index(groups, name="group")),
            pd.DataFrame(
                move.reshape(len(groups) * len(_AGE_NAMES), len(groups)),
                index=from_index,
                columns=pd.Index(groups, name="to_group"),
            ),
        )

    if first.empty:
        return tables()
    first = first.loc[(first["start"] >= ws) & (first["start"] <= we)]
    age = _years(first["start"].to_numpy(), first["dob"].to_numpy())
    child = age < _MAX_AGE
    band = _age_band(age[child])
    g = pd.Index(groups).get_indexer(_text(first, "placement_group")[child])
    np.add.at(entry, (band, g), 1)

    obs = _observe(classified, ws, we)
    moved = obs.event & (obs.dest == 0) & (obs.stratum >= len(NON_CARE_STATES))
    from_g = obs.stratum[moved] - len(NON_CARE_STATES)
    to_g = pd.Index(groups).get_indexer(_text(spells, "next_group")[obs.rows[moved]])
    rows = obs.rows[moved]
    # A move is an event, so it happens before the 18th birthday (see _observe).
    band = _age_band(_years(spells["end"].to_numpy()[rows], spells["dob"].to_numpy()[rows]))
    known = to_g >= 0
    np.add.at(move, (from_g[known], band[known], to_g[known]), 1)
    return tables()


def year_weights(
    window_start: pd.Timestamp, window_end: pd.Timestamp, half_life_years: float
) -> list[tuple[pd.Timestamp, pd.Timestamp, float]]:
    """The record cut into years counted back from ``window_end``, each with its weight:
    ``(start, end, 0.5 ** (k / half_life_years))`` for the k-th year before the last (k = 0),
    newest first. The years partition the window: each but the oldest starts just after
    the end of the one before it (one nanosecond, so an entry on the boundary counts once)."""
    ws, we = pd.Timestamp(window_start), pd.Timestamp(window_end)
    out = []
    k = 0
    end = we
    while end > ws:
        before = we - pd.DateOffset(years=k + 1)
        start = ws if before <= ws else before + pd.Timedelta(1, "ns")
        out.append((start, end, float(0.5 ** (k / float(half_life_years)))))
        end, k = before, k + 1
    return out


def record_counts(
    spells: pd.DataFrame,
    window_start: pd.Timestamp,
    window_end: pd.Timestamp,
    half_life_years: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Exposure and events (:func:`compute_exposure`) and placement counts
    (:func:`placement_counts`) of the window, each year weighted by its age
    (:func:`year_weights`) when ``half_life_years`` is set: the earlier years as a power
    prior for the recent ones. Weighted events and counts are not whole numbers.
    Unweighted (None), the counts are those of the whole window, as integers."""
    classified, first = _classify(spells), _first_spells(spells)
    years = (
        [(window_start, window_end, 1.0)]
        if half_life_years is None
        else year_weights(window_start, window_end, half_life_years)
    )
    parts = [
        (
            weight,
            _exposure(classified, start, end),
            *_placements(spells, classified, first, start, end),
        )
        for start, end, weight in years
    ]
    if half_life_years is None:
        _, exposure, entry, move = parts[0]
        return exposure, entry, move
    exposure = parts[0][1].copy()
    for column in ("exposure_months", "events"):
        exposure[column] = sum(w * part[column].astype(float) for w, part, _, _ in parts)
    entry = sum(w * counts for w, _, counts, _ in parts)
    move = sum(w * counts for w, _, _, counts in parts)
    return exposure, entry, move  # type: ignore[return-value]
