"""Problems found in a council's files, the report that lists them, and the error raised."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["ERROR", "RULES", "WARNING", "InvalidDataError", "Problem", "ValidationReport"]

ERROR = "error"
WARNING = "warning"

# Every rule the checks report, with what it means.
RULES: dict[str, str] = {
    # the folder and its files
    "folder_not_found": "the data folder does not exist",
    "no_ssda903": "no SSDA903 Header or Episodes files in the folder",
    "unknown_year": "an SSDA903 file whose collection year cannot be told from its name",
    "duplicate_file": "two SSDA903 files of one kind for the same year",
    "missing_file": "a year with a Header file but no Episodes file, or the reverse",
    "missing_year": "a year missing between the first and last SSDA903 years",
    "unreadable_file": "not a readable CSV (or XML) file in UTF-8 or Windows-1252",
    "empty_file": "a file with no data rows (or no bytes at all)",
    "wrong_delimiter": "a file separated by semicolons or tabs instead of commas",
    "missing_column": "a required column is absent",
    "bad_mapping": "the placement-group mapping file is not usable",
    "pseudonym_key": "the pseudonymisation key cannot be read or created",
    "no_usable_episodes": "no SSDA903 episode is left to use",
    # one row
    "duplicate_row": "an exact copy of an earlier row in the same file",
    "missing_value": "a required value is blank",
    "bad_date": "a date not written dd/mm/YYYY or YYYY-MM-DD, or not a real date",
    "not_boolean": "a yes/no item that is not true/false, 1/0 or Y/N",
    "unknown_code": "a code not in the statutory code list",
    "missing_provider": "PLACE_PROVIDER blank where the PLACE code needs one",
    "unmapped_placement": "no placement-group rule covers the PLACE / PLACE_PROVIDER pair",
    "end_before_start": "an end date before its start date",
    "birth_after_start": "a start date before the child's date of birth",
    "end_without_reason": "an end date without the reason it ended (REC, ReasonForClosure, "
    "end_reason)",
    "reason_without_end": "a reason for ending without an end date",
    "date_after_year_end": "an SSDA903 date after 31 March of the return's collection year",
    "date_after_reference_date": "a CIN census XML date after the census reference date",
    "duplicate_child": "a child with two different rows in one Header file",
    "duplicate_episode": "two different episodes of a child starting the same day in one file",
    # across rows, files and sources
    "dob_conflict": "a child with two different dates of birth (across years or sources)",
    "child_not_in_header": "an episode of a child with no usable Header row",
    "overlapping_episodes": "an episode starting before the child's previous episode ended",
    "open_past_18": "a care episode open past the child's 18th birthday",
    "x1_without_next": "(warning) REC X1 but no episode starts on that DEC",
    "uasc_not_in_header": "(warning) a child in a UASC table with no usable Header row",
    "open_not_in_next_return": "(warning) an episode open at 31 March that the next return "
    "does not mention",
}

# Longest value shown in a report; longer values are cut with an ellipsis.
_MAX_VALUE_CHARS = 40


@dataclass(frozen=True)
class Problem:
    """One problem in one file.

    Attributes:
        file: the file's name relative to the council folder (posix separators).
        row: 1-based line number in the file counting the header as line 1 (for XML, the
            line where the element starts), or ``None`` for a problem with the whole file.
        column: the column (or XML element) as named in the file, or ``None``.
        value: the offending value as text; child ids are shown pseudonymised.
        rule: a short snake_case rule id, e.g. ``"bad_date"``.
        message: what is wrong, in plain words.
        severity: ``"error"`` (the row cannot be used) or ``"warning"`` (suspicious, kept).
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    rule: str
    message: str
    severity: str = ERROR


@dataclass
class ValidationReport:
    """Every problem found in a council folder.

    Attributes:
        problems: the problems, in the order they were found.
        files: the files that were checked (relative names).
        folder: the folder checked, for the report's title.
    """

    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    folder: str = ""

    def add(self, problem: Problem) -> None:
        """Append one problem."""
        self.problems.append(problem)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems)

    @property
    def errors(self) -> list[Problem]:
        """Problems with severity ``"error"``."""
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        """Problems with severity ``"warning"``."""
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        """True when no error was found (warnings allowed)."""
        return not self.errors

    def rules(self) -> set[str]:
        """The set of rule ids broken."""
        return {p.rule for p in self.problems}

    def counts(self) -> dict[str, int]:
        """Number of problems per rule, most frequent first."""
        return dict(Counter(p.rule for p in self.problems).most_common())

    def to_frame(self) -> pd.DataFrame:
        """The problems as a table: file, row, column, value, rule, severity, message."""
        columns = ["file", "row", "column", "value", "rule", "severity", "message"]
        frame = pd.DataFrame(
            [
                (p.file, p.row, p.column, p.value, p.rule, p.severity, p.message)
                for p in self.problems
            ],
            columns=columns,
        )
        frame["row"] = frame["row"].astype("Int64")
        return frame

    def format(self) -> str:
        """Readable text: a table of problems per file, then the number of problems per rule."""
        title = f"Validation of {self.folder}" if self.folder else "Validation"
        if not self.problems:
            return f"{title}: no problems found in {len(self.files)} file(s)."
        n_err, n_warn = len(self.errors), len(self.warnings)
        files = list(dict.fromkeys(p.file for p in self.problems))
        lines = [
            f"{title}: {n_err} error(s) and {n_warn} warning(s) in {len(files)} file(s)"
            f" ({len(self.files)} checked).",
        ]
        head = ("row", "column", "value", "rule", "severity", "what is wrong")
        for name in files:
            rows = [
                (
                    "-" if p.row is None else str(p.row),
                    p.column or "-",
                    _shorten(p.value),
                    p.rule,
                    p.severity,
                    p.message,
                )
                for p in sorted(
                    (p for p in self.problems if p.file == name),
                    key=lambda p: -1 if p.row is None else p.row,
                )
            ]
            widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]
            lines += ["", f"{name} ({len(rows)} problem(s))"]
            for cells in [head, *rows]:
                left = "  ".join(c.ljust(w) for c, w in zip(cells[:-1], widths, strict=False))
                lines.append(f"  {left}  {cells[-1]}")
        lines += ["", "Problems per rule:"]
        counts = self.counts()
        width = max(len(rule) for rule in counts)
        lines += [f"  {rule.ljust(width)}  {n}" for rule, n in counts.items()]
        return "\n".join(lines)


class InvalidDataError(Exception):
    """Raised when a council folder has problems and lenient reading is off.

    ``str(exc)`` is the readable report; ``exc.report`` is the :class:`ValidationReport`.
    """

    def __init__(self, report: ValidationReport) -> None:
        super().__init__(report.format())
        self.report = report


def _shorten(value: str | None) -> str:
    if value is None:
        return ""
    text = str(value).replace("\n", " ")
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 1] + "…"


# ----------------------------------------------------------------------------------------
# Helpers for the readers: flag rows of a frame that carries `_file`, `_line`, `_bad`.

Message = str | Callable[[pd.DataFrame], Iterable[str]]

FILE_COL = "_file"
LINE_COL = "_line"
BAD_COL = "_bad"


def raw_col(label: str) -> str:
    """Name of the column holding the text of file column ``label`` as read."""
    return f"~{label}"


def flag(
    report: ValidationReport,
    frame: pd.DataFrame,
    mask: pd.Series,
    column: str | None,
    rule: str,
    message: Message,
    *,
    value: pd.Series | None = None,
    severity: str = ERROR,
) -> int:
    """Report every row of ``frame`` where ``mask`` holds; mark error rows as bad.

    ``column`` is the file's column name; the value shown is the row's text in that column
    (``raw_col(column)``) unless ``value`` is given. ``message`` is one text for every row or
    a function of the flagged rows returning one text per row. Returns the number flagged.
    """
    mask = mask.fillna(False).astype(bool) if mask.dtype != bool else mask
    if not mask.any():
        return 0
    rows = frame.loc[mask]
    if value is not None:
        values = value.loc[mask]
    elif column is not None and raw_col(column) in frame.columns:
        values = rows[raw_col(column)]
    else:
        values = pd.Series([None] * len(rows), index=rows.index)
    texts = [message] * len(rows) if isinstance(message, str) else list(message(rows))
    for file, line, val, text in zip(rows[FILE_COL], rows[LINE_COL], values, texts, strict=True):
        shown = None if val is None or pd.isna(val) else str(val)
        report.add(Problem(str(file), int(line), column, shown, rule, text, severity))
    if severity == ERROR:
        first = mask & frame[BAD_COL].isna()
        frame.loc[first, BAD_COL] = rule
    return int(mask.sum())


def drop_bad(frame: pd.DataFrame, dropped: dict[str, int]) -> pd.DataFrame:
    """Remove rows marked bad, adding one count per row to ``dropped`` under its first rule."""
    bad = frame[BAD_COL].notna()
    if bad.any():
        for rule, n in frame.loc[bad, BAD_COL].value_counts().items():
            dropped[str(rule)] = dropped.get(str(rule), 0) + int(n)
    return frame.loc[~bad]
