"""Wall time and peak memory of `make run` (the shipped scenarios side by side) and of one run.

Measured in one run on this machine, each as a fresh ``care-demand`` process with the
calibration cache warm (a first fit fills it when it is empty and is not timed):

1. the baseline alone (``care-demand``: 200 futures x 60 months); target 25 s or less;
2. ``make run``'s multirun (every scenario of the Makefile's ``SCENARIOS``, 200 futures x 60
   months each): wall time (target 120 s or less) and the peak resident memory of the whole
   process tree, worker processes included (target under 2 GB);
3. how the multirun compares with running its scenarios one after another (the baseline's
   time times the number of scenarios): the share of the work the multirun saves.

    .venv/bin/python benchmarks/multirun.py [--replicates 200] [--horizon 60]
"""

from __future__ import annotations

import argparse
import re
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


def measure(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak memory (MB, whole process tree) of ``care-demand ARGS``."""
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
    return elapsed, peak[0] / 1024.0


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
        one, one_mb = measure([*size, f"hydra.run.dir={tmp}/baseline"])
        many, many_mb = measure(["-m", f"scenario={scenarios}", *size, f"hydra.sweep.dir={tmp}/m"])
    n = len(scenarios.split(","))
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
