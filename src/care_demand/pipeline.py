"""The main job: load and validate -> build the event history -> summarise -> write.

Plain Python with typed config objects; :mod:`care_demand.cli` wraps it in Hydra.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from care_demand import __version__
from care_demand.config import EXAMPLE_DATA_DIR, AppConfig
from care_demand.data import EventHistory, build_history, load_council
from care_demand.errors import CareDemandError
from care_demand.outputs.disclosure import suppress_small_counts
from care_demand.outputs.run_folder import RunFolder
from care_demand.outputs.summary import summarise_history

__all__ = ["RunResult", "data_folder", "run"]

log = logging.getLogger("care_demand")


@dataclass(frozen=True)
class RunResult:
    """What a run produced: the run folder, the files written and the history used."""

    run_dir: Path
    files: list[Path]
    history: EventHistory


def data_folder(config: AppConfig) -> tuple[Path, bool]:
    """The folder to read and whether it is the built-in synthetic example."""
    if config.data.path in (None, ""):
        return EXAMPLE_DATA_DIR, True
    path = Path(config.data.path).expanduser().resolve()
    return path, path == EXAMPLE_DATA_DIR.resolve()


def run(config: AppConfig, run_dir: str | Path) -> RunResult:
    """Run the job on ``config`` and publish its outputs in ``run_dir``.

    Raises ``InvalidDataError`` (with every problem found) when the data fail validation
    and ``config.data.lenient`` is false, and ``CareDemandError`` for other problems with
    the inputs or settings; nothing is written in either case.
    """
    run_dir = Path(run_dir)
    folder, synthetic = data_folder(config)
    if not folder.is_dir():
        raise CareDemandError(
            f"data.path={config.data.path!r}: no such folder. Give the folder that holds the "
            "council's SSDA903 files (see docs/input_formats.md)."
        )
    log.info("Reading %s%s", "the built-in synthetic example" if synthetic else folder, "")
    council = load_council(folder, config.data)
    history = build_history(council, config.data)
    log.info(
        "Mode: %s (%d children, %d spells, window %s to %s)",
        history.mode,
        len(history.children),
        len(history.spells),
        f"{history.window_start:%Y-%m-%d}",
        f"{history.window_end:%Y-%m-%d}",
    )
    if council.dropped:
        log.warning(
            "Lenient mode dropped %d invalid rows: %s",
            sum(council.dropped.values()),
            ", ".join(f"{rule} {n}" for rule, n in sorted(council.dropped.items())),
        )

    summary = summarise_history(
        history, config.output, synthetic=synthetic, dropped=council.dropped
    )
    with RunFolder(run_dir) as out:
        out.write_text("data_summary.md", summary.markdown)
        out.write_csv(
            "stocks_31_march.csv",
            suppress_small_counts(
                summary.stocks,
                ["children"],
                config.output.suppress_max,
                config.output.suppression_marker,
            ),
        )
        out.write_csv(
            "arrivals_by_year.csv",
            suppress_small_counts(
                summary.arrivals,
                ["arrivals"],
                config.output.suppress_max,
                config.output.suppression_marker,
            ),
        )
        if council.dropped:
            out.write_text(
                "dropped_rows.json", json.dumps(council.dropped, indent=2, sort_keys=True)
            )
        details = {
            "package_version": __version__,
            "synthetic_data": synthetic,
            "data_folder": "built-in example" if synthetic else str(folder),
            "data_fingerprint": council.fingerprint,
            "mode": history.mode,
            "seed": config.seed,
            "config": dataclasses.asdict(config),
        }
        out.write_text("run_details.json", json.dumps(details, indent=2, default=str) + "\n")
    files = sorted(p for p in run_dir.iterdir() if p.is_file())
    print(f"\ncare-demand: outputs written to {run_dir.resolve()}")
    if synthetic:
        print("(built-in synthetic example: invented children, Dorset-like totals)")
    return RunResult(run_dir=run_dir, files=files, history=history)
