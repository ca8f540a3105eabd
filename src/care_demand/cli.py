"""Command-line entry points: ``care-demand`` (a Hydra app) and ``care-demand-validate``.

Hydra stays here, at the edge: the run is composed from ``configs/``, turned into the typed
:class:`~care_demand.config.AppConfig`, and handed to :func:`care_demand.pipeline.run`, which
takes plain objects so tests and notebooks can call it without Hydra.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import hydra
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from care_demand.config import CONFIG_DIR, AppConfig, DataConfig, register_schema
from care_demand.errors import CareDemandError
from care_demand.outputs.layout import LAYOUT

__all__ = ["main", "validate_entry", "validate_main"]

log = logging.getLogger("care_demand")
# ArviZ lists optional packages it did not find at INFO level on import: noise to a user.
logging.getLogger("arviz.preview").setLevel(logging.WARNING)

register_schema()


@hydra.main(version_base="1.3", config_path=str(CONFIG_DIR), config_name="config")
def _hydra_main(cfg: DictConfig) -> None:
    from care_demand.data import InvalidDataError
    from care_demand.pipeline import run

    hydra_cfg = HydraConfig.get()
    run_dir = Path(hydra_cfg.runtime.output_dir)
    multirun = hydra_cfg.mode == RunMode.MULTIRUN
    _RUNNING["dir"] = run_dir
    scenario = str(cfg.scenario.name)
    if cfg.region.path:
        _run_region(cfg, run_dir)
        return
    try:
        config: AppConfig = OmegaConf.to_object(cfg)  # type: ignore[assignment]
        # A multirun's scenarios run in turn in this process, each on the one worker pool.
        run(config, run_dir)
    except (CareDemandError, InvalidDataError, OmegaConfBaseException) as exc:
        if isinstance(exc, InvalidDataError):
            message = exc.report.format() + (
                "\n\nThe data did not pass validation, so nothing was written. Correct the "
                "rows above, or run with data.lenient=true to drop them (the counts dropped "
                "per rule are then reported in the run's outputs)."
            )
        else:
            message = str(exc)
        _fail(run_dir, scenario, message, multirun)
    except Exception as exc:  # an unexpected failure of one scenario must not stop the others
        if not multirun:
            raise
        log.exception("scenario %s failed", scenario)
        _fail(run_dir, scenario, f"unexpected error: {type(exc).__name__}: {exc}", multirun)


def _run_region(cfg: DictConfig, run_dir: Path) -> None:
    """``region.path=DIR``: every council of the region, each scenario, then the roll-up.

    Exits 1 when a council was left out (each named, with its problems), 2 when the region
    cannot run at all.
    """
    from care_demand.config import load_config
    from care_demand.data import InvalidDataError
    from care_demand.regional import run_region

    try:
        base: AppConfig = OmegaConf.to_object(cfg)  # type: ignore[assignment]
        names = list(base.region.scenarios or [base.scenario.name])
        overrides = [o for o in HydraConfig.get().overrides.task if not o.startswith("scenario=")]
        configs = {
            name: base
            if name == base.scenario.name
            else load_config([*overrides, f"scenario={name}"], in_app=True)
            for name in names
        }
        result = run_region(configs, run_dir, progress=print)
    except (CareDemandError, InvalidDataError, OmegaConfBaseException) as exc:
        print(f"care-demand (region): {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"care-demand: region written to {run_dir.resolve()} in {result.seconds:.0f} s")
    for scenario, folder in result.rollups.items():
        print(f"  roll-up ({scenario}): {folder.resolve()}")
    if result.failures:
        print(
            f"care-demand (region): {len(result.failures)} council(s) left out of the roll-up:",
            file=sys.stderr,
        )
        for failure in result.failures:
            for line in failure.lines()[:20]:
                print(f"  {line}", file=sys.stderr)
        sys.exit(1)


def _fail(run_dir: Path, scenario: str, message: str, multirun: bool) -> None:
    """Report a failed run: exit at once, or in a multirun record it and let the others go on."""
    print(f"care-demand ({scenario}): {message}", file=sys.stderr)
    if not multirun:
        sys.exit(2)
    run_dir.mkdir(parents=True, exist_ok=True)
    status = {"scenario": scenario, "ok": False, "error": message}
    (run_dir / LAYOUT.status).write_text(json.dumps(status), encoding="utf-8")


# The run folder of the scenario under way, for the line printed on Ctrl-C.
_RUNNING: dict[str, Path] = {}


def _stop_workers() -> None:
    """End the processes that simulate the futures at once (they would linger otherwise)."""
    try:
        from care_demand.pipeline import stop_workers

        stop_workers()
    except Exception:  # nothing started, or already gone
        pass


def main() -> None:
    """Run ``care-demand`` (Hydra overrides accepted, ``--help`` lists them).

    Ctrl-C stops the run: one line says so, the worker processes end, nothing of the run
    under way is written (its staging folder is discarded; scenarios of a multirun that had
    finished are kept) and the exit status is 130.
    """
    try:
        _hydra_main()
    except KeyboardInterrupt:
        _stop_workers()
        where = _RUNNING.get("dir")
        print(
            f"interrupted: nothing written to {where}" if where else "interrupted",
            file=sys.stderr,
        )
        sys.exit(130)


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
    parser.add_argument(
        "folder",
        type=_folder_argument,
        help="folder holding the council's files (data.path=DIR, as care-demand takes it, "
        "also works)",
    )
    args = parser.parse_args(argv)
    if not args.folder.is_dir():
        print(f"care-demand-validate: {args.folder} is not a folder", file=sys.stderr)
        return 2
    config = DataConfig()
    report = validate_folder(args.folder, config)
    print(report.format())
    _print_what_was_read(args.folder, config, report.ok)
    return 0 if report.ok else 1


def _folder_argument(text: str) -> Path:
    """The folder given, written either as the folder or as ``care-demand``'s override
    ``data.path=DIR``."""
    name, sep, value = text.partition("=")
    return Path(value if sep and name.strip() == "data.path" else text)


def _print_what_was_read(folder: Path, config: DataConfig, ok: bool) -> None:
    """The years read and the children in care at the last 31 March (as a run would start)."""
    import dataclasses

    from care_demand.data import InvalidDataError, build_history, load_council
    from care_demand.data.caseload import starting_caseload

    lenient = dataclasses.replace(config, lenient=True)
    try:
        council = load_council(folder, lenient)
        history = build_history(council, lenient)
    except (InvalidDataError, CareDemandError):
        return
    caseload = starting_caseload(council, history)
    years = f"{history.window_start.year + 1} to {history.window_end.year}"
    how = "Read" if ok else "Read with data.lenient=true (rows with errors dropped)"
    print(
        f"\n{how}: the returns {years} ({_day(history.window_start)} to "
        f"{_day(history.window_end)}); {caseload.history} children in care at "
        f"{_day(caseload.date)}"
        + (f" ({caseload.lost} more lost their open episode)" if caseload.lost else "")
        + "."
    )


def _day(date: object) -> str:
    stamp = pd.Timestamp(date)
    return f"{stamp.day} {stamp:%B %Y}"


def validate_entry() -> None:
    """Console-script wrapper for :func:`validate_main` that sets the exit status."""
    sys.exit(validate_main())


if __name__ == "__main__":  # pragma: no cover
    main()
