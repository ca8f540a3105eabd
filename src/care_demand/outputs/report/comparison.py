"""The comparison report: one self-contained HTML page for a multirun.

Built from the sweep folder's files (:mod:`care_demand.outputs.run_files`): the scenarios
compared with their paired differences from the baseline, how each scenario works (flows
and the cost bridge, :mod:`.mechanism`), each scenario's assumptions,
children in care, sufficiency gaps and savings by scenario with their charts, then the
baseline's data quality, calibration, method and caveats.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from care_demand import vocab
from care_demand.outputs.charts.comparison import comparison_charts
from care_demand.outputs.charts.run import held_states
from care_demand.outputs.disclosure import DisclosureRule
from care_demand.outputs.report.html import (
    _banner,
    _charts_html,
    _gbp,
    _page,
    _signed,
    _spread,
    html_table,
    markdown_to_html,
)
from care_demand.outputs.report.mechanism import mechanism_section
from care_demand.outputs.report.run import _meta
from care_demand.outputs.report.sections import (
    _KEY_MEASURES,
    _calibration,
    _capacity_items,
    _caveats,
    _data_quality,
    _method,
)
from care_demand.outputs.report.sufficiency import sufficiency_caption
from care_demand.outputs.run_files import SweepFiles, read_sweep

__all__ = [
    "comparison_report_html",
    "write_comparison_report",
]


# ---------------------------------------------------------------------------------------
# The comparison report


def _comparison_headline(sweep: SweepFiles) -> str:
    head = sweep.headline
    if head is None or head.empty:
        return "<p>No scenario finished, so there is nothing to compare.</p>"
    measures = [m for m in [*_KEY_MEASURES, "cost"] if m in set(head["measure"])]
    rows = []
    for name in sweep.runs:
        group = head[head["scenario"] == name]
        if group.empty:
            continue
        row = [sweep.runs[name].title]
        for m in measures:
            sel = group[group["measure"] == m]
            if sel.empty:
                row.append("–")
                continue
            r = sel.iloc[0]
            money = m == "cost"
            cell = _spread(r["p50"], r["p10"], r["p90"], money=money)
            if "diff_p50" in r and pd.notna(r.get("diff_p50")):
                cell += (
                    f"; vs baseline {_signed(r['diff_p50'], money)} "
                    f"({_signed(r['diff_p10'], money)} to {_signed(r['diff_p90'], money)})"
                )
            row.append(cell)
        rows.append(row)
    columns = ["Scenario"] + [
        _KEY_MEASURES.get(m, "Cumulative cost over the projection") for m in measures
    ]
    return (
        "<p>Stocks at the end of the projection and the cost over it: median (80% interval). "
        "Differences from the baseline are paired within each simulated future (common random "
        "numbers), so their intervals show the uncertainty about the difference itself.</p>"
        + html_table(pd.DataFrame(rows, columns=columns), caption="Scenarios compared", model=True)
    )


def _comparison_scenarios(sweep: SweepFiles) -> str:
    parts = []
    names = list(sweep.runs)
    items = {n: dict(_capacity_items(sweep.runs[n].config)) for n in names}
    settings = list(dict.fromkeys(k for n in names for k in items[n]))
    settings.sort(key=lambda k: k.startswith("Fixed cost"))  # stable: capacity first
    if settings:
        table = pd.DataFrame(
            [[s, *(items[n].get(s, "none") for n in names)] for s in settings],
            columns=["Setting", *(sweep.runs[n].title for n in names)],
        )
        parts.append(html_table(table, caption="Capacity and fixed costs by scenario"))
    for name in names:
        parts.append(markdown_to_html(sweep.runs[name].scenario_markdown, heading_offset=2))
    return "".join(parts)


def _comparison_by_year(sweep: SweepFiles) -> str:
    by_year = sweep.by_year
    if by_year is None or by_year.empty:
        return ""
    sel = by_year[
        (by_year["measure"] == "children_in_care")
        & by_year["period"].astype(str).str.match(r"\d{4}-\d{2}-\d{2}$")
    ].copy()
    sel["cell"] = [
        _spread(a, b, c) for a, b, c in zip(sel["p50"], sel["p10"], sel["p90"], strict=True)
    ]
    sel["date"] = pd.to_datetime(sel["period"]).dt.strftime("%d %b %Y")
    wide = sel.pivot(index="scenario", columns="date", values="cell")
    wide = wide.reindex([n for n in sweep.runs if n in wide.index])
    wide = wide[sorted(wide.columns, key=lambda d: pd.to_datetime(d))]
    wide.index = [sweep.runs[n].title for n in wide.index]
    return html_table(
        wide.reset_index(names="Scenario"),
        caption="Children in care at 31 March by scenario: median (80% interval)",
        model=True,
    )


def _comparison_sufficiency(sweep: SweepFiles) -> str:
    head = sweep.headline
    if head is None or head.empty:
        return ""
    rows = []
    for name in sweep.runs:
        group = head[head["scenario"] == name].set_index("measure")
        row = [sweep.runs[name].title]
        for m in ("shortfall", "external_placements", "external_residential", "out_of_area"):
            if m in group.index:
                r = group.loc[m]
                cell = _spread(r["p50"], r["p10"], r["p90"])
                if pd.notna(r.get("diff_p50")):
                    cell += f"; vs baseline {_signed(r['diff_p50'])}"
                row.append(cell)
            else:
                row.append("–")
        rows.append(row)
    return html_table(
        pd.DataFrame(
            rows,
            columns=[
                "Scenario",
                "Placed externally for want of an in-house place",
                "External placements",
                "External children's homes",
                "Placed out of area",
            ],
        ),
        caption="Sufficiency gaps at the end of the projection: median (80% interval)",
        model=True,
    )


def _comparison_places_needed(sweep: SweepFiles) -> str:
    """Per in-house group, each scenario's in-house places needed for the target share and
    children placed externally for want of a place, at each 31 March (from each run's
    quarterly sufficiency table)."""
    tables = {n: r.sufficiency for n, r in sweep.runs.items() if r.sufficiency is not None}
    if not tables:
        return ""
    parts = [
        "<p>How many in-house places each scenario still needs for the target in-house share "
        "(<code>output.target_inhouse_share</code>), and how many children it places "
        "externally for want of an in-house place, at each 31 March: the quarterly tables "
        "of each scenario's own report, side by side. Medians across futures, with the 80% "
        "interval.</p>"
    ]
    for inhouse, external in vocab.EXTERNAL_EQUIVALENT.items():
        rows: dict[str, dict[str, str]] = {}
        for name, table in tables.items():
            own = table[table["inhouse_group"] == inhouse]
            own = own[pd.to_datetime(own["quarter_end"]).dt.month == 3]
            title = sweep.runs[name].title
            for _, r in own.iterrows():
                row = rows.setdefault(f"{pd.Timestamp(r['quarter_end']):%d %b %Y}", {})
                row[f"{title}: places needed"] = _spread(
                    r["places_needed_for_target_median"],
                    r["places_needed_for_target_p10"],
                    r["places_needed_for_target_p90"],
                )
                row[f"{title}: placed externally for want of a place"] = _spread(
                    r["placed_externally_for_want_of_place_median"],
                    r["placed_externally_for_want_of_place_p10"],
                    r["placed_externally_for_want_of_place_p90"],
                )
        if not rows:
            continue
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame = frame.loc[sorted(frame.index, key=pd.Timestamp)]
        parts.append(
            html_table(
                frame.reset_index(names="31 March"),
                caption=f"{sufficiency_caption(inhouse, external).split(':')[0]}: in-house "
                "places needed for the target share, by scenario",
                model=True,
            )
        )
    return "".join(parts)


def _comparison_finance(sweep: SweepFiles) -> str:
    parts = []
    sav = sweep.savings
    if sav is not None and not sav.empty:
        total = sav[sav["line"] == "total"]
        cumulative = total[total["measure"] == "cumulative_saving"]
        npv = total[total["measure"] == "npv_to_date"]
        rows = []
        for name in sweep.runs:
            c = cumulative[cumulative["scenario"] == name]
            if c.empty:
                continue
            last = c[c["financial_year"] == c["financial_year"].max()].iloc[0]
            p = npv[(npv["scenario"] == name) & (npv["financial_year"] == last["financial_year"])]
            rows.append(
                (
                    sweep.runs[name].title,
                    str(last["financial_year"]),
                    _spread(last["p50"], last["p10"], last["p90"], money=True),
                    _gbp(last["target"]),
                    f"{float(last['p_meets_target']):.0%}",
                    _spread(p["p50"].iloc[0], p["p10"].iloc[0], p["p90"].iloc[0], money=True)
                    if not p.empty
                    else "–",
                )
            )
        parts.append(
            "<p>Savings are the baseline's cost minus the scenario's, paired within each "
            "simulated future: above zero the scenario costs less. The net present value uses "
            "the Green Book discount rate in real terms (docs/finance.md).</p>"
            + html_table(
                pd.DataFrame(
                    rows,
                    columns=[
                        "Scenario",
                        "To",
                        "Cumulative saving: median (80% interval)",
                        "Cumulative target",
                        "Futures meeting the target",
                        "Net present value: median (80% interval)",
                    ],
                ),
                caption="Savings against the baseline and the target",
                model=True,
            )
        )
    by_year = sweep.by_year
    if by_year is not None and not by_year.empty:
        cost = by_year[by_year["measure"] == "cost"].copy()
        if not cost.empty:
            cost["cell"] = [
                _spread(a, b, c, money=True)
                for a, b, c in zip(cost["p50"], cost["p10"], cost["p90"], strict=True)
            ]
            wide = cost.pivot(index="scenario", columns="period", values="cell")
            wide = wide.reindex([n for n in sweep.runs if n in wide.index])
            wide.index = [sweep.runs[n].title for n in wide.index]
            wide = wide.rename(columns={"total": "All complete years"})
            parts.append(
                html_table(
                    wide.reset_index(names="Scenario"),
                    caption="Cost per financial year by scenario: median (80% interval), cash",
                    model=True,
                )
            )
    return "".join(parts) or "<p>The runs were not costed.</p>"


def comparison_report_html(
    sweep: SweepFiles | str | Path, charts_dir: str | Path | None = None
) -> str:
    """The HTML report of a multirun's sweep folder (charts from ``charts_dir`` or drawn)."""
    sweep = sweep if isinstance(sweep, SweepFiles) else read_sweep(sweep)
    charts = comparison_charts(sweep)
    folder = Path(charts_dir) if charts_dir is not None else sweep.path / "comparison" / "charts"
    reference = sweep.reference
    sections = [
        ("headline", "Headline comparison", _comparison_headline(sweep)),
        ("mechanism", "How each scenario works", mechanism_section(sweep, charts, folder)),
        ("scenarios", "Each scenario's assumptions", _comparison_scenarios(sweep)),
        (
            "comparison",
            "Children in care by scenario",
            _charts_html(charts, ["fan_by_scenario", "fan_overlaid", "scenario_comparison"], folder)
            + _comparison_by_year(sweep),
        ),
        (
            "sufficiency",
            "Sufficiency gaps",
            _charts_html(charts, ["demand_capacity_by_scenario"], folder)
            + _comparison_sufficiency(sweep)
            + _comparison_places_needed(sweep),
        ),
        (
            "finance",
            "Finance: savings against the baseline and the target",
            _charts_html(charts, ["savings_by_year", "cumulative_savings"], folder)
            + _comparison_finance(sweep),
        ),
    ]
    if sweep.failed:
        sections.append(
            (
                "failed",
                "Scenarios that failed",
                markdown_to_html(
                    "\n".join(f"- **{n}**: {reason}" for n, reason in sorted(sweep.failed.items()))
                ),
            )
        )
    if reference is not None:
        sections += [
            ("data", "Data quality", _data_quality(reference)),
            ("calibration", "Calibration diagnostics", _calibration(reference)),
            (
                "method",
                "Method in plain English",
                _method(reference, held_states(reference.recorded)),
            ),
        ]
    rule = reference.rule if reference is not None else DisclosureRule()
    replicates = reference.replicates if reference is not None else None
    sections.append(
        ("caveats", "Caveats and disclosure control", _caveats(rule, sweep.synthetic, replicates))
    )
    scenarios = f"Scenarios: {', '.join(sweep.runs) or 'none'}"
    if reference is not None:
        about = _meta(reference)
        head = [m for m in about if m.startswith(("Council: ", "Data to "))]
        rest = [m for m in about if m not in head and not m.startswith("Scenario: ")]
        meta = [*head, scenarios, *rest]
    else:
        meta = [scenarios]
    return _page(
        "Children's services demand forecast",
        "Scenario comparison",
        _banner(sweep.synthetic),
        meta,
        sections,
    )


def write_comparison_report(
    sweep_dir: str | Path, out_path: str | Path, charts_dir: str | Path | None = None
) -> Path:
    """Write the multirun's report to ``out_path`` (``comparison/report.html``)."""
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(comparison_report_html(sweep_dir, charts_dir), encoding="utf-8")
    return out
