"""Problems found in a council's files, the report that lists them, and the error raised."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import pandas as pd

__all__ = [
    "ERROR",
    "INFO",
    "REPAIR",
    "REPAIRS",
    "RULES",
    "WARNING",
    "InvalidDataError",
    "Problem",
    "ValidationReport",
]

ERROR = "error"
WARNING = "warning"
# A value with one clear meaning that was read in that meaning (counted per file and rule).
REPAIR = "repair"
# A note about the folder that needs no action (a table present but not used, a file that is
# not an input).
INFO = "info"

# Every rule the checks report, with what it means.
RULES: dict[str, str] = {
    # the folder and its files
    "folder_not_found": "the data folder does not exist",
    "no_ssda903": "no SSDA903 Header or Episodes files in the folder",
    "unknown_year": "an SSDA903 file whose collection year cannot be told from its name",
    "year_from_data": "(warning) the collection year in a file's name disagrees with the "
    "dates inside it, or the name has none: the dates decide",
    "not_used": "(info) a table of the SSDA903 return this package does not use (reviews, "
    "OC2, OC3, missing, adoption, previous permanence, ...)",
    "not_recognised": "(info) a file that is none of the inputs: listed, not read",
    "duplicate_file": "two SSDA903 files of one kind for the same year",
    "missing_file": "a year with a Header file but no Episodes file, or the reverse",
    "missing_year": "a year missing between the first and last SSDA903 years",
    "unreadable_file": "not a readable CSV file in UTF-8 or Windows-1252, XML file or workbook",
    "empty_file": "a file with no data rows (or no bytes at all)",
    "sheets_not_read": "a workbook's sheets after the first, which holds the table (a note)",
    "missing_column": "a required column is absent",
    "bad_mapping": "the placement-group mapping file is not usable",
    "pseudonym_key": "the pseudonymisation key cannot be read or created",
    "no_usable_episodes": "no SSDA903 episode is left to use",
    # one row
    "short_row": "a line with fewer fields than the first line (a truncated file)",
    "long_row": "a line with more fields than the first line",
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
    "fgdm_held_not_offered": "a family group decision-making meeting held or dated but "
    "FGDMOffered false (CIN census pre-proceedings block)",
    # across rows, files and sources
    "dob_conflict": "a child with two different dates of birth (across years or sources)",
    "child_not_in_header": "an episode of a child with no usable Header row",
    "overlapping_episodes": "an episode starting before the child's previous episode ended",
    "open_past_18": "a care episode open past the child's 18th birthday",
    "x1_without_next": "(warning) REC X1 but no episode starts on that DEC",
    "uasc_not_in_header": "(warning) a child in a UASC table with no usable Header row",
    "open_not_in_next_return": "(warning) an episode open at 31 March that the next return "
    "does not mention",
    # values with one clear meaning, read in that meaning and counted (severity "repair")
    "rec_on_open_episode": "(repair) REC given on an open episode (DEC blank): REC is ignored",
    "code_case": "(repair) a code written in the wrong case (p1, e11) is read as the code",
    "padded_cell": "(repair) spaces around a value are removed",
    "extra_blank_fields": "(repair) empty fields after the last column (trailing commas) are "
    "ignored",
    "missing_trailing_fields": "(repair) a line ending before its last columns, none of them "
    "required, is read with those columns blank (spreadsheets leave out trailing empty cells)",
    "semicolon_separated": "(repair) a file whose first line has semicolons and no comma is read "
    "with semicolons as the separator",
    "tab_separated": "(repair) a file whose first line has tabs and no comma is read with tabs "
    "as the separator",
}

# What each repair did, for the report: formatted with the number of values repaired.
REPAIRS: dict[str, str] = {
    "rec_on_open_episode": "repaired: REC given on {n} open episode(s) (no DEC) was ignored",
    "code_case": "repaired: {n} code(s) not in upper case (e.g. p1, e11) read as the code",
    "padded_cell": "repaired: spaces around {n} value(s) removed",
    "extra_blank_fields": "repaired: empty fields after the last column ignored on {n} line(s)",
    "missing_trailing_fields": "repaired: {n} line(s) ending before the last columns (none "
    "required) read with those columns blank",
    "fgdm_implied": "repaired: {n} family group decision-making meeting(s) held or dated but "
    "not marked offered (or held) read as offered and held",
    "semicolon_separated": "repaired: the columns are separated by semicolons, not commas: "
    "{n} row(s) read with that separator",
    "tab_separated": "repaired: the columns are separated by tabs, not commas: {n} row(s) read "
    "with that separator",
}

# Rules that make a whole line unusable: other checks do not report the same line again.
WHOLE_ROW_RULES = frozenset({"short_row", "long_row"})

# Longest value shown in a report; longer values are cut with an ellipsis.
_MAX_VALUE_CHARS = 40


@dataclass(frozen=True)
class Problem:
    """One problem in one file.

    Attributes:
        file: the file's name relative to the council folder (posix separators).
        row: 1-based line number in the file counting the header as line 1 (for XML, the
            line where the element starts; for a workbook, the sheet's row number), or
            ``None`` for a problem with the whole file.
        column: the column (or XML element) as named in the file, or ``None``.
        value: the offending value as text; child ids are shown pseudonymised.
        rule: a short snake_case rule id, e.g. ``"bad_date"``.
        message: what is wrong, in plain words.
        severity: ``"error"`` (the row cannot be used), ``"warning"`` (suspicious, kept),
            ``"repair"`` (values with one clear meaning read in that meaning; the message
            gives how many) or ``"info"`` (a note, e.g. a file present but not used).
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
        repair_counts: values repaired, per (file, rule); :attr:`repairs` sums them per rule.
    """

    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    folder: str = ""
    repair_counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(self, problem: Problem) -> None:
        """Append one problem."""
        self.problems.append(problem)

    def add_file_problem(self, file: str, rule: str, message: str, severity: str = ERROR) -> None:
        """Append a problem with a whole file (no row, column or value)."""
        self.problems.append(Problem(file, None, None, None, rule, message, severity))

    def add_repair(self, file: str, rule: str, count: int) -> None:
        """Count ``count`` values of ``file`` repaired under ``rule`` (a key of ``REPAIRS``).

        The report holds one entry per file and rule, whose message gives the running count.
        """
        if count <= 0:
            return
        key = (file, rule)
        total = self.repair_counts.get(key, 0) + int(count)
        entry = Problem(file, None, None, None, rule, REPAIRS[rule].format(n=total), REPAIR)
        if key in self.repair_counts:
            index = next(
                i
                for i, p in enumerate(self.problems)
                if p.severity == REPAIR and (p.file, p.rule) == key
            )
            self.problems[index] = entry
        else:
            self.problems.append(entry)
        self.repair_counts[key] = total

    @property
    def repairs(self) -> dict[str, int]:
        """Values repaired per rule over all files (empty when nothing was repaired)."""
        totals: dict[str, int] = {}
        for (_, rule), n in self.repair_counts.items():
            totals[rule] = totals.get(rule, 0) + n
        return dict(sorted(totals.items()))

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
    def notes(self) -> list[Problem]:
        """Entries with severity ``"info"`` (files present but not used or not recognised)."""
        return [p for p in self.problems if p.severity == INFO]

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
        """Readable text: a table of problems per file (repairs with their counts), the files
        present but not read, the number of problems per rule and of values repaired."""
        title = f"Validation of {self.folder}" if self.folder else "Validation"
        if not self.problems:
            return f"{title}: no problems found in {len(self.files)} file(s)."
        if all(p.severity == INFO for p in self.problems):
            lines = [f"{title}: no problems found in {len(self.files)} file(s)."]
            lines += ["", f"Files present but not read ({len(self.notes)}):"]
            width = max(len(p.file) for p in self.notes)
            lines += [f"  {p.file.ljust(width)}  {p.message}" for p in self.notes]
            return "\n".join(lines)
        n_err, n_warn = len(self.errors), len(self.warnings)
        listed = [p for p in self.problems if p.severity != INFO]
        files = list(dict.fromkeys(p.file for p in listed))
        extra = ""
        if self.repairs:
            extra += f", {sum(self.repairs.values())} value(s) repaired"
        if self.notes:
            extra += f", {len(self.notes)} note(s)"
        lines = [
            f"{title}: {n_err} error(s) and {n_warn} warning(s){extra} in {len(files)} file(s)"
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
                    (p for p in listed if p.file == name),
                    key=lambda p: -1 if p.row is None else p.row,
                )
            ]
            widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head) - 1)]
            lines += ["", f"{name} ({len(rows)} problem(s))"]
            for cells in [head, *rows]:
                left = "  ".join(c.ljust(w) for c, w in zip(cells[:-1], widths, strict=False))
                lines.append(f"  {left}  {cells[-1]}")
        if self.notes:
            lines += ["", f"Files present but not read ({len(self.notes)}):"]
            width = max(len(p.file) for p in self.notes)
            lines += [f"  {p.file.ljust(width)}  {p.message}" for p in self.notes]
        counts = dict(
            Counter(p.rule for p in self.problems if p.severity not in (REPAIR, INFO)).most_common()
        )
        if counts:
            lines += ["", "Problems per rule:"]
            width = max(len(rule) for rule in counts)
            lines += [f"  {rule.ljust(width)}  {n}" for rule, n in counts.items()]
        if self.repairs:
            lines += ["", "Values repaired per rule (read in their one clear meaning):"]
            width = max(len(rule) for rule in self.repairs)
            lines += [f"  {rule.ljust(width)}  {n}" for rule, n in self.repairs.items()]
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
    if BAD_COL in frame.columns:
        # A line already reported as a whole (e.g. too few fields) is not reported again.
        mask = mask & ~frame[BAD_COL].isin(list(WHOLE_ROW_RULES))
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


# Columns of the table of dropped rows (``CouncilData.dropped_rows``).
DROPPED_ROW_COLUMNS = ("file", "line", "rule", "child_id", "open_episode")


def drop_bad(
    frame: pd.DataFrame, dropped: dict[str, int], rows: list[pd.DataFrame] | None = None
) -> pd.DataFrame:
    """Remove rows marked bad, adding one count per row to ``dropped`` under its first rule.

    When ``rows`` is given, a small table of the dropped rows is appended to it
    (``DROPPED_ROW_COLUMNS``: file, line, rule, pseudonymous child id, and whether the row is
    an SSDA903 episode with DEC blank; ``<NA>`` for rows of other tables).
    """
    bad = frame[BAD_COL].notna()
    if bad.any():
        for rule, n in frame.loc[bad, BAD_COL].value_counts().items():
            dropped[str(rule)] = dropped.get(str(rule), 0) + int(n)
        if rows is not None:
            rows.append(dropped_table(frame.loc[bad]))
    return frame.loc[~bad]


def dropped_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The file, line, rule, pseudonymous child id and open-episode flag of ``frame``'s rows."""
    dec = raw_col("DEC")
    if dec in frame.columns and raw_col("DECOM") in frame.columns:
        open_ = (frame[dec] == "").astype("boolean")
    else:
        open_ = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    child = (
        frame["child_id"] if "child_id" in frame.columns else pd.Series(pd.NA, index=frame.index)
    )
    table = pd.DataFrame(
        {
            "file": frame[FILE_COL].astype("string"),
            "line": frame[LINE_COL].astype("Int64"),
            "rule": frame[BAD_COL].astype("string"),
            "child_id": child.astype("string"),
            "open_episode": open_,
        }
    )
    if "decom" in frame.columns:  # to tell an episode read from another return (not shown)
        table["decom"] = frame["decom"]
    return table.reset_index(drop=True)


def empty_dropped_rows() -> pd.DataFrame:
    """An empty table of dropped rows (``CouncilData.dropped_rows``) with its columns."""
    return pd.DataFrame(
        {
            "file": pd.Series(dtype="string"),
            "line": pd.Series(dtype="Int64"),
            "rule": pd.Series(dtype="string"),
            "child_id": pd.Series(dtype="string"),
            "open_episode": pd.Series(dtype="boolean"),
            "rows": pd.Series(dtype="Int64"),
            "kept_from_other_return": pd.Series(dtype="boolean"),
        }
    )
