"""The notebooks run top to bottom on the example, so they never fall out of date."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib
import pytest

QUICK_START = Path(__file__).resolve().parents[1] / "notebooks" / "01_quick_start.ipynb"


@pytest.mark.slow
def test_quick_start_notebook_runs(calibration_cache: Path) -> None:
    path = QUICK_START
    matplotlib.use("Agg")
    cells = json.loads(path.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code"
    namespace: dict[str, object] = {}
    for i, source in enumerate(code):
        # Share the session's calibration cache so the example is sampled once.
        source = source.replace(
            '"simulation.replicates=20"',
            f'"simulation.replicates=20", "calibration.cache_dir={calibration_cache}"',
        )
        exec(compile(source, f"{path.name}[{i}]", "exec"), namespace)
    care = namespace["care"]
    assert len(care) == 36  # simulation.horizon_months=36 in the notebook
    assert (care["p10"] <= care["p90"]).all()
