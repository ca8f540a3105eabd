"""The catalogue of charts: the :class:`Chart` record and every chart of one run folder.

:func:`run_charts` lists a run folder's charts with their titles, descriptions and findings
(the report embeds them in this order); :func:`write_run_charts` writes each as
``<name>.png``, ``<name>.svg`` (editable text, with ``<title>`` and ``<desc>``) and
``<name>.txt`` (the alt text: the finding in numbers, then what the chart shows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from care_demand import vocab
from care_demand.finance import fixed_cost_title
from care_demand.outputs.charts.findings import (
    continuum_finding,
    costs_finding,
    demand_capacity_finding,
    fan_finding,
    flows_finding,
    out_of_area_finding,
    placement_mix_finding,
)
from care_demand.outputs.charts.run import (
    continuum_chart,
    costs_chart,
    demand_capacity_chart,
    fan_chart,
    flows_chart,
    held_states,
    out_of_area_chart,
    placement_mix_chart,
    returns_read,
)
from care_demand.outputs.charts.style import _recorded, _select, save_figure, source_caption
from care_demand.outputs.charts.sufficiency import (
    SUFFICIENCY_NAMES,
    sufficiency_chart,
    sufficiency_finding,
    sufficiency_title,
)
from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.run_files import RunFiles, read_run

__all__ = [
    "CHART_SUFFIXES",
    "SUFFICIENCY_CHARTS",
    "Chart",
    "run_charts",
    "write_run_charts",
]


# What each chart is written as, beside each other in the charts folder.
CHART_SUFFIXES = (".png", ".svg", ".txt")
# The sufficiency charts' names, one per in-house group.
SUFFICIENCY_CHARTS: tuple[str, ...] = tuple(f"sufficiency_{g}" for g in SUFFICIENCY_NAMES)


@dataclass(frozen=True)
class Chart:
    """One chart of a run or multirun: file name, title, what it shows, how to draw it and
    its finding (one sentence with its numbers, from the data drawn)."""

    name: str
    title: str
    description: str
    draw: Callable[[], Figure]
    finding: Callable[[], str] | None = None

    def alt_text(self) -> str:
        """The chart's alt text: its finding, then what it shows."""
        finding = self.finding() if self.finding is not None else ""
        return " ".join(p for p in (finding, self.description) if p)

    def files(self) -> list[str]:
        """The chart's file names: PNG, SVG and the alt text."""
        return [f"{self.name}{suffix}" for suffix in CHART_SUFFIXES]


# ---------------------------------------------------------------------------------------
# Every chart of a run folder


def _care_history(run: RunFiles) -> pd.Series:
    return _recorded(run.recorded, vocab.CARE, run.rule)


def run_charts(run: RunFiles | str | Path) -> list[Chart]:
    """Every chart of one run folder (none without a projection)."""
    run = run if isinstance(run, RunFiles) else read_run(run)
    q = run.quantiles
    if q is None or q.empty:
        return []
    reps = run.replicates
    rate = (
        f"Rates per 10,000 use {run.population:,} children aged 0-17 (output.child_population)."
        if run.population
        else ""
    )

    states = held_states(run.recorded)
    services = len(states) > 1  # care alone (SSDA903 only): no continuum to draw
    flows_title = (
        "Projected moves between services per financial year"
        if services
        else "Projected entries to and exits from care per financial year"
    )

    def both(note: str = "") -> str:
        return source_caption(
            synthetic=run.synthetic,
            recorded=True,
            replicates=reps,
            note=note,
            returns=returns_read(states),
        )

    def projected(note: str = "") -> str:
        return source_caption(synthetic=run.synthetic, replicates=reps, note=note)

    title = run.title
    charts = [
        Chart(
            "children_in_care_fan",
            f"Children in care: recorded and projected ({title})",
            "Children in care at each month end: the recorded history as a line and the "
            "projection's median with its 50% and 80% intervals.",
            lambda: fan_chart(
                _care_history(run),
                _select(q, "children", vocab.CARE),
                title=f"Children in care: recorded and projected ({title})",
                ylabel="Children in care at month end",
                caption=both(rate),
                population=run.population,
            ),
            lambda: fan_finding(
                _care_history(run), _select(q, "children", vocab.CARE), "Children in care"
            ),
        ),
        *(
            [
                Chart(
                    "continuum",
                    "Children in early help, in need, on a protection plan and in care",
                    "One panel per service the council's files hold: recorded children at "
                    "month end and the projection with its intervals.",
                    lambda: continuum_chart(
                        run.recorded,
                        q,
                        caption=both(rate),
                        population=run.population,
                        rule=run.rule,
                        states=states,
                    ),
                    lambda: continuum_finding(run.recorded, q, run.rule, states),
                )
            ]
            if services
            else []
        ),
        Chart(
            "flows",
            flows_title,
            "Bars per financial year: step-ups and step-downs between early help, children in "
            "need and protection plans; entries to and exits from care."
            if services
            else "Bars per financial year: entries to and exits from care.",
            lambda: flows_chart(
                q,
                title=flows_title,
                caption=projected("Bars are means across simulated futures."),
                services=services,
            ),
            lambda: flows_finding(q, services),
        ),
        Chart(
            "placement_mix",
            "Children in care by placement type at 31 March: recorded and projected",
            "Stacked bars of children in care by placement type at each 31 March; recorded "
            "years solid (groups hidden in the published tables counted in other), projected "
            "years hatched (means across futures, adding up to the mean total) with the "
            "total's P10 to P90 as a whisker.",
            lambda: placement_mix_chart(run.stocks, q, caption=both(), rule=run.rule),
            lambda: placement_mix_finding(run.stocks, q, run.rule),
        ),
        Chart(
            "demand_capacity",
            "Demand for in-house placements against places available, with the shortfall (means)",
            "Two panels (in-house foster care, in-house children's homes): places available, "
            "children placed in-house and children who needed an in-house place; the gap, "
            "children placed externally for want of a place, is shaded.",
            lambda: demand_capacity_chart(
                q,
                caption=projected(
                    "Every line is a mean across simulated futures (the mean columns of "
                    f"{LAYOUT.demand_capacity}); children needing a place are the mean "
                    "placed in-house plus the mean placed externally for want of a place."
                ),
            ),
            lambda: demand_capacity_finding(q),
        ),
        Chart(
            "out_of_area",
            "Children in care placed out of area: projected",
            "The projected number of children in care placed outside the council's area: "
            "median with its 50% and 80% intervals.",
            lambda: out_of_area_chart(q, caption=projected()),
            lambda: out_of_area_finding(q),
        ),
    ]
    charts[4:4] = _sufficiency_charts(run, projected)
    if run.costs is not None and not run.costs.empty:
        charts.append(
            Chart(
                "costs_by_line",
                "Projected cost by budget line and financial year",
                "Stacked bars of the mean cost of each budget line per financial year; the bars "
                "add up to the mean total, whose whisker is the P10-P90 (80% interval) of the "
                "total.",
                lambda: costs_chart(
                    run.costs,
                    names=_fixed_titles(run),
                    caption=projected(
                        "Cash terms; every bar is a mean across simulated futures, so the "
                        "bars add up to the mean total; the whisker is the total's P10-P90."
                    ),
                ),
                lambda: costs_finding(run.costs),  # type: ignore[arg-type]
            )
        )
    return charts


def _fixed_titles(run: RunFiles) -> dict[str, str]:
    """The run's fixed costs' titles by key, from its recorded configuration."""
    fixed = (run.config.get("costs") or {}).get("fixed") or {}
    return {key: fixed_cost_title(key, (cost or {}).get("title")) for key, cost in fixed.items()}


def _sufficiency_charts(run: RunFiles, caption: Callable[[str], str]) -> list[Chart]:
    """One sufficiency chart per in-house group, from the quarterly sufficiency table."""
    table = run.sufficiency
    if table is None or table.empty:
        return []
    note = (
        "Lines are medians across simulated futures at each quarter end, shaded bands their "
        f"80% intervals (P10-P90), as in {LAYOUT.sufficiency}."
    )
    charts = []
    for group, (inhouse, external) in SUFFICIENCY_NAMES.items():
        if not (table["inhouse_group"] == group).any():
            continue
        charts.append(
            Chart(
                f"sufficiency_{group}",
                sufficiency_title(group),
                f"Children needing {inhouse} or {external} at each quarter end, the in-house "
                "places available and the children placed externally for want of an "
                "in-house place: medians with their 80% intervals.",
                lambda g=group: sufficiency_chart(table, g, caption=caption(note)),
                lambda g=group: sufficiency_finding(table, g),
            )
        )
    return charts


def _write(charts: list[Chart], out_dir: Path) -> list[Path]:
    """Each chart as PNG and SVG at its drawn size (16 cm wide) and its alt text."""
    paths: list[Path] = []
    for chart in charts:
        png, _, txt = (Path(out_dir) / name for name in chart.files())
        finding = chart.finding() if chart.finding is not None else chart.description
        paths += save_figure(chart.draw(), png, title=chart.title, description=finding, tight=False)
        txt.write_text(f"{chart.title}\n\n{chart.alt_text()}\n", encoding="utf-8")
        paths.append(txt)
    return paths


def write_run_charts(
    run_dir: str | Path, out_dir: str | Path, *, part: int = 0, parts: int = 1
) -> list[Path]:
    """Write every chart of the run folder ``run_dir`` into ``out_dir`` (PNG, SVG, alt text).

    With ``parts`` above 1, only part ``part`` of them (every ``parts``-th chart from the
    ``part``-th), so that several processes can draw one run's charts side by side; the
    parts together write exactly the files of one call without them.
    """
    if not 0 <= part < parts:
        raise ValueError(f"part {part} of {parts}: expected 0 <= part < parts")
    return _write(run_charts(run_dir)[part::parts], Path(out_dir))
