"""The browser app: its pages in order and the wiring between them (Shiny, core API).

Each page's layout and wiring is in its own module (:mod:`.data_page`,
:mod:`.calibration_page`, :mod:`.editor`, :mod:`.results_page`); this module holds the Run
and Past runs pages and what passes between pages: the data folder chosen, the reference
period, whether the scenario being edited has a problem, and the run folder to show. The
work is done by plain functions (:mod:`.actions`, :mod:`.calibrate`, :mod:`.jobs`,
:mod:`.results`, :mod:`.scenario_files`), tested on their own.
"""

from __future__ import annotations

from pathlib import Path

from htmltools import Tag, TagList
from shiny import App, Inputs, Outputs, Session, reactive, render, ui

from care_demand.app.actions import compose
from care_demand.app.calibration_page import calibration_panel, calibration_server
from care_demand.app.data_page import data_panel, data_server
from care_demand.app.editor import editor_server, editor_ui
from care_demand.app.jobs import RunJob, start_run
from care_demand.app.results import list_runs, open_results
from care_demand.app.results_page import results_panel, results_server
from care_demand.app.scenario_files import BASELINE, scenario_titles, scenarios_not_held
from care_demand.app.settings import QUICK_LOOK, AppSettings

__all__ = ["create_app"]

_CSS = """
.headline td, .headline th { padding: 0.3rem 0.6rem; border-bottom: 1px solid #ddd; }
.headline td.difference { font-weight: 600; }
.progress-row { margin-bottom: 0.6rem; }
.progress-row progress { width: 100%; height: 1rem; }
.note { color: #555; }
.table-scroll { overflow-x: auto; margin: 1rem 0; }
table.figures { border-collapse: collapse; font-size: 0.9rem; }
table.figures caption { caption-side: top; font-weight: 600; color: #222; }
table.figures th, table.figures td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #ddd; }
table.figures td.num { text-align: right; white-space: nowrap; }
"""


def _size_choices() -> dict[str, str]:
    simulation = compose().simulation
    quick = {k.split("=")[0].split(".")[1]: k.split("=")[1] for k in QUICK_LOOK}
    return {
        "quick": f"Quick look: {quick['replicates']} futures, {quick['horizon_months']} months",
        "full": (
            f"Full: {simulation.replicates} futures, {simulation.horizon_months} months "
            "(the configured default)"
        ),
    }


def _run_choices(settings: AppSettings, not_held: dict[str, str] | None = None) -> dict[str, str]:
    """The scenarios to tick, each by its title; one that cannot run on the data checked
    says why (``not_held``: :func:`~care_demand.app.scenario_files.scenarios_not_held`)."""
    not_held = not_held or {}
    return {
        k: v + (f" (not on these data: {not_held[k]})" if k in not_held else "")
        for k, v in scenario_titles(settings.scenarios).items()
        if k != BASELINE
    }


def _page_ui(settings: AppSettings) -> Tag:
    run_page = ui.nav_panel(
        "Run",
        ui.layout_sidebar(
            ui.sidebar(
                ui.input_checkbox_group(
                    "scenarios", "Scenarios to compare with the baseline", _run_choices(settings)
                ),
                ui.input_radio_buttons("size", "Size", _size_choices()),
                ui.input_action_button("start", "Run", class_="btn-primary"),
                ui.input_action_button("cancel", "Cancel"),
                width=360,
            ),
            ui.h4("Progress"),
            ui.output_ui("progress"),
        ),
        value="run",
    )
    past_page = ui.nav_panel(
        "Past runs",
        ui.input_select("past", "Run folders under the outputs folder", {}, width="100%"),
        ui.input_action_button("refresh", "Refresh the list"),
        ui.input_action_button("open_past", "Open in Results", class_="btn-primary"),
        ui.output_ui("past_details"),
        value="past",
    )
    scenarios_page = ui.nav_panel(
        "Scenarios", editor_ui("editor", settings.scenarios), value="editor"
    )
    return ui.page_navbar(
        data_panel(),
        calibration_panel(),
        scenarios_page,
        run_page,
        results_panel(),
        past_page,
        title="Care demand",
        id="page",
        header=ui.tags.style(_CSS),
    )


def _progress_rows(job: RunJob) -> TagList:
    rows = []
    for item in job.snapshot():
        text = item.step if not item.error else f"{item.step}: {item.error}"
        rows.append(
            ui.div(
                ui.tags.strong(item.name),
                f" {item.state}" + (f" ({text})" if text else ""),
                ui.tags.progress(value=f"{item.fraction:.2f}", max="1"),
                class_="progress-row",
                data_scenario=item.name,
                data_state=item.state,
            )
        )
    if job.message:
        rows.append(ui.p(job.message, id="run_message"))
    return TagList(*rows)


def create_app(settings: AppSettings | None = None) -> App:
    """The Shiny app, reading and writing runs as ``settings`` say."""
    settings = settings or AppSettings.from_environment()

    def server(input: Inputs, output: Outputs, session: Session) -> None:
        job: reactive.Value[RunJob | None] = reactive.value(None)
        handled: set[Path] = set()
        results_path: reactive.Value[Path | None] = reactive.value(None)
        data_path: reactive.Value[str | None] = reactive.value(None)
        # The Data page first: the Scenarios page says what a run on its data does.
        view = data_server(input, data_path)
        editor = editor_server(
            "editor",
            settings.scenarios,
            lambda: view().capacity_note,
            lambda: view().held,
        )

        @reactive.effect
        def _run_allowed() -> None:  # no run while the scenario being edited has a problem
            ui.update_action_button("start", disabled=editor.has_problems())

        @reactive.calc
        def not_held() -> dict[str, str]:
            held = view().held
            return {} if held is None else scenarios_not_held(settings.scenarios, *held)

        @reactive.effect
        @reactive.event(editor.changed, not_held)
        def _run_list() -> None:
            choices = _run_choices(settings, not_held())
            with reactive.isolate():
                chosen = [c for c in input.scenarios() if c in choices and c not in not_held()]
            ui.update_checkbox_group("scenarios", choices=choices, selected=chosen)

        # --- Calibration ------------------------------------------------------------------
        reference = calibration_server(input, settings, view, data_path)

        # --- Run --------------------------------------------------------------------------
        @reactive.effect
        @reactive.event(input.start)
        def _start() -> None:
            current = job()
            if current is not None and not current.finished:
                ui.notification_show("A run is under way: wait for it or cancel it.")
                return
            if editor.has_problems():
                ui.notification_show("The scenario on the Scenarios page has problems.")
                return
            job.set(
                start_run(
                    settings,
                    list(input.scenarios()),
                    input.size(),
                    data_path(),
                    reference=reference(),
                )
            )

        @reactive.effect
        @reactive.event(input.cancel)
        def _cancel() -> None:
            current = job()
            if current is not None and not current.finished:
                current.cancel()
                ui.notification_show("Cancelling: the run stops at its next step.")

        @render.ui
        def progress() -> Tag | TagList:
            current = job()
            if current is None:
                return ui.p("Pick scenarios and press Run.", class_="note")
            if not current.finished:
                reactive.invalidate_later(0.5)
            return _progress_rows(current)

        @reactive.effect
        def _finished() -> None:
            current = job()
            if current is None or current.sweep in handled:
                return
            if not current.finished:
                reactive.invalidate_later(0.5)
                return
            handled.add(current.sweep)
            _refresh_runs()
            if current.compared:
                results_path.set(current.sweep)
                ui.update_navset("page", selected="results")

        # --- Results ----------------------------------------------------------------------
        results_server(input, results_path)

        # --- Past runs --------------------------------------------------------------------
        def _refresh_runs() -> None:
            runs = list_runs(settings.outputs)
            with reactive.isolate():
                chosen = input.past()
            ui.update_select("past", choices=runs, selected=chosen if chosen in runs else None)

        @reactive.effect
        @reactive.event(input.refresh, ignore_none=False)
        def _refresh() -> None:
            _refresh_runs()

        @reactive.effect
        @reactive.event(input.open_past)
        def _open_past() -> None:
            if input.past():
                results_path.set(Path(input.past()))
                ui.update_navset("page", selected="results")

        @render.ui
        def past_details() -> Tag | None:
            if not input.past():
                return ui.p(f"No run folders under {settings.outputs} yet.", class_="note")
            v = open_results(input.past())
            lines = [ui.h5(v.title)]
            if v.scenarios:
                lines.append(ui.p("Scenarios: " + ", ".join(v.scenarios)))
            if v.failed:
                lines.append(ui.p("Failed: " + ", ".join(v.failed), class_="text-danger"))
            return ui.div(*lines, class_="mt-3")

    return App(_page_ui(settings), server)
