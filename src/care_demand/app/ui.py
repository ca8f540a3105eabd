"""The browser app's pages and their wiring (Shiny for Python, core API).

This module only lays out the pages and connects inputs to the plain functions of
:mod:`care_demand.app.actions`, :mod:`care_demand.app.jobs` and
:mod:`care_demand.app.results`, which do the work and are tested on their own.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from htmltools import Tag, TagList
from matplotlib.figure import Figure
from shiny import App, Inputs, Outputs, Session, reactive, render, ui

from care_demand import vocab
from care_demand.app.actions import (
    DataView,
    compose,
    continuum_figure,
    inspect_data,
    placement_figure,
)
from care_demand.app.calibration_page import calibration_panel, calibration_server
from care_demand.app.editor import editor_server, editor_ui
from care_demand.app.explore import (
    AGE_CHOICES,
    GROUP_CHOICES,
    explore_figure,
    explore_series,
)
from care_demand.app.explore import explore_flows as explore_flows_table
from care_demand.app.jobs import RunJob, start_run
from care_demand.app.results import (
    HEADLINE_MEASURES,
    ResultsView,
    cost_lines_table,
    cost_years_table,
    csv_zip,
    list_runs,
    open_results,
    savings_table,
    sufficiency_table,
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
            ui.h4("Explore children in care"),
            ui.layout_columns(
                ui.input_checkbox_group(
                    "explore_groups",
                    "Placement types",
                    GROUP_CHOICES,
                    selected=list(GROUP_CHOICES),
                ),
                ui.input_select("explore_age", "Age", AGE_CHOICES),
                col_widths=(8, 4),
            ),
            ui.output_plot("explore_chart", hover=ui.hover_opts(null_outside=True)),
            ui.output_ui("explore_hover"),
            ui.output_ui("explore_flows"),
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
        ui.output_ui("cost_years"),
        ui.output_ui("savings"),
        ui.h4("One scenario in detail"),
        ui.input_select("lines_scenario", "Scenario", {}),
        ui.output_ui("sufficiency"),
        ui.output_ui("cost_lines"),
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
        calibration_panel(),
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
    head = [ui.tags.th("Measure", scope="col")]
    for name in view.scenarios:
        head.append(ui.tags.th(f"{view.title_of(name)}: median (80% interval)", scope="col"))
        if with_diff and name != "baseline":
            head.append(ui.tags.th(f"{view.title_of(name)} minus baseline", scope="col"))
    rows = []
    for measure, label in HEADLINE_MEASURES.items():
        if not any((n, measure, "value") in cells for n in view.scenarios):
            continue
        tds = [ui.tags.th(label, scope="row")]
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


def _table(frame: pd.DataFrame, caption: str, id: str) -> Tag:
    """A table of text cells: the first column as row headers, figures right-aligned."""
    head = ui.tags.tr(*[ui.tags.th(str(c), scope="col") for c in frame.columns])
    rows = []
    for values in frame.itertuples(index=False):
        first, *rest = (str(v) if pd.notna(v) else "-" for v in values)
        rows.append(
            ui.tags.tr(ui.tags.th(first, scope="row"), *[ui.tags.td(v, class_="num") for v in rest])
        )
    return ui.div(
        ui.tags.table(
            ui.tags.caption(caption),
            ui.tags.thead(head),
            ui.tags.tbody(*rows),
            class_="figures",
            id=id,
        ),
        class_="table-scroll",
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

        @reactive.calc
        def explore_choice() -> tuple[list[str], str]:
            return list(input.explore_groups()), str(input.explore_age())

        @render.plot(alt="Children in care at month end for the chosen placement types and age")
        def explore_chart() -> Figure | None:
            v = view()
            groups, age = explore_choice()
            if v.cube is None or not groups:
                return None
            return explore_figure(v.cube, groups, age, v.rule)

        @render.ui
        def explore_hover() -> Tag | None:
            v, hover = view(), input.explore_chart_hover()
            groups, age = explore_choice()
            if v.cube is None or not groups or not hover:
                return ui.p("Point at the chart to read a month's figure.", class_="note")
            month = pd.Timestamp(mdates.num2date(hover["x"]).replace(tzinfo=None))
            series = explore_series(v.cube, groups, age, v.rule)
            nearest = (pd.to_datetime(series["month"]) - month).abs().idxmin()
            row = series.loc[nearest]
            return ui.p(
                f"{pd.Timestamp(row['month']):%B %Y}: {row['children']} children in care",
                id="explore_reading",
            )

        @render.ui
        def explore_flows() -> Tag | None:
            v = view()
            groups, age = explore_choice()
            if v.cube is None or not groups:
                return None
            return _table(
                explore_flows_table(v.cube, groups, age, v.rule),
                "Entries to and exits from care per financial year, for the placement types "
                "(at entry or exit) and age chosen: recorded",
                "explore_flows_table",
            )

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

        @render.ui
        def cost_years() -> Tag | None:
            v = results()
            table = cost_years_table(v) if v is not None else None
            if table is None or table.empty:
                return None
            return _table(
                table,
                "Cost per financial year: median (80% interval); differences paired future by "
                "future",
                "cost_years_table",
            )

        @render.ui
        def savings() -> Tag | None:
            v = results()
            table = savings_table(v) if v is not None else None
            if table is None or table.empty:
                return None
            return _table(
                table,
                "Savings against the baseline and the savings target: median (80% interval)",
                "savings_table",
            )

        @reactive.effect
        def _lines_choices() -> None:
            v = results()
            choices = {n: v.title_of(n) for n in v.scenarios} if v is not None else {}
            ui.update_select("lines_scenario", choices=choices)

        @render.ui
        def sufficiency() -> Tag | None:
            v = results()
            name = input.lines_scenario()
            if v is None or not name:
                return None
            parts = []
            for group, label in (
                (vocab.INHOUSE_FOSTER, "In-house foster care (against agency fostering)"),
                (
                    vocab.INHOUSE_RESIDENTIAL,
                    "In-house children's homes (against external residential care)",
                ),
            ):
                table = sufficiency_table(v, name, group)
                if not table.empty:
                    parts.append(
                        _table(
                            table,
                            f"{v.title_of(name)}: {label}, sufficiency at each quarter end: "
                            "median (80% interval)",
                            f"sufficiency_{group}",
                        )
                    )
            if not parts:
                return None
            return ui.div(
                ui.p(
                    "Placed externally for want of an in-house place is the gap in places; "
                    "placed externally by preference or need is not (a better match, a "
                    "specialist service). Places needed for the target share: in-house places "
                    "to add so that the target share of the children needing that kind of "
                    "placement could be placed in-house (output.target_inhouse_share).",
                    class_="note",
                ),
                *parts,
            )

        @render.ui
        def cost_lines() -> Tag | None:
            v = results()
            name = input.lines_scenario()
            if v is None or not name:
                return None
            table = cost_lines_table(v, name)
            if table.empty:
                return ui.p("This run was not costed.", class_="note")
            return _table(
                table,
                f"{v.title_of(name)}: mean cost by budget line and financial year (cash "
                "terms; means, so the lines add up to the total)",
                "cost_lines_table",
            )

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
