"""Charts: one consistent, accessible style (matplotlib, Agg backend), drawn for an A4 page.

Chart functions take tidy tables (as read from a run folder) and return a ``Figure`` 16 cm
wide with text of 9 pt or more; they never read engine internals. The panels are drawn by
``plot_*`` functions that take an optional ``ax`` and return their artists, so a user can
restyle or combine them. Colours are the Okabe-Ito palette, darkened where needed so every
line and marker has a contrast of at least 3:1 on white (:func:`contrast_ratio`); every
chart has a title saying what it shows, a legend above the panels, labelled axes with
units (counts from zero), and a caption giving the source (and "synthetic data" for the
built-in example). Recorded counts pass through disclosure control: a point of 1 to 5
children, or one hidden in the published tables, is not drawn; hidden placement groups are
counted in "other placements".

:func:`write_run_charts` and :func:`write_comparison_charts` write every chart of a run
folder or a multirun as PNG, SVG (editable text, with ``<title>`` and ``<desc>``) and an
alt-text file stating the chart's finding in numbers.

- :mod:`~care_demand.outputs.charts.style`: palette, chart style, shared axes helpers,
  captions and :func:`save_figure`.
- :mod:`~care_demand.outputs.charts.panels`: one panel each, on a given ``Axes``.
- :mod:`~care_demand.outputs.charts.mix`: the placement mix as drawn (recorded, projected).
- :mod:`~care_demand.outputs.charts.run`: the charts of one run.
- :mod:`~care_demand.outputs.charts.findings`: each chart's finding in one sentence.
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
from care_demand.outputs.charts.panels import (
    plot_costs,
    plot_demand_capacity,
    plot_fan,
    plot_flows,
    plot_out_of_area,
    plot_placement_mix,
)
from care_demand.outputs.charts.run import (
    continuum_chart,
    costs_chart,
    demand_capacity_chart,
    fan_chart,
    flows_chart,
    out_of_area_chart,
    placement_mix_chart,
    write_fan_chart,
)
from care_demand.outputs.charts.style import (
    PALETTE,
    SCENARIO_COLOURS,
    STYLE,
    contrast_ratio,
    save_figure,
    source_caption,
    style_colours,
)

__all__ = [
    "PALETTE",
    "SCENARIO_COLOURS",
    "STYLE",
    "Chart",
    "comparison_charts",
    "continuum_chart",
    "contrast_ratio",
    "costs_chart",
    "cumulative_savings_chart",
    "demand_capacity_chart",
    "fan_chart",
    "flows_chart",
    "out_of_area_chart",
    "overlaid_fan_chart",
    "placement_mix_chart",
    "plot_costs",
    "plot_demand_capacity",
    "plot_fan",
    "plot_flows",
    "plot_out_of_area",
    "plot_placement_mix",
    "run_charts",
    "save_figure",
    "savings_chart",
    "scenario_comparison_chart",
    "scenario_demand_capacity_chart",
    "scenario_fan_chart",
    "source_caption",
    "style_colours",
    "write_comparison_charts",
    "write_fan_chart",
    "write_run_charts",
]
