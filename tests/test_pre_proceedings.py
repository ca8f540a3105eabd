"""The CIN census's pre-proceedings and family group decision-making block (2025/26):
read from the census XML and CSV, checked, and kept in the event history."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from care_demand.data import build_history
from care_demand.data.loader import load_council
from care_demand.data.validate import validate_folder
from care_demand.outputs.settings import OutputConfig
from care_demand.outputs.summary import summarise_history
from test_cin_xml import _line_of, census_xml
from test_validate import BASE, CIN_HEAD, RAW_IDS, config, write_council
from test_validate import _test_key as _test_key  # the pseudonym key, for every test here


def block(
    *,
    start: str = "2021-07-01",
    letter: str = "2021-07-01",
    offered: str = "true",
    held: str = "true",
    meeting: str = "2021-07-20",
    outcome: str = "PP2",
    end: str = "2021-09-01",
    court: str = "",
    tag: str = "PreProceedings",
) -> str:
    """A pre-proceedings block as it sits inside a CINdetails element."""
    items = {
        "PreProceedingsStartDate": start,
        "LetterBeforeProceedingsDate": letter,
        "FGDMOffered": offered,
        "FGDMHeld": held,
        "FGDMDate": meeting,
        "PreProceedingsOutcome": outcome,
        "PreProceedingsEndDate": end,
        "CourtApplicationDate": court,
    }
    inner = "".join(f"<{name}>{value}</{name}>" for name, value in items.items() if value)
    return f"<{tag}>{inner}</{tag}>"


def with_block(xml: str, *blocks: str) -> str:
    """The census XML with the blocks added to its CINdetails."""
    return xml.replace("</CINdetails>", "".join(blocks) + "\n      </CINdetails>")


def test_the_block_loads_into_the_council_data_and_the_event_history(tmp_path: Path) -> None:
    second = block(
        start="2021-10-01", letter="", offered="true", held="false", meeting="", outcome="",
        end="", court="2021-11-15",
    )  # fmt: skip
    xml = with_block(census_xml(closure=""), block(), second)
    folder = write_council(tmp_path, {"cin_census_2022.xml": xml})
    report = validate_folder(folder, config())
    assert report.ok and not report.problems, report.format()
    data = load_council(folder, config())
    table = data.pre_proceedings
    assert table is not None and len(table) == 2
    first, later = table.iloc[0], table.iloc[1]
    assert first["start"] == pd.Timestamp("2021-07-01")
    assert first["letter_date"] == pd.Timestamp("2021-07-01")
    assert bool(first["fgdm_offered"]) and bool(first["fgdm_held"])
    assert first["fgdm_date"] == pd.Timestamp("2021-07-20")
    assert first["outcome"] == "PP2" and first["end"] == pd.Timestamp("2021-09-01")
    assert bool(later["fgdm_offered"]) and not bool(later["fgdm_held"])
    assert later["court_application_date"] == pd.Timestamp("2021-11-15")
    assert not RAW_IDS.search(table.to_csv())

    history = build_history(data, config())
    assert history.has_pre_proceedings
    spells = history.pre_proceedings
    assert list(spells["proceedings_issued"]) == [False, True]
    assert spells["child_id"].nunique() == 1
    assert spells["child_id"].iloc[0] in set(history.spells["child_id"])
    assert spells["age_at_start"].iloc[0] == pytest.approx(6.5, abs=0.01)  # born 1 Jan 2015
    events = history.pre_proceedings_events()
    assert sorted(events["event"]) == [
        "court_application",
        "fgdm_held",
        "letter_before_proceedings",
        "pre_proceedings_started",
        "pre_proceedings_started",
    ]
    held = events[events["event"] == "fgdm_held"]
    assert list(held["date"]) == [pd.Timestamp("2021-07-20")]


def test_the_block_is_read_whatever_the_case_of_its_names(tmp_path: Path) -> None:
    upper = block(tag="PREPROCEEDINGS").replace("FGDMHeld", "fgdmheld")
    xml = with_block(census_xml(closure=""), upper)
    data = load_council(write_council(tmp_path, {"cin_census_2022.xml": xml}), config())
    assert data.pre_proceedings is not None
    assert bool(data.pre_proceedings["fgdm_held"].iloc[0])


def test_a_census_without_the_block_loads_as_before(tmp_path: Path) -> None:
    plain = write_council(tmp_path / "plain", {"cin_census_2022.xml": census_xml()})
    data = load_council(plain, config())
    assert data.pre_proceedings is None
    history = build_history(data, config())
    assert not history.has_pre_proceedings and history.pre_proceedings.empty
    assert history.pre_proceedings_events().empty
    # The same census with a block gives the same CIN table, spells and arrivals.
    xml = with_block(census_xml(), block(end="2021-08-01", court=""))
    other = load_council(write_council(tmp_path / "with", {"cin_census_2022.xml": xml}), config())
    assert other.pre_proceedings is not None
    pd.testing.assert_frame_equal(other.cin, data.cin)
    with_history = build_history(other, config())
    pd.testing.assert_frame_equal(with_history.spells, history.spells)
    pd.testing.assert_frame_equal(with_history.arrivals, history.arrivals)
    assert other.fingerprint != data.fingerprint


def test_the_block_in_the_flat_csv(tmp_path: Path) -> None:
    head = f"{CIN_HEAD},PreProceedingsStartDate,FGDM Offered,FGDMHeld,FGDMDate\n"
    rows = BASE["cin_census.csv"].splitlines()[1:]
    body = f"{rows[0]},01/03/2020,Y,Y,10/03/2020\n{rows[1]},,,,\n"
    data = load_council(write_council(tmp_path, {"cin_census.csv": head + body}), config())
    assert not data.repairs  # "FGDM Offered" is read as FGDMOffered
    table = data.pre_proceedings
    assert table is not None and len(table) == 1
    assert table["start"].iloc[0] == pd.Timestamp("2020-03-01")
    assert bool(table["fgdm_offered"].iloc[0]) and bool(table["fgdm_held"].iloc[0])


def test_a_meeting_held_but_not_marked_offered_is_read_as_offered_and_counted(
    tmp_path: Path,
) -> None:
    xml = with_block(census_xml(closure=""), block(offered="", held=""))
    folder = write_council(tmp_path, {"cin_census_2022.xml": xml})
    report = validate_folder(folder, config())
    assert report.ok and report.repairs == {"fgdm_implied": 1}, report.format()
    data = load_council(folder, config())
    assert data.repairs == {"fgdm_implied": 1}
    assert data.pre_proceedings is not None
    assert bool(data.pre_proceedings["fgdm_offered"].iloc[0])
    assert bool(data.pre_proceedings["fgdm_held"].iloc[0])


def test_bad_dates_and_order_are_reported_where_they_are(tmp_path: Path) -> None:
    bad = block(start="2021-07-01", meeting="31/02/2021", end="2021-06-01", court="2021-05-01")
    xml = with_block(census_xml(closure=""), bad)
    folder = write_council(tmp_path, {"cin_census_2022.xml": xml})
    report = validate_folder(folder, config())
    found = {(p.rule, p.column, p.value) for p in report.problems if p.file.endswith(".xml")}
    assert found == {
        ("bad_date", "FGDMDate", "31/02/2021"),
        ("end_before_start", "PreProceedingsEndDate", "2021-06-01"),
        ("end_before_start", "CourtApplicationDate", "2021-05-01"),
    }
    line = _line_of(xml, "CINdetails")
    assert {p.row for p in report.problems if p.file.endswith(".xml")} == {line}
    assert not report.ok
    text = report.format()
    assert "cin_census_2022.xml" in text and "FGDMDate" in text
    assert not RAW_IDS.search(text)
    # Lenient: the row is dropped and counted, never silently.
    data = load_council(folder, config(lenient=True))
    assert data.dropped == {"bad_date": 1}
    assert data.pre_proceedings is None


def test_a_block_without_its_start_and_a_meeting_not_offered_are_errors(tmp_path: Path) -> None:
    xml = with_block(census_xml(closure=""), block(start="", offered="false"))
    report = validate_folder(write_council(tmp_path, {"cin_census_2022.xml": xml}), config())
    rules = {(p.rule, p.column) for p in report.problems if p.file.endswith(".xml")}
    assert rules == {
        ("missing_value", "PreProceedingsStartDate"),
        ("fgdm_held_not_offered", "FGDMHeld"),
    }


def test_block_dates_after_the_reference_date_are_reported(tmp_path: Path) -> None:
    xml = with_block(census_xml(closure=""), block(end="", court="2022-05-01"))
    report = validate_folder(write_council(tmp_path, {"cin_census_2022.xml": xml}), config())
    found = [p for p in report.problems if p.rule == "date_after_reference_date"]
    assert [(p.column, p.value) for p in found] == [("CourtApplicationDate", "2022-05-01")]


def test_a_backtest_cut_knows_only_what_happened_by_then(tmp_path: Path) -> None:
    xml = with_block(census_xml(closure=""), block(court="2021-09-01", outcome="PP1"))
    data = load_council(write_council(tmp_path, {"cin_census_2022.xml": xml}), config())
    history = build_history(data, config())
    assert bool(history.pre_proceedings["proceedings_issued"].iloc[0])
    cut = history.truncate("2021-07-10").pre_proceedings
    assert len(cut) == 1
    row = cut.iloc[0]
    assert not row["fgdm_held"] and pd.isna(row["fgdm_date"])
    assert not row["proceedings_issued"] and pd.isna(row["end"]) and pd.isna(row["outcome"])
    assert history.truncate("2021-06-30").pre_proceedings.empty


def test_the_data_summary_counts_them_per_year_under_disclosure_control(tmp_path: Path) -> None:
    second = block(start="2021-10-01", meeting="", held="false", end="", court="2021-11-15")
    xml = with_block(census_xml(closure=""), block(), second)
    data = load_council(write_council(tmp_path, {"cin_census_2022.xml": xml}), config())
    history = build_history(data, config())
    shown = OutputConfig(suppress_max=0)
    table = summarise_history(history, shown, synthetic=False).pre_proceedings
    assert table is not None
    counts = table.set_index(["financial_year", "event"])["count"]
    assert counts[("2021/22", "pre_proceedings_started")] == 2
    assert counts[("2021/22", "fgdm_held")] == 1
    assert counts[("2021/22", "court_application")] == 1
    assert counts[("2020/21", "pre_proceedings_started")] == 0  # every year of the window
    summary = summarise_history(history, OutputConfig(), synthetic=False)
    section = summary.markdown.split("## Pre-proceedings")[1]
    assert "| Pre-proceedings started | 0 | [c] |" in section
    plain = load_council(write_council(tmp_path / "plain", {}), config())
    without = summarise_history(build_history(plain, config()), OutputConfig(), synthetic=False)
    assert without.pre_proceedings is None and "Pre-proceedings" not in without.markdown
