"""A multirun of scenarios (``care-demand -m scenario=a,b,c``), before and after its jobs.

Hydra's basic launcher runs each scenario as a job, in turn and in this process, into its own
run folder. Around the jobs, :class:`Multirun` (a Hydra callback, ``configs/config.yaml``):

- **before** they start, composes every job's configuration and loads each distinct data
  set and calibrates on it once (kept in this process and in the calibration cache). Each
  job then reuses them and the one pool of worker processes.
- **after** them, compares the runs that succeeded with the baseline
  (:func:`care_demand.outputs.comparison.compare_runs`), writes ``comparison/`` with its
  report, prints one line per failed scenario and exits with status 1 if any failed.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import sys
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Any

from care_demand.config import AppConfig, load_config
from care_demand.errors import CareDemandError, problem_lines
from care_demand.outputs.layout import LAYOUT

__all__ = [
    "Multirun",
    "calibrate_once",
    "expand_sweep",
    "failed_runs",
    "start_scenarios",
    "summarise_multirun",
]

log = logging.getLogger("care_demand")

try:  # Hydra is a dependency of the command line; the library works without it.
    from hydra.experimental.callback import Callback as _Callback
except ImportError:  # pragma: no cover
    _Callback = object  # type: ignore[assignment,misc]


def expand_sweep(overrides: Sequence[str]) -> list[list[str]]:
    """Every job's overrides of a sweep, as Hydra's basic sweeper forms them.

    ``["scenario=a,b", "seed=7"]`` gives ``[["scenario=a", "seed=7"], ["scenario=b",
    "seed=7"]]``: the cartesian product of the comma-separated (and ``range``/``choice``)
    sweeps, in order.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    options: list[list[str]] = []
    for override in parsed:
        if override.is_sweep_override():
            key = override.get_key_element()
            options.append([f"{key}={value}" for value in override.sweep_string_iterator()])
        else:
            options.append([override.input_line or ""])
    return [list(job) for job in itertools.product(*options)]


def _calibration_key(config: AppConfig) -> str:
    """What the fitted hazards depend on: the data and the calibration settings."""
    payload = {
        "data": dataclasses.asdict(config.data),
        "calibration": dataclasses.asdict(config.calibration),
    }
    return json.dumps(payload, sort_keys=True, default=str)


def calibrate_once(configs: Iterable[AppConfig]) -> int:
    """Load and fit the hazards once per distinct data set and calibration setting.

    Fills each setting's calibration cache, and this process's memory of the last
    calibration, so that the runs of ``configs`` reuse it. A
    problem with the data or the fit is logged in one line and left for each run to report
    with its scenario. Returns how many distinct calibrations there were.
    """
    from care_demand.data import InvalidDataError
    from care_demand.pipeline import calibrate, load

    distinct: dict[str, AppConfig] = {}
    for config in configs:
        if config.run_until != "data":
            distinct.setdefault(_calibration_key(config), config)
    for config in distinct.values():
        cache = Path(config.calibration.cache_dir).expanduser()
        try:
            history = load(config)[1]
            log.info("Calibrating the transition hazards once for the scenarios (cache: %s)", cache)
            model = calibrate(history, config).hazards
        except InvalidDataError:
            log.error("The data did not pass validation; each scenario reports the problems.")
        except CareDemandError as exc:
            log.error("Calibration before the scenarios stopped: %s", str(exc).splitlines()[0])
        else:
            log.info(
                "Hazards %s; the scenarios reuse them",
                "found in the cache" if model.from_cache_ else "sampled",
            )
    return len(distinct)


def start_scenarios(configs: Sequence[AppConfig]) -> int:
    """Load and calibrate once per data set before the scenarios run.

    The jobs then run in turn in this process, reusing the data, the calibration and one
    pool of worker processes, which draws each scenario's charts once its futures are done.
    (Queuing every scenario's futures ahead, :func:`care_demand.pipeline.schedule_runs`, as
    the browser app does, is not used here: measured on the example, ``make run`` took the
    same time either way, 314 s.) Returns how many distinct calibrations there were.
    """
    return calibrate_once(configs)


def failed_runs(sweep_dir: Path) -> dict[str, str]:
    """Scenario -> error of every job of ``sweep_dir`` that failed or left no status."""
    failed: dict[str, str] = {}
    for folder in sorted(p for p in sweep_dir.iterdir() if p.is_dir()):
        status_path = folder / LAYOUT.status
        if status_path.is_file():
            status = json.loads(status_path.read_text(encoding="utf-8"))
            if not status.get("ok", False):
                name = str(status.get("scenario") or folder.name)
                failed[name] = str(status.get("error", "unknown error"))
        elif (folder / LAYOUT.hydra_dir).is_dir():  # a job that stopped before recording its end
            failed[folder.name] = "the run stopped without recording its result"
    return failed


def _start_comparison_charts(sweep: Path, charts: Path, n_jobs: int) -> list[Future]:
    """Start drawing the comparison's charts in the worker pool when it is idle, a few per
    task (see :func:`care_demand.pipeline.submit_when_idle`)."""
    from care_demand.outputs.charts import write_comparison_charts
    from care_demand.pipeline import chart_parts, submit_when_idle

    tasks = chart_parts(write_comparison_charts, (str(sweep), str(charts)), n_jobs)
    return submit_when_idle(n_jobs, tasks)


def summarise_multirun(config: Any) -> int:
    """Compare the runs of a finished multirun, report failures; return the exit status."""
    from care_demand.outputs.comparison import (
        BASELINE,
        compare_runs,
        write_comparison,
        write_comparison_workbook,
    )

    sweep = Path(str(config.hydra.sweep.dir))
    if not sweep.is_dir():
        return 0
    failed = failed_runs(sweep)
    run_dirs = sorted(p for p in sweep.iterdir() if (p / LAYOUT.status).is_file())
    from omegaconf import OmegaConf

    from care_demand.outputs.charts import write_comparison_charts
    from care_demand.outputs.report import write_comparison_report
    from care_demand.pipeline import results_of

    out = sweep / LAYOUT.comparison.dir
    charts = out / LAYOUT.comparison.charts_dir
    costs = OmegaConf.to_object(config.costs) if "costs" in config else None
    comparison = compare_runs(run_dirs, costs)
    comparison.failed.update(failed)
    write_comparison(comparison, out)
    # The charts (drawn from the runs and the tables just written) go to the worker pool,
    # idle now, while this process writes the workbook.
    charting = _start_comparison_charts(sweep, charts, int(config.simulation.n_jobs))
    succeeded = sorted(set(comparison.headline.get("scenario", [])))
    if succeeded:
        details = {
            "scenarios": ", ".join(succeeded),
            "failed": ", ".join(sorted(comparison.failed)) or "none",
            "seed": int(config.seed),
            "sweep_folder": str(sweep),
        }
        write_comparison_workbook(comparison, run_dirs, out / LAYOUT.comparison.workbook, details)
    if charting:
        results_of(charting)
    else:
        write_comparison_charts(sweep, charts)
    report = write_comparison_report(sweep, out / LAYOUT.comparison.report, charts)
    print(f"\ncare-demand: scenario comparison written to {out.resolve()}")
    print(f"Report: {report.resolve()}")
    if not succeeded:
        print("care-demand: no scenario finished, so there is nothing to compare.", file=sys.stderr)
    elif BASELINE not in succeeded:
        print(
            "care-demand: no baseline finished in this multirun, so no differences from it "
            "are shown.",
            file=sys.stderr,
        )
    for name, reason in sorted(comparison.failed.items()):
        print(f"care-demand: scenario {name} failed: {_one_line(reason)}", file=sys.stderr)
    if comparison.failed:
        others = "; the others' outputs are complete" if succeeded else ""
        print(
            f"care-demand: {len(comparison.failed)} of "
            f"{len(comparison.failed) + len(succeeded)} scenario(s) failed{others}.",
            file=sys.stderr,
        )
        return 1
    return 0


def _one_line(message: str) -> str:
    lines = problem_lines(message)
    if len(lines) <= 1:
        return lines[0]
    return f"{lines[0]} (and {len(lines) - 1} more line(s) in the run's {LAYOUT.status})"


class Multirun(_Callback):  # type: ignore[misc]
    """Hydra callback: calibrate once before a multirun's jobs, compare them after."""

    def on_multirun_start(self, config: Any, **kwargs: Any) -> None:
        """Compose every job and calibrate once per data set."""
        task = [str(item) for item in config.hydra.overrides.task]
        # Scenario files in folders added to the search path compose as the jobs will.
        searchpath = [str(item) for item in config.hydra.get("searchpath") or []]
        extra = [f"hydra.searchpath=[{','.join(searchpath)}]"] if searchpath else []
        configs = []
        for job in expand_sweep(task):
            try:
                configs.append(load_config([*job, *extra], in_app=True))
            except CareDemandError as exc:  # the job reports its own configuration problem
                log.debug("Job %s not composed before the multirun: %s", job, exc)
        start_scenarios(configs)

    def on_multirun_end(self, config: Any, **kwargs: Any) -> None:
        """Write the comparison into the sweep folder; exit with status 1 if a run failed."""
        from care_demand.pipeline import drop_scheduled

        drop_scheduled()
        try:
            status = summarise_multirun(config)
        except Exception as exc:  # Hydra would turn it into a warning and exit 0
            log.debug("The comparison failed", exc_info=True)
            print(
                f"care-demand: the scenarios ran, but their comparison could not be written: "
                f"{type(exc).__name__}: {exc}",
                file=sys.stderr,
            )
            status = 1
        if status:
            sys.exit(status)
