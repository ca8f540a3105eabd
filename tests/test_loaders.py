"""Loading a council folder: merged, pseudonymised tables; lenient and strict reading."""

from __future__ import annotations

import re
import shutil
import stat
from pathlib import Path

import pandas as pd
import pytest

from care_demand.data.council import (
    CIN_COLUMNS,
    EARLY_HELP_COLUMNS,
    EPISODE_COLUMNS,
    HEADER_COLUMNS,
    CouncilData,
)
from care_demand.data.csv_text import BAD_COL, FILE_COL, LINE_COL, parse_dates, read_csv_text
from care_demand.data.loader import load_council
from care_demand.data.problems import InvalidDataError, ValidationReport
from care_demand.data.pseudonymise import (
    EXAMPLE_DATA_DIR,
    EXAMPLE_KEY,
    PseudonymKeyError,
    pseudonymise,
    resolve_key,
)
from care_demand.data.recognise import SourceFile
from care_demand.data.validate import validate_folder
from care_demand.vocab import PLACEMENT_GROUPS
from test_validate import BASE, CIN_HEAD, KEY_ENV, RAW_IDS, config, plus, write_council

KEY = b"test key for validation"
PSEUDONYM = re.compile(r"C[0-9a-f]{12}")


@pytest.fixture(autouse=True)
def _test_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY.decode())


def pid(raw: str) -> str:
    return pseudonymise([raw], KEY)[0]


@pytest.fixture
def council(tmp_path: Path) -> CouncilData:
    return load_council(write_council(tmp_path), config())


# --- tables --------------------------------------------------------------------------------


def test_tables_have_the_documented_columns_and_types(council: CouncilData) -> None:
    assert tuple(council.header.columns) == HEADER_COLUMNS
    assert tuple(council.episodes.columns) == EPISODE_COLUMNS
    assert council.cin is not None and tuple(council.cin.columns) == CIN_COLUMNS
    assert council.early_help is not None
    assert tuple(council.early_help.columns) == EARLY_HELP_COLUMNS
    assert council.episodes["decom"].dtype == "datetime64[ns]"
    assert council.cin["referral_nfa"].dtype == "boolean"
    assert council.episodes["place"].dtype == "string"
    assert council.mode == "continuum"
    assert council.dropped == {}


def test_ids_are_pseudonymised_everywhere(council: CouncilData) -> None:
    tables = [council.header, council.episodes, council.cin, council.early_help]
    for table in tables:
        assert table is not None
        assert table["child_id"].str.fullmatch(PSEUDONYM.pattern).all()
        assert not RAW_IDS.search(table.to_csv())
    assert set(council.header["child_id"]) == {pid("RAWID001"), pid("RAWID002"), pid("RAWID003")}
    # The same child joins across sources.
    assert pid("RAWID001") in set(council.cin["child_id"])  # type: ignore[index]
    assert pid("RAWID002") in set(council.early_help["child_id"])  # type: ignore[index]


def test_postcodes_and_ignored_columns_are_dropped(council: CouncilData) -> None:
    text = council.episodes.to_csv() + council.header.to_csv()
    assert "DT1" not in text and "BH1" not in text and "WBRI" not in text


def test_later_return_supersedes_earlier_and_open_episodes_stay_open(
    council: CouncilData,
) -> None:
    episodes = council.episodes.set_index(["child_id", "decom"])
    closed = episodes.loc[(pid("RAWID001"), pd.Timestamp("2020-09-01"))]
    assert closed["dec"] == pd.Timestamp("2022-03-01") and closed["rec"] == "E4B"
    assert len(council.episodes) == 4  # 4 rows in 2021 + 2 in 2022, 2 of them superseded
    assert council.episodes.duplicated(["child_id", "decom"]).sum() == 0


def test_open_episode_not_in_later_return_stays_open(tmp_path: Path) -> None:
    changes = {
        "ssda903/episodes_2022.csv": "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC\n"
        "RAWID003,01/06/2020,S,V2,N5,H5,PR4,01/01/2022,E17\n"
    }
    data = load_council(write_council(tmp_path, changes), config())
    row = data.episodes.set_index(["child_id", "decom"]).loc[
        (pid("RAWID001"), pd.Timestamp("2020-09-01"))
    ]
    assert pd.isna(row["dec"]) and pd.isna(row["rec"])


def test_placement_groups_are_mapped(council: CouncilData) -> None:
    groups = dict(zip(council.episodes["place"], council.episodes["placement_group"], strict=True))
    assert groups == {
        "U4": "inhouse_foster",
        "U6": "ifa",
        "K2": "external_residential",
        "H5": "supported_16plus",
    }
    assert set(council.episodes["placement_group"]) <= set(PLACEMENT_GROUPS)


def test_window_from_collection_years(council: CouncilData) -> None:
    assert council.window_start == pd.Timestamp("2020-04-01")
    assert council.window_end == pd.Timestamp("2022-03-31")


def test_header_keeps_one_row_per_child_from_latest_return(tmp_path: Path) -> None:
    changes = {
        "ssda903/header_2022.csv": "CHILD,SEX,DOB\nRAWID001,M,15/06/2010\nRAWID003,1,01/01/2004\n"
    }
    data = load_council(write_council(tmp_path, changes), config())
    assert data.header["child_id"].is_unique
    assert data.header.set_index("child_id").at[pid("RAWID001"), "sex"] == "M"


def test_iso_and_uk_dates_read_the_same(council: CouncilData) -> None:
    dob = council.header.set_index("child_id")["dob"]
    assert dob[pid("RAWID002")] == pd.Timestamp("2012-01-20")  # written 2012-01-20
    assert dob[pid("RAWID001")] == pd.Timestamp("2010-06-15")  # written 15/06/2010


def test_care_only_mode_without_optional_sources(tmp_path: Path) -> None:
    folder = write_council(tmp_path, {"cin_census.csv": None, "early_help.csv": None})
    data = load_council(folder, config())
    assert data.cin is None and data.early_help is None and data.mode == "care_only"


# --- fingerprint ----------------------------------------------------------------------------


def test_fingerprint_depends_on_content_not_location(tmp_path: Path) -> None:
    first = write_council(tmp_path / "a")
    second = tmp_path / "b"
    shutil.copytree(first, second)
    fp = load_council(first, config()).fingerprint
    assert re.fullmatch(r"[0-9a-f]{64}", fp)
    assert load_council(second, config()).fingerprint == fp
    path = second / "early_help.csv"
    path.write_text(path.read_text().replace("2021-01-01", "2021-01-02"))
    assert load_council(second, config()).fingerprint != fp


# --- strict and lenient ----------------------------------------------------------------------


def bad_changes() -> dict[str, str | bytes | None]:
    changes: dict[str, str | bytes | None] = {}
    changes |= plus(
        "ssda903/episodes_2021.csv",
        "RAWID002,31/02/2021,S,C1,N1,U4,PR1,,,,,,",  # bad_date
        "RAWID002,01/12/2020,P,V2,N4,U4,PR1,20/12/2020,E4A,,,,",  # overlapping_episodes
    )
    changes |= plus(
        "early_help.csv",
        "RAWID202,01/01/2015,01/03/2021,01/04/2021,happy",  # unknown_code
        "RAWID202,01/01/2015,01/03/2021,01/04/2021,happy",  # duplicate_row (and unknown_code)
    )
    # missing_column: the CIN census without its referral dates
    changes["cin_census.csv"] = BASE["cin_census.csv"].replace("CINreferralDate", "ReferralDay")
    return changes


def test_strict_raises_with_the_whole_report(tmp_path: Path) -> None:
    folder = write_council(tmp_path, bad_changes())
    with pytest.raises(InvalidDataError) as caught:
        load_council(folder, config())
    report = caught.value.report
    assert str(caught.value) == report.format()
    assert {
        "bad_date",
        "overlapping_episodes",
        "unknown_code",
        "duplicate_row",
        "missing_column",
    } <= (report.rules())
    assert report.rules() == validate_folder(folder, config()).rules()


def test_lenient_drops_rows_and_counts_them_per_rule(tmp_path: Path) -> None:
    folder = write_council(tmp_path, bad_changes())
    data = load_council(folder, config(lenient=True))
    assert data.dropped == {
        "bad_date": 1,
        "duplicate_row": 1,
        "overlapping_episodes": 1,
        "unknown_code": 1,
        "missing_column": 2,
    }
    assert data.cin is None  # the whole CIN file was unusable
    good = load_council(write_council(tmp_path / "good"), config())
    pd.testing.assert_frame_equal(data.episodes, good.episodes)
    assert data.early_help is not None and good.early_help is not None
    assert len(data.early_help) == len(good.early_help)


def test_lenient_warnings_do_not_drop_rows(tmp_path: Path) -> None:
    changes = plus(
        "ssda903/episodes_2021.csv", "RAWID002,01/01/2021,S,C1,N1,U4,PR1,02/01/2021,X1,,,,"
    )
    data = load_council(write_council(tmp_path, changes), config())
    assert len(data.episodes) == 5 and data.dropped == {}


def test_lenient_still_fails_without_usable_episodes(tmp_path: Path) -> None:
    folder = write_council(
        tmp_path,
        {
            "ssda903/episodes_2021.csv": "CHILD;DECOM\nRAWID001;01/01/2021\n",
            "ssda903/episodes_2022.csv": "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC\n"
            "RAWID001,01/09/2020,P,C2,N1,U6,PR4,01/13/2022,E4B\n",
        },
    )
    with pytest.raises(InvalidDataError) as caught:
        load_council(folder, config(lenient=True))
    assert "no_usable_episodes" in caught.value.report.rules()


def test_lenient_dob_conflict_keeps_latest_header(tmp_path: Path) -> None:
    changes = plus("early_help.csv", "RAWID001,14/06/2010,01/01/2019,01/02/2019,other")
    data = load_council(write_council(tmp_path, changes), config(lenient=True))
    assert data.dropped == {"dob_conflict": 1}
    assert data.early_help is not None
    assert pid("RAWID001") not in set(data.early_help["child_id"])


# --- file formats and layouts ------------------------------------------------------------------


def test_cp1252_and_bom_files(tmp_path: Path) -> None:
    changes: dict[str, str | bytes | None] = {
        "ssda903/header_2021.csv": BASE["ssda903/header_2021.csv"]
        .replace("WBRI,\n", "WBRI,Zoë\n", 1)
        .encode("cp1252"),
        "early_help.csv": "\ufeff" + BASE["early_help.csv"],
    }
    data = load_council(write_council(tmp_path, changes), config())
    good = load_council(write_council(tmp_path / "good"), config())
    pd.testing.assert_frame_equal(data.header, good.header)
    pd.testing.assert_frame_equal(data.early_help, good.early_help)


def test_files_directly_in_folder_and_case_insensitive_names(tmp_path: Path) -> None:
    changes: dict[str, str | bytes | None] = {
        name: None for name in BASE if name.startswith("ssda903")
    }
    changes |= {
        "HEADER_2021.CSV": BASE["ssda903/header_2021.csv"],
        "Episodes_2021.csv": BASE["ssda903/episodes_2021.csv"],
        "header_2022.csv": BASE["ssda903/header_2022.csv"],
        "episodes_2022.csv": BASE["ssda903/episodes_2022.csv"],
    }
    data = load_council(write_council(tmp_path, changes), config())
    good = load_council(write_council(tmp_path / "good"), config())
    pd.testing.assert_frame_equal(data.episodes, good.episodes)


def test_year_subfolders(tmp_path: Path) -> None:
    changes: dict[str, str | bytes | None] = {
        name: None for name in BASE if name.startswith("ssda903")
    }
    changes |= {
        "ssda903/2021/header.csv": BASE["ssda903/header_2021.csv"],
        "ssda903/2021/episodes.csv": BASE["ssda903/episodes_2021.csv"],
        "ssda903/2022/Header.csv": BASE["ssda903/header_2022.csv"],
        "ssda903/2022/EPISODES.csv": BASE["ssda903/episodes_2022.csv"],
    }
    data = load_council(write_council(tmp_path, changes), config())
    good = load_council(write_council(tmp_path / "good"), config())
    pd.testing.assert_frame_equal(data.episodes, good.episodes)
    assert data.window_end == pd.Timestamp("2022-03-31")


CIN_XML = """<?xml version="1.0" encoding="utf-8"?>
<Message xmlns="http://www.dfe.gov.uk/CIN">
  <Header><Collection><CollectionName>CIN</CollectionName></Collection></Header>
  <Children>
    <Child>
      <ChildIdentifiers>
        <LAchildID>RAWID001</LAchildID>
        <UPN>A123456789012</UPN>
        <PersonBirthDate>2010-06-15</PersonBirthDate>
      </ChildIdentifiers>
      <ChildCharacteristics><Ethnicity>WBRI</Ethnicity></ChildCharacteristics>
      <CINdetails>
        <CINreferralDate>2020-02-01</CINreferralDate>
        <ReferralSource>2A</ReferralSource>
        <PrimaryNeedCode>N1</PrimaryNeedCode>
        <CINclosureDate>2020-05-01</CINclosureDate>
        <ReasonForClosure>RC7</ReasonForClosure>
        <ReferralNFA>false</ReferralNFA>
        <Assessments>
          <AssessmentActualStartDate>2020-02-03</AssessmentActualStartDate>
          <AssessmentAuthorisationDate>2020-02-20</AssessmentAuthorisationDate>
        </Assessments>
        <Section47>
          <S47ActualStartDate>2020-02-05</S47ActualStartDate>
          <DateOfInitialCPC>2020-02-20</DateOfInitialCPC>
          <ICPCnotRequired>false</ICPCnotRequired>
        </Section47>
        <ChildProtectionPlans>
          <CPPstartDate>2020-02-20</CPPstartDate>
          <CPPendDate>2020-04-30</CPPendDate>
        </ChildProtectionPlans>
      </CINdetails>
    </Child>
    <Child>
      <ChildIdentifiers>
        <LAchildID>RAWID101</LAchildID>
        <PersonBirthDate>2015-01-01</PersonBirthDate>
      </ChildIdentifiers>
      <CINdetails>
        <CINreferralDate>2021-03-01</CINreferralDate>
        <CINclosureDate>2021-03-05</CINclosureDate>
        <ReasonForClosure>RC8</ReasonForClosure>
        <ReferralNFA>true</ReferralNFA>
      </CINdetails>
    </Child>
  </Children>
</Message>
"""


def test_cin_census_xml_reads_like_the_csv(tmp_path: Path) -> None:
    folder = write_council(tmp_path, {"cin_census.csv": None, "cin_census_2021.xml": CIN_XML})
    data = load_council(folder, config())
    good = load_council(write_council(tmp_path / "good"), config())
    pd.testing.assert_frame_equal(data.cin, good.cin)


def test_cin_census_xml_several_plans_and_line_numbers(tmp_path: Path) -> None:
    second_plan = (
        "<ChildProtectionPlans><CPPstartDate>2020-04-20</CPPstartDate>"
        "<CPPendDate>2020-04-10</CPPendDate></ChildProtectionPlans>\n      </CINdetails>"
    )
    xml = CIN_XML.replace("</CINdetails>", second_plan, 1)
    folder = write_council(tmp_path, {"cin_census.csv": None, "cin_census.xml": xml})
    report = validate_folder(folder, config())
    problem = next(p for p in report.problems if p.rule == "end_before_start")
    assert (problem.file, problem.column, problem.value) == (
        "cin_census.xml",
        "CPPendDate",
        "2020-04-10",
    )
    assert problem.row == xml.splitlines().index("      <CINdetails>") + 1
    data = load_council(folder, config(lenient=True))
    assert data.cin is not None and len(data.cin) == 2  # the bad plan's row dropped


def test_cin_merge_later_file_supersedes_referral(tmp_path: Path) -> None:
    later = (
        f"{CIN_HEAD}\n"
        "RAWID101,01/01/2015,01/03/2021,false,02/03/2021,10/03/2021,,,,,,,,20/03/2021,RC7\n"
    )
    folder = write_council(tmp_path, {"cin_census_2022.csv": later})
    data = load_council(folder, config())
    assert data.cin is not None and len(data.cin) == 2
    row = data.cin.set_index("child_id").loc[pid("RAWID101")]
    assert row["closure_reason"] == "RC7" and not row["referral_nfa"]


# --- pseudonymisation -----------------------------------------------------------------------


def test_pseudonymise_is_keyed_and_stable() -> None:
    ids = pd.Series([" 123", "123", "456", "", None], index=[5, 6, 7, 8, 9])
    out = pseudonymise(ids, b"k1")
    assert list(out.index) == [5, 6, 7, 8, 9]
    assert out[5] == out[6] != out[7]
    assert PSEUDONYM.fullmatch(out[5])
    assert out[[8, 9]].isna().all()
    assert pseudonymise(["123"], b"k2")[0] != out[5]
    assert pseudonymise(["123"], b"k1") == [out[5]]
    with pytest.raises(ValueError, match="empty"):
        pseudonymise(["1"], b"")


def test_key_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MY_KEY", "secret")
    cfg = config(pseudonym_key_env="MY_KEY", pseudonym_key_file=str(tmp_path / "unused.key"))
    assert resolve_key(cfg, tmp_path / "data") == b"secret"
    assert not (tmp_path / "unused.key").exists()


def test_key_file_is_created_private_and_reused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("NO_SUCH_KEY_VAR", raising=False)
    key_file = tmp_path / "keys" / "pseudonym.key"
    cfg = config(pseudonym_key_env="NO_SUCH_KEY_VAR", pseudonym_key_file=str(key_file))
    first = resolve_key(cfg, tmp_path / "data")
    assert len(first) == 64
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert resolve_key(cfg, tmp_path / "data") == first


def test_key_file_inside_data_folder_is_refused(tmp_path: Path) -> None:
    folder = write_council(tmp_path)
    cfg = config(pseudonym_key_env="NO_SUCH_KEY_VAR", pseudonym_key_file=str(folder / "k.key"))
    with pytest.raises(PseudonymKeyError, match="inside the data folder"):
        resolve_key(cfg, folder)
    assert validate_folder(folder, cfg).rules() == {"pseudonym_key"}


def test_example_folder_uses_the_fixed_key() -> None:
    assert resolve_key(config(), EXAMPLE_DATA_DIR) == EXAMPLE_KEY
    assert resolve_key(config(), EXAMPLE_DATA_DIR / "ssda903") == EXAMPLE_KEY


# --- the built-in example ----------------------------------------------------------------------


@pytest.mark.skipif(
    not (EXAMPLE_DATA_DIR / "ssda903").is_dir() and not any(EXAMPLE_DATA_DIR.glob("*.csv")),
    reason="the built-in example has not been generated",
)
def test_built_in_example_is_valid() -> None:
    report = validate_folder(None, config())
    assert report.ok, report.format()
    data = load_council(None, config())
    assert len(data.episodes) > 0 and data.mode == "continuum"


def test_dates_are_read_in_either_form_and_the_rest_reported() -> None:
    text = pd.Series(
        ["01/02/2020", "2020-02-03", "", "31/02/2020", "2020-13-01", "soon", "01/02/2020"],
        index=[10, 11, 12, 13, 14, 15, 16],
    )
    dates, bad = parse_dates(text)
    assert dates.index.equals(text.index) and str(dates.dtype) == "datetime64[ns]"
    assert dates[10] == dates[16] == pd.Timestamp("2020-02-01")
    assert dates[11] == pd.Timestamp("2020-02-03")
    assert dates[[12, 13, 14, 15]].isna().all()
    assert bad.tolist() == [False, False, False, True, True, True, False]


def test_a_column_named_twice_keeps_the_first_and_counts_its_padded_cells(
    tmp_path: Path,
) -> None:
    path = tmp_path / "header_2022.csv"
    path.write_text("CHILD,SEX,SEX\n 1 ,1, 2 \n2,2,1\n", encoding="utf-8")
    report = ValidationReport()
    frame, names = read_csv_text(SourceFile(path, path.name, "header", 2022), report)
    assert names == ["CHILD", "SEX", "SEX"]
    assert frame is not None and frame.iloc[:, :2].to_numpy().tolist() == [["1", "1"], ["2", "2"]]
    assert [c for c in frame.columns if c.startswith("_")] == [FILE_COL, LINE_COL, BAD_COL]
    assert len(frame.columns) == 5  # the second SEX is dropped
    assert report.repairs.get("padded_cell") == 1  # " 1 "; the dropped column's " 2 " is not
