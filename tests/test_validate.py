"""Validation of council folders: each rule is reported with file, row, column and value."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import yaml

from care_demand.config import DataConfig
from care_demand.data.loader import load_council
from care_demand.data.problems import (
    ERROR,
    REPAIR,
    RULES,
    WARNING,
    Problem,
    ValidationReport,
)
from care_demand.data.validate import validate_folder

KEY_ENV = "CARE_DEMAND_TEST_PSEUDONYM_KEY"

EPISODE_HEAD = (
    "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN"
)
CIN_HEAD = (
    "LAchildID,PersonBirthDate,CINreferralDate,ReferralNFA,AssessmentActualStartDate,"
    "AssessmentAuthorisationDate,CINPlanStartDate,CINPlanEndDate,S47ActualStartDate,"
    "DateOfInitialCPC,ICPCnotRequired,CPPstartDate,CPPendDate,CINclosureDate,ReasonForClosure"
)

# A small valid council: two SSDA903 years, a CIN census and early help. Child ids are
# distinctive so tests can check they never appear in reports.
BASE: dict[str, str] = {
    "ssda903/header_2021.csv": (
        "CHILD,SEX,DOB,ETHNIC,UPN\n"
        "RAWID001,1,15/06/2010,WBRI,\n"
        "RAWID002,2,2012-01-20,WBRI,\n"
        "RAWID003,1,01/01/2004,WBRI,\n"
    ),
    "ssda903/episodes_2021.csv": (
        f"{EPISODE_HEAD}\n"
        "RAWID001,01/05/2020,S,C1,N1,U4,PR1,01/09/2020,X1,,DT1 1AA,BH1 1AA,SC1\n"
        "RAWID001,01/09/2020,P,C2,N1,U6,PR4,,,CARPL,DT1 1AA,BH1 1AA,SC2\n"
        "RAWID002,10/10/2020,S,V2,N4,K2,PR4,15/12/2020,E4A,,DT1 1AA,,\n"
        "RAWID003,01/06/2020,S,V2,N5,H5,PR4,,,,,,\n"
    ),
    "ssda903/header_2022.csv": "CHILD,SEX,DOB\nRAWID001,1,15/06/2010\nRAWID003,1,01/01/2004\n",
    "ssda903/episodes_2022.csv": (
        "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC\n"
        "RAWID001,01/09/2020,P,C2,N1,U6,PR4,01/03/2022,E4B\n"
        "RAWID003,01/06/2020,S,V2,N5,H5,PR4,01/01/2022,E17\n"
    ),
    "cin_census.csv": (
        f"{CIN_HEAD}\n"
        "RAWID001,15/06/2010,01/02/2020,false,03/02/2020,20/02/2020,,,05/02/2020,20/02/2020,"
        "false,20/02/2020,30/04/2020,01/05/2020,RC7\n"
        "RAWID101,01/01/2015,01/03/2021,true,,,,,,,,,,05/03/2021,RC8\n"
    ),
    "early_help.csv": (
        "child_id,date_of_birth,start_date,end_date,end_reason\n"
        "RAWID002,20/01/2012,01/01/2020,01/09/2020,step_up\n"
        "RAWID201,2016-05-05,2021-01-01,,\n"
    ),
}
RAW_IDS = re.compile(r"RAWID\d+")


@pytest.fixture(autouse=True)
def _test_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "test key for validation")


def config(**changes: object) -> DataConfig:
    """A DataConfig reading the pseudonym key from the test's environment variable."""
    settings: dict[str, object] = {"pseudonym_key_env": KEY_ENV, **changes}
    return DataConfig(**settings)  # type: ignore[arg-type]


def write_council(
    root: Path, changes: dict[str, str | bytes | None] | None = None, base: bool = True
) -> Path:
    """Write the base council (optionally not) with files replaced, added or (None) removed."""
    files: dict[str, str | bytes | None] = dict(BASE) if base else {}
    files.update(changes or {})
    folder = root / "council"
    for name, content in files.items():
        if content is None:
            continue
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def plus(name: str, *rows: str) -> dict[str, str]:
    """A change appending rows to a base file."""
    return {name: BASE[name] + "".join(f"{row}\n" for row in rows)}


def check(
    tmp_path: Path, changes: dict[str, str | bytes | None], **cfg: object
) -> ValidationReport:
    return validate_folder(write_council(tmp_path, changes), config(**cfg))


def only(report: ValidationReport, rule: str) -> list[Problem]:
    assert rule in RULES
    assert report.rules() <= RULES.keys(), report.rules() - RULES.keys()
    return [p for p in report.problems if p.rule == rule]


def one(report: ValidationReport, rule: str) -> Problem:
    found = only(report, rule)
    assert len(found) == 1, report.format()
    return found[0]


# ---------------------------------------------------------------------------------------


def test_base_council_has_no_problems(tmp_path: Path) -> None:
    report = check(tmp_path, {})
    assert report.problems == [], report.format()
    assert report.ok
    assert len(report.files) == 6
    assert "no problems found in 6 file(s)" in report.format()


def test_missing_required_column(tmp_path: Path) -> None:
    text = (
        "CHILD,DECOM,RNE,CIN,PLACE,PLACE_PROVIDER,DEC,REC\n"
        "RAWID001,01/09/2020,P,N1,U6,PR4,01/03/2022,E4B\n"
    )
    report = check(tmp_path, {"ssda903/episodes_2022.csv": text})
    problem = one(report, "missing_column")
    assert (problem.file, problem.row, problem.column) == ("ssda903/episodes_2022.csv", 1, "LS")
    assert not report.ok


def test_missing_columns_are_all_reported(tmp_path: Path) -> None:
    text = "child_id,something\nRAWID201,1\n"
    report = check(tmp_path, {"early_help.csv": text})
    assert {p.column for p in only(report, "missing_column")} == {"date_of_birth", "start_date"}


@pytest.mark.parametrize("content", [b"", "CHILD,SEX,DOB\n", "CHILD,SEX,DOB\n\n,,\n"])
def test_empty_file(tmp_path: Path, content: str | bytes) -> None:
    report = check(tmp_path, {"ssda903/header_2022.csv": content})
    problem = one(report, "empty_file")
    assert problem.file == "ssda903/header_2022.csv"
    assert problem.row is None


@pytest.mark.parametrize("value", ["31/02/2021", "2021/01/05", "05-01-2021", "yesterday", "1/5/21"])
def test_unparseable_date(tmp_path: Path, value: str) -> None:
    report = check(
        tmp_path, plus("ssda903/episodes_2021.csv", f"RAWID002,{value},S,C1,N1,U4,PR1,,,,,,")
    )
    problem = one(report, "bad_date")
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "ssda903/episodes_2021.csv",
        6,
        "DECOM",
        value,
    )


@pytest.mark.parametrize(
    ("name", "row", "column"),
    [
        (
            "ssda903/episodes_2021.csv",
            "RAWID002,01/01/2021,S,C1,N1,U4,PR1,01/12/2020,E4A,,,,",
            "DEC",
        ),
        (
            "cin_census.csv",
            "RAWID102,01/01/2015,01/03/2021,false,,,,,,,,10/03/2021,01/03/2021,,",
            "CPPendDate",
        ),
        (
            "cin_census.csv",
            "RAWID102,01/01/2015,01/03/2021,true,,,,,,,,,,28/02/2021,RC8",
            "CINclosureDate",
        ),
        (
            "cin_census.csv",
            "RAWID102,01/01/2015,01/03/2021,false,05/03/2021,04/03/2021,,,,,,,,,",
            "AssessmentAuthorisationDate",
        ),
        (
            "cin_census.csv",
            "RAWID102,01/01/2015,01/03/2021,false,,,05/03/2021,04/03/2021,,,,,,,",
            "CINPlanEndDate",
        ),
        ("early_help.csv", "RAWID202,01/01/2015,01/03/2021,01/02/2021,other", "end_date"),
    ],
)
def test_end_before_start(tmp_path: Path, name: str, row: str, column: str) -> None:
    report = check(tmp_path, plus(name, row))
    problem = one(report, "end_before_start")
    assert (problem.file, problem.column) == (name, column)
    assert problem.row == BASE[name].count("\n") + 1


@pytest.mark.parametrize(
    ("changes", "file", "column"),
    [
        (
            {
                "ssda903/header_2022.csv": "CHILD,SEX,DOB\nRAWID001,1,15/06/2010\n"
                "RAWID003,1,01/01/2004\nRAWID004,2,01/01/2021\n"
            },
            "ssda903/episodes_2022.csv",
            "DECOM",
        ),
        (
            plus("cin_census.csv", "RAWID102,01/04/2021,01/03/2021,true,,,,,,,,,,,"),
            "cin_census.csv",
            "CINreferralDate",
        ),
        (
            plus("early_help.csv", "RAWID202,01/04/2021,01/03/2021,,"),
            "early_help.csv",
            "start_date",
        ),
    ],
)
def test_birth_after_start(
    tmp_path: Path, changes: dict[str, str | bytes | None], file: str, column: str
) -> None:
    if file.startswith("ssda903"):
        changes = {**changes, **plus(file, "RAWID004,01/06/2020,S,V2,N1,U4,PR1,,")}
    report = check(tmp_path, changes)
    problem = one(report, "birth_after_start")
    assert (problem.file, problem.column) == (file, column)


@pytest.mark.parametrize(
    ("name", "row", "column", "value"),
    [
        ("ssda903/episodes_2021.csv", "RAWID002,01/01/2021,S,C1,N1,Q9,PR1,,,,,,", "PLACE", "Q9"),
        (
            "ssda903/episodes_2021.csv",
            "RAWID002,01/01/2021,S,C1,N1,U4,PR9,,,,,,",
            "PLACE_PROVIDER",
            "PR9",
        ),
        ("ssda903/episodes_2021.csv", "RAWID002,01/01/2021,S,X9,N1,U4,PR1,,,,,,", "LS", "X9"),
        ("ssda903/episodes_2021.csv", "RAWID002,01/01/2021,Z,C1,N1,U4,PR1,,,,,,", "RNE", "Z"),
        (
            "ssda903/episodes_2021.csv",
            "RAWID002,01/01/2021,S,C1,N1,U4,PR1,02/01/2021,E99,,,,",
            "REC",
            "E99",
        ),
        ("ssda903/episodes_2021.csv", "RAWID002,01/01/2021,S,C1,N9,U4,PR1,,,,,,", "CIN", "N9"),
        (
            "cin_census.csv",
            "RAWID102,01/01/2015,01/03/2021,true,,,,,,,,,,05/03/2021,RC10",
            "ReasonForClosure",
            "RC10",
        ),
        ("ssda903/header_2022.csv", "RAWID009,3,01/01/2015", "SEX", "3"),
        (
            "early_help.csv",
            "RAWID202,01/01/2015,01/03/2021,01/04/2021,happy",
            "end_reason",
            "happy",
        ),
    ],
)
def test_unknown_code(tmp_path: Path, name: str, row: str, column: str, value: str) -> None:
    report = check(tmp_path, plus(name, row))
    problem = one(report, "unknown_code")
    assert (problem.file, problem.column, problem.value) == (name, column, value)
    assert problem.row == BASE[name].count("\n") + 1


def test_codes_are_case_insensitive(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        plus("ssda903/episodes_2021.csv", "RAWID002,01/01/2021,s,c1,n1,u4,pr1,05/01/2021,e4a,,,,"),
    )
    assert report.ok and not report.warnings, report.format()
    # Each code read in upper case is counted as a repair of the file.
    assert report.repairs == {"code_case": 6}
    assert report.repair_counts == {("ssda903/episodes_2021.csv", "code_case"): 6}


def test_unmapped_placement(tmp_path: Path) -> None:
    mapping = yaml.safe_load(
        (Path(DataConfig().resolve(DataConfig().placement_groups_file))).read_text()
    )
    mapping["rules"] = [r for r in mapping["rules"] if r["group"] != "ifa"]
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text(yaml.safe_dump(mapping))
    report = check(tmp_path, {}, placement_groups_file=str(mapping_file))
    problems = only(report, "unmapped_placement")
    assert [(p.file, p.row, p.column, p.value) for p in problems] == [
        ("ssda903/episodes_2021.csv", 3, "PLACE", "U6"),
        ("ssda903/episodes_2022.csv", 2, "PLACE", "U6"),
    ]
    assert "PR4" in problems[0].message


def test_bad_mapping_file_is_reported(tmp_path: Path) -> None:
    mapping_file = tmp_path / "mapping.yaml"
    mapping_file.write_text("rules:\n  - group: castle\n    places: [U1]\n")
    report = check(tmp_path, {}, placement_groups_file=str(mapping_file))
    assert "castle" in one(report, "bad_mapping").message


def test_missing_provider(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        plus(
            "ssda903/episodes_2021.csv",
            "RAWID002,01/01/2021,S,C1,N1,U4,,05/01/2021,X1,,,,",
            "RAWID002,05/01/2021,T,C1,N1,T1,,10/01/2021,X1,,,,",
            "RAWID002,10/01/2021,T,C1,N1,Z1,,,,,,,",
        ),
    )
    problem = one(report, "missing_provider")
    assert (problem.row, problem.column) == (6, "PLACE_PROVIDER")
    assert "U4" in problem.message


def test_rec_without_dec_is_repaired_and_dec_without_rec_is_an_error(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        plus(
            "ssda903/episodes_2021.csv",
            "RAWID002,01/01/2021,S,C1,N1,U4,PR1,,E4A,,,,",
            "RAWID004,01/01/2021,S,C1,N1,U4,PR1,02/01/2021,,,,,",
            "RAWID005,01/02/2021,S,C1,N1,U4,PR1,,X1,,,,",
        ),
    )
    # REC on an open episode has one meaning (the episode is open): ignored and counted.
    assert only(report, "reason_without_end") == []
    assert report.repairs == {"rec_on_open_episode": 2}
    repair = one(report, "rec_on_open_episode")
    assert repair.severity == REPAIR and repair.file == "ssda903/episodes_2021.csv"
    assert "REC given on 2 open episode(s)" in repair.message
    assert one(report, "end_without_reason").row == 7


def test_overlapping_episodes(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        plus("ssda903/episodes_2021.csv", "RAWID002,01/12/2020,P,V2,N4,U4,PR1,,,,,,"),
    )
    problem = one(report, "overlapping_episodes")
    assert (problem.file, problem.row, problem.column) == ("ssda903/episodes_2021.csv", 6, "DECOM")
    assert "15/12/2020" in problem.message


def test_open_episode_followed_by_later_one_across_years(tmp_path: Path) -> None:
    # RAWID002 gets an open episode in 2021 that 2022 never closes, and a new one in 2022.
    changes = plus("ssda903/episodes_2021.csv", "RAWID002,01/01/2021,S,V2,N4,U4,PR1,,,,,,")
    changes |= plus("ssda903/episodes_2022.csv", "RAWID002,01/06/2021,S,V2,N4,U4,PR1,,")
    changes["ssda903/header_2022.csv"] = BASE["ssda903/header_2022.csv"] + "RAWID002,2,2012-01-20\n"
    report = check(tmp_path, changes)
    problem = one(report, "overlapping_episodes")
    assert (problem.file, problem.row) == ("ssda903/episodes_2022.csv", 4)
    assert "still open" in problem.message
    warning = one(report, "open_not_in_next_return")
    assert (warning.file, warning.row, warning.severity) == (
        "ssda903/episodes_2021.csv",
        6,
        WARNING,
    )


def test_episode_closed_in_later_return_is_not_an_overlap(tmp_path: Path) -> None:
    # The base data: RAWID001's episode open in 2021 is closed in 2022 (latest return wins).
    report = check(tmp_path, {})
    assert not only(report, "overlapping_episodes")


def test_dob_conflict_across_years(tmp_path: Path) -> None:
    changes = {
        "ssda903/header_2022.csv": "CHILD,SEX,DOB\nRAWID001,1,16/06/2010\nRAWID003,1,01/01/2004\n"
    }
    report = check(tmp_path, changes)
    # The latest Header is the reference: the 2021 Header and the CIN census disagree with it.
    problems = only(report, "dob_conflict")
    assert [(p.file, p.row, p.column, p.value) for p in problems] == [
        ("ssda903/header_2021.csv", 2, "DOB", "15/06/2010"),
        ("cin_census.csv", 2, "PersonBirthDate", "15/06/2010"),
    ]
    assert "16/06/2010" in problems[0].message and "header_2022.csv" in problems[0].message


def test_dob_conflict_across_sources(tmp_path: Path) -> None:
    report = check(
        tmp_path, plus("early_help.csv", "RAWID001,14/06/2010,01/01/2019,01/02/2019,other")
    )
    problem = one(report, "dob_conflict")
    assert (problem.file, problem.row, problem.column) == ("early_help.csv", 4, "date_of_birth")


@pytest.mark.parametrize(
    ("dob", "dec", "rec", "flagged"),
    [
        ("01/01/2003", "", "", True),  # open, 18 on 01/01/2021 before the window end
        ("01/01/2004", "01/01/2022", "E17", False),  # ends on the 18th birthday
        ("01/01/2004", "02/01/2022", "E17", True),  # ends the day after
        ("01/06/2004", "", "", False),  # open, 18 on 01/06/2022 after the window end
    ],
)
def test_open_past_18(tmp_path: Path, dob: str, dec: str, rec: str, flagged: bool) -> None:
    changes = {
        "ssda903/header_2022.csv": f"CHILD,SEX,DOB\nRAWID001,1,15/06/2010\nRAWID003,1,{dob}\n",
        "ssda903/header_2021.csv": BASE["ssda903/header_2021.csv"].replace("01/01/2004", dob),
        "ssda903/episodes_2022.csv": (
            "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC\n"
            "RAWID001,01/09/2020,P,C2,N1,U6,PR4,01/03/2022,E4B\n"
            f"RAWID003,01/06/2020,S,V2,N5,H5,PR4,{dec},{rec}\n"
        ),
    }
    report = check(tmp_path, changes)
    found = only(report, "open_past_18")
    assert len(found) == int(flagged), report.format()
    if flagged:
        assert (found[0].file, found[0].row, found[0].column) == (
            "ssda903/episodes_2022.csv",
            3,
            "DEC",
        )


def test_duplicate_rows(tmp_path: Path) -> None:
    row = "RAWID202,01/01/2015,01/03/2021,01/04/2021,other"
    report = check(tmp_path, plus("early_help.csv", row, row, row))
    problems = only(report, "duplicate_row")
    assert [(p.row, p.message) for p in problems] == [
        (5, "exact copy of line 4"),
        (6, "exact copy of line 4"),
    ]


def test_duplicate_episode_and_child(tmp_path: Path) -> None:
    changes = plus("ssda903/episodes_2021.csv", "RAWID002,10/10/2020,S,V2,N4,K2,PR4,16/12/2020,E4A")
    changes |= plus("ssda903/header_2022.csv", "RAWID001,2,15/06/2010")
    report = check(tmp_path, changes)
    assert one(report, "duplicate_episode").row == 6
    assert one(report, "duplicate_child").row == 4
    report = check(
        tmp_path / "eh", plus("early_help.csv", "RAWID201,2016-05-05,2021-01-01,2021-02-01,other")
    )
    problem = one(report, "duplicate_episode")
    assert (problem.file, problem.row, problem.column) == ("early_help.csv", 4, "start_date")
    assert "line 3" in problem.message


@pytest.mark.parametrize(("sep", "rule"), [(";", "semicolon_separated"), ("\t", "tab_separated")])
def test_semicolons_or_tabs_are_read_as_the_separator(tmp_path: Path, sep: str, rule: str) -> None:
    text = BASE["cin_census.csv"].replace(",", sep)
    report = check(tmp_path, {"cin_census.csv": text})
    repair = one(report, rule)
    rows = len(text.strip().splitlines()) - 1
    assert (repair.file, repair.severity) == ("cin_census.csv", REPAIR)
    assert f"{rows} row(s)" in repair.message
    assert report.counts() == {rule: 1}
    read = load_council(write_council(tmp_path / "read", {"cin_census.csv": text}), config())
    good = load_council(write_council(tmp_path / "good"), config())
    assert read.cin is not None and good.cin is not None
    pd.testing.assert_frame_equal(read.cin, good.cin)


def test_required_value_blank(tmp_path: Path) -> None:
    report = check(
        tmp_path, plus("ssda903/episodes_2021.csv", "RAWID002,01/01/2021,S,,N1,U4,PR1,,,,,,")
    )
    problem = one(report, "missing_value")
    assert (problem.row, problem.column) == (6, "LS")


def test_not_boolean(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        plus(
            "cin_census.csv",
            "RAWID102,01/01/2015,01/03/2021,maybe,,,,,,,,,,,",
            "RAWID103,01/01/2015,01/03/2021,Y,,,,02/03/2021,,,2,,,,",
        ),
    )
    assert [(p.row, p.column, p.value) for p in only(report, "not_boolean")] == [
        (4, "ReferralNFA", "maybe"),
        (5, "ICPCnotRequired", "2"),
    ]


def test_x1_without_following_episode_is_a_warning(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        plus("ssda903/episodes_2021.csv", "RAWID002,01/01/2021,S,C1,N1,U4,PR1,02/01/2021,X1,,,,"),
    )
    problem = one(report, "x1_without_next")
    assert problem.severity == WARNING and problem.row == 6
    assert report.ok


def test_child_not_in_header(tmp_path: Path) -> None:
    report = check(
        tmp_path, plus("ssda903/episodes_2022.csv", "RAWID404,01/06/2021,S,V2,N4,U4,PR1,,")
    )
    problem = one(report, "child_not_in_header")
    assert problem.row == 4 and problem.column == "CHILD"
    assert re.fullmatch(r"C[0-9a-f]{12}", problem.value or "")


def test_date_after_year_end(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        plus("ssda903/episodes_2021.csv", "RAWID002,01/01/2021,S,C1,N1,U4,PR1,01/04/2021,E4A,,,,"),
    )
    problem = one(report, "date_after_year_end")
    assert (problem.row, problem.column) == (6, "DEC")


def test_layout_problems(tmp_path: Path) -> None:
    folder = write_council(
        tmp_path,
        {
            "ssda903/header_2022.csv": None,
            "ssda903/header_2024.csv": "CHILD,SEX,DOB\nRAWID001,1,15/06/2010\n",
            "ssda903/episodes_2024.csv": "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC\n"
            "RAWID001,01/06/2023,S,V2,N4,U4,PR1,,\n",
            "header_2021.csv": BASE["ssda903/header_2021.csv"],
            "other/header.csv": BASE["ssda903/header_2021.csv"],
        },
    )
    report = validate_folder(folder, config())
    assert one(report, "missing_file").file == "ssda903/episodes_2022.csv"
    assert one(report, "missing_year").value == "2023"
    assert one(report, "duplicate_file").file in {"header_2021.csv", "ssda903/header_2021.csv"}
    # A Header file with no year in its name or folder and no Episodes file beside it.
    assert one(report, "unknown_year").file == "other/header.csv"


def test_no_ssda903_files(tmp_path: Path) -> None:
    folder = write_council(tmp_path, {"early_help.csv": BASE["early_help.csv"]}, base=False)
    report = validate_folder(folder, config())
    assert report.rules() == {"no_ssda903"}


def test_missing_folder(tmp_path: Path) -> None:
    report = validate_folder(tmp_path / "nowhere", config())
    assert report.rules() == {"folder_not_found"}


def test_unreadable_files(tmp_path: Path) -> None:
    report = check(
        tmp_path,
        {
            "early_help.csv": b"\x81\x8d\x8f\x90\x9d\xff,\n",
            "early_help_2.csv": BASE["early_help.csv"].encode("utf-16"),
            "cin_census.xml": "<Message><Children><Child></Message>",
            "ssda903/header_2022.csv": 'CHILD,SEX,DOB\nRAWID001,1,"15/06/2010\n',
        },
    )
    assert {p.file for p in only(report, "unreadable_file")} == {
        "early_help.csv",
        "early_help_2.csv",
        "cin_census.xml",
        "ssda903/header_2022.csv",
    }
    xml_problem = next(p for p in report.problems if p.file == "cin_census.xml")
    assert xml_problem.row == 1


def test_every_problem_is_reported_not_just_the_first(tmp_path: Path) -> None:
    changes = plus(
        "ssda903/episodes_2021.csv",
        "RAWID002,31/02/2021,S,C9,N1,U4,PR1,,,,,,",
        "RAWID002,32/02/2021,S,C1,N1,Q4,PR1,,,,,,",
    )
    changes |= plus("early_help.csv", "RAWID202,01/01/2015,2021-13-01,,")
    report = check(tmp_path, changes)
    assert len(only(report, "bad_date")) == 3
    assert len(only(report, "unknown_code")) == 2
    assert report.counts()["bad_date"] == 3


def test_report_never_shows_raw_ids(tmp_path: Path) -> None:
    changes = plus(
        "ssda903/episodes_2021.csv",
        "RAWID002,31/02/2021,S,C9,N1,U4,PR1,,,,,,",
        "RAWID404,01/01/2021,S,C1,N1,U4,PR1,,,,,,",
        "RAWID001,01/12/2020,P,V2,N4,U4,PR1,,,,,,",
    )
    changes |= plus("cin_census.csv", "RAWID999,01/01/2016,01/03/2021,true,,,,,,,,,,05/03/2021,")
    changes["ssda903/header_2022.csv"] = "RAWID001,1,15/06/2010\nRAWID003,1,01/01/2004\n"
    report = check(tmp_path, changes)
    assert len(report.problems) >= 5
    text = report.format() + report.to_frame().to_csv()
    assert not RAW_IDS.search(text), text
    assert "DT1" not in text and "BH1" not in text  # postcodes


def test_format_lists_problems_by_file_with_counts(tmp_path: Path) -> None:
    changes = plus("ssda903/episodes_2021.csv", "RAWID002,31/02/2021,S,C1,N1,U4,PR1,,,,,,")
    changes |= plus("early_help.csv", "RAWID202,01/01/2015,01/03/2021,,other")
    report = check(tmp_path, changes)
    text = report.format()
    assert "ssda903/episodes_2021.csv (1 problem(s))" in text
    assert "early_help.csv (1 problem(s))" in text
    line = next(ln for ln in text.splitlines() if "31/02/2021" in ln)
    assert re.search(r"^\s+6\s+DECOM\s+31/02/2021\s+bad_date\s+error\s+DECOM is not a date", line)
    assert re.search(r"Problems per rule:\n\s+bad_date\s+1\n\s+reason_without_end\s+1", text)


def test_to_frame(tmp_path: Path) -> None:
    report = check(
        tmp_path, plus("ssda903/episodes_2021.csv", "RAWID002,31/02/2021,S,C1,N1,U4,PR1,,,,,,")
    )
    frame = report.to_frame()
    assert list(frame.columns) == ["file", "row", "column", "value", "rule", "severity", "message"]
    assert frame.loc[0, "row"] == 6 and frame.loc[0, "severity"] == ERROR
    assert validate_folder(write_council(tmp_path / "b"), config()).to_frame().empty
