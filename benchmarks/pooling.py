"""Benchmark of the pooling of care hazards over placement groups, on councils of known truth.

Run from the repository root::

    .venv/bin/python benchmarks/pooling.py                   # three councils, SSDA903 only
    .venv/bin/python benchmarks/pooling.py --sizes 0.3 --seeds 7000 7001

Councils are generated from the built-in example's ground truth with every arrival rate
scaled (``care_demand.synthetic.region.scaled_truth``; 0.3, 1 and 2 give about 130, 450 and
900 children in care), and their SSDA903 returns alone are read, as a council with only its
children-in-care return would be. The hazards are fitted twice on each, without and with
``priors.pool_groups``, with an empty cache. The truth's rates are known, so each fit's
posterior median is compared with the true rate cell by cell (care pair x age band x
duration band, cells the council has exposure in and whose true rate is above zero):

- error: mean |log(median / true rate)|, weighted by the cell's true expected events
  (exposure x true rate), over every cell and over the sparse ones (under 5 events);
- coverage: the share of cells whose true rate lies inside the 90% credible interval, and
  the same weighted by expected events;
- the fit's wall time (compilation included), divergences and the largest R-hat.
"""

from __future__ import annotations

# isort: off
import care_demand  # noqa: F401  (before numpy: the loops every processor runs, as the CLI)

# isort: on
import argparse
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from care_demand.calibration import HazardModel
from care_demand.calibration.hazard_settings import HazardSettings
from care_demand.config import load_config
from care_demand.pipeline import load
from care_demand.synthetic import load_ground_truth
from care_demand.synthetic.generate import generate
from care_demand.synthetic.region import scaled_truth

KEYS = ["state", "group", "destination", "age_band", "duration_band"]


def _council(root: Path, size: float, seed: int) -> Path:
    """A council's SSDA903 returns alone, from the scaled ground truth."""
    full = root / f"full_{size}_{seed}"
    generate(seed=seed, truth=scaled_truth(load_ground_truth(), size, 0.0)).write(full)
    folder = root / f"council_{size}_{seed}"
    shutil.copytree(full / "ssda903", folder / "ssda903")
    return folder


def _score(model: HazardModel, truth: pd.DataFrame) -> dict[str, float]:
    fitted = model.summary(cred=0.9)
    exposure = model.exposure_[[*KEYS, "exposure_months"]].drop_duplicates(KEYS)
    for frame in (fitted, exposure):
        frame["group"] = frame["group"].astype("string").fillna("")
    cells = fitted.merge(truth, on=KEYS).merge(exposure, on=KEYS)
    cells = cells[(cells["rate_per_month"] > 0) & (cells["exposure_months"] > 0)]
    error = np.abs(np.log(cells["median"] / cells["rate_per_month"]))
    weight = cells["exposure_months"] * cells["rate_per_month"]
    inside = (cells["lower"] <= cells["rate_per_month"]) & (
        cells["rate_per_month"] <= cells["upper"]
    )
    sparse = cells["events"] < 5
    return {
        "cells": len(cells),
        "error": float(np.average(error, weights=weight)),
        "sparse error": float(np.average(error[sparse], weights=weight[sparse])),
        "coverage 90%": float(inside.mean()),
        "weighted coverage": float(np.average(inside, weights=weight)),
        "divergences": int(model.diagnostics_["divergences"]),
        "max R-hat": float(model.diagnostics_["max_rhat"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[0.3, 1.0, 2.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7000])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    truth = load_ground_truth().hazards()
    truth["group"] = truth["group"].astype("string").fillna("")
    rows = []
    with tempfile.TemporaryDirectory(prefix="pooling-") as tmp:
        root = Path(tmp)
        for size in args.sizes:
            for seed in args.seeds:
                folder = _council(root, size, seed)
                _, history, _ = load(load_config([f"data.path={folder}"]))
                in_care = int((history.spells["state"] == "care").sum())
                for pool in (False, True):
                    settings = HazardSettings.from_mapping(
                        {"priors": {"pool_groups": pool}, "sampler": {"backend": "nutpie"}}
                    )
                    settings.sampler.progressbar = False
                    started = time.perf_counter()
                    model = HazardModel(settings).fit(history)
                    score = _score(model, truth)
                    score["seconds"] = time.perf_counter() - started
                    rows.append(
                        {"size": size, "seed": seed, "care spells": in_care, "pooled": pool} | score
                    )
                    print(pd.DataFrame([rows[-1]]).round(3).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    print("\nAll fits:")
    print(table.round(3).to_string(index=False))
    paired = table.pivot_table(
        index=["size", "seed"], columns="pooled", values=["error", "sparse error"]
    )
    ratio = (paired.xs(True, axis=1, level=1) / paired.xs(False, axis=1, level=1)).round(3)
    print("\nError pooled / unpooled (below 1: pooling recovers the true rates better):")
    print(ratio.to_string())
    time_ratio = table[table["pooled"]]["seconds"].sum() / table[~table["pooled"]]["seconds"].sum()
    print(f"\nFit time pooled / unpooled, all councils: {time_ratio:.2f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
