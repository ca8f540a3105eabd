"""The browser app's Scenarios page in a real browser (Debian's chromium via Playwright).

The app is served with a temporary copy of ``scenarios/`` as its scenarios folder. A user
adds a foster-carer recruitment campaign to the baseline, saves it as a new scenario (the
file passes the command line's validation, reloads into the form with the same values and
appears on the Run page), types negative beds (a message beside the field names it and Run
is disabled), and deletes the scenario after confirming. Another opens families_first, sees
its family network meetings, changes them and saves a copy that keeps the uncertainty of its
transition levers. A screenshot of the page goes to ``docs/images/app_scenarios.png`` when
``CARE_DEMAND_APP_SCREENSHOTS=1``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from care_demand.app.actions import inspect_data
from care_demand.app.editor import field_id
from care_demand.app.scenario_files import search_root
from care_demand.app.settings import SCENARIOS_ENV
from care_demand.config import load_config, validate_config
from care_demand.paths import EXAMPLE_DATA_DIR, SCENARIO_DIR
from test_app import CHROMIUM, ROOT, Browser, _environment, _free_port, _shot

NEW = "recruitment_push"
CAMPAIGN = "capacity.fostering.recruitment.campaign_1"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The app's scenarios folder: a copy of the shipped one."""
    out = tmp_path_factory.mktemp("app-scenarios") / "scenarios"
    shutil.copytree(SCENARIO_DIR, out)
    return out


@pytest.fixture(scope="module")
def editor_url(folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app, served by ``python -m care_demand.app`` with that scenarios folder."""
    outputs = tmp_path_factory.mktemp("app-editor-outputs")
    port = _free_port()
    env = {**_environment(), SCENARIOS_ENV: str(folder)}
    command = [sys.executable, "-m", "care_demand.app", "--port", str(port)]
    command += ["--outputs", str(outputs)]
    log = outputs / "app-server.log"
    with log.open("w") as sink:
        server = subprocess.Popen(command, env=env, stdout=sink, stderr=sink)
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


@pytest.fixture(scope="module")
def browser(editor_url: str) -> Iterator[Browser]:
    """One browser tab."""
    if not CHROMIUM.is_file():
        pytest.skip(f"needs Debian's chromium at {CHROMIUM}")
    driver = Browser(editor_url)
    yield driver
    driver.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshot goes."""
    if os.environ.get("CARE_DEMAND_APP_SCREENSHOTS") == "1":
        return ROOT / "docs" / "images"
    return tmp_path_factory.mktemp("app-editor-screenshots")


def _field(page: Any, path: str) -> Any:
    return page.locator(f"#editor-{field_id(path)}")


def _message(page: Any, path: str) -> Any:
    return page.locator(f"#editor-{field_id(path)}_msg")


def _type(page: Any, path: str, value: str) -> None:
    box = _field(page, path)
    box.fill(value)
    box.press("Tab")


@pytest.mark.slow
def test_a_recruitment_campaign_saved_as_a_new_scenario(
    browser: Browser, folder: Path, shots: Path, tmp_path: Path
) -> None:
    values = browser(lambda page: _save_new(page, shots))
    path = folder / f"{NEW}.yaml"
    assert path.is_file()
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# @package _global_") and "fostering service's plan" in text
    config = load_config([f"scenario={NEW}", search_root(folder, tmp_path / "root")])
    validate_config(config)
    change = config.capacity.fostering.recruitment["campaign_1"]
    assert (change.enquiries_multiplier, change.start) == (1.3, "2024-04-01")
    assert values == {"enquiries": "1.3", "start": "2024-04-01", "title": "Recruitment push"}


def _save_new(page: Any, shots: Path) -> dict[str, str]:
    page.get_by_role("tab", name="Scenarios").click()
    _field(page, "scenario.name").wait_for()
    page.get_by_role("button", name="Add to foster carer recruitment").click()
    _field(page, f"{CAMPAIGN}.enquiries_multiplier").wait_for()
    _type(page, f"{CAMPAIGN}.enquiries_multiplier", "1.3")
    _type(page, f"{CAMPAIGN}.start", "2024-04-01")
    _type(page, f"{CAMPAIGN}.source", "assumption: the fostering service's plan")
    _type(page, "scenario.name", NEW)
    _type(page, "scenario.title", "Recruitment push")
    _type(page, "scenario.description", "Thirty per cent more enquiries from April 2024.")
    page.locator("#editor-status").get_by_text("No problems").wait_for()
    _shot(page, shots / "app_scenarios.png")
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator("#editor-status").get_by_text(f"Saved as {NEW}.yaml").wait_for()
    # Loading another scenario and then the new one fills the form from the file.
    page.locator("#editor-start_from").select_option("demand_surge")
    page.get_by_role("button", name="Load", exact=True).click()
    page.locator("#editor-status").get_by_text("Loaded demand_surge").wait_for()
    page.locator("#editor-start_from").select_option(NEW)
    page.get_by_role("button", name="Load", exact=True).click()
    page.locator("#editor-status").get_by_text(f"Loaded {NEW}").wait_for()
    _field(page, f"{CAMPAIGN}.enquiries_multiplier").wait_for()
    values = {
        "enquiries": _field(page, f"{CAMPAIGN}.enquiries_multiplier").input_value(),
        "start": _field(page, f"{CAMPAIGN}.start").input_value(),
        "title": _field(page, "scenario.title").input_value(),
    }
    # The Run page lists the new scenario.
    page.get_by_role("tab", name="Run", exact=True).click()
    page.get_by_label("Recruitment push").wait_for()
    return values


@pytest.mark.slow
def test_negative_beds_are_named_and_stop_a_run(browser: Browser) -> None:
    browser(_negative_beds)


def _negative_beds(page: Any) -> None:
    beds = "capacity.homes.existing.beds"
    page.get_by_role("tab", name="Scenarios").click()
    _type(page, beds, "-2")
    message = _message(page, beds)
    message.get_by_text("capacity.homes.existing.beds").wait_for()
    text = message.inner_text()
    assert "Beds" in text and "-2" in text and "must be >= 0" in text
    # The status line is its own output: it may come a moment after the field's message.
    page.locator("#editor-status").get_by_text("Beds").wait_for()
    assert "Beds" in page.locator("#editor-status").inner_text()
    page.get_by_role("tab", name="Run", exact=True).click()
    run = page.get_by_role("button", name="Run", exact=True)
    page.wait_for_function("document.getElementById('start').disabled")
    assert run.is_disabled()
    # Saving is refused with the message.
    page.get_by_role("tab", name="Scenarios").click()
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator("#editor-status").get_by_text("not saved").wait_for()
    _type(page, beds, "8")
    page.locator("#editor-status").get_by_text("No problems").wait_for()
    assert message.inner_text() == ""
    page.wait_for_function("!document.getElementById('start').disabled")


@pytest.mark.slow
def test_delete_asks_first_and_keeps_the_baseline(browser: Browser, folder: Path) -> None:
    browser(_delete)
    assert not (folder / f"{NEW}.yaml").exists()
    assert (folder / "baseline.yaml").is_file()


def _delete(page: Any) -> None:
    page.get_by_role("tab", name="Scenarios").click()
    page.locator("#editor-start_from").select_option("baseline")
    page.get_by_role("button", name="Delete", exact=True).click()
    page.locator("#editor-status").get_by_text("baseline cannot be deleted").wait_for()
    page.locator("#editor-start_from").select_option(NEW)
    page.get_by_role("button", name="Delete", exact=True).click()
    page.get_by_role("button", name=f"Delete {NEW}").click()
    page.locator("#editor-status").get_by_text(f"Deleted {NEW}").wait_for()
    page.get_by_role("tab", name="Run", exact=True).click()
    page.get_by_label("Recruitment push").wait_for(state="detached")


@pytest.mark.slow
def test_family_network_meetings_edited_and_saved(
    browser: Browser, folder: Path, tmp_path: Path
) -> None:
    shown = browser(_more_meetings)
    assert shown == {"meetings": "10", "offer": "0.8", "spread": "0.15"}
    text = (folder / f"{MEETINGS}.yaml").read_text(encoding="utf-8")
    assert 'meetings: [["2025-04-01", 14]]' in text
    config = load_config([f"scenario={MEETINGS}", search_root(folder, tmp_path / "root")])
    validate_config(config)
    assert config.capacity.family_network.meetings == [["2025-04-01", 14]]
    lever = config.scenario.hazard_levers["family_help_cin_step_up"]
    assert lever.multiplier_log_sd == 0.15


MEETINGS = "more_family_meetings"


def _more_meetings(page: Any) -> dict[str, str]:
    per_month = "capacity.family_network.meetings[0][1]"
    page.get_by_role("tab", name="Scenarios").click()
    page.locator("#editor-start_from").select_option("families_first")
    page.get_by_role("button", name="Load", exact=True).click()
    page.locator("#editor-status").get_by_text("Loaded families_first").wait_for()
    page.get_by_role("heading", name="Family network meetings").wait_for()
    spread = "scenario.hazard_levers.family_help_cin_step_up.multiplier_log_sd"
    shown = {
        "meetings": _field(page, per_month).input_value(),
        "offer": _field(page, "capacity.family_network.offer_share").input_value(),
        "spread": _field(page, spread).input_value(),
    }
    _type(page, per_month, "14")
    _type(page, "scenario.name", MEETINGS)
    page.locator("#editor-status").get_by_text("No problems").wait_for()
    page.get_by_role("button", name="Save", exact=True).click()
    page.locator("#editor-status").get_by_text(f"Saved as {MEETINGS}.yaml").wait_for()
    return shown


@pytest.mark.slow
def test_capacity_says_how_a_run_on_a_councils_data_sizes_it(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Checked on the Data page, a council's folder (a copy of the example's returns, so not
    the built-in example) puts the note a run on it would act on at the head of the Capacity
    section; the built-in example, which runs as configured, puts none."""
    council = tmp_path_factory.mktemp("council") / "returns"
    shutil.copytree(EXAMPLE_DATA_DIR, council)
    expected = inspect_data(str(council)).capacity_note
    assert "mainstream fostering households" in expected
    own = browser(lambda page: _capacity_note(page, str(council)))
    example = browser(lambda page: _capacity_note(page, None))
    assert own == "On the data checked on the Data page. " + expected + _FORM_NOTE
    assert example == ""


_FORM_NOTE = (
    " The fields below show the settings as configured; a scenario's changes from the start "
    "on apply to the capacity as sized."
)


def _check_folder(page: Any, folder: str | None) -> None:
    """Check ``folder`` (``None``: the built-in example) on the Data page."""
    page.get_by_role("tab", name="Data").click()
    if folder is None:
        page.get_by_label("The built-in example").check()
    else:
        page.get_by_label("A folder on this computer").check()
        page.locator("#folder").fill(folder)
    page.get_by_role("button", name="Check the data").click()
    page.locator("#validation_summary").get_by_text(
        "built-in example" if folder is None else folder
    ).wait_for()


def _capacity_note(page: Any, folder: str | None) -> str:
    _check_folder(page, folder)
    page.get_by_role("tab", name="Scenarios").click()
    page.get_by_role("button", name="Load", exact=True).click()
    page.get_by_role("heading", name="Children's homes").wait_for()
    note = page.locator("#editor-capacity_sizing")
    if folder is not None:
        note.get_by_text("mainstream fostering households").wait_for()
    else:
        page.wait_for_function(
            "() => document.getElementById('editor-capacity_sizing').innerText.trim() === ''"
        )
    return " ".join(note.inner_text().split())


@pytest.mark.slow
def test_the_run_page_names_scenarios_the_data_cannot_run(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Checked on the Data page, the SSDA903 return alone (no CIN census, no early help):
    the Run page says which scenarios change what those data do not record, and leaves
    them unticked; back on the built-in example every scenario is offered plainly."""
    council = tmp_path_factory.mktemp("care-only") / "returns"
    shutil.copytree(EXAMPLE_DATA_DIR / "ssda903", council / "ssda903")
    own = browser(lambda page: _run_labels(page, str(council)))
    example = browser(lambda page: _run_labels(page, None))
    flagged = {label for label in own if "(not on these data:" in label}
    assert {label.split(" (not on")[0] for label in flagged} == {
        "Demand surge (stress test)",
        "Families First (Family Help, family network meetings, kinship first)",
    }
    assert "Harbour expansion" in own and not any("not on these data" in x for x in example)


@pytest.mark.slow
def test_the_scenarios_page_marks_levers_the_data_cannot_run(
    browser: Browser, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """With the SSDA903 return alone checked on the Data page, the demand surge loaded on
    the Scenarios page has its referral lever marked beside its field and in the status, as
    something a run on these data would stop for, while the form itself has no problem (it
    can be saved, and Run stays enabled for the scenarios that can run)."""
    council = tmp_path_factory.mktemp("care-only-editor") / "returns"
    shutil.copytree(EXAMPLE_DATA_DIR / "ssda903", council / "ssda903")
    seen = browser(lambda page: _marked_levers(page, str(council)))
    assert "changes referral arrivals, which these data do not record" in seen["field"]
    assert seen["field"].startswith("Not on the data checked on the Data page:")
    assert "1 lever(s) change services the data checked on the Data page" in seen["status"]
    assert "No problems: ready to save." in seen["status"]
    assert seen["run_disabled"] is False


def _marked_levers(page: Any, folder: str) -> dict[str, Any]:
    _check_folder(page, folder)
    page.get_by_role("tab", name="Scenarios").click()
    page.locator("#editor-start_from").select_option("demand_surge")
    page.get_by_role("button", name="Load", exact=True).click()
    status = page.locator("#editor-status")
    status.get_by_text("lever(s) change services").wait_for()
    message = _message(page, "scenario.arrival_levers.referral_surge.kind")
    message.get_by_text("Not on the data").wait_for()
    return {
        "field": " ".join(message.inner_text().split()),
        "status": " ".join(status.inner_text().split()),
        "run_disabled": page.locator("#start").is_disabled(),
    }


def _run_labels(page: Any, folder: str | None) -> list[str]:
    _check_folder(page, folder)
    page.get_by_role("tab", name="Run", exact=True).click()
    boxes = page.locator("#scenarios label")
    if folder is not None:
        boxes.get_by_text("not on these data").first.wait_for()
    else:
        page.wait_for_function(
            "() => !document.getElementById('scenarios').innerText.includes('not on these')"
        )
    return [" ".join(t.split()) for t in boxes.all_inner_texts()]


@pytest.mark.slow
def test_the_page_makes_no_request_outside_localhost(browser: Browser, editor_url: str) -> None:
    requested = list(browser.requested)
    assert requested
    outside = {u for u in requested if urlsplit(u).netloc != urlsplit(editor_url).netloc}
    assert not {u for u in outside if not u.startswith(("data:", "blob:"))}
