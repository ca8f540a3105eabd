"""The report: one self-contained HTML file per run and per multirun.

Built from the files on disk (:mod:`care_demand.outputs.run_files`), so it can be made again
from any run folder. Charts are embedded as base64 PNG ``data:`` URIs; the page loads
nothing from anywhere (its content security policy forbids it), needs no network and no
JavaScript framework, and prints cleanly. Tables of recorded counts go through disclosure
control (:mod:`care_demand.outputs.disclosure`); projections are model output and are
labelled as such.

A small inline script checks, once the page has loaded, that every image decoded and that
no script error occurred, and records the result on ``<body>`` (``data-images-ok``,
``data-errors``) for a headless browser to read.

- :mod:`~care_demand.outputs.report.html`: formatting, escaping, tables, figures and the
  page shell.
- :mod:`~care_demand.outputs.report.sections`: sections both reports share.
- :mod:`~care_demand.outputs.report.run`: the run report (:func:`write_run_report`).
- :mod:`~care_demand.outputs.report.comparison`: the comparison report
  (:func:`write_comparison_report`).
"""

from care_demand.outputs.report.comparison import comparison_report_html, write_comparison_report
from care_demand.outputs.report.html import html_table, markdown_to_html
from care_demand.outputs.report.run import run_report_html, write_run_report

__all__ = [
    "comparison_report_html",
    "html_table",
    "markdown_to_html",
    "run_report_html",
    "write_comparison_report",
    "write_run_report",
]
