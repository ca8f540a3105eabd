"""The browser app's Results page: headline, fan chart, costs, savings, sufficiency.

The page's layout and wiring; every figure is read from run folders by
:mod:`care_demand.app.results`, through the readers the report uses.
"""

from __future__ import annotations

from pathlib import Path

from htmltools import Tag, TagList
from shiny import Inputs, reactive, render, ui

from care_demand import vocab
from care_demand.app.results import (
    ResultsView,
    cost_lines_table,
    cost_years_table,
    csv_zip,
    open_results,
    savings_table,
    sufficiency_table,
)
from care_demand.app.tables import figures_table, headline_table

__all__ = ["results_panel", "results_server"]


def results_panel() -> Tag:
    """The Results page's layout."""
    return ui.nav_panel(
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


def results_server(input: Inputs, results_path: reactive.Value[Path | None]) -> None:
    """Wire the Results page to the run folder in ``results_path``."""

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
            headline_table(v),
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
        return figures_table(
            table,
            "Cost per financial year: median (80% interval); differences paired future by future",
            "cost_years_table",
        )

    @render.ui
    def savings() -> Tag | None:
        v = results()
        table = savings_table(v) if v is not None else None
        if table is None or table.empty:
            return None
        return figures_table(
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
                    figures_table(
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
        return figures_table(
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
