"""The SSDA903 return as XML, as case-management systems export it for the DfE.

One file holds one collection year::

    <Message>
      <Header><CollectionDetails><Collection>SSDA903</Collection><Year>2019</Year>
        <ReferenceDate>2019-03-31</ReferenceDate></CollectionDetails></Header>
      <Children>
        <CHILD>
          <HEADER><CHILDID/><SEX/><DOB/><ETHNIC/><UPN/><MOTHER/><MC_DOB/><UASC/></HEADER>
          <EPISODE><DECOM/><RNE/><LS/><CIN/><PLACE/><PLACE_PROVIDER/><DEC/><REC/>
            <REASON_PLACE_CHANGE/><HOME_POST/><PL_POST/><URN/></EPISODE>
          ...
          <UASC><SEX/><DOB/><DUC/></UASC>
        </CHILD>
      </Children>
    </Message>

The file is turned into the same text tables the CSV readers produce (Header rows, Episode
rows and UASC rows, each with ``_file`` and ``_line`` = the line of the CHILD, EPISODE or
UASC element), so every check, the pseudonymisation and the merging across years apply
unchanged. Element names are matched case-insensitively, with or without a namespace;
``<Children>`` is optional; ``<UASC>`` inside ``<HEADER>`` is the header's UASC flag,
``<UASC>`` directly inside ``<CHILD>`` is a row of the UASC table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from care_demand.data.problems import BAD_COL, FILE_COL, LINE_COL, ValidationReport, raw_col
from care_demand.data.xml_tree import XmlElement, load_xml

if TYPE_CHECKING:
    from care_demand.data.recognise import SourceFile

__all__ = [
    "EPISODE_ITEMS",
    "HEADER_ITEMS",
    "UASC_ITEMS",
    "XmlReturn",
    "collection_year",
    "is_ssda903",
    "read_xml_table",
    "sniff_ssda903_xml",
]

# The columns of each table as the CSV files name them, in order.
HEADER_ITEMS = ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB", "UASC")
EPISODE_ITEMS = (
    "CHILD",
    "DECOM",
    "RNE",
    "LS",
    "CIN",
    "PLACE",
    "PLACE_PROVIDER",
    "DEC",
    "REC",
    "REASON_PLACE_CHANGE",
    "HOME_POST",
    "PL_POST",
    "URN",
)
UASC_ITEMS = ("CHILD", "SEX", "DOB", "DUC")
# Element names of the child id in the XML's HEADER (CHILDID in the DfE schema).
_ID_TAGS = ("CHILDID", "CHILD")
_YEARS = range(1992, 2100)

HEADER = "header"
EPISODES = "episodes"
UASC = "uasc"


@dataclass(frozen=True)
class XmlReturn:
    """What discovery learns about an SSDA903 XML file.

    Attributes:
        year: the collection year (``None`` when nothing in the file or its name tells it).
        kinds: the tables it holds: ``header`` and ``episodes``, and ``uasc`` when any child
            has a ``<UASC>`` element.
    """

    year: int | None
    kinds: tuple[str, ...]


def _children(root: XmlElement) -> list[XmlElement]:
    """The CHILD elements that hold episodes or a header (wherever they sit)."""
    return [c for c in root.iter("CHILD") if c.find("EPISODE") or c.find("HEADER")]


def is_ssda903(root: XmlElement) -> bool:
    """True when the document is an SSDA903 return: CHILD elements with EPISODE children."""
    return any(child.find("EPISODE") is not None for child in root.iter("CHILD"))


def collection_year(root: XmlElement, name_year: int | None) -> int | None:
    """The return's collection year: the Header's ``<Year>`` (or its ``<ReferenceDate>``),
    else ``name_year`` (from the file or folder name), else the year whose 31 March follows
    the latest DECOM or DEC in the file."""
    header = next(root.iter("Header"), None)
    if header is not None:
        details = header.find("CollectionDetails") or header
        year = details.value("Year")
        if year.isdigit() and int(year) in _YEARS:
            return int(year)
        reference = _date(details.value("ReferenceDate"))
        if reference is not None:
            return _year_of(reference)
    if name_year is not None:
        return name_year
    dates = [
        d
        for child in _children(root)
        for episode in child.findall("EPISODE")
        for d in (_date(episode.value("DECOM")), _date(episode.value("DEC")))
        if d is not None
    ]
    return _year_of(max(dates)) if dates else None


def _date(text: str) -> pd.Timestamp | None:
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        value = pd.to_datetime(text, format=fmt, errors="coerce")
        if not pd.isna(value):
            return pd.Timestamp(value)
    return None


def _year_of(date: pd.Timestamp) -> int:
    """The collection year covering ``date`` (1 April year-1 to 31 March year)."""
    return date.year + (1 if date.month >= 4 else 0)


def sniff_ssda903_xml(
    path: Path, name: str, name_year: int | None, report: ValidationReport
) -> XmlReturn | None:
    """Look at an ``.xml`` file found in a council folder.

    Returns what it holds when it is an SSDA903 return, else ``None`` (another XML file is
    left alone). A file that is not well-formed XML is reported (``unreadable_file`` with
    its line) and gives ``None``.
    """
    root = load_xml(path, name, report)
    if root is None or not is_ssda903(root):
        return None
    kinds = [HEADER, EPISODES]
    if any(child.find("UASC") is not None for child in _children(root)):
        kinds.append(UASC)
    return XmlReturn(collection_year(root, name_year), tuple(kinds))


def read_xml_table(
    source: SourceFile, report: ValidationReport
) -> tuple[pd.DataFrame | None, list[str]]:
    """The table of kind ``source.kind`` (``header``, ``episodes`` or ``uasc``) in an SSDA903
    XML file, as :func:`care_demand.data.csv_text.read_csv_text` gives a CSV: every item as text
    under ``raw_col(name)``, with ``_file``, ``_line`` and ``_bad``; and the column names.

    ``(None, [])`` when the file cannot be used (reported). A UASC table may have no rows.
    """
    root = load_xml(source.path, source.name, report)
    if root is None:
        return None, []
    rows: list[dict[str, object]] = []
    for child in _children(root):
        header = child.find("HEADER") or XmlElement("HEADER", child.line)
        child_id = next((header.value(t) for t in _ID_TAGS if header.value(t)), "")
        child_id = child_id or next((child.value(t) for t in _ID_TAGS if child.value(t)), "")
        if source.kind == HEADER:
            row = {item: header.value(item) for item in HEADER_ITEMS[1:]}
            rows.append({"CHILD": child_id, **row, LINE_COL: child.line})
        elif source.kind == EPISODES:
            for episode in child.findall("EPISODE"):
                row = {item: episode.value(item) for item in EPISODE_ITEMS[1:]}
                rows.append({"CHILD": child_id, **row, LINE_COL: episode.line})
        else:
            for uasc in child.findall("UASC"):
                rows.append(
                    {
                        "CHILD": child_id,
                        "SEX": uasc.value("SEX") or header.value("SEX"),
                        "DOB": uasc.value("DOB") or header.value("DOB"),
                        "DUC": uasc.value("DUC"),
                        LINE_COL: uasc.line,
                    }
                )
    items = {HEADER: HEADER_ITEMS, EPISODES: EPISODE_ITEMS}.get(source.kind, UASC_ITEMS)
    frame = pd.DataFrame(rows, columns=[*items, LINE_COL])
    frame = frame.rename(columns={item: raw_col(item) for item in items})
    for item in items:
        frame[raw_col(item)] = frame[raw_col(item)].fillna("").astype(str)
    frame[LINE_COL] = frame[LINE_COL].astype("int64")
    frame[FILE_COL] = source.name
    frame[BAD_COL] = pd.Series(None, index=frame.index, dtype=object)
    return frame, list(items)
