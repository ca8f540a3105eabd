"""Time a quick look from the browser app: the baseline against one scenario, press to result.

Drives the app's own server functions (``care_demand.app.jobs.start_run``), as the Run
button does: each scenario through the main job into a run folder, then the comparison.
The calibration cache on disk is warmed first (the figure is for a warm cache, as an analyst
who has opened the app before has) and the process's own memory of the data and calibration
is cleared, as in a freshly started app; the time is measured from the start of the run to
the end of the comparison, with the time each scenario finished. Prints the quick-look time
and, with ``--full``, the full-size time.

    .venv/bin/python benchmarks/app_quick_look.py [--scenario more_foster_carers] [--full]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from care_demand import pipeline
from care_demand.app.jobs import start_run
from care_demand.app.settings import AppSettings
from care_demand.config import load_config
from care_demand.pipeline import calibrate, load


def _timed(settings: AppSettings, scenario: str, size: str) -> float:
    # A fresh app process with a warm calibration cache on disk: the run reads the data and
    # the posterior itself, and fits the arrival trends, as after a restart.
    pipeline._LOADED.clear()
    pipeline._CALIBRATED.clear()
    started = time.perf_counter()
    job = start_run(settings, [scenario], size=size)
    finished: dict[str, float] = {}
    while not job.wait(0.1):
        for item in job.snapshot():
            if item.state == "done" and item.name not in finished:
                finished[item.name] = time.perf_counter() - started
    elapsed = time.perf_counter() - started
    steps = ", ".join(f"{name} done at {t:.1f} s" for name, t in finished.items())
    print(f"  {size}: {steps}, comparison written at {elapsed:.1f} s")
    failed = [s.name for s in job.snapshot() if s.state != "done"]
    if failed or not job.compared:
        raise SystemExit(f"the run did not finish: {failed or job.message}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="more_foster_carers")
    parser.add_argument("--full", action="store_true", help="also time the full size")
    args = parser.parse_args()
    config = load_config()
    calibrate(load(config)[1], config)  # warm the configured calibration cache
    with tempfile.TemporaryDirectory() as tmp:
        settings = AppSettings(outputs=Path(tmp))
        quick = _timed(settings, args.scenario, "quick")
        print(f"quick look (baseline + {args.scenario}, 50 futures x 24 months): {quick:.1f} s")
        if args.full:
            full = _timed(settings, args.scenario, "full")
            print(f"full size (baseline + {args.scenario}, configured default): {full:.1f} s")


if __name__ == "__main__":
    main()
