"""The run report: one self-contained HTML page for one run folder.

Built from the files on disk (:mod:`care_demand.outputs.run_files`), so it can be made again
from any run folder: headline figures, the scenario, demand, sufficiency and finance with
their charts, then data quality, calibration, method and caveats.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from care_demand import vocab
from care_demand.finance import fixed_cost_title
from care_demand.outputs.arrival_choice import arrival_choice_note, drift_choice_note
from care_demand.outputs.charts.catalogue import SUFFICIENCY_CHARTS, run_charts
from care_demand.outputs.charts.run import held_states
from care_demand.outputs.interval_widening import accuracy_note, widening_note
from care_demand.outputs.rate_choice import rate_choice_note
from care_demand.outputs.report.flows import flows_table
from care_demand.outputs.report.html import (
    _banner,
    _charts_html,
    _count,
    _esc,
    _gbp,
    _page,
    _quantiles,
    _spread,
    _value,
    html_table,
    markdown_to_html,
)
from care_demand.outputs.report.sections import (
    _KEY_MEASURES,
    _calibration,
    _capacity_items,
    _caveats,
    _data_quality,
    _method,
)
from care_demand.outputs.report.sufficiency import sufficiency_html
from care_demand.outputs.report.words import summary_html
from care_demand.outputs.run_files import RunFiles, read_run
from care_demand.outputs.summary import SERVICE_LABELS, SERVICES
from care_demand.outputs.workbook_names import line_name

__all__ = [
    "run_report_html",
    "write_run_report",
]


# ---------------------------------------------------------------------------------------
# The run report


def _headline(run: RunFiles) -> str:
    parts = []
    km = run.key_measures
    if km is not None and not km.empty:
        first, last = km["month"].min(), km["month"].max()
        rows = []
        for measure, label in _KEY_MEASURES.items():
            sel = km[km["measure"] == measure]
            if sel.empty:
                continue
            start = _quantiles(sel[sel["month"] == first]["value"])
            end = _quantiles(sel[sel["month"] == last]["value"])
            rows.append((label, _count(start[0]), _spread(*end)))
        parts.append(
            html_table(
                pd.DataFrame(
                    rows,
                    columns=[
                        "Measure",
                        f"End of {first:%b %Y}, median",
                        f"End of {last:%b %Y}, median (80% interval)",
                    ],
                ),
                caption="Children at the start and end of the projection",
                model=True,
            )
        )
    costs = run.costs
    if costs is not None and not costs.empty:
        total = costs[costs["kind"] == "total"]
        rows = [
            (
                str(r["financial_year"]) + ("" if bool(r["complete"]) else " (part year)"),
                _spread(r["p50"], r["p10"], r["p90"], money=True),
            )
            for _, r in total.iterrows()
        ]
        parts.append(
            html_table(
                pd.DataFrame(rows, columns=["Financial year", "Total cost, median (80% interval)"]),
                caption="Cost of children's services modelled (cash terms)",
                model=True,
            )
        )
    if not parts:
        return "<p>This run did not project (run_until was not simulation).</p>"
    return "".join(parts)


_CARE_ONLY_NOTE = (
    "<p class='note'>The council's files hold children in care alone (the SSDA903 return): "
    "children entering care are the arrivals, and early help, children in need and child "
    "protection plans are not modelled. With the CIN census and early help files in the "
    "data folder, the run models the whole continuum (docs/input_formats.md).</p>"
)


def _projected_states(q: pd.DataFrame, services: bool) -> str:
    """Children by service at each 31 March; without ``services`` (children in care alone)
    only care and care leavers."""
    shown = SERVICES if services else (vocab.CARE, vocab.CARE_LEAVER)
    march = q[
        (q["measure"] == "children")
        & (q["age_band"] == "all")
        & (q["category"].isin(shown))
        & (pd.to_datetime(q["month"]).dt.month == 3)
    ].copy()
    if march.empty:
        return ""
    march["date"] = pd.to_datetime(march["month"]).dt.strftime("%d %b %Y")
    march["cell"] = [
        _spread(a, b, c) for a, b, c in zip(march["p50"], march["p10"], march["p90"], strict=True)
    ]
    wide = march.pivot(index="category", columns="date", values="cell")
    wide = wide.reindex([s for s in shown if s in wide.index])
    wide = wide[sorted(wide.columns, key=lambda d: pd.to_datetime(d))]
    wide.index = [SERVICE_LABELS.get(s, s) for s in wide.index]
    return html_table(
        wide.reset_index(names="State"),
        caption="Projected children by service at 31 March: median (80% interval)",
        model=True,
    )


def _finance(run: RunFiles) -> str:
    costs = run.costs
    if costs is None or costs.empty:
        return "<p>This run was not costed.</p>"
    yearly = costs[~costs["financial_year"].astype(str).str.contains(" to ")]
    years = list(dict.fromkeys(yearly["financial_year"].astype(str)))
    lines = yearly.copy()
    fixed = (run.config.get("costs") or {}).get("fixed") or {}
    titles = {k: fixed_cost_title(k, (v or {}).get("title")) for k, v in fixed.items()}
    # The workbook's names for the budget lines (one table of display names), total last.
    lines["Budget line"] = [
        line_name(k, ln, titles) for k, ln in zip(lines["kind"], lines["line"], strict=True)
    ]
    lines["_total"] = lines["kind"] == "total"
    lines = lines.sort_values("_total", kind="stable")
    wide = lines.pivot_table(
        index="Budget line", columns="financial_year", values="mean", sort=False
    )
    wide = wide[[y for y in years if y in wide.columns]]
    wide = wide[(wide.abs() > 0).any(axis=1)]
    formats = {y: _gbp for y in wide.columns}
    parts = [
        html_table(
            wide.reset_index(),
            caption="Mean cost by budget line and financial year (cash terms; means, so the "
            "lines add up to the total; lines with no cost left out)",
            model=True,
            formats=formats,
        )
    ]
    if run.assumptions is not None and not run.assumptions.empty:
        assumptions = run.assumptions.rename(
            columns={
                "section": "Section",
                "item": "Item",
                "value": "Value",
                "unit": "Unit",
                "price_year": "Price year",
                "source": "Source",
            }
        )
        parts.append(
            html_table(
                assumptions,
                caption="Cost assumptions and scenario levers, with their sources",
                formats={"Value": _value},
            )
        )
    return "".join(parts)


def _scenario(run: RunFiles) -> str:
    parts = [markdown_to_html(run.scenario_markdown, heading_offset=2)]
    items = _capacity_items(run.config)
    if items:
        parts.append(
            html_table(
                pd.DataFrame(items, columns=["Setting", "Value"]),
                caption="Capacity and fixed costs in this scenario",
            )
        )
    return "".join(parts)


def _meta(run: RunFiles) -> list[str]:
    sim = run.config.get("simulation", {})
    meta = [f"Council: {run.council}"]
    if run.data_to is not None:
        meta.append(f"Data to {run.data_to:%d %B %Y}")
    meta += [
        f"Scenario: {run.scenario}",
        f"Mode: {vocab.MODE_TITLES.get(str(run.details.get('mode')), 'unknown')}",
        f"Seed: {run.details.get('seed', '')}",
        f"care_demand {run.details.get('package_version', '')}",
    ]
    if run.replicates:
        meta.append(f"{run.replicates} simulated futures over {sim.get('horizon_months')} months")
    if run.details.get("data_fingerprint"):
        meta.append(f"Data fingerprint {str(run.details['data_fingerprint'])[:12]}")
    return meta


def _intervals_note(run: RunFiles) -> str:
    """Whether the intervals were checked against the council's own backtest, and widened;
    and what that backtest says of the arrival trend and drift and of the period the rates are
    fitted on.

    Runs from before the setting existed record nothing, and say nothing."""
    if "interval_widening" not in run.details:
        return ""
    notes = [
        widening_note(run.details["interval_widening"]),
        accuracy_note(run.details["interval_widening"].get("accuracy")),
        arrival_choice_note(run.details.get("arrival_trend")),
        drift_choice_note(run.details.get("arrival_drift")),
        rate_choice_note(run.details.get("rate_period")),
    ]
    return "".join(f"<p class='note'>{_esc(note)}</p>" for note in notes if note)


def run_report_html(run: RunFiles | str | Path, charts_dir: str | Path | None = None) -> str:
    """The HTML report of one run folder (charts from ``charts_dir`` or drawn now)."""
    run = run if isinstance(run, RunFiles) else read_run(run)
    drawn = bool((run.config.get("output") or {}).get("charts", True)) if run.config else True
    charts = run_charts(run) if drawn else []
    folder = Path(charts_dir) if charts_dir is not None else run.path / "charts"
    q = run.quantiles
    no_charts = (
        ""
        if drawn
        else "<p class='note'>This run drew no charts (<code>output.charts</code> is false, "
        "as in the browser app's quick look): the tables below hold every figure.</p>"
    )
    sections = [
        ("headline", "Headline figures", no_charts + summary_html(run) + _headline(run)),
        ("scenario", "Scenario and assumptions", _scenario(run)),
    ]
    if q is not None and not q.empty:
        services = len(held_states(run.recorded)) > 1
        sections += [
            (
                "demand",
                "Children in care and the wider continuum" if services else "Children in care",
                ("" if services else _CARE_ONLY_NOTE)
                + _charts_html(charts, ["children_in_care_fan", "continuum", "flows"], folder)
                + _intervals_note(run)
                + _projected_states(q, services)
                + flows_table(run),
            ),
            (
                "sufficiency",
                "Placements and sufficiency gaps",
                _charts_html(
                    charts,
                    [
                        "placement_mix",
                        *SUFFICIENCY_CHARTS,
                        "demand_capacity",
                        "out_of_area",
                    ],
                    folder,
                )
                + sufficiency_html(run),
            ),
            (
                "finance",
                "Finance",
                _charts_html(charts, ["costs_by_line"], folder) + _finance(run),
            ),
        ]
    sections += [
        ("data", "Data quality", _data_quality(run)),
        ("calibration", "Calibration diagnostics", _calibration(run)),
        ("method", "Method in plain English", _method(run, held_states(run.recorded))),
        (
            "caveats",
            "Caveats and disclosure control",
            _caveats(run.rule, run.synthetic, run.replicates),
        ),
    ]
    return _page(
        "Children's services demand forecast",
        run.title,
        _banner(run.synthetic),
        _meta(run),
        sections,
    )


def write_run_report(
    run_dir: str | Path, out_path: str | Path, charts_dir: str | Path | None = None
) -> Path:
    """Write the run folder's report to ``out_path`` (``report.html``) and return it."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(run_report_html(run_dir, charts_dir), encoding="utf-8")
    return out
