"""Checking a whole council folder: every file, every row, and the checks across files.

:func:`validate_folder` reports every problem; :func:`check_folder` also returns the tables
left after dropping the rows with errors, which :func:`care_demand.data.loader.load_council`
turns into :class:`~care_demand.data.council.CouncilData`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from care_demand.data.cin import read_cin
from care_demand.data.council import (
    CIN_COLUMNS,
    EARLY_HELP_COLUMNS,
    EPISODE_COLUMNS,
    HEADER_COLUMNS,
    CouncilData,
)
from care_demand.data.csv_text import filled, fingerprint
from care_demand.data.discovery import discover
from care_demand.data.early_help import read_early_help
from care_demand.data.placements import MappingError, PlacementMapping, load_placement_mapping
from care_demand.data.pre_proceedings import pre_proceedings_table
from care_demand.data.problems import (
    BAD_COL,
    DROPPED_ROW_COLUMNS,
    FILE_COL,
    LINE_COL,
    ValidationReport,
    drop_bad,
    empty_dropped_rows,
    flag,
    raw_col,
)
from care_demand.data.pseudonymise import PseudonymKeyError, resolve_key
from care_demand.data.recognise import CIN, EARLY_HELP, EPISODES, HEADER, UASC, SourceFile
from care_demand.data.settings import DataConfig
from care_demand.data.ssda903 import (
    YEAR_COL,
    check_carried_forward,
    check_episode_history,
    latest_header,
    merge_episodes,
    read_episodes,
    read_header,
)
from care_demand.data.uasc import merge_uasc, read_uasc
from care_demand.data.workbook import WorkbookError, is_workbook, read_sheet
from care_demand.paths import EXAMPLE_DATA_DIR

__all__ = ["CheckResult", "check_folder", "validate_folder"]

ORDER_COL = "_order"


@dataclass
class CheckResult:
    """The report, and the data left after dropping rows with errors (``None`` when nothing
    usable is left, e.g. no readable SSDA903 files)."""

    report: ValidationReport
    data: CouncilData | None
    dropped: dict[str, int] = field(default_factory=dict)


def validate_folder(path: str | Path | None, config: DataConfig | None = None) -> ValidationReport:
    """Check every file in a council folder and report every problem found.

    ``path`` is a folder in the layout of docs/input_formats.md (``None``: ``config.path``,
    else the built-in example). The report lists each problem with file, row, column, value
    (child ids pseudonymised) and rule; ``report.ok`` is true when there is no error.
    """
    return check_folder(path, config or DataConfig()).report


def check_folder(path: str | Path | None, config: DataConfig) -> CheckResult:
    """Read, check and merge a council folder, dropping rows with errors.

    Never raises for bad data: every problem goes into the report, and the counts of rows
    dropped per rule (a row breaking several rules counts once, under the first) into
    ``dropped``.
    """
    folder = _data_folder(path, config)
    report = ValidationReport(folder=str(folder))
    dropped: dict[str, int] = {}
    dropped_rows: list[pd.DataFrame] = []
    if not folder.is_dir():
        report.add_file_problem(str(folder), "folder_not_found", "no such folder")
        return CheckResult(report, None, dropped)
    mapping_file = config.resolve(config.placement_groups_file)
    try:
        mapping = load_placement_mapping(mapping_file)
        key = resolve_key(config, folder)
    except MappingError as exc:
        report.add_file_problem(mapping_file.name, "bad_mapping", str(exc))
        return CheckResult(report, None, dropped)
    except PseudonymKeyError as exc:
        report.add_file_problem(".", "pseudonym_key", str(exc))
        return CheckResult(report, None, dropped)

    sources = discover(folder, report)
    report.files = list(dict.fromkeys(s.name for s in sources))  # an XML holds several tables
    order = {s.name: i for i, s in enumerate(sorted(sources, key=lambda s: (s.year or 0, s.name)))}
    tables: dict[str, list[pd.DataFrame]] = {HEADER: [], EPISODES: [], CIN: [], EARLY_HELP: []}
    tables[UASC] = []
    for source in sources:
        if source.kind not in tables:  # discovered, but no reader here yet (e.g. UASC)
            continue
        before = len(report.problems)
        try:
            frame = _read(source, key, mapping, report)
            rows = 0 if frame is not None else _data_rows(source)
        except OSError as exc:
            report.add_file_problem(
                source.name, "unreadable_file", f"cannot read the file ({exc.strerror or exc})"
            )
            frame, rows = None, 0
        if frame is None:
            rule = next(
                (p.rule for p in report.problems[before:] if p.row is None or p.row == 1),
                "unreadable_file",
            )
            dropped[rule] = dropped.get(rule, 0) + rows
            if rows:
                dropped_rows.append(_whole_file_dropped(source, rule, rows))
            continue
        frame[ORDER_COL] = order[source.name]
        tables[source.kind].append(frame)

    years = [s.year for s in sources if s.kind in (HEADER, EPISODES) and s.year is not None]
    if not years:
        return CheckResult(report, None, dropped)
    window_start = pd.Timestamp(year=min(years) - 1, month=4, day=1)
    window_end = pd.Timestamp(year=max(years), month=3, day=31)

    headers = _concat(tables[HEADER], dropped, dropped_rows)
    cin = _concat(tables[CIN], dropped, dropped_rows)
    early_help = _concat(tables[EARLY_HELP], dropped, dropped_rows)
    _check_dates_of_birth(report, headers, cin, early_help)
    header_children = _all_children(tables[HEADER])
    headers = drop_bad(headers, dropped, dropped_rows) if headers is not None else None
    header = latest_header(headers) if headers is not None else _empty_header()
    # UASC flag and table (uasc.py): adds header["uasc"], header["uasc_ceased"].
    uasc_rows = (
        _concat(tables[UASC], dropped, dropped_rows)
        if any(s.kind == UASC for s in sources)
        else None
    )
    header, uasc_supplied = merge_uasc(header, headers, uasc_rows, report)

    check_carried_forward(report, tables[EPISODES])
    episodes = _concat(tables[EPISODES], dropped, dropped_rows)
    if episodes is not None:
        episodes = merge_episodes(episodes)
        check_episode_history(report, episodes, header, header_children, window_end)
        episodes = drop_bad(episodes, dropped, dropped_rows)
    if episodes is None or episodes.empty:
        if not any(p.rule in _FATAL for p in report.problems):
            report.add_file_problem(".", "no_usable_episodes", "no SSDA903 episode could be used")
        return CheckResult(report, None, dropped)

    if cin is not None:
        cin = _latest_rows(drop_bad(cin, dropped, dropped_rows), ["child_id", "referral_date"])
    early_help = (
        _latest_rows(drop_bad(early_help, dropped, dropped_rows), ["child_id", "start"])
        if early_help is not None
        else None
    )
    # A source whose every row was dropped is treated as not supplied (the drops are counted).
    cin = cin if cin is not None and not cin.empty else None
    pre_proceedings = pre_proceedings_table(cin) if cin is not None else None
    early_help = early_help if early_help is not None and not early_help.empty else None
    extra = {f"<mapping>/{mapping_file.name}": mapping_file.read_bytes()}
    data = CouncilData(
        header=_output(header, HEADER_COLUMNS, ["child_id"]),
        episodes=_output(episodes, EPISODE_COLUMNS, ["child_id", "decom"]),
        cin=_output(cin, CIN_COLUMNS, ["child_id", "referral_date"]) if cin is not None else None,
        early_help=(
            _output(early_help, EARLY_HELP_COLUMNS, ["child_id", "start"])
            if early_help is not None
            else None
        ),
        pre_proceedings=pre_proceedings,
        window_start=window_start,
        window_end=window_end,
        fingerprint=fingerprint(sources, extra),
        dropped=dict(sorted(dropped.items())),
        uasc_supplied=uasc_supplied,
        repairs=report.repairs,
        warnings=dict(sorted(Counter(p.rule for p in report.warnings).items())),
    )
    data.dropped_rows, data.dropped_open = _dropped_episodes(dropped_rows, episodes)
    return CheckResult(report, data, dropped)


# Whole-folder problems after which "no usable episodes" would only repeat the cause.
_FATAL = {"no_ssda903", "folder_not_found"}


def _data_folder(path: str | Path | None, config: DataConfig) -> Path:
    chosen = path if path not in (None, "") else config.path
    return Path(chosen).expanduser() if chosen not in (None, "") else EXAMPLE_DATA_DIR


def _read(
    source: SourceFile, key: bytes, mapping: PlacementMapping, report: ValidationReport
) -> pd.DataFrame | None:
    if source.kind == HEADER:
        return read_header(source, key, report)
    if source.kind == EPISODES:
        return read_episodes(source, key, mapping, report)
    if source.kind == CIN:
        return read_cin(source, key, report)
    if source.kind == UASC:
        return read_uasc(source, key, report)
    return read_early_help(source, key, report)


def _data_rows(source: SourceFile) -> int:
    """Number of data rows in a file that could not be used (for the dropped counts)."""
    if is_workbook(source.path):
        try:
            records = read_sheet(source.path).records
        except WorkbookError:
            return 0
        return max(0, len(filled(records)) - 1)
    data = source.path.read_bytes()
    if source.suffix == "xml":
        return data.count(b"<CINdetails") + data.count(b":CINdetails")
    return max(0, sum(1 for line in data.splitlines() if line.strip()) - 1)


def _concat(
    frames: list[pd.DataFrame], dropped: dict[str, int], rows: list[pd.DataFrame]
) -> pd.DataFrame | None:
    """The usable rows of several files of one kind (rows with errors are dropped)."""
    if not frames:
        return None
    kept = [drop_bad(frame, dropped, rows) for frame in frames]
    return pd.concat(kept, ignore_index=True)


def _whole_file_dropped(source: SourceFile, rule: str, rows: int) -> pd.DataFrame:
    """One line of the dropped-rows table for a file that could not be read at all."""
    return pd.DataFrame(
        {
            "file": pd.Series([source.name], dtype="string"),
            "line": pd.Series([pd.NA], dtype="Int64"),
            "rule": pd.Series([rule], dtype="string"),
            "child_id": pd.Series([pd.NA], dtype="string"),
            "open_episode": pd.Series([pd.NA], dtype="boolean"),
            "rows": pd.Series([rows], dtype="Int64"),
        }
    )


def _dropped_episodes(
    parts: list[pd.DataFrame], episodes: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The table of dropped rows (``DROPPED_ROW_COLUMNS`` plus ``kept_from_other_return``:
    an episode dropped from one return but read from another) and the open episodes (DEC
    blank) lost, per rule."""
    if not parts:
        return empty_dropped_rows(), {}
    table = pd.concat(parts, ignore_index=True)
    rows = table["rows"] if "rows" in table else pd.Series(pd.NA, index=table.index)
    table["rows"] = rows.fillna(1).astype("Int64")
    kept_keys = pd.MultiIndex.from_arrays([episodes["child_id"], episodes["decom"]])
    decom = table["decom"] if "decom" in table else pd.Series(pd.NaT, index=table.index)
    keys = pd.MultiIndex.from_arrays([table["child_id"], decom])
    is_episode = table["open_episode"].notna()
    table["kept_from_other_return"] = pd.Series(
        keys.isin(kept_keys), index=table.index, dtype="boolean"
    ).where(is_episode, pd.NA)
    lost = table["open_episode"].fillna(False) & ~table["kept_from_other_return"].fillna(False)
    dropped_open = {
        str(rule): int(n) for rule, n in table.loc[lost, "rule"].value_counts().sort_index().items()
    }
    columns = [*DROPPED_ROW_COLUMNS, "rows", "kept_from_other_return"]
    table = table.loc[:, columns].sort_values(["file", "line"], kind="stable")
    return table.reset_index(drop=True), dropped_open


def _all_children(frames: list[pd.DataFrame]) -> set[str]:
    return {c for frame in frames for c in frame["child_id"].dropna()}


def _check_dates_of_birth(
    report: ValidationReport,
    headers: pd.DataFrame | None,
    cin: pd.DataFrame | None,
    early_help: pd.DataFrame | None,
) -> None:
    """Report rows giving a child a date of birth different from the reference one: the
    latest SSDA903 Header, else the latest CIN census row, else the latest early-help row."""
    sources = [(f, rank) for rank, f in enumerate((headers, cin, early_help)) if f is not None]
    if not sources:
        return
    labels = {0: "DOB", 1: "PersonBirthDate", 2: "date_of_birth"}
    parts = []
    for frame, rank in sources:
        part = pd.DataFrame(
            {
                "child_id": frame["child_id"],
                "dob": frame["dob"],
                "text": frame[raw_col(labels[rank])],
                "file": frame[FILE_COL],
                "line": frame[LINE_COL],
                "rank": rank,
                "order": -frame[ORDER_COL],
                "neg_line": -frame[LINE_COL],
            }
        )
        parts.append(part.loc[part["child_id"].notna() & part["dob"].notna()])
    every = pd.concat(parts, ignore_index=True).sort_values(
        ["rank", "order", "neg_line"], kind="stable"
    )
    reference = every.drop_duplicates(subset=["child_id"], keep="first").set_index("child_id")
    for frame, rank in sources:
        ref_dob = frame["child_id"].map(reference["dob"])
        mask = frame[BAD_COL].isna() & frame["dob"].notna() & (frame["dob"] != ref_dob)
        mask &= ref_dob.notna()
        flag(
            report,
            frame,
            mask.fillna(False),
            labels[rank],
            "dob_conflict",
            lambda rows: [
                f"this child's date of birth is {reference.at[c, 'text']} in "
                f"{reference.at[c, 'file']} line {reference.at[c, 'line']}"
                for c in rows["child_id"]
            ],
        )


def _latest_rows(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """For each key, the rows of the latest file holding it (a referral or episode reported
    again in a later census or extract is read from the later one)."""
    latest = frame.groupby(keys, sort=False, dropna=False)[ORDER_COL].transform("max")
    return frame.loc[frame[ORDER_COL] == latest]


def _empty_header() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "child_id": pd.Series(dtype="string"),
            "sex": pd.Series(dtype="string"),
            "dob": pd.Series(dtype="datetime64[ns]"),
            raw_col("DOB"): pd.Series(dtype="string"),
            YEAR_COL: pd.Series(dtype="int64"),
        }
    )


def _output(frame: pd.DataFrame, columns: tuple[str, ...], sort: list[str]) -> pd.DataFrame:
    """The public table: the named columns only, sorted, with a fresh index."""
    out = frame.loc[:, list(columns)].sort_values(sort, kind="stable").reset_index(drop=True)
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].astype("datetime64[ns]")
        elif column == "uasc":
            out[column] = out[column].astype(bool)
        elif column in ("referral_nfa", "icpc_not_required"):
            out[column] = out[column].astype("boolean")
        else:
            out[column] = out[column].astype("string")
    return out
