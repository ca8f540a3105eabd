"""CIN census XML in the DfE structure: reference date, dates before birth, Sex or GenderCurrent."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from care_demand.data.loader import load_council
from care_demand.data.validate import validate_folder
from test_validate import KEY_ENV, RAW_IDS, config, write_council


@pytest.fixture(autouse=True)
def _test_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "test key for validation")


def census_xml(
    *,
    gender: str = "<Sex>M</Sex>",
    referral: str = "2021-06-01",
    closure: str = "2021-09-01",
    dob: str = "2015-01-01",
    reference: str | None = "2022-03-31",
    year: str = "2022",
) -> str:
    """A CIN census return in the DfE element structure, one child with one referral."""
    reference_item = f"<ReferenceDate>{reference}</ReferenceDate>" if reference else ""
    reason = "<ReasonForClosure>RC8</ReasonForClosure>" if closure else ""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Message xmlns="http://www.dfe.gov.uk/CIN">
  <Header>
    <CollectionDetails>
      <Collection>CIN</Collection>
      <Year>{year}</Year>
      {reference_item}
    </CollectionDetails>
    <Source><SourceLevel>L</SourceLevel><LEA>999</LEA></Source>
  </Header>
  <Children>
    <Child>
      <ChildIdentifiers>
        <LAchildID>RAWID301</LAchildID>
        <UPN>A123456789012</UPN>
        <PersonBirthDate>{dob}</PersonBirthDate>
        {gender}
      </ChildIdentifiers>
      <ChildCharacteristics><Ethnicity>WBRI</Ethnicity></ChildCharacteristics>
      <CINdetails>
        <CINreferralDate>{referral}</CINreferralDate>
        <ReferralSource>1A</ReferralSource>
        <PrimaryNeedCode>N4</PrimaryNeedCode>
        <CINclosureDate>{closure}</CINclosureDate>
        {reason}
        <ReferralNFA>false</ReferralNFA>
        <Assessments>
          <AssessmentActualStartDate>{referral}</AssessmentActualStartDate>
        </Assessments>
        <CINPlanDates></CINPlanDates>
      </CINdetails>
    </Child>
  </Children>
</Message>
"""


def _line_of(text: str, tag: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if f"<{tag}>" in line)


@pytest.mark.parametrize(
    "gender", ["<Sex>M</Sex>", "<GenderCurrent>1</GenderCurrent>", "<sex>f</sex>", ""]
)
def test_sex_or_gender_current_both_load(tmp_path: Path, gender: str) -> None:
    folder = write_council(tmp_path, {"cin_census_2022.xml": census_xml(gender=gender)})
    report = validate_folder(folder, config())
    assert report.ok and not report.problems, report.format()
    data = load_council(folder, config())
    assert data.cin is not None and len(data.cin) == 3  # two from the CSV, one from the XML


def test_referral_after_the_reference_date_is_reported(tmp_path: Path) -> None:
    xml = census_xml(referral="2022-04-02", closure="")
    folder = write_council(tmp_path, {"cin_census_2022.xml": xml})
    report = validate_folder(folder, config())
    found = [p for p in report.problems if p.rule == "date_after_reference_date"]
    assert {(p.column, p.value) for p in found} == {
        ("CINreferralDate", "2022-04-02"),
        ("AssessmentActualStartDate", "2022-04-02"),
    }
    problem = found[0]
    assert problem.file == "cin_census_2022.xml"
    assert problem.row == _line_of(xml, "CINdetails")
    assert "31/03/2022" in problem.message and not report.ok
    data = load_council(folder, config(lenient=True))
    assert data.dropped == {"date_after_reference_date": 1}


def test_reference_date_from_the_year_when_not_given(tmp_path: Path) -> None:
    xml = census_xml(referral="2021-04-02", closure="", reference=None, year="2021")
    report = validate_folder(write_council(tmp_path, {"cin_census.xml": xml}), config())
    found = [p for p in report.problems if p.rule == "date_after_reference_date"]
    assert found and all("31/03/2021" in p.message for p in found)


def test_dates_on_the_reference_date_are_fine(tmp_path: Path) -> None:
    xml = census_xml(referral="2022-03-31", closure="")
    report = validate_folder(write_council(tmp_path, {"cin_census_2022.xml": xml}), config())
    assert report.ok and not report.problems, report.format()


def test_referral_before_birth_is_reported_in_the_xml_as_in_the_csv(tmp_path: Path) -> None:
    xml = census_xml(dob="2021-07-01")
    report = validate_folder(write_council(tmp_path, {"cin_census_2022.xml": xml}), config())
    problem = next(p for p in report.problems if p.rule == "birth_after_start")
    assert (problem.file, problem.column, problem.value) == (
        "cin_census_2022.xml",
        "CINreferralDate",
        "2021-06-01",
    )
    assert problem.row == _line_of(xml, "CINdetails")
    assert not RAW_IDS.search(report.format())


def test_uk_dates_and_element_case_in_the_census_xml(tmp_path: Path) -> None:
    xml = census_xml().replace("2021-06-01", "01/06/2021").replace("CINdetails", "CINDetails")
    data = load_council(write_council(tmp_path, {"cin_census_2022.xml": xml}), config())
    assert data.cin is not None
    assert pd.Timestamp("2021-06-01") in set(data.cin["referral_date"])
