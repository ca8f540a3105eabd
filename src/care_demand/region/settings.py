"""The settings of a regional run: where the region's councils are and where the work runs.

:class:`RegionConfig` (``region.*``) names the region: a folder of council folders, or a
folder of multi-council files with an ``LA`` column. :class:`ClusterConfig` (``cluster.*``)
says where the work runs: a Dask ``LocalCluster`` started for the run, or an existing Dask
scheduler. :func:`region_problems` checks both, as every stage's ``*_problems`` does.
"""

from __future__ import annotations

from dataclasses import dataclass

from care_demand.checking import Problems

__all__ = ["ClusterConfig", "RegionConfig", "region_problems"]


@dataclass
class RegionConfig:
    """A region of councils run together (``care-demand region.path=DIR``)."""

    # The region's folder: one council folder each (laid out as for ``data.path``), or
    # multi-council files with an ``LA`` column (and optionally ``YEAR``). None: no region.
    path: str | None = None
    # The councils to run, by folder name or LA value (empty: every council found).
    councils: list[str] | None = None
    # The scenarios each council runs (files in scenarios/); empty: the run's own scenario.
    scenarios: list[str] | None = None
    # Futures per task: the replicates of one (council, scenario) are split into chunks of
    # this many, each a task of its own (results do not depend on it).
    chunk_size: int = 4


@dataclass
class ClusterConfig:
    """Where a region's tasks run: a local Dask cluster, or an existing scheduler."""

    # An existing Dask scheduler (``tcp://host:8786``); None: start a LocalCluster.
    address: str | None = None
    # Workers of the LocalCluster (one process each, one thread each); -1: one per core.
    n_workers: int = -1
    # Memory limit of each local worker (Dask's syntax, e.g. "4GB"); "auto" shares the
    # machine's memory between the workers.
    memory_limit: str = "auto"


def region_problems(region: RegionConfig, cluster: ClusterConfig) -> Problems:
    """Every problem in the region and cluster settings, as ``(field, message)`` pairs."""
    problems: Problems = []
    if region.chunk_size < 1:
        problems.append(("region.chunk_size", f"must be at least 1, got {region.chunk_size}"))
    if cluster.n_workers == 0 or cluster.n_workers < -1:
        problems.append(
            ("cluster.n_workers", f"must be -1 (every core) or at least 1, got {cluster.n_workers}")
        )
    if cluster.address is not None and not str(cluster.address).strip():
        problems.append(("cluster.address", "is empty; leave it unset for a local cluster"))
    elif cluster.address and "://" not in str(cluster.address):
        problems.append(
            (
                "cluster.address",
                f"{cluster.address!r}: expected a scheduler address tcp://host:port",
            )
        )
    for name in region.councils or []:
        if not str(name).strip() or "/" in str(name):
            problems.append(("region.councils", f"{name!r} is not a council's name"))
    return problems
