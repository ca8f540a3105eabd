"""What an input file is: the table it holds and the collection year it belongs to.

A table is recognised by its columns, else by its file name (the SSDA903 tables, the CIN
census, early help, and the SSDA903 tables this package does not use); a collection year
comes from a file's or folder's name (:func:`name_year`) and is checked against the dates of
an Episodes file (:func:`data_year`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from care_demand.data.workbook import WORKBOOK_SUFFIXES

__all__ = [
    "CIN",
    "CIN_NAME",
    "EARLY_HELP",
    "EPISODES",
    "HEADER",
    "SSDA903_KINDS",
    "TABLE_BY_KIND",
    "UASC",
    "SourceFile",
    "Table",
    "collection_year",
    "data_year",
    "kind_by_columns",
    "kind_by_name",
    "name_year",
]

HEADER = "header"
EPISODES = "episodes"
UASC = "uasc"
CIN = "cin"
EARLY_HELP = "early_help"

# Collection years outside this range are not SSDA903 years (the return began in 1992).
_YEARS = range(1992, 2100)


@dataclass(frozen=True)
class Table:
    """A table councils supply: the words naming its files and the columns that identify it
    (any one set of columns, all present, is enough)."""

    kind: str
    label: str
    names: tuple[str, ...]
    columns: tuple[frozenset[str], ...]
    used: bool


def _cols(*names: str) -> frozenset[str]:
    return frozenset(n.lower() for n in names)


# In the order columns are tried: Episodes and UASC before Header (UASC also has CHILD, SEX,
# DOB), Header before the tables not used (none of them has SEX).
_TABLES: tuple[Table, ...] = (
    Table(
        EPISODES,
        "SSDA903 Episodes",
        ("episodes", "episode"),
        (_cols("CHILD", "DECOM", "RNE"), _cols("CHILD", "DECOM", "LS", "PLACE")),
        True,
    ),
    Table(UASC, "SSDA903 UASC", ("uasc",), (_cols("CHILD", "DUC"),), True),
    Table(HEADER, "SSDA903 Header", ("header",), (_cols("CHILD", "SEX", "DOB"),), True),
    Table(
        CIN,
        "CIN census",
        ("cin_census",),
        (_cols("LAchildID", "CINreferralDate"),),
        True,
    ),
    Table(EARLY_HELP, "early help", ("early_help",), (_cols("child_id", "start_date"),), True),
    Table(
        "reviews",
        "SSDA903 reviews",
        ("reviews", "review"),
        (_cols("CHILD", "REVIEW"), _cols("CHILD", "REVIEW_CODE")),
        False,
    ),
    Table(
        "oc2",
        "SSDA903 OC2 (outcomes of children in care)",
        ("oc2",),
        (_cols("CHILD", "SDQ_SCORE"), _cols("CHILD", "CONVICTED"), _cols("CHILD", "HEALTH_CHECK")),
        False,
    ),
    Table(
        "oc3",
        "SSDA903 OC3 (care leavers)",
        ("oc3",),
        (_cols("CHILD", "IN_TOUCH"), _cols("CHILD", "ACTIV"), _cols("CHILD", "ACCOM")),
        False,
    ),
    Table(
        "missing",
        "SSDA903 missing or away from placement",
        ("missing",),
        (_cols("CHILD", "MISSING"), _cols("CHILD", "MIS_START")),
        False,
    ),
    Table(
        "placed_for_adoption",
        "SSDA903 placed for adoption",
        ("placed_for_adoption", "placed_adoption"),
        (_cols("CHILD", "DATE_PLACED"),),
        False,
    ),
    Table(
        "previous_permanence",
        "SSDA903 previous permanence",
        ("previous_permanence", "prev_perm"),
        (_cols("CHILD", "PREV_PERM"),),
        False,
    ),
    Table(
        "ad1",
        "SSDA903 AD1 (adoption)",
        ("ad1",),
        (
            _cols("CHILD", "DATE_INT"),
            _cols("CHILD", "DATE_MATCH"),
            _cols("CHILD", "FOSTER_CARE"),
            _cols("CHILD", "NB_ADOPTR"),
        ),
        False,
    ),
    Table(
        "social_worker",
        "SSDA903 social worker episodes",
        ("social_worker", "sw_episodes"),
        (_cols("CHILD", "SW_ID"),),
        False,
    ),
)
TABLE_BY_KIND = {t.kind: t for t in _TABLES}
# Kinds that belong to one year's SSDA903 return (and take the year of its Episodes file).
SSDA903_KINDS = {t.kind for t in _TABLES if t.kind not in (CIN, EARLY_HELP)}
CIN_NAME = re.compile(r"^cin_census.*\.(csv|xml|xlsx|xlsm)$", re.IGNORECASE)
_EH_NAME = re.compile(r"^early_help.*\.(csv|xlsx|xlsm)$", re.IGNORECASE)

# Years in names: 2018-19, 2018_19, 2018 19, 201819, 2018-2019 (the year ending in 2019);
# 2019; 1819 and 18-19 (two-digit years, this century).
_SPAN = re.compile(r"(?<!\d)(\d{4})[-_ /]?(\d{2}|\d{4})(?!\d)")
_FULL = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_SHORT = re.compile(r"(?<!\d)(\d{2})[-_ ]?(\d{2})(?!\d)")


@dataclass(frozen=True)
class SourceFile:
    """One input file: its path, name relative to the folder, kind and collection year."""

    path: Path
    name: str
    kind: str
    year: int | None

    @property
    def suffix(self) -> str:
        """Lower-case file extension without the dot."""
        return self.path.suffix.lower().lstrip(".")


def name_year(text: str) -> int | None:
    """The collection year written in a file or folder name, or ``None``.

    ``2018-19``, ``2018_19``, ``201819``, ``2018-2019``, ``1819`` and ``18-19`` are the year
    ending 31 March 2019 (2019); a plain four-digit year is taken as written (in this
    package's layout ``header_2019`` is the year ending March 2019; the dates inside an
    Episodes file have the last word, see :func:`~care_demand.data.discovery.discover`).
    """
    for match in _SPAN.finditer(text):
        first, second = int(match.group(1)), int(match.group(2))
        following = first + 1 if len(match.group(2)) == 4 else (first + 1) % 100
        if first in _YEARS and second == following:
            return first + 1
    years = [int(y) for y in _FULL.findall(text) if int(y) in _YEARS]
    if years:
        return years[-1]
    for match in _SHORT.finditer(text):
        first, second = int(match.group(1)), int(match.group(2))
        if second == (first + 1) % 100 and 2000 + first + 1 in _YEARS:
            return 2000 + first + 1
    return None


def collection_year(dates: pd.Series) -> pd.Series:
    """The collection year of each date: the year of the 31 March ending its April-March
    year (2018-04-01 and 2019-03-31 are both in 2019)."""
    return dates.dt.year + (dates.dt.month >= 4).astype(int)


def kind_by_columns(columns: list[str]) -> str | None:
    """The kind of table whose identifying columns are all among ``columns`` (lower case)."""
    present = set(columns)
    for table in _TABLES:
        if any(needed <= present for needed in table.columns):
            return table.kind
    return None


def kind_by_name(file_name: str) -> str | None:
    """The kind of table a file name points to (a CSV named after the table), or ``None``."""
    if CIN_NAME.match(file_name):
        return CIN
    if _EH_NAME.match(file_name):
        return EARLY_HELP
    if not file_name.lower().endswith((".csv", *WORKBOOK_SUFFIXES)):
        return None
    stem = re.sub(r"[^a-z0-9]+", "_", file_name.lower().rsplit(".", 1)[0])
    for table in _TABLES:
        if table.kind in (CIN, EARLY_HELP):
            continue
        for word in table.names:
            if re.search(rf"(?<![a-z]){word}(?![a-z])", stem):
                return table.kind
    return None


def data_year(
    decom: pd.Series, dec: pd.Series, named: int | None
) -> tuple[int | None, pd.Timestamp | None]:
    """The collection year an Episodes file's dates point to, and the latest date in it.

    A year's return holds the episodes open at some time in its April-March year: every DEC
    falls in the year and every DECOM before its end. So the year is the one holding most
    DEC dates (a stray date a day late does not move it); with no DEC at all (every episode
    open), the year of the latest DECOM, or any later year. The ``named`` year is kept when
    it agrees: it holds most DEC dates, or (a file holding several years) every date is
    inside it and the latest DEC is in its year. Returns ``(None, None)`` with no dates.
    """
    every = pd.concat([decom, dec]).dropna()
    if every.empty:
        return None, None
    closed = collection_year(dec.dropna())
    if closed.empty:
        first_possible = int(collection_year(decom.dropna()).max())
        year = named if named is not None and named >= first_possible else first_possible
    else:
        counts = closed.value_counts()
        most = counts[counts == counts.max()].index.max()
        year = int(most)
        if named is not None and named != year:
            end = pd.Timestamp(year=named, month=3, day=31)
            if (every <= end).all() and int(closed.max()) == named:
                year = named
    end = pd.Timestamp(year=year, month=3, day=31)
    inside = every.loc[every <= end]
    latest = inside.max() if not inside.empty else every.max()
    return year, latest
