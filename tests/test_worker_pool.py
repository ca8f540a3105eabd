"""The worker pool: a pool that stops fails the run instead of hanging it; stopping is prompt."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from concurrent.futures import Future

import pytest

from care_demand.errors import CareDemandError
from care_demand.simulation import runner


class _StoppedPool:
    """A pool whose manager thread has ended: what it was given never finishes."""

    def __init__(self) -> None:
        self._executor_manager_thread = threading.Thread(target=lambda: None)
        self._executor_manager_thread.start()
        self._executor_manager_thread.join()
        self.submitted: list[Future] = []
        self.shut_down = False

    def submit(self, *args: object, **kwargs: object) -> Future:
        future: Future = Future()
        self.submitted.append(future)
        return future

    def shutdown(self, wait: bool = True) -> None:
        self.shut_down = True


@pytest.fixture
def stopped_pool(monkeypatch: pytest.MonkeyPatch) -> _StoppedPool:
    pool = _StoppedPool()
    monkeypatch.setattr(runner, "worker_pool", lambda n_jobs: pool)
    monkeypatch.setattr(runner, "POOL_CHECK_SECONDS", 0.05)
    return pool


def test_replicates_given_to_a_stopped_pool_fail_with_a_message(
    stopped_pool: _StoppedPool,
) -> None:
    submitted = runner.Submitted(object(), n_replicates=6, seed=1, n_jobs=2, chunk_size=2)
    outcome: list[BaseException] = []

    def wait_for_results() -> None:
        try:
            submitted.results()
        except BaseException as error:  # recorded for the assertion below
            outcome.append(error)

    waiting = threading.Thread(target=wait_for_results, daemon=True)
    waiting.start()
    waiting.join(timeout=30)
    assert not waiting.is_alive(), "waiting on a stopped pool never ended"
    assert len(outcome) == 1 and isinstance(outcome[0], runner.PoolStoppedError)
    assert isinstance(outcome[0], CareDemandError)  # the command line prints it, no traceback
    assert "simulation.n_jobs=1" in str(outcome[0])
    assert stopped_pool.shut_down  # the next run starts a fresh pool
    assert len(stopped_pool.submitted) == 3 and all(f.cancelled() for f in stopped_pool.submitted)


def test_the_warm_up_gives_up_on_a_stopped_pool(stopped_pool: _StoppedPool) -> None:
    """A run starts the pool while it calibrates and waits for that before simulating."""
    thread = runner.start_workers(2)
    assert thread is not None
    thread.join(timeout=30)
    assert not thread.is_alive(), "the warm-up waited for ever on a stopped pool"
    assert stopped_pool.shut_down


def test_the_pools_note_on_replacing_an_idle_worker_is_not_an_error() -> None:
    """joblib's pool warns, in its manager thread, when a worker ends its idle wait just as
    work arrives; under ``-W error`` that warning ended the thread and the run hung."""
    note = (
        "A worker stopped while some jobs were given to the executor. This can be caused "
        "by a too short worker timeout or by a memory leak."
    )
    code = (
        "import warnings, care_demand.simulation.runner\n"
        f"warnings.warn({note!r}, UserWarning)\n"
        "print('went on')\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "went on"
    assert "memory leak" not in done.stderr


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def test_stopping_the_workers_drops_the_work_not_yet_done() -> None:
    """Ctrl-C ends the pool at once: what was queued behind the running work never runs."""
    pool = runner.worker_pool(2)
    futures = [pool.submit(_sleep, 2.0) for _ in range(8)]
    futures[0].result(timeout=120)  # the pool is running the work
    runner.stop_workers()
    finished = []
    for future in futures:
        try:
            finished.append(future.result(timeout=120) == 2.0)
        except Exception:  # cancelled, or its worker was ended
            finished.append(False)
    assert sum(finished) < 8, "every queued task ran after the pool was stopped"
    assert runner.worker_pool(2) is not pool  # the next run gets a pool of its own


def test_waiting_on_charts_drawn_by_a_stopped_pool_fails_with_a_message(
    stopped_pool: _StoppedPool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's charts are drawn in the pool while it writes the workbook, then waited on."""
    monkeypatch.setattr(runner, "_POOL", [stopped_pool])
    charting = [stopped_pool.submit(print) for _ in range(3)]
    with pytest.raises(runner.PoolStoppedError, match="Run again"):
        runner.results_of(charting)
    assert stopped_pool.shut_down


def test_a_worker_that_dies_mid_task_fails_the_run_with_a_message() -> None:
    """A worker process killed mid-task (for want of memory, say) breaks the pool."""
    import os

    pool = runner.worker_pool(2)
    futures = [pool.submit(os._exit, 1)]
    with pytest.raises(runner.PoolStoppedError, match="ended before finishing") as raised:
        runner.results_of(futures)
    assert "simulation.n_jobs=1" in str(raised.value)
    assert runner.worker_pool(2).submit(abs, -3).result(timeout=120) == 3  # a fresh pool
