"""The browser app's own settings: where runs go, the calibration cache and the run sizes.

Every number of a run still comes from ``configs/`` and ``scenarios/``; the app only adds
Hydra-style overrides: the chosen data folder, the run size ("quick look" or the configured
default) and any overrides given when starting it (``care-demand-app --set KEY=VALUE`` or
``CARE_DEMAND_APP_OVERRIDES``), which come last and so win.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from care_demand.paths import SCENARIO_DIR

__all__ = [
    "CACHE_ENV",
    "LOCAL_HOSTS",
    "OUTPUTS_ENV",
    "OVERRIDES_ENV",
    "QUICK_LOOK",
    "SCENARIOS_ENV",
    "TOKEN_ENV",
    "WEIGHTINGS",
    "WHOLE_RECORD",
    "AppSettings",
    "RatePeriod",
]

# Environment variables the app reads.
TOKEN_ENV = "CARE_DEMAND_APP_TOKEN"
CACHE_ENV = "CARE_DEMAND_APP_CACHE_DIR"
OVERRIDES_ENV = "CARE_DEMAND_APP_OVERRIDES"
OUTPUTS_ENV = "CARE_DEMAND_APP_OUTPUTS"
SCENARIOS_ENV = "CARE_DEMAND_APP_SCENARIOS"

# Addresses only this computer can reach: no access token needed.
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

# "Quick look": a first view in a minute or two, far fewer futures than a published run.
# Each scenario's run folder gets its tables, workbook and report but no charts of its own
# (the comparison's charts are drawn): seconds saved per scenario.
QUICK_LOOK: tuple[str, ...] = (
    "simulation.replicates=50",
    "simulation.horizon_months=24",
    "output.charts=false",
)


# The weightings of the record's earlier years the Calibration page offers: years of
# half-life (calibration.hazards.priors.record_half_life_years) and their words; 2 years is
# what a council's backtest tries (configs/backtest/default.yaml, rate_variants.half_life_years).
WEIGHTINGS: dict[str, str] = {
    "": "Every year counts in full",
    "1": "Each year counts half as much as the year after it",
    "2": "Each year counts half as much every 2 years back",
    "3": "Each year counts half as much every 3 years back",
}


@dataclass(frozen=True)
class RatePeriod:
    """The part of the record the transition rates are fitted on, as chosen in the app.

    ``start`` and ``end``: the reference period's dates (``None``: the record's own ends);
    ``half_life_years``: each earlier year counts half as much every so many years back
    (``None``: every year in full).
    """

    start: str | None = None
    end: str | None = None
    half_life_years: float | None = None

    def overrides(self) -> list[str]:
        """The period as Hydra-style overrides (none for the whole record as it is)."""
        out = [
            f"calibration.{key}={date.fromisoformat(str(value)[:10]):%Y-%m-%d}"
            for key, value in (("reference_start", self.start), ("reference_end", self.end))
            if value
        ]
        if self.half_life_years is not None:
            out.append(
                f"calibration.hazards.priors.record_half_life_years={float(self.half_life_years):g}"
            )
        return out


# The default: the whole record, every year in full.
WHOLE_RECORD = RatePeriod()


@dataclass(frozen=True)
class AppSettings:
    """Where the app writes and reads runs, and the overrides it adds to every run.

    ``outputs``: the folder of run folders (runs from the app go in ``outputs/app/``);
    ``cache_dir``: the calibration cache (``None``: the configured one); ``overrides``:
    Hydra-style overrides applied after the app's own, e.g. ``simulation.replicates=4``;
    ``scenarios``: the folder of scenario files the Scenarios page reads and writes and the
    Run page runs (the command line's ``scenarios/`` unless set).
    """

    outputs: Path = Path("outputs")
    cache_dir: Path | None = None
    overrides: tuple[str, ...] = field(default_factory=tuple)
    scenarios: Path = SCENARIO_DIR

    @classmethod
    def from_environment(
        cls,
        outputs: str | Path | None = None,
        cache_dir: str | Path | None = None,
        overrides: tuple[str, ...] = (),
        scenarios: str | Path | None = None,
    ) -> AppSettings:
        """Settings from the arguments, falling back on the ``CARE_DEMAND_APP_*`` variables."""
        outputs = outputs or os.environ.get(OUTPUTS_ENV) or "outputs"
        cache = cache_dir or os.environ.get(CACHE_ENV) or None
        extra = tuple(shlex.split(os.environ.get(OVERRIDES_ENV, ""))) + tuple(overrides)
        folder = scenarios or os.environ.get(SCENARIOS_ENV) or SCENARIO_DIR
        return cls(
            outputs=Path(outputs).expanduser(),
            cache_dir=Path(cache).expanduser() if cache else None,
            overrides=extra,
            scenarios=Path(folder).expanduser(),
        )

    def run_overrides(
        self,
        size: str,
        data_path: str | None,
        reference: RatePeriod = WHOLE_RECORD,
    ) -> list[str]:
        """The overrides of one run: the part of the record the rates are fitted on, data
        folder, size (``quick`` or ``full``), then the app's."""
        out = reference.overrides()
        if data_path:
            quoted = data_path.replace("\\", "\\\\").replace("'", "\\'")
            out.append(f"data.path='{quoted}'")
        if size == "quick":
            out += QUICK_LOOK
        if self.cache_dir is not None:
            out.append(f"calibration.cache_dir={self.cache_dir}")
        return [*out, *self.scenario_overrides(), *self.overrides]

    def scenario_overrides(self) -> list[str]:
        """With a scenarios folder of its own, the override that lets Hydra find its files
        (copied now into a search folder; the command line's ``scenarios/`` needs none)."""
        if self.scenarios.resolve() == SCENARIO_DIR.resolve():
            return []
        from care_demand.app.scenario_files import search_root

        key = hashlib.sha1(str(self.scenarios.resolve()).encode()).hexdigest()[:12]
        root = Path(tempfile.gettempdir()) / f"care-demand-scenarios-{key}"
        return [search_root(self.scenarios, root)]

    @property
    def app_runs(self) -> Path:
        """The folder the app's runs go in: one folder per run, named by its start time."""
        return self.outputs / "app"
