"""Councils' files as they hold them: layouts, year names, tables recognised by their columns,
the collection year checked against the dates, repairs, short rows and dropped open episodes."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from care_demand.config import OutputConfig
from care_demand.data.history import build_history
from care_demand.data.io import EPISODES, HEADER, UASC, discover, name_year
from care_demand.data.loader import load_council
from care_demand.data.problems import ERROR, INFO, REPAIR, WARNING, ValidationReport
from care_demand.data.pseudonymise import EXAMPLE_DATA_DIR, pseudonymise
from care_demand.data.validate import validate_folder
from care_demand.outputs.summary import summarise_history
from test_validate import BASE, KEY_ENV, RAW_IDS, config, one, only, write_council

KEY = b"test key for validation"
H21, E21 = BASE["ssda903/header_2021.csv"], BASE["ssda903/episodes_2021.csv"]
H22, E22 = BASE["ssda903/header_2022.csv"], BASE["ssda903/episodes_2022.csv"]
NO_SSDA903: dict[str, str | bytes | None] = {n: None for n in BASE if n.startswith("ssda903")}


@pytest.fixture(autouse=True)
def _test_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY.decode())


def pid(raw: str) -> str:
    return pseudonymise([raw], KEY)[0]


def layout(tmp_path: Path, files: dict[str, str | bytes | None]) -> Path:
    """The base council with its SSDA903 files replaced by ``files``."""
    return write_council(tmp_path, NO_SSDA903 | files)


def years(folder: Path) -> dict[str, tuple[str, int | None]]:
    report = ValidationReport()
    return {s.name: (s.kind, s.year) for s in discover(folder, report)}


@pytest.fixture
def good(tmp_path: Path) -> pd.DataFrame:
    return load_council(write_council(tmp_path / "good"), config()).episodes


# --- the year in a name -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "year"),
    [
        ("header_2019", 2019),
        ("2019-episodes", 2019),
        ("episodes 2018-19", 2019),
        ("episodes_201819", 2019),
        ("episodes_1819", 2019),
        ("episodes_2018_19", 2019),
        ("episodes_2018-2019", 2019),
        ("2018-19", 2019),
        ("2019", 2019),
        ("episodes 18-19", 2019),
        ("episodes", None),
        ("ssda903", None),
    ],
)
def test_name_year_forms(name: str, year: int | None) -> None:
    assert name_year(name) == year


# --- layouts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "files",
    [
        # year first
        {"2021-header.csv": H21, "2021-episodes.csv": E21, "2022-header.csv": H22,
         "2022-episodes.csv": E22},
        # the year as 2020-21, 202021, 2021_22 and 2122
        {"ssda903/header 2020-21.csv": H21, "ssda903/episodes 2020-21.csv": E21,
         "ssda903/header_202122.csv": H22, "ssda903/episodes_2122.csv": E22},
        {"header_2020_21.csv": H21, "episodes_2020_21.csv": E21, "header_2021_22.csv": H22,
         "episodes_2021_22.csv": E22},
        # year folders named 2020-21, inside ssda903/ or not
        {"ssda903/2020-21/header.csv": H21, "ssda903/2020-21/episodes.csv": E21,
         "2021-22/header.csv": H22, "2021-22/episodes.csv": E22},
        # nested below a folder without a year
        {"combined/2021-episodes.csv": E21, "combined/2021-header.csv": H21,
         "combined/more/2022-episodes.csv": E22, "combined/more/2022-header.csv": H22},
    ],
    ids=["year-first", "year-spans", "underscore-spans", "span-folders", "nested"],
)  # fmt: skip
def test_layouts_read_like_our_own(
    tmp_path: Path, files: dict[str, str | bytes | None], good: pd.DataFrame
) -> None:
    folder = layout(tmp_path, files)
    found = years(folder)
    assert sorted(y for k, y in found.values() if k == EPISODES) == [2021, 2022]
    assert sorted(y for k, y in found.values() if k == HEADER) == [2021, 2022]
    report = validate_folder(folder, config())
    assert report.problems == [], report.format()
    data = load_council(folder, config())
    pd.testing.assert_frame_equal(data.episodes, good)
    assert data.window_end == pd.Timestamp("2022-03-31")


UASC_2021 = "CHILD,SEX,DOB,DUC\nRAWID002,2,20/01/2012,20/01/2030\n"
REVIEWS = "CHILD,DOB,REVIEW,REVIEW_CODE\nRAWID001,15/06/2010,01/10/2020,PN1\n"


def csdm_files() -> dict[str, str | bytes | None]:
    """cs-demand-model's layout: one folder per year named by the year the return starts."""
    return {
        "2020/header.csv": H21,
        "2020/episodes.csv": E21,
        "2020/uasc.csv": UASC_2021,
        "2020/reviews.csv": REVIEWS,
        "2020/ad1.csv": b"",
        "2021/header.csv": H22,
        "2021/episodes.csv": E22,
        "2021/uasc.csv": b"\n",
        "2021/reviews.csv": REVIEWS,
    }


def test_start_year_folders_are_read_by_their_dates(tmp_path: Path, good: pd.DataFrame) -> None:
    folder = layout(tmp_path, csdm_files())
    found = years(folder)
    # The data win: 2020/ holds April 2020 - March 2021, the 2021 return; its Header and UASC
    # files follow the Episodes file beside them.
    assert found["2020/episodes.csv"] == (EPISODES, 2021)
    assert found["2020/header.csv"] == (HEADER, 2021)
    assert found["2020/uasc.csv"] == (UASC, 2021)
    assert found["2021/header.csv"] == (HEADER, 2022)
    assert "2021/uasc.csv" not in found  # empty: listed, not read
    report = validate_folder(folder, config())
    assert report.ok, report.format()
    warned = only(report, "year_from_data")
    assert [p.file for p in warned] == ["2020/episodes.csv", "2021/episodes.csv"]
    assert all(p.severity == WARNING for p in warned)
    assert warned[0].message == (
        "folder 2020/ suggests the 2020 return (April 2019 - March 2020), but its episodes "
        "run to 2020-12-15: read as the 2021 return (April 2020 - March 2021); "
        "header.csv, uasc.csv beside it are read as the same return"
    )
    data = load_council(folder, config())
    pd.testing.assert_frame_equal(data.episodes, good)
    assert (data.window_start, data.window_end) == (
        pd.Timestamp("2020-04-01"),
        pd.Timestamp("2022-03-31"),
    )
    # A run says so in its data summary, with the count per rule.
    assert data.warnings["year_from_data"] == 2
    history = build_history(data, config())
    summary = summarise_history(history, OutputConfig(), synthetic=False, warnings=data.warnings)
    assert "year_from_data 2" in summary.markdown.split("\n## ", 1)[0]


def test_tables_not_used_and_empty_files_are_listed_not_errors(tmp_path: Path) -> None:
    report = validate_folder(layout(tmp_path, csdm_files()), config())
    notes = {p.file: p for p in report.notes}
    assert set(notes) == {
        "2020/reviews.csv",
        "2021/reviews.csv",
        "2020/ad1.csv",
        "2021/uasc.csv",
    }
    assert notes["2020/reviews.csv"].rule == "not_used"
    assert "SSDA903 reviews: present, not used" in notes["2020/reviews.csv"].message
    assert "empty" in notes["2020/ad1.csv"].message and notes["2021/uasc.csv"].severity == INFO
    text = report.format()
    assert "Files present but not read (4):" in text and "2020/ad1.csv" in text
    assert set(report.to_frame().query("severity == 'info'")["file"]) == set(notes)


def test_name_disagreeing_with_dates_names_both(tmp_path: Path, good: pd.DataFrame) -> None:
    folder = layout(
        tmp_path,
        {"header_2020.csv": H21, "episodes_2020.csv": E21, "header_2022.csv": H22,
         "episodes_2022.csv": E22},
    )  # fmt: skip
    problem = one(validate_folder(folder, config()), "year_from_data")
    assert problem.file == "episodes_2020.csv" and problem.value == "2020"
    assert problem.message.startswith(
        "the name episodes_2020.csv suggests the 2020 return (April 2019 - March 2020), "
        "but its episodes run to 2020-12-15: read as the 2021 return"
    )
    assert "header_2020.csv beside it is read as the same return" in problem.message
    pd.testing.assert_frame_equal(load_council(folder, config()).episodes, good)


def test_a_stray_late_date_does_not_move_the_year(tmp_path: Path) -> None:
    late = E21 + "RAWID002,01/01/2021,S,C1,N1,U4,PR1,01/04/2021,E4A,,,,\n"
    report = validate_folder(write_council(tmp_path, {"ssda903/episodes_2021.csv": late}), config())
    assert only(report, "year_from_data") == []
    assert one(report, "date_after_year_end").row == 6


def test_episodes_without_a_year_in_the_name_take_it_from_their_dates(tmp_path: Path) -> None:
    folder = layout(
        tmp_path, {"returns/header.csv": H21, "returns/episodes.csv": E21, "2022/header.csv": H22,
                   "2022/episodes.csv": E22},
    )  # fmt: skip
    found = years(folder)
    assert found["returns/episodes.csv"] == (EPISODES, 2021)
    assert found["returns/header.csv"] == (HEADER, 2021)
    problem = one(validate_folder(folder, config()), "year_from_data")
    assert "has no year in its name or folder" in problem.message


def test_tables_are_recognised_by_their_columns(tmp_path: Path, good: pd.DataFrame) -> None:
    folder = layout(
        tmp_path,
        {"2021/cla_export_a.csv": H21, "2021/cla_export_b.csv": E21,
         "2022/children.csv": H22, "2022/903_periods.csv": E22,
         "2022/asylum.csv": UASC_2021.replace("2030", "2031")},
    )  # fmt: skip
    found = years(folder)
    assert found["2021/cla_export_a.csv"] == (HEADER, 2021)
    assert found["2022/903_periods.csv"] == (EPISODES, 2022)
    assert found["2022/asylum.csv"] == (UASC, 2022)
    pd.testing.assert_frame_equal(load_council(folder, config()).episodes, good)


def test_unrecognised_files_are_listed_by_name(tmp_path: Path) -> None:
    folder = write_council(
        tmp_path,
        {
            "notes.txt": "read me",
            "ssda903/extract.xlsx": b"PK\x03\x04",
            "ssda903/extract.xls": b"\xd0\xcf\x11\xe0",
            "ssda903/lookup.csv": "a,b\n1,2\n",
            "ssda903/blank.csv": b"",
        },
    )
    report = validate_folder(folder, config())
    assert report.ok
    listed = {p.file: p for p in only(report, "not_recognised")}
    assert set(listed) == {
        "notes.txt",
        "ssda903/extract.xlsx",
        "ssda903/extract.xls",
        "ssda903/lookup.csv",
        "ssda903/blank.csv",
    }
    assert all(p.severity == INFO for p in listed.values())
    assert "save the table as .xlsx or CSV" in listed["ssda903/extract.xls"].message
    assert "empty" in listed["ssda903/blank.csv"].message
    assert len(load_council(folder, config()).episodes) == 4


def test_built_in_example_years_agree_with_its_dates() -> None:
    report = validate_folder(None, config())
    assert only(report, "year_from_data") == []
    for name, (kind, year) in years(EXAMPLE_DATA_DIR).items():
        if kind in (HEADER, EPISODES):
            assert name_year(Path(name).stem) == year


def test_uasc_is_discovered_and_does_not_stop_the_check(tmp_path: Path) -> None:
    folder = write_council(tmp_path, {"ssda903/uasc_2021.csv": UASC_2021})
    assert years(folder)["ssda903/uasc_2021.csv"] == (UASC, 2021)
    report = validate_folder(folder, config())
    assert report.problems == [], report.format()
    assert "ssda903/uasc_2021.csv" in report.files


# --- line ends, repairs --------------------------------------------------------------------


@pytest.mark.parametrize("end", ["\r\n", "\r"])
def test_crlf_and_cr_line_ends_read_like_lf(tmp_path: Path, end: str, good: pd.DataFrame) -> None:
    changes: dict[str, str | bytes | None] = {
        name: BASE[name].replace("\n", end).encode() for name in BASE
    }
    data = load_council(write_council(tmp_path, changes), config())
    pd.testing.assert_frame_equal(data.episodes, good)
    assert data.repairs == {}


def test_padded_and_lower_case_values_are_repaired_and_counted(
    tmp_path: Path, good: pd.DataFrame
) -> None:
    text = E21.replace(",U6,PR4,", ", u6 ,pr4 ,").replace(",S,C1,", ",s,C1,")
    folder = write_council(tmp_path, {"ssda903/episodes_2021.csv": text})
    report = validate_folder(folder, config())
    assert report.ok and not report.warnings
    assert report.repairs == {"code_case": 3, "padded_cell": 2}
    frame = report.to_frame()
    repairs = frame.loc[frame["severity"] == REPAIR]
    assert set(repairs["rule"]) == {"code_case", "padded_cell"}
    assert "repaired: spaces around 2 value(s) removed" in set(repairs["message"])
    assert "Values repaired per rule" in report.format()
    data = load_council(folder, config())
    assert data.repairs == {"code_case": 3, "padded_cell": 2}
    pd.testing.assert_frame_equal(data.episodes, good)


def test_rec_on_open_episodes_is_ignored_and_counted(tmp_path: Path, good: pd.DataFrame) -> None:
    text = E21.replace("PR4,,,CARPL", "PR4,,X1,CARPL").replace("PR4,,,,,,", "PR4,,E9,,,,")
    folder = write_council(tmp_path, {"ssda903/episodes_2021.csv": text})
    data = load_council(folder, config())  # strict: no longer an error
    assert data.repairs == {"rec_on_open_episode": 2}
    assert data.dropped == {}
    pd.testing.assert_frame_equal(data.episodes, good)
    report = validate_folder(folder, config())
    assert one(report, "rec_on_open_episode").message == (
        "repaired: REC given on 2 open episode(s) (no DEC) was ignored"
    )


def test_trailing_commas_and_left_out_trailing_cells(tmp_path: Path, good: pd.DataFrame) -> None:
    lines = E21.splitlines()
    lines[1] += ",,"  # two empty fields past the last column
    lines[4] = "RAWID003,01/06/2020,S,V2,N5,H5,PR4"  # open, optional trailing cells left out
    folder = write_council(tmp_path, {"ssda903/episodes_2021.csv": "\n".join(lines) + "\n"})
    report = validate_folder(folder, config())
    assert report.ok, report.format()
    assert report.repairs == {"extra_blank_fields": 1, "missing_trailing_fields": 1}
    pd.testing.assert_frame_equal(load_council(folder, config()).episodes, good)


# --- short and long rows -------------------------------------------------------------------


def test_short_row_is_one_problem(tmp_path: Path) -> None:
    text = E21 + "RAWID002,01/01/2021,S\n"
    report = validate_folder(write_council(tmp_path, {"ssda903/episodes_2021.csv": text}), config())
    problem = one(report, "short_row")
    assert (problem.file, problem.row, problem.severity) == ("ssda903/episodes_2021.csv", 6, ERROR)
    assert problem.message.startswith("row 6 has 3 of 13 fields")
    assert [p for p in report.problems if p.row == 6] == [problem]


def test_last_line_cut_short_is_a_short_row(tmp_path: Path) -> None:
    # The file ends inside a line: DEC and REC may have been lost, so the row is not read.
    text = E22.rstrip("\n")[: -len(",01/01/2022,E17")]
    report = validate_folder(write_council(tmp_path, {"ssda903/episodes_2022.csv": text}), config())
    assert one(report, "short_row").message.startswith("row 3 has 7 of 9 fields")


def test_long_row_is_reported_precisely(tmp_path: Path) -> None:
    text = E21 + "RAWID002,01/01/2021,S,C1,N1,U4,PR1,02/01/2021,E4A,,,,,extra\n"
    report = validate_folder(write_council(tmp_path, {"ssda903/episodes_2021.csv": text}), config())
    problem = one(report, "long_row")
    assert problem.row == 6
    assert problem.message == "row 6 has 14 fields but the first line has 13"
    assert [p for p in report.problems if p.row == 6] == [problem]


def test_lenient_drops_short_and_long_rows_and_counts_open_episodes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = (
        E21
        + "RAWID002,01/01/2021,S\n"  # short, open (no DEC)
        + "RAWID002,01/02/2021,S,C1,N1,U4,PR1,02/02/2021,E4A,,,,,extra\n"  # long, closed
        + "RAWID004,01/02/2021,S,C1,N1,U4,PR1,,,,,,\n"  # open, child in no Header
    )
    folder = write_council(tmp_path, {"ssda903/episodes_2021.csv": text})
    with caplog.at_level(logging.WARNING, logger="care_demand.data.loader"):
        data = load_council(folder, config(lenient=True))
    assert data.dropped == {"child_not_in_header": 1, "long_row": 1, "short_row": 1}
    assert data.dropped_open == {"child_not_in_header": 1, "short_row": 1}
    assert data.dropped_open_total == 2
    rows = data.dropped_rows
    assert list(rows.columns) == [
        "file",
        "line",
        "rule",
        "child_id",
        "open_episode",
        "rows",
        "kept_from_other_return",
    ]
    assert rows[["line", "rule"]].values.tolist() == [
        [6, "short_row"],
        [7, "long_row"],
        [8, "child_not_in_header"],
    ]
    assert rows["open_episode"].tolist() == [True, False, True]
    assert rows["child_id"].tolist() == [pid("RAWID002"), pid("RAWID002"), pid("RAWID004")]
    assert not RAW_IDS.search(rows.to_csv())
    # The log leads with the open episodes lost.
    first = caplog.records[0].getMessage()
    assert "2 OPEN care episode(s)" in first and "short_row 1" in first


def test_open_episode_dropped_from_one_return_but_read_from_another(tmp_path: Path) -> None:
    # RAWID001's episode from 01/09/2020 is open in 2021 (here with a bad LS code) and
    # closed in 2022: nothing is lost.
    text = E21.replace("P,C2,N1,U6,PR4,,", "P,Q9,N1,U6,PR4,,")
    folder = write_council(tmp_path, {"ssda903/episodes_2021.csv": text})
    data = load_council(folder, config(lenient=True))
    assert data.dropped == {"unknown_code": 1}
    assert data.dropped_open == {}
    assert data.dropped_rows["kept_from_other_return"].tolist() == [True]


def test_whole_file_dropped_is_in_the_dropped_rows(tmp_path: Path) -> None:
    without_dates = BASE["cin_census.csv"].replace("CINreferralDate", "ReferralDay")
    folder = write_council(tmp_path, {"cin_census.csv": without_dates})
    data = load_council(folder, config(lenient=True))
    rows = data.dropped_rows
    assert rows[["file", "rule", "rows"]].values.tolist() == [
        ["cin_census.csv", "missing_column", 2]
    ]
    assert pd.isna(rows.loc[0, "line"])


def test_no_drops_gives_empty_tables(tmp_path: Path) -> None:
    data = load_council(write_council(tmp_path), config())
    assert data.dropped_open == {} and data.repairs == {}
    assert data.dropped_rows.empty and "rule" in data.dropped_rows.columns
