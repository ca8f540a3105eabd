"""Finding a council's files and reading them as text tables.

Files are read as text (every cell a stripped string, ``""`` for blank) so that each value can
be checked and reported exactly as the council wrote it. Parsing dates and yes/no items is
vectorised here too.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from care_demand.data.problems import (
    BAD_COL,
    FILE_COL,
    INFO,
    LINE_COL,
    WARNING,
    Problem,
    ValidationReport,
    raw_col,
)
from care_demand.data.ssda903_xml import sniff_ssda903_xml

__all__ = [
    "CIN",
    "EARLY_HELP",
    "EPISODES",
    "HEADER",
    "UASC",
    "SourceFile",
    "collection_year",
    "decode",
    "discover",
    "fingerprint",
    "name_year",
    "parse_bool",
    "parse_dates",
    "read_csv_text",
    "select_columns",
]

HEADER = "header"
EPISODES = "episodes"
UASC = "uasc"
CIN = "cin"
EARLY_HELP = "early_help"

# Collection years outside this range are not SSDA903 years (the return began in 1992).
_YEARS = range(1992, 2100)
# How deep below the data folder files are looked for (DIR/ssda903/2018-19/header.csv is 2).
_MAX_DEPTH = 4


@dataclass(frozen=True)
class _Table:
    """A table councils supply: the words naming its files and the columns that identify it
    (any one set of columns, all present, is enough)."""

    kind: str
    label: str
    names: tuple[str, ...]
    columns: tuple[frozenset[str], ...]
    used: bool


def _cols(*names: str) -> frozenset[str]:
    return frozenset(n.lower() for n in names)


# In the order columns are tried: Episodes and UASC before Header (UASC also has CHILD, SEX,
# DOB), Header before the tables not used (none of them has SEX).
_TABLES: tuple[_Table, ...] = (
    _Table(
        EPISODES,
        "SSDA903 Episodes",
        ("episodes", "episode"),
        (_cols("CHILD", "DECOM", "RNE"), _cols("CHILD", "DECOM", "LS", "PLACE")),
        True,
    ),
    _Table(UASC, "SSDA903 UASC", ("uasc",), (_cols("CHILD", "DUC"),), True),
    _Table(HEADER, "SSDA903 Header", ("header",), (_cols("CHILD", "SEX", "DOB"),), True),
    _Table(
        CIN,
        "CIN census",
        ("cin_census",),
        (_cols("LAchildID", "CINreferralDate"),),
        True,
    ),
    _Table(EARLY_HELP, "early help", ("early_help",), (_cols("child_id", "start_date"),), True),
    _Table(
        "reviews",
        "SSDA903 reviews",
        ("reviews", "review"),
        (_cols("CHILD", "REVIEW"), _cols("CHILD", "REVIEW_CODE")),
        False,
    ),
    _Table(
        "oc2",
        "SSDA903 OC2 (outcomes of children in care)",
        ("oc2",),
        (_cols("CHILD", "SDQ_SCORE"), _cols("CHILD", "CONVICTED"), _cols("CHILD", "HEALTH_CHECK")),
        False,
    ),
    _Table(
        "oc3",
        "SSDA903 OC3 (care leavers)",
        ("oc3",),
        (_cols("CHILD", "IN_TOUCH"), _cols("CHILD", "ACTIV"), _cols("CHILD", "ACCOM")),
        False,
    ),
    _Table(
        "missing",
        "SSDA903 missing or away from placement",
        ("missing",),
        (_cols("CHILD", "MISSING"), _cols("CHILD", "MIS_START")),
        False,
    ),
    _Table(
        "placed_for_adoption",
        "SSDA903 placed for adoption",
        ("placed_for_adoption", "placed_adoption"),
        (_cols("CHILD", "DATE_PLACED"),),
        False,
    ),
    _Table(
        "previous_permanence",
        "SSDA903 previous permanence",
        ("previous_permanence", "prev_perm"),
        (_cols("CHILD", "PREV_PERM"),),
        False,
    ),
    _Table(
        "ad1",
        "SSDA903 AD1 (adoption)",
        ("ad1",),
        (
            _cols("CHILD", "DATE_INT"),
            _cols("CHILD", "DATE_MATCH"),
            _cols("CHILD", "FOSTER_CARE"),
            _cols("CHILD", "NB_ADOPTR"),
        ),
        False,
    ),
    _Table(
        "social_worker",
        "SSDA903 social worker episodes",
        ("social_worker", "sw_episodes"),
        (_cols("CHILD", "SW_ID"),),
        False,
    ),
)
_BY_KIND = {t.kind: t for t in _TABLES}
# Kinds that belong to one year's SSDA903 return (and take the year of its Episodes file).
_SSDA903_KINDS = {t.kind for t in _TABLES if t.kind not in (CIN, EARLY_HELP)}
_CIN_NAME = re.compile(r"^cin_census.*\.(csv|xml)$", re.IGNORECASE)
_EH_NAME = re.compile(r"^early_help.*\.csv$", re.IGNORECASE)

# Years in names: 2018-19, 2018_19, 2018 19, 201819, 2018-2019 (the year ending in 2019);
# 2019; 1819 and 18-19 (two-digit years, this century).
_SPAN = re.compile(r"(?<!\d)(\d{4})[-_ /]?(\d{2}|\d{4})(?!\d)")
_FULL = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_SHORT = re.compile(r"(?<!\d)(\d{2})[-_ ]?(\d{2})(?!\d)")


@dataclass(frozen=True)
class SourceFile:
    """One input file: its path, name relative to the folder, kind and collection year."""

    path: Path
    name: str
    kind: str
    year: int | None

    @property
    def suffix(self) -> str:
        """Lower-case file extension without the dot."""
        return self.path.suffix.lower().lstrip(".")


@dataclass
class _Found:
    """A file as first seen: where its year came from and the return it belongs to."""

    path: Path
    name: str
    kind: str
    year: int | None
    year_from: str  # "name", "folder" or "" (no year in the name or the folders)
    group: tuple[str, int | None]  # files of one return: same folder, same year in the name
    empty: bool = False


def name_year(text: str) -> int | None:
    """The collection year written in a file or folder name, or ``None``.

    ``2018-19``, ``2018_19``, ``201819``, ``2018-2019``, ``1819`` and ``18-19`` are the year
    ending 31 March 2019 (2019); a plain four-digit year is taken as written (in this
    package's layout ``header_2019`` is the year ending March 2019; the dates inside an
    Episodes file have the last word, see :func:`discover`).
    """
    for match in _SPAN.finditer(text):
        first, second = int(match.group(1)), int(match.group(2))
        following = first + 1 if len(match.group(2)) == 4 else (first + 1) % 100
        if first in _YEARS and second == following:
            return first + 1
    years = [int(y) for y in _FULL.findall(text) if int(y) in _YEARS]
    if years:
        return years[-1]
    for match in _SHORT.finditer(text):
        first, second = int(match.group(1)), int(match.group(2))
        if second == (first + 1) % 100 and 2000 + first + 1 in _YEARS:
            return 2000 + first + 1
    return None


def collection_year(dates: pd.Series) -> pd.Series:
    """The collection year of each date: the year of the 31 March ending its April-March
    year (2018-04-01 and 2019-03-31 are both in 2019)."""
    return dates.dt.year + (dates.dt.month >= 4).astype(int)


def _window(year: int) -> str:
    return f"April {year - 1} - March {year}"


def discover(folder: Path, report: ValidationReport) -> list[SourceFile]:
    """List the council's input files in ``folder`` (layouts of docs/input_formats.md).

    Files are looked for in ``folder`` and its subfolders (a few levels deep). SSDA903 tables
    are recognised by their columns or their names; the tables this package does not use
    (reviews, OC2, OC3, ...) and files that are no input at all are listed in ``report`` as
    notes, never skipped silently. The collection year comes from the file's or folder's
    name and is checked against the dates in the Episodes file: where they disagree the
    dates win (a ``year_from_data`` warning names both), and the other tables of that return
    (its Header, UASC, ...) follow its Episodes file.

    Problems with the layout (no SSDA903 files, two files for one year, a year with only a
    Header or only an Episodes file, a missing year between two others) go into ``report``.
    """
    found: list[_Found] = []
    xml_sources: list[SourceFile] = []
    for path in _files(folder):
        name = _relative(path, folder)
        if path.suffix.lower() == ".xml" and not _CIN_NAME.match(path.name):
            xml_sources += _ssda903_xml(path, name, folder, report)
            continue
        item = _classify(path, name, folder, report)
        if item is not None:
            found.append(item)
    _years_from_data(found, report)
    # SSDA903 tables first, then the CIN census and early help, each in folder order.
    found.sort(key=lambda item: item.kind not in _SSDA903_KINDS)
    sources: list[SourceFile] = []
    for item in found:
        if item.kind in _SSDA903_KINDS and not _BY_KIND[item.kind].used:
            continue
        if item.kind in _SSDA903_KINDS and item.year is None:
            report.add(
                Problem(
                    item.name,
                    None,
                    None,
                    None,
                    "unknown_year",
                    "cannot tell the collection year: name the file header_YYYY.csv / "
                    "episodes_YYYY.csv or put it in a folder named after the year",
                )
            )
            continue
        sources.append(SourceFile(item.path, item.name, item.kind, item.year))
    return _check_layout(xml_sources + sources, report)


def _ssda903_xml(path: Path, name: str, folder: Path, report: ValidationReport) -> list[SourceFile]:
    """An SSDA903 return as XML (see ssda903_xml.py): one source per table it holds."""
    hint = name_year(path.stem)
    for parent in path.relative_to(folder).parents:
        if hint is None and parent.name:
            hint = name_year(parent.name)
    before = len(report.problems)
    held = sniff_ssda903_xml(path, name, hint, report)
    if held is None and len(report.problems) > before:  # not well-formed: reported
        return []
    if held is None:
        _not_recognised(
            report,
            name,
            "an .xml file that is neither an SSDA903 return nor a CIN census named cin_census*.xml",
        )
        return []
    if held.year is None:
        report.add(
            Problem(
                name,
                None,
                None,
                None,
                "unknown_year",
                "cannot tell the collection year of this SSDA903 XML: it has no Header "
                "<Year>, no year in its name and no dates",
            )
        )
        return []
    return [SourceFile(path, name, kind, held.year) for kind in held.kinds]


def _files(folder: Path) -> list[Path]:
    """Every file below ``folder`` (hidden files and folders left out), top level first."""
    out: list[Path] = []
    level = [folder]
    for _ in range(_MAX_DEPTH + 1):
        following: list[Path] = []
        for place in level:
            try:
                entries = sorted(place.iterdir())
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir():
                    following.append(entry)
                elif entry.is_file():
                    out.append(entry)
        level = following
    return out


def _classify(path: Path, name: str, folder: Path, report: ValidationReport) -> _Found | None:
    """What a file is (by its columns, else its name); notes go into ``report``."""
    columns, empty = _first_line(path)
    by_columns = _kind_by_columns(columns) if columns else None
    by_name = _kind_by_name(path.name)
    kind = by_columns or by_name
    if kind is None:
        suffix = path.suffix.lower().lstrip(".")
        what = "an empty file" if empty else f"a .{suffix} file" if suffix else "a file"
        hint = "save SSDA903 tables as CSV" if path.suffix.lower() in (".xlsx", ".xls") else ""
        _not_recognised(
            report,
            name,
            f"{what} that is none of the inputs by name or columns",
            hint,
        )
        return None
    table = _BY_KIND[kind]
    if not table.used:
        report.add(
            Problem(
                name,
                None,
                None,
                None,
                "not_used",
                f"{table.label}: present, not used by this package"
                + (" (the file is empty)" if empty else ""),
                INFO,
            )
        )
        return None
    if empty and kind == UASC:
        report.add(
            Problem(name, None, None, None, "empty_file", "the file is empty: nothing read", INFO)
        )
        return None
    if kind in (CIN, EARLY_HELP):
        return _Found(path, name, kind, name_year(path.name), "name", (name, None), empty)
    own = name_year(path.stem)
    if own is not None:
        return _Found(path, name, kind, own, "name", (path.parent.as_posix(), own), empty)
    year, year_from = None, ""
    for parent in path.relative_to(folder).parents:
        if parent.name and name_year(parent.name) is not None:
            year, year_from = name_year(parent.name), "folder"
            break
    return _Found(path, name, kind, year, year_from, (path.parent.as_posix(), None), empty)


def _not_recognised(report: ValidationReport, name: str, what: str, hint: str = "") -> None:
    """List a file that is no input (a note, never an error)."""
    detail = f"not recognised ({what}): not read" + (f"; {hint}" if hint else "")
    report.add(Problem(name, None, None, None, "not_recognised", detail, INFO))


def _first_line(path: Path) -> tuple[list[str], bool]:
    """The column names of a CSV file (lower case; empty for other files) and whether the
    file has no text at all."""
    try:
        with path.open("rb") as handle:
            data = handle.read(65536)
    except OSError:
        return [], False
    if not data.strip():
        return [], True
    if path.suffix.lower() != ".csv":
        return [], False
    text = decode(data[: data.rfind(b"\n") + 1] if b"\n" in data else data)
    if text is None:
        return [], False
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    try:
        first = next(csv.reader([line]))
    except (csv.Error, StopIteration):
        return [], False
    return [c.strip().lstrip("\ufeff").lower() for c in first], False


def _kind_by_columns(columns: list[str]) -> str | None:
    present = set(columns)
    for table in _TABLES:
        if any(needed <= present for needed in table.columns):
            return table.kind
    return None


def _kind_by_name(file_name: str) -> str | None:
    if _CIN_NAME.match(file_name):
        return CIN
    if _EH_NAME.match(file_name):
        return EARLY_HELP
    if not file_name.lower().endswith(".csv"):
        return None
    stem = re.sub(r"[^a-z0-9]+", "_", file_name.lower().rsplit(".", 1)[0])
    for table in _TABLES:
        if table.kind in (CIN, EARLY_HELP):
            continue
        for word in table.names:
            if re.search(rf"(?<![a-z]){word}(?![a-z])", stem):
                return table.kind
    return None


def _years_from_data(found: list[_Found], report: ValidationReport) -> None:
    """Check each Episodes file's year against its dates (the dates win) and give the other
    tables of its return the same year."""
    decided: dict[tuple[str, int | None], int] = {}
    for item in found:
        if item.kind != EPISODES or item.empty or item.group in decided:
            continue
        dates = _episode_dates(item.path)
        if dates is None:
            continue
        year, latest = _data_year(*dates, item.year)
        if year is None:
            continue
        decided[item.group] = year
        if year == item.year:
            continue
        partners = [f.path.name for f in found if f.group == item.group and f is not item]
        beside = (
            f"; {', '.join(partners)} beside it {'is' if len(partners) == 1 else 'are'} read "
            "as the same return"
            if partners
            else ""
        )
        if item.year is None:
            said = "has no year in its name or folder"
        elif item.year_from == "folder":
            folder = next(p.name for p in Path(item.name).parents if name_year(p.name) == item.year)
            said = f"folder {folder}/ suggests the {item.year} return ({_window(item.year)})"
        else:
            said = (
                f"the name {item.path.name} suggests the {item.year} return ({_window(item.year)})"
            )
        report.add(
            Problem(
                item.name,
                None,
                None,
                None if item.year is None else str(item.year),
                "year_from_data",
                f"{said}, but its episodes run to {latest:%Y-%m-%d}: read as the {year} "
                f"return ({_window(year)}){beside}",
                WARNING,
            )
        )
    for item in found:
        if item.group in decided and item.kind in _SSDA903_KINDS:
            item.year = decided[item.group]


def _episode_dates(path: Path) -> tuple[pd.Series, pd.Series] | None:
    """The DECOM and DEC dates of an Episodes file (``None`` when they cannot be read)."""
    try:
        text = decode(path.read_bytes())
    except OSError:
        return None
    if text is None:
        return None
    try:
        records = _records(text, strict=False)
    except csv.Error:
        return None
    if not records:
        return None
    names = [c.strip().lstrip("\ufeff").lower() for c in records[0][1]]
    if "decom" not in names:
        return None
    at = {n: names.index(n) for n in ("decom", "dec") if n in names}

    def column(label: str) -> pd.Series:
        i = at.get(label)
        cells = [r[i].strip() if i is not None and i < len(r) else "" for _, r in records[1:]]
        return parse_dates(pd.Series(cells, dtype=str))[0]

    return column("decom"), column("dec")


def _data_year(
    decom: pd.Series, dec: pd.Series, named: int | None
) -> tuple[int | None, pd.Timestamp | None]:
    """The collection year an Episodes file's dates point to, and the latest date in it.

    A year's return holds the episodes open at some time in its April-March year: every DEC
    falls in the year and every DECOM before its end. So the year is the one holding most
    DEC dates (a stray date a day late does not move it); with no DEC at all (every episode
    open), the year of the latest DECOM, or any later year. The ``named`` year is kept when
    it agrees: it holds most DEC dates, or (a file holding several years) every date is
    inside it and the latest DEC is in its year. Returns ``(None, None)`` with no dates.
    """
    every = pd.concat([decom, dec]).dropna()
    if every.empty:
        return None, None
    closed = collection_year(dec.dropna())
    if closed.empty:
        first_possible = int(collection_year(decom.dropna()).max())
        year = named if named is not None and named >= first_possible else first_possible
    else:
        counts = closed.value_counts()
        most = counts[counts == counts.max()].index.max()
        year = int(most)
        if named is not None and named != year:
            end = pd.Timestamp(year=named, month=3, day=31)
            if (every <= end).all() and int(closed.max()) == named:
                year = named
    end = pd.Timestamp(year=year, month=3, day=31)
    inside = every.loc[every <= end]
    latest = inside.max() if not inside.empty else every.max()
    return year, latest


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def _check_layout(found: list[SourceFile], report: ValidationReport) -> list[SourceFile]:
    kept: list[SourceFile] = []
    seen: dict[tuple[str, int | None], SourceFile] = {}
    for source in found:
        key = (source.kind, source.year)
        if source.kind in (HEADER, EPISODES) and key in seen:
            report.add(
                Problem(
                    source.name,
                    None,
                    None,
                    None,
                    "duplicate_file",
                    f"a second {source.kind} file for {source.year}; "
                    f"{seen[key].name} is used and this one is ignored",
                )
            )
            continue
        seen[key] = source
        kept.append(source)
    years = {k: sorted(s.year for s in kept if s.kind == k) for k in (HEADER, EPISODES)}
    if not years[HEADER] and not years[EPISODES]:
        report.add(
            Problem(
                ".",
                None,
                None,
                None,
                "no_ssda903",
                "no SSDA903 files found: expected ssda903/header_YYYY.csv and "
                "ssda903/episodes_YYYY.csv (see docs/input_formats.md)",
            )
        )
        return kept
    for kind, other in ((HEADER, EPISODES), (EPISODES, HEADER)):
        for year in sorted(set(years[other]) - set(years[kind])):
            partner = next(s for s in kept if s.kind == other and s.year == year)
            report.add(
                Problem(
                    partner.name,
                    None,
                    None,
                    None,
                    "missing_file",
                    f"there is no {kind} file for {year} to go with this {other} file",
                )
            )
    all_years = sorted(set(years[HEADER]) | set(years[EPISODES]))
    gaps = sorted(set(range(all_years[0], all_years[-1] + 1)) - set(all_years))
    for year in gaps:
        report.add(
            Problem(
                ".",
                None,
                None,
                str(year),
                "missing_year",
                f"no SSDA903 files for {year}, between {all_years[0]} and {all_years[-1]}: "
                "every year in the window is needed",
            )
        )
    return kept


def decode(data: bytes) -> str | None:
    """Text of a file in UTF-8 (with or without BOM) or Windows-1252; ``None`` if neither
    (including UTF-16 "Unicode text" and other files holding NUL bytes)."""
    if b"\x00" in data:
        return None
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _records(text: str, *, strict: bool = True) -> list[tuple[int, list[str]]]:
    """The records of CSV text with the line each starts on (1-based); CRLF, LF and CR line
    ends all read. Raises ``csv.Error`` when the text is not CSV (a quoted value never closed)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=strict)
    out: list[tuple[int, list[str]]] = []
    previous = 0
    for row in reader:
        out.append((previous + 1, row))
        previous = reader.line_num
    return out


def _parse(text: str) -> list[tuple[int, list[str]]]:
    """Records of CSV text; a stray quote inside a value is read as a character (as
    spreadsheets do), but a quoted value still open at the end of the file is an error."""
    try:
        return _records(text, strict=True)
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise
        return _records(text, strict=False)


def read_csv_text(
    source: SourceFile, report: ValidationReport, required: list[str] | None = None
) -> tuple[pd.DataFrame | None, list[str]]:
    """Read a CSV file as text.

    Returns the rows (every file column as stripped strings under ``raw_col(name)``, plus
    ``_file``, ``_line`` and ``_bad``) and the column names as written in the file, or
    ``(None, [])`` when the file cannot be used (the reason is added to ``report``).
    Lines that are entirely blank are skipped; line numbers count the header as line 1.

    A line with fewer fields than the first line is reported once as ``short_row`` when it
    lacks one of the ``required`` columns (those never blank, matched case-insensitively)
    or is the file's
    last line with no line end (a file cut short); otherwise the missing trailing fields
    are read as blank (spreadsheets leave out trailing empty cells), a repair counted as
    ``missing_trailing_fields``. A line with more fields than the first is ``long_row``.
    ``short_row`` and ``long_row`` lines are marked bad and no other check reports them.
    Other repairs counted in ``report``: spaces around values (``padded_cell``) and empty
    fields after the last column (``extra_blank_fields``).
    """
    data = source.path.read_bytes()
    text = decode(data)
    if text is None:
        report.add(
            Problem(
                source.name,
                None,
                None,
                None,
                "unreadable_file",
                "not text in UTF-8 or Windows-1252: save the file as CSV (UTF-8)",
            )
        )
        return None, []
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip()), "")
    if not first.strip():
        report.add(Problem(source.name, None, None, None, "empty_file", "the file is empty"))
        return None, []
    if "," not in first and (";" in first or "\t" in first):
        sep = "semicolons" if first.count(";") >= first.count("\t") else "tabs"
        report.add(
            Problem(
                source.name,
                1,
                None,
                None,
                "wrong_delimiter",
                f"the columns are separated by {sep}, not commas: save the file as "
                "comma-separated CSV",
            )
        )
        return None, []
    try:
        records = _parse(text)
    except csv.Error as exc:
        report.add(
            Problem(
                source.name,
                None,
                None,
                None,
                "unreadable_file",
                "not a readable CSV file ("
                + (
                    "a quoted value is never closed"
                    if "unexpected end of data" in str(exc)
                    else str(exc)
                )
                + ")",
            )
        )
        return None, []
    records = [(n, r) for n, r in records if any(c.strip() for c in r)]
    if not records:
        report.add(Problem(source.name, None, None, None, "empty_file", "the file is empty"))
        return None, []
    head = records[0][1]
    names = [c.strip().lstrip("\ufeff") for c in head]
    names = [n if n else f"(blank {i + 1})" for i, n in enumerate(names)]
    width = len(names)
    body = records[1:]
    if not body:
        report.add(
            Problem(source.name, None, None, None, "empty_file", "the file has no data rows")
        )
        return None, []
    cells: list[list[str]] = []
    line_no: list[int] = []
    bad: list[str | None] = []
    trailing = missing_trailing = 0
    wanted = {c.lower() for c in required or []}
    last_required = max((i for i, n in enumerate(names) if n.lower() in wanted), default=-1)
    cut_short = not text.endswith(("\n", "\r"))
    for line, row in body:
        rule = None
        if len(row) > width:
            if any(c.strip() for c in row[width:]):
                rule = "long_row"
                report.add(
                    Problem(
                        source.name,
                        line,
                        None,
                        None,
                        rule,
                        f"row {line} has {len(row)} fields but the first line has {width}",
                    )
                )
            else:
                trailing += 1
            row = row[:width]
        elif len(row) < width:
            if len(row) <= last_required or (cut_short and line == body[-1][0]):
                rule = "short_row"
                report.add(
                    Problem(
                        source.name,
                        line,
                        None,
                        None,
                        rule,
                        f"row {line} has {len(row)} of {width} fields (is the file cut short?)",
                    )
                )
            else:
                missing_trailing += 1
            row = row + [""] * (width - len(row))
        cells.append(row)
        line_no.append(line)
        bad.append(rule)
    raw = pd.DataFrame(cells, columns=[raw_col(n) for n in names], dtype=object)
    if len(set(raw.columns)) < len(raw.columns):  # two columns with one name: keep the first
        raw = raw.loc[:, ~raw.columns.duplicated()]
    frame = raw.apply(lambda col: col.str.strip())
    padded = int((frame != raw).to_numpy().sum())
    report.add_repair(source.name, "padded_cell", padded)
    report.add_repair(source.name, "extra_blank_fields", trailing)
    report.add_repair(source.name, "missing_trailing_fields", missing_trailing)
    frame[FILE_COL] = source.name
    frame[LINE_COL] = np.asarray(line_no, dtype=np.int64)
    frame[BAD_COL] = pd.Series(bad, index=frame.index, dtype=object)
    return frame, names


def select_columns(
    frame: pd.DataFrame,
    names: list[str],
    wanted: list[str],
    required: list[str],
    source: SourceFile,
    report: ValidationReport,
) -> pd.DataFrame | None:
    """Keep the ``wanted`` columns (matched case-insensitively, renamed to their spelling in
    ``wanted``); blank columns are added for optional ones that are absent.

    Returns ``None`` (after reporting ``missing_column`` for each) when a required column is
    absent. Columns not wanted (postcodes, names, ...) are dropped here.
    """
    by_lower = {n.lower(): n for n in names}
    missing = [c for c in required if c.lower() not in by_lower]
    for column in missing:
        report.add(
            Problem(
                source.name,
                1,
                column,
                None,
                "missing_column",
                f"required column {column} is missing from the first line, which must "
                "hold the column names",
            )
        )
    if missing:
        return None
    out = {}
    for column in wanted:
        present = by_lower.get(column.lower())
        out[raw_col(column)] = (
            frame[raw_col(present)] if present is not None else pd.Series("", index=frame.index)
        )
    kept = pd.DataFrame(out, index=frame.index)
    for col in (FILE_COL, LINE_COL, BAD_COL):
        kept[col] = frame[col]
    return kept


def parse_dates(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse ``dd/mm/YYYY`` or ``YYYY-MM-DD`` text.

    Returns the dates (``datetime64[ns]``, ``NaT`` for blank) and a mask of non-blank values
    that are not a valid date in either form.
    """
    text = text.astype(str)
    dates = pd.to_datetime(text, format="%d/%m/%Y", errors="coerce")
    iso = pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    dates = dates.fillna(iso).astype("datetime64[ns]")
    bad = dates.isna() & (text != "")
    return dates, bad


def parse_bool(
    text: pd.Series, true_values: list[str], false_values: list[str]
) -> tuple[pd.Series, pd.Series]:
    """Parse yes/no text (case-insensitive). Returns a nullable boolean Series and a mask of
    non-blank values that are neither a true nor a false spelling."""
    lower = text.astype(str).str.lower()
    out = pd.Series(pd.NA, index=text.index, dtype="boolean")
    out[lower.isin(true_values)] = True
    out[lower.isin(false_values)] = False
    bad = out.isna() & (lower != "")
    return out, bad


def fingerprint(sources: list[SourceFile], extra: dict[str, bytes] | None = None) -> str:
    """SHA-256 over the files' relative names and bytes (sorted by name), plus ``extra``."""
    digest = hashlib.sha256()
    items = [(s.name, _bytes_or_empty(s.path)) for s in sources]
    items += sorted((extra or {}).items())
    for name, data in sorted(items):
        digest.update(name.encode("utf-8") + b"\0")
        digest.update(len(data).to_bytes(8, "big"))
        digest.update(data)
    return digest.hexdigest()


def _bytes_or_empty(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:  # already reported as unreadable_file
        return b""
