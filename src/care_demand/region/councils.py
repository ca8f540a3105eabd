"""The councils of a region's folder.

A region is given as either

- a folder of council folders, one per council, each laid out as ``data.path`` takes it; or
- a folder of multi-council files (CSV, as the regional model takes them) with an ``LA``
  column naming the council of each row and optionally a ``YEAR`` column (the collection
  year).

:func:`find_councils` lists the councils reading no more than the ``LA`` column;
:func:`write_council_files` writes one council's rows as a council folder, inside that
council's own task, so no other council's children pass through it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from care_demand.errors import CareDemandError

__all__ = ["LA_COLUMN", "YEAR_COLUMN", "Council", "find_councils", "write_council_files"]

LA_COLUMN = "LA"
YEAR_COLUMN = "YEAR"


@dataclass(frozen=True)
class Council:
    """One council of a region: its name, and its folder or the multi-council files."""

    name: str
    # The council's own folder; None when its rows are in the region's multi-council files.
    folder: Path | None
    region_path: Path

    @property
    def label(self) -> str:
        """The name used for its run folder (letters, digits, ``-`` and ``_``)."""
        return re.sub(r"[^A-Za-z0-9_-]+", "_", self.name).strip("_") or "council"


def _is_column(name: str, wanted: str) -> bool:
    return str(name).strip().upper() == wanted


def _multi_council_files(path: Path) -> list[Path]:
    files = []
    for file in sorted(path.glob("*.csv")):
        header = pd.read_csv(file, nrows=0, dtype=str, encoding_errors="replace")
        if any(_is_column(c, LA_COLUMN) for c in header.columns):
            files.append(file)
    return files


def find_councils(path: str | Path, names: Sequence[str] | None = None) -> list[Council]:
    """The councils of the region at ``path`` (only those in ``names``, when given)."""
    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise CareDemandError(
            f"region.path={str(path)!r}: no such folder. Give a folder of council folders, "
            "or of multi-council files with an LA column."
        )
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    councils = [Council(p.name, p, root) for p in folders]
    if not councils:
        found: set[str] = set()
        for file in _multi_council_files(root):
            column = pd.read_csv(
                file, usecols=lambda c: _is_column(c, LA_COLUMN), dtype=str, keep_default_na=False
            ).iloc[:, 0]
            found |= {v.strip() for v in column if v.strip()}
        councils = [Council(name, None, root) for name in sorted(found)]
    if not councils:
        raise CareDemandError(
            f"region.path={str(path)!r}: no council found (no council folders, and no CSV "
            f"file with an {LA_COLUMN} column)"
        )
    if names:
        known = {c.name for c in councils}
        missing = sorted(set(names) - known)
        if missing:
            raise CareDemandError(
                f"region.councils: {', '.join(missing)} not found in {root} (found: "
                f"{', '.join(sorted(known))})"
            )
        councils = [c for c in councils if c.name in set(names)]
    labels = [c.label for c in councils]
    if len(set(labels)) != len(labels):
        raise CareDemandError(f"region.path={str(path)!r}: two councils share a folder name")
    return councils


def write_council_files(council: Council, dest: Path) -> Path:
    """One council's rows of the region's multi-council files, as a council folder at ``dest``.

    Each file's rows whose ``LA`` is the council's are written without the ``LA`` column;
    a file with a ``YEAR`` column is written once per year, named ``<file>_<YEAR>.csv``.
    Returns the council's folder (its own folder when it has one).
    """
    if council.folder is not None:
        return council.folder
    dest.mkdir(parents=True, exist_ok=True)
    for file in _multi_council_files(council.region_path):
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
        la = next(c for c in frame.columns if _is_column(c, LA_COLUMN))
        rows = frame[frame[la].str.strip() == council.name].drop(columns=la)
        year = next((c for c in rows.columns if _is_column(c, YEAR_COLUMN)), None)
        if year is None:
            rows.to_csv(dest / file.name, index=False)
            continue
        for value, part in rows.groupby(year, sort=True):
            part.drop(columns=year).to_csv(dest / f"{file.stem}_{value}.csv", index=False)
    return dest
