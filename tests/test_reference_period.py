"""The reference period the transition rates are fitted on."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest

from care_demand.calibration import CalibrationConfig
from care_demand.calibration.hazard_exposure import compute_exposure
from care_demand.calibration.reference import (
    calibration_problems,
    reference_history,
    reference_label,
)
from care_demand.config import AppConfig, config_problems
from care_demand.data import EventHistory
from care_demand.errors import ConfigError


def _period(start: str | None, end: str | None) -> CalibrationConfig:
    return dataclasses.replace(CalibrationConfig(), reference_start=start, reference_end=end)


def test_no_period_is_the_whole_record(example_history: EventHistory) -> None:
    assert reference_history(example_history, CalibrationConfig()) is example_history
    assert reference_label(example_history, CalibrationConfig()) is None


def test_a_period_clips_exposure_and_events(example_history: EventHistory) -> None:
    settings = _period("2019-04-01", None)
    seen = reference_history(example_history, settings)
    assert seen.window_start == pd.Timestamp("2019-04-01")
    assert seen.window_end == example_history.window_end
    assert seen.fingerprint != example_history.fingerprint
    whole = compute_exposure(
        example_history.spells, example_history.window_start, example_history.window_end
    )
    part = compute_exposure(seen.spells, seen.window_start, seen.window_end)
    # Fewer months observed, so less exposure and fewer events, but not none.
    assert 0 < part["exposure_months"].sum() < whole["exposure_months"].sum()
    assert 0 < part["events"].sum() < whole["events"].sum()
    # Exposure in the period is about its share of the record's months (the caseload is
    # roughly steady in the example): within a third either way.
    share = (seen.window_end - seen.window_start) / (
        example_history.window_end - example_history.window_start
    )
    ratio = part["exposure_months"].sum() / whole["exposure_months"].sum()
    assert share / 1.35 < ratio < share * 1.35
    assert reference_label(example_history, settings).startswith("1 April 2019 to ")


def test_a_period_outside_the_record_names_the_setting(example_history: EventHistory) -> None:
    end = example_history.window_end + pd.DateOffset(years=1)
    with pytest.raises(ConfigError, match=r"calibration\.reference_start") as caught:
        reference_history(example_history, _period(f"{end:%Y-%m-%d}", None))
    assert "at least 12 months" in str(caught.value)


def test_period_settings_are_checked(quick_config: AppConfig) -> None:
    assert calibration_problems(_period(None, None)) == []
    problems = calibration_problems(_period("2021-04-01", "2020-04-01"))
    assert [f for f, _ in problems] == ["calibration.reference_end"]
    assert "not after reference_start" in problems[0][1]
    problems = calibration_problems(_period("2019-13-01", None))
    assert [f for f, _ in problems] == ["calibration.reference_start"]
    bad = dataclasses.replace(quick_config, calibration=_period("2021-04-01", "2020-04-01"))
    assert "calibration.reference_end" in dict(config_problems(bad))


def test_the_run_fits_the_hazards_on_the_period(
    example_history: EventHistory, quick_config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The main job's calibration hands the hazard model the clipped window."""
    from care_demand import pipeline
    from care_demand.calibration import reference

    seen = {}

    class StopFitError(Exception):
        pass

    def fit(self: object, history: object, cache_dir: object = None) -> None:
        seen["history"] = history
        raise StopFitError

    monkeypatch.setattr(reference.HazardModel, "fit", fit)
    config = dataclasses.replace(quick_config, calibration=_period("2019-04-01", "2021-03-31"))
    with pytest.raises(StopFitError):
        pipeline.calibrate(example_history, config)
    assert seen["history"].window_start == pd.Timestamp("2019-04-01")
    assert seen["history"].window_end == pd.Timestamp("2021-03-31")
