"""Reading a council's data: load and validate files, then build the event history.

Typical use::

    council = load_council("/secure/share/returns", DataConfig())
    history = build_history(council, DataConfig())
"""

from __future__ import annotations

from care_demand.data.caseload import CaseloadCheck, CaseloadError, check_caseload
from care_demand.data.council import CouncilData
from care_demand.data.history import EventHistory
from care_demand.data.history_build import build_history
from care_demand.data.loader import load_council
from care_demand.data.placements import MappingError
from care_demand.data.problems import RULES, InvalidDataError, Problem, ValidationReport
from care_demand.data.pseudonymise import PseudonymKeyError, pseudonymise, resolve_key
from care_demand.data.settings import CareLeaverConfig, DataConfig
from care_demand.data.validate import validate_folder

__all__ = [
    "RULES",
    "CareLeaverConfig",
    "CaseloadCheck",
    "CaseloadError",
    "CouncilData",
    "DataConfig",
    "EventHistory",
    "InvalidDataError",
    "MappingError",
    "Problem",
    "PseudonymKeyError",
    "ValidationReport",
    "build_history",
    "check_caseload",
    "load_council",
    "pseudonymise",
    "resolve_key",
    "validate_folder",
]
