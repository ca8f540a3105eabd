"""Finding a council's files and reading them as text tables: the public names in one place.

Discovery is in :mod:`care_demand.data.discovery`, recognising a file's table and year in
:mod:`care_demand.data.recognise`, reading CSV text in :mod:`care_demand.data.csv_text`.
"""

from __future__ import annotations

from care_demand.data.csv_text import (
    decode,
    fingerprint,
    parse_bool,
    parse_dates,
    read_csv_text,
    select_columns,
)
from care_demand.data.discovery import discover
from care_demand.data.recognise import (
    CIN,
    EARLY_HELP,
    EPISODES,
    HEADER,
    UASC,
    SourceFile,
    collection_year,
    name_year,
)

__all__ = [
    "CIN",
    "EARLY_HELP",
    "EPISODES",
    "HEADER",
    "UASC",
    "SourceFile",
    "collection_year",
    "decode",
    "discover",
    "fingerprint",
    "name_year",
    "parse_bool",
    "parse_dates",
    "read_csv_text",
    "select_columns",
]
