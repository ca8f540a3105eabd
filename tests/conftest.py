"""Shared fixtures: the built-in example, read and calibrated once per test session."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from care_demand.config import AppConfig, load_config
from care_demand.data import EventHistory
from care_demand.outputs.layout import LAYOUT
from care_demand.pipeline import Calibrated, calibrate, load, run


@pytest.fixture(scope="session")
def calibration_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One calibration cache for the session: the example is sampled once, then reused.

    ``CARE_DEMAND_TEST_CALIBRATION_CACHE`` names a cache to share instead (CI passes the one
    its quick-start run has just filled, so the example is not sampled twice). Entries are
    keyed by the data and settings, so a shared cache gives the same posteriors; tests of a
    cold cache make their own. With the suite spread over processes (``make test`` runs
    pytest-xdist), the processes share one cache in the run's temporary folder; the cache's
    lock lets one of them sample while the others wait for it.
    """
    shared = os.environ.get("CARE_DEMAND_TEST_CALIBRATION_CACHE")
    if shared:
        path = Path(shared).expanduser().resolve()
    elif os.environ.get("PYTEST_XDIST_WORKER"):
        path = tmp_path_factory.getbasetemp().parent / "calibration-cache"
    else:
        return tmp_path_factory.mktemp("calibration-cache")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def quick_config(calibration_cache: Path) -> AppConfig:
    """The shipped configuration with few replicates and the session's calibration cache."""
    return load_config(
        [
            f"calibration.cache_dir={calibration_cache}",
            "simulation.replicates=8",
            "simulation.n_jobs=2",
            "simulation.chunk_size=4",
        ]
    )


@pytest.fixture(scope="session")
def example_history(quick_config: AppConfig) -> EventHistory:
    """The built-in example's event history."""
    return load(quick_config)[1]


@pytest.fixture(scope="session")
def example_calibrated(example_history: EventHistory, quick_config: AppConfig) -> Calibrated:
    """The example's fitted hazards and arrival trends (default settings)."""
    return calibrate(example_history, quick_config)


@pytest.fixture
def with_backtest(
    tmp_path: Path, example_history: EventHistory, quick_config: AppConfig
) -> Callable[[dict[str, dict]], AppConfig]:
    """A function that writes choice records (by file of the backtest layout) in a folder
    marked as a backtest of the example, and returns ``quick_config`` looking there."""

    def make(records: dict[str, dict]) -> AppConfig:
        folder = tmp_path / "bt"
        for name, record in records.items():
            path = folder / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(record))
        marker = {"data_fingerprint": example_history.fingerprint}
        (folder / LAYOUT.backtest.interval_widening).write_text(json.dumps(marker))
        output = dataclasses.replace(quick_config.output, backtest_dir=str(tmp_path))
        return dataclasses.replace(quick_config, output=output)

    return make


@pytest.fixture(scope="session")
def report_config(calibration_cache: Path) -> AppConfig:
    """Small settings for runs whose outputs (charts, report, tables) are inspected."""
    return load_config(
        [
            f"calibration.cache_dir={calibration_cache}",
            "simulation.replicates=8",
            "simulation.horizon_months=24",
            "simulation.n_jobs=2",
            "simulation.chunk_size=4",
        ]
    )


@pytest.fixture(scope="session")
def report_run(tmp_path_factory: pytest.TempPathFactory, report_config: AppConfig) -> Path:
    """A run folder of the example's baseline with small settings."""
    out = tmp_path_factory.mktemp("report-run") / "0_baseline"
    run(report_config, out)
    return out


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    """Close the figures a test drew to inspect, as a notebook kernel or the report would.

    pyplot keeps every figure until it is closed; over a session of chart tests they would
    pile up (and warn, which the suite treats as an error).
    """
    yield
    import matplotlib.pyplot as plt

    plt.close("all")
