"""The browser app (``care-demand-app``) in a real browser: Debian's chromium via Playwright.

One app server is started for the module on a free localhost port, with small runs (4
futures over the quick look's 24 months) and the session's calibration cache; the tests
follow a user's journey through its pages in order:
the example's data, a quick look at one scenario against the baseline, the downloads and a
past run. Screenshots of each page are taken on the way (into ``docs/images/`` when
``CARE_DEMAND_APP_SCREENSHOTS=1``, else into a temporary folder).
"""

from __future__ import annotations

import asyncio
import io
import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import openpyxl
import pandas as pd
import pytest
from PIL import Image

from care_demand.app.main import COOKIE, TokenGate
from care_demand.app.results import HEADLINE_MEASURES, format_interval
from care_demand.app.settings import TOKEN_ENV
from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.workbook import SHEETS

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[1]
SCENARIO = "more_foster_carers"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), env.get("PYTHONPATH", "")])
    return env


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's outputs folder."""
    return tmp_path_factory.mktemp("app-outputs")


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the page screenshots go."""
    if os.environ.get("CARE_DEMAND_APP_SCREENSHOTS") == "1":
        return ROOT / "docs" / "images"
    return tmp_path_factory.mktemp("app-screenshots")


@pytest.fixture(scope="module")
def app_url(outputs: Path, calibration_cache: Path) -> Iterator[str]:
    """The app, served by ``python -m care_demand.app`` with small runs."""
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "care_demand.app",
        "--port",
        str(port),
        "--outputs",
        str(outputs),
        "--cache-dir",
        str(calibration_cache),
        "--set",
        "simulation.replicates=4",
        "--set",
        "simulation.n_jobs=1",
    ]
    log = outputs.parent / "app-server.log"
    with log.open("w") as sink:
        server = subprocess.Popen(command, env=_environment(), stdout=sink, stderr=sink)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"the app did not start:\n{log.read_text()}")
                time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)


class Browser:
    """Chromium driven from a thread of its own (Playwright's sync API keeps an event loop
    and greenlets in the thread that starts it); ``browser(fn)`` runs ``fn(page)`` there."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.requested: list[str] = []
        self._calls: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._thread.start()

    def _main(self) -> None:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            page.on("request", lambda request: self.requested.append(request.url))
            page.set_default_timeout(60_000)
            page.goto(self.url)
            while (item := self._calls.get()) is not None:
                fn, future = item
                try:
                    future.set_result(fn(page))
                except BaseException as exc:
                    future.set_exception(exc)
            browser.close()

    def __call__(self, fn: Callable[[Any], Any]) -> Any:
        future: Future = Future()
        self._calls.put((fn, future))
        return future.result()

    def close(self) -> None:
        self._calls.put(None)
        self._thread.join(timeout=60)


@pytest.fixture(scope="module")
def browser(app_url: str) -> Iterator[Browser]:
    """One browser tab for the journey through the pages."""
    if not CHROMIUM.is_file():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM}")
    driver = Browser(app_url)
    yield driver
    driver.close()


def _shot(page: object, path: Path) -> None:
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    with Image.open(path) as image:
        colours = image.convert("L").getextrema()
    assert colours[0] < colours[1], f"{path.name} is blank"


def _sweep(outputs: Path) -> Path:
    sweeps = sorted((outputs / "app").iterdir())
    assert sweeps, "the run wrote no folder under outputs/app"
    return sweeps[-1]


@pytest.mark.slow
def test_data_page_shows_validation_and_history(browser: Browser, shots: Path) -> None:
    browser(lambda page: _data_page(page, shots))


def _data_page(page: Any, shots: Path) -> None:
    history = page.locator("#history_mix img")
    history.wait_for(state="visible", timeout=90_000)
    page.locator("#history_continuum img").wait_for(state="visible")
    summary = page.locator("#validation_summary").inner_text()
    assert summary.startswith("The built-in example:")
    assert "no errors" in summary
    # The problems table never shows a value column (values can be child ids).
    header = page.locator("#problems").inner_text()
    assert "What is wrong" in header and "Value" not in header
    assert history.bounding_box()["height"] > 200
    _shot(page, shots / "app_data.png")


def test_data_explorer_filters_the_history(browser: Browser) -> None:
    browser(_explorer)


def _explorer(page: Any) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

    flows = page.locator("#explore_flows_table")
    flows.wait_for(timeout=60_000)
    everyone = flows.locator("tbody tr").first.locator("td").first.inner_text()
    # Only independent fostering agencies, aged 10 to 15: fewer entries, the title says so.
    boxes = page.locator("#explore_groups input[type=checkbox]")
    for i in range(boxes.count()):
        if boxes.nth(i).get_attribute("value") != "ifa":
            boxes.nth(i).uncheck()
    page.locator("#explore_age").select_option(label="Aged 10 to 15")
    page.wait_for_function(
        "(before) => { const c = document.querySelector('#explore_flows_table tbody td');"
        " return c && c.innerText !== before; }",
        arg=everyone,
    )
    chosen = flows.locator("tbody tr").first.locator("td").first.inner_text()
    assert chosen == "[c]" or int(chosen) < int(everyone)
    reading = page.locator("#explore_reading")
    # The chart is drawn again after each filter; a pointer over the image it replaces reads
    # nothing, so move it again over the chart as drawn, as a person would.
    for _ in range(10):
        chart = page.locator("#explore_chart img")
        chart.scroll_into_view_if_needed()
        box = chart.bounding_box()
        chart.hover(position={"x": box["width"] * 0.5, "y": box["height"] * 0.5})
        chart.hover(position={"x": box["width"] * 0.6, "y": box["height"] * 0.5})
        try:
            reading.wait_for(timeout=6_000)
            break
        except PlaywrightTimeoutError:
            continue
    assert "children in care" in reading.inner_text()


@pytest.mark.slow
def test_quick_look_shows_the_comparison(browser: Browser, outputs: Path, shots: Path) -> None:
    browser(lambda page: _quick_look(page, outputs, shots))


def _quick_look(page: Any, outputs: Path, shots: Path) -> None:
    page.get_by_role("tab", name="Run", exact=True).click()
    page.get_by_label("More in-house foster carers").check()
    page.get_by_label("Quick look", exact=False).check()
    page.get_by_role("button", name="Run", exact=True).click()
    page.locator(f"#progress [data-scenario='{SCENARIO}']").wait_for()
    assert page.locator("#progress progress").count() == 2  # the baseline and the scenario
    _shot(page, shots / "app_run.png")

    table = page.locator("table.headline")
    table.wait_for(timeout=400_000)  # the first run may sample the hazards' posterior
    headline = pd.read_csv(_sweep(outputs) / LAYOUT.comparison.dir / LAYOUT.comparison.headline)
    diffs = headline[headline["scenario"] == SCENARIO]
    assert set(diffs["measure"]) >= {"children_in_care", "external_placements", "cost"}
    for _, row in diffs.iterrows():
        if row["measure"] not in HEADLINE_MEASURES:
            continue  # in the files, not among the page's headline figures
        cell = table.locator(
            f"td[data-scenario='{SCENARIO}'][data-measure='{row['measure']}']"
            "[data-kind='difference']"
        )
        expected = format_interval(
            row["diff_p50"], row["diff_p10"], row["diff_p90"], row["measure"], signed=True
        )
        assert cell.inner_text() == expected, row["measure"]
    base = headline[(headline["scenario"] == "baseline") & (headline["measure"] == "cost")].iloc[0]
    cost = table.locator("td[data-scenario='baseline'][data-measure='cost'][data-kind='value']")
    assert cost.inner_text() == format_interval(base["p50"], base["p10"], base["p90"], "cost")
    page.locator("#fan_chart img").wait_for(state="visible")
    _shot(page, shots / "app_results.png")
    # A quick look draws no charts per scenario (the comparison's are drawn) and says so.
    baseline = _sweep(outputs) / "baseline"
    assert not (baseline / LAYOUT.charts_dir).exists()
    assert "drew no charts" in (baseline / LAYOUT.report).read_text(encoding="utf-8")
    assert (_sweep(outputs) / LAYOUT.comparison.dir / LAYOUT.comparison.charts_dir).is_dir()


@pytest.mark.slow
def test_calibration_page_gives_a_verdict(browser: Browser, shots: Path) -> None:
    browser(lambda page: _calibration(page, shots))


def _calibration(page: Any, shots: Path) -> None:
    page.get_by_role("tab", name="Calibration").click()
    # The dates open on the example's record: the default is the whole record.
    assert page.locator("#ref_start input").input_value()
    page.get_by_role("button", name="Fit the rates").click()
    verdict = page.locator("#calibration_verdict")
    verdict.wait_for(timeout=400_000)
    assert verdict.inner_text().startswith("Converged")
    details = page.locator("#calibration_details").inner_text()
    assert "the whole record" in details
    assert "From the cache\tyes" in details  # the quick look fitted the same data
    _shot(page, shots / "app_calibration.png")
    # The earlier years weighted by age: a fit of its own, named in the verdict's details.
    page.locator("#ref_weighting").select_option(
        label="Each year counts half as much every 2 years back"
    )
    page.get_by_role("button", name="Fit the rates").click()
    weighted = page.locator("#calibration_details").filter(has_text="every 2 years back")
    weighted.wait_for(timeout=400_000)
    assert "the whole record, each year weighted half as much every 2 years back" in (
        weighted.inner_text()
    )
    assert page.locator("#calibration_verdict").inner_text().startswith("Converged")
    page.get_by_role("tab", name="Results").click()


@pytest.mark.slow
def test_results_show_costs_and_savings(browser: Browser, outputs: Path) -> None:
    browser(lambda page: _costs(page, outputs))


def _costs(page: Any, outputs: Path) -> None:
    comparison = _sweep(outputs) / LAYOUT.comparison.dir
    by_year = pd.read_csv(comparison / LAYOUT.comparison.by_year)
    total = by_year[(by_year["measure"] == "cost") & (by_year["period"] == "total")]
    base = total[total["scenario"] == "baseline"].iloc[0]
    years = page.locator("#cost_years_table")
    years.wait_for()
    row = years.locator("tr", has=page.locator("th", has_text="All years projected"))
    cells = row.locator("td").all_inner_texts()
    # Scenarios are shown by their titles; the baseline's total is the file's.
    header = years.locator("thead th").all_inner_texts()
    assert "More in-house foster carers" in header
    assert cells[0] == format_interval(base["p50"], base["p10"], base["p90"], "cost")
    savings = page.locator("#savings_table")
    assert savings.locator("th", has_text="More in-house foster carers").count() >= 1
    assert "Chance of meeting it" in savings.locator("thead").inner_text()

    page.locator("#lines_scenario").select_option("baseline")
    lines = page.locator("#cost_lines_table")
    lines.filter(has_text="Baseline").wait_for()
    summary = pd.read_csv(_sweep(outputs) / "baseline" / LAYOUT.cost_summary)
    yearly = summary[
        (summary["kind"] == "total") & ~summary["financial_year"].astype(str).str.contains(" to ")
    ]
    shown = lines.locator("tr", has=page.locator("th", has_text="Total, all lines"))
    expected = [f"£{v / 1e6:,.2f}m" for v in yearly["mean"]]
    assert shown.locator("td").all_inner_texts() == expected

    # Quarterly sufficiency: the run's table, quarter by quarter, as the report shows it.
    sufficiency = pd.read_csv(_sweep(outputs) / "baseline" / LAYOUT.sufficiency)
    foster = sufficiency[sufficiency["inhouse_group"] == "inhouse_foster"]
    foster = foster.sort_values("quarter_end")
    table = page.locator("#sufficiency_inhouse_foster")
    rows = table.locator("tbody tr")
    assert rows.count() == len(foster)
    header = table.locator("thead th").all_inner_texts()
    first = dict(zip(header[1:], rows.first.locator("td").all_inner_texts(), strict=True))
    row = foster.iloc[0]
    for measure in ("children_needing", "places_needed_for_target"):
        label = next(
            h
            for h in header
            if h.startswith(
                {
                    "children_needing": "Children needing",
                    "places_needed_for_target": "In-house places needed",
                }[measure]
            )
        )
        assert first[label] == format_interval(
            row[f"{measure}_median"], row[f"{measure}_p10"], row[f"{measure}_p90"], "children"
        )


@pytest.mark.slow
def test_comparison_charts_keep_every_label_on_the_page(outputs: Path) -> None:
    """Scenario titles are long: legends and labels still fit inside each chart."""
    import matplotlib.pyplot as plt

    from care_demand.outputs.charts import comparison_charts

    charts = comparison_charts(_sweep(outputs))
    assert charts
    for chart in charts:
        fig = chart.draw()
        fig.canvas.draw()
        drawn = fig.get_tightbbox(fig.canvas.get_renderer())
        width, height = fig.get_size_inches()
        assert drawn.x0 >= -0.01 and drawn.x1 <= width + 0.01, (chart.name, drawn)
        assert drawn.y0 >= -0.01 and drawn.y1 <= height + 0.01, (chart.name, drawn)
        plt.close(fig)


@pytest.mark.slow
def test_workbook_download_opens(browser: Browser, outputs: Path, tmp_path: Path) -> None:
    browser(lambda page: _downloads(page, outputs, tmp_path))


def _downloads(page: Any, outputs: Path, tmp_path: Path) -> None:
    with page.expect_download() as download:
        page.locator("#download_workbook").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    book = openpyxl.load_workbook(path, read_only=True)
    published = openpyxl.load_workbook(
        _sweep(outputs) / LAYOUT.comparison.dir / LAYOUT.comparison.workbook, read_only=True
    )
    assert book.sheetnames == published.sheetnames
    assert set(SHEETS) <= set(book.sheetnames)
    # The download is the comparison's workbook, cell for cell, and covers both scenarios.
    for name in book.sheetnames:
        mine = list(book[name].iter_rows(values_only=True))
        assert mine == list(published[name].iter_rows(values_only=True)), name
    cover = " ".join(
        str(v) for row in book[book.sheetnames[0]].iter_rows(values_only=True) for v in row if v
    )
    assert "Baseline" in cover and "foster" in cover.lower()

    with page.expect_download() as download:
        page.locator("#download_csvs").click()
    import zipfile

    names = set(zipfile.ZipFile(io.BytesIO(Path(download.value.path()).read_bytes())).namelist())
    assert f"{LAYOUT.comparison.dir}/{LAYOUT.comparison.headline}" in names
    assert f"baseline/{LAYOUT.quantiles}" in names


@pytest.mark.slow
def test_past_run_opens_in_results(browser: Browser, outputs: Path, shots: Path) -> None:
    browser(lambda page: _past_run(page, outputs, shots))


def _past_run(page: Any, outputs: Path, shots: Path) -> None:
    page.get_by_role("tab", name="Past runs").click()
    baseline = str(_sweep(outputs) / "baseline")
    page.locator("#past").select_option(baseline)
    details = page.locator("#past_details h5")
    details.filter(has_text="(baseline)").wait_for()
    _shot(page, shots / "app_past_runs.png")
    page.get_by_role("button", name="Open in Results").click()
    title = page.locator("#results_title h4")
    title.wait_for()
    title.filter(has_text="(baseline)").wait_for()
    assert page.locator("td[data-scenario='baseline'][data-measure='children_in_care']").count()


@pytest.mark.slow
def test_no_request_leaves_this_computer(browser: Browser, app_url: str) -> None:
    requested = list(browser.requested)
    assert requested, "the journey made no request"
    outside = {u for u in requested if urlsplit(u).netloc != urlsplit(app_url).netloc}
    outside = {u for u in outside if not u.startswith(("data:", "blob:"))}
    assert not outside, f"requests outside localhost: {sorted(outside)}"


def test_other_addresses_need_a_token() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "care_demand.app", "--host", "0.0.0.0"],
        env=_environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and TOKEN_ENV in lines[0] and "0.0.0.0" in lines[0]


def test_token_gate_asks_then_remembers() -> None:
    async def app(scope: dict, receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b"the app"})  # type: ignore[operator]

    gate = TokenGate(app, "s3cret")

    def get(query: str = "", cookie: str = "") -> tuple[int, dict[bytes, bytes], bytes]:
        sent: list[dict] = []

        async def send(message: dict) -> None:
            sent.append(message)

        headers = [(b"cookie", cookie.encode())] if cookie else []
        scope = {"type": "http", "path": "/", "query_string": query.encode(), "headers": headers}
        asyncio.run(gate(scope, None, send))  # type: ignore[arg-type]
        return sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]

    status, _, body = get()
    assert status == 401 and b"access token" in body
    assert get("token=wrong")[0] == 401
    status, headers, _ = get("token=s3cret")
    assert status == 303 and headers[b"location"] == b"/"
    assert headers[b"set-cookie"].startswith(f"{COOKIE}=s3cret".encode())
    assert get(cookie=f"{COOKIE}=s3cret") == (200, {}, b"the app")


def test_screenshots_are_shown_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## For commissioners and finance: the browser app", 1)[1]
    assert "make app" in section.split("\n## ", 1)[0]
    for name in (
        "app_data",
        "app_calibration",
        "app_scenarios",
        "app_run",
        "app_results",
        "app_past_runs",
    ):
        assert f"docs/images/{name}.png" in section
        assert (ROOT / "docs" / "images" / f"{name}.png").is_file()
