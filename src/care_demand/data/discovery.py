"""Finding a council's input files in a folder and checking the layout they make.

:func:`discover` walks the data folder (a few levels deep), recognises each file's table and
collection year (:mod:`care_demand.data.recognise`), lets the dates of each Episodes file
settle its return's year, and reports duplicate, missing and unrecognised files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from care_demand.data.csv_text import csv_header, filled, parse_dates, table_records
from care_demand.data.problems import INFO, WARNING, Problem, ValidationReport
from care_demand.data.recognise import (
    CIN,
    CIN_NAME,
    EARLY_HELP,
    EPISODES,
    HEADER,
    SSDA903_KINDS,
    TABLE_BY_KIND,
    UASC,
    SourceFile,
    data_year,
    kind_by_columns,
    kind_by_name,
    name_year,
)
from care_demand.data.ssda903_xml import sniff_ssda903_xml

__all__ = ["discover"]

# How deep below the data folder files are looked for (DIR/ssda903/2018-19/header.csv is 2).
_MAX_DEPTH = 4


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
        if path.suffix.lower() == ".xml" and not CIN_NAME.match(path.name):
            xml_sources += _ssda903_xml(path, name, folder, report)
            continue
        item = _classify(path, name, folder, report)
        if item is not None:
            found.append(item)
    _years_from_data(found, report)
    # SSDA903 tables first, then the CIN census and early help, each in folder order.
    found.sort(key=lambda item: item.kind not in SSDA903_KINDS)
    sources: list[SourceFile] = []
    for item in found:
        if item.kind in SSDA903_KINDS and not TABLE_BY_KIND[item.kind].used:
            continue
        if item.kind in SSDA903_KINDS and item.year is None:
            report.add_file_problem(
                item.name,
                "unknown_year",
                "cannot tell the collection year: name the file header_YYYY.csv / "
                "episodes_YYYY.csv or put it in a folder named after the year",
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
        report.add_file_problem(
            name,
            "unknown_year",
            "cannot tell the collection year of this SSDA903 XML: it has no Header "
            "<Year>, no year in its name and no dates",
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
    columns, empty = csv_header(path)
    by_columns = kind_by_columns(columns) if columns else None
    by_name = kind_by_name(path.name)
    kind = by_columns or by_name
    if kind is None:
        suffix = path.suffix.lower().lstrip(".")
        what = "an empty file" if empty else f"a .{suffix} file" if suffix else "a file"
        hint = "save the table as .xlsx or CSV" if path.suffix.lower() == ".xls" else ""
        _not_recognised(
            report,
            name,
            f"{what} that is none of the inputs by name or columns",
            hint,
        )
        return None
    table = TABLE_BY_KIND[kind]
    if not table.used:
        report.add_file_problem(
            name,
            "not_used",
            f"{table.label}: present, not used by this package"
            + (" (the file is empty)" if empty else ""),
            INFO,
        )
        return None
    if empty and kind == UASC:
        report.add_file_problem(name, "empty_file", "the file is empty: nothing read", INFO)
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
    report.add_file_problem(name, "not_recognised", detail, INFO)


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
        year, latest = data_year(*dates, item.year)
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
        if item.group in decided and item.kind in SSDA903_KINDS:
            item.year = decided[item.group]


def _episode_dates(path: Path) -> tuple[pd.Series, pd.Series] | None:
    """The DECOM and DEC dates of an Episodes file (``None`` when they cannot be read)."""
    records = filled(table_records(path) or [])
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


def _relative(path: Path, folder: Path) -> str:
    return path.relative_to(folder).as_posix()


def _check_layout(found: list[SourceFile], report: ValidationReport) -> list[SourceFile]:
    kept: list[SourceFile] = []
    seen: dict[tuple[str, int | None], SourceFile] = {}
    for source in found:
        key = (source.kind, source.year)
        if source.kind in (HEADER, EPISODES) and key in seen:
            report.add_file_problem(
                source.name,
                "duplicate_file",
                f"a second {source.kind} file for {source.year}; "
                f"{seen[key].name} is used and this one is ignored",
            )
            continue
        seen[key] = source
        kept.append(source)
    years = {k: sorted(s.year for s in kept if s.kind == k) for k in (HEADER, EPISODES)}
    if not years[HEADER] and not years[EPISODES]:
        report.add_file_problem(
            ".",
            "no_ssda903",
            "no SSDA903 files found: expected ssda903/header_YYYY.csv and "
            "ssda903/episodes_YYYY.csv (see docs/input_formats.md)",
        )
        return kept
    for kind, other in ((HEADER, EPISODES), (EPISODES, HEADER)):
        for year in sorted(set(years[other]) - set(years[kind])):
            partner = next(s for s in kept if s.kind == other and s.year == year)
            report.add_file_problem(
                partner.name,
                "missing_file",
                f"there is no {kind} file for {year} to go with this {other} file",
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
