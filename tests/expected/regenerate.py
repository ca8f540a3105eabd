"""Regenerate the stored expected results of the built-in example (``make expected``).

Calibrates the example (reusing the calibration cache), stores the hazard draws the
replicates use, projects every scenario in ``figures.SCENARIOS`` and stores their key
figures. Run it only after a deliberate change of results, and say why in the commit.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from care_demand import streams
from care_demand.config import load_config
from care_demand.pipeline import calibrate, load
from expected import figures
from expected.project import project_figures


def main() -> None:
    """Write ``hazard_draws.npz`` and ``example.json`` next to this file."""
    config = load_config(list(figures.OVERRIDES))
    history = load(config)[1]
    fitted = calibrate(history, config)
    draws = fitted.hazards.draw(config.simulation.replicates, streams.hazard_draws_rng(config.seed))
    figures.save_draws(draws)
    stored = figures.load_draws()
    result = {name: project_figures(name, history, stored) for name in figures.SCENARIOS}
    figures.FIGURES_FILE.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"Wrote {figures.DRAWS_FILE} and {figures.FIGURES_FILE}")


if __name__ == "__main__":
    main()
