"""Regenerate the stored expected results of the built-in example (``make expected``).

Calibrates the example (reusing the calibration cache), stores the hazard draws the
replicates use, projects every scenario in ``figures.SCENARIOS`` and stores their key
figures. Run it only after a deliberate change of results, and say why in the commit.

``--keep-draws`` (``make expected-figures``) keeps the stored hazard draws and recomputes
the figures from them: for a change downstream of the hazards (arrivals, simulation,
costs), so that the figures move by that change alone and not by a new fit in the cache.
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
    """Write ``hazard_draws.npz`` (unless ``--keep-draws``) and ``example.json`` next to
    this file."""
    keep = "--keep-draws" in sys.argv[1:]
    config = load_config(list(figures.OVERRIDES))
    history = load(config)[1]
    if not keep:
        fitted = calibrate(history, config)
        rng = streams.hazard_draws_rng(config.seed)
        figures.save_draws(fitted.hazards.draw(config.simulation.replicates, rng))
    stored = figures.load_draws()
    result = {name: project_figures(name, history, stored) for name in figures.SCENARIOS}
    figures.FIGURES_FILE.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    print(f"Wrote {figures.FIGURES_FILE}" + ("" if keep else f" and {figures.DRAWS_FILE}"))


if __name__ == "__main__":
    main()
