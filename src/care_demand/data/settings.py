"""The data stage's settings: where a council's data is, how it is read, who is a care leaver.

These dataclasses are part of the ``configs/`` schema (:class:`care_demand.config.AppConfig`
holds them as ``data`` and ``data.care_leaver``); they live here so that reading and building
the history never import the later stages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from care_demand.checking import Checker, Problems
from care_demand.paths import CONFIG_DIR

__all__ = ["CareLeaverConfig", "DataConfig", "data_problems"]


@dataclass
class CareLeaverConfig:
    """Who counts as a care leaver and for how long (Children (Leaving Care) Act 2000)."""

    min_exit_age: float = 16.0
    min_weeks_in_care: float = 13.0
    start_age: float = 18.0
    end_age: float = 21.0
    # Personal-adviser support from 21 to 25 for care leavers who ask for it (Children and
    # Social Work Act 2017): the share still supported at 21, and the age support ends.
    supported_to_25_share: float = 0.3
    supported_end_age: float = 25.0


@dataclass
class DataConfig:
    """Where a council's data is and how it is read (``configs/data/default.yaml``)."""

    path: str | None = None
    lenient: bool = False
    pseudonym_key_env: str = "CARE_DEMAND_PSEUDONYM_KEY"
    pseudonym_key_file: str = "~/.config/care_demand/pseudonym.key"
    link_gap_days: int = 7
    rereferral_days: int = 365
    # A run stops before projecting when lenient reading lost the open episodes of more than
    # this share of the children in care at the last 31 March (or all of them).
    max_lost_caseload_share: float = 0.10
    care_leaver: CareLeaverConfig = field(default_factory=CareLeaverConfig)
    placement_groups_file: str = "mappings/placement_groups.yaml"
    exit_reasons_file: str = "mappings/exit_reasons.yaml"

    def resolve(self, relative: str) -> Path:
        """Resolve a mapping file name against the configs/ folder."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else CONFIG_DIR / candidate


def data_problems(data: DataConfig) -> Problems:
    """Every problem in the data settings, as ``(field, message)`` pairs."""
    check = Checker()
    check.number("data.link_gap_days", data.link_gap_days, 0)
    check.number("data.rereferral_days", data.rereferral_days, 0)
    check.probability("data.max_lost_caseload_share", data.max_lost_caseload_share)
    leaver = data.care_leaver
    base = "data.care_leaver"
    check.probability(f"{base}.supported_to_25_share", leaver.supported_to_25_share)
    if leaver.supported_end_age < leaver.end_age:
        check.add(
            f"{base}.supported_end_age",
            f"is {leaver.supported_end_age}, before end_age {leaver.end_age}",
        )
    if leaver.end_age <= leaver.start_age:
        check.add(f"{base}.end_age", f"is {leaver.end_age}, not after start_age {leaver.start_age}")
    return check.problems
