"""SSDA903 Header and Episodes files: row checks, merging years, checks across episodes."""

from __future__ import annotations

import pandas as pd

from care_demand.data.checks import (
    check_birth_before,
    check_codes,
    check_dates,
    check_order,
    check_reason_pair,
    check_repeated,
    check_required,
    fmt_date,
    read_source,
    text,
    usable,
)
from care_demand.data.codes import code_lists
from care_demand.data.dates import add_years
from care_demand.data.placements import PlacementMapping
from care_demand.data.problems import WARNING, ValidationReport, flag, raw_col
from care_demand.data.recognise import SourceFile
from care_demand.data.ssda903_xml import read_xml_table
from care_demand.data.uasc import check_header_flag

__all__ = [
    "EPISODE_LABELS",
    "HEADER_LABELS",
    "check_carried_forward",
    "check_episode_history",
    "latest_header",
    "merge_episodes",
    "read_episodes",
    "read_header",
]

HEADER_LABELS = {"child_id": "CHILD", "sex": "SEX", "dob": "DOB", "uasc": "UASC"}
EPISODE_LABELS = {
    "child_id": "CHILD",
    "decom": "DECOM",
    "dec": "DEC",
    "rne": "RNE",
    "ls": "LS",
    "cin": "CIN",
    "place": "PLACE",
    "place_provider": "PLACE_PROVIDER",
    "rec": "REC",
}
YEAR_COL = "_year"


def year_end(year: int) -> pd.Timestamp:
    """31 March of collection year ``year`` (the return for 1 April year-1 to 31 March year)."""
    return pd.Timestamp(year=year, month=3, day=31)


def read_header(source: SourceFile, key: bytes, report: ValidationReport) -> pd.DataFrame | None:
    """Read and check one Header file (CSV, or the HEADER elements of an SSDA903 XML);
    ``None`` when the file cannot be used."""
    table, names = read_xml_table(source, report) if source.suffix == "xml" else (None, None)
    if source.suffix == "xml" and table is None:
        return None
    frame = read_source(
        source, HEADER_LABELS, ["CHILD", "SEX", "DOB"], key, report, frame=table, names=names
    )
    if frame is None:
        return None
    codes = code_lists()
    check_required(report, frame, ["CHILD", "SEX", "DOB"])
    check_dates(report, frame, "DOB", "dob")
    check_codes(report, frame, "SEX", "sex", codes.sex)
    check_header_flag(report, frame)  # the optional UASC column (uasc.py)
    check_repeated(
        report,
        frame,
        ["child_id"],
        "CHILD",
        "duplicate_child",
        "this child already has a Header row on line {line}",
    )
    frame[YEAR_COL] = source.year
    return frame


def read_episodes(
    source: SourceFile, key: bytes, mapping: PlacementMapping, report: ValidationReport
) -> pd.DataFrame | None:
    """Read and check one Episodes file (CSV, or the EPISODE elements of an SSDA903 XML);
    ``None`` when the file cannot be used.

    Adds ``placement_group`` from ``mapping``.
    """
    required = ["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE"]
    table, names = read_xml_table(source, report) if source.suffix == "xml" else (None, None)
    if source.suffix == "xml" and table is None:
        return None
    frame = read_source(
        source,
        EPISODE_LABELS,
        [*required, "PLACE_PROVIDER", "DEC", "REC"],
        key,
        report,
        frame=table,
        names=names,
        needs_value=required,
    )
    if frame is None:
        return None
    # REC on an open episode (DEC blank) has one reading: the episode is open, so the REC is
    # ignored (both public sample data sets write X1 there). A bad DEC is not blank.
    rec_on_open = usable(frame) & (text(frame, "DEC") == "") & (text(frame, "REC") != "")
    if rec_on_open.any():
        report.add_repair(source.name, "rec_on_open_episode", int(rec_on_open.sum()))
        frame.loc[rec_on_open, raw_col("REC")] = ""
    codes = code_lists()
    check_required(report, frame, required)
    check_dates(report, frame, "DECOM", "decom")
    check_dates(report, frame, "DEC", "dec")
    for label, name, valid in (
        ("RNE", "rne", codes.rne),
        ("LS", "ls", codes.ls),
        ("CIN", "cin", codes.cin),
        ("REC", "rec", codes.rec),
    ):
        check_codes(report, frame, label, name, valid)
    place_ok = check_codes(report, frame, "PLACE", "place", codes.place)
    provider_ok = check_codes(
        report, frame, "PLACE_PROVIDER", "place_provider", codes.place_provider
    )
    no_provider = frame["place_provider"].isna()
    needs_provider = ~frame["place"].isin(list(codes.place_without_provider))
    flag(
        report,
        frame,
        place_ok & no_provider & needs_provider,
        "PLACE_PROVIDER",
        "missing_provider",
        lambda rows: [f"PLACE_PROVIDER is required with PLACE {p}" for p in rows["place"]],
    )
    frame["placement_group"] = mapping.map(frame["place"], frame["place_provider"].fillna(""))
    mappable = place_ok & (provider_ok | (no_provider & ~needs_provider))
    flag(
        report,
        frame,
        mappable & frame["placement_group"].isna(),
        "PLACE",
        "unmapped_placement",
        lambda rows: [
            f"no rule in {mapping.source or 'the placement mapping'} covers PLACE {p} "
            f"with PLACE_PROVIDER {q if isinstance(q, str) else '(blank)'}"
            for p, q in zip(rows["place"], rows["place_provider"], strict=True)
        ],
    )
    check_order(report, frame, ("DECOM", "decom"), ("DEC", "dec"))
    check_reason_pair(report, frame, "DEC", "REC")
    end = year_end(source.year) if source.year else None
    if end is not None:
        for label, name in (("DECOM", "decom"), ("DEC", "dec")):
            flag(
                report,
                frame,
                frame[name] > end,
                label,
                "date_after_year_end",
                f"{label} is after the end of this return's year ({end:%d/%m/%Y})",
            )
    check_repeated(
        report,
        frame,
        ["child_id", "decom"],
        "DECOM",
        "duplicate_episode",
        "this child already has an episode starting on this date on line {line}",
    )
    frame[YEAR_COL] = source.year
    return frame


def latest_header(headers: pd.DataFrame) -> pd.DataFrame:
    """One Header row per child: the one from the latest return."""
    ordered = headers.sort_values([YEAR_COL, "_line"], kind="stable")
    return ordered.drop_duplicates(subset=["child_id"], keep="last")


def check_carried_forward(report: ValidationReport, files: list[pd.DataFrame]) -> None:
    """Warn about episodes open at the end of a return that the next year's return (when
    supplied) does not hold: they stay open in the merged history (``open_not_in_next_return``).

    ``files`` are the Episodes frames as read, before rows with errors are dropped.
    """
    if not files:
        return
    every = pd.concat(files, ignore_index=True)
    every = every.loc[every["child_id"].notna() & every["decom"].notna()]
    years = set(every[YEAR_COL])
    held = pd.MultiIndex.from_arrays([every["child_id"], every["decom"], every[YEAR_COL]])
    for frame in files:
        year = frame[YEAR_COL].iloc[0] if len(frame) else None
        if year is None or year + 1 not in years:
            continue
        open_ = usable(frame) & frame["dec"].isna() & frame["decom"].notna()
        keys = pd.MultiIndex.from_arrays(
            [frame["child_id"], frame["decom"], pd.Series(year + 1, index=frame.index)]
        )
        missing = open_ & ~pd.Series(keys.isin(held), index=frame.index)
        flag(
            report,
            frame,
            missing,
            "DEC",
            "open_not_in_next_return",
            f"this episode is open at 31/03/{year} but the {year + 1} return does not hold "
            "it, so it is read as still open",
            severity=WARNING,
        )


def merge_episodes(episodes: pd.DataFrame) -> pd.DataFrame:
    """Episodes merged across returns: for each (child, DECOM) the row of the latest return
    is kept, so an episode open in one year and closed in the next is read as closed. An open
    episode that no later return mentions stays open. Sorted by child and DECOM."""
    ordered = episodes.sort_values([YEAR_COL, "_line"], kind="stable")
    merged = ordered.drop_duplicates(subset=["child_id", "decom"], keep="last")
    return merged.sort_values(["child_id", "decom", YEAR_COL], kind="stable")


def check_episode_history(
    report: ValidationReport,
    episodes: pd.DataFrame,
    header: pd.DataFrame,
    header_children: set[str],
    window_end: pd.Timestamp,
) -> None:
    """Checks across a child's merged episodes (rows are marked bad, not removed).

    ``header`` holds one usable Header row per child; ``header_children`` every child named
    in any Header file (usable or not), to tell a missing Header row from an invalid one.
    Reports ``child_not_in_header``, ``birth_after_start``, ``overlapping_episodes``,
    ``open_past_18`` and (as a warning) ``x1_without_next``.
    """
    by_child = header.set_index("child_id")
    dob = episodes["child_id"].map(by_child["dob"])
    dob_text = episodes["child_id"].map(by_child["~DOB"])
    known = dob.notna()
    flag(
        report,
        episodes,
        ~known,
        "CHILD",
        "child_not_in_header",
        lambda rows: [
            "this child's Header rows have problems (see the Header files)"
            if c in header_children
            else "this child is in no Header file"
            for c in rows["child_id"]
        ],
    )
    check_birth_before(report, episodes, dob, dob_text, ("DECOM", "decom"))

    # Overlaps: an episode starting before the latest end of the child's earlier episodes
    # (an open earlier episode counts as never ending).
    end = episodes["dec"].fillna(pd.Timestamp.max.floor("D"))
    latest_end = end.groupby(episodes["child_id"], sort=False).cummax()
    prior_end = latest_end.groupby(episodes["child_id"], sort=False).shift(1)
    overlap = prior_end.notna() & (episodes["decom"] < prior_end)
    previous_open = prior_end == pd.Timestamp.max.floor("D")
    flag(
        report,
        episodes,
        overlap,
        "DECOM",
        "overlapping_episodes",
        lambda rows: [
            "starts while an earlier episode of this child is still open"
            if previous_open[i]
            else f"starts before an earlier episode of this child ends ({e:%d/%m/%Y})"
            for i, e in zip(rows.index, prior_end[rows.index], strict=True)
        ],
    )

    eighteen = add_years(dob, 18)
    open_late = known & episodes["dec"].isna() & (eighteen < window_end)
    closed_late = known & (episodes["dec"] > eighteen)
    flag(
        report,
        episodes,
        open_late | closed_late,
        "DEC",
        "open_past_18",
        lambda rows: [
            f"episode still open at {window_end:%d/%m/%Y} but the child turned 18 on {b}"
            if not d
            else f"DEC is after the child's 18th birthday ({b})"
            for d, b in zip(text(rows, "DEC"), fmt_date(eighteen[rows.index]), strict=True)
        ],
    )

    codes = code_lists()
    continuing = (episodes["rec"] == codes.rec_continuing).fillna(False) & episodes["dec"].notna()
    starts = pd.MultiIndex.from_arrays([episodes["child_id"], episodes["decom"]])
    ends = pd.MultiIndex.from_arrays([episodes["child_id"], episodes["dec"]])
    has_next = pd.Series(ends.isin(starts), index=episodes.index)
    flag(
        report,
        episodes,
        continuing & ~has_next,
        "REC",
        "x1_without_next",
        f"REC {codes.rec_continuing} means a new episode starts on DEC, but this child has "
        "no episode starting that day",
        severity=WARNING,
    )
