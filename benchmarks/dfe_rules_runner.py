"""Run the DfE's SSDA903 validation rules on CSV returns (inside their own environment).

Called by ``benchmarks/dfe_rules.py`` with the interpreter of ``.cache/dfe-validator-venv``;
it imports only Data to Insight's validator (``csc-validator-be-903``, package
``lac_validator``) and its dependencies (pandas < 2), never ``care_demand``. Reads a JSON job
from the file named on the command line and writes a JSON answer to the second file named.

Job: ``{"ruleset": "lac2022_23", "local_authority": "E06000059", "tasks": [{"year": 2022,
"this_year": [paths], "prev_year": [paths]}]}``. Each task is one collection year (the year
ending 31 March): the validator reads the CSV files as its web front end does ("This year"
and "Prev year" uploads), runs every rule of the ruleset, and the answer lists the rules run,
skipped (a table they need was not supplied) and unable to run, with the rows each failing
rule flagged, by table.
"""

from __future__ import annotations

import importlib
import json
import logging
import sys
import warnings
from pathlib import Path

from lac_validator.lac_validator import LacValidator
from lac_validator.utils import process_uploaded_files


def validate(task: dict, registry: dict, local_authority: str) -> dict:
    files = process_uploaded_files(
        {"This year": task["this_year"], "Prev year": task.get("prev_year", [])}
    )
    metadata = {"collectionYear": str(task["year"]), "localAuthority": local_authority}
    v = LacValidator(metadata=metadata, files=files, registry=registry)
    failed: dict[str, dict[str, int]] = {}
    for table, frame in v.ds_results.items():
        if not hasattr(frame, "columns"):
            continue
        for column in frame.columns:
            if not str(column).startswith("ERR_"):
                continue
            count = int((frame[column] == True).sum())  # noqa: E712 (object column)
            if count:
                failed.setdefault(str(column)[4:], {})[table] = count
    return {
        "year": task["year"],
        "run": sorted(str(c) for c in v.dones),
        "skipped": sorted(str(c) for c in v.skips),
        "could_not_run": sorted(str(c) for c in v.fails),
        "failed": failed,
        "messages": {str(c): str(registry[c].message) for c in failed},
    }


def main() -> None:
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    module = importlib.import_module(f"lac_validator.rules.{job['ruleset']}")
    registry = module.registry
    answers = [validate(task, registry, job["local_authority"]) for task in job["tasks"]]
    Path(sys.argv[2]).write_text(json.dumps(answers, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
