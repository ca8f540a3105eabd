"""The browser app's Data page: check a folder, see the validation report and the history.

The page's layout and wiring; the work is done by :mod:`care_demand.app.actions` (reading
and checking the data) and :mod:`care_demand.app.explore` (the explorer's counts), which
return only counts under disclosure control.
"""

from __future__ import annotations

import asyncio
import tempfile

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
from htmltools import Tag
from matplotlib.figure import Figure
from shiny import Inputs, reactive, render, ui

from care_demand.app.actions import DataView, continuum_figure, inspect_data, placement_figure
from care_demand.app.explore import AGE_CHOICES, GROUP_CHOICES, explore_figure, explore_series
from care_demand.app.explore import explore_flows as explore_flows_table
from care_demand.app.tables import figures_table

__all__ = ["data_panel", "data_server"]


def data_panel() -> Tag:
    """The Data page's layout."""
    return ui.nav_panel(
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


def _png(fig: Figure | None, alt: str) -> dict[str, str] | None:
    """A chart as a PNG file for ``render.image`` (drawn as the published charts are)."""
    if fig is None:
        return None
    with tempfile.NamedTemporaryFile(suffix=".png", delete=False) as handle:
        fig.savefig(handle, format="png", dpi=100)
    plt.close(fig)
    return {"src": handle.name, "width": "100%", "alt": alt}


def data_server(input: Inputs, data_path: reactive.Value[str | None]) -> reactive.Calc_[DataView]:
    """Wire the Data page; return the checked data (``data_path``: the folder chosen)."""

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
        return figures_table(
            explore_flows_table(v.cube, groups, age, v.rule),
            "Entries to and exits from care per financial year, for the placement types "
            "(at entry or exit) and age chosen: recorded",
            "explore_flows_table",
        )

    return view
