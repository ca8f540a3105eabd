"""CIN census files (flat CSV, or the DfE census XML): reading and row checks."""

from __future__ import annotations

import xml.parsers.expat
from dataclasses import dataclass, field

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
from care_demand.data.io import SourceFile
from care_demand.data.problems import (
    BAD_COL,
    FILE_COL,
    LINE_COL,
    Problem,
    ValidationReport,
    raw_col,
)

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
    """Read and check one CIN census file (CSV or XML); ``None`` when it cannot be used."""
    if source.suffix == "xml":
        frame = _read_xml(source, report)
        if frame is None:
            return None
        frame = read_source(
            source,
            CIN_LABELS,
            REQUIRED,
            key,
            report,
            frame=frame,
            names=list(CIN_LABELS.values()),
        )
    else:
        frame = read_source(source, CIN_LABELS, REQUIRED, key, report)
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
    return frame


# ----------------------------------------------------------------------------------------
# DfE CIN census XML: Message/Children/Child with ChildIdentifiers and CINdetails.


@dataclass
class _Element:
    tag: str
    line: int
    text: str = ""
    children: list[_Element] = field(default_factory=list)

    def find(self, tag: str) -> _Element | None:
        return next((c for c in self.children if c.tag == tag), None)

    def findall(self, tag: str) -> list[_Element]:
        return [c for c in self.children if c.tag == tag]

    def value(self, tag: str) -> str:
        child = self.find(tag)
        return child.text.strip() if child is not None else ""


def _parse_xml(data: bytes) -> _Element:
    """Parse XML into a small tree keeping each element's line (namespaces dropped)."""
    parser = xml.parsers.expat.ParserCreate()
    stack: list[_Element] = [_Element("#document", 0)]
    parts: list[list[str]] = [[]]

    def start(name: str, _attrs: dict[str, str]) -> None:
        element = _Element(name.rsplit(":", 1)[-1], parser.CurrentLineNumber)
        stack[-1].children.append(element)
        stack.append(element)
        parts.append([])

    def end(_name: str) -> None:
        element = stack.pop()
        element.text = "".join(parts.pop())

    def chars(data: str) -> None:
        parts[-1].append(data)

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.Parse(data, True)
    return stack[0]


def _read_xml(source: SourceFile, report: ValidationReport) -> pd.DataFrame | None:
    """Flatten a census XML to the CSV's columns: one row per CINdetails, or more when it
    holds several assessments, CIN plans, section 47 enquiries or CP plans (the i-th of each
    share a row). Line numbers are those of the CINdetails elements."""
    data = source.path.read_bytes()
    if not data.strip():
        report.add(Problem(source.name, None, None, None, "empty_file", "the file is empty"))
        return None
    try:
        root = _parse_xml(data)
    except xml.parsers.expat.ExpatError as exc:
        report.add(
            Problem(
                source.name,
                exc.lineno,
                None,
                None,
                "unreadable_file",
                f"not well-formed XML ({xml.parsers.expat.errors.messages[exc.code]})",
            )
        )
        return None
    children = [
        child
        for message in root.children
        for group in message.findall("Children")
        for child in group.findall("Child")
    ]
    rows: list[dict[str, object]] = []
    for child in children:
        ids = child.find("ChildIdentifiers")
        if ids is None:
            ids = _Element("ChildIdentifiers", child.line)
        person = {
            "LAchildID": ids.value("LAchildID"),
            "PersonBirthDate": ids.value("PersonBirthDate"),
        }
        for details in child.findall("CINdetails"):
            rows.extend(_flatten_details(person, details))
    if not rows:
        report.add(
            Problem(
                source.name,
                None,
                None,
                None,
                "empty_file",
                "no Message/Children/Child/CINdetails elements found",
            )
        )
        return None
    frame = pd.DataFrame(rows).fillna("")
    frame = frame.rename(columns={c: raw_col(c) for c in frame.columns if c != LINE_COL})
    for label in CIN_LABELS.values():
        if raw_col(label) not in frame.columns:
            frame[raw_col(label)] = ""
    frame[FILE_COL] = source.name
    frame[BAD_COL] = pd.Series(None, index=frame.index, dtype=object)
    return frame


def _flatten_details(person: dict[str, str], details: _Element) -> list[dict[str, object]]:
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
