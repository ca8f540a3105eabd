"""Ctrl-C during a run: one line, exit status 130, no worker left, nothing written."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest


def _children(pid: int) -> set[int]:
    """Every descendant process of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _simulating(tmp_path: Path, calibration_cache: Path) -> tuple[subprocess.Popen, list[str]]:
    """A run of 400 replicates on the example, a few seconds into simulating them, and the
    lines it has printed and logged so far (the list grows as it goes on)."""
    command = [
        sys.executable,
        "-m",
        "care_demand.cli",
        "simulation.replicates=400",
        "simulation.n_jobs=2",
        "simulation.chunk_size=1",
        f"calibration.cache_dir={calibration_cache}",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        # Ctrl-C as in a terminal, even when the suite itself runs in the background (where
        # the shell starts it ignoring SIGINT, which its children would inherit).
        preexec_fn=_interruptible,
    )
    said: list[str] = []  # what the run printed and logged, in order
    reader = threading.Thread(target=lambda: said.extend(process.stdout), daemon=True)
    reader.start()
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        if any("Simulating" in line for line in said):
            break
        time.sleep(0.2)
    time.sleep(3)  # well into the simulation: the worker processes are busy
    assert process.poll() is None, "the run ended before it was well into simulating"
    return process, said


def _ended(process: subprocess.Popen, said: list[str]) -> str:
    process.wait(timeout=120)
    time.sleep(0.5)  # the reader takes the last lines
    process.stdout.close()  # type: ignore[union-attr]
    return "".join(said)


def _pool_workers(pid: int) -> list[int]:
    """The worker pool's processes among the descendants of ``pid``."""
    found = []
    for child in _children(pid):
        try:
            cmdline = (Path("/proc") / str(child) / "cmdline").read_bytes()
        except OSError:
            continue
        if b"popen_loky" in cmdline:
            found.append(child)
    return found


def _gone(workers: list[int]) -> bool:
    stop = time.monotonic() + 20
    while time.monotonic() < stop and any(_alive(p) for p in workers):
        time.sleep(0.5)
    return not [p for p in workers if _alive(p)]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
def test_ctrl_c_stops_cleanly(tmp_path: Path, calibration_cache: Path) -> None:
    process, said = _simulating(tmp_path, calibration_cache)
    workers = _children(process.pid)
    assert len(workers) >= 2
    process.send_signal(signal.SIGINT)
    output = _ended(process, said)
    assert process.returncode == 130, output[-2000:]
    lines = [line for line in output.splitlines() if line.startswith("interrupted")]
    assert lines == [f"interrupted: nothing written to {tmp_path / 'run'}"]
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    assert _gone(workers), "a worker process outlived the run"
    # Nothing of the run was published.
    assert not (tmp_path / "run" / "status.json").exists()
    assert not (tmp_path / "run" / "report.html").exists()


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process table from /proc")
def test_a_worker_killed_mid_run_fails_the_run_in_one_line(
    tmp_path: Path, calibration_cache: Path
) -> None:
    """A worker process killed while simulating (as the kernel does when memory runs out)."""
    process, said = _simulating(tmp_path, calibration_cache)
    workers = _pool_workers(process.pid)
    assert len(workers) == 2
    os.kill(workers[0], signal.SIGKILL)
    output = _ended(process, said)
    assert process.returncode == 2, output[-2000:]
    assert "A worker process ended before finishing its work" in output
    assert "simulation.n_jobs=1" in output
    assert "Traceback" not in output
    assert _gone(workers), "the other worker process outlived the run"
    assert not (tmp_path / "run" / "status.json").exists()
    assert not (tmp_path / "run" / "report.html").exists()


# A process that starts the worker pool, gives it work and then waits to be killed.
_POOL_OWNER = """
import sys, time
from concurrent.futures import wait
from care_demand.simulation.runner import worker_pool
pool = worker_pool(2)
wait([pool.submit(time.sleep, 0.5) for _ in range(4)])
print("ready", flush=True)
time.sleep(600)
"""


def test_a_run_killed_outright_leaves_no_worker_behind() -> None:
    command = [sys.executable, "-c", _POOL_OWNER]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as owner:
        try:
            assert owner.stdout is not None and owner.stdout.readline().strip() == "ready"
            workers = _children(owner.pid)
            assert len(workers) >= 2
        finally:
            owner.kill()  # SIGKILL: the owner cannot stop its workers itself
            owner.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in workers):
        time.sleep(0.2)
    alive = [p for p in workers if Path(f"/proc/{p}").exists()]
    for pid in alive:  # do not leave them behind for the rest of the session either
        os.kill(pid, signal.SIGKILL)
    assert alive == [], "worker processes outlived the run that started them"


def _kind_of(array: object) -> str:
    import numpy as np

    return "memmap" if isinstance(array, np.memmap) else type(array).__name__


def test_the_pool_sends_arrays_pickled_and_leaves_no_shared_memory_file() -> None:
    """Large arrays reach the workers pickled: joblib's memory-mapped folder in /dev/shm,
    left at exit, made its resource tracker warn of a leaked file after every run."""
    import numpy as np

    from care_demand.simulation.runner import worker_pool

    before = set(Path("/dev/shm").glob("joblib_memmapping_folder_*/*"))
    big = np.zeros(2_000_000)  # 16 MB: above joblib's 1 MB threshold for memory-mapping
    assert worker_pool(2).submit(_kind_of, big).result(timeout=120) == "ndarray"
    assert set(Path("/dev/shm").glob("joblib_memmapping_folder_*/*")) <= before
