"""``care-demand-backtest``: the rolling-origin backtest as a Hydra app.

Composed from ``configs/backtest.yaml`` (the run's groups plus ``backtest``), turned into
the typed :class:`~care_demand.backtest.BacktestAppConfig` and handed to
:func:`care_demand.backtest.run_backtest`, which takes plain objects.
"""

from __future__ import annotations

import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from care_demand.backtest.settings import register_backtest_schema
from care_demand.config import CONFIG_DIR
from care_demand.errors import CareDemandError

__all__ = ["main"]

register_backtest_schema()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="backtest")
def _hydra_main(cfg: DictConfig) -> None:
    from care_demand.backtest.run import run_backtest
    from care_demand.backtest.settings import BacktestAppConfig
    from care_demand.data import InvalidDataError

    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        config: BacktestAppConfig = OmegaConf.to_object(cfg)  # type: ignore[assignment]
        run_backtest(config, run_dir)
    except (CareDemandError, InvalidDataError, OmegaConfBaseException) as exc:
        if isinstance(exc, InvalidDataError):
            message = exc.report.format() + (
                "\n\nThe data did not pass validation, so nothing was written. Correct the "
                "rows above, or run with data.lenient=true to drop them."
            )
        else:
            message = str(exc)
        print(f"care-demand-backtest: {message}", file=sys.stderr)
        sys.exit(2)


def main() -> None:
    """Run ``care-demand-backtest`` (Hydra overrides accepted, ``--help`` lists them)."""
    _hydra_main()


if __name__ == "__main__":  # pragma: no cover
    main()
