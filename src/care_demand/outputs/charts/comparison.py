"""Charts of a multirun: scenarios side by side, their sufficiency gaps and savings.

Each drawing function takes tidy tables as read from a sweep folder and returns a
``Figure``; :func:`comparison_charts` lists every chart of a multirun and
:func:`write_comparison_charts` writes them as PNG and SVG.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from care_demand import vocab
from care_demand.finance import fixed_cost_title
from care_demand.outputs.charts.catalogue import Chart, _care_history, _write
from care_demand.outputs.charts.findings import savings_finding, scenarios_finding
from care_demand.outputs.charts.panels import plot_demand_capacity
from care_demand.outputs.charts.run import _INHOUSE, held_states, returns_read
from care_demand.outputs.charts.style import (
    PALETTE,
    _bands,
    _caption,
    _colour,
    _figure,
    _finish,
    _grid,
    _label,
    _labels,
    _legend,
    _money,
    _months,
    _select,
    _styled,
    _suptitle,
    _year_axis,
    source_caption,
)
from care_demand.outputs.run_files import SweepFiles, read_sweep
from care_demand.outputs.workbook_names import line_name

__all__ = [
    "bridge_finding",
    "comparison_charts",
    "cost_bridge_chart",
    "cumulative_savings_chart",
    "overlaid_fan_chart",
    "savings_chart",
    "scenario_comparison_chart",
    "scenario_demand_capacity_chart",
    "scenario_fan_chart",
    "write_comparison_charts",
]


_COMPARED = {
    "children_in_care": "Children in care",
    "external_placements": "External placements",
    "out_of_area": "Placed out of area",
    "shortfall": "Placed externally for want\nof an in-house place",
}


# ---------------------------------------------------------------------------------------
# Children in care: fan charts


@_styled
def scenario_fan_chart(
    history: pd.Series,
    quantiles: Mapping[str, pd.DataFrame],
    *,
    title: str,
    ylabel: str,
    caption: str = "",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """One fan chart per scenario, as small multiples on shared axes.

    ``quantiles`` maps each scenario to its P10-P90 table (as in :func:`fan_chart`); the
    first scenario's median is repeated as a dashed grey line in the other panels.
    """
    names = list(quantiles)
    label = _labels(names, labels)
    rows, cols = _grid(len(names))
    fig, axes = _figure(rows, cols, height=2.4 * rows + 1.8, sharex=True, sharey=True)
    reference = names[0] if names else None
    for i, ax in enumerate(axes.flat):
        if i >= len(names):
            ax.set_visible(False)
            continue
        name = names[i]
        ax.plot(history.index, history.to_numpy(), color=PALETTE["black"], lw=1.3, label="Recorded")
        _bands(ax, quantiles[name], _colour(i))
        if reference is not None and name != reference:
            ref = quantiles[reference]
            ax.plot(
                _months(ref),
                ref["p50"],
                color=PALETTE["grey"],
                lw=1.2,
                ls="--",
                label=f"{label[reference]}, median",
            )
        ax.set_title(label[name], fontsize=10)
        if i % cols == 0:
            ax.set_ylabel(ylabel)
        _year_axis(ax, 2)
    axes.flat[0].set_ylim(bottom=0)  # shared: after every panel is drawn
    handles = [
        Line2D([], [], color=PALETTE["black"], lw=1.3, label="Recorded"),
        Patch(color=PALETTE["grey"], alpha=0.3, lw=0, label="Projection, 80% interval (P10-P90)"),
        Patch(color=PALETTE["grey"], alpha=0.6, lw=0, label="Projection, 50% interval (P25-P75)"),
        Line2D([], [], color=PALETTE["grey"], lw=2.0, label="Projection, median"),
    ]
    if reference is not None and len(names) > 1:
        handles.append(
            Line2D(
                [], [], color=PALETTE["grey"], lw=1.2, ls="--", label=f"{label[reference]}, median"
            )
        )
    return _finish(fig, title, caption, handles)


@_styled
def overlaid_fan_chart(
    history: pd.Series,
    quantiles: Mapping[str, pd.DataFrame],
    *,
    title: str,
    ylabel: str,
    caption: str = "",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Every scenario's median and P10-P90 band on one chart, with the recorded history."""
    names = list(quantiles)
    label = _labels(names, labels)
    fig, axes = _figure(height=4.2)
    ax = axes[0, 0]
    ax.plot(history.index, history.to_numpy(), color=PALETTE["black"], lw=1.6, label="Recorded")
    for i, name in enumerate(names):
        q = quantiles[name]
        colour = _colour(i)
        ax.fill_between(_months(q), q["p10"], q["p90"], color=colour, alpha=0.12, lw=0)
        ax.plot(
            _months(q),
            q["p50"],
            color=colour,
            lw=2.0,
            label=f"{label[name]}: median (band: P10-P90)",
        )
    ax.set_ylabel(ylabel)
    ax.set_xlabel("Month")
    ax.set_ylim(bottom=0)
    return _finish(fig, title, caption)


# ---------------------------------------------------------------------------------------
# Placements and sufficiency


@_styled
def scenario_demand_capacity_chart(
    quantiles: Mapping[str, pd.DataFrame],
    *,
    title: str = "In-house demand, places and shortfall by scenario",
    caption: str = "",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """The demand-against-capacity chart for each scenario: one row per in-house group,
    one column per scenario, shared axes along each row."""
    names = list(quantiles)
    label = _labels(names, labels)
    fig, axes = _figure(len(_INHOUSE), len(names), height=5.6, sharex=True, sharey="row")
    for j, name in enumerate(names):
        for i, (group, group_name) in enumerate(_INHOUSE):
            ax = axes[i, j]
            plot_demand_capacity(quantiles[name], group, ax=ax)
            if i == 0:
                ax.set_title(label[name], fontsize=10)
            if j == 0:
                ax.set_ylabel(f"{group_name}\n(children at month end)")
            _year_axis(ax, 2)
    for row in axes:  # shared along the row: from zero to the highest panel's data
        row[0].set_ylim(0, max(ax.dataLim.y1 for ax in row) * 1.05)
    return _finish(fig, title, caption, axes[0, 0].get_legend_handles_labels()[0])


# ---------------------------------------------------------------------------------------
# Finance


def _total_savings(savings: pd.DataFrame, measure: str) -> pd.DataFrame:
    rows = savings[(savings["measure"] == measure) & (savings["line"] == "total")]
    return rows[~rows["financial_year"].astype(str).str.contains(" to ")]


@_styled
def savings_chart(
    savings: pd.DataFrame,
    *,
    title: str = "Saving against the baseline per financial year, with its uncertainty",
    caption: str = "",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Each scenario's paired saving per financial year: median bar and P10-P90 whiskers,
    with the year's savings target."""
    rows = _total_savings(savings, "saving")
    names = list(dict.fromkeys(rows["scenario"]))
    label = _labels(names, labels)
    years = sorted(set(rows["financial_year"].astype(str)))
    x = np.arange(len(years))
    width = 0.8 / max(len(names), 1)
    fig, axes = _figure(height=4.4)
    ax = axes[0, 0]
    for k, name in enumerate(names):
        s = rows[rows["scenario"] == name].set_index("financial_year").reindex(years)
        pos = x + (k - (len(names) - 1) / 2) * width
        ax.bar(pos, s["p50"], width, color=_colour(k + 1), label=f"{label[name]}: median")
        ax.errorbar(
            pos,
            s["p50"],
            yerr=[s["p50"] - s["p10"], s["p90"] - s["p50"]],
            fmt="none",
            color=PALETTE["black"],
            capsize=3,
            lw=1,
        )
    target = rows.groupby("financial_year")["target"].max().reindex(years)
    if target.notna().any():
        ax.scatter(
            x,
            target,
            marker="_",
            s=900,
            color=PALETTE["black"],
            lw=2.5,
            zorder=3,
            label="Savings target for the year",
        )
    ax.axhline(0, color=PALETTE["black"], lw=0.8)
    ax.set_xticks(x, years)
    ax.yaxis.set_major_formatter(_money(decimals=1))
    _suptitle(fig, title)
    ax.set_ylabel("Saving, £ million (cash; above 0 = cheaper)")
    ax.set_xlabel("Financial year (April-March)")
    _legend(fig)
    _caption(fig, caption)
    return fig


@_styled
def cumulative_savings_chart(
    savings: pd.DataFrame,
    *,
    title: str = "Cumulative saving against the baseline and the savings target",
    caption: str = "",
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Each scenario's cumulative paired saving (median and P10-P90 band) over the complete
    financial years, against the cumulative savings target."""
    rows = _total_savings(savings, "cumulative_saving")
    names = list(dict.fromkeys(rows["scenario"]))
    label = _labels(names, labels)
    years = sorted(set(rows["financial_year"].astype(str)))
    x = np.arange(len(years))
    fig, axes = _figure(height=4.4)
    ax = axes[0, 0]
    for k, name in enumerate(names):
        s = rows[rows["scenario"] == name].set_index("financial_year").reindex(years)
        colour = _colour(k + 1)
        ax.fill_between(x, s["p10"], s["p90"], color=colour, alpha=0.15, lw=0)
        ax.plot(
            x,
            s["p50"],
            color=colour,
            marker="o",
            ms=4,
            label=f"{label[name]}: median (band: P10-P90)",
        )
    target = rows.groupby("financial_year")["target"].max().reindex(years)
    if target.notna().any():
        ax.plot(
            x,
            target,
            color=PALETTE["black"],
            ls="--",
            marker="s",
            ms=4,
            label="Cumulative savings target",
        )
    ax.axhline(0, color=PALETTE["black"], lw=0.8)
    ax.set_xticks(x, [f"to {y}" for y in years])
    ax.yaxis.set_major_formatter(_money(decimals=1))
    _suptitle(fig, title)
    ax.set_ylabel("Cumulative saving, £ million (cash)")
    ax.set_xlabel("Financial years from the start of the projection")
    _legend(fig)
    _caption(fig, caption)
    return fig


def _bridge_steps(bridge: pd.DataFrame, names: Mapping[str, str] | None) -> tuple[str, list]:
    """The bridge's period (the complete years together, else the last year) and its steps:
    ``(label, mean difference)`` for each budget line that moved by at least 2% of the
    largest line's move, then one step for casework and the smaller moves, then the total."""
    years = bridge["financial_year"].astype(str)
    spans = years[years.str.contains(" to ")]
    period = spans.iloc[0] if not spans.empty else sorted(years)[-1]
    rows = bridge[years == period]
    lines = rows[rows["line"] != "total"]
    largest = lines["diff_mean"].abs().max() if not lines.empty else 0.0
    steps: list[tuple[str, float]] = []
    rest = 0.0
    for row in lines.itertuples():
        if row.group == "casework" or abs(row.diff_mean) < 0.02 * largest:
            rest += float(row.diff_mean)
        else:
            steps.append((line_name(row.kind, row.line, names), float(row.diff_mean)))
    if rest != 0:
        steps.append(("Casework and smaller changes", rest))
    total = rows[rows["line"] == "total"]["diff_mean"]
    steps.append(("Scenario minus baseline", float(total.iloc[0]) if not total.empty else 0.0))
    return period, steps


@_styled
def cost_bridge_chart(
    bridge: pd.DataFrame,
    *,
    title: str = "The cost bridge from the baseline to the scenario",
    caption: str = "",
    names: Mapping[str, str] | None = None,
) -> Figure:
    """A waterfall of one scenario's cost bridge over the complete financial years: from the
    baseline's cost (at zero), each budget line's mean paired difference in turn, to the
    total difference (means; the lines add up to the total).

    ``bridge``: one scenario's rows of ``cost_bridge.csv``
    (:func:`care_demand.outputs.mechanism.cost_bridge`).
    """
    period, steps = _bridge_steps(bridge, names)
    n = len(steps)
    fig, axes = _figure(height=0.36 * n + 2.4)
    ax = axes[0, 0]
    start = 0.0
    reach = [0.0]
    lower, higher, total = PALETTE["green"], PALETTE["vermillion"], PALETTE["blue"]
    for i, (_, value) in enumerate(steps):
        last = i == n - 1
        left = 0.0 if last else start
        colour = total if last else (lower if value < 0 else higher)
        ax.barh(i, value, left=left, color=colour, height=0.6)
        end = left + value
        sign = "-" if value < 0 else "+"
        ax.annotate(
            f"{sign}£{abs(value) / 1e6:,.2f}m",
            (max(left, end), i),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
        reach += [left, end]
        if not last:
            start = end
    low, high = min(reach), max(reach)
    pad = (high - low) or 1e6
    ax.set_xlim(low - 0.05 * pad, high + 0.3 * pad)  # room for the values at the bars' ends
    ax.axvline(0, color=PALETTE["black"], lw=0.8)
    ax.set_yticks(range(n), [textwrap.fill(label, 28) for label, _ in steps])
    ax.invert_yaxis()
    ax.grid(axis="x")
    ax.grid(axis="y", visible=False)
    ax.set_axisbelow(True)  # gridlines behind the bars
    ax.xaxis.set_major_locator(MaxNLocator(6))
    ax.xaxis.set_major_formatter(_money(decimals=1 if pad < 5e6 else 0))
    ax.set_xlabel("Difference from the baseline's cost, £ million (cash)")
    handles = [
        Patch(color=lower, label="Lower cost"),
        Patch(color=higher, label="Higher cost"),
        Patch(color=total, label="Total difference"),
    ]
    _suptitle(fig, f"{title}, {period}")
    _legend(fig, handles, ncols=3)
    _caption(fig, caption)
    return fig


def bridge_finding(bridge: pd.DataFrame, label: str, names: Mapping[str, str] | None) -> str:
    """The scenario's total difference in cost and its largest lines (means)."""
    period, steps = _bridge_steps(bridge, names)
    *lines, (_, total) = steps
    biggest = sorted(lines, key=lambda step: -abs(step[1]))[:3]
    moves = ", ".join(f"{name} {_signed_money(value)}" for name, value in biggest)
    text = f"Over {period}, {label} differs from the baseline by {_signed_money(total)} (mean)"
    return f"{text}; the largest changes: {moves}." if moves else f"{text}."


def _signed_money(value: float) -> str:
    return f"{'-' if value < 0 else '+'}£{abs(value) / 1e6:,.1f}m"


# ---------------------------------------------------------------------------------------
# Scenario comparison


@_styled
def scenario_comparison_chart(
    by_year: pd.DataFrame,
    *,
    title: str = "Scenarios compared at each 31 March: median and 80% interval",
    caption: str = "",
    labels: Mapping[str, str] | None = None,
    measures: Mapping[str, str] | None = None,
) -> Figure:
    """Small multiples on shared axes: one row per measure (shared y), one column per
    scenario; the first scenario's median is repeated dashed in the other columns.

    ``by_year``: ``comparison_by_year.csv`` (``scenario``, ``period``, ``measure``,
    ``p10``, ``p50``, ``p90``).
    """
    measures = measures or _COMPARED
    table = by_year[by_year["period"].astype(str).str.match(r"\d{4}-\d{2}-\d{2}$")].copy()
    table["date"] = pd.to_datetime(table["period"])
    rows = [m for m in measures if m in set(table["measure"])]
    names = list(dict.fromkeys(table["scenario"]))
    label = _labels(names, labels)
    fig, axes = _figure(
        max(len(rows), 1),
        max(len(names), 1),
        height=1.9 * len(rows) + 1.8,
        sharex=True,
        sharey="row",
    )
    reference = names[0] if names else None
    for i, measure in enumerate(rows):
        ref = table[(table["scenario"] == reference) & (table["measure"] == measure)]
        ref = ref.sort_values("date")
        for j, name in enumerate(names):
            ax = axes[i, j]
            s = table[(table["scenario"] == name) & (table["measure"] == measure)]
            s = s.sort_values("date")
            colour = _colour(j)
            ax.fill_between(
                s["date"],
                s["p10"],
                s["p90"],
                color=colour,
                alpha=0.2,
                lw=0,
                label="80% interval (P10-P90)",
            )
            ax.plot(s["date"], s["p50"], color=colour, marker="o", ms=3, label="Median")
            if name != reference:
                ax.plot(
                    ref["date"],
                    ref["p50"],
                    color=PALETTE["grey"],
                    ls="--",
                    lw=1.2,
                    label=f"{label[reference]}, median",
                )
            if i == 0:
                ax.set_title(label[name], fontsize=10)
            if j == 0:
                ax.set_ylabel(f"{measures[measure]}\n(children)", fontsize=9)
            _year_axis(ax, 2)
        axes[i, 0].set_ylim(bottom=0)  # shared along the row: after every panel is drawn
    if rows:
        handles = [
            Patch(color=PALETTE["grey"], alpha=0.4, lw=0, label="80% interval (P10-P90)"),
            Line2D([], [], color=PALETTE["grey"], marker="o", ms=3, label="Median"),
        ]
        if len(names) > 1:
            handles.append(
                Line2D(
                    [],
                    [],
                    color=PALETTE["grey"],
                    ls="--",
                    lw=1.2,
                    label=f"{label[reference]}, median",
                )
            )
        _legend(fig, handles)
    _suptitle(fig, title)
    _caption(fig, caption)
    return fig


# ---------------------------------------------------------------------------------------
# Every chart of a multirun


def comparison_charts(sweep: SweepFiles | str | Path) -> list[Chart]:
    """Every chart of a multirun: scenarios side by side and their savings."""
    sweep = sweep if isinstance(sweep, SweepFiles) else read_sweep(sweep)
    runs = {n: r for n, r in sweep.runs.items() if r.quantiles is not None}
    reference = sweep.reference
    if not runs or reference is None:
        return []
    reps = next(iter(runs.values())).replicates
    short = {n: _label(n) for n in runs}
    both = source_caption(
        synthetic=sweep.synthetic,
        recorded=True,
        replicates=reps,
        returns=returns_read(held_states(reference.recorded)),
    )
    projected = source_caption(synthetic=sweep.synthetic, replicates=reps)
    paired = source_caption(
        synthetic=sweep.synthetic,
        replicates=reps,
        note="Savings are paired replicate by replicate (common random numbers).",
    )
    care = {n: _select(r.quantiles, "children", vocab.CARE) for n, r in runs.items()}  # type: ignore[arg-type]
    history = _care_history(reference)
    charts = [
        Chart(
            "fan_by_scenario",
            "Children in care by scenario: recorded and projected",
            "One panel per scenario on shared axes: recorded children in care and the "
            "projection's median with its 50% and 80% intervals; the baseline's median dashed.",
            lambda: scenario_fan_chart(
                history,
                care,
                title="Children in care by scenario: recorded and projected",
                ylabel="Children in care at month end",
                caption=both,
                labels=short,
            ),
            lambda: scenarios_finding(care, short, "Children in care"),
        ),
        Chart(
            "fan_overlaid",
            "Children in care: every scenario's projection on one chart",
            "Recorded children in care and each scenario's median with its 80% interval.",
            lambda: overlaid_fan_chart(
                history,
                care,
                title="Children in care: every scenario's projection",
                ylabel="Children in care at month end",
                caption=both,
                labels=short,
            ),
            lambda: scenarios_finding(care, short, "Children in care"),
        ),
    ]
    if sweep.by_year is not None and not sweep.by_year.empty:
        charts.append(
            Chart(
                "scenario_comparison",
                "Scenarios compared at each 31 March",
                "Small multiples on shared axes: rows are children in care, external placements, "
                "children placed out of area and the in-house shortfall; columns are scenarios.",
                lambda: scenario_comparison_chart(sweep.by_year, caption=projected, labels=short),
                lambda: scenarios_finding(care, short, "Children in care"),
            )
        )
    charts.append(
        Chart(
            "demand_capacity_by_scenario",
            "In-house demand, places and shortfall by scenario",
            "One column per scenario and one row per in-house placement group: places "
            "available, children placed in-house and the external shortfall shaded.",
            lambda: scenario_demand_capacity_chart(
                {n: r.quantiles for n, r in runs.items()},  # type: ignore[misc]
                caption=projected,
                labels=short,
            ),
            lambda: scenarios_finding(
                {
                    n: _select(r.quantiles, "shortfall", vocab.INHOUSE_RESIDENTIAL)  # type: ignore[arg-type]
                    for n, r in runs.items()
                },
                short,
                "Children placed externally for want of an in-house children's home place",
            ),
        )
    )
    means = source_caption(
        synthetic=sweep.synthetic,
        replicates=reps,
        note="Differences are paired future by future (common random numbers); bars are means.",
    )
    charts += _bridge_charts(sweep, short, means)
    if sweep.savings is not None and not sweep.savings.empty:
        charts += [
            Chart(
                "savings_by_year",
                "Saving against the baseline per financial year",
                "Bars per financial year and scenario: the median paired saving against the "
                "baseline with its 80% interval, and the year's savings target.",
                lambda: savings_chart(sweep.savings, caption=paired, labels=short),
                lambda: savings_finding(sweep.savings, short),  # type: ignore[arg-type]
            ),
            Chart(
                "cumulative_savings",
                "Cumulative saving against the baseline and the savings target",
                "Each scenario's cumulative saving (median and 80% band) against the cumulative "
                "savings target.",
                lambda: cumulative_savings_chart(sweep.savings, caption=paired, labels=short),
                lambda: savings_finding(sweep.savings, short),  # type: ignore[arg-type]
            ),
        ]
    return charts


def _bridge_charts(sweep: SweepFiles, short: Mapping[str, str], caption: str) -> list[Chart]:
    """One cost bridge chart per scenario compared with the baseline."""
    bridge = sweep.cost_bridge
    if bridge is None or bridge.empty:
        return []
    names = {n: r.title for n, r in sweep.runs.items()}
    for run in sweep.runs.values():
        for key, cost in ((run.config.get("costs") or {}).get("fixed") or {}).items():
            names.setdefault(str(key), fixed_cost_title(str(key), (cost or {}).get("title")))
    charts = []
    for name, rows in bridge.groupby("scenario", sort=False):
        label = short.get(str(name), str(name))
        title = f"Cost bridge from the baseline to {label}"
        charts.append(
            Chart(
                f"cost_bridge_{name}",
                title,
                "Horizontal waterfall over the complete financial years: from the baseline's "
                "cost at zero, each budget line's mean difference in turn (lower cost green, "
                "higher vermillion; casework and small changes as one step), then the total "
                "difference in blue.",
                lambda rows=rows, title=title: cost_bridge_chart(
                    rows, title=title, caption=caption, names=names
                ),
                lambda rows=rows, label=label: bridge_finding(rows, label, names),
            )
        )
    return charts


def write_comparison_charts(
    sweep_dir: str | Path, out_dir: str | Path, *, part: int = 0, parts: int = 1
) -> list[Path]:
    """Write every comparison chart of the multirun ``sweep_dir`` into ``out_dir``.

    With ``parts`` above 1, only part ``part`` of them (every ``parts``-th chart from the
    ``part``-th), so that several processes can draw them side by side; the parts together
    write exactly the files of one call without them.
    """
    if not 0 <= part < parts:
        raise ValueError(f"part {part} of {parts}: expected 0 <= part < parts")
    return _write(comparison_charts(sweep_dir)[part::parts], Path(out_dir))
