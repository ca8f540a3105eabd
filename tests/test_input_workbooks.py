"""Tables saved as Excel workbooks: read from the first sheet as the same text a CSV holds."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from care_demand.data.discovery import discover
from care_demand.data.loader import load_council
from care_demand.data.problems import ERROR, INFO, ValidationReport
from care_demand.data.validate import validate_folder
from care_demand.data.workbook import cell_text, read_sheet
from test_validate import BASE, KEY_ENV, RAW_IDS, config, one, write_council

KEY = b"test key for workbooks"
DATE_COLUMNS = {"DOB", "DECOM", "DEC", "CINreferralDate", "PersonBirthDate"}


@pytest.fixture(autouse=True)
def _test_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY.decode())


def typed(column: str, text: str) -> object:
    """A cell as a spreadsheet holds it: dates as dates, whole numbers as numbers."""
    if text == "":
        return None
    if column in DATE_COLUMNS:
        for form in ("%d/%m/%Y", "%Y-%m-%d"):
            try:
                return dt.datetime.strptime(text, form)
            except ValueError:
                continue
    if text.isdigit():
        return int(text)
    return text


def workbook_bytes(
    table: str, *, title_rows: int = 0, extra_sheet: bool = False, streamed: bool = False
) -> bytes:
    """The CSV text ``table`` as a workbook's first sheet of typed cells (``streamed``: as a
    program writing row by row saves it, each row ending at its last cell that holds a
    value)."""
    rows = list(csv.reader(io.StringIO(table)))
    book = openpyxl.Workbook(write_only=streamed)
    sheet = book.create_sheet("Return") if streamed else book.active
    sheet.title = "Return"
    for _ in range(title_rows):
        sheet.append([])
    sheet.append(rows[0])
    for row in rows[1:]:
        cells = [typed(c, v) for c, v in zip(rows[0], row, strict=True)]
        while streamed and cells and cells[-1] is None:
            cells.pop()
        sheet.append(cells)
    if extra_sheet:
        book.create_sheet("Notes").append(["exported from the case-management system"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def as_workbooks(names: list[str], **options: object) -> dict[str, str | bytes | None]:
    """The base council's files ``names`` replaced by workbooks of the same tables."""
    changes: dict[str, str | bytes | None] = {}
    for name in names:
        changes[name] = None
        changes[name[: -len(".csv")] + ".xlsx"] = workbook_bytes(BASE[name], **options)
    return changes


def test_a_cells_text_is_what_the_returns_write() -> None:
    assert cell_text(None) == ""
    assert cell_text(dt.datetime(2020, 9, 1)) == "2020-09-01"
    assert cell_text(dt.datetime(2020, 9, 1, 13, 30)) == "2020-09-01"
    assert cell_text(dt.date(2012, 1, 20)) == "2012-01-20"
    assert cell_text(100295) == "100295"
    assert cell_text(100295.0) == "100295"
    assert cell_text(2.5) == "2.5"
    assert cell_text(True) == "TRUE"
    assert cell_text(" U4 ") == " U4 "


def test_a_council_of_workbooks_reads_as_its_csv_files(tmp_path: Path) -> None:
    names = [n for n in BASE if n.startswith("ssda903/") or n == "cin_census.csv"]
    changes = as_workbooks([n for n in names if "episodes" not in n])
    changes |= as_workbooks([n for n in names if "episodes" in n], streamed=True)
    folder = write_council(tmp_path / "xlsx", changes)
    report = validate_folder(folder, config())
    assert report.problems == [], report.format()
    from_csv = load_council(write_council(tmp_path / "csv"), config())
    from_xlsx = load_council(folder, config())
    for table in ("header", "episodes", "cin"):
        pd.testing.assert_frame_equal(
            getattr(from_xlsx, table).reset_index(drop=True),
            getattr(from_csv, table).reset_index(drop=True),
        )
    # The workbooks' years come from their names and dates, as the CSV files' do.
    found = {s.name: (s.kind, s.year) for s in discover(folder, ValidationReport())}
    assert found["ssda903/episodes_2022.xlsx"] == ("episodes", 2022)
    assert found["ssda903/header_2021.xlsx"] == ("header", 2021)


def test_a_workbook_named_otherwise_is_recognised_by_its_columns(tmp_path: Path) -> None:
    changes = as_workbooks(["ssda903/episodes_2022.csv"], title_rows=2)
    changes["ssda903/2022 export.xlsx"] = changes.pop("ssda903/episodes_2022.xlsx")
    folder = write_council(tmp_path, changes)
    report = validate_folder(folder, config())
    assert report.problems == [], report.format()
    data = load_council(folder, config())
    good = load_council(write_council(tmp_path / "csv"), config())
    pd.testing.assert_frame_equal(
        data.episodes.reset_index(drop=True), good.episodes.reset_index(drop=True)
    )


def test_problems_name_the_workbooks_row_and_other_sheets(tmp_path: Path) -> None:
    table = BASE["ssda903/episodes_2022.csv"].replace("U6", "ZZ", 1)
    changes: dict[str, str | bytes | None] = {
        "ssda903/episodes_2022.csv": None,
        "ssda903/episodes_2022.xlsx": workbook_bytes(table, title_rows=1, extra_sheet=True),
    }
    report = validate_folder(write_council(tmp_path, changes), config())
    bad = one(report, "unknown_code")
    csv_line = next(i for i, line in enumerate(table.splitlines(), 1) if ",ZZ," in line)
    # One title row above the column names: Excel's row number is the CSV's line + 1.
    assert (bad.file, bad.row, bad.column, bad.value) == (
        "ssda903/episodes_2022.xlsx",
        csv_line + 1,
        "PLACE",
        "ZZ",
    )
    note = one(report, "sheets_not_read")
    assert note.severity == INFO and "'Return'" in note.message and "'Notes'" in note.message
    assert not RAW_IDS.search(report.format())


def test_an_unreadable_workbook_is_reported_not_raised(tmp_path: Path) -> None:
    changes: dict[str, str | bytes | None] = {
        "ssda903/episodes_2022.csv": None,
        "ssda903/episodes_2022.xlsx": b"PK\x03\x04 not really a workbook",
        "ssda903/old_export.xls": b"\xd0\xcf\x11\xe0 an Excel 97 file",
    }
    report = validate_folder(write_council(tmp_path, changes), config())
    broken = one(report, "unreadable_file")
    assert broken.file == "ssda903/episodes_2022.xlsx" and broken.severity == ERROR
    assert "workbook" in broken.message
    old = one(report, "not_recognised")
    assert old.file == "ssda903/old_export.xls" and ".xlsx or CSV" in old.message


def test_a_workbook_changed_since_it_was_read_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "episodes_2022.xlsx"
    path.write_bytes(workbook_bytes(BASE["ssda903/episodes_2022.csv"]))
    first = read_sheet(path)
    assert read_sheet(path, max_rows=2).records == first.records[:2]
    path.write_bytes(workbook_bytes(BASE["ssda903/episodes_2021.csv"], extra_sheet=True))
    again = read_sheet(path)
    assert again.others == ("Notes",)
    assert [row for _, row in again.records[1:]] == [
        [cell_text(typed(c, v)) for c, v in zip(again.records[0][1], row, strict=True)]
        for row in list(csv.reader(io.StringIO(BASE["ssda903/episodes_2021.csv"])))[1:]
    ]


def test_an_unusable_workbooks_rows_are_counted_as_dropped(tmp_path: Path) -> None:
    # The CIN census saved without its referral dates: none of its rows can be used.
    table = BASE["cin_census.csv"].replace("CINreferralDate", "ReferralDay")
    changes: dict[str, str | bytes | None] = {
        "cin_census.csv": None,
        "cin_census.xlsx": workbook_bytes(table),
    }
    data = load_council(write_council(tmp_path, changes), config(lenient=True))
    rows = len([line for line in table.splitlines()[1:] if line.strip()])
    assert data.dropped == {"missing_column": rows}
    assert data.dropped_rows[["file", "rule", "rows"]].values.tolist() == [
        ["cin_census.xlsx", "missing_column", rows]
    ]
