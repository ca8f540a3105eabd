"""Write results: run folders, disclosure control, the data summary, charts, report, workbook.

Everything a run writes goes through a :class:`RunFolder`; published tables of recorded
counts go through :class:`DisclosureRule` (:func:`suppress_counts`); charts, the
self-contained HTML report and the finance workbook are built from the files of a run
folder (:func:`read_run`). :class:`OutputConfig` holds the settings of what a run writes.

Charts, the report, the workbook and the data summary are imported on first use, so
importing a light part of the package (disclosure control, the run folder) does not load
matplotlib or openpyxl.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from care_demand.outputs.disclosure import DisclosureRule, suppress_counts
from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.run_files import read_run
from care_demand.outputs.run_folder import RunFolder
from care_demand.outputs.settings import OutputConfig, output_problems

if TYPE_CHECKING:
    from care_demand.outputs.charts import run_charts, write_run_charts
    from care_demand.outputs.comparison import compare_runs
    from care_demand.outputs.report import write_run_report
    from care_demand.outputs.summary import summarise_history
    from care_demand.outputs.workbook import write_workbook

__all__ = [
    "LAYOUT",
    "DisclosureRule",
    "OutputConfig",
    "RunFolder",
    "compare_runs",
    "output_problems",
    "read_run",
    "run_charts",
    "summarise_history",
    "suppress_counts",
    "write_run_charts",
    "write_run_report",
    "write_workbook",
]

# Public names imported on first use, with the module that defines them.
_LAZY = {
    "compare_runs": "care_demand.outputs.comparison",
    "run_charts": "care_demand.outputs.charts",
    "summarise_history": "care_demand.outputs.summary",
    "write_run_charts": "care_demand.outputs.charts",
    "write_run_report": "care_demand.outputs.report",
    "write_workbook": "care_demand.outputs.workbook",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
