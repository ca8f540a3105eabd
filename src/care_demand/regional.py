"""A region's councils run on a Dask cluster, each as it would run alone, and rolled up.

``care-demand region.path=DIR`` lands here (:func:`run_region`). The work is a graph of Dask
tasks (``distributed``): a ``LocalCluster`` sized to the machine, or an existing scheduler
at ``cluster.address`` (one that dask-jobqueue started on SLURM or PBS, say):

1. one task per council, ``(council, calibration)``: read and validate the council's files,
   check its starting caseload and calibrate on its own data (the hazards' posterior goes
   to the calibration cache on disk, whose lock keeps two workers of one machine from
   sampling the same entry); a council whose data fail validation is reported with every
   problem and left out;
2. one task per ``(council, scenario, chunk of futures)``: the council's projection prepared
   as :func:`care_demand.simulation.project` prepares it, and the chunk's replicates run
   (:func:`~care_demand.simulation.runner.run_replicate_range`). A replicate's numbers depend
   only on the seed and its number, so the chunks give the same futures whatever the
   number of workers and wherever they run;
3. one task per ``(council, scenario)``: the chunks' results (counts, passed from worker to
   worker) written as a normal run folder by :func:`care_demand.pipeline.run`, identical to
   the run of the council alone with the same seed; it sends back the per-replicate key
   measures, costs and sufficiency (:class:`~care_demand.region.CouncilTables`).

The roll-up (:mod:`care_demand.region.rollup`) sums those tables over councils replicate by
replicate and is written in ``region/<scenario>/``. Child-level data never leave a council's
task: workers read only their council's files, and send back counts.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import json
import logging
import os
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from care_demand.config import AppConfig, projection_settings
from care_demand.data import InvalidDataError, check_caseload
from care_demand.errors import CareDemandError
from care_demand.finance import cost_replicates
from care_demand.outputs.disclosure import DisclosureRule, suppress_counts
from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.run_folder import RunFolder
from care_demand.outputs.sufficiency import SUFFICIENCY_MEASURES, sufficiency_by_replicate
from care_demand.region.councils import Council, find_councils, write_council_files
from care_demand.region.rollup import (
    COST_KEYS,
    MEASURE_KEYS,
    SUFFICIENCY_KEYS,
    CouncilTables,
    council_shares,
    sum_over_councils,
    summarise,
)

if TYPE_CHECKING:
    from distributed import Client

    from care_demand.simulation.engine import ReplicateResult
    from care_demand.simulation.system import CareSystem

__all__ = ["CouncilFailure", "RegionResult", "open_client", "run_region"]

log = logging.getLogger("care_demand")

REGION = LAYOUT.region


@dataclass(frozen=True)
class CouncilFailure:
    """A council left out of the roll-up: why, and each problem (file, row, column, rule)."""

    council: str
    message: str
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)

    def lines(self) -> list[str]:
        """One line per problem (or the message alone), naming the council."""
        if self.problems.empty:
            return [f"{self.council}: {self.message}"]
        return [
            f"{self.council}: {row.file}, row {row.row}, column {row.column}: {row.rule}"
            for row in self.problems.itertuples()
        ]


@dataclass
class RegionResult:
    """What a regional run produced: the run folders, the roll-ups and the failures."""

    out_dir: Path
    run_dirs: dict[tuple[str, str], Path]
    rollups: dict[str, Path]
    failures: list[CouncilFailure]
    tables: dict[tuple[str, str], CouncilTables]
    seconds: float

    @property
    def ok(self) -> bool:
        """True when every council completed."""
        return not self.failures


# ---------------------------------------------------------------------------------------
# Where the work runs


@contextlib.contextmanager
def open_client(config: AppConfig) -> Iterator[Client]:
    """A Dask client: to ``cluster.address``, or to a LocalCluster started for the run.

    The local cluster has ``cluster.n_workers`` worker processes (-1: one per core) of one
    thread each; its worker processes may start processes of their own (the hazards'
    sampler runs its chains in parallel).
    """
    import dask
    from distributed import Client, LocalCluster

    # Dask's own INFO lines (each worker and nanny starting and stopping) are noise to a user.
    logging.getLogger("distributed").setLevel(logging.WARNING)
    cluster = config.cluster
    if cluster.address:
        log.info("Submitting to the Dask scheduler at %s", cluster.address)
        with Client(cluster.address) as client:
            yield client
        return
    n = cluster.n_workers if cluster.n_workers > 0 else (os.cpu_count() or 1)
    # Work stealing is off: the tasks of a council run where its data and projection are
    # (see run_region); a stolen task would read and prepare them again.
    settings = {"distributed.worker.daemon": False, "distributed.scheduler.work-stealing": False}
    with (
        dask.config.set(settings),
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            memory_limit=cluster.memory_limit,
            dashboard_address=":0",
        ) as local,
        Client(local) as client,
    ):
        log.info("Started a local Dask cluster of %d worker(s)", n)
        yield client
        quiet_workers(client)


def quiet_workers(client: Client) -> None:
    """Silence the workers' logs once their work is done, as the local cluster closes.

    A worker's heartbeat can reach a scheduler that is closing; the worker then logs the
    failed heartbeat with a traceback, though nothing was lost. Warnings while the work runs
    (a worker short of memory, say) still show: they come before this.
    """
    with contextlib.suppress(Exception):
        client.run(_silence_distributed)


def _silence_distributed() -> None:
    logging.getLogger("distributed").setLevel(logging.CRITICAL)


# ---------------------------------------------------------------------------------------
# The tasks (run on the workers)

# Per worker process: the folders written for councils of multi-council files, and the
# systems prepared for projections (by what they depend on).
_FOLDERS: dict[str, Path] = {}
_SYSTEMS: dict[str, CareSystem] = {}
# How many prepared projections (and councils' data and calibrations) a worker keeps.
_KEEP_SYSTEMS = 4


def council_config(config: AppConfig, council: Council, folder: Path | None = None) -> AppConfig:
    """The settings of one council's run: the region's, on the council's own data."""
    out = copy.deepcopy(config)
    where = folder if folder is not None else council.folder
    out.data = dataclasses.replace(out.data, path=str(where) if where is not None else None)
    # The cluster runs the futures side by side; one process per task (results do not
    # depend on it).
    out.simulation = dataclasses.replace(out.simulation, n_jobs=1)
    out.output = dataclasses.replace(out.output, council=council.name)
    out.region = dataclasses.replace(out.region, path=None)
    return out


def _on_worker(config: AppConfig, council: Council) -> AppConfig:
    """The council's settings on this worker, its files written here if they must be."""
    from care_demand.pipeline import keep_recent

    # The worker takes the tasks of its councils in turn: it keeps each one's data and
    # calibration (as many as its prepared projections) rather than reading them again.
    keep_recent(_KEEP_SYSTEMS)
    if council.folder is not None:
        return council_config(config, council)
    key = f"{council.region_path}|{council.name}"
    if key not in _FOLDERS:
        root = Path(tempfile.mkdtemp(prefix=f"care-demand-{council.label}-"))
        _FOLDERS[key] = write_council_files(council, root / council.label)
    return council_config(config, council, _FOLDERS[key])


def _forget_council_files() -> None:
    """Delete the council folders this worker wrote from multi-council files."""
    import shutil

    while _FOLDERS:
        shutil.rmtree(_FOLDERS.popitem()[1].parent, ignore_errors=True)
    _SYSTEMS.clear()


def _calibrate_task(config: AppConfig, council: Council) -> CouncilFailure | None:
    """Validate and calibrate one council on its own data; a failure, or None."""
    from care_demand.pipeline import calibrate, load

    try:
        mine = _on_worker(config, council)
        data, history, _ = load(mine)
        check_caseload(data, history, mine.data.max_lost_caseload_share)
        calibrate(history, mine)
    except InvalidDataError as exc:
        problems = exc.report.to_frame()
        problems = problems[problems["severity"] == "error"] if "severity" in problems else problems
        where = ["file", "row", "column", "rule", "message"]  # no value: it may be a child's
        return CouncilFailure(
            council.name,
            "the data did not pass validation",
            problems.loc[:, where].reset_index(drop=True),
        )
    except CareDemandError as exc:
        return CouncilFailure(council.name, str(exc))
    except Exception as exc:  # one council's failure must not stop the others
        log.exception("%s: calibration failed", council.name)
        return CouncilFailure(council.name, f"unexpected error: {type(exc).__name__}: {exc}")
    return None


def _system(config: AppConfig) -> CareSystem:
    """The council's prepared projection, as :func:`~care_demand.simulation.project` makes it."""
    from care_demand.pipeline import calibrate, load, projection_key
    from care_demand.simulation import prepare

    key = projection_key(config)
    if key not in _SYSTEMS:
        _, history, _ = load(config)
        fitted = calibrate(history, config)
        if len(_SYSTEMS) >= _KEEP_SYSTEMS:
            _SYSTEMS.pop(next(iter(_SYSTEMS)))
        _SYSTEMS[key] = prepare(history, fitted, projection_settings(config))
    return _SYSTEMS[key]


def _chunk_task(
    config: AppConfig, council: Council, replicates: Sequence[int]
) -> list[ReplicateResult]:
    """Run a chunk of one council's futures under one scenario; counts only come back."""
    from care_demand.simulation.runner import run_replicate_range

    mine = _on_worker(config, council)
    return run_replicate_range(_system(mine), list(replicates), mine.seed)


def _write_task(
    config: AppConfig, council: Council, run_dir: str, *chunks: list[ReplicateResult]
) -> CouncilTables:
    """Write one council's run folder from its chunks; send back its per-replicate tables."""
    from care_demand.pipeline import adopt_projection, run
    from care_demand.simulation import Projection, replicate_table

    mine = _on_worker(config, council)
    results = sorted((r for chunk in chunks for r in chunk), key=lambda r: r.replicate)
    system = _system(mine)
    replicates = replicate_table(results, system)
    adopt_projection(mine, Projection(system=system, replicates=replicates))
    run(mine, run_dir)
    return CouncilTables(
        # as the council's own run folder holds them (the same measures: Family Help only
        # where its files record early help and CIN)
        key_measures=pd.read_csv(Path(run_dir) / LAYOUT.key_measures),
        costs=cost_replicates(replicates, mine.costs, mine.seed),
        sufficiency=sufficiency_by_replicate(replicates, mine.output.target_inhouse_share),
    )


# ---------------------------------------------------------------------------------------
# The run


def council_weight(council: Council) -> int:
    """How much work a council is, roughly: the bytes of its files (1 when its rows are in
    the region's multi-council files)."""
    if council.folder is None:
        return 1
    return sum(p.stat().st_size for p in council.folder.rglob("*") if p.is_file()) or 1


def largest_first(councils: Sequence[Council]) -> list[Council]:
    """The councils in the order their work starts: largest first (ties: by name), so the
    last to start, whose work decides when the region ends, are the smallest."""
    weight = {c.name: council_weight(c) for c in councils}  # each folder walked once
    return sorted(councils, key=lambda c: (-weight[c.name], c.name))


def worker_teams(n_councils: int, workers: Sequence[str]) -> list[tuple[str, ...]]:
    """The teams of workers a region's councils are given to, one council at a time each.

    With no more workers than councils, each worker is a team of its own and takes the next
    council when its last one's futures are done. With more, the workers are shared among
    the councils in turn, so the first (largest) councils get the extra workers.
    """
    if not workers:
        raise CareDemandError("the Dask cluster has no workers")
    if len(workers) <= n_councils:
        return [(w,) for w in workers]
    teams: list[list[str]] = [[] for _ in range(max(1, n_councils))]
    for i, worker in enumerate(workers):
        teams[i % len(teams)].append(worker)
    return [tuple(team) for team in teams]


def _chunks(n: int, size: int) -> list[list[int]]:
    return [list(range(i, min(i + size, n))) for i in range(0, n, size)]


def run_region(
    configs: dict[str, AppConfig] | AppConfig,
    out_dir: str | Path,
    client: Client | None = None,
    progress: Callable[[str], None] | None = None,
) -> RegionResult:
    """Run every council of ``region.path`` under each scenario and write the roll-ups.

    ``configs``: the run's settings per scenario (one :class:`AppConfig` for one scenario);
    they must share ``region.*``, the data settings and the seed. ``client``: a Dask client
    to submit to (default: :func:`open_client`). Writes ``<council>/<scenario>/`` run folders
    and ``region/<scenario>/`` roll-ups in ``out_dir``; a council whose data fail
    validation, or whose run fails, is listed in ``region/<scenario>/failed_councils.csv``
    and left out of the roll-up, and the others complete.
    """
    if isinstance(configs, AppConfig):
        configs = {configs.scenario.name: configs}
    first = next(iter(configs.values()))
    if not first.region.path:
        raise CareDemandError("region.path is not set: give the folder of the region's councils")
    out = Path(out_dir)
    began = time.perf_counter()
    councils = find_councils(first.region.path, first.region.councils)
    if client is None:
        with open_client(first) as opened:
            return run_region(configs, out, opened, progress)
    log.info(
        "Region %s: %d councils (%s), %d scenario(s)",
        first.region.path,
        len(councils),
        ", ".join(c.name for c in councils),
        len(configs),
    )
    say = progress or (lambda message: log.info("%s", message))

    from distributed import as_completed

    # Councils start largest first, each on the next team of workers to be free (see
    # worker_teams). The team reads the council's data and calibration and builds its
    # projection once, and takes the next council as soon as the last one's futures are
    # simulated (its run folders are written first: they were asked for first).
    waiting = deque(largest_first(councils))
    size = max(1, int(first.region.chunk_size))
    pending = as_completed()
    calibrations: dict[Any, tuple[Council, tuple[str, ...]]] = {}
    chunk_of: dict[Any, tuple[str, tuple[str, ...]]] = {}
    chunks_left: dict[str, int] = {}
    writes: dict[Any, tuple[Council, str]] = {}

    def submit(task: Callable, team: tuple[str, ...], key: str, *args: Any) -> Any:
        # A team's tasks stay on it (a local cluster does not steal), unless every worker
        # of the team is gone.
        return client.submit(
            task, *args, key=key, pure=False, workers=list(team), allow_other_workers=True
        )

    helpers: list[Any] = []  # held until the run ends (a future let go is cancelled)

    def start_next(team: tuple[str, ...]) -> None:
        if waiting:
            council = waiting.popleft()
            # Each worker of the team reads the council's data and calibration at once (the
            # calibration cache's lock lets one sample while the others wait to read); the
            # first's result is the council's.
            home, *others = team
            key = f"calibrate-{council.label}"
            future = submit(_calibrate_task, (home,), key, first, council)
            helpers.extend(
                submit(_calibrate_task, (w,), f"{key}-{i}", first, council)
                for i, w in enumerate(others, 1)
            )
            calibrations[future] = (council, team)
            pending.add(future)

    def simulate(council: Council, team: tuple[str, ...]) -> None:
        chunks_left[council.name] = 0
        for scenario, config in configs.items():
            chunks = []
            for chunk in _chunks(int(config.simulation.replicates), size):
                key = f"simulate-{council.label}-{scenario}-{chunk[0]}"
                chunks.append(submit(_chunk_task, team, key, config, council, chunk))
            run_dir = str(out / council.label / scenario)
            key = f"write-{council.label}-{scenario}"
            write = submit(_write_task, team, key, config, council, run_dir, *chunks)
            writes[write] = (council, scenario)
            chunk_of.update(dict.fromkeys(chunks, (council.name, team)))
            chunks_left[council.name] += len(chunks)
            pending.update([*chunks, write])
        if not chunks_left[council.name]:
            start_next(team)

    for team in worker_teams(len(councils), sorted(client.scheduler_info()["workers"])):
        start_next(team)

    failures: list[CouncilFailure] = []
    tables: dict[tuple[str, str], CouncilTables] = {}
    run_dirs: dict[tuple[str, str], Path] = {}
    failed_runs: dict[str, CouncilFailure] = {}
    for future in pending:
        if future in calibrations:
            council, team = calibrations.pop(future)
            failure = future.result()
            if failure is None:
                say(f"{council.name}: calibrated; simulating")
                simulate(council, team)
            else:
                say(f"{council.name}: left out ({failure.message})")
                failures.append(failure)
                start_next(team)
        elif future in chunk_of:
            name, team = chunk_of.pop(future)
            chunks_left[name] -= 1
            if not chunks_left[name]:
                start_next(team)
        else:
            council, scenario = writes[future]
            try:
                tables[(council.name, scenario)] = future.result()
            except Exception as exc:  # one council's failure must not stop the others
                log.exception("%s (%s) failed", council.name, scenario)
                failed_runs.setdefault(
                    council.name,
                    CouncilFailure(council.name, f"{scenario}: {type(exc).__name__}: {exc}"),
                )
                continue
            run_dirs[(council.name, scenario)] = out / council.label / scenario
            say(f"{council.name} ({scenario}): written")
    if any(c.folder is None for c in councils):  # child-level rows written on the workers
        client.run(_forget_council_files)
    failures += list(failed_runs.values())
    failures.sort(key=lambda f: f.council)

    rollups = {}
    left_out = {f.council for f in failures}
    for scenario, config in configs.items():
        included = {c.name: tables[(c.name, scenario)] for c in councils if c.name not in left_out}
        rollups[scenario] = write_rollup(
            out / REGION.scenario_dir(scenario), config, included, failures, councils
        )
    return RegionResult(
        out_dir=out,
        run_dirs=run_dirs,
        rollups=rollups,
        failures=failures,
        tables=tables,
        seconds=time.perf_counter() - began,
    )


# ---------------------------------------------------------------------------------------
# The roll-up folder


def write_rollup(
    folder: Path,
    config: AppConfig,
    tables: dict[str, CouncilTables],
    failures: Sequence[CouncilFailure],
    councils: Sequence[Council],
) -> Path:
    """Write one scenario's roll-up: sums per replicate, their summary, shares and a note."""
    measures = sufficiency_measures = costs = None
    with RunFolder(folder) as out:
        if tables:
            # a measure is summed only where every council has it (Family Help needs the
            # early help and CIN files; a sum over some councils would read as the region's)
            held = set.intersection(*(set(t.key_measures["measure"]) for t in tables.values()))
            kept = {k: t.key_measures for k, t in tables.items()}
            kept = {k: t[t["measure"].isin(held)] for k, t in kept.items()}
            measures = sum_over_councils(kept, MEASURE_KEYS)
            costs = sum_over_councils({k: t.costs for k, t in tables.items()}, COST_KEYS)
            sufficiency_measures = sum_over_councils(
                {k: t.sufficiency for k, t in tables.items()},
                SUFFICIENCY_KEYS,
                tuple(SUFFICIENCY_MEASURES),
            )
            out.write_csv(REGION.key_measures, measures)
            out.write_csv(REGION.key_measures_summary, summarise(measures, MEASURE_KEYS))
            out.write_csv(REGION.costs, costs)
            out.write_csv(REGION.cost_summary, summarise(costs, COST_KEYS))
            out.write_csv(REGION.sufficiency, sufficiency_measures)
            out.write_csv(
                REGION.sufficiency_summary,
                summarise(sufficiency_measures, SUFFICIENCY_KEYS, tuple(SUFFICIENCY_MEASURES)),
            )
            shares = council_shares({k: t.key_measures for k, t in tables.items()}, MEASURE_KEYS)
            out.write_csv(REGION.shares, shares)
        failed = pd.concat(
            [
                (
                    f.problems if not f.problems.empty else pd.DataFrame({"message": [f.message]})
                ).assign(council=f.council)
                for f in failures
            ]
            or [pd.DataFrame()],
            ignore_index=True,
        )
        columns = ["council", "file", "row", "column", "rule", "message"]
        out.write_csv(REGION.failed, failed.reindex(columns=columns))
        listing = {
            "scenario": config.scenario.name,
            "seed": config.seed,
            "replicates": int(config.simulation.replicates),
            "councils": [c.name for c in councils],
            "rolled_up": sorted(tables),
            "left_out": [f.council for f in failures],
        }
        out.write_text(REGION.councils, json.dumps(listing, indent=2) + "\n")
        out.write_text(REGION.summary, _summary_markdown(config, tables, failures, measures))
    return folder


def _summary_markdown(
    config: AppConfig,
    tables: dict[str, CouncilTables],
    failures: Sequence[CouncilFailure],
    measures: pd.DataFrame | None,
) -> str:
    """A short summary: children in care at the horizon by council and for the region."""
    lines = [
        f"# Region: {config.scenario.title}",
        "",
        f"{len(tables)} council(s) rolled up, {len(failures)} left out; "
        f"{config.simulation.replicates} futures each, seed {config.seed}. The regional "
        "interval is the interval of the sum of the councils' futures, replicate by replicate.",
        "",
    ]
    if measures is not None:
        rule = DisclosureRule.from_config(config.output)
        rows = []
        for name, table in sorted(tables.items()):
            care = table.key_measures[table.key_measures["measure"] == "children_in_care"]
            last = care[care["month"] == care["month"].max()]["value"]
            rows.append(
                {
                    "council": name,
                    "p50": last.median(),
                    "p10": last.quantile(0.1),
                    "p90": last.quantile(0.9),
                }
            )
        care = measures[measures["measure"] == "children_in_care"]
        end = care["month"].max()
        last = care[care["month"] == end]["value"]
        rows.append(
            {
                "council": "Region",
                "p50": last.median(),
                "p10": last.quantile(0.1),
                "p90": last.quantile(0.9),
            }
        )
        table = pd.DataFrame(rows)
        for column in ("p50", "p10", "p90"):
            table[column] = table[column].round()
            table = suppress_counts(table, column, rule)
        lines += [
            f"Children in care at the end of {pd.Timestamp(end):%B %Y} (projected; "
            f"{rule.describe()}):",
            "",
            "| Council | P50 | P10 | P90 |",
            "|---|---|---|---|",
            *(f"| {r.council} | {r.p50} | {r.p10} | {r.p90} |" for r in table.itertuples()),
            "",
        ]
    if failures:
        lines += ["Left out of the roll-up (see the file of failed councils):", ""]
        lines += [f"- {f.council}: {f.message}" for f in failures]
        lines.append("")
    return "\n".join(lines)
