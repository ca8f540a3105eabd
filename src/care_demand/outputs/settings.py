"""The settings of what a run writes: disclosure control, rates and stock dates.

:class:`OutputConfig` is the schema of ``configs/output/default.yaml``; it is part of
:class:`care_demand.config.AppConfig` (``output``) and importable from there too.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["OutputConfig"]


@dataclass
class OutputConfig:
    """What the run writes (``configs/output/default.yaml``)."""

    # Published tables replace counts from 1 to this value with a marker (1-5:
    # [Small-number suppression] in docs/sources.md).
    suppress_max: int = 5
    suppression_marker: str = "[c]"
    # Also hide a second figure wherever a total and its parts would reveal a hidden count.
    secondary_suppression: bool = True
    # Children aged 0-17 in the council's area, for rates per 10,000 (None: counts only).
    child_population: int | None = None
    # Dates on which stocks are counted in the data summary: 31 March of each year.
    stock_month: int = 3
    stock_day: int = 31
