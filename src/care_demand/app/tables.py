"""Tables of the browser app's pages: row and column headers, figures right-aligned."""

from __future__ import annotations

import pandas as pd
from htmltools import Tag
from shiny import ui

from care_demand.app.results import HEADLINE_MEASURES, ResultsView

__all__ = ["figures_table", "headline_table"]


def headline_table(view: ResultsView) -> Tag:
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


def figures_table(frame: pd.DataFrame, caption: str, id: str) -> Tag:
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
