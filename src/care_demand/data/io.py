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
    LINE_COL,
    Problem,
    ValidationReport,
    raw_col,
)
from care_demand.data.ssda903_xml import sniff_ssda903_xml

__all__ = [
    "SourceFile",
    "decode",
    "discover",
    "fingerprint",
    "parse_bool",
    "parse_dates",
    "read_csv_text",
    "select_columns",
]

HEADER = "header"
EPISODES = "episodes"
CIN = "cin"
EARLY_HELP = "early_help"
UASC = "uasc"

_SSDA903_NAME = re.compile(r"^(header|episodes|uasc)(?:[_\- ]?(\d{4}))?\.csv$", re.IGNORECASE)
_YEAR_DIR = re.compile(r"^\d{4}$")
_CIN_NAME = re.compile(r"^cin_census.*\.(csv|xml)$", re.IGNORECASE)
_EH_NAME = re.compile(r"^early_help.*\.csv$", re.IGNORECASE)
_ANY_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
# Collection years outside this range are not SSDA903 years (the return began in 1992).
_YEARS = range(1992, 2100)


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


def discover(folder: Path, report: ValidationReport) -> list[SourceFile]:
    """List the council's input files in ``folder`` (layout of docs/input_formats.md).

    Problems with the layout (no SSDA903 files, two files for one year, a year with only a
    Header or only an Episodes file, a missing year between two others) go into ``report``.
    """
    found: list[SourceFile] = []
    places = [folder, folder / "ssda903"]
    for base in (folder / "ssda903", folder):
        if base.is_dir():
            places += _year_dirs(base)
    for place in places:
        if not place.is_dir():
            continue
        folder_year = int(place.name) if _YEAR_DIR.match(place.name) else None
        for path in sorted(p for p in place.iterdir() if p.is_file()):
            match = _SSDA903_NAME.match(path.name)
            if match is None:
                continue
            year = int(match.group(2)) if match.group(2) else folder_year
            name = _relative(path, folder)
            if year is None or year not in _YEARS:
                report.add(
                    Problem(
                        name,
                        None,
                        None,
                        None,
                        "unknown_year",
                        "cannot tell the collection year: name the file header_YYYY.csv / "
                        "episodes_YYYY.csv or put it in a folder named after the year",
                    )
                )
                continue
            found.append(SourceFile(path, name, match.group(1).lower(), year))
        found += _ssda903_xml(place, folder, folder_year, report)
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        if _CIN_NAME.match(path.name):
            found.append(SourceFile(path, _relative(path, folder), CIN, _name_year(path.name)))
        elif _EH_NAME.match(path.name):
            found.append(
                SourceFile(path, _relative(path, folder), EARLY_HELP, _name_year(path.name))
            )
    return _check_layout(found, report)


def _ssda903_xml(
    place: Path, folder: Path, folder_year: int | None, report: ValidationReport
) -> list[SourceFile]:
    """SSDA903 returns as XML in ``place`` (see ssda903_xml.py): one source per table."""
    found = []
    for path in sorted(p for p in place.glob("*") if p.suffix.lower() == ".xml"):
        if _CIN_NAME.match(path.name) or not path.is_file():
            continue
        name = _relative(path, folder)
        held = sniff_ssda903_xml(path, name, _name_year(path.name) or folder_year, report)
        if held is not None and held.year is None:
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
        elif held is not None:
            found += [SourceFile(path, name, kind, held.year) for kind in held.kinds]
    return found


def _year_dirs(place: Path) -> list[Path]:
    return sorted(p for p in place.iterdir() if p.is_dir() and _YEAR_DIR.match(p.name))


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def _name_year(name: str) -> int | None:
    years = [int(y) for y in _ANY_YEAR.findall(name) if int(y) in _YEARS]
    return years[-1] if years else None


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


def read_csv_text(
    source: SourceFile, report: ValidationReport
) -> tuple[pd.DataFrame | None, list[str]]:
    """Read a CSV file as text.

    Returns the rows (every file column as stripped strings under ``raw_col(name)``, plus
    ``_file``, ``_line`` and ``_bad``) and the column names as written in the file, or
    ``(None, [])`` when the file cannot be used (the reason is added to ``report``).
    Lines that are entirely blank are skipped; line numbers count the header as line 1.
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
        frame = pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_MINIMAL,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        report.add(
            Problem(
                source.name,
                None,
                None,
                None,
                "unreadable_file",
                f"not a readable CSV file ({reason})",
            )
        )
        return None, []
    names = [str(c).strip().lstrip("\ufeff") for c in frame.columns]
    frame.columns = [raw_col(n) for n in names]
    frame = frame.fillna("").astype(str)
    if len(frame):
        frame = frame.apply(lambda col: col.str.strip())
    lines_no = np.arange(2, len(frame) + 2)
    blank = (frame == "").all(axis=1).to_numpy() if len(frame.columns) else np.ones(0, bool)
    frame = frame.loc[~blank].reset_index(drop=True)
    if frame.empty:
        report.add(
            Problem(source.name, None, None, None, "empty_file", "the file has no data rows")
        )
        return None, []
    frame[FILE_COL] = source.name
    frame[LINE_COL] = lines_no[~blank]
    frame[BAD_COL] = pd.Series(None, index=frame.index, dtype=object)
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
