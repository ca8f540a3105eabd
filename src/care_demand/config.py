"""The composer at the top: the whole run's settings, built from each stage's own schema.

Each stage owns its settings and their validation (``data``: where the data are and who
counts as a care leaver; ``calibration``; ``simulation``: its size and capacity; ``finance``:
costs; ``outputs``: disclosure and what is written; ``scenarios``: the what-if; ``region``:
a region's councils and the cluster they run on). This module
composes them into :class:`AppConfig`, the schema of ``configs/`` that Hydra registers (see
:mod:`care_demand.cli`), gathers every stage's problems into one error naming each field and
the file that set it (:func:`validate_config`), and hands each stage its part
(:func:`projection_settings`). Only the entry points import it (``pipeline``, ``cli``,
``multirun``, ``backtest`` and the browser app); no stage does.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path

from care_demand.calibration.reference import calibration_problems
from care_demand.calibration.settings import CalibrationConfig
from care_demand.checking import Problems, raise_problems
from care_demand.data.settings import CareLeaverConfig, DataConfig, data_problems
from care_demand.errors import ConfigError
from care_demand.finance.schema import CostConfig
from care_demand.outputs.settings import OutputConfig, output_problems
from care_demand.paths import CONFIG_DIR, EXAMPLE_DATA_DIR, SCENARIO_DIR
from care_demand.region.settings import ClusterConfig, RegionConfig, region_problems
from care_demand.scenarios import ScenarioConfig, scenario_levers, scenario_problems
from care_demand.simulation.capacity import CapacityConfig, capacity_problems
from care_demand.simulation.settings import (
    ProjectionSettings,
    SimulationConfig,
    simulation_problems,
)

__all__ = [
    "CONFIG_DIR",
    "EXAMPLE_DATA_DIR",
    "SCENARIO_DIR",
    "AppConfig",
    "CalibrationConfig",
    "CareLeaverConfig",
    "ClusterConfig",
    "DataConfig",
    "OutputConfig",
    "RegionConfig",
    "SimulationConfig",
    "config_problems",
    "data_folder",
    "load_config",
    "projection_settings",
    "register_schema",
    "scenario_file",
    "shipped_capacity",
    "shipped_costs",
    "validate_config",
]


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
    # A region of councils run together (``region.path``) and where its work runs.
    region: RegionConfig = field(default_factory=RegionConfig)
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
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


def config_problems(config: AppConfig) -> Problems:
    """Every problem every stage finds in its part of ``config``, as ``(field, message)``."""
    return [
        *capacity_problems(config.capacity),
        *scenario_problems(config.scenario),
        *simulation_problems(config.simulation),
        *data_problems(config.data),
        *calibration_problems(config.calibration),
        *output_problems(config.output),
        *region_problems(config.region, config.cluster),
    ]


def validate_config(
    config: AppConfig, scenario_file: Path | None = None, config_dir: Path = CONFIG_DIR
) -> None:
    """Raise one :class:`ConfigError` listing every problem, each with its field and file."""
    raise_problems(config_problems(config), scenario_file, config_dir)


@functools.cache
def _shipped(schema: type, group: str) -> object:
    """A config group's shipped file (``configs/<group>/default.yaml``) as ``schema``."""
    from omegaconf import OmegaConf

    file = OmegaConf.load(CONFIG_DIR / group / "default.yaml")
    return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(schema), file))


def shipped_costs() -> CostConfig:
    """The costs ``configs/costs/default.yaml`` ships (their fixed costs are the built-in
    example's services; a copy: the caller may change it)."""
    return copy.deepcopy(_shipped(CostConfig, "costs"))  # type: ignore[return-value]


def shipped_capacity() -> CapacityConfig:
    """The in-house capacity ``configs/capacity/default.yaml`` ships: the built-in example's
    (a copy: the caller may change it)."""
    return copy.deepcopy(_shipped(CapacityConfig, "capacity"))  # type: ignore[return-value]


def data_folder(config: AppConfig) -> tuple[Path, bool]:
    """The folder to read and whether it is the built-in synthetic example."""
    if config.data.path in (None, ""):
        return EXAMPLE_DATA_DIR, True
    path = Path(config.data.path).expanduser().resolve()
    return path, path == EXAMPLE_DATA_DIR.resolve()


def projection_settings(config: AppConfig) -> ProjectionSettings:
    """The simulation stage's part of ``config``: size, capacity, seed and the levers."""
    levers = scenario_levers(config.scenario)
    capacity, example = config.capacity, None
    if capacity.sizing == "auto":  # the shipped capacity is the built-in example's
        builtin = data_folder(config)[1]
        capacity = dataclasses.replace(capacity, sizing="configured" if builtin else "caseload")
        # Sized where the figures are still the example's; a council's own are kept.
        example = None if builtin else shipped_capacity()
    return ProjectionSettings(
        simulation=config.simulation,
        capacity=capacity,
        example_capacity=example,
        seed=config.seed,
        care_leaver=config.data.care_leaver,
        arrival_levers=levers.arrivals,
        arrival_levels=levers.levels,
        hazard_levers=levers.hazards,
        entry_levers=levers.entry,
    )
