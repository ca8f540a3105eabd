"""Scenario runs from the browser app, in a background thread, through the main job.

A run of the app is what ``care-demand -m scenario=baseline,a,b`` does: each scenario goes
through :func:`care_demand.pipeline.run` into its own run folder
(``outputs/app/<start time>/<scenario>``), one after the other, and the finished runs are
compared with the baseline and written into ``comparison/`` with the comparison writers, as
the multirun's summary does. A scenario that fails records its error in its ``status.json``
and the others go on.

:class:`RunJob` holds the progress of each scenario (read by the page while it runs: its
step, and while the futures are simulated how many are done and about how long is left) and
a cancel flag: cancelling stops the scenario under way at its next step (reading the data,
calibrating, fitting the arrival trends) or, while it simulates, as soon as the futures under
way finish, and skips the ones not started; nothing of a stopped scenario is written.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from care_demand.app.actions import compose
from care_demand.app.settings import WHOLE_RECORD, AppSettings, RatePeriod
from care_demand.data import InvalidDataError
from care_demand.errors import CareDemandError, problem_lines
from care_demand.outputs.charts import write_comparison_charts
from care_demand.outputs.comparison import (
    compare_runs,
    write_comparison,
    write_comparison_workbook,
)
from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.report import write_comparison_report
from care_demand.pipeline import drop_scheduled, schedule_runs
from care_demand.pipeline import run as run_pipeline

__all__ = ["BASELINE", "RunCancelledError", "RunJob", "ScenarioProgress", "start_run"]

BASELINE = "baseline"

log = logging.getLogger("care_demand")

# The main job's log lines that mark its steps, with the share of the run done by then.
_STEPS: tuple[tuple[str, float, str], ...] = (
    ("Scenario:", 0.05, "checking the settings"),
    ("Reading", 0.10, "reading the data"),
    ("Calibrating", 0.30, "calibrating the transition rates"),
    ("Fitting arrival trends", 0.50, "fitting the arrival trends"),
)
# After the arrival trends the job simulates the futures (to 90% of the scenario's bar),
# then costs them and writes the folder.
_AFTER_LAST = (0.55, "simulating the futures")
_SIMULATED = 0.90


class RunCancelledError(CareDemandError):
    """The user cancelled the run."""


@dataclass
class ScenarioProgress:
    """One scenario's state: ``waiting``, ``running``, ``done``, ``failed`` or ``cancelled``."""

    name: str
    state: str = "waiting"
    step: str = ""
    fraction: float = 0.0
    error: str = ""
    futures_done: int = 0
    futures: int = 0
    seconds_left: float | None = None


@dataclass
class RunJob:
    """A run of the baseline and scenarios, in a background thread.

    ``sweep``: the run's folder, holding one run folder per scenario and ``comparison/``.
    """

    sweep: Path
    scenarios: list[ScenarioProgress]
    overrides: list[str]
    started: float = field(default_factory=time.monotonic)
    finished: bool = False
    compared: bool = False
    message: str = ""
    _cancel: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    def cancel(self) -> None:
        """Stop at the next step of the scenario under way and skip the rest."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """Whether the user asked to cancel."""
        return self._cancel.is_set()

    def snapshot(self) -> list[ScenarioProgress]:
        """A copy of every scenario's progress, safe to read while the run goes on."""
        with self._lock:
            return [ScenarioProgress(**vars(s)) for s in self.scenarios]

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the run to end; whether it ended within ``timeout`` seconds."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.finished

    def _update(self, index: int, **changes: object) -> None:
        with self._lock:
            for key, value in changes.items():
                setattr(self.scenarios[index], key, value)

    def run(self) -> None:
        """Run every scenario in turn, then compare them (the body of the thread)."""
        handler = _ProgressHandler(self, threading.get_ident())
        log.addHandler(handler)
        level = log.level
        if log.getEffectiveLevel() > logging.INFO:
            log.setLevel(logging.INFO)
        try:
            self._update(0, state="running", step="reading the data and calibrating")
            self._start_all()
            for index, progress in enumerate(self.scenarios):
                if self.cancelled:
                    self._update(index, state="cancelled", step="not started")
                    continue
                handler.index = index
                self._update(index, state="running", step="starting", fraction=0.02)
                self._run_one(index, progress.name)
            if self.cancelled:
                self.message = "Cancelled: no comparison was written."
            else:
                self._compare()
        except Exception as exc:  # the page must hear of any failure rather than wait
            log.exception("The app's run failed")
            self.message = f"The run stopped: {type(exc).__name__}: {exc}"
        finally:
            drop_scheduled()
            log.removeHandler(handler)
            log.setLevel(level)
            self.finished = True

    def _start_all(self) -> None:
        """Queue every scenario's futures in the worker pool before running the first.

        The pool then simulates the next scenario while this thread costs and writes the one
        before; a scenario whose settings do not compose is left to report itself.
        """
        configs = []
        for progress in self.scenarios:
            try:
                configs.append(compose([f"scenario={progress.name}", *self.overrides]))
            except CareDemandError:
                continue
        schedule_runs(configs)

    def _run_one(self, index: int, name: str) -> None:
        run_dir = self.sweep / name
        try:
            config = compose([f"scenario={name}", *self.overrides])
            run_pipeline(config, run_dir, progress=self._futures_progress(index))
        except RunCancelledError:
            self._update(index, state="cancelled", step="stopped")
        except InvalidDataError as exc:
            self._fail(index, run_dir, name, exc.report.format().splitlines()[0])
        except CareDemandError as exc:
            self._fail(index, run_dir, name, str(exc))
        except Exception as exc:  # one scenario's failure must not stop the others
            log.exception("scenario %s failed", name)
            self._fail(index, run_dir, name, f"unexpected error: {type(exc).__name__}: {exc}")
        else:
            self._update(index, state="done", step="finished", fraction=1.0)

    def _futures_progress(self, index: int) -> Callable[[int, int], None]:
        """The main job's progress callback: futures done, time left; stops on cancel."""
        start = time.monotonic()
        begun = self.snapshot()[index].fraction

        def report(done: int, total: int) -> None:
            if self.cancelled:
                raise RunCancelledError("the run was cancelled")
            elapsed = time.monotonic() - start
            left = elapsed / done * (total - done) if done else None
            step = f"simulating the futures: {done} of {total} done"
            if done == total:
                step = "costing the futures and writing the results"
            elif left is not None:
                step += f", about {_duration(left)} left"
            share = begun + (_SIMULATED - begun) * done / max(total, 1)
            self._update(
                index,
                step=step,
                fraction=share,
                futures_done=done,
                futures=total,
                seconds_left=left,
            )

        return report

    def _fail(self, index: int, run_dir: Path, name: str, message: str) -> None:
        import json

        run_dir.mkdir(parents=True, exist_ok=True)
        status = {"scenario": name, "ok": False, "error": message}
        (run_dir / LAYOUT.status).write_text(json.dumps(status), encoding="utf-8")
        self._update(index, state="failed", step="failed", error="; ".join(problem_lines(message)))

    def _compare(self) -> None:
        """The comparison of the finished runs, written as a multirun writes it."""
        run_dirs = sorted(p for p in self.sweep.iterdir() if (p / LAYOUT.status).is_file())
        config = compose(self.overrides)
        comparison = compare_runs(run_dirs, config.costs)
        out = self.sweep / LAYOUT.comparison.dir
        write_comparison(comparison, out)
        succeeded = sorted(set(comparison.headline.get("scenario", [])))
        if succeeded:
            details = {
                "scenarios": ", ".join(succeeded),
                "failed": ", ".join(sorted(comparison.failed)) or "none",
                "seed": int(config.seed),
                "sweep_folder": str(self.sweep),
            }
            workbook = out / LAYOUT.comparison.workbook
            write_comparison_workbook(comparison, run_dirs, workbook, details)
        charts = out / LAYOUT.comparison.charts_dir
        write_comparison_charts(self.sweep, charts)
        write_comparison_report(self.sweep, out / LAYOUT.comparison.report, charts)
        self.compared = bool(succeeded)
        failed = len(comparison.failed)
        self.message = (
            f"Finished: {len(succeeded)} scenario(s) compared"
            + (f", {failed} failed" if failed else "")
            + "."
        )


def _duration(seconds: float) -> str:
    """A time left in words: "40 s", "3 min"."""
    if seconds < 90:
        return f"{max(round(seconds), 1)} s"
    return f"{round(seconds / 60)} min"


class _ProgressHandler(logging.Handler):
    """Turns the main job's log lines from the run's thread into progress (and cancels)."""

    def __init__(self, job: RunJob, thread: int) -> None:
        super().__init__(logging.INFO)
        self.job = job
        self.thread = thread
        self.index = 0

    def handle(self, record: logging.LogRecord) -> bool:  # raising here stops the job
        if record.thread != self.thread:
            return False
        if self.job.cancelled:
            raise RunCancelledError("the run was cancelled")
        message = record.getMessage()
        for prefix, fraction, step in _STEPS:
            if message.startswith(prefix):
                after = prefix == _STEPS[-1][0]
                fraction, step = _AFTER_LAST if after else (fraction, step)
                self.job._update(self.index, fraction=fraction, step=step)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        """Nothing to write: the progress is read from the job."""


def start_run(
    settings: AppSettings,
    scenarios: list[str],
    size: str = "quick",
    data_path: str | None = None,
    now: datetime | None = None,
    reference: RatePeriod = WHOLE_RECORD,
) -> RunJob:
    """Start a run of the baseline and ``scenarios`` in a background thread; return the job.

    ``size``: ``quick`` (a quick look) or ``full`` (the configured number of futures and
    horizon); ``data_path``: the council folder (``None``: the built-in example);
    ``reference``: the part of the record the rates are fitted on (the whole by default).
    """
    stamp = (now or datetime.now()).strftime("%Y-%m-%d_%H-%M-%S")
    sweep = settings.app_runs / stamp
    suffix = 1
    while sweep.exists():
        suffix += 1
        sweep = settings.app_runs / f"{stamp}_{suffix}"
    sweep.mkdir(parents=True)
    names = [BASELINE, *[s for s in scenarios if s != BASELINE]]
    overrides = settings.run_overrides(size, data_path, reference)
    # Scenarios run one after the other, each with the configured processes for replicates.
    job = RunJob(sweep=sweep, scenarios=[ScenarioProgress(n) for n in names], overrides=overrides)
    job._thread = threading.Thread(target=job.run, name="care-demand-app-run", daemon=True)
    job._thread.start()
    return job
