"""Command-line entry points: ``care-demand`` (a Hydra app) and ``care-demand-validate``.

Hydra stays here, at the edge: the run is composed from ``configs/``, turned into the typed
:class:`~care_demand.config.AppConfig`, and handed to :func:`care_demand.pipeline.run`, which
takes plain objects so tests and notebooks can call it without Hydra.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from care_demand.config import CONFIG_DIR, AppConfig, DataConfig, register_schema
from care_demand.errors import CareDemandError

__all__ = ["main", "validate_entry", "validate_main"]

log = logging.getLogger("care_demand")

register_schema()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def _hydra_main(cfg: DictConfig) -> None:
    from care_demand.data import InvalidDataError
    from care_demand.pipeline import run

    config: AppConfig = OmegaConf.to_object(cfg)  # type: ignore[assignment]
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    try:
        run(config, run_dir)
    except CareDemandError as exc:
        print(f"care-demand: {exc}", file=sys.stderr)
        sys.exit(2)
    except InvalidDataError as exc:
        print(exc.report.format(), file=sys.stderr)
        print(
            "\nThe data did not pass validation, so nothing was written. Correct the rows "
            "above, or run with data.lenient=true to drop them (the counts dropped per rule "
            "are then reported in the run's outputs).",
            file=sys.stderr,
        )
        sys.exit(2)


def main() -> None:
    """Run ``care-demand`` (Hydra overrides accepted, ``--help`` lists them)."""
    _hydra_main()


def validate_main(argv: list[str] | None = None) -> int:
    """Check every file in a council folder and print every problem found.

    Exit status 0 when the data are valid, 1 when problems were found, 2 when the folder
    cannot be read at all.
    """
    from care_demand.data import validate_folder

    parser = argparse.ArgumentParser(
        prog="care-demand-validate",
        description=(
            "Check a council's SSDA903, CIN census and early-help files and report every "
            "problem: file, row, column, value and the rule broken."
        ),
    )
    parser.add_argument("folder", type=Path, help="folder holding the council's files")
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"care-demand-validate: {args.folder} is not a folder", file=sys.stderr)
        return 2
    report = validate_folder(args.folder, DataConfig())
    print(report.format())
    return 0 if report.ok else 1


def validate_entry() -> None:
    """Console-script wrapper for :func:`validate_main` that sets the exit status."""
    sys.exit(validate_main())


if __name__ == "__main__":  # pragma: no cover
    main()
