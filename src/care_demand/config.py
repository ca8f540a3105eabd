"""Typed configuration shared by the library and the ``care-demand`` command.

The dataclasses here are the schema of ``configs/``: Hydra registers them in its
ConfigStore (see :mod:`care_demand.cli`) and library functions take them as plain objects,
so tests and notebooks build them directly without Hydra.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from care_demand.calibration.arrival_settings import ArrivalSettings
from care_demand.calibration.hazard_settings import HazardSettings
from care_demand.errors import ConfigError
from care_demand.finance.schema import CostConfig
from care_demand.paths import CONFIG_DIR, EXAMPLE_DATA_DIR, SCENARIO_DIR
from care_demand.scenarios.schema import ScenarioConfig
from care_demand.scenarios.validate import validate_config
from care_demand.simulation.capacity import CapacityConfig

__all__ = [
    "CONFIG_DIR",
    "EXAMPLE_DATA_DIR",
    "SCENARIO_DIR",
    "AppConfig",
    "CalibrationConfig",
    "CareLeaverConfig",
    "DataConfig",
    "OutputConfig",
    "SimulationConfig",
    "load_config",
    "register_schema",
    "scenario_file",
]


@dataclass
class CareLeaverConfig:
    """Who counts as a care leaver and for how long (Children (Leaving Care) Act 2000)."""

    min_exit_age: float = 16.0
    min_weeks_in_care: float = 13.0
    start_age: float = 18.0
    end_age: float = 21.0
    # Personal-adviser support from 21 to 25 for care leavers who ask for it (Children and
    # Social Work Act 2017): the share still supported at 21, and the age support ends.
    supported_to_25_share: float = 0.3
    supported_end_age: float = 25.0


@dataclass
class DataConfig:
    """Where a council's data is and how it is read (``configs/data/default.yaml``)."""

    path: str | None = None
    lenient: bool = False
    pseudonym_key_env: str = "CARE_DEMAND_PSEUDONYM_KEY"
    pseudonym_key_file: str = "~/.config/care_demand/pseudonym.key"
    link_gap_days: int = 7
    rereferral_days: int = 365
    # A run stops before projecting when lenient reading lost the open episodes of more than
    # this share of the children in care at the last 31 March (or all of them).
    max_lost_caseload_share: float = 0.10
    care_leaver: CareLeaverConfig = field(default_factory=CareLeaverConfig)
    placement_groups_file: str = "mappings/placement_groups.yaml"
    exit_reasons_file: str = "mappings/exit_reasons.yaml"

    def resolve(self, relative: str) -> Path:
        """Resolve a mapping file name against the configs/ folder."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else CONFIG_DIR / candidate


@dataclass
class OutputConfig:
    """What the run writes (``configs/output/default.yaml``)."""

    # Published tables replace counts from 1 to this value with a marker (1-5:
    # [Small-number suppression] in docs/sources.md).
    suppress_max: int = 5
    suppression_marker: str = "[c]"
    # Also hide a second figure wherever a total and its parts would reveal a hidden count.
    secondary_suppression: bool = True
    # Children aged 0-17 in the council's area, for rates per 10,000 (None: counts only).
    child_population: int | None = None
    # Dates on which stocks are counted in the data summary: 31 March of each year.
    stock_month: int = 3
    stock_day: int = 31


@dataclass
class CalibrationConfig:
    """Calibration settings (``configs/calibration/default.yaml``)."""

    hazards: HazardSettings = field(default_factory=HazardSettings)
    arrivals: ArrivalSettings = field(default_factory=ArrivalSettings)
    # Where fitted posteriors are kept and reused while the data and settings are unchanged.
    cache_dir: str = ".cache/calibration"


@dataclass
class SimulationConfig:
    """Flow-model run settings (``configs/simulation/default.yaml``)."""

    horizon_months: int = 60
    replicates: int = 200
    n_jobs: int = -1
    chunk_size: int = 10
    rate_drift_sd: float = 0.0


@dataclass
class AppConfig:
    """The whole run: one typed tree composed by Hydra from ``configs/``."""

    data: DataConfig = field(default_factory=DataConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    simulation: SimulationConfig = field(default_factory=SimulationConfig)
    capacity: CapacityConfig = field(default_factory=CapacityConfig)
    costs: CostConfig = field(default_factory=CostConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    scenario: ScenarioConfig = field(default_factory=ScenarioConfig)
    seed: int = 20220331
    # How far the run goes: "data" (validate and summarise only), "calibration" (also fit
    # the hazards and arrival trends) or "simulation" (also project: the full run).
    run_until: str = "simulation"


def register_schema() -> None:
    """Register :class:`AppConfig` as ``base_config`` in Hydra's ConfigStore."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name="base_config", node=AppConfig)


def load_config(overrides: list[str] | tuple[str, ...] = (), *, in_app: bool = False) -> AppConfig:
    """Compose ``configs/`` exactly as ``care-demand`` does, with Hydra-style overrides.

    For notebooks and tests: ``load_config(["simulation.replicates=20", "seed=7"])`` gives
    the same typed configuration the command line would, so the YAML files stay the single
    source of every number. ``in_app``: compose with the running ``care-demand`` app's own
    Hydra (its search path included), as a multirun's callback does.
    """
    from hydra import compose, initialize_config_dir
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    register_schema()
    try:
        if in_app:
            composed = compose(config_name="config", overrides=list(overrides))
        else:
            with initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
                composed = compose(config_name="config", overrides=list(overrides))
        config: AppConfig = OmegaConf.to_object(composed)  # type: ignore[assignment]
    except (HydraException, OmegaConfBaseException) as exc:
        message = str(exc).split("\nConfig search path:", 1)[0].strip()
        if exc.__cause__ is not None:  # the type check that failed, with the field's full key
            message += f": {exc.__cause__}"
        raise ConfigError(f"the configuration could not be composed: {message}") from None
    validate_config(config, scenario_file(config), CONFIG_DIR)
    return config


def scenario_file(config: AppConfig) -> Path | None:
    """The file in ``scenarios/`` the run's scenario comes from (``None`` if there is none)."""
    path = SCENARIO_DIR / f"{config.scenario.name}.yaml"
    return path if path.is_file() else None
