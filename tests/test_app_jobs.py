"""The browser app's background runs: progress per future, time left and cancelling."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from care_demand.app.actions import compose
from care_demand.app.calibrate import diagnostics_in_words, start_calibration
from care_demand.app.jobs import RunCancelledError, RunJob, ScenarioProgress, start_run
from care_demand.app.settings import WEIGHTINGS, AppSettings, RatePeriod
from care_demand.calibration.hazard_settings import ConvergenceChecks
from care_demand.outputs.layout import LAYOUT


def test_progress_counts_futures_and_time_left(tmp_path: Path) -> None:
    job = RunJob(sweep=tmp_path, scenarios=[ScenarioProgress("baseline")], overrides=[])
    job._update(0, fraction=0.55)
    report = job._futures_progress(0)
    time.sleep(0.05)
    report(10, 40)
    state = job.snapshot()[0]
    assert (state.futures_done, state.futures) == (10, 40)
    assert state.step.startswith("simulating the futures: 10 of 40 done, about ")
    # A quarter of the futures took the time so far: three times as long is left.
    assert state.seconds_left is not None and state.seconds_left > 0
    assert state.fraction == pytest.approx(0.55 + (0.90 - 0.55) * 10 / 40)
    report(40, 40)
    assert job.snapshot()[0].step == "costing the futures and writing the results"
    job.cancel()
    with pytest.raises(RunCancelledError):
        report(41, 40)


def test_a_scenario_with_problems_shows_them_not_the_heading(tmp_path: Path) -> None:
    """A scenario whose levers the data do not record fails with the lever named on the page
    (the whole message stays in its status.json)."""
    import json

    from care_demand.config import CONFIG_DIR, load_config, scenario_file
    from care_demand.errors import ConfigError
    from care_demand.scenarios import check_levers_held

    config = load_config(["scenario=demand_surge"])
    with pytest.raises(ConfigError) as info:
        check_levers_held(config, {"care_entry"}, {"care"}, scenario_file(config), CONFIG_DIR)
    job = RunJob(sweep=tmp_path, scenarios=[ScenarioProgress("demand_surge")], overrides=[])
    job._fail(0, tmp_path / "demand_surge", "demand_surge", str(info.value))
    shown = job.snapshot()[0]
    assert shown.state == "failed"
    assert shown.error.startswith("scenario.arrival_levers.referral_surge.kind (scenarios/")
    assert "which these data do not record" in shown.error
    status = json.loads((tmp_path / "demand_surge" / LAYOUT.status).read_text())
    assert status["error"] == str(info.value)
    job._fail(0, tmp_path / "x", "x", "one line\n\nand a second")
    assert job.snapshot()[0].error == "one line; and a second"


def test_cancel_stops_inside_the_simulation(tmp_path: Path, calibration_cache: Path) -> None:
    """Cancelling while the futures are simulated stops the run and writes nothing of it."""
    settings = AppSettings(
        outputs=tmp_path,
        cache_dir=calibration_cache,
        overrides=(
            "simulation.replicates=60",
            "simulation.chunk_size=1",
            "simulation.n_jobs=1",
        ),
    )
    job = start_run(settings, ["more_foster_carers"], size="quick")
    deadline = time.monotonic() + 600
    while job.snapshot()[0].futures_done < 2:
        assert not job.finished, job.snapshot()[0]
        assert time.monotonic() < deadline, "the simulation did not start"
        time.sleep(0.05)
    job.cancel()
    assert job.wait(120)
    first, second = job.snapshot()
    assert first.state == "cancelled"
    assert first.futures_done < 60
    assert second.state == "cancelled" and second.step == "not started"
    assert not (job.sweep / "baseline" / LAYOUT.status).exists()
    assert not (job.sweep / LAYOUT.comparison.dir).exists()
    assert job.message.startswith("Cancelled")


def test_reference_period_becomes_every_runs_setting() -> None:
    settings = AppSettings()
    overrides = settings.run_overrides("quick", None, RatePeriod("2019-04-01", None))
    assert "calibration.reference_start=2019-04-01" in overrides
    assert not any(o.startswith("calibration.reference_end") for o in overrides)
    assert not any("half_life" in o for o in overrides)
    assert not any("reference" in o for o in settings.run_overrides("quick", None))
    weighted = settings.run_overrides("quick", None, RatePeriod(half_life_years=2.0))
    assert "calibration.hazards.priors.record_half_life_years=2" in weighted
    assert not any("reference" in o for o in weighted)
    # Every weighting the page offers composes into a run's settings.
    for years in WEIGHTINGS:
        period = RatePeriod(half_life_years=float(years) if years else None)
        config = compose(settings.run_overrides("quick", None, period))
        expected = float(years) if years else None
        assert config.calibration.hazards.priors.record_half_life_years == expected


def test_diagnostics_in_plain_words() -> None:
    checks = ConvergenceChecks()
    good = diagnostics_in_words({"max_rhat": 1.004, "min_ess_bulk": 900, "divergences": 0}, checks)
    assert good.ok and good.headline.startswith("Converged")
    assert not any("To fix it" in s for s in good.sentences)
    bad = diagnostics_in_words({"max_rhat": 1.04, "min_ess_bulk": 150, "divergences": 3}, checks)
    assert not bad.ok and bad.headline.startswith("Not converged")
    advice = bad.sentences[-1]
    assert advice.startswith("To fix it:")
    for setting in ("sampler.tune", "sampler.draws", "target_accept"):
        assert setting in advice
    assert "1.040" in " ".join(bad.sentences) and "3 times" in " ".join(bad.sentences)


def test_calibration_on_a_reference_period(tmp_path: Path, calibration_cache: Path) -> None:
    """The page's fit uses the chosen period and reports it with a verdict."""
    settings = AppSettings(
        outputs=tmp_path,
        cache_dir=tmp_path / "cache",
        overrides=(  # a short sampler: this checks the wiring, not the posterior
            "calibration.hazards.sampler.draws=100",
            "calibration.hazards.sampler.tune=100",
            "calibration.hazards.checks.on_failure=warn",
        ),
    )
    job = start_calibration(settings, None, RatePeriod("2019-04-01", None))
    assert job.wait(600)
    assert job.state == "done", job.error
    assert job.details["Reference period the rates are fitted on"].startswith("1 April 2019 to ")
    assert job.details["From the cache"].startswith("no")
    assert job.verdict is not None and job.verdict.headline
