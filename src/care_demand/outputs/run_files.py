"""Read a run folder (or a multirun's sweep folder) back from disk.

The files' names are :data:`care_demand.outputs.layout.LAYOUT`'s. :func:`latest_run` finds
the most recent finished run (or multirun) under a project folder, as the notebooks open it.

Charts and the report are built from the files a run wrote, never from the model's objects,
so they can be made again from any run folder. Every file is optional: a table a run did
not write (``run_until=data``, say) is ``None``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from care_demand.outputs.disclosure import DisclosureRule
from care_demand.outputs.layout import LAYOUT

__all__ = ["RunFiles", "SweepFiles", "latest_run", "read_run", "read_sweep"]

BASELINE = "baseline"


def _csv(path: Path, dates: tuple[str, ...] = ()) -> pd.DataFrame | None:
    if not path.is_file():
        return None
    frame = pd.read_csv(path, dtype={"children": "string", "arrivals": "string"})
    for column in dates:
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column])
    return frame


def _read_flows(path: Path) -> pd.DataFrame | None:
    """The flows table with its years and values as text (``2021/22``; counts or ``[c]``)."""
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype={"financial_year": str, "value": str}, keep_default_na=False)


def _years_csv(path: Path) -> pd.DataFrame | None:
    """A table with financial years as text (``2024/25``, ``2024/25 to 2028/29``)."""
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype={"financial_year": str})


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.is_file() else ""


@dataclass(frozen=True)
class RunFiles:
    """The tables and texts of one run folder (``None`` or empty where not written)."""

    path: Path
    details: dict[str, Any]
    scenario_markdown: str = ""
    data_summary: str = ""
    stocks: pd.DataFrame | None = None
    arrivals: pd.DataFrame | None = None
    recorded: pd.DataFrame | None = None
    flows: pd.DataFrame | None = None
    quantiles: pd.DataFrame | None = None
    key_measures: pd.DataFrame | None = None
    costs: pd.DataFrame | None = None
    demand_capacity: pd.DataFrame | None = None
    sufficiency: pd.DataFrame | None = None
    assumptions: pd.DataFrame | None = None
    arrival_forecast: pd.DataFrame | None = None
    diagnostics: dict[str, Any] | None = None
    dropped: dict[str, int] | None = None
    repairs: dict[str, int] | None = None

    @property
    def config(self) -> dict[str, Any]:
        """The run's full configuration as recorded in ``run_details.json``, with the
        in-house capacity the simulation ran with when it was sized to the council's
        caseload (``capacity_as_run``)."""
        config = self.details.get("config", {}) or {}
        as_run = self.details.get("capacity_as_run")
        return {**config, "capacity": as_run} if as_run else config

    @property
    def scenario(self) -> str:
        """The scenario's name (``baseline``, ...)."""
        return str(self.details.get("scenario") or self.config.get("scenario", {}).get("name"))

    @property
    def title(self) -> str:
        """The scenario's title, or its name."""
        return str(self.config.get("scenario", {}).get("title") or self.scenario)

    @property
    def synthetic(self) -> bool:
        """Whether the run read the built-in synthetic example."""
        return bool(self.details.get("synthetic_data", False))

    @property
    def council(self) -> str:
        """Whose data the run read, as the report and the workbook name it."""
        if self.synthetic:
            return "Built-in synthetic example council (not a real council)"
        return str(self.config.get("output", {}).get("council") or "The council")

    @property
    def data_to(self) -> pd.Timestamp | None:
        """The last day of the data the run read (``None`` for older run folders)."""
        value = self.details.get("data_to")
        return pd.Timestamp(value) if value else None

    @property
    def rule(self) -> DisclosureRule:
        """The disclosure rule the run was configured with."""
        return DisclosureRule.from_config(self.config.get("output", {}))

    @property
    def population(self) -> int | None:
        """Children aged 0-17 in the area (for rates per 10,000), if configured."""
        value = self.config.get("output", {}).get("child_population")
        return int(value) if value else None

    @property
    def replicates(self) -> int | None:
        """Number of simulated futures, if the run projected."""
        if self.quantiles is None or "replicates" not in self.quantiles.columns:
            return None
        return int(self.quantiles["replicates"].max())


def read_run(run_dir: str | Path) -> RunFiles:
    """Read the files of the run folder ``run_dir``."""
    path = Path(run_dir)
    details = _json(path / LAYOUT.run_details) or {}
    return RunFiles(
        path=path,
        details=details,
        scenario_markdown=_text(path / LAYOUT.scenario),
        data_summary=_text(path / LAYOUT.data_summary),
        stocks=_csv(path / LAYOUT.stocks, ("date",)),
        arrivals=_csv(path / LAYOUT.arrivals),
        recorded=_csv(path / LAYOUT.recorded, ("month",)),
        flows=_read_flows(path / LAYOUT.flows),
        quantiles=_csv(path / LAYOUT.quantiles, ("month",)),
        key_measures=_csv(path / LAYOUT.key_measures, ("month",)),
        costs=_csv(path / LAYOUT.cost_summary),
        demand_capacity=_csv(path / LAYOUT.demand_capacity, ("month",)),
        sufficiency=_csv(path / LAYOUT.sufficiency, ("quarter_end",)),
        assumptions=_csv(path / LAYOUT.assumptions),
        arrival_forecast=_csv(path / LAYOUT.arrival_forecast, ("month",)),
        diagnostics=_json(path / LAYOUT.diagnostics),
        dropped=_json(path / LAYOUT.dropped_counts),
        repairs=_json(path / LAYOUT.repairs),
    )


@dataclass(frozen=True)
class SweepFiles:
    """A multirun: each successful scenario's run folder and the comparison tables."""

    path: Path
    runs: dict[str, RunFiles]
    headline: pd.DataFrame | None = None
    by_year: pd.DataFrame | None = None
    savings: pd.DataFrame | None = None
    failed: dict[str, str] = field(default_factory=dict)
    flow_differences: pd.DataFrame | None = None
    cost_bridge: pd.DataFrame | None = None

    @property
    def baseline(self) -> RunFiles | None:
        """The baseline's run, if the multirun had one that succeeded."""
        return self.runs.get(BASELINE)

    @property
    def reference(self) -> RunFiles | None:
        """The run whose data and calibration stand for all (the baseline, or the first)."""
        return self.baseline or next(iter(self.runs.values()), None)

    @property
    def synthetic(self) -> bool:
        """Whether the runs read the built-in synthetic example."""
        return any(run.synthetic for run in self.runs.values())


def read_sweep(sweep_dir: str | Path) -> SweepFiles:
    """Read a multirun's sweep folder: the run folders that succeeded and ``comparison/``."""
    path = Path(sweep_dir)
    runs: dict[str, RunFiles] = {}
    for folder in sorted(p for p in path.iterdir() if (p / LAYOUT.status).is_file()):
        status = _json(folder / LAYOUT.status) or {}
        if status.get("ok"):
            run = read_run(folder)
            runs[str(status.get("scenario") or run.scenario)] = run
    order = [BASELINE, *sorted(set(runs) - {BASELINE})]
    runs = {name: runs[name] for name in order if name in runs}
    names = LAYOUT.comparison
    comparison = path / names.dir
    return SweepFiles(
        path=path,
        runs=runs,
        headline=_csv(comparison / names.headline),
        by_year=_csv(comparison / names.by_year),
        savings=_csv(comparison / names.savings),
        failed=_json(comparison / names.failed) or {},
        flow_differences=_years_csv(comparison / names.flow_differences),
        cost_bridge=_years_csv(comparison / names.cost_bridge),
    )


# Where the command line writes a run and a multirun, relative to the folder it ran in
# (``hydra.run.dir`` and ``hydra.sweep.dir`` in configs/config.yaml).
RUNS_DIR = "outputs"
SWEEPS_DIR = "multirun"


def latest_run(project: str | Path = ".", *, sweep: bool = False) -> Path | None:
    """The most recent finished run folder under ``project``, or ``None`` if there is none.

    A run folder is one under ``project/outputs`` whose ``status.json`` records success; with
    ``sweep=True``, a multirun's sweep folder under ``project/multirun`` whose comparison was
    written (every scenario had ended). "Most recent" is the one that finished last.
    """
    base = Path(project)
    if sweep:
        marker = f"{LAYOUT.comparison.dir}/{LAYOUT.comparison.headline}"
        found = [(p.stat().st_mtime, p.parent.parent) for p in _files(base / SWEEPS_DIR, marker)]
    else:
        found = [
            (status.stat().st_mtime, status.parent)
            for status in _files(base / RUNS_DIR, LAYOUT.status)
            if (_json(status) or {}).get("ok")
        ]
    return max(found)[1] if found else None


def _files(folder: Path, pattern: str) -> list[Path]:
    """Files matching ``pattern`` under ``folder``, outside hidden (staging, Hydra) folders."""
    return [
        path
        for path in folder.rglob(pattern)
        if not any(part.startswith(".") for part in path.relative_to(folder).parts)
    ]
