"""The browser app's Calibration page: choose the part of the record the rates are fitted on
(a reference period, and how much the earlier years count), fit, read the verdict.

The page's inputs and outputs are wired here (called from the app's server function); the
work is done by :mod:`care_demand.app.calibrate`. The chosen period and weighting are handed
back to the server so that every run started afterwards fits its rates on them.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from htmltools import Tag
from shiny import Inputs, reactive, render, ui

from care_demand.app.actions import DataView
from care_demand.app.calibrate import CalibrationJob, start_calibration
from care_demand.app.settings import WEIGHTINGS, WHOLE_RECORD, AppSettings, RatePeriod
from care_demand.calibration.reference import MIN_REFERENCE_MONTHS

__all__ = ["calibration_panel", "calibration_server"]


def calibration_panel() -> Tag:
    """The page: the reference period's dates, the Fit button, progress and the verdict."""
    return ui.nav_panel(
        "Calibration",
        ui.layout_sidebar(
            ui.sidebar(
                ui.p(
                    "The transition rates (referral, step-up, entry to care, moves, exits) are "
                    "fitted on a reference period of the recorded history: by default the "
                    f"whole record. A shorter period (at least {MIN_REFERENCE_MONTHS} months) "
                    "fits them on recent practice only; weighting the earlier years keeps "
                    "them, counted less the older they are, as a prior for recent practice "
                    "(for a council whose practice changed: its backtest compares the ways).",
                    class_="note",
                ),
                ui.input_date("ref_start", "Reference period from", format="d M yyyy"),
                ui.input_date("ref_end", "Reference period to", format="d M yyyy"),
                ui.input_select("ref_weighting", "Earlier years", WEIGHTINGS, selected=""),
                ui.input_action_button("fit", "Fit the rates", class_="btn-primary"),
                width=340,
            ),
            ui.h4("Calibration"),
            ui.output_ui("calibration_status"),
        ),
        value="calibration",
    )


def _record(view: DataView | None) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    if view is None or view.recorded is None or view.recorded.empty:
        return None
    months = pd.to_datetime(view.recorded["month"])
    return (months.min() - pd.offsets.MonthBegin(1)).normalize(), months.max().normalize()


def calibration_server(
    input: Inputs,
    settings: AppSettings,
    data_view: Callable[[], DataView],
    data_path: Callable[[], str | None],
) -> reactive.Value[RatePeriod]:
    """Wire the page; return the part of the record chosen (by default the whole)."""
    chosen: reactive.Value[RatePeriod] = reactive.value(WHOLE_RECORD)
    job: reactive.Value[CalibrationJob | None] = reactive.value(None)
    record: reactive.Value[tuple[pd.Timestamp, pd.Timestamp] | None] = reactive.value(None)

    @reactive.effect
    def _defaults() -> None:
        try:
            window = _record(data_view())
        except Exception:  # no data checked yet, or it failed: keep the dates empty
            return
        if window is None:
            return
        record.set(window)
        start, end = (f"{d:%Y-%m-%d}" for d in window)
        ui.update_date("ref_start", value=start, min=start, max=end)
        ui.update_date("ref_end", value=end, min=start, max=end)
        ui.update_select("ref_weighting", selected="")
        chosen.set(WHOLE_RECORD)

    def _period() -> RatePeriod:
        window = record.get()
        start, end = input.ref_start(), input.ref_end()
        start_text = f"{start:%Y-%m-%d}" if start else None
        end_text = f"{end:%Y-%m-%d}" if end else None
        if window is not None:  # the record's own ends mean "the whole record"
            if start_text == f"{window[0]:%Y-%m-%d}":
                start_text = None
            if end_text == f"{window[1]:%Y-%m-%d}":
                end_text = None
        weighting = input.ref_weighting()
        return RatePeriod(start_text, end_text, float(weighting) if weighting else None)

    @reactive.effect
    @reactive.event(input.fit)
    def _fit() -> None:
        current = job.get()
        if current is not None and not current.finished:
            ui.notification_show("The rates are being fitted: wait for it to finish.")
            return
        period = _period()
        chosen.set(period)
        job.set(start_calibration(settings, data_path(), period))

    @render.ui
    def calibration_status() -> Tag:
        current = job.get()
        if current is None:
            return ui.p(
                "Choose the reference period and the weight of the earlier years, and press "
                "'Fit the rates'. Runs use what is chosen here; without a fit here they use "
                "the whole record, or what the council's backtest chose.",
                class_="note",
            )
        if not current.finished:
            reactive.invalidate_later(0.5)
            return ui.div(
                ui.p(current.step, id="calibration_step"),
                ui.tags.progress(value=f"{current.fraction:.2f}", max="1"),
                class_="progress-row",
            )
        if current.state == "failed":
            return ui.div(
                ui.p("The rates could not be fitted.", class_="text-danger"),
                ui.p(current.error, id="calibration_error"),
            )
        verdict = current.verdict
        assert verdict is not None
        rows = [
            ui.tags.tr(ui.tags.th(k, scope="row"), ui.tags.td(v))
            for k, v in current.details.items()
        ]
        return ui.div(
            ui.h5(
                verdict.headline,
                class_="text-success" if verdict.ok else "text-danger",
                id="calibration_verdict",
            ),
            *[ui.p(s) for s in verdict.sentences],
            ui.tags.table(ui.tags.tbody(*rows), class_="figures", id="calibration_details"),
        )

    return chosen
