"""A run folder that only changes when a run succeeds.

Everything a run writes goes first to a hidden staging folder beside the run folder; on
success each file is moved into place (``os.replace``, atomic on one file system). A run that
fails removes its staging folder, so outputs from an earlier run in the same folder stay
exactly as they were.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import TracebackType

import pandas as pd

from care_demand.outputs.layout import LAYOUT

__all__ = ["RunFolder"]


class RunFolder:
    """Stage a run's outputs and publish them together.

    Use as a context manager: files are published when the block ends without an exception
    and discarded otherwise.
    """

    def __init__(self, final_dir: str | Path) -> None:
        self.final_dir = Path(final_dir)
        self.staging_dir = self.final_dir / f"{LAYOUT.staging_dir}-{os.getpid()}"

    def __enter__(self) -> RunFolder:
        self.final_dir.mkdir(parents=True, exist_ok=True)
        if self.staging_dir.exists():
            shutil.rmtree(self.staging_dir)
        self.staging_dir.mkdir()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.publish()
        else:
            self.discard()

    def path(self, name: str) -> Path:
        """Return the staging path for output ``name`` (sub-folders are created)."""
        target = self.staging_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_text(self, name: str, text: str) -> Path:
        """Stage a UTF-8 text file."""
        target = self.path(name)
        target.write_text(text, encoding="utf-8")
        return target

    def write_csv(self, name: str, frame: pd.DataFrame) -> Path:
        """Stage a CSV file (UTF-8, no index)."""
        target = self.path(name)
        frame.to_csv(target, index=False)
        return target

    def publish(self) -> list[Path]:
        """Move every staged file into the run folder; return the published paths."""
        published = []
        for staged in sorted(p for p in self.staging_dir.rglob("*") if p.is_file()):
            final = self.final_dir / staged.relative_to(self.staging_dir)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, final)
            published.append(final)
        shutil.rmtree(self.staging_dir, ignore_errors=True)
        return published

    def discard(self) -> None:
        """Drop everything staged; the run folder keeps its earlier contents."""
        shutil.rmtree(self.staging_dir, ignore_errors=True)
