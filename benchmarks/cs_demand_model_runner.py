"""Run cs-demand-model on prepared SSDA903 folders (inside its own isolated environment).

Called by ``benchmarks/cs_demand_model_comparison.py`` with the interpreter of
``.cache/cs-demand-model-venv``; it imports only cs-demand-model and its dependencies
(old pandas), never ``care_demand``. Reads a JSON job from the file named on the command
line and writes a JSON answer to the second file named.

Job: ``{"categories": {name: [PLACE codes]}, "tasks": [...]}``. Each task is either a
forecast (``{"kind": "forecast", "folder", "cut", "reference_start", "targets": [dates]}``:
the model is fitted on the folder's data from ``reference_start`` to ``cut`` and projects
daily from the cut) or a count of the model's own recorded stock (``{"kind": "stock",
"folder", "dates": [dates]}``). Answers hold children by placement category, summed over
age brackets, for each date.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import warnings
from importlib import resources
from pathlib import Path

import pandas as pd
import yaml
from cs_demand_model import (
    Config,
    DemandModellingDataContainer,
    ModelPredictor,
    PopulationStats,
    fs_datastore,
)

NOT_IN_CARE = "NOT_IN_CARE"


def model_config(categories: dict[str, list[str]], folder: Path) -> Config:
    """The package's shipped configuration with the placement categories replaced.

    Codes in no category fall into the model's own "Other" category.
    """
    shipped = resources.files("cs_demand_model.fixtures.config") / "standard-v1.yaml"
    settings = yaml.safe_load(shipped.read_text(encoding="utf-8"))
    settings["config"]["PlacementCategories"] = {
        name.upper(): {"label": name.capitalize(), "placement_types": list(codes)}
        for name, codes in categories.items()
    }
    path = folder / "cs_demand_model_config.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return Config(str(path))


def by_category(population: pd.Series) -> dict[str, float]:
    """Children per placement category (``(age bracket, category)`` labels), in care only."""
    totals: dict[str, float] = {}
    for label, value in population.items():
        if not isinstance(label, tuple) or len(label) != 2 or label[1] == NOT_IN_CARE:
            continue
        name = str(label[1]).lower()
        totals[name] = totals.get(name, 0.0) + float(value)
    return totals


def stats_for(folder: str, config: Config) -> PopulationStats:
    container = DemandModellingDataContainer(fs_datastore(folder), config)
    return PopulationStats(container.enriched_view, config)


def forecast(task: dict, config: Config) -> dict:
    stats = stats_for(task["folder"], config)
    cut = pd.Timestamp(task["cut"])
    targets = [pd.Timestamp(t) for t in task["targets"]]
    predictor = ModelPredictor.from_model(
        stats, pd.Timestamp(task["reference_start"]), cut, prediction_start=cut
    )
    days = (max(targets) - cut).days
    predicted = predictor.predict(days, step_days=1)
    predicted.index = pd.to_datetime(predicted.index)
    out = {}
    for target in targets:
        row = predicted.loc[target]
        out[f"{target:%Y-%m-%d}"] = by_category(row)
    start = by_category(stats.stock_at(cut))
    return {"forecast": out, "stock_at_cut": start}


def stock(task: dict, config: Config) -> dict:
    stats = stats_for(task["folder"], config)
    return {
        "stock": {
            f"{pd.Timestamp(d):%Y-%m-%d}": by_category(stats.stock_at(pd.Timestamp(d)))
            for d in task["dates"]
        }
    }


def main() -> None:
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    answers = []
    with tempfile.TemporaryDirectory() as scratch:
        config = model_config(job["categories"], Path(scratch))
        for task in job["tasks"]:
            run = forecast if task["kind"] == "forecast" else stock
            answers.append({**task, **run(task, config)})
    Path(sys.argv[2]).write_text(json.dumps(answers, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
