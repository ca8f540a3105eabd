"""SSDA903 returns as XML: read like the CSVs, tolerant of case, namespaces and date forms."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest

from care_demand.data.loader import load_council
from care_demand.data.validate import validate_folder
from test_validate import BASE, KEY_ENV, RAW_IDS, config, write_council

NO_903_CSV: dict[str, str | bytes | None] = {
    "ssda903/header_2021.csv": None,
    "ssda903/episodes_2021.csv": None,
    "ssda903/header_2022.csv": None,
    "ssda903/episodes_2022.csv": None,
}


@pytest.fixture(autouse=True)
def _test_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "test key for validation")


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def return_xml(
    header_csv: str,
    episodes_csv: str,
    year: int | None,
    *,
    namespace: bool = True,
    lower: bool = False,
    uasc: dict[str, str] | None = None,
    header_flag: dict[str, str] | None = None,
) -> str:
    """An SSDA903 XML return holding the same rows as a Header and an Episodes CSV."""
    episodes = _rows(episodes_csv)
    lines = ['<?xml version="1.0" encoding="utf-8"?>']
    lines.append('<Message xmlns="http://www.dfe.gov.uk/SSDA903">' if namespace else "<Message>")
    if year is not None:
        lines += [
            "  <Header><CollectionDetails><Collection>SSDA903</Collection>",
            f"    <Year>{year}</Year><ReferenceDate>{year}-03-31</ReferenceDate>",
            "  </CollectionDetails></Header>",
        ]
    lines.append("  <Children>")
    for head in _rows(header_csv):
        child = head["CHILD"]
        lines.append("    <CHILD>")
        items = "".join(f"<{k}>{v}</{k}>" for k, v in head.items() if k != "CHILD")
        flag = f"<UASC>{header_flag[child]}</UASC>" if header_flag and child in header_flag else ""
        lines.append(f"      <HEADER><CHILDID>{child}</CHILDID>{items}{flag}</HEADER>")
        for episode in (e for e in episodes if e["CHILD"] == child):
            items = "".join(f"<{k}>{v}</{k}>" for k, v in episode.items() if k != "CHILD")
            lines.append(f"      <EPISODE>{items}</EPISODE>")
        if uasc and child in uasc:
            lines.append(f"      <UASC><SEX/><DOB/><DUC>{uasc[child]}</DUC></UASC>")
        lines.append("    </CHILD>")
    lines += ["  </Children>", "</Message>", ""]
    text = "\n".join(lines)
    if lower:
        text = text.replace("<CHILD>", "<child>").replace("</CHILD>", "</child>")
        text = text.replace("<EPISODE>", "<Episode>").replace("</EPISODE>", "</Episode>")
    return text


def xml_council(tmp_path: Path, **kwargs: object) -> Path:
    """The base council with its SSDA903 CSVs replaced by one XML return per year."""
    files: dict[str, str | bytes | None] = dict(NO_903_CSV)
    for year in (2021, 2022):
        files[f"ssda903/return_{year}.xml"] = return_xml(
            BASE[f"ssda903/header_{year}.csv"],
            BASE[f"ssda903/episodes_{year}.csv"],
            year,
            **kwargs,  # type: ignore[arg-type]
        )
    return write_council(tmp_path, files)


def test_xml_return_gives_the_same_council_data_as_the_csvs(tmp_path: Path) -> None:
    from_xml = load_council(xml_council(tmp_path / "xml"), config())
    from_csv = load_council(write_council(tmp_path / "csv"), config())
    pd.testing.assert_frame_equal(from_xml.episodes, from_csv.episodes)
    pd.testing.assert_frame_equal(from_xml.header, from_csv.header)
    assert (from_xml.window_start, from_xml.window_end) == (
        from_csv.window_start,
        from_csv.window_end,
    )
    assert not RAW_IDS.search(from_xml.episodes.to_csv() + from_xml.header.to_csv())
    assert "DT1" not in from_xml.episodes.to_csv()  # postcodes dropped as from the CSV


def test_xml_without_namespace_lower_case_names_and_year_from_name(tmp_path: Path) -> None:
    folder = write_council(
        tmp_path,
        {
            **NO_903_CSV,
            "ssda903/ssda903_2021.xml": return_xml(
                BASE["ssda903/header_2021.csv"],
                BASE["ssda903/episodes_2021.csv"],
                None,
                namespace=False,
                lower=True,
            ),
            # No Header and no year in the name: the year comes from the dates inside.
            "ssda903/latest.xml": return_xml(
                BASE["ssda903/header_2022.csv"], BASE["ssda903/episodes_2022.csv"], None
            ),
        },
    )
    data = load_council(folder, config())
    good = load_council(write_council(tmp_path / "good"), config())
    pd.testing.assert_frame_equal(data.episodes, good.episodes)
    assert data.window_end == pd.Timestamp("2022-03-31")


def test_xml_problems_carry_the_line_of_the_episode(tmp_path: Path) -> None:
    episodes = BASE["ssda903/episodes_2021.csv"].replace("N4,K2", "N4,Q9")
    xml = return_xml(BASE["ssda903/header_2021.csv"], episodes, 2021)
    folder = xml_council(tmp_path)
    (folder / "ssda903/return_2021.xml").write_text(xml, encoding="utf-8")
    report = validate_folder(folder, config())
    problem = next(p for p in report.problems if p.rule == "unknown_code")
    assert (problem.file, problem.column, problem.value) == (
        "ssda903/return_2021.xml",
        "PLACE",
        "Q9",
    )
    assert problem.row == next(i for i, ln in enumerate(xml.splitlines(), 1) if "Q9" in ln)
    assert not RAW_IDS.search(report.format())


def test_dd_mm_yyyy_dates_in_the_xml(tmp_path: Path) -> None:
    folder = xml_council(tmp_path)
    path = folder / "ssda903/return_2021.xml"
    path.write_text(
        path.read_text().replace("<DOB>2012-01-20</DOB>", "<DOB>20/01/2012</DOB>"),
        encoding="utf-8",
    )
    data = load_council(folder, config())
    assert pd.Timestamp("2012-01-20") in set(data.header["dob"])


def test_malformed_xml_is_reported_with_its_line(tmp_path: Path) -> None:
    folder = xml_council(tmp_path)
    path = folder / "ssda903/return_2022.xml"
    lines = path.read_text().splitlines()
    broken = next(i for i, ln in enumerate(lines) if "</HEADER>" in ln)
    lines[broken] = lines[broken].replace("</HEADER>", "")
    path.write_text("\n".join(lines), encoding="utf-8")
    report = validate_folder(folder, config())
    problem = next(p for p in report.problems if p.file == "ssda903/return_2022.xml")
    assert problem.rule == "unreadable_file" and problem.row is not None
    assert f"not well-formed XML at line {problem.row}" in problem.message
    assert not report.ok


def test_xml_declaring_entities_is_refused(tmp_path: Path) -> None:
    folder = xml_council(tmp_path)
    path = folder / "ssda903/return_2022.xml"
    text = path.read_text().replace(
        "<Message",
        '<!DOCTYPE Message [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n<Message',
        1,
    )
    path.write_text(text, encoding="utf-8")
    report = validate_folder(folder, config())
    problem = next(p for p in report.problems if p.file == "ssda903/return_2022.xml")
    assert problem.rule == "unreadable_file" and "entities" in problem.message


def test_other_xml_files_are_left_alone(tmp_path: Path) -> None:
    folder = write_council(tmp_path, {"settings.xml": "<config><a>1</a></config>"})
    report = validate_folder(folder, config())
    assert report.ok, report.format()
    assert "settings.xml" not in report.files
