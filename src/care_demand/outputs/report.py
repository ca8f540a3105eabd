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
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.outputs.charts import Chart, comparison_charts, run_charts
from care_demand.outputs.disclosure import (
    STOCK_TOTALS,
    DisclosureRule,
    Total,
    suppress_counts,
)
from care_demand.outputs.run_files import RunFiles, SweepFiles, read_run, read_sweep
from care_demand.outputs.summary import STATE_LABELS

__all__ = [
    "comparison_report_html",
    "html_table",
    "markdown_to_html",
    "run_report_html",
    "write_comparison_report",
    "write_run_report",
]

_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)

_CSS = """
:root { --ink: #1a1a1a; --muted: #555; --rule: #d0d0d0; --band: #f3f6f9; --accent: #0072B2; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", "Helvetica Neue", Arial, sans-serif; color: var(--ink);
  line-height: 1.5; margin: 0 auto; max-width: 70rem; padding: 1.5rem 2rem 4rem; }
h1 { font-size: 1.8rem; margin: 0 0 .3rem; }
h2 { font-size: 1.35rem; margin-top: 2.5rem; padding-top: .5rem;
  border-top: 2px solid var(--accent); }
h3 { font-size: 1.1rem; margin-top: 1.6rem; }
p, li { max-width: 52rem; }
.subtitle { color: var(--muted); font-size: 1.1rem; margin: 0 0 1rem; }
.banner { background: #fff4d6; border-left: 5px solid #E69F00; padding: .6rem 1rem;
  margin: 1rem 0; }
.note { color: var(--muted); font-size: .9rem; }
.meta { display: flex; flex-wrap: wrap; gap: .3rem 1.5rem; padding: 0; list-style: none;
  color: var(--muted); font-size: .9rem; }
nav ol { columns: 2; font-size: .95rem; }
nav a, a { color: var(--accent); }
figure { margin: 1.2rem 0 1.8rem; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: .9rem; color: var(--muted); margin-top: .3rem; }
.table-wrap { overflow-x: auto; margin: .8rem 0 1.4rem; }
table { border-collapse: collapse; font-size: .88rem; }
caption { text-align: left; font-weight: 600; padding: .3rem 0; }
th, td { border-bottom: 1px solid var(--rule); padding: .3rem .6rem; vertical-align: top; }
th { background: var(--band); text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.recorded caption::after { content: " (recorded counts: disclosure control applied)";
  font-weight: 400; color: var(--muted); }
table.model caption::after { content: " (model output)"; font-weight: 400; color: var(--muted); }
code { background: #f2f2f2; padding: 0 .2rem; border-radius: 3px; }
.verdict-ok { color: #00734d; font-weight: 600; }
.verdict-bad { color: #b34700; font-weight: 600; }
footer { margin-top: 3rem; font-size: .85rem; color: var(--muted);
  border-top: 1px solid var(--rule); }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  h2 { break-before: page; }
  h2.first { break-before: auto; }
  figure, table, .banner { break-inside: avoid; }
  .table-wrap { overflow: visible; }
  a { color: inherit; text-decoration: none; }
}
"""

# Records on <body> whether every image decoded and whether any error occurred.
_SCRIPT = """
(function () {
  var errors = [];
  window.addEventListener("error", function (event) {
    var target = event.target || {};
    errors.push(event.message || ("could not load " + (target.tagName || "a resource")));
  }, true);
  window.addEventListener("load", function () {
    var images = Array.prototype.slice.call(document.images);
    var broken = images.filter(function (img) {
      return !(img.complete && img.naturalWidth > 0);
    });
    var body = document.body;
    body.setAttribute("data-images", String(images.length));
    body.setAttribute("data-images-broken", String(broken.length));
    body.setAttribute("data-images-ok", broken.length === 0 ? "true" : "false");
    body.setAttribute("data-errors", String(errors.length));
    body.setAttribute("data-error-messages", errors.join(" | "));
    body.setAttribute("data-checked", "true");
  });
})();
"""

_GROUP_LABELS = {
    vocab.KINSHIP_FOSTER: "Kinship foster care",
    vocab.INHOUSE_FOSTER: "In-house foster care",
    vocab.IFA: "Independent fostering agency",
    vocab.INHOUSE_RESIDENTIAL: "In-house children's homes",
    vocab.EXTERNAL_RESIDENTIAL: "External children's homes",
    vocab.SUPPORTED_16PLUS: "Supported accommodation (16+)",
    vocab.PLACED_WITH_PARENTS: "Placed with parents",
    vocab.PLACED_FOR_ADOPTION: "Placed for adoption",
    vocab.SECURE_OTHER: "Secure and other",
}
_ARRIVAL_LABELS = {
    "referral": "Referrals to children's social care",
    "early_help_request": "Early-help requests",
    "care_entry": "Entries to care from outside services",
    "care_entry_uasc": "Entries to care: of which UASC",
}
_FORECAST_UASC_LABELS = {
    "care_entry": "Entries to care from outside services, other than UASC",
    "care_entry_uasc": "Entries to care of UASC",
}
_KEY_MEASURES = {
    "children_in_care": "Children in care",
    "external_placements": "External placements (IFA and external children's homes)",
    "external_residential": "External children's homes",
    "out_of_area": "Children placed out of area",
    "shortfall": "Children placed externally for want of an in-house place",
}

# ---------------------------------------------------------------------------------------
# Formatting


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _count(value: object) -> str:
    if not _is_number(value) or pd.isna(value):  # type: ignore[arg-type]
        return "–" if not isinstance(value, str) else value
    return f"{float(value):,.0f}"  # type: ignore[arg-type]


def _gbp(value: float) -> str:
    if pd.isna(value):
        return "–"
    sign = "-" if value < 0 else ""
    if abs(value) < 1e6:
        return f"{sign}£{abs(value) / 1e3:,.0f}k"
    return f"{sign}£{abs(value) / 1e6:,.1f}m"


def _signed(value: float, money: bool = False) -> str:
    if pd.isna(value):
        return "–"
    text = _gbp(abs(value)) if money else f"{abs(value):,.0f}"
    return f"-{text}" if value < 0 else f"+{text}"


def _spread(p50: float, p10: float, p90: float, money: bool = False) -> str:
    fmt = _gbp if money else _count
    return f"{fmt(p50)} ({fmt(p10)} to {fmt(p90)})"


def _value(value: object) -> str:
    """An assumption's value: whole numbers with separators, rates as given."""
    if not _is_number(value) or pd.isna(value):  # type: ignore[arg-type]
        return "" if value is None else str(value)
    number = float(value)  # type: ignore[arg-type]
    return f"{number:,.0f}" if abs(number) >= 100 else f"{number:g}"


def _quantiles(values: pd.Series) -> tuple[float, float, float]:
    v = values.to_numpy(dtype=float)
    if v.size == 0:
        return (np.nan, np.nan, np.nan)
    return tuple(float(np.quantile(v, q)) for q in (0.5, 0.1, 0.9))  # type: ignore[return-value]


def _inline(text: str) -> str:
    """Escape ``text`` and turn Markdown `code` and **bold** into HTML."""
    out = _esc(text)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)


def markdown_to_html(text: str, *, heading_offset: int = 0) -> str:
    """A small Markdown subset as HTML: headings, paragraphs, bulleted and numbered lists,
    tables, inline code and bold.

    Every character of ``text`` is escaped; ``heading_offset`` demotes headings (1: ``#``
    becomes ``<h2>``).
    """
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        heading = re.match(r"^(#{1,6})\s+(.*)$", stripped)
        if heading:
            level = min(len(heading.group(1)) + heading_offset, 6)
            out.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
            i += 1
        elif stripped.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
                if not all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
                    rows.append(cells)
                i += 1
            head, body = rows[0], rows[1:]
            table = ["<div class='table-wrap'><table>", "<thead><tr>"]
            table += [f"<th>{_inline(c)}</th>" for c in head]
            table.append("</tr></thead><tbody>")
            for row in body:
                table.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in row) + "</tr>")
            table.append("</tbody></table></div>")
            out.append("".join(table))
        elif re.match(r"^\d+\.\s+", stripped):
            entries: list[str] = []
            while i < len(lines) and lines[i].strip():
                text = lines[i].strip()
                if re.match(r"^\d+\.\s+", text):
                    entries.append(re.sub(r"^\d+\.\s+", "", text))
                else:  # a continuation line of the item before
                    entries[-1] += " " + text
                i += 1
            out.append("<ol>" + "".join(f"<li>{_inline(e)}</li>" for e in entries) + "</ol>")
        elif re.match(r"^\s*[-*]\s+", line):
            items: list[tuple[int, str]] = []
            while i < len(lines) and re.match(r"^\s*[-*]\s+", lines[i]):
                indent = len(lines[i]) - len(lines[i].lstrip())
                items.append((indent, re.sub(r"^\s*[-*]\s+", "", lines[i])))
                i += 1
            out.append(_list_html(items))
        else:
            para = []
            while (
                i < len(lines)
                and lines[i].strip()
                and not re.match(r"^(#{1,6}\s|\||[-*]\s+|\d+\.\s+)", lines[i].strip())
            ):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{_inline(' '.join(para))}</p>")
    return "\n".join(out)


def _list_html(items: list[tuple[int, str]]) -> str:
    html_parts = ["<ul>"]
    base = items[0][0] if items else 0
    depth = 0
    for indent, text in items:
        level = 1 if indent > base else 0
        while depth < level:
            html_parts.append("<ul>")
            depth += 1
        while depth > level:
            html_parts.append("</ul>")
            depth -= 1
        html_parts.append(f"<li>{_inline(text)}</li>")
    html_parts += ["</ul>"] * depth
    html_parts.append("</ul>")
    return "".join(html_parts)


def html_table(
    frame: pd.DataFrame,
    *,
    caption: str = "",
    recorded: Sequence[str] = (),
    rule: DisclosureRule | None = None,
    totals: Iterable[Total] = (),
    formats: Mapping[str, Callable[[Any], str]] | None = None,
    model: bool = False,
) -> str:
    """``frame`` as an HTML table.

    Columns in ``recorded`` hold recorded counts: they go through the disclosure rule
    (with the table's ``totals``) before anything is written, and the table is marked
    ``class="recorded"``. A table of projections is marked ``class="model"`` (``model``);
    others (settings, assumptions) ``class="plain"``. ``formats`` turns a column's values
    into text (numbers default to whole numbers with thousands separators).
    """
    rule = rule or DisclosureRule()
    data = frame.reset_index(drop=True)
    totals = tuple(totals)
    for column in recorded:
        data = suppress_counts(data, column, rule, totals)
    formats = dict(formats or {})
    kind = "recorded" if recorded else ("model" if model else "plain")
    parts = [f"<div class='table-wrap'><table class='{kind}'>"]
    if caption:
        parts.append(f"<caption>{_esc(caption)}</caption>")
    numeric = {
        c
        for c in data.columns
        if c in recorded or c in formats or pd.api.types.is_numeric_dtype(data[c])
    }
    parts.append("<thead><tr>")
    parts += [
        f"<th class='num'>{_esc(c)}</th>" if c in numeric else f"<th>{_esc(c)}</th>"
        for c in data.columns
    ]
    parts.append("</tr></thead><tbody>")
    for row in data.itertuples(index=False, name=None):
        cells = []
        for column, value in zip(data.columns, row, strict=True):
            if column in formats:
                text = formats[column](value)
            elif column in recorded:
                text = _count(float(value)) if str(value).isdigit() else str(value)
            elif _is_number(value):
                text = _count(value)
            else:
                text = (
                    ""
                    if value is None or (not isinstance(value, str) and pd.isna(value))
                    else str(value)
                )
            cls = " class='num'" if column in numeric else ""
            cells.append(f"<td{cls}>{_esc(text)}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table></div>")
    return "".join(parts)


def _png_bytes(chart: Chart, charts_dir: Path | None) -> bytes:
    """The chart's PNG: the file already written in ``charts_dir``, or drawn now."""
    if charts_dir is not None:
        path = charts_dir / f"{chart.name}.png"
        if path.is_file():
            return path.read_bytes()
    figure = chart.draw()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=150, bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def _figure(png: bytes, title: str, description: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        f"<figure><img src='data:image/png;base64,{data}' alt='{_esc(description)}'>"
        f"<figcaption>{_esc(title)}. {_esc(description)}</figcaption></figure>"
    )


def _charts_html(charts: Sequence[Chart], names: Sequence[str], charts_dir: Path | None) -> str:
    by_name = {c.name: c for c in charts}
    return "".join(
        _figure(_png_bytes(by_name[n], charts_dir), by_name[n].title, by_name[n].description)
        for n in names
        if n in by_name
    )


def _section(anchor: str, title: str, body: str, first: bool = False) -> str:
    cls = " class='first'" if first else ""
    return f"<section id='{anchor}'><h2{cls}>{_esc(title)}</h2>{body}</section>"


def _page(
    title: str,
    subtitle: str,
    banner: str,
    meta: Sequence[str],
    sections: list[tuple[str, str, str]],
) -> str:
    nav = "".join(f"<li><a href='#{a}'>{_esc(t)}</a></li>" for a, t, _ in sections)
    body = "".join(_section(a, t, b, first=i == 0) for i, (a, t, b) in enumerate(sections))
    meta_html = "".join(f"<li>{_esc(m)}</li>" for m in meta)
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<meta http-equiv='Content-Security-Policy' content=\"{_CSP}\">"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_esc(title)}: {_esc(subtitle)}</title>"
        f"<style>{_CSS}</style><script>{_SCRIPT}</script></head>\n<body>"
        f"<header><h1>{_esc(title)}</h1><p class='subtitle'>{_esc(subtitle)}</p>"
        f"{banner}<ul class='meta'>{meta_html}</ul></header>"
        f"<nav aria-label='Contents'><h2 class='first'>Contents</h2><ol>{nav}</ol></nav>"
        f"<main>{body}</main>"
        "<footer><p>Made by care_demand from the files of this run folder. Every number "
        "is in the CSV files beside this report; columns are documented in docs/outputs.md."
        "</p></footer></body></html>\n"
    )


def _banner(synthetic: bool) -> str:
    if not synthetic:
        return ""
    return (
        "<p class='banner'><strong>Synthetic data.</strong> This report describes the built-in "
        "example council: invented children whose totals are tuned to Dorset Council's "
        "published figures. It describes no real child and no real council's plans.</p>"
    )


# ---------------------------------------------------------------------------------------
# Sections shared by both reports


def _capacity_items(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The run's capacity and fixed-cost settings as (setting, value) in plain English."""
    items: list[tuple[str, str]] = []
    capacity = config.get("capacity", {}) or {}
    fostering = capacity.get("fostering", {}) or {}
    if fostering:
        items.append(
            ("Mainstream fostering households at the start", _count(fostering.get("households")))
        )
        items.append(
            (
                "Foster carer enquiries a month (before campaigns)",
                f"{float(fostering.get('enquiries_per_month', 0)):g}",
            )
        )
        for name, campaign in sorted((fostering.get("recruitment") or {}).items()):
            items.append(
                (
                    f"Recruitment campaign: {name}",
                    f"from {campaign.get('start')}: enquiries "
                    f"x{campaign.get('enquiries_multiplier')}, "
                    f"conversion x{campaign.get('conversion_multiplier')}, over "
                    f"{campaign.get('ramp_months')} months",
                )
            )
        mockingbird = fostering.get("mockingbird") or {}
        steps = mockingbird.get("constellations") or []
        if steps:
            items.append(
                (
                    "Mockingbird constellations",
                    "; ".join(f"{n} from {d}" for d, n in steps),
                )
            )
    for name, home in sorted((capacity.get("homes") or {}).items()):
        closes = f" to {home['closes']}" if home.get("closes") else ""
        items.append(
            (
                f"In-house home: {home.get('name', name)}",
                f"{home.get('beds')} beds from {home.get('opens')}{closes}, ages "
                f"{float(home.get('min_age', 0)):g}-{float(home.get('max_age', 18)):g}, at most "
                f"{float(home.get('max_occupancy', 1)):.0%} occupied",
            )
        )
    harbour = capacity.get("harbour") or {}
    if harbour.get("caseload"):
        items.append(
            (
                "Harbour outreach caseload",
                "; ".join(f"{n} young people from {d}" for d, n in harbour["caseload"]),
            )
        )
    policy = capacity.get("policy") or {}
    if policy:
        items.append(
            (
                "Placement policy",
                ("in-house first" if policy.get("inhouse_first") else "placement as drawn")
                + f"; back in-house within {float(policy.get('step_back_within_months', 0)):g} "
                "months when a place frees",
            )
        )
    for name, cost in sorted(((config.get("costs") or {}).get("fixed") or {}).items()):
        parts = []
        if cost.get("annual"):
            parts.append(f"{_gbp(float(cost['annual']))} a year")
        if cost.get("capital"):
            parts.append(f"{_gbp(float(cost['capital']))} capital")
        end = f" to {cost['end']}" if cost.get("end") else ""
        items.append(
            (f"Fixed cost: {name}", f"{', '.join(parts) or '£0'} from {cost.get('start')}{end}")
        )
    return items


def _data_quality(run: RunFiles) -> str:
    """Validation result, mode and window (from data_summary.md) and the recorded tables."""
    rule = run.rule
    parts = []
    intro = run.data_summary.split("\n## ", 1)[0]
    bullets = [line for line in intro.splitlines() if re.match(r"^\s*-\s", line)]
    if bullets:
        parts.append(markdown_to_html("\n".join(bullets)))
    if run.dropped:
        dropped = pd.DataFrame(
            sorted(run.dropped.items()), columns=["Validation rule", "Rows dropped"]
        )
        parts.append(
            "<p>The run was lenient: rows that failed validation were dropped, not used.</p>"
            + html_table(dropped, caption="Rows dropped by validation rule")
        )
    if run.repairs:
        repaired = pd.DataFrame(sorted(run.repairs.items()), columns=["Repair", "Values repaired"])
        parts.append(
            "<p>Values with one clear meaning were read in it and counted (what each repair "
            "does: docs/input_formats.md, Repairs).</p>"
            + html_table(repaired, caption="Values repaired, by rule")
        )
    stocks = run.stocks
    if stocks is not None and not stocks.empty:
        published = suppress_counts(stocks, "children", rule, (STOCK_TOTALS,))
        published["date"] = pd.to_datetime(published["date"]).dt.strftime("%d %b %Y")
        dates = list(dict.fromkeys(published["date"]))
        states = published[published["placement_group"] == "all"]
        wide = states.pivot(index="state", columns="date", values="children")
        wide = wide.reindex([s for s in vocab.STATES if s in wide.index])[dates]
        wide.index = [STATE_LABELS.get(s, s) for s in wide.index]
        parts.append(
            html_table(
                wide.reset_index(names="State"),
                caption="Children by state at 31 March (each child once, in their highest "
                "level of need)",
                recorded=dates,
                rule=rule,
            )
        )
        groups = published[
            (published["state"] == vocab.CARE) & (published["placement_group"] != "all")
        ]
        wide = groups.pivot(index="placement_group", columns="date", values="children")
        wide = wide.reindex([g for g in vocab.PLACEMENT_GROUPS if g in wide.index])[dates]
        wide.index = [_GROUP_LABELS.get(g, g) for g in wide.index]
        parts.append(
            html_table(
                wide.reset_index(names="Placement group"),
                caption="Children in care by placement group at 31 March",
                recorded=dates,
                rule=rule,
            )
        )
    arrivals = run.arrivals
    if arrivals is not None and not arrivals.empty:
        published = suppress_counts(arrivals, "arrivals", rule)
        wide = published.pivot(index="kind", columns="financial_year", values="arrivals")
        wide = wide.fillna("0")
        years = list(wide.columns)
        wide.index = [_ARRIVAL_LABELS.get(k, k) for k in wide.index]
        parts.append(
            html_table(
                wide.reset_index(names="Arrival"),
                caption="Arrivals per financial year (April-March)",
                recorded=years,
                rule=rule,
            )
        )
    parts.append(f"<p class='note'>Disclosure control: {_esc(rule.describe())}</p>")
    return "".join(parts)


def _calibration(run: RunFiles) -> str:
    diagnostics = run.diagnostics
    if not diagnostics:
        return "<p>This run did not calibrate the models (run_until=data).</p>"
    checks = (
        run.config.get("calibration", {}).get("hazards", {}).get("checks", {}) if run.config else {}
    )
    max_rhat = float(checks.get("max_rhat", 1.01))
    min_ess = float(checks.get("min_ess_bulk", 400))
    max_div = int(checks.get("max_divergences", 0))
    rhat = float(diagnostics.get("max_rhat", np.nan))
    ess = float(diagnostics.get("min_ess_bulk", np.nan))
    div = int(diagnostics.get("divergences", 0))
    ok = rhat <= max_rhat and ess >= min_ess and div <= max_div
    rows = [
        ("Largest R-hat (chains agree when close to 1)", f"{rhat:.3f}", f"at most {max_rhat:g}"),
        ("Smallest bulk effective sample size", f"{ess:,.0f}", f"at least {min_ess:,.0f}"),
        ("Divergent transitions", f"{div}", f"at most {max_div}"),
        ("Chains x draws", f"{diagnostics.get('chains', '')} x {diagnostics.get('draws', '')}", ""),
        (
            "Hazards sampled / without any event (prior only)",
            f"{diagnostics.get('pairs_sampled', '')} / "
            f"{diagnostics.get('pairs_without_events', '')}",
            "",
        ),
        ("Posterior reused from the cache", "yes" if diagnostics.get("from_cache") else "no", ""),
    ]
    table = html_table(
        pd.DataFrame(rows, columns=["Diagnostic", "Value", "Required"]),
        caption="Sampler diagnostics of the transition hazards (PyMC)",
    )
    verdict = (
        "<p class='verdict-ok'>The sampler passed every check: the hazards' posterior can be "
        "used.</p>"
        if ok
        else "<p class='verdict-bad'>The sampler failed a check: treat the projection with "
        "caution and see docs/validation.md.</p>"
    )
    parts = [verdict, table]
    forecast = run.arrival_forecast
    if forecast is not None and not forecast.empty:
        f = forecast.copy()
        start = f["month"].dt.year - (f["month"].dt.month < 4).astype(int)
        f["year"] = start.astype(str) + "/" + ((start + 1) % 100).astype(str).str.zfill(2)
        whole = f.groupby("year")["month"].nunique()
        f = f[f["year"].isin(whole[whole == 12].index)]
        wide = f.pivot_table(index="kind", columns="year", values="mean", aggfunc="sum")
        # In the forecast UASC entries are apart from the other entries, not a subset.
        labels = (
            {**_ARRIVAL_LABELS, **_FORECAST_UASC_LABELS}
            if "care_entry_uasc" in wide.index
            else _ARRIVAL_LABELS
        )
        wide.index = [labels.get(k, k) for k in wide.index]
        parts.append(
            html_table(
                wide.reset_index(names="Arrival"),
                caption="Forecast arrivals from outside services per financial year (mean of the "
                "fitted trend, seasonality and lockdown effects)",
                model=True,
            )
        )
    parts.append(
        "<p class='note'>The fitted arrival components (calibration/arrival_components.png) "
        "plot recorded monthly counts, some of them small; they are a working chart for "
        "analysts and are not published here.</p>"
    )
    return "".join(parts)


def _method(run: RunFiles) -> str:
    sim = run.config.get("simulation", {}) if run.config else {}
    reps = run.replicates or sim.get("replicates")
    horizon = sim.get("horizon_months")
    return markdown_to_html(
        f"""
1. **Read and check the data.** The council's SSDA903 return (children looked after), the
CIN census and an early-help extract are read and validated; every problem is reported with
its file, row and rule. Child identifiers are replaced by a keyed hash as files are read.
2. **One history.** Each child's time in early help, assessment, child in need, child
protection, care (by placement type) and as a care leaver becomes one tidy event history.
3. **Learn the rates.** How often children move on from each service (by age and time in the
service) is estimated with a Bayesian model that keeps its uncertainty (PyMC). New arrivals
from outside services are forecast month by month from their trends and school-year pattern
(Prophet).
4. **Simulate futures.** {reps or "Many"} possible futures are simulated over {horizon or "the"}
months. Each future draws one set of rates and one arrival path and follows every child
month by month, with places in in-house foster care and children's homes limited to what
exists: a child who needs an in-house place when none is free is placed externally (the
shortfall).
5. **Summarise.** Each future is counted and costed; the reports show the median and the
range in which 50% and 80% of the futures fall. Scenarios share their random numbers, so a
scenario's difference from the baseline is measured within each future.
"""
    )


def _caveats(rule: DisclosureRule, synthetic: bool, replicates: int | None) -> str:
    items = [
        "**Projections are model output, not counts of real children.** They are averages and "
        "ranges over simulated children, so they are shown without disclosure control; "
        f"recorded counts follow the rule: {rule.describe()}",
        "The ranges show uncertainty about rates and arrivals as the model sees it; they do not "
        "cover changes in policy, law or practice that the scenarios do not describe.",
        "The model carries forward the patterns of the observation window; a change in recording "
        "practice within the window shows up as a trend.",
        "Costs are in cash terms with the inflation assumptions listed in the finance section; "
        "unit costs without a published source are marked as assumptions.",
        "docs/validation.md lists the checks of the model against published figures and known "
        "truth, and its known limitations.",
    ]
    if replicates is not None and replicates < 100:
        items.insert(
            1,
            f"**Only {replicates} futures were simulated.** The medians and ranges are rough; use "
            "the default 200 (simulation.replicates) for published figures.",
        )
    if synthetic:
        items.insert(
            0,
            "**Synthetic data.** The built-in example council is invented; nothing here "
            "describes a real child or a real council's position.",
        )
    return markdown_to_html("\n".join(f"- {item}" for item in items))


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


def _projected_states(q: pd.DataFrame) -> str:
    march = q[
        (q["measure"] == "children")
        & (q["age_band"] == "all")
        & (q["category"].isin(vocab.STATES))
        & (pd.to_datetime(q["month"]).dt.month == 3)
    ].copy()
    if march.empty:
        return ""
    march["date"] = pd.to_datetime(march["month"]).dt.strftime("%d %b %Y")
    march["cell"] = [
        _spread(a, b, c) for a, b, c in zip(march["p50"], march["p10"], march["p90"], strict=True)
    ]
    wide = march.pivot(index="category", columns="date", values="cell")
    wide = wide.reindex([s for s in vocab.STATES if s in wide.index])
    wide = wide[sorted(wide.columns, key=lambda d: pd.to_datetime(d))]
    wide.index = [STATE_LABELS.get(s, s) for s in wide.index]
    return html_table(
        wide.reset_index(names="State"),
        caption="Projected children by service at 31 March: median (80% interval)",
        model=True,
    )


def _sufficiency_tables(run: RunFiles) -> str:
    """In-house places against demand, external placements and out of area at 31 March."""
    rows: dict[pd.Timestamp, dict[str, str]] = {}
    dc = run.demand_capacity
    if dc is not None and not dc.empty:
        march = dc[pd.to_datetime(dc["month"]).dt.month == 3]
        for group in (vocab.INHOUSE_FOSTER, vocab.INHOUSE_RESIDENTIAL):
            name = _GROUP_LABELS[group]
            for _, r in march[march["placement_group"] == group].iterrows():
                row = rows.setdefault(pd.Timestamp(r["month"]), {})
                row[f"{name}: placed / places"] = (
                    f"{_count(r['children_p50'])} / {_count(r['capacity_p50'])}"
                )
                row[f"{name}: shortfall"] = _spread(
                    r["shortfall_p50"], r["shortfall_p10"], r["shortfall_p90"]
                )
    km = run.key_measures
    if km is not None and not km.empty:
        march = km[km["month"].dt.month == 3]
        for measure, label in (
            ("external_placements", "External placements"),
            ("out_of_area", "Placed out of area"),
        ):
            for month, group in march[march["measure"] == measure].groupby("month"):
                rows.setdefault(pd.Timestamp(month), {})[label] = _spread(
                    *_quantiles(group["value"])
                )
    if not rows:
        return ""
    table = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    table.index = [f"{d:%d %b %Y}" for d in table.index]
    return (
        "<p>Medians at 31 March, with the 80% interval in brackets. Placed / places: children "
        "placed in-house and places available; shortfall: children placed externally for want "
        "of an in-house place.</p>"
        + html_table(
            table.reset_index(names="Date"),
            caption="Sufficiency at 31 March",
            model=True,
        )
    )


def _finance(run: RunFiles) -> str:
    costs = run.costs
    if costs is None or costs.empty:
        return "<p>This run was not costed.</p>"
    yearly = costs[~costs["financial_year"].astype(str).str.contains(" to ")]
    years = list(dict.fromkeys(yearly["financial_year"].astype(str)))
    lines = yearly[yearly["kind"] != "total"].copy()
    lines["Budget line"] = (
        lines["kind"].str.capitalize()
        + ": "
        + lines["line"].map(
            lambda x: _GROUP_LABELS.get(x, STATE_LABELS.get(x, str(x).replace("_", " ")))
        )
    )
    wide = lines.pivot_table(
        index="Budget line", columns="financial_year", values="mean", sort=False
    )
    wide = wide[[y for y in years if y in wide.columns]]
    wide = wide[(wide.abs() > 0).any(axis=1)]
    formats = {y: _gbp for y in wide.columns}
    parts = [
        html_table(
            wide.reset_index(),
            caption="Mean cost by budget line and financial year (cash terms; lines with no "
            "cost left out)",
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
    meta = [
        f"Scenario: {run.scenario}",
        f"Mode: {run.details.get('mode', 'unknown')}",
        f"Seed: {run.details.get('seed', '')}",
        f"care_demand {run.details.get('package_version', '')}",
    ]
    if run.replicates:
        meta.append(f"{run.replicates} simulated futures over {sim.get('horizon_months')} months")
    if run.details.get("data_fingerprint"):
        meta.append(f"Data fingerprint {str(run.details['data_fingerprint'])[:12]}")
    return meta


def run_report_html(run: RunFiles | str | Path, charts_dir: str | Path | None = None) -> str:
    """The HTML report of one run folder (charts from ``charts_dir`` or drawn now)."""
    run = run if isinstance(run, RunFiles) else read_run(run)
    charts = run_charts(run)
    folder = Path(charts_dir) if charts_dir is not None else run.path / "charts"
    q = run.quantiles
    sections = [
        ("headline", "Headline figures", _headline(run)),
        ("scenario", "Scenario and assumptions", _scenario(run)),
    ]
    if q is not None and not q.empty:
        sections += [
            (
                "demand",
                "Children in care and the wider continuum",
                _charts_html(charts, ["children_in_care_fan", "continuum", "flows"], folder)
                + _projected_states(q),
            ),
            (
                "sufficiency",
                "Placements and sufficiency gaps",
                _charts_html(charts, ["placement_mix", "demand_capacity", "out_of_area"], folder)
                + _sufficiency_tables(run),
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
        ("method", "Method in plain English", _method(run)),
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
            + _comparison_sufficiency(sweep),
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
            ("method", "Method in plain English", _method(reference)),
        ]
    rule = reference.rule if reference is not None else DisclosureRule()
    replicates = reference.replicates if reference is not None else None
    sections.append(
        ("caveats", "Caveats and disclosure control", _caveats(rule, sweep.synthetic, replicates))
    )
    meta = [f"Scenarios: {', '.join(sweep.runs) or 'none'}"]
    if reference is not None:
        meta += _meta(reference)[1:]
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
