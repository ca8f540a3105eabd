"""Charts and the self-contained HTML report of a run and of a multirun."""

from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from care_demand.config import AppConfig, load_config
from care_demand.outputs.charts import (
    continuum_chart,
    placement_mix_chart,
    write_comparison_charts,
)
from care_demand.outputs.comparison import compare_runs, write_comparison
from care_demand.outputs.disclosure import DisclosureRule
from care_demand.outputs.report import markdown_to_html, write_comparison_report, write_run_report
from care_demand.pipeline import run

RUN_CHARTS = {
    "children_in_care_fan",
    "continuum",
    "flows",
    "placement_mix",
    "sufficiency_inhouse_foster",
    "sufficiency_inhouse_residential",
    "demand_capacity",
    "out_of_area",
    "costs_by_line",
}
COMPARISON_CHARTS = {
    "fan_by_scenario",
    "fan_overlaid",
    "scenario_comparison",
    "demand_capacity_by_scenario",
    "savings_by_year",
    "cumulative_savings",
    "cost_bridge_transformation",  # one per scenario compared with the baseline
}
RUN_SECTIONS = (
    "headline",
    "scenario",
    "demand",
    "sufficiency",
    "finance",
    "data",
    "calibration",
    "method",
    "caveats",
)
COMPARISON_SECTIONS = (
    "headline",
    "mechanism",
    "scenarios",
    "comparison",
    "sufficiency",
    "finance",
    "data",
    "calibration",
    "method",
    "caveats",
)


@pytest.fixture(scope="module")
def sweep(
    tmp_path_factory: pytest.TempPathFactory, report_run: Path, report_config: AppConfig
) -> Path:
    """A multirun folder: the baseline and the transformation, compared, with its report."""
    folder = tmp_path_factory.mktemp("sweep")
    shutil.copytree(report_run, folder / "0_baseline")
    sim = report_config.simulation
    config = load_config(
        [
            f"calibration.cache_dir={report_config.calibration.cache_dir}",
            f"simulation.replicates={sim.replicates}",
            f"simulation.horizon_months={sim.horizon_months}",
            f"simulation.n_jobs={sim.n_jobs}",
            f"simulation.chunk_size={sim.chunk_size}",
            "scenario=transformation",
        ]
    )
    run(config, folder / "1_transformation")
    runs = [folder / "0_baseline", folder / "1_transformation"]
    write_comparison(compare_runs(runs, config.costs), folder / "comparison")
    write_comparison_charts(folder, folder / "comparison" / "charts")
    write_comparison_report(
        folder, folder / "comparison" / "report.html", folder / "comparison" / "charts"
    )
    return folder


# ---------------------------------------------------------------------------------------
# Self-contained HTML


class _Page(HTMLParser):
    """Every URL-bearing attribute, the ids of sections and the attributes of <body>."""

    URL_ATTRIBUTES = frozenset({"src", "href", "srcset", "action", "poster", "data", "xlink:href"})

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []
        self.images: list[str] = []
        self.ids: set[str] = set()
        self.body: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        for key, value in values.items():
            if key in self.URL_ATTRIBUTES:
                self.urls.append((tag, value))
        if tag == "img":
            self.images.append(values.get("src", ""))
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "body":
            self.body = values


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def assert_self_contained(path: Path) -> _Page:
    text = path.read_text(encoding="utf-8")
    page = _parse(text)
    external = re.compile(r"^\s*(https?:|file:|//|ftp:)", re.IGNORECASE)
    assert not [u for _, u in page.urls if external.match(u)], path
    # Only in-page anchors and embedded images: nothing the browser would fetch.
    assert all(u.startswith(("#", "data:image/png;base64,")) for _, u in page.urls), path
    assert not re.search(r"<link\b|<script[^>]*\bsrc=|@import|url\(", text, re.IGNORECASE)
    assert page.images, path
    for src in page.images:
        png = base64.b64decode(src.removeprefix("data:image/png;base64,"), validate=True)
        with Image.open(io.BytesIO(png)) as image:
            image.verify()
        with Image.open(io.BytesIO(png)) as image:
            assert image.format == "PNG" and image.width > 200 and image.height > 100
    return page


def test_run_report_is_self_contained_with_every_chart(report_run: Path) -> None:
    page = assert_self_contained(report_run / "report.html")
    pngs = {p.stem for p in (report_run / "charts").glob("*.png")}
    svgs = {p.stem for p in (report_run / "charts").glob("*.svg")}
    assert pngs == svgs == RUN_CHARTS
    assert len(page.images) == len(RUN_CHARTS)
    # The embedded images are the chart files written beside the report.
    embedded = {base64.b64decode(s.split(",", 1)[1]) for s in page.images}
    assert embedded == {(report_run / "charts" / f"{n}.png").read_bytes() for n in RUN_CHARTS}


def test_run_report_has_every_section(report_run: Path) -> None:
    text = (report_run / "report.html").read_text(encoding="utf-8")
    page = _parse(text)
    assert set(RUN_SECTIONS) <= page.ids
    for phrase in (
        "Synthetic data",
        "Baseline: today&#x27;s capacity and trends",
        "model output",
        "not counts of real children",
        "shown as [c]",
        "The sampler passed every check",
        "Validation: every file passed every check",
        "In-house foster care",
        "Placed out of area",
        "Cost assumptions and scenario levers",
        "Mode: whole continuum",
        # the method names the files read and the services modelled
        "the CIN census and an early-help extract are read and validated",
        "time in early help, assessment, child in need, child protection, care (by placement",
        "New arrivals from outside services are forecast",
    ):
        assert phrase in text, phrase
    assert re.search(r"Care rates pooled over placement types[^<]*</th>\s*<td[^>]*>yes</td>", text)


def test_comparison_report_is_self_contained_with_every_section(sweep: Path) -> None:
    path = sweep / "comparison" / "report.html"
    page = assert_self_contained(path)
    text = path.read_text(encoding="utf-8")
    assert set(COMPARISON_SECTIONS) <= page.ids
    charts = sweep / "comparison" / "charts"
    assert {p.stem for p in charts.glob("*.png")} == COMPARISON_CHARTS
    assert {p.stem for p in charts.glob("*.svg")} == COMPARISON_CHARTS
    assert len(page.images) == len(COMPARISON_CHARTS)
    for phrase in (
        "Transformation programme (all three together)",
        "Baseline: today&#x27;s capacity and trends",
        "vs baseline",
        "Savings against the baseline and the target",
        "Net present value",
        "How each scenario works",
        "cost bridge from the baseline by budget line",
        "block-contract homes",  # each scenario's capacity
        "Synthetic data",
    ):
        assert phrase in text, phrase


def test_the_comparison_report_names_a_failed_scenario(sweep: Path, tmp_path: Path) -> None:
    folder = tmp_path / "sweep"
    shutil.copytree(sweep, folder)
    (folder / "comparison" / "failed_scenarios.json").write_text(
        '{"broken": "capacity.homes.existing.beds: -4 is negative"}'
    )
    out = write_comparison_report(folder, tmp_path / "report.html", folder / "comparison/charts")
    page = assert_self_contained(out)
    text = out.read_text(encoding="utf-8")
    assert "failed" in page.ids
    assert "<strong>broken</strong>: capacity.homes.existing.beds: -4 is negative" in text


def test_a_report_builds_from_a_run_folder_without_its_charts(
    report_run: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "copy"
    shutil.copytree(report_run, folder, ignore=shutil.ignore_patterns("charts", "report.html"))
    out = write_run_report(folder, tmp_path / "report.html")
    page = assert_self_contained(out)
    assert len(page.images) == len(RUN_CHARTS)


def test_a_data_only_run_writes_a_report_of_its_data(tmp_path: Path) -> None:
    run(load_config(["run_until=data"]), tmp_path / "data")
    text = (tmp_path / "data" / "report.html").read_text(encoding="utf-8")
    page = _parse(text)
    assert {"headline", "data", "calibration", "caveats"} <= page.ids
    assert "demand" not in page.ids and not page.images
    assert "Children by state at 31 March" in text
    assert "did not calibrate" in text


def test_markdown_from_files_is_escaped() -> None:
    html = markdown_to_html("# T <b>\n\nA <script>alert(1)</script> **bold** `code`\n\n- a\n  - b")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<h1>T &lt;b&gt;</h1>" in html
    assert "<strong>bold</strong>" in html and "<code>code</code>" in html
    assert html.count("<ul>") == 2


# ---------------------------------------------------------------------------------------
# In a browser


def _browser() -> str | None:
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium")


def _render(page: Path, profile: Path) -> dict[str, str]:
    """Open ``page`` in headless Chromium; return the attributes of the rendered <body>."""
    browser = _browser()
    assert browser is not None
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
        "--dump-dom",
        page.resolve().as_uri(),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return _parse(done.stdout).body


needs_browser = pytest.mark.skipif(
    _browser() is None,
    reason="headless Chromium is not installed (/usr/bin/chromium or chromium on PATH); "
    ".ci/run installs Debian's chromium package",
)


@needs_browser
@pytest.mark.parametrize("which", ["run", "comparison"])
def test_reports_load_every_chart_without_error_in_a_browser(
    which: str, report_run: Path, sweep: Path, tmp_path: Path
) -> None:
    path = report_run / "report.html" if which == "run" else sweep / "comparison" / "report.html"
    expected = len(_parse(path.read_text(encoding="utf-8")).images)
    body = _render(path, tmp_path / "profile")
    assert body.get("data-checked") == "true", body
    assert body["data-images"] == str(expected) and expected > 0
    assert body["data-images-ok"] == "true", body
    assert body["data-errors"] == "0", body.get("data-error-messages")


@needs_browser
def test_the_browser_check_reports_a_broken_image(report_run: Path, tmp_path: Path) -> None:
    text = (report_run / "report.html").read_text(encoding="utf-8")
    broken = re.sub(
        r"data:image/png;base64,[A-Za-z0-9+/=]+",
        "data:image/png;base64,bm90IGEgcG5n",  # "not a png"
        text,
        count=1,
    )
    path = tmp_path / "broken.html"
    path.write_text(broken, encoding="utf-8")
    body = _render(path, tmp_path / "profile")
    assert body.get("data-checked") == "true"
    assert body["data-images-ok"] == "false"
    assert body["data-images-broken"] == "1"
    assert int(body["data-errors"]) >= 1


# ---------------------------------------------------------------------------------------
# Charts


def _recorded_monthly() -> pd.DataFrame:
    months = pd.date_range("2021-04-30", periods=12, freq="ME")
    rows = [
        {"month": m, "category": state, "children": str(100 + i)}
        for i, m in enumerate(months)
        for state in ("early_help", "cin", "cp", "care")
    ]
    frame = pd.DataFrame(rows)
    frame.loc[(frame["category"] == "cp") & (frame["month"] == months[3]), "children"] = "4"
    frame.loc[(frame["category"] == "cin") & (frame["month"] == months[5]), "children"] = "[c]"
    return frame


def _projection() -> pd.DataFrame:
    months = pd.date_range("2022-04-30", periods=24, freq="ME")
    rows = []
    for category in ("early_help", "cin", "cp", "care", "inhouse_foster", "secure_other"):
        for m in months:
            row = {"month": m, "measure": "children", "category": category, "age_band": "all"}
            row.update({f"p{q}": 50.0 + q / 10 for q in (5, 10, 25, 50, 75, 90, 95)})
            row.update({"mean": 50.0, "replicates": 8})
            rows.append(row)
    return pd.DataFrame(rows)


def test_recorded_points_of_one_to_five_are_not_drawn() -> None:
    fig = continuum_chart(_recorded_monthly(), _projection(), population=50_000)
    assert isinstance(fig, Figure)
    titles = {ax.get_title(loc="left"): ax for ax in fig.axes}
    cp = titles["Child protection plans"].lines[0].get_ydata()
    cin = titles["Children in need"].lines[0].get_ydata()
    assert np.isnan(cp[3]) and np.isfinite(np.delete(cp, 3)).all()  # the 4 is left out
    assert np.isnan(cin[5]) and np.isfinite(np.delete(cin, 5)).all()  # hidden ([c])
    # Rates per 10,000 children on a right-hand axis when the population is known.
    labels = [
        child.get_ylabel()
        for ax in fig.axes
        for child in ax.child_axes
        if hasattr(child, "get_ylabel")
    ]
    assert "Per 10,000 children aged 0-17" in labels


def test_services_the_files_do_not_hold_are_not_drawn() -> None:
    """Children in care alone (SSDA903 only): one panel, not three empty ones beside it; a
    CIN census without early help: children in need and plans beside care."""
    from care_demand.outputs.charts.run import flows_chart, held_states, returns_read

    recorded = _recorded_monthly()
    care_only = recorded[recorded["category"] == "care"]
    assert held_states(care_only) == ("care",) and returns_read(("care",)) == "SSDA903"
    fig = continuum_chart(care_only, _projection())
    shown = [
        ax.get_title(loc="left") for ax in fig.axes if ax.get_visible() and ax.get_title(loc="left")
    ]
    assert shown == ["Children in care"]
    no_early_help = recorded[recorded["category"] != "early_help"]
    assert returns_read(held_states(no_early_help)) == "SSDA903, CIN census"
    fig = continuum_chart(no_early_help, _projection())
    shown = [
        ax.get_title(loc="left") for ax in fig.axes if ax.get_visible() and ax.get_title(loc="left")
    ]
    assert shown == ["Children in need", "Child protection plans", "Children in care"]
    assert len(held_states(recorded)) == 4 and len(held_states(None)) == 4
    flows = pd.DataFrame(
        [
            {"month": m, "measure": "flow", "category": c, "age_band": "all", "mean": 3.0}
            for m in pd.date_range("2022-04-30", periods=12, freq="ME")
            for c in ("step_up", "step_down", "entry_to_care", "exit:home")
        ]
    )

    def panels(fig: Figure) -> list[str]:
        return [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]

    assert panels(flows_chart(flows, services=False)) == ["Into and out of care"]
    assert len(panels(flows_chart(flows))) == 2


def test_placement_mix_counts_a_hidden_group_in_other_placements() -> None:
    dates = [pd.Timestamp("2021-03-31"), pd.Timestamp("2022-03-31")]
    groups = {
        "kinship_foster": 60,
        "inhouse_foster": 130,
        "ifa": 90,
        "inhouse_residential": 9,
        "external_residential": 50,
        "supported_16plus": 20,
        "placed_with_parents": 20,
        "placed_for_adoption": 15,
        "secure_other": 7,
    }
    total = sum(groups.values())
    rows = [
        {"date": d, "state": "care", "placement_group": g, "children": str(n)}
        for d in dates
        for g, n in {**groups, "all": total}.items()
    ]
    stocks = pd.DataFrame(rows)
    first = stocks["date"] == dates[0]
    for group in ("secure_other", "inhouse_residential"):  # a small group and its pair
        stocks.loc[first & (stocks["placement_group"] == group), "children"] = "[c]"
    fig = placement_mix_chart(stocks, _projection(), rule=DisclosureRule())
    ax = fig.axes[0]
    homes, other = ax.containers[3], ax.containers[6]  # recorded in-house homes and other
    assert [bar.get_height() for bar in homes] == [0.0, 9.0]
    assert [bar.get_height() for bar in other] == [20 + 15 + 7 + 9, 20 + 15 + 7]
    recorded = ax.containers[:7]
    assert [sum(c[i].get_height() for c in recorded) for i in range(2)] == [total, total]
    assert "[c]" in fig.get_supxlabel()


def test_comparison_charts_drawn_in_parts_equal_those_drawn_at_once(
    sweep: Path, tmp_path: Path
) -> None:
    # A multirun draws its comparison's charts in the idle worker pool, a few per task;
    # drawn here in parts, in another order, every file is the one drawn at once.
    for part in (2, 0, 1):
        write_comparison_charts(sweep, tmp_path, part=part, parts=3)
    drawn = sorted(p.name for p in (sweep / "comparison" / "charts").iterdir())
    assert drawn and drawn == sorted(p.name for p in tmp_path.iterdir())
    for name in drawn:
        kept = (sweep / "comparison" / "charts" / name).read_bytes()
        assert (tmp_path / name).read_bytes() == kept, name
