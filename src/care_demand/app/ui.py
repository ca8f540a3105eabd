"""The browser app's pages and their wiring (Shiny for Python, core API).

This module only lays out the pages and connects inputs to the plain functions of
:mod:`care_demand.app.actions`, :mod:`care_demand.app.jobs` and
:mod:`care_demand.app.results`, which do the work and are tested on their own.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
from htmltools import Tag, TagList
from matplotlib.figure import Figure
from shiny import App, Inputs, Outputs, Session, reactive, render, ui

from care_demand.app.actions import (
    DataView,
    compose,
    continuum_figure,
    inspect_data,
    placement_figure,
)
from care_demand.app.editor import editor_server, editor_ui
from care_demand.app.jobs import RunJob, start_run
from care_demand.app.results import (
    HEADLINE_MEASURES,
    ResultsView,
    csv_zip,
    list_runs,
    open_results,
)
from care_demand.app.scenario_files import BASELINE, scenario_titles
from care_demand.app.settings import QUICK_LOOK, AppSettings

__all__ = ["create_app"]

_CSS = """
.headline td, .headline th { padding: 0.3rem 0.6rem; border-bottom: 1px solid #ddd; }
.headline td.difference { font-weight: 600; }
.progress-row { margin-bottom: 0.6rem; }
.progress-row progress { width: 100%; height: 1rem; }
.note { color: #555; }
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


def _run_choices(settings: AppSettings) -> dict[str, str]:
    return {k: v for k, v in scenario_titles(settings.scenarios).items() if k != BASELINE}


def _page_ui(settings: AppSettings) -> Tag:
    data_page = ui.nav_panel(
        "Data",
        ui.layout_sidebar(
            ui.sidebar(
                ui.input_radio_buttons(
                    "source",
                    "Data",
                    {"example": "The built-in example", "folder": "A folder on this computer"},
                ),
                ui.input_text("folder", "Folder path", placeholder="e.g. D:\\returns\\2024"),
                ui.input_checkbox("lenient", "Drop rows with errors", False),
                ui.input_action_button("check", "Check the data", class_="btn-primary"),
                width=320,
            ),
            ui.h4("Validation"),
            ui.output_ui("validation_summary"),
            ui.output_data_frame("problems"),
            ui.download_button("problems_csv", "Download the validation report (CSV)"),
            ui.h5("Values repaired"),
            ui.output_ui("repairs"),
            ui.h4("The recorded history"),
            ui.output_ui("history_note"),
            ui.output_image("history_mix", height="auto"),
            ui.output_image("history_continuum", height="auto"),
        ),
        value="data",
    )
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
    results_page = ui.nav_panel(
        "Results",
        ui.output_ui("results_title"),
        ui.output_ui("headline"),
        ui.output_ui("results_downloads"),
        ui.output_image("fan_chart", height="auto"),
        value="results",
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
        data_page,
        scenarios_page,
        run_page,
        results_page,
        past_page,
        title="Care demand",
        id="page",
        header=ui.tags.style(_CSS),
    )


def _png(fig: Figure | None, alt: str) -> dict[str, str] | None:
    """A chart as a PNG file for ``render.image`` (drawn as the published charts are)."""
    if fig is None:
        return None
    with tempfile.NamedTemporaryFile(suffix=".png", delete=False) as handle:
        fig.savefig(handle, format="png", dpi=100)
    plt.close(fig)
    return {"src": handle.name, "width": "100%", "alt": alt}


def _headline_table(view: ResultsView) -> Tag:
    cells = {(c.scenario, c.measure, c.kind): c for c in view.cells()}
    with_diff = "baseline" in view.scenarios
    head = [ui.tags.th("Measure")]
    for name in view.scenarios:
        head.append(ui.tags.th(f"{name} P50 (P10 to P90)"))
        if with_diff and name != "baseline":
            head.append(ui.tags.th(f"{name} minus baseline"))
    rows = []
    for measure, label in HEADLINE_MEASURES.items():
        if not any((n, measure, "value") in cells for n in view.scenarios):
            continue
        tds = [ui.tags.td(label)]
        for name in view.scenarios:
            kinds = ["value"] + (["difference"] if with_diff and name != "baseline" else [])
            for kind in kinds:
                cell = cells.get((name, measure, kind))
                tds.append(
                    ui.tags.td(
                        cell.text if cell else "-",
                        class_=kind,
                        data_scenario=name,
                        data_measure=measure,
                        data_kind=kind,
                    )
                )
        rows.append(ui.tags.tr(*tds))
    return ui.tags.table(ui.tags.thead(ui.tags.tr(*head)), ui.tags.tbody(*rows), class_="headline")


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
        editor = editor_server("editor", settings.scenarios)

        @reactive.effect
        def _run_allowed() -> None:  # no run while the scenario being edited has a problem
            ui.update_action_button("start", disabled=editor.has_problems())

        @reactive.effect
        @reactive.event(editor.changed)
        def _run_list() -> None:
            with reactive.isolate():
                chosen = [c for c in input.scenarios() if c in _run_choices(settings)]
            ui.update_checkbox_group("scenarios", choices=_run_choices(settings), selected=chosen)

        # --- Data -------------------------------------------------------------------------
        @reactive.extended_task
        async def data_task(folder: str | None, lenient: bool) -> DataView:
            return await asyncio.to_thread(inspect_data, folder, lenient)

        @reactive.effect
        @reactive.event(input.check, ignore_none=False)
        def _check() -> None:
            folder = input.folder().strip() if input.source() == "folder" else None
            data_task(folder or None, bool(input.lenient()))

        @reactive.calc
        def view() -> DataView:
            result = data_task.result()
            data_path.set(None if result.synthetic else result.folder)
            return result

        @render.ui
        def validation_summary() -> Tag:
            v = view()
            return ui.p(v.summary, class_="ok" if v.ok else "text-danger")

        @render.data_frame
        def problems() -> render.DataGrid:
            return render.DataGrid(view().problems, width="100%", height="300px")

        @render.download_button(filename="validation_report.csv")
        def problems_csv():  # type: ignore[no-untyped-def]
            yield view().problems_csv()

        @render.ui
        def repairs() -> Tag:
            table = view().repairs
            if table.empty:
                return ui.p("None.", class_="note")
            return ui.HTML(table.to_html(index=False, classes="table table-sm", border=0))

        @render.ui
        def history_note() -> Tag:
            v = view()
            note = v.history_note or (
                f"Counts from 1 to {v.rule.suppress_max} are not drawn (disclosure control, as "
                "in the published tables)."
            )
            return ui.p(note, class_="note")

        @render.image(delete_file=True)
        def history_mix() -> dict[str, str] | None:
            return _png(placement_figure(view()), "Children in care by placement type")

        @render.image(delete_file=True)
        def history_continuum() -> dict[str, str] | None:
            return _png(
                continuum_figure(view()), "Children in early help, in need, on a plan and in care"
            )

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
            job.set(start_run(settings, list(input.scenarios()), input.size(), data_path()))

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
        @reactive.calc
        def results() -> ResultsView | None:
            path = results_path()
            return open_results(path) if path is not None else None

        @render.ui
        def results_title() -> Tag:
            v = results()
            if v is None:
                return ui.p("No results yet: run scenarios, or open a past run.", class_="note")
            failed = [ui.p(f"{n} failed: {e}", class_="text-danger") for n, e in v.failed.items()]
            return ui.div(ui.h4(v.title), *failed)

        @render.ui
        def headline() -> Tag | None:
            v = results()
            if v is None or v.headline.empty:
                return None
            return ui.div(
                ui.p(
                    "Children at the end of the horizon; cost summed over the whole financial "
                    "years projected. Differences are paired future by future.",
                    class_="note",
                ),
                _headline_table(v),
            )

        @render.ui
        def results_downloads() -> TagList | None:
            v = results()
            if v is None:
                return None
            buttons = [ui.download_button("download_csvs", "Tables (CSV, zip)")]
            if v.report is not None:
                buttons.insert(0, ui.download_button("download_report", "Report (HTML)"))
            if v.workbook is not None:
                buttons.insert(1, ui.download_button("download_workbook", "Workbook (Excel)"))
            return TagList(ui.div(*buttons, class_="my-3 d-flex gap-2"))

        @render.download_button(filename=lambda: results().report.name)  # type: ignore[union-attr]
        def download_report() -> str:
            return str(results().report)  # type: ignore[union-attr]

        @render.download_button(filename=lambda: results().workbook.name)  # type: ignore[union-attr]
        def download_workbook() -> str:
            return str(results().workbook)  # type: ignore[union-attr]

        @render.download_button(filename=lambda: f"{results().path.name}_tables.zip")  # type: ignore[union-attr]
        def download_csvs():  # type: ignore[no-untyped-def]
            yield csv_zip(results().path)  # type: ignore[union-attr]

        @render.image(delete_file=False)
        def fan_chart() -> dict[str, str] | None:
            v = results()
            if v is None or v.chart is None:
                return None
            return {"src": str(v.chart), "width": "100%", "alt": "Children in care fan chart"}

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
