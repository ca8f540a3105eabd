"""Early-help episodes (``early_help.csv``, this package's own schema): reading and checks."""

from __future__ import annotations

import pandas as pd

from care_demand.data.checks import (
    check_birth_before,
    check_codes,
    check_dates,
    check_order,
    check_reason_pair,
    check_repeated,
    check_required,
    read_source,
)
from care_demand.data.codes import code_lists
from care_demand.data.problems import ValidationReport, raw_col
from care_demand.data.recognise import SourceFile

__all__ = ["EARLY_HELP_LABELS", "read_early_help"]

EARLY_HELP_LABELS = {
    "child_id": "child_id",
    "dob": "date_of_birth",
    "start": "start_date",
    "end": "end_date",
    "end_reason": "end_reason",
}
REQUIRED = ["child_id", "date_of_birth", "start_date"]


def read_early_help(
    source: SourceFile, key: bytes, report: ValidationReport
) -> pd.DataFrame | None:
    """Read and check one early-help file; ``None`` when it cannot be used."""
    frame = read_source(source, EARLY_HELP_LABELS, REQUIRED, key, report)
    if frame is None:
        return None
    check_required(report, frame, REQUIRED)
    check_dates(report, frame, "date_of_birth", "dob")
    check_dates(report, frame, "start_date", "start")
    check_dates(report, frame, "end_date", "end")
    check_codes(
        report, frame, "end_reason", "end_reason", code_lists().early_help_end_reason, lower=True
    )
    check_order(report, frame, ("start_date", "start"), ("end_date", "end"))
    check_birth_before(
        report, frame, frame["dob"], frame[raw_col("date_of_birth")], ("start_date", "start")
    )
    check_reason_pair(report, frame, "end_date", "end_reason")
    check_repeated(
        report,
        frame,
        ["child_id", "start"],
        "start_date",
        "duplicate_episode",
        "this child already has an early-help episode starting on this date on line {line}",
    )
    return frame
