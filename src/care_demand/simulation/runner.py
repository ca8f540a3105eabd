"""Run replicates (serially or in parallel processes) and summarise them.

Each replicate's randomness depends only on the run seed and the replicate number, so a
parallel run gives exactly the results of a serial one, and two scenarios run with the same
seed share their random numbers (common random numbers).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, as_completed
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pandas as pd
from joblib import effective_n_jobs

from care_demand import vocab
from care_demand.errors import CareDemandError
from care_demand.simulation.engine import (
    ENTRY_AGE_BANDS,
    ENTRY_ROUTES,
    EXIT_REASONS,
    REPORT_AGE_BANDS,
    ReplicateModel,
    ReplicateResult,
)
from care_demand.simulation.system import CODES, FIRST_CARE, LEAVER, CareSystem, code_of

__all__ = [
    "ENTRIES_TO_KINSHIP",
    "FAMILY_NETWORK_FLOWS",
    "MECHANISM_FLOWS",
    "QUANTILES",
    "PoolStoppedError",
    "Submitted",
    "flow_replicates",
    "idle_pool",
    "quantile_table",
    "replicate_table",
    "results_of",
    "run_replicate_range",
    "run_replicates",
    "start_workers",
    "stop_workers",
    "worker_pool",
]

QUANTILES: tuple[float, ...] = (0.05, 0.10, 0.25, 0.50, 0.75, 0.90, 0.95)

# Levels of need, to classify moves between states outside care as steps up or down.
_LEVEL = {vocab.EARLY_HELP: 1, vocab.ASSESSMENT: 2, vocab.CIN: 2, vocab.CP: 3}


def _run_chunk(system: CareSystem, replicates: Sequence[int], seed: int) -> list[ReplicateResult]:
    return [ReplicateModel(system, r, seed).run() for r in replicates]


def run_replicate_range(
    system: CareSystem, replicates: Sequence[int], seed: int
) -> list[ReplicateResult]:
    """Run the given replicates of ``system`` here, in order (a chunk of a larger run).

    Each replicate's numbers depend only on ``seed`` and its number, so chunks run on any
    worker, in any order, give exactly the replicates of one :func:`run_replicates`.
    """
    return _run_chunk(system, replicates, seed)


def _ready() -> None:
    """A task that does nothing: receiving it imports the engine in the worker process."""


# Seconds a worker process waits for work before it ends: the pool outlives one run (the
# scenarios of a multirun and the browser app's runs share it), but not by long.
WORKER_IDLE_SECONDS = 120

# Seconds between checks, while waiting on the pool, that it can still finish its work.
POOL_CHECK_SECONDS = 10.0

# joblib's pool warns when a worker ends its idle wait just as work arrives, and starts
# another in its place: a note on its own bookkeeping, not a fault (no memory leaks, as the
# note suggests). Raised as an error (``python -W error``) in the pool's manager thread it
# would end that thread and leave every future waiting; shown, it alarms for nothing.
_IDLE_RACE_NOTE = "A worker stopped while some jobs were given to the executor"
warnings.filterwarnings("ignore", message=_IDLE_RACE_NOTE, category=UserWarning)

# The pool last handed out, so that stopping ends that one (not a fresh one).
_POOL: list[Executor] = []


class PoolStoppedError(CareDemandError):
    """The worker pool stopped before finishing the work handed to it (replicates, charts)."""


def worker_pool(n_jobs: int) -> Executor:
    """The one pool of worker processes that simulates futures (``n_jobs``: -1 = every core).

    Every projection of a process shares it, so its processes start once; asking again
    with the same size gives the same pool. It is joblib's process pool (loky's reusable
    executor). Arrays go to the workers pickled, not memory-mapped through ``/dev/shm``: a
    prepared system is a few megabytes, and a memory-mapped folder left at exit made
    joblib's resource tracker warn of a "leaked" file after every run.
    """
    from joblib.executor import get_memmapping_executor

    pool = get_memmapping_executor(
        effective_n_jobs(n_jobs),
        timeout=WORKER_IDLE_SECONDS,
        initializer=_end_with_parent,
        initargs=(os.getpid(),),
        max_nbytes=None,
    )
    _POOL[:] = [pool]
    return pool


def stop_workers() -> None:
    """End the pool's worker processes at once, dropping work not yet done (on Ctrl-C).

    The replicates still queued are withdrawn and the processes are killed; the pool then
    finds them gone and fails whatever they were running. (joblib's own ``kill_workers``
    leaves its manager thread failing over the withdrawn work.)
    """
    for submitted in list(_SUBMITTED):
        submitted.cancel()
    for pool in _POOL:
        _end(pool)
    _POOL.clear()


def _end(pool: Executor) -> None:
    """Shut ``pool`` down without waiting and kill its worker processes."""
    pids = list(getattr(pool, "_processes", {}))
    with contextlib.suppress(Exception):
        pool.shutdown(wait=False)
    for pid in pids:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _can_finish(pool: Executor) -> bool:
    """Whether ``pool`` still has the thread that hands its work out and collects results."""
    manager = getattr(pool, "_executor_manager_thread", None)
    return manager is None or manager.is_alive()


def _completed(futures: Sequence[Future], pool: Executor) -> Iterator[Future]:
    """``futures`` as they finish; :class:`PoolStoppedError` when ``pool`` cannot finish them.

    A worker process that ends mid-task (killed for want of memory, say) breaks the pool;
    a pool whose manager thread has ended leaves its futures pending for ever (it is
    checked every :data:`POOL_CHECK_SECONDS`). Either way the pool is shut down (the next
    :func:`worker_pool` starts a fresh one) and the run fails with a message, instead of a
    traceback or a wait without end.
    """
    pending = set(futures)
    while pending:
        try:
            for future in as_completed(pending, timeout=POOL_CHECK_SECONDS):
                pending.discard(future)
                if not future.cancelled() and isinstance(future.exception(), BrokenProcessPool):
                    _give_up(pending, pool, "A worker process ended before finishing its work")
                yield future
        except TimeoutError:
            if not _can_finish(pool):
                _give_up(pending, pool, "The worker processes stopped answering")


def _wait_all(futures: Sequence[Future], pool: Executor) -> None:
    """Wait until every one of ``futures`` is done (see :func:`_completed`)."""
    for _ in _completed(futures, pool):
        pass


def _give_up(pending: set[Future], pool: Executor, what: str) -> None:
    for future in pending:
        future.cancel()
    _end(pool)
    raise PoolStoppedError(
        f"{what}. Run again; on a machine short of memory, simulation.n_jobs=1 does the "
        "work in this one process."
    ) from None


def _end_with_parent(parent: int) -> None:
    """In a worker: end this process within a second of the process that started it ending.

    A run killed outright (``kill -9``, a closed terminal) cannot stop its workers itself;
    without this they would wait for work that never comes.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def results_of(futures: Sequence[Future]) -> list:
    """The results of ``futures`` handed to the worker pool, in order, once all are done.

    Raises :class:`PoolStoppedError` instead of waiting for ever when the pool stops.
    """
    if futures and _POOL:
        _wait_all(futures, _POOL[0])
    return [future.result() for future in futures]


def start_workers(n_jobs: int) -> threading.Thread | None:
    """Start the processes that :func:`run_replicates` will use, in the background.

    Starting a worker process and importing the engine in it takes a couple of seconds;
    begun before the data are loaded and the models calibrated, it overlaps that work.
    Returns the thread to join before running replicates, or ``None`` when replicates run
    in this process.
    """
    n = effective_n_jobs(n_jobs)
    if n == 1:
        return None

    def start() -> None:
        # Only a head start: a failure here shows again, and is reported, when simulating;
        # a pool found stopped is shut down, so the simulation starts a fresh one.
        with contextlib.suppress(Exception):
            pool = worker_pool(n_jobs)
            _wait_all([pool.submit(_ready) for _ in range(n)], pool)

    thread = threading.Thread(target=start, name="start-workers", daemon=True)
    thread.start()
    return thread


def _chunks(n_replicates: int, chunk_size: int) -> list[list[int]]:
    if n_replicates < 1:
        raise ValueError(f"n_replicates is {n_replicates}; expected at least 1")
    return [
        list(range(i, min(i + chunk_size, n_replicates)))
        for i in range(0, n_replicates, chunk_size)
    ]


# Replicates handed to the pool whose futures may not all be done yet.
_SUBMITTED: weakref.WeakSet[Submitted] = weakref.WeakSet()


def idle_pool(n_jobs: int) -> Executor | None:
    """The worker pool when no replicates handed to it are waiting or under way, else ``None``.

    Other work (a run's charts, say) goes to the pool only when it would not queue behind
    futures being simulated; ``None`` too when ``n_jobs`` means one process.
    """
    if effective_n_jobs(n_jobs) == 1:
        return None
    if any(not f.done() for s in list(_SUBMITTED) for f in s._futures):
        return None
    return worker_pool(n_jobs)


class Submitted:
    """Replicates handed to the worker pool, running while the caller does other work.

    :meth:`results` waits for them; until then the pool works through them in the order
    they were submitted, after any submitted earlier (the scenarios of a multirun queue
    their futures this way, so the pool never waits for one scenario's outputs to be
    written before simulating the next).
    """

    def __init__(
        self, system: CareSystem, n_replicates: int, seed: int, n_jobs: int, chunk_size: int
    ) -> None:
        pool = worker_pool(n_jobs)
        self._pool = pool
        self.n_replicates = n_replicates
        self._futures: list[Future[list[ReplicateResult]]] = [
            pool.submit(_run_chunk, system, chunk, seed)
            for chunk in _chunks(n_replicates, chunk_size)
        ]
        _SUBMITTED.add(self)

    def results(self, progress: Callable[[int], None] | None = None) -> list[ReplicateResult]:
        """Every replicate's result, in replicate order, once all are done.

        ``progress`` is called with the number finished so far; an exception it raises (or
        any other) cancels the replicates not yet started and is raised again.
        """
        results: list[ReplicateResult] = []
        try:
            for future in _completed(self._futures, self._pool):
                results.extend(future.result())
                if progress is not None:
                    progress(len(results))
        except BaseException:
            self.cancel()
            raise
        results.sort(key=lambda r: r.replicate)
        return results

    def cancel(self) -> None:
        """Withdraw the replicates not yet started (those under way finish and are dropped)."""
        for future in self._futures:
            future.cancel()


def run_replicates(
    system: CareSystem,
    n_replicates: int,
    seed: int,
    n_jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = 5,
) -> list[ReplicateResult]:
    """Run replicates ``0 .. n_replicates-1``; ``n_jobs`` processes (``-1`` = all cores).

    ``progress`` is called with the number of replicates finished so far.
    """
    chunks = _chunks(n_replicates, chunk_size)
    if effective_n_jobs(n_jobs) == 1:
        results: list[ReplicateResult] = []
        for chunk in chunks:
            results.extend(_run_chunk(system, chunk, seed))
            if progress is not None:
                progress(len(results))
        return results
    return Submitted(system, n_replicates, seed, n_jobs, chunk_size).results(progress)


def _code_label(code: int) -> str:
    name = CODES[code]
    return name.split(":", 1)[1] if name.startswith("care:") else name


def _flow_series(flows: np.ndarray) -> dict[str, np.ndarray]:
    """Named monthly flows from a ``(month, from+1, to+1)`` matrix."""
    out: dict[str, np.ndarray] = {}
    care = slice(FIRST_CARE + 1, LEAVER + 1)
    out["placement_move"] = flows[:, care, care].sum(axis=(1, 2))
    out["entry_to_care"] = flows[:, : FIRST_CARE + 1, care].sum(axis=(1, 2))
    up = np.zeros(flows.shape[0], dtype=np.int64)
    down = np.zeros(flows.shape[0], dtype=np.int64)
    for a, level_a in _LEVEL.items():
        for b, level_b in _LEVEL.items():
            series = flows[:, CODES.index(a) + 1, CODES.index(b) + 1]
            if level_b > level_a:
                up += series
            elif level_b < level_a:
                down += series
    out["step_up"] = up
    out["step_down"] = down
    out["referral_nfa"] = flows[:, 0, 0]
    return out


def _blocks(res: ReplicateResult, system: CareSystem) -> list[tuple[str, str, str, np.ndarray]]:
    """One replicate's monthly series, each with its measure, category and age band."""
    blocks: list[tuple[str, str, str, np.ndarray]] = []
    by_code = res.stocks.sum(axis=2)
    for code in range(len(CODES)):
        label = _code_label(code)
        blocks.append(("children", label, "all", by_code[:, code]))
        for b, band in enumerate(REPORT_AGE_BANDS):
            blocks.append(("children", label, band, res.stocks[:, code, b]))
    care_total = res.stocks[:, FIRST_CARE:LEAVER, :].sum(axis=1)
    blocks.append(("children", vocab.CARE, "all", care_total.sum(axis=1)))
    for b, band in enumerate(REPORT_AGE_BANDS):
        blocks.append(("children", vocab.CARE, band, care_total[:, b]))
    for k, kind in enumerate(system.arrival_kinds):
        blocks.append(("arrivals", kind, "all", res.arrivals[:, k]))
    for name, series in _flow_series(res.flows).items():
        blocks.append(("flow", name, "all", series))
    for e, reason in enumerate(EXIT_REASONS):
        blocks.append(("flow", f"exit:{reason}", "all", res.exits[:, e]))
    for r, route in enumerate(ENTRY_ROUTES):
        blocks.append(("flow", f"entry_to_care:{route}", "all", res.entry_routes[:, r]))
    blocks.append(("children", "care_leaver_21_plus", "all", res.leavers_supported))
    for g, group in enumerate(vocab.PLACEMENT_GROUPS):
        blocks.append(("placement_days", group, "all", res.placement_days[:, g]))
    for i, group in enumerate((vocab.INHOUSE_FOSTER, vocab.INHOUSE_RESIDENTIAL)):
        blocks.append(("capacity", group, "all", res.capacity[:, i]))
        blocks.append(("occupancy", group, "all", res.occupancy[:, i]))
        blocks.append(("shortfall", group, "all", res.shortfall[:, i]))
    blocks.append(("out_of_area", vocab.CARE, "all", res.out_of_area))
    blocks.append(("outreach", "harbour", "all", res.outreach))
    for name, series in _family_network(res).items():
        blocks.append(("flow", name, "all", series))
    return blocks


# In-house placement groups and their external equivalents; family and residential groups.
_INHOUSE = tuple(code_of(vocab.CARE, g) for g in vocab.EXTERNAL_EQUIVALENT)
_EXTERNAL = tuple(code_of(vocab.CARE, g) for g in vocab.EXTERNAL_EQUIVALENT.values())
_FAMILY = tuple(code_of(vocab.CARE, g) for g in vocab.FOSTER_GROUPS)
_RESIDENTIAL = tuple(code_of(vocab.CARE, g) for g in vocab.RESIDENTIAL_GROUPS)

# Family network meetings held, the entries to care they averted and the entries to care
# with a kinship carer the family network found (ReplicateResult.family_network's columns),
# and every entry to care placed with kinship carers.
FAMILY_NETWORK_FLOWS: tuple[str, ...] = (
    "family_network:meetings",
    "family_network:averted",
    "family_network:kinship",
)
ENTRIES_TO_KINSHIP = "entries_to_kinship_care"
_KINSHIP = code_of(vocab.CARE, vocab.KINSHIP_FOSTER)

# The flows of :func:`flow_replicates` (named as ``care_demand.outputs.flows`` labels them),
# in order: entries to care (all, then by age band at
# entry), exits from care (all, then by reason), moves between in-house and external
# placements, placements made externally for want of an in-house place, step-downs from
# residential care to a family placement (and those of young people the Harbour supports),
# steps up and down between services outside care, family network meetings (held, entries
# averted, kinship entries after one) and entries to care with kinship carers.
MECHANISM_FLOWS: tuple[str, ...] = (
    "entries_to_care",
    *(f"entries_to_care:{band}" for band in ENTRY_AGE_BANDS),
    "exits_from_care",
    *(f"exit:{reason}" for reason in vocab.CARE_EXITS),
    "move:inhouse_to_external",
    "move:external_to_inhouse",
    "placed_externally_for_want:inhouse_foster",
    "placed_externally_for_want:inhouse_residential",
    "step_down:residential_to_family",
    "step_down:harbour",
    "step_up",
    "step_down",
    *FAMILY_NETWORK_FLOWS,
    ENTRIES_TO_KINSHIP,
)


def _between(flows: np.ndarray, origins: Sequence[int], targets: Sequence[int]) -> np.ndarray:
    """Monthly moves from any code of ``origins`` to any of ``targets``."""
    rows = [o + 1 for o in origins]
    columns = [t + 1 for t in targets]
    return flows[:, rows][:, :, columns].sum(axis=(1, 2))


def _mechanism(res: ReplicateResult) -> dict[str, np.ndarray]:
    """One replicate's monthly flows of :data:`MECHANISM_FLOWS`."""
    care = range(FIRST_CARE, LEAVER)
    series = _flow_series(res.flows)
    exits = _between(res.flows, care, [-1])  # column 0: out of every service
    out = {"entries_to_care": series["entry_to_care"]}
    out |= {f"entries_to_care:{b}": res.entry_ages[:, i] for i, b in enumerate(ENTRY_AGE_BANDS)}
    out["exits_from_care"] = exits
    out |= {f"exit:{r}": res.exits[:, EXIT_REASONS.index(r)] for r in vocab.CARE_EXITS}
    out["move:inhouse_to_external"] = _between(res.flows, _INHOUSE, _EXTERNAL)
    out["move:external_to_inhouse"] = _between(res.flows, _EXTERNAL, _INHOUSE)
    for i, group in enumerate(vocab.EXTERNAL_EQUIVALENT):
        out[f"placed_externally_for_want:{group}"] = res.placed_for_want[:, i]
    out["step_down:residential_to_family"] = _between(res.flows, _RESIDENTIAL, _FAMILY)
    out["step_down:harbour"] = res.harbour_step_downs
    out["step_up"] = series["step_up"]
    out["step_down"] = series["step_down"]
    out |= _family_network(res)
    return out


def _family_network(res: ReplicateResult) -> dict[str, np.ndarray]:
    """One replicate's monthly family network flows and entries to kinship care."""
    out = {name: res.family_network[:, i] for i, name in enumerate(FAMILY_NETWORK_FLOWS)}
    out[ENTRIES_TO_KINSHIP] = res.flows[:, : FIRST_CARE + 1, _KINSHIP + 1].sum(axis=1)
    return out


def flow_replicates(results: Sequence[ReplicateResult], system: CareSystem) -> pd.DataFrame:
    """Every replicate's monthly flows of :data:`MECHANISM_FLOWS` as one tidy table.

    Columns ``replicate``, ``month`` (the month's last day), ``flow`` and ``value`` (whole
    moves in the month): what a scenario changes, as the comparison reads it.
    """
    months = pd.date_range(system.start, periods=system.horizon_months, freq="ME")
    frames = []
    for res in results:
        series = _mechanism(res)
        values = np.concatenate([np.asarray(series[f], dtype=np.int64) for f in MECHANISM_FLOWS])
        frames.append(
            pd.DataFrame(
                {
                    "replicate": res.replicate,
                    "month": np.tile(months, len(MECHANISM_FLOWS)),
                    "flow": np.repeat(MECHANISM_FLOWS, len(months)),
                    "value": values,
                }
            )
        )
    if not frames:
        return pd.DataFrame(columns=["replicate", "month", "flow", "value"])
    return pd.concat(frames, ignore_index=True)


def _labels(names: list[str], n_months: int, n_replicates: int) -> pd.Categorical:
    """A label column: ``names`` per series, repeated per month and replicate."""
    categories = list(dict.fromkeys(names))
    index = {name: i for i, name in enumerate(categories)}
    codes = np.repeat(np.array([index[name] for name in names], dtype=np.int16), n_months)
    return pd.Categorical.from_codes(np.tile(codes, n_replicates), categories=categories)


def replicate_table(results: Sequence[ReplicateResult], system: CareSystem) -> pd.DataFrame:
    """Every replicate's monthly figures as one tidy table.

    Columns: ``replicate``, ``month`` (the month's last day), ``measure``, ``category``,
    ``age_band`` (``all`` unless broken down by age) and ``value``. Measures:
    ``children`` (at month end; categories: each state, each placement group, ``care`` in
    total; by age band as well), ``arrivals`` (by kind), ``flow`` (``step_up``,
    ``step_down``, ``entry_to_care`` and its routes ``entry_to_care:planned`` /
    ``entry_to_care:emergency``, ``placement_move``, ``referral_nfa``, ``exit:<reason>``,
    the family network's ``family_network:meetings`` / ``:averted`` / ``:kinship`` and
    ``entries_to_kinship_care``),
    ``children`` / ``care_leaver_21_plus`` (care leavers past 21 still supported, to 25),
    ``placement_days`` (by group), ``capacity`` / ``occupancy`` / ``shortfall`` (in-house
    foster and residential), ``out_of_area`` and ``outreach``. The label columns are
    categorical (the table has a row per replicate, series and month).
    """
    months = pd.date_range(system.start, periods=system.horizon_months, freq="ME")
    n = len(months)
    labels: list[tuple[str, str, str]] = []
    values = []
    for res in results:
        blocks = _blocks(res, system)
        labels = [(m, c, a) for m, c, a, _ in blocks]
        values.append(np.concatenate([np.asarray(b[3], dtype=float) for b in blocks]))
    n_rep = len(values)
    return pd.DataFrame(
        {
            "replicate": np.repeat([res.replicate for res in results], len(labels) * n),
            "month": np.tile(months, len(labels) * n_rep),
            "measure": _labels([lab[0] for lab in labels], n, n_rep),
            "category": _labels([lab[1] for lab in labels], n, n_rep),
            "age_band": _labels([lab[2] for lab in labels], n, n_rep),
            "value": np.concatenate(values) if values else np.zeros(0),
        }
    )


def quantile_table(replicates: pd.DataFrame) -> pd.DataFrame:
    """Quantiles across replicates: one row per month, measure, category and age band.

    Columns ``p5 p10 p25 p50 p75 p90 p95`` and ``mean`` (and ``replicates``, the count).
    """
    keys = ["month", "measure", "category", "age_band"]
    grouped = replicates.groupby(keys, sort=False, observed=True)["value"]
    out = grouped.quantile(list(QUANTILES)).unstack()
    out.columns = [f"p{round(q * 100)}" for q in QUANTILES]
    out["mean"] = grouped.mean()
    out["replicates"] = grouped.size()
    out = out.reset_index()
    for key in keys[1:]:  # label columns as plain strings
        if isinstance(out[key].dtype, pd.CategoricalDtype):
            out[key] = out[key].astype(str)
    return out
