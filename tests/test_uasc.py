"""Unaccompanied asylum-seeking children: from the UASC table, the Header flag or the XML."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from care_demand.config import OutputConfig
from care_demand.data import build_history
from care_demand.data.council import HEADER_COLUMNS
from care_demand.data.loader import load_council
from care_demand.data.pseudonymise import EXAMPLE_DATA_DIR, pseudonymise
from care_demand.data.validate import validate_folder
from care_demand.outputs.disclosure import (
    STOCK_TOTALS,
    DisclosureRule,
    disclosure_problems,
    suppress_arrivals,
    suppress_stocks,
)
from care_demand.outputs.summary import UASC_ENTRY, UASC_GROUP, DataSummary, summarise_history
from test_ssda903_xml import NO_903_CSV, return_xml
from test_validate import BASE, KEY_ENV, RAW_IDS, config, write_council

KEY = b"test key for validation"


@pytest.fixture(autouse=True)
def _test_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY.decode())


def pid(raw: str) -> str:
    return pseudonymise([raw], KEY)[0]


def flags(folder: Path) -> pd.DataFrame:
    data = load_council(folder, config())
    assert tuple(data.header.columns) == HEADER_COLUMNS
    assert data.header["uasc"].dtype == bool
    assert data.header["uasc_ceased"].dtype == "datetime64[ns]"
    return data.header.set_index("child_id")[["uasc", "uasc_ceased"]]


def test_no_uasc_information_gives_false_and_says_so(tmp_path: Path) -> None:
    data = load_council(write_council(tmp_path), config())
    assert not data.header["uasc"].any() and data.header["uasc_ceased"].isna().all()
    assert data.uasc_supplied is False


def test_uasc_table(tmp_path: Path) -> None:
    folder = write_council(
        tmp_path,
        {
            "ssda903/uasc_2021.csv": "CHILD,SEX,DOB,DUC\nRAWID003,1,01/01/2004,01/01/2022\n",
            # A later return's row wins for the date status ceased; an empty table is fine.
            "ssda903/uasc_2022.csv": "CHILD,SEX,DOB,DUC\nRAWID003,1,01/01/2004,31/12/2021\n",
        },
    )
    report = validate_folder(folder, config())
    assert report.ok and not report.problems, report.format()
    table = flags(folder)
    assert table.at[pid("RAWID003"), "uasc"]
    assert table.at[pid("RAWID003"), "uasc_ceased"] == pd.Timestamp("2021-12-31")
    assert not table.at[pid("RAWID001"), "uasc"]
    assert pd.isna(table.at[pid("RAWID001"), "uasc_ceased"])
    assert load_council(folder, config()).uasc_supplied


def test_empty_uasc_table_is_information_too(tmp_path: Path) -> None:
    folder = write_council(tmp_path, {"ssda903/2021/uasc.csv": "CHILD,SEX,DOB,DUC\n"})
    report = validate_folder(folder, config())
    assert report.ok and not report.problems, report.format()
    data = load_council(folder, config())
    assert data.uasc_supplied and not data.header["uasc"].any()


def test_uasc_header_column(tmp_path: Path) -> None:
    header = "CHILD,SEX,DOB,UASC\nRAWID001,1,15/06/2010,1\nRAWID003,1,01/01/2004,0\n"
    folder = write_council(tmp_path, {"ssda903/header_2022.csv": header})
    table = flags(folder)
    assert table.at[pid("RAWID001"), "uasc"] and pd.isna(table.at[pid("RAWID001"), "uasc_ceased"])
    assert not table.at[pid("RAWID003"), "uasc"]
    assert load_council(folder, config()).uasc_supplied


def test_uasc_header_flag_that_is_not_a_flag_is_reported(tmp_path: Path) -> None:
    header = "CHILD,SEX,DOB,UASC\nRAWID001,1,15/06/2010,maybe\nRAWID003,1,01/01/2004,0\n"
    report = validate_folder(write_council(tmp_path, {"ssda903/header_2022.csv": header}), config())
    problem = next(p for p in report.problems if p.rule == "not_boolean")
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "ssda903/header_2022.csv",
        2,
        "UASC",
        "maybe",
    )


def test_uasc_in_the_xml(tmp_path: Path) -> None:
    files: dict[str, str | bytes | None] = dict(NO_903_CSV)
    files["ssda903/return_2021.xml"] = return_xml(
        BASE["ssda903/header_2021.csv"],
        BASE["ssda903/episodes_2021.csv"],
        2021,
        uasc={"RAWID003": "2022-01-01"},
    )
    files["ssda903/return_2022.xml"] = return_xml(
        BASE["ssda903/header_2022.csv"],
        BASE["ssda903/episodes_2022.csv"],
        2022,
        header_flag={"RAWID001": "1", "RAWID003": "0"},
    )
    folder = write_council(tmp_path, files)
    report = validate_folder(folder, config())
    assert report.ok and not report.problems, report.format()
    table = flags(folder)
    assert table.at[pid("RAWID003"), "uasc"]
    assert table.at[pid("RAWID003"), "uasc_ceased"] == pd.Timestamp("2022-01-01")
    assert table.at[pid("RAWID001"), "uasc"] and pd.isna(table.at[pid("RAWID001"), "uasc_ceased"])
    assert not table.at[pid("RAWID002"), "uasc"]


def test_uasc_table_problems_are_reported_with_pseudonymous_ids(tmp_path: Path) -> None:
    table = (
        "CHILD,SEX,DOB,DUC\n"
        "RAWID003,1,01/01/2004,31/02/2022\n"  # not a date
        "RAWID002,2,20/01/2012,01/01/2011\n"  # DUC before DOB
        "RAWID999,1,01/01/2005,01/01/2023\n"  # in no Header: a warning
    )
    folder = write_council(tmp_path, {"ssda903/uasc_2021.csv": table})
    report = validate_folder(folder, config())
    found = {(p.rule, p.row, p.column) for p in report.problems}
    assert ("bad_date", 2, "DUC") in found
    assert ("end_before_start", 3, "DUC") in found
    assert ("uasc_not_in_header", 4, "CHILD") in found
    assert not RAW_IDS.search(report.format())
    data = load_council(folder, config(lenient=True))
    assert data.dropped == {"bad_date": 1, "end_before_start": 1}
    assert not data.header["uasc"].any()


def test_history_children_carry_the_flag(tmp_path: Path) -> None:
    folder = write_council(
        tmp_path, {"ssda903/uasc_2021.csv": "CHILD,SEX,DOB,DUC\nRAWID003,1,01/01/2004,01/01/2022\n"}
    )
    history = build_history(load_council(folder, config()), config())
    assert history.uasc_supplied
    children = history.children.set_index("child_id")
    assert children["uasc"].dtype == bool
    assert children.at[pid("RAWID003"), "uasc"] and not children.at[pid("RAWID101"), "uasc"]
    ids = pd.Series([pid("RAWID003")] * 2 + [pid("RAWID001")])
    dates = pd.Series(pd.to_datetime(["2021-03-31", "2022-01-01", "2021-03-31"]))
    # UASC up to the day before status ceased.
    assert history.uasc_on(ids, dates).tolist() == [True, False, False]


# --- the data summary -------------------------------------------------------------------------


def _summary(folder: Path) -> DataSummary:
    history = build_history(load_council(folder, config()), config())
    return summarise_history(history, OutputConfig(), synthetic=False)


def test_summary_without_uasc_information_says_so(tmp_path: Path) -> None:
    summary = _summary(write_council(tmp_path))
    assert "No UASC information in the returns" in summary.markdown
    assert UASC_GROUP not in set(summary.stocks["placement_group"])
    assert UASC_ENTRY not in set(summary.arrivals["kind"])


def test_a_small_uasc_count_is_suppressed_where_published(tmp_path: Path) -> None:
    # RAWID003 is in care from 01/06/2020 to 01/01/2022 and UASC until 01/01/2022.
    folder = write_council(
        tmp_path, {"ssda903/uasc_2021.csv": "CHILD,SEX,DOB,DUC\nRAWID003,1,01/01/2004,01/01/2022\n"}
    )
    summary = _summary(folder)
    stocks = summary.stocks.set_index(["date", "state", "placement_group"])["children"]
    assert stocks[(pd.Timestamp("2021-03-31"), "care", UASC_GROUP)] == 1
    assert stocks[(pd.Timestamp("2022-03-31"), "care", UASC_GROUP)] == 0
    arrivals = summary.arrivals.set_index(["financial_year", "kind"])["arrivals"]
    assert arrivals[("2020/21", UASC_ENTRY)] == 1
    assert arrivals[("2021/22", UASC_ENTRY)] == 0

    rule = DisclosureRule()
    published = suppress_stocks(summary.stocks, rule)
    row = published[(published["placement_group"] == UASC_GROUP)].set_index("date")["children"]
    assert row[pd.Timestamp("2021-03-31")] == "[c]" and row[pd.Timestamp("2022-03-31")] == "0"
    assert disclosure_problems(published, "children", rule, (STOCK_TOTALS,)) == []
    entries = suppress_arrivals(summary.arrivals, rule)
    entries = entries[entries["kind"] == UASC_ENTRY].set_index("financial_year")["arrivals"]
    assert entries["2020/21"] == "[c]"
    uasc_lines = [ln for ln in summary.markdown.splitlines() if "UASC" in ln and "|" in ln]
    assert uasc_lines and all("| 1 |" not in ln for ln in uasc_lines)
    assert any("[c]" in ln for ln in uasc_lines)


def test_uasc_counts_in_the_summary_of_a_larger_council(tmp_path: Path) -> None:
    folder = tmp_path / "council"
    shutil.copytree(EXAMPLE_DATA_DIR, folder)
    episodes = pd.read_csv(folder / "ssda903/episodes_2021.csv", dtype=str, keep_default_na=False)
    header = pd.read_csv(folder / "ssda903/header_2021.csv", dtype=str, keep_default_na=False)
    decom = pd.to_datetime(episodes["DECOM"], format="%d/%m/%Y")
    new = episodes[(episodes["RNE"] == "S") & (episodes["DEC"] == "") & (decom.dt.year == 2020)]
    new = new[decom[new.index] >= pd.Timestamp("2020-04-01")].drop_duplicates("CHILD")
    chosen = new["CHILD"].iloc[:12]
    table = header[header["CHILD"].isin(set(chosen))][["CHILD", "SEX", "DOB"]].assign(DUC="")
    table.to_csv(folder / "ssda903/uasc_2021.csv", index=False)
    summary = _summary(folder)
    stocks = summary.stocks.set_index(["date", "state", "placement_group"])["children"]
    assert stocks[(pd.Timestamp("2021-03-31"), "care", UASC_GROUP)] == len(chosen) == 12
    arrivals = summary.arrivals.set_index(["financial_year", "kind"])["arrivals"]
    assert arrivals[("2020/21", UASC_ENTRY)] == 12
    assert arrivals[("2020/21", UASC_ENTRY)] <= arrivals[("2020/21", "care_entry")]
    assert "| UASC in care |" in summary.markdown and "| 12 |" in summary.markdown
