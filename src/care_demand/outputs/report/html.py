"""The report's HTML toolkit: formatting, escaping, tables, figures and the page shell.

Every value is escaped before it is written. :func:`html_table` passes recorded counts
through disclosure control (:mod:`care_demand.outputs.disclosure`) and marks tables of
projections as model output; charts are embedded as base64 PNG ``data:`` URIs. The page
loads nothing from anywhere (its content security policy forbids it), needs no network and
no JavaScript framework, and prints cleanly.

A small inline script checks, once the page has loaded, that every image decoded and that
no script error occurred, and records the result on ``<body>`` (``data-images-ok``,
``data-errors``) for a headless browser to read. Names starting with an underscore are
shared within :mod:`care_demand.outputs.report` only.
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

from care_demand.outputs.charts.catalogue import Chart
from care_demand.outputs.disclosure import DisclosureRule, Total, suppress_counts

__all__ = [
    "html_table",
    "markdown_to_html",
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
p, li { max-width: 52rem; overflow-wrap: anywhere; }
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
caption .kind { font-weight: 400; color: var(--muted); }
tbody th { background: none; font-weight: 600; }
.summary { font-size: 1.05rem; background: var(--band); padding: .8rem 1.2rem;
  border-left: 5px solid var(--accent); }
@media (max-width: 40rem) {
  body { padding: 1rem .8rem 3rem; }
  nav ol { columns: 1; }
  h1 { font-size: 1.45rem; }
}
code { background: #f2f2f2; padding: 0 .2rem; border-radius: 3px; }
.verdict-ok { color: #00734d; font-weight: 600; }
.verdict-bad { color: #b34700; font-weight: 600; }
footer { margin-top: 3rem; font-size: .85rem; color: var(--muted);
  border-top: 1px solid var(--rule); }
@page { size: A4; margin: 14mm 14mm 18mm;
  @bottom-right { content: "Page " counter(page) " of " counter(pages); font-size: 9pt;
    color: #555; } }
@media print {
  html { font-size: 9.5pt; }
  body { max-width: none; padding: 0; line-height: 1.4; }
  nav { display: none; }
  h1 { font-size: 16pt; }
  h2 { font-size: 13pt; margin-top: 1.2rem; }
  h3 { font-size: 11pt; margin-top: 1rem; }
  h2, h3, caption { break-after: avoid; }
  figure, tr, .banner, .summary { break-inside: avoid; }
  p, li { max-width: none; }
  figure { margin: .6rem 0 1rem; }
  /* Two charts to a page: a chart is at most a little under half an A4 page high. */
  figure img { max-height: 100mm; width: auto; }
  .table-wrap { overflow: visible; margin: .4rem 0 .8rem; }
  table { font-size: 7.5pt; width: 100%; }
  th, td { padding: .12rem .3rem; }
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
    var root = document.documentElement;
    body.setAttribute("data-page-width", String(root.scrollWidth));
    body.setAttribute("data-view-width", String(root.clientWidth));
    body.setAttribute("data-checked", "true");
  });
})();
"""


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


# What a table's caption says it holds (also its CSS class).
_KIND_LABELS = {
    "recorded": "(recorded counts: disclosure control applied)",
    "model": "(model output)",
}


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
        label = _KIND_LABELS.get(kind, "")
        note = f" <span class='kind'>{_esc(label)}</span>" if label else ""
        parts.append(f"<caption>{_esc(caption)}{note}</caption>")
    numeric = {
        c
        for c in data.columns
        if c in recorded or c in formats or pd.api.types.is_numeric_dtype(data[c])
    }
    parts.append("<thead><tr>")
    parts += [
        f"<th scope='col' class='num'>{_esc(c)}</th>"
        if c in numeric
        else f"<th scope='col'>{_esc(c)}</th>"
        for c in data.columns
    ]
    # The first column labels its row (a date, a measure, a budget line) unless it is a number.
    row_header = len(data.columns) > 1 and data.columns[0] not in numeric
    parts.append("</tr></thead><tbody>")
    for row in data.itertuples(index=False, name=None):
        cells = []
        for position, (column, value) in enumerate(zip(data.columns, row, strict=True)):
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
            if position == 0 and row_header:
                cells.append(f"<th scope='row'>{_esc(text)}</th>")
            else:
                cells.append(f"<td{cls}>{_esc(text)}</td>")
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table></div>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------
# Figures and the page shell


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
