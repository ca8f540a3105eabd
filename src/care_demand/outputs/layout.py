"""The names of every file and folder a run folder holds: the one place they are spelled.

:data:`LAYOUT` names what a run writes (``status.json``, ``run_details.json``, the recorded
tables, ``calibration/``, ``projection/``, ``finance/``, ``charts/``, ``report.html``), what
a multirun writes beside its run folders (:attr:`RunLayout.comparison`, in ``comparison/``)
what a backtest writes in its own run folder (:attr:`RunLayout.backtest`) and a region's
roll-up beside its councils' run folders (:attr:`RunLayout.region`). The pipeline,
the multirun, the command line, the backtest and the readers of run folders
(:mod:`care_demand.outputs.run_files`) all take the names from here.

Names are relative paths with ``/`` between folders, as
:meth:`care_demand.outputs.run_folder.RunFolder.path` takes them: a run's are relative to
its run folder, the comparison's to the comparison folder (:attr:`ComparisonLayout.dir`,
inside the multirun's sweep folder). Fields ending in ``_dir`` (and ``dir``) name folders;
every other field names a file. Charts drawn from the chart catalogue are named after their
chart, inside :attr:`RunLayout.charts_dir`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

__all__ = ["LAYOUT", "BacktestLayout", "ComparisonLayout", "RegionLayout", "RunLayout"]


def _names(layout: object, folders: bool) -> frozenset[str]:
    """The file (or folder) names among the string fields of a layout."""
    out = set()
    for item in dataclasses.fields(layout):  # type: ignore[arg-type]
        value = getattr(layout, item.name)
        is_folder = item.name == "dir" or item.name.endswith("_dir")
        if isinstance(value, str) and is_folder == folders:
            out.add(value)
    return frozenset(out)


@dataclass(frozen=True)
class ComparisonLayout:
    """A multirun's comparison folder, in its sweep folder beside the scenarios' run folders."""

    dir: str = "comparison"
    markdown: str = "comparison.md"
    headline: str = "comparison_headline.csv"
    by_year: str = "comparison_by_year.csv"
    savings: str = "savings.csv"
    flow_differences: str = "flow_differences.csv"
    cost_bridge: str = "cost_bridge.csv"
    failed: str = "failed_scenarios.json"
    workbook: str = "finance_workbook.xlsx"
    report: str = "report.html"
    charts_dir: str = "charts"

    def files(self) -> frozenset[str]:
        """Every file name of the comparison folder."""
        return _names(self, folders=False)

    def folders(self) -> frozenset[str]:
        """Every folder name: the comparison folder and its chart folder."""
        return _names(self, folders=True)


@dataclass(frozen=True)
class RegionLayout:
    """A region's roll-up folder, beside its councils' run folders (one per scenario inside).

    A regional run writes ``<council>/<scenario>/`` run folders and ``region/<scenario>/``
    roll-ups; :meth:`scenario_dir` names the latter.
    """

    dir: str = "region"
    key_measures: str = "key_measures_by_replicate.csv"
    key_measures_summary: str = "key_measures_summary.csv"
    costs: str = "costs_by_replicate.csv"
    cost_summary: str = "cost_summary.csv"
    sufficiency: str = "sufficiency_by_replicate.csv"
    sufficiency_summary: str = "sufficiency_summary.csv"
    shares: str = "council_shares.csv"
    summary: str = "region_summary.md"
    failed: str = "failed_councils.csv"
    councils: str = "councils.json"

    def scenario_dir(self, scenario: str) -> str:
        """The roll-up folder of one scenario, relative to the regional run's folder."""
        return f"{self.dir}/{scenario}"

    def files(self) -> frozenset[str]:
        """Every file name of the region folder."""
        return _names(self, folders=False)

    def folders(self) -> frozenset[str]:
        """Every folder name of the region folder."""
        return _names(self, folders=True)


@dataclass(frozen=True)
class BacktestLayout:
    """What a backtest writes in its run folder (besides ``run_details.json``)."""

    recorded: str = "backtest/recorded.csv"
    forecasts: str = "backtest/forecasts.csv"
    metrics: str = "backtest/metrics.csv"
    summary: str = "backtest/summary.csv"
    calibration: str = "backtest/calibration.csv"
    report: str = "backtest/summary.md"
    interval_widening: str = "backtest/interval_widening.json"
    arrival_variants: str = "backtest/arrival_variants.csv"
    arrival_variant: str = "backtest/arrival_variant.json"
    arrival_drifts: str = "backtest/arrival_drifts.csv"
    arrival_drift: str = "backtest/arrival_drift.json"
    rate_variants: str = "backtest/rate_variants.csv"
    rate_variant: str = "backtest/rate_variant.json"
    pit_histogram: str = "backtest/charts/pit_histogram.png"
    charts_dir: str = "backtest/charts"

    def forecast_chart(self, measure: str) -> str:
        """The chart of one measure's forecasts from each cut against the record."""
        return f"{self.charts_dir}/forecasts_{measure}.png"

    def files(self) -> frozenset[str]:
        """Every fixed file name of a backtest (the per-measure charts aside)."""
        return _names(self, folders=False)

    def folders(self) -> frozenset[str]:
        """Every folder name of a backtest."""
        return _names(self, folders=True)


@dataclass(frozen=True)
class RunLayout:
    """Every file and folder of a run folder, and of the folders a multirun and backtest add.

    Files a run writes only in some cases: ``pre_proceedings_by_year.csv`` when the CIN
    census carries its pre-proceedings block, ``dropped_rows.*`` in lenient mode when rows were
    dropped, ``repairs.json`` when values were repaired, ``calibration/`` from
    ``run_until=calibration``, ``projection/`` and ``finance/`` from ``run_until=simulation``.
    """

    # The run's end and settings.
    status: str = "status.json"
    run_details: str = "run_details.json"
    scenario: str = "scenario.md"
    # The data read.
    data_summary: str = "data_summary.md"
    stocks: str = "stocks_31_march.csv"
    arrivals: str = "arrivals_by_year.csv"
    pre_proceedings: str = "pre_proceedings_by_year.csv"
    recorded: str = "recorded_monthly.csv"
    dropped_counts: str = "dropped_rows.json"
    dropped_rows: str = "dropped_rows.csv"
    repairs: str = "repairs.json"
    # The calibration.
    hazards: str = "calibration/hazards.csv"
    placements: str = "calibration/placements.csv"
    diagnostics: str = "calibration/diagnostics.json"
    arrival_forecast: str = "calibration/arrival_forecast.csv"
    arrival_components: str = "calibration/arrival_components.png"
    # The projection.
    quantiles: str = "projection/quantiles.csv"
    key_measures: str = "projection/key_measures_by_replicate.csv"
    fan_chart: str = "projection/children_in_care_fan.png"
    flows: str = "projection/flows_by_year.csv"
    flows_by_replicate: str = "projection/flows_by_replicate.csv"
    # The costs.
    costs_by_replicate: str = "finance/costs_by_replicate.csv"
    cost_summary: str = "finance/cost_summary.csv"
    demand_capacity: str = "finance/demand_capacity.csv"
    sufficiency: str = "finance/sufficiency_by_quarter.csv"
    assumptions: str = "finance/assumptions.csv"
    workbook: str = "finance/workbook.xlsx"
    # Charts and the report, built from the files above.
    report: str = "report.html"
    charts_dir: str = "charts"
    # Hydra's record of the job's configuration (a job without ``status`` stopped early).
    hydra_dir: str = ".hydra"
    # Where a run stages its files before publishing them (followed by the process id).
    staging_dir: str = ".staging"
    comparison: ComparisonLayout = field(default_factory=ComparisonLayout)
    backtest: BacktestLayout = field(default_factory=BacktestLayout)
    region: RegionLayout = field(default_factory=RegionLayout)

    def files(self) -> frozenset[str]:
        """Every file name of a run folder, its comparison, region and backtest folders."""
        return (
            _names(self, folders=False)
            | self.comparison.files()
            | self.backtest.files()
            | self.region.files()
        )

    def folders(self) -> frozenset[str]:
        """Every folder name of a run folder, its comparison, region and backtest folders."""
        return (
            _names(self, folders=True)
            | self.comparison.folders()
            | self.backtest.folders()
            | self.region.folders()
        )


LAYOUT = RunLayout()
