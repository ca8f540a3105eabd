"""Back-simulation: the flow model's intervals cover what happened, over independent examples.

Each example is generated from the same ground truth with its own seed, fitted on April 2015 -
March 2018, projected from the 1 April 2018 caseload with the arrivals that were recorded, and
scored on the stocks of 31 March 2020 and 2021 (six states, two dates).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from care_demand.synthetic.generate import write_example

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "back_simulation_coverage.py"


def _coverage_module():
    spec = importlib.util.spec_from_file_location("back_simulation_coverage", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_back_simulated_90pc_intervals_cover_the_record_over_independent_examples(
    tmp_path: Path,
) -> None:
    module = _coverage_module()
    tables = []
    for seed in (101, 102, 103):
        folder = tmp_path / f"example-{seed}"
        write_example(folder, seed=seed)
        tables.append(module.back_simulate(folder, tmp_path / "cache", replicates=40))
    checks = pd.concat(tables, ignore_index=True)
    n = len(checks)
    assert n == 3 * 2 * 6
    share = checks["inside"].mean()
    # Calibrated 90% intervals: the share inside is 90% with binomial standard error
    # sqrt(0.9 x 0.1 / 36) = 5.0%; 78% is 2.4 standard errors below (a 1% chance of failing
    # by luck), and intervals too wide to be useful would show as 100% everywhere.
    assert share >= 0.78, checks[~checks["inside"]]
    # The intervals are not vacuous: they are narrower than a fifth of the stock on average.
    width = (checks["p95"] - checks["p5"]) / checks["recorded"].clip(lower=1)
    assert np.median(width) < 0.2
