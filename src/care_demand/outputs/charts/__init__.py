"""Charts: one consistent, accessible style (matplotlib, Agg backend).

Plotting functions take tidy tables (as read from a run folder) and return a ``Figure``;
they never read engine internals. Colours are from the Okabe-Ito palette, safe for
colour-blind readers; every chart has a title saying what it shows, labelled axes with
units, and a caption giving the source (and "synthetic data" for the built-in example).
Recorded counts pass through disclosure control: a point or bar of 1 to 5 children, or one
hidden in the published tables, is not drawn.

:func:`write_run_charts` and :func:`write_comparison_charts` write every chart of a run
folder or a multirun as PNG and SVG.

- :mod:`~care_demand.outputs.charts.style`: palette, chart style, shared axes helpers,
  captions and :func:`save_figure`.
- :mod:`~care_demand.outputs.charts.run`: the charts of one run.
- :mod:`~care_demand.outputs.charts.catalogue`: the :class:`Chart` record and the list of a
  run folder's charts (:func:`run_charts`, :func:`write_run_charts`).
- :mod:`~care_demand.outputs.charts.comparison`: the charts of a multirun and their list
  (:func:`comparison_charts`, :func:`write_comparison_charts`).
"""

import matplotlib

matplotlib.use("Agg")  # before any chart module imports pyplot

from care_demand.outputs.charts.catalogue import Chart, run_charts, write_run_charts
from care_demand.outputs.charts.comparison import (
    comparison_charts,
    cumulative_savings_chart,
    overlaid_fan_chart,
    savings_chart,
    scenario_comparison_chart,
    scenario_demand_capacity_chart,
    scenario_fan_chart,
    write_comparison_charts,
)
from care_demand.outputs.charts.run import (
    continuum_chart,
    costs_chart,
    demand_capacity_chart,
    fan_chart,
    flows_chart,
    out_of_area_chart,
    placement_mix_chart,
)
from care_demand.outputs.charts.style import (
    PALETTE,
    SCENARIO_COLOURS,
    STYLE,
    save_figure,
    source_caption,
)

__all__ = [
    "PALETTE",
    "SCENARIO_COLOURS",
    "STYLE",
    "Chart",
    "comparison_charts",
    "continuum_chart",
    "costs_chart",
    "cumulative_savings_chart",
    "demand_capacity_chart",
    "fan_chart",
    "flows_chart",
    "out_of_area_chart",
    "overlaid_fan_chart",
    "placement_mix_chart",
    "run_charts",
    "save_figure",
    "savings_chart",
    "scenario_comparison_chart",
    "scenario_demand_capacity_chart",
    "scenario_fan_chart",
    "source_caption",
    "write_comparison_charts",
    "write_run_charts",
]
