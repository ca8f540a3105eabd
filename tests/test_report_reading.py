"""The run report as a reader meets it: who and when, a summary in words, labelled tables."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.run_files import read_run


def _report(run: Path) -> str:
    return (run / "report.html").read_text(encoding="utf-8")


def test_the_header_says_whose_data_to_when_and_which_scenario(report_run: Path) -> None:
    meta = re.search(r"<ul class='meta'>(.*?)</ul>", _report(report_run)).group(1)
    items = [html.unescape(i) for i in re.findall(r"<li>(.*?)</li>", meta)]
    assert items[0] == "Council: Built-in synthetic example council (not a real council)"
    assert items[1] == "Data to 31 March 2022"
    assert "Scenario: baseline" in items and "Seed: 20220331" in items


def test_the_summary_in_words_quotes_the_run_s_own_medians(report_run: Path) -> None:
    text = _report(report_run)
    summary = html.unescape(re.search(r"<p class='summary'>(.*?)</p>", text).group(1))
    km = read_run(report_run).key_measures
    care = km[km["measure"] == "children_in_care"]
    first, last = care["month"].min(), care["month"].max()
    start = np.quantile(care[care["month"] == first]["value"], 0.5)
    end = care[care["month"] == last]["value"]
    p10, p50, p90 = (np.quantile(end, q) for q in (0.1, 0.5, 0.9))
    expected = (
        f"from {start:,.0f} to {p50:,.0f} between {first:%B %Y} and {last:%B %Y} "
        f"(80% interval {p10:,.0f} to {p90:,.0f})"
    )
    assert "Children in care are projected to" in summary and expected in summary
    assert 5 <= summary.count(". ") + 1 <= 7  # five or six sentences
    assert "8 simulated futures" in summary


def test_tables_have_row_and_column_headers_and_say_what_they_hold(report_run: Path) -> None:
    text = _report(report_run)
    tables = re.findall(r"<table class='(\w+)'>(.*?)</table>", text, re.S)
    assert tables
    for kind, body in tables:
        assert "<th scope='col'" in body
        caption = re.search(r"<caption>(.*?)</caption>", body)
        if kind == "model" and caption:
            assert "(model output)" in caption.group(1)
        if kind == "recorded" and caption:
            assert "disclosure control applied" in caption.group(1)
    assert text.count("<th scope='row'>") >= 10
    # The page no longer starts every section on a new printed page.
    assert "break-before: page" not in text


def test_flows_per_year_are_numbers_under_the_labels_the_record_uses(report_run: Path) -> None:
    text = html.unescape(_report(report_run))
    run = read_run(report_run)
    q = run.quantiles
    entries = q[(q["measure"] == "flow") & (q["category"] == "entry_to_care")]
    months = entries["month"]
    first_year = entries[(months >= "2022-04-01") & (months < "2023-04-01")]["mean"].sum()
    table = re.search(r"Moves per financial year: recorded.*?</table>", text, re.S).group(0)
    header = re.findall(r"<th scope='col'[^>]*>(.*?)</th>", table)
    row = re.search(r"<th scope='row'>Entries to care \(all\)</th>(.*?)</tr>", table).group(1)
    cells = dict(zip(header[1:], re.findall(r"<td class='num'>(.*?)</td>", row), strict=True))
    assert cells["2022/23 projected"] == f"{first_year:.1f}"
    # Every cell of the report's table is the published CSV's, recorded and projected.
    flows = pd.read_csv(
        report_run / LAYOUT.flows,
        dtype={"financial_year": str, "value": str},
        keep_default_na=False,
    )
    recorded = flows[(flows["flow"] == "entries_to_care") & (flows["kind"] == "recorded")]
    assert len(recorded) >= 5
    for _, r in recorded.iterrows():
        assert cells[f"{r['financial_year']} recorded"] == r["value"]
    assert next(h for h in header if h.endswith("recorded")) < "2022"
    # The recorded table of the data quality section speaks of the same thing in the same words.
    recorded_table = re.search(r"Arrivals per financial year.*?</table>", text, re.S).group(0)
    assert "Entries to care (all)" in recorded_table
    # The forecast of arrivals names what it counts: children not already in a service.
    assert "Entries to care of children not already in a service" in text


def test_the_workbook_flows_sheet_is_the_published_table(report_run: Path) -> None:
    flows = pd.read_csv(
        report_run / LAYOUT.flows,
        dtype={"financial_year": str, "value": str},
        keep_default_na=False,
    )
    book = openpyxl.load_workbook(report_run / LAYOUT.workbook, read_only=True)
    rows = list(book["Flows per year"].iter_rows(min_row=4, values_only=True))
    header, body = rows[0], [r for r in rows[1:] if any(v is not None for v in r)]
    assert len(body) == len(flows)
    column = {name: i for i, name in enumerate(header)}
    for (_, r), cells in zip(flows.iterrows(), body, strict=True):
        assert cells[column["Financial year"]] == r["financial_year"]
        value = cells[column["Children (recorded count; projected mean)"]]
        if r["value"] in ("", "[c]"):
            assert value is None and cells[column["Note"]] == "Suppressed"
        else:
            assert isinstance(value, int | float) and value == pytest.approx(float(r["value"]))
    # Exits by reason add up to all exits, recorded and projected alike.
    wide = flows.pivot_table(
        index=["financial_year", "kind"], columns="flow", values="value", aggfunc="first"
    )
    shown = wide.map(lambda v: pd.to_numeric(v, errors="coerce"))
    reasons = [c for c in shown.columns if c.startswith("exit:")]
    complete = shown[[*reasons, "exits_from_care"]].dropna()
    assert not complete.empty
    assert (complete[reasons].sum(axis=1) - complete["exits_from_care"]).abs().max() < 0.2


def test_the_report_s_cost_table_is_the_csv_s_means_under_the_workbook_s_names(
    report_run: Path,
) -> None:
    from care_demand.outputs.report.html import _gbp
    from care_demand.outputs.workbook_names import line_name

    text = html.unescape(_report(report_run))
    table = re.search(r"Mean cost by budget line and financial year.*?</table>", text, re.S)
    header = re.findall(r"<th scope='col'[^>]*>(.*?)</th>", table.group(0))
    rows = {
        name: re.findall(r"<td[^>]*>(.*?)</td>", cells)
        for name, cells in re.findall(
            r"<tr><th scope='row'>(.*?)</th>(.*?)</tr>", table.group(0), re.S
        )
    }
    costs = pd.read_csv(report_run / LAYOUT.cost_summary)
    yearly = costs[~costs["financial_year"].astype(str).str.contains(" to ")]
    checked = 0
    for _, r in yearly.iterrows():
        name = line_name(r["kind"], r["line"])
        if name not in rows:  # only lines with no cost, or fixed costs under their titles
            assert r["mean"] == 0 or r["kind"] == "fixed", name
            continue
        cell = rows[name][header[1:].index(str(r["financial_year"]))]
        assert cell == _gbp(r["mean"]), (name, r["financial_year"])
        checked += 1
    assert checked >= 20
    assert list(rows)[-1] == "Total, all lines"
