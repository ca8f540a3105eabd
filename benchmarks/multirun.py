"""Wall time and peak memory of `make run` (the shipped scenarios side by side) and of one run.

Measured in one run on this machine, each as a fresh ``care-demand`` process with the
calibration cache warm (a first fit fills it when it is empty and is not timed):

1. the baseline alone (``care-demand``: 200 futures x 60 months); target 25 s or less;
2. ``make run``'s multirun (every scenario of the Makefile's ``SCENARIOS``, 200 futures x 60
   months each): wall time (target 120 s or less) and the peak resident memory of the whole
   process tree, worker processes included (target under 2 GB);
3. how the multirun compares with running its scenarios one after another (the baseline's
   time times the number of scenarios): the share of the work the multirun saves;
4. the CPU time each used, worker processes included, and the least wall time it allows on
   this machine's cores (CPU time / cores): no schedule of that work finishes sooner, so a
   target below it needs less work, not more overlap.

    .venv/bin/python benchmarks/multirun.py [--replicates 200] [--horizon 60]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = Path(sys.executable).parent / "care-demand"


def _tree_rss_kb(pid: int) -> int:
    """Resident memory of a process and all its descendants (kB, from /proc)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/status") as fh:
                total += next(int(ln.split()[1]) for ln in fh if ln.startswith("VmRSS:"))
            for task in Path(f"/proc/{p}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's children that have ended, theirs
    included."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(args: list[str]) -> tuple[float, float, float]:
    """Wall seconds, peak memory (MB, whole process tree) and CPU seconds (the process and
    the worker processes it ended) of ``care-demand ARGS``."""
    cpu = _children_cpu()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(CLI), *args], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
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
        raise SystemExit(f"care-demand {' '.join(args)} failed:\n{err.decode()[-2000:]}")
    return elapsed, peak[0] / 1024.0, _children_cpu() - cpu


def main(argv: list[str] | None = None) -> int:
    """Run the measurements and print them."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=200)
    parser.add_argument("--horizon", type=int, default=60)
    args = parser.parse_args(argv)
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    scenarios = re.search(r"^SCENARIOS \?= (.+)$", makefile, re.M).group(1).strip()
    size = [f"simulation.replicates={args.replicates}", f"simulation.horizon_months={args.horizon}"]
    with tempfile.TemporaryDirectory() as tmp:
        measure([*size, "simulation.replicates=2", f"hydra.run.dir={tmp}/warm"])  # fill the cache
        one, one_mb, one_cpu = measure([*size, f"hydra.run.dir={tmp}/baseline"])
        many, many_mb, many_cpu = measure(
            ["-m", f"scenario={scenarios}", *size, f"hydra.sweep.dir={tmp}/m"]
        )
    n = len(scenarios.split(","))
    cores = os.cpu_count() or 1
    print(f"{args.replicates} futures x {args.horizon} months, calibration cache warm")
    print(f"baseline run:          {one:6.1f} s, peak {one_mb:,.0f} MB (target <= 25 s)")
    print(
        f"make run ({n} scenarios): {many:6.1f} s, peak {many_mb:,.0f} MB "
        f"(targets <= 120 s, < 2,048 MB)"
    )
    print(
        f"the multirun takes {many / (n * one):.2f}x the time of {n} baseline runs one after "
        f"another ({n * one:.0f} s)"
    )
    for name, wall, cpu in (("baseline run", one, one_cpu), ("make run", many, many_cpu)):
        print(
            f"{name}: {cpu:.0f} CPU seconds, worker processes included; on {cores} cores no "
            f"schedule finishes under {cpu / cores:.1f} s (the run: {wall:.1f} s, "
            f"{cpu / cores / wall:.0%} of its cores busy)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
