"""The comparison report's "How each scenario works" section.

For each scenario compared with the baseline: its mechanism in one sentence
(:func:`care_demand.outputs.mechanism.mechanism_summary`), the cost bridge chart, the paired
differences in flows and the cost bridge by budget line, from ``comparison/``'s
``flow_differences.csv`` and ``cost_bridge.csv``. The differences are means of model
output (as the other comparison tables), so they are marked as model output and not put
through disclosure control.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from care_demand.outputs.charts.catalogue import Chart
from care_demand.outputs.mechanism import mechanism_summary
from care_demand.outputs.report.html import _charts_html, _esc, _gbp, _signed, html_table
from care_demand.outputs.run_files import SweepFiles
from care_demand.outputs.workbook_names import display_name, line_name

__all__ = ["mechanism_section"]

_INTRO = (
    "<p>What each scenario changes, and where the money moves: the scenario minus the "
    "baseline within each simulated future (the futures share their random numbers), then "
    "the mean across futures. Each year shows the mean; the last column shows the mean with "
    "the 80% interval (P10 to P90). A change is described in words only where that interval "
    "is wholly above or below zero. Every figure is in <code>comparison/flow_differences.csv"
    "</code> and <code>comparison/cost_bridge.csv</code>, and in the workbook.</p>"
)


def _count(value: float, decimals: int) -> str:
    """A signed difference in moves, with no ``-0``."""
    text = f"{abs(value):,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        return text
    return f"{'-' if value < 0 else '+'}{text}"


def _money(value: float) -> str:
    """A signed difference in £ (``+£1.2m``, ``-£300k``); under £500 either way, ``£0k``."""
    return "£0k" if abs(value) < 500 else _signed(value, money=True)


def _with_interval(row: pd.Series, fmt: Callable[[float], str]) -> str:
    return f"{fmt(row['diff_mean'])} ({fmt(row['diff_p10'])} to {fmt(row['diff_p90'])})"


def _years(table: pd.DataFrame) -> tuple[list[str], str | None]:
    """The single financial years in order and the span of years (or ``None``)."""
    years = list(dict.fromkeys(table["financial_year"].astype(str)))
    spans = [y for y in years if " to " in y]
    return [y for y in years if " to " not in y], (spans[0] if spans else None)


def _wide(
    table: pd.DataFrame,
    key: str,
    cell: Callable[[float], str],
    span_cell: Callable[[pd.Series], str],
) -> pd.DataFrame:
    """One row per ``key`` (index): the mean difference per year, then the span with its
    interval; columns are the years as the table labels them."""
    years, span = _years(table)
    rows = {}
    for value, group in table.groupby(key, sort=False):
        by_year = group.set_index(group["financial_year"].astype(str))
        row = {y: cell(by_year.loc[y, "diff_mean"]) if y in by_year.index else "–" for y in years}
        if span is not None:
            row[span] = span_cell(by_year.loc[span]) if span in by_year.index else "–"
        rows[value] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def _titles(columns: Sequence[str], part: set[str], span_title: str) -> dict[str, str]:
    """Column titles: a year covered in part says so; the span says what it holds."""
    return {
        c: span_title.format(span=c) if " to " in c else (f"{c} (part year)" if c in part else c)
        for c in columns
    }


def _table(wide: pd.DataFrame, caption: str, text_columns: int = 1) -> str:
    """The wide table with its row labels first, numbers right-aligned, as model output."""
    frame = wide.reset_index(drop=True)
    return html_table(
        frame,
        caption=caption,
        model=True,
        formats={c: str for c in frame.columns[text_columns:]},
    )


def _flows_table(flows: pd.DataFrame, title: str) -> str:
    spans = flows[flows["financial_year"].astype(str).str.contains(" to ")]
    # Flows that are zero in both runs over the projection (no Harbour in either) are left out.
    moving = spans[(spans["baseline_mean"] != 0) | (spans["scenario_mean"] != 0)]["flow"]
    shown = flows[flows["flow"].isin(set(moving))] if not spans.empty else flows
    part = set(shown.loc[shown["part_year"].astype(bool), "financial_year"].astype(str))
    wide = _wide(
        shown,
        "flow",
        lambda v: _count(v, 1),
        lambda r: (
            f"{_count(r['diff_mean'], 1)} ({_count(r['diff_p10'], 0)} to "
            f"{_count(r['diff_p90'], 0)})"
        ),
    )
    if not spans.empty:
        baseline = spans.set_index("flow")["baseline_mean"]
        wide.insert(
            len(wide.columns) - 1,
            "Baseline over the projection (mean)",
            [f"{baseline.get(f, 0.0):,.1f}" for f in wide.index],
        )
    wide = wide.rename(
        columns=_titles(wide.columns, part, "Whole projection {span}: mean (80% interval)")
    )
    labels = shown.drop_duplicates("flow").set_index("flow")["label"]
    wide.insert(0, "Flow", [labels[f] for f in wide.index])
    return _table(wide, f"{title}: moves, scenario minus baseline")


def _bridge_table(bridge: pd.DataFrame, title: str, names: dict[str, str]) -> str:
    span = bridge[bridge["financial_year"].astype(str).str.contains(" to ")]
    lines = span[(span["diff_mean"] != 0) | (span["line"] == "total")]["line"]
    shown = bridge[bridge["line"].isin(set(lines))] if not span.empty else bridge
    part = set(shown.loc[~shown["complete"].astype(bool), "financial_year"].astype(str))
    wide = _wide(
        shown,
        "line",
        _money,
        lambda r: _with_interval(r, _money),
    )
    first = shown.drop_duplicates("line").set_index("line")
    totals = shown[shown["line"] == "total"]
    totals = totals.set_index(totals["financial_year"].astype(str))
    rows = {"Budget line": [], "Group": []}
    for line in wide.index:
        rows["Budget line"].append(line_name(str(first.loc[line, "kind"]), str(line), names))
        group = first.loc[line, "group"]
        rows["Group"].append("" if group == "total" else display_name(f"bridge:{group}"))
    ends = {
        f"{who}: cost of all lines (mean)": {
            y: _gbp(totals.loc[y, column]) if y in totals.index else "–" for y in wide.columns
        }
        for who, column in (("Baseline", "baseline_mean"), ("Scenario", "scenario_mean"))
    }
    body = pd.concat([pd.DataFrame(rows, index=wide.index), wide], axis=1)
    start, end = (pd.DataFrame([{"Budget line": k, "Group": "", **v}]) for k, v in ends.items())
    table = pd.concat([start, body, end], ignore_index=True)
    table = table.rename(
        columns=_titles(wide.columns, part, "Complete years {span}: mean (80% interval)")
    )
    return _table(table, f"{title}: cost bridge from the baseline by budget line (cash)", 2)


def mechanism_section(sweep: SweepFiles, charts: Sequence[Chart], folder: Path | None) -> str:
    """Each scenario's mechanism: its sentence, bridge chart, flows and cost bridge tables."""
    flows, bridge = sweep.flow_differences, sweep.cost_bridge
    if flows is None or flows.empty:
        return (
            "<p>No scenario was compared with a baseline whose runs recorded their flows "
            "(<code>projection/flows_by_replicate.csv</code>).</p>"
        )
    names = {n: r.title for n, r in sweep.runs.items()}
    fixed = {}
    for run in sweep.runs.values():
        for key, cost in ((run.config.get("costs") or {}).get("fixed") or {}).items():
            if (cost or {}).get("title"):
                fixed[str(key)] = str(cost["title"])
    parts = [_INTRO]
    for name in dict.fromkeys(flows["scenario"]):
        title = names.get(name, display_name(name))
        own = flows[flows["scenario"] == name]
        costs = bridge[bridge["scenario"] == name] if bridge is not None else None
        parts.append(f"<h3>{_esc(title)}</h3>")
        parts.append(f"<p class='summary'>{_esc(mechanism_summary(own, costs, fixed))}</p>")
        parts.append(_charts_html(charts, [f"cost_bridge_{name}"], folder))
        parts.append(_flows_table(own, title))
        if costs is not None and not costs.empty:
            parts.append(_bridge_table(costs, title, fixed))
    return "".join(parts)
