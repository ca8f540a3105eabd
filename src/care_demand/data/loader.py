"""Reading a council folder into :class:`~care_demand.data.council.CouncilData`."""

from __future__ import annotations

import logging
from pathlib import Path

from care_demand.data.council import CouncilData
from care_demand.data.problems import InvalidDataError
from care_demand.data.settings import DataConfig
from care_demand.data.validate import check_folder

__all__ = ["load_council"]

log = logging.getLogger(__name__)


def load_council(path: str | Path | None, config: DataConfig | None = None) -> CouncilData:
    """Read, check, pseudonymise and merge a council's files.

    ``path`` is a folder in the layout of docs/input_formats.md (``None``: ``config.path``,
    else the built-in synthetic example). SSDA903 returns are merged across years (the latest
    return wins for an episode, identified by child and DECOM) and PLACE / PLACE_PROVIDER are
    mapped to placement groups with ``config.placement_groups_file``.

    Raises :class:`InvalidDataError` (``str(exc)`` is the readable report, ``exc.report`` the
    :class:`ValidationReport`) when any error is found and ``config.lenient`` is false. When
    lenient, rows with errors are dropped and counted per rule in ``CouncilData.dropped``
    (open episodes lost in ``CouncilData.dropped_open``, each row in
    ``CouncilData.dropped_rows``, and the first log line says how many open episodes were
    lost); the error is still raised if nothing usable is left. Warnings, repairs
    (``CouncilData.repairs``) and notes about files not read never stop the load.
    """
    config = config or DataConfig()
    result = check_folder(path, config)
    report = result.report
    if result.data is None or (not report.ok and not config.lenient):
        raise InvalidDataError(report)
    data = result.data
    if data.dropped_open:
        log.warning(
            "%s: %d OPEN care episode(s) (DEC blank, so in the caseload) were dropped and are "
            "missing from the history: %s. See CouncilData.dropped_rows for file, line and rule.",
            report.folder,
            data.dropped_open_total,
            _per_rule(data.dropped_open),
        )
    if result.dropped or report.errors or report.warnings:
        log.warning(
            "%s: %d error(s), %d warning(s); %d row(s) dropped (%s)",
            report.folder,
            len(report.errors),
            len(report.warnings),
            sum(result.dropped.values()),
            _per_rule(result.dropped) or "none",
        )
    if data.repairs:
        log.warning(
            "%s: values read in their one clear meaning (repairs): %s",
            report.folder,
            _per_rule(data.repairs),
        )
    notes = [p.file for p in report.notes]
    if notes:
        log.info("%s: files present but not read: %s", report.folder, ", ".join(notes))
    return data


def _per_rule(counts: dict[str, int]) -> str:
    return ", ".join(f"{rule} {n}" for rule, n in counts.items())
