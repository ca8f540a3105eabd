"""The council's records as read from its files: validated, pseudonymised, merged across years."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from care_demand.data.problems import empty_dropped_rows

__all__ = ["CouncilData"]

# Column order of each table (documented in docs/input_formats.md, renamed to snake_case).
HEADER_COLUMNS = ("child_id", "sex", "dob", "uasc", "uasc_ceased")
EPISODE_COLUMNS = (
    "child_id",
    "decom",
    "dec",
    "rne",
    "ls",
    "cin",
    "place",
    "place_provider",
    "rec",
    "placement_group",
)
CIN_COLUMNS = (
    "child_id",
    "dob",
    "referral_date",
    "referral_nfa",
    "assessment_start",
    "assessment_end",
    "cin_plan_start",
    "cin_plan_end",
    "s47_start",
    "icpc_date",
    "icpc_not_required",
    "cp_start",
    "cp_end",
    "closure_date",
    "closure_reason",
)
EARLY_HELP_COLUMNS = ("child_id", "dob", "start", "end", "end_reason")


@dataclass
class CouncilData:
    """Everything read from one council folder.

    Tables hold pseudonymous ``child_id`` strings only; dates are ``datetime64[ns]`` with
    ``NaT`` for blank (open) dates; codes are upper-case strings with ``<NA>`` for blank.

    Attributes:
        header: one row per child: ``HEADER_COLUMNS``; ``uasc`` (bool) is true for a child
            recorded as an unaccompanied asylum-seeking child in any return (Header flag,
            UASC table or XML), ``uasc_ceased`` the date UASC status ceased (DUC of the
            latest return's UASC row; ``NaT`` when none or unknown). False / NaT for every
            child when the council gave no UASC information (``uasc_supplied``).
        episodes: SSDA903 episodes merged across returns (the latest return wins for an
            episode identified by child and DECOM), sorted by child and DECOM:
            ``EPISODE_COLUMNS``; ``placement_group`` comes from the PLACE/PLACE_PROVIDER mapping.
        cin: CIN census rows (``CIN_COLUMNS``; ``referral_nfa`` and ``icpc_not_required`` are
            booleans) or ``None`` when the council supplied no census.
        early_help: early-help episodes (``EARLY_HELP_COLUMNS``) or ``None``.
        pre_proceedings: the CIN census's pre-proceedings and family group decision-making
            block (from 2025/26; ``PRE_PROCEEDINGS_COLUMNS`` of
            :mod:`care_demand.data.pre_proceedings`: one row per child, referral and
            pre-proceedings start; ``fgdm_offered`` and ``fgdm_held`` booleans) or ``None``
            when no census row carries it.
        window_start: 1 April of the earliest SSDA903 collection year.
        window_end: 31 March of the latest SSDA903 collection year.
        fingerprint: SHA-256 of the input files' bytes (names and contents), for caching.
        dropped: rows dropped in lenient mode, per rule name (empty when none were dropped).
        uasc_supplied: whether the returns hold any UASC information (a UASC table, even an
            empty one, or a non-blank Header ``UASC`` flag).
        dropped_open: of those, the SSDA903 episodes with DEC blank (open, so counting in
            the caseload) that were lost, per rule: an episode dropped from one return but
            read from another is not counted. Empty when none was lost.
        dropped_rows: one row per dropped row: ``file``, ``line`` (``<NA>`` for a file
            that could not be read at all), ``rule``, ``child_id`` (pseudonymous),
            ``open_episode`` (DEC blank; ``<NA>`` for rows of other tables), ``rows`` (1, or
            the lines of an unreadable file) and ``kept_from_other_return``.
        repairs: values read in their one clear meaning, per rule (e.g.
            ``rec_on_open_episode``: REC given on an open episode, ignored); see
            ``problems.REPAIRS``. Empty when nothing was repaired.
        warnings: validation warnings per rule (the rows were kept; ``care-demand-validate``
            lists each one). Empty when there were none.
    """

    header: pd.DataFrame
    episodes: pd.DataFrame
    cin: pd.DataFrame | None
    early_help: pd.DataFrame | None
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    fingerprint: str
    pre_proceedings: pd.DataFrame | None = None
    dropped: dict[str, int] = field(default_factory=dict)
    uasc_supplied: bool = False
    dropped_open: dict[str, int] = field(default_factory=dict)
    dropped_rows: pd.DataFrame = field(default_factory=empty_dropped_rows)
    repairs: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)

    @property
    def dropped_open_total(self) -> int:
        """Number of open episodes (DEC blank) lost in lenient mode."""
        return sum(self.dropped_open.values())

    @property
    def mode(self) -> str:
        """``"continuum"`` when the CIN census or early help is present, else ``"care_only"``."""
        return "continuum" if (self.cin is not None or self.early_help is not None) else "care_only"
