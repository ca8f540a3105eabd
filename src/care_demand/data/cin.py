"""CIN census files (flat CSV, or the DfE census XML): reading and row checks."""

from __future__ import annotations

import pandas as pd

from care_demand.data.checks import (
    check_birth_before,
    check_bool,
    check_codes,
    check_dates,
    check_order,
    check_reason_pair,
    check_required,
    read_source,
)
from care_demand.data.codes import code_lists
from care_demand.data.csv_text import parse_dates
from care_demand.data.pre_proceedings import (
    PRE_PROCEEDINGS_DATES,
    PRE_PROCEEDINGS_ELEMENT,
    PRE_PROCEEDINGS_LABELS,
    check_pre_proceedings,
)
from care_demand.data.problems import (
    BAD_COL,
    FILE_COL,
    LINE_COL,
    ValidationReport,
    flag,
    raw_col,
)
from care_demand.data.recognise import SourceFile
from care_demand.data.xml_tree import XmlElement, load_xml

__all__ = ["CIN_LABELS", "read_cin"]

CIN_LABELS = {
    "child_id": "LAchildID",
    "dob": "PersonBirthDate",
    "referral_date": "CINreferralDate",
    "referral_nfa": "ReferralNFA",
    "assessment_start": "AssessmentActualStartDate",
    "assessment_end": "AssessmentAuthorisationDate",
    "cin_plan_start": "CINPlanStartDate",
    "cin_plan_end": "CINPlanEndDate",
    "s47_start": "S47ActualStartDate",
    "icpc_date": "DateOfInitialCPC",
    "icpc_not_required": "ICPCnotRequired",
    "cp_start": "CPPstartDate",
    "cp_end": "CPPendDate",
    "closure_date": "CINclosureDate",
    "closure_reason": "ReasonForClosure",
}
# Every item read: the census items above and the optional pre-proceedings block (2025/26).
READ_LABELS = {**CIN_LABELS, **PRE_PROCEEDINGS_LABELS}
REQUIRED = ["LAchildID", "PersonBirthDate", "CINreferralDate", "ReferralNFA"]
DATES = [
    "dob",
    "referral_date",
    "assessment_start",
    "assessment_end",
    "cin_plan_start",
    "cin_plan_end",
    "s47_start",
    "icpc_date",
    "cp_start",
    "cp_end",
    "closure_date",
]
# (start, end) pairs where the end may not come before the start.
ORDERED = [
    ("referral_date", "closure_date"),
    ("assessment_start", "assessment_end"),
    ("cin_plan_start", "cin_plan_end"),
    ("cp_start", "cp_end"),
]


def read_cin(source: SourceFile, key: bytes, report: ValidationReport) -> pd.DataFrame | None:
    """Read and check one CIN census file (CSV or XML); ``None`` when it cannot be used.

    The pre-proceedings and family group decision-making block is read when present
    (:mod:`care_demand.data.pre_proceedings`); without it those columns are blank.

    For the XML, dates after the census reference date (the Header's ``ReferenceDate``, or
    31 March of the collection year) are reported as ``date_after_reference_date``. The
    child's sex (``Sex`` from 2024, ``GenderCurrent`` before) is not used and not read.
    """
    reference = None
    if source.suffix == "xml":
        frame, reference = _read_xml(source, report)
        if frame is None:
            return None
        frame = read_source(
            source,
            READ_LABELS,
            REQUIRED,
            key,
            report,
            frame=frame,
            names=list(READ_LABELS.values()),
        )
    else:
        frame = read_source(source, READ_LABELS, REQUIRED, key, report)
    if frame is None:
        return None
    codes = code_lists()
    labels = CIN_LABELS
    check_required(report, frame, REQUIRED)
    for name in DATES:
        check_dates(report, frame, labels[name], name)
    for name in ("referral_nfa", "icpc_not_required"):
        check_bool(report, frame, labels[name], name, codes.true_values, codes.false_values)
    check_codes(report, frame, labels["closure_reason"], "closure_reason", codes.reason_for_closure)
    for start, end in ORDERED:
        check_order(report, frame, (labels[start], start), (labels[end], end))
    check_birth_before(
        report,
        frame,
        frame["dob"],
        frame[raw_col(labels["dob"])],
        (labels["referral_date"], "referral_date"),
    )
    check_reason_pair(report, frame, labels["closure_date"], labels["closure_reason"])
    check_pre_proceedings(report, frame)
    if reference is not None:
        _check_reference_date(report, frame, reference)
    return frame


# ----------------------------------------------------------------------------------------
# DfE CIN census XML: Message/Children/Child with ChildIdentifiers and CINdetails.


def _read_xml(
    source: SourceFile, report: ValidationReport
) -> tuple[pd.DataFrame | None, pd.Timestamp | None]:
    """Flatten a census XML to the CSV's columns: one row per CINdetails, or more when it
    holds several assessments, CIN plans, section 47 enquiries, CP plans or pre-proceedings
    blocks (the i-th of each share a row). Line numbers are those of the CINdetails
    elements. Also returns the census reference date (``None`` when the file does not tell
    it)."""
    root = load_xml(source.path, source.name, report)
    if root is None:
        return None, None
    reference = _reference_date(root, source)
    rows: list[dict[str, object]] = []
    for child in root.iter("Child"):
        ids = child.find("ChildIdentifiers")
        if ids is None:
            ids = XmlElement("ChildIdentifiers", child.line)
        person = {
            "LAchildID": ids.value("LAchildID"),
            "PersonBirthDate": ids.value("PersonBirthDate"),
        }
        for details in child.findall("CINdetails"):
            rows.extend(_flatten_details(person, details))
    if not rows:
        report.add_file_problem(
            source.name, "empty_file", "no Message/Children/Child/CINdetails elements found"
        )
        return None, None
    frame = pd.DataFrame(rows).fillna("")
    frame = frame.rename(columns={c: raw_col(c) for c in frame.columns if c != LINE_COL})
    for label in READ_LABELS.values():
        if raw_col(label) not in frame.columns:
            frame[raw_col(label)] = ""
    frame[FILE_COL] = source.name
    frame[BAD_COL] = pd.Series(None, index=frame.index, dtype=object)
    return frame, reference


def _reference_date(root: XmlElement, source: SourceFile) -> pd.Timestamp | None:
    """The census reference date: the Header's ``ReferenceDate``, else 31 March of the
    Header's collection ``Year``, else of the year in the file name, else ``None``."""
    header = next(root.iter("Header"), None)
    details = None
    if header is not None:
        details = header.find("CollectionDetails") or header.find("Collection") or header
    if details is not None:
        text = details.value("ReferenceDate")
        if text:
            dates, bad = parse_dates(pd.Series([text]))
            if not bad.iloc[0]:
                return pd.Timestamp(dates.iloc[0])
        year = details.value("Year")
        if year.isdigit() and len(year) == 4:
            return pd.Timestamp(year=int(year), month=3, day=31)
    if source.year is not None:
        return pd.Timestamp(year=source.year, month=3, day=31)
    return None


def _check_reference_date(
    report: ValidationReport, frame: pd.DataFrame, reference: pd.Timestamp
) -> None:
    """Report dates after the census reference date (``date_after_reference_date``)."""
    for name in [*DATES, *PRE_PROCEEDINGS_DATES]:
        label = READ_LABELS[name]
        flag(
            report,
            frame,
            frame[name] > reference,
            label,
            "date_after_reference_date",
            f"{label} is after the census reference date ({reference:%d/%m/%Y})",
        )


def _flatten_details(person: dict[str, str], details: XmlElement) -> list[dict[str, object]]:
    base = {
        **person,
        LINE_COL: details.line,
        "CINreferralDate": details.value("CINreferralDate"),
        "ReferralNFA": details.value("ReferralNFA"),
        "CINclosureDate": details.value("CINclosureDate"),
        "ReasonForClosure": details.value("ReasonForClosure"),
        "DateOfInitialCPC": details.value("DateOfInitialCPC"),
    }
    parts = {
        "Assessments": ["AssessmentActualStartDate", "AssessmentAuthorisationDate"],
        "CINPlanDates": ["CINPlanStartDate", "CINPlanEndDate"],
        "Section47": ["S47ActualStartDate", "DateOfInitialCPC", "ICPCnotRequired"],
        "ChildProtectionPlans": ["CPPstartDate", "CPPendDate"],
        PRE_PROCEEDINGS_ELEMENT: list(PRE_PROCEEDINGS_LABELS.values()),
    }
    found = {tag: details.findall(tag) for tag in parts}
    n_rows = max([1, *(len(items) for items in found.values())])
    rows = []
    for i in range(n_rows):
        row = dict(base)
        for tag, items in found.items():
            if i < len(items):
                for item in parts[tag]:
                    value = items[i].value(item)
                    if value or item not in row:
                        row[item] = value
        rows.append(row)
    return rows
