"""Turn a council's records into the tidy event history every later stage reads.

The rules are documented in ``docs/event_history.md``. In outline: SSDA903 episodes become
placement spells grouped into periods of care, CIN census referrals become assessment, CIN
and CP intervals, early-help episodes become early-help intervals, and care leavers are
derived from qualifying care exits (:mod:`care_demand.data.history_sources`). Per child, the
intervals of all sources are overlaid so that spells never overlap: at any moment the
highest-priority state wins (``vocab.STATE_PRIORITY``, then ``care_leaver`` last). Spells are
then linked to the next spell (a step up, a step down, a placement move or an exit) and cut
to the observation window.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.data.council import CouncilData
from care_demand.data.history import (
    PRE_PROCEEDINGS_SPELL_COLUMNS,
    EventHistory,
    censor_pre_proceedings,
    empty_pre_proceedings,
)
from care_demand.data.history_sources import (
    CARE_LEVEL,
    LEVELS,
    OPEN,
    PRIORITY,
    Raw,
    care_leavers,
    care_spells,
    cin_intervals,
    early_help_intervals,
    load_exit_reasons,
    to_days,
    to_float_days,
    to_timestamps,
)
from care_demand.data.settings import DataConfig

__all__ = ["build_history"]

_BASE = -100_000  # earliest day number handled (year 1696)
_WIDTH = 1 << 21  # > OPEN - _BASE: packs (child, day) into one int64 key
_SOCIAL_CARE_LEVELS = tuple(
    PRIORITY[s] for s in (vocab.CARE, vocab.CP, vocab.CIN, vocab.ASSESSMENT)
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
# Overlay
# --------------------------------------------------------------------------------------


def _concat(parts: list[Raw]) -> Raw:
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

    return Raw(
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


def _union_same_state(raw: Raw) -> Raw:
    """Merge overlapping or touching intervals of one child in one state (not care)."""
    if len(raw) == 0:
        return raw
    order = np.lexsort((raw.start, raw.level, raw.cid))
    cid, level, start, end = raw.cid[order], raw.level[order], raw.start[order], raw.end[order]
    new_group = np.r_[True, (cid[1:] != cid[:-1]) | (level[1:] != level[:-1])]
    reach = pd.Series(end).groupby(np.cumsum(new_group)).cummax().to_numpy()
    new_block = new_group | np.r_[True, start[1:] > reach[:-1]]
    first = np.flatnonzero(new_block)
    return Raw(cid[first], level[first], start[first], np.maximum.reduceat(end, first))


def _overlay(raw: Raw) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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


def _step_downs(eh: Raw, social: Raw, gap: int) -> np.ndarray:
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
            "date": to_timestamps(day),
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
    first_day = int(to_days(pd.Series([window_start]))[0])
    last_day = int(to_days(pd.Series([window_end]))[0])
    gap = int(config.link_gap_days)

    children = _children(council)
    ids = pd.Index(children["child_id"])
    dob = children["dob"]
    dob_days = to_float_days(dob)
    exit_file = config.resolve(config.exit_reasons_file)

    care = care_spells(council.episodes, ids, dob, load_exit_reasons(exit_file), exit_file)
    others: list[Raw] = [care_leavers(care, dob, config.care_leaver)]
    arrival_parts = [
        (
            "care_entry",
            care.period_cid,
            care.period_start,
            np.zeros(len(care.period_cid), dtype=bool),
        )
    ]
    if council.cin is not None:
        cin = cin_intervals(council.cin, ids)
        others.extend(cin.intervals)
        same_child = np.r_[False, cin.referral_cid[1:] == cin.referral_cid[:-1]]
        since = np.r_[0, np.diff(cin.referral_day)]
        again = same_child & (since <= int(config.rereferral_days))
        arrival_parts.append(("referral", cin.referral_cid, cin.referral_day, again))
    if council.early_help is not None:
        eh = early_help_intervals(council.early_help, ids)
        others.append(eh)
        social = _concat([care.spells, *others])
        social_mask = np.isin(social.level, _SOCIAL_CARE_LEVELS)
        social = Raw(
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
    leaver = merged.level == PRIORITY[vocab.CARE_LEAVER]
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
        pre_proceedings=_pre_proceedings(council, children, window_start, window_end),
    )


def _pre_proceedings(
    council: CouncilData,
    children: pd.DataFrame,
    window_start: pd.Timestamp,
    window_end: pd.Timestamp,
) -> pd.DataFrame:
    """The census's pre-proceedings as spells in the window (``PRE_PROCEEDINGS_SPELL_COLUMNS``):
    those ending before the window are left out, later dates are censored at its end."""
    table = council.pre_proceedings
    if table is None or table.empty:
        return empty_pre_proceedings()
    dob = table["child_id"].map(children.set_index("child_id")["dob"])
    ages = (table["start"] - dob.astype("datetime64[ns]")).dt.days / vocab.DAYS_PER_YEAR
    spells = table.assign(proceedings_issued=False, age_at_start=ages.astype(float))
    spells = spells.loc[spells["end"].isna() | (spells["end"] >= window_start)]
    spells = censor_pre_proceedings(spells, window_end)
    return spells.loc[:, list(PRE_PROCEEDINGS_SPELL_COLUMNS)].reset_index(drop=True)


def _assemble(
    raw: Raw,
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
    end[end > window[1]] = OPEN
    order = np.lexsort((start, raw.cid[row]))
    row, start, end = row[order], start[order], end[order]

    cid = raw.cid[row]
    level = raw.level[row]
    state = np.array(LEVELS, dtype=object)[level]
    group = raw.group[row]
    is_open = end == OPEN
    whole_end = end == raw.end[row]
    exit_reason = np.where(whole_end & ~is_open, raw.exit_reason[row], None).astype(object)
    entry_route = np.where(start == raw.start[row], raw.entry_route[row], None).astype(object)

    # Link each spell to the child's next one when it starts within the gap.
    same_next = np.r_[cid[1:] == cid[:-1], False]
    next_start = np.r_[start[1:], OPEN]
    linked = same_next & ~is_open & (next_start - end <= gap)
    next_state_all = np.r_[state[1:], None]
    next_group_all = np.r_[group[1:], None]
    next_state = np.where(linked, next_state_all, vocab.NONE).astype(object)
    next_state[is_open] = None
    next_group = np.where(linked & (next_state_all == vocab.CARE), next_group_all, None)
    prev_linked = np.r_[False, linked[:-1]]
    prev_state = np.where(prev_linked, np.r_[None, state[:-1]], vocab.NONE).astype(object)

    outside_care = ~np.isin(level, (CARE_LEVEL, PRIORITY[vocab.CARE_LEAVER]))
    exit_reason[outside_care & (next_state == vocab.NONE)] = vocab.CLOSED
    # A care leaver spell cut short by another service has no exit reason.
    exit_reason[(level == PRIORITY[vocab.CARE_LEAVER]) & (next_state != vocab.NONE)] = None

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
    start = to_timestamps(parts["start"])
    period = parts["care_period"]
    spells = pd.DataFrame(
        {
            "child_id": ids.to_numpy()[cid],
            "state": parts["state"],
            "placement_group": parts["placement_group"],
            "start": start,
            "end": to_timestamps(parts["end"]),
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
