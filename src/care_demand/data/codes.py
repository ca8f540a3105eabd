"""The statutory code lists the council files are checked against (``codes.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

__all__ = ["CodeLists", "code_lists"]

_CODES_FILE = Path(__file__).with_name("codes.yaml")


@dataclass(frozen=True)
class CodeLists:
    """Valid codes per item (upper case, except early-help end reasons and yes/no spellings,
    which are lower case)."""

    sex: frozenset[str]
    rne: frozenset[str]
    ls: frozenset[str]
    cin: frozenset[str]
    place: frozenset[str]
    place_provider: frozenset[str]
    place_without_provider: frozenset[str]
    rec: frozenset[str]
    rec_continuing: str
    reason_for_closure: frozenset[str]
    early_help_end_reason: frozenset[str]
    true_values: tuple[str, ...]
    false_values: tuple[str, ...]


@cache
def code_lists() -> CodeLists:
    """Read the package's code lists (cached)."""
    raw = yaml.safe_load(_CODES_FILE.read_text(encoding="utf-8"))
    s903, census = raw["ssda903"], raw["cin_census"]

    def upper(items: list[object]) -> frozenset[str]:
        return frozenset(str(i).upper() for i in items)

    return CodeLists(
        sex=upper(s903["SEX"]),
        rne=upper(s903["RNE"]),
        ls=upper(s903["LS"]),
        cin=upper(s903["CIN"]),
        place=upper(s903["PLACE"]),
        place_provider=upper(s903["PLACE_PROVIDER"]),
        place_without_provider=upper(s903["PLACE_WITHOUT_PROVIDER"]),
        rec=upper(s903["REC"]),
        rec_continuing=str(s903["REC_CONTINUING"]).upper(),
        reason_for_closure=upper(census["ReasonForClosure"]),
        early_help_end_reason=frozenset(str(i).lower() for i in raw["early_help"]["end_reason"]),
        true_values=tuple(str(i).lower() for i in raw["booleans"]["true"]),
        false_values=tuple(str(i).lower() for i in raw["booleans"]["false"]),
    )
