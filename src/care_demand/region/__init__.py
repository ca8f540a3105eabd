"""A region: several councils' runs side by side and their roll-up.

- :mod:`~care_demand.region.settings`: ``region.*`` (the region's folder, its councils and
  scenarios) and ``cluster.*`` (a local Dask cluster or an existing scheduler), checked by
  :func:`region_problems`.
- :mod:`~care_demand.region.councils`: the councils of a region's folder (a folder each, or
  multi-council files with an ``LA`` column).
- :mod:`~care_demand.region.rollup`: the councils' per-replicate counts and costs summed
  replicate by replicate, their summary and each council's share.

Running a region on a cluster is :mod:`care_demand.regional`.
"""

from care_demand.region.councils import Council, find_councils, write_council_files
from care_demand.region.rollup import (
    CouncilTables,
    council_shares,
    sum_over_councils,
    summarise,
)
from care_demand.region.settings import ClusterConfig, RegionConfig, region_problems

__all__ = [
    "ClusterConfig",
    "Council",
    "CouncilTables",
    "RegionConfig",
    "council_shares",
    "find_councils",
    "region_problems",
    "sum_over_councils",
    "summarise",
    "write_council_files",
]
