"""Speed and memory of the flow model, printed (never asserted in tests).

Prints, measured in one run on this machine:

1. bare SimPy's event rate (processes each waiting exponential delays) and the model's
   child-transition events per second, and their ratio (target: at least 70%). The model's
   moves include those of children who stay outside care, counted in bulk rather than
   followed as events (``simulation/outside.py``); the same replicates with every child
   followed one event at a time are timed beside them;
2. how time grows with caseload size (1x, 4x, 16x the example; target: 16x costs no more
   than 17x): each size first runs one replicate untimed (a process's first replicate of a
   size pays for growing its memory once), then the same replicates at every size, best of
   three rounds; replicates differ by a third in events, so every size times the same ones;
3. the default run on the example (``care-demand`` with 200 replicates, calibration cached):
   wall time and peak memory of the whole process tree (targets: 25 s, 1.5 GB), and where
   the time goes (start-up, load, calibration read, simulation, costing, outputs), from the
   run's log.

Run: ``.venv/bin/python benchmarks/simulation.py`` (after ``make run`` has cached the
calibration; otherwise the first step calibrates). ``--profile`` also prints the top of
cProfile's profile of one replicate (``--profile 16``: of the 16x caseload);
``--no-default-run`` skips step 3.
"""

from __future__ import annotations

# isort: off
import care_demand  # noqa: F401  (before numpy: the loops every processor runs, as the CLI)

# isort: on
import argparse
import cProfile
import dataclasses
import datetime as dt
import gc
import io
import os
import pstats
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import simpy

from care_demand.config import load_config, projection_settings
from care_demand.pipeline import calibrate, load
from care_demand.simulation.engine import ReplicateModel
from care_demand.simulation.projection import prepare
from care_demand.simulation.system import CareSystem

ROOT = Path(__file__).resolve().parents[1]


def bare_simpy_rate(n_entities: int = 3000, horizon: float = 60.0, seed: int = 1) -> float:
    """Events per second of bare SimPy: processes waiting exponential delays (mean 2)."""
    delays = np.random.default_rng(seed).exponential(2.0, size=200_000).tolist()
    env = simpy.Environment()
    counter = [0]

    def entity(offset: int):
        i = offset
        while True:
            yield env.timeout(delays[i % len(delays)])
            counter[0] += 1
            i += 7

    for k in range(n_entities):
        env.process(entity(k))
    # Measured under the same conditions as the model, which pauses the cyclic collector.
    gc.disable()
    try:
        started = time.perf_counter()
        env.run(until=horizon)
        elapsed = time.perf_counter() - started
    finally:
        gc.enable()
    return counter[0] / elapsed


def model_rate(system: CareSystem, replicates: int, seed: int) -> tuple[float, float]:
    """Child-transition events per second and seconds per replicate, serial."""
    events = 0
    started = time.perf_counter()
    for r in range(replicates):
        events += ReplicateModel(system, r, seed).run().events
    elapsed = time.perf_counter() - started
    return events / elapsed, elapsed / replicates


SCALING_REPLICATES = 4
SCALING_ROUNDS = 3


def scaling_rate(system: CareSystem, seed: int) -> tuple[float, float]:
    """:func:`model_rate` of replicates ``0 .. SCALING_REPLICATES - 1``, best of
    ``SCALING_ROUNDS`` rounds, after one untimed replicate."""
    ReplicateModel(system, SCALING_REPLICATES, seed).run()
    rounds = [model_rate(system, SCALING_REPLICATES, seed) for _ in range(SCALING_ROUNDS)]
    return min(rounds, key=lambda measured: measured[1])


def paired_rates(
    system: CareSystem, replicates: int, seed: int
) -> tuple[tuple[float, float], tuple[float, float]]:
    """:func:`model_rate` with children outside care counted in bulk, and with every child
    followed one event at a time, alternating replicate by replicate so that a change in
    the machine's speed during the run falls on both alike."""
    events = [0, 0]
    seconds = [0.0, 0.0]
    for r in range(replicates):
        for i, bulk in enumerate((True, False)):
            ReplicateModel.bulk_outside = bulk
            started = time.perf_counter()
            events[i] += ReplicateModel(system, r, seed).run().events
            seconds[i] += time.perf_counter() - started
    ReplicateModel.bulk_outside = True
    bulk_rate, followed_rate = (e / s for e, s in zip(events, seconds, strict=True))
    return (bulk_rate, seconds[0] / replicates), (followed_rate, seconds[1] / replicates)


def scaled(system: CareSystem, factor: int) -> CareSystem:
    """The same system with ``factor`` times the caseload and arrivals."""
    caseload = system.caseload.loc[np.repeat(system.caseload.index, factor)]
    return dataclasses.replace(
        system,
        caseload=caseload.reset_index(drop=True),
        arrival_intensity=system.arrival_intensity * factor,
    )


def _tree_rss_kb(pid: int) -> int:
    total = 0
    stack = [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as fh:
                    stack.extend(int(c) for c in fh.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def default_run() -> tuple[float, float, dict[str, float]]:
    """Wall seconds, peak RSS (MB, whole process tree) and the time of each stage (from the
    run's log) of the default ``care-demand``."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [str(Path(sys.executable).parent / "care-demand"), f"hydra.run.dir={out}"]
        launched = dt.datetime.now()
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        peak = [0]

        def watch() -> None:
            while proc.poll() is None:
                peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
                time.sleep(0.1)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        _, err = proc.communicate()
        elapsed = time.perf_counter() - started
        watcher.join()
        if proc.returncode != 0:
            raise SystemExit(f"care-demand failed:\n{err.decode()[-2000:]}")
        logs = sorted(Path(out).glob("*.log"))
        stages = _stages(logs[0].read_text(), launched, elapsed) if logs else {}
    return elapsed, peak[0] / 1024.0, stages


# The log lines that start each stage of a run, in order.
_MARKS = {
    "start-up": None,
    "load": "Reading ",
    "calibration read": "Calibrating transition hazards",
    "simulation": "Simulating ",
    "outputs": "Simulated; writing the outputs",
    "exit": "Outputs written in",
}


def _stages(log: str, launched: dt.datetime, wall: float) -> dict[str, float]:
    """Seconds per stage of a run, from its log's time stamps (costing from its own line)."""
    stamps: dict[str, dt.datetime] = {"start-up": launched}
    costing = 0.0
    for line in log.splitlines():
        match = re.match(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\]", line)
        if not match:
            continue
        when = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f")
        for stage, text in _MARKS.items():
            if text is not None and text in line and stage not in stamps:
                stamps[stage] = when
        costs = re.search(r"of which costing ([\d.]+) s", line)
        if costs:
            costing = float(costs.group(1))
    names = [name for name in _MARKS if name in stamps]
    ends = [*(stamps[name] for name in names[1:]), launched + dt.timedelta(seconds=wall)]
    stages = {
        name: (end - stamps[name]).total_seconds() for name, end in zip(names, ends, strict=True)
    }
    if "outputs" in stages:
        stages["outputs"] -= costing
        stages["costing"] = costing
    return stages


def profile(system: CareSystem, factor: int, seed: int, top: int = 15) -> str:
    """The top of cProfile's profile (by own time) of one replicate at ``factor`` x caseload."""
    model = ReplicateModel(scaled(system, factor), 0, seed)
    profiler = cProfile.Profile()
    profiler.enable()
    model.run()
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(top)
    return text.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--profile", type=int, nargs="?", const=1, metavar="FACTOR")
    parser.add_argument("--no-default-run", action="store_true")
    args = parser.parse_args()
    config = load_config([])  # the shipped settings: the run's own calibration and its cache
    _, history, _ = load(config)
    fitted = calibrate(history, config)
    settings = dataclasses.replace(
        projection_settings(config),
        simulation=dataclasses.replace(config.simulation, horizon_months=60, replicates=8),
    )
    system = prepare(history, fitted, settings)
    print(f"caseload at start: {len(system.caseload)} children; horizon 60 months")

    bare = bare_simpy_rate()
    (rate, per_rep), (followed_rate, followed_rep) = paired_rates(system, 4, config.seed)
    bare_after = bare_simpy_rate()
    bare_mean = (bare + bare_after) / 2
    print(f"bare SimPy: {bare_mean:,.0f} events/s (before {bare:,.0f}, after {bare_after:,.0f})")
    print(f"model:      {rate:,.0f} child-transition events/s ({per_rep:.2f} s per replicate)")
    print(f"ratio model / bare SimPy: {rate / bare_mean:.0%} (target >= 70%)")
    print(
        f"  children who stay outside care followed one event at a time instead of counted "
        f"in bulk: {followed_rate:,.0f} events/s ({followed_rep:.2f} s per replicate; "
        f"{followed_rate / bare_mean:.0%} of bare SimPy); bulk counting "
        f"{followed_rep / per_rep:.2f}x faster, the same records"
    )

    print(
        f"\ncaseload scaling (serial; replicates 0-{SCALING_REPLICATES - 1} at every size, "
        f"after one untimed; best of {SCALING_ROUNDS} rounds):"
    )
    base = None
    for factor in (1, 4, 16):
        rate, seconds = scaling_rate(scaled(system, factor), config.seed)
        base = base or (seconds, rate)
        print(
            f"  {factor:>2}x caseload: {seconds:6.2f} s per replicate ({seconds / base[0]:.1f}x); "
            f"{rate:,.0f} events/s ({rate / base[1]:.2f}x the 1x rate)"
        )
    print("  (target: 16x caseload <= 17x)")

    if args.profile:
        print(f"\nprofile of one replicate, {args.profile}x caseload (cProfile, by own time):")
        print(profile(system, args.profile, config.seed))

    if args.no_default_run:
        return
    print("\ndefault run (care-demand, 200 replicates, calibration cached):")
    wall, peak_mb, stages = default_run()
    print(
        f"  wall {wall:.1f} s (target <= 25 s); peak memory {peak_mb:,.0f} MB (target < 1,536 MB)"
    )
    if stages:
        print("  " + "; ".join(f"{name} {seconds:.1f} s" for name, seconds in stages.items()))
    print(
        f"  replicates scale linearly: about {per_rep:.2f} s each on one core; the run uses "
        f"{os.cpu_count()} cores"
    )


if __name__ == "__main__":
    main()
