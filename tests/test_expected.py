"""End-to-end check against stored expected results: the example's key projection figures.

A refactor must not move a number. The figures (children, flows, arrivals, capacity by
month; each replicate's children in care at the end; costs by financial year) of the
baseline and the transformation scenario, 8 replicates over 24 months with the shipped
seed, are compared with ``tests/expected/example.json`` to a relative 1e-9. Regenerate
after a deliberate change with ``make expected``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from care_demand import PORTABLE_NUMPY, numpy_is_portable
from care_demand.data import EventHistory
from expected import figures
from expected.project import project_figures


@pytest.fixture(scope="module")
def stored() -> dict:
    return json.loads(figures.FIGURES_FILE.read_text())


@pytest.mark.slow
@pytest.mark.parametrize("scenario", figures.SCENARIOS)
def test_projection_matches_the_stored_figures(
    scenario: str, stored: dict, example_history: EventHistory
) -> None:
    assert numpy_is_portable(), (
        "numpy runs this processor's AVX-512 loops in this process (pytest's plugins import it "
        "before care_demand): run `make test`, or set "
        + " ".join(f"{k}={v}" for k, v in PORTABLE_NUMPY.items())
    )
    actual = project_figures(scenario, example_history, figures.load_draws())
    problems = figures.compare(stored[scenario], actual)
    assert not problems, f"{len(problems)} figures moved, e.g.:\n" + "\n".join(problems[:20])


def test_a_process_importing_care_demand_first_runs_the_portable_loops() -> None:
    # The command-line tools and the app import care_demand before numpy, and their worker
    # processes inherit the setting; on a processor without AVX-512 this holds trivially.
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in PORTABLE_NUMPY}
    code = "import care_demand, numpy; print(care_demand.numpy_is_portable())"
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert first.stdout.strip() == "True", first.stderr
    # Set by hand beforehand, the user's own setting is kept.
    env["NPY_DISABLE_CPU_FEATURES"] = "AVX512_SPR"
    code = "import care_demand, os; print(os.environ['NPY_DISABLE_CPU_FEATURES'])"
    kept = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert kept.stdout.strip() == "AVX512_SPR", kept.stderr


def test_a_run_says_once_when_numpy_came_first(tmp_path: Path) -> None:
    # numpy imported before care_demand (as in a notebook that starts with it): on a
    # processor with AVX-512 the first run of the process says so, once; elsewhere nothing.
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in PORTABLE_NUMPY}
    code = (
        "import numpy, logging\n"
        "from care_demand import numpy_is_portable, pipeline\n"
        "from care_demand.config import load_config\n"
        "logging.basicConfig(level=logging.WARNING)\n"
        "for i in range(2):\n"
        f"    pipeline.run(load_config(['run_until=data']), r'{tmp_path}' + f'/run{{i}}')\n"
        "print('portable', numpy_is_portable())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    said = done.stderr.count("numpy was imported before care_demand")
    assert said == (0 if "portable True" in done.stdout else 1), done.stderr[-2000:]


def test_the_stored_figures_cover_the_projection(stored: dict) -> None:
    # Enough to fail loudly: stocks, flows and capacity at every stored month, every
    # replicate's end state and every year's costs, in both scenarios.
    for scenario in figures.SCENARIOS:
        series = stored[scenario]["series"]
        assert {"children/care", "flow/entry_to_care", "capacity/inhouse_foster"} <= set(series)
        assert all(set(v) == {str(m) for m in figures.MONTHS} for v in series.values())
        assert len(stored[scenario]["children_in_care_at_end"]) == 8
        assert any(key.endswith("/placements") for key in stored[scenario]["costs"])
    # The scenario moves something.
    base, other = (stored[s] for s in figures.SCENARIOS)
    assert figures.compare(base, other)


def test_compare_reports_a_moved_figure() -> None:
    a = {"series": {"children/care": {"0": 400.0}}, "costs": {"2026/27/total": 1.0}}
    b = {"series": {"children/care": {"0": 401.0}}, "costs": {"2026/27/total": 1.0}}
    assert figures.compare(a, b) == ["/series/children/care/0: 401.0, expected 400.0"]
    assert figures.compare(a, a) == []
