"""The CIN census's pre-proceedings and family group decision-making block (from 2025/26).

Under the Families First Partnership programme a council records, for a child whose case
goes into pre-proceedings (the Public Law Outline's stage before a care application), when
pre-proceedings started, the letter before proceedings, whether a family group
decision-making meeting (family network meeting) was offered and held, the outcome and the
date of any application to court. The census reader (:mod:`care_demand.data.cin`) reads the
block beside each referral (``<PreProceedings>`` inside ``<CINdetails>`` in the XML, or the
same names as optional columns of the flat CSV); this module checks its items and turns the
rows that carry it into the ``pre_proceedings`` table of
:class:`~care_demand.data.council.CouncilData`. A census without the block loads as before
(no table).

The element names are those listed in docs/input_formats.md (matched case-insensitively).
"""

from __future__ import annotations

import pandas as pd

from care_demand.data.checks import check_bool, check_dates, check_order, text, usable
from care_demand.data.codes import code_lists
from care_demand.data.problems import FILE_COL, ValidationReport, flag

__all__ = [
    "PRE_PROCEEDINGS_COLUMNS",
    "PRE_PROCEEDINGS_DATES",
    "PRE_PROCEEDINGS_ELEMENT",
    "PRE_PROCEEDINGS_LABELS",
    "check_pre_proceedings",
    "pre_proceedings_table",
]

# The XML element holding the block, inside CINdetails (repeated for each pre-proceedings).
PRE_PROCEEDINGS_ELEMENT = "PreProceedings"
# snake_case name -> the census's element (or CSV column) name.
PRE_PROCEEDINGS_LABELS = {
    "pp_start": "PreProceedingsStartDate",
    "pp_letter": "LetterBeforeProceedingsDate",
    "fgdm_offered": "FGDMOffered",
    "fgdm_held": "FGDMHeld",
    "fgdm_date": "FGDMDate",
    "pp_outcome": "PreProceedingsOutcome",
    "pp_end": "PreProceedingsEndDate",
    "court_application": "CourtApplicationDate",
}
PRE_PROCEEDINGS_DATES = ["pp_start", "pp_letter", "fgdm_date", "pp_end", "court_application"]

# Columns of CouncilData.pre_proceedings (one row per pre-proceedings of a referral).
PRE_PROCEEDINGS_COLUMNS = (
    "child_id",
    "referral_date",
    "start",
    "letter_date",
    "fgdm_offered",
    "fgdm_held",
    "fgdm_date",
    "outcome",
    "end",
    "court_application_date",
)


def _given(frame: pd.DataFrame) -> pd.Series:
    """Rows carrying any item of the block."""
    given = pd.Series(False, index=frame.index)
    for label in PRE_PROCEEDINGS_LABELS.values():
        given |= text(frame, label) != ""
    return given


def check_pre_proceedings(report: ValidationReport, frame: pd.DataFrame) -> None:
    """Parse and check the block's items on the census rows in ``frame``.

    Dates that are not dates (``bad_date``), yes/no items that are not (``not_boolean``), a
    block without its start date (``missing_value``), an end or court application before
    the start (``end_before_start``) and a meeting held that was not offered
    (``fgdm_held_not_offered``) are errors on the row. A meeting held (or dated) with
    ``FGDMOffered`` blank is read as offered, and a dated meeting with ``FGDMHeld`` blank as
    held: the repair ``fgdm_implied``, counted per file.
    """
    labels = PRE_PROCEEDINGS_LABELS
    codes = code_lists()
    for name in PRE_PROCEEDINGS_DATES:
        check_dates(report, frame, labels[name], name)
    for name in ("fgdm_offered", "fgdm_held"):
        check_bool(report, frame, labels[name], name, codes.true_values, codes.false_values)
    outcome = text(frame, labels["pp_outcome"]).str.upper()
    frame["pp_outcome"] = outcome.replace("", pd.NA).astype("string")
    start = labels["pp_start"]
    flag(
        report,
        frame,
        _given(frame) & (text(frame, start) == ""),
        start,
        "missing_value",
        f"{start} is required when any item of the pre-proceedings block is given",
    )
    for end in ("pp_end", "court_application"):
        check_order(report, frame, (start, "pp_start"), (labels[end], end))
    held = frame["fgdm_held"].fillna(False).astype(bool) | frame["fgdm_date"].notna()
    flag(
        report,
        frame,
        held & (frame["fgdm_offered"] == False),  # noqa: E712 - nullable boolean
        labels["fgdm_held"],
        "fgdm_held_not_offered",
        f"a family group decision-making meeting is held or dated but {labels['fgdm_offered']} "
        "is false",
    )
    implied_offer = held & frame["fgdm_offered"].isna()
    implied_held = frame["fgdm_date"].notna() & frame["fgdm_held"].isna()
    repaired = (implied_offer | implied_held) & usable(frame)
    for file, n in frame.loc[repaired, FILE_COL].value_counts(sort=False).items():
        report.add_repair(str(file), "fgdm_implied", int(n))
    frame.loc[implied_offer, "fgdm_offered"] = True
    frame.loc[implied_held, "fgdm_held"] = True


def pre_proceedings_table(cin: pd.DataFrame) -> pd.DataFrame | None:
    """The pre-proceedings on the usable census rows ``cin``: ``PRE_PROCEEDINGS_COLUMNS``,
    one row per child, referral and start date, sorted; ``None`` when no row carries the
    block (a census before 2025/26, or a council that recorded none)."""
    if "pp_start" not in cin.columns:
        return None
    rows = cin.loc[cin["pp_start"].notna()]
    if rows.empty:
        return None
    table = pd.DataFrame(
        {
            "child_id": rows["child_id"].astype("string"),
            "referral_date": rows["referral_date"].astype("datetime64[ns]"),
            "start": rows["pp_start"].astype("datetime64[ns]"),
            "letter_date": rows["pp_letter"].astype("datetime64[ns]"),
            "fgdm_offered": rows["fgdm_offered"].fillna(False).astype(bool),
            "fgdm_held": rows["fgdm_held"].fillna(False).astype(bool),
            "fgdm_date": rows["fgdm_date"].astype("datetime64[ns]"),
            "outcome": rows["pp_outcome"].astype("string"),
            "end": rows["pp_end"].astype("datetime64[ns]"),
            "court_application_date": rows["court_application"].astype("datetime64[ns]"),
        }
    )
    keys = ["child_id", "referral_date", "start"]
    table = table.drop_duplicates(subset=keys, keep="last")
    return table.sort_values(keys, kind="stable").reset_index(drop=True)
