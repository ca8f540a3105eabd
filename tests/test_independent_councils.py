"""benchmarks/independent_councils.py: councils from a model of its own, for forecast tests.

One small council is generated with a fixed seed: the repository's loader reads it without a
problem, the same seed writes the same bytes, and its times in care are not exponential.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from care_demand.data import DataConfig, load_council, validate_folder

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "independent_councils.py"
COUNCIL = "indep_small_falling"
SEED = 11
RECORD_START, RECORD_END = pd.Timestamp("2015-04-01"), pd.Timestamp("2022-03-31")
MONTH_DAYS = 365.25 / 12


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    """The script, imported by its path."""
    spec = importlib.util.spec_from_file_location("independent_councils", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up while being defined
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def folder(generator: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small falling council, generated once with ``SEED``."""
    out = tmp_path_factory.mktemp("independent")
    generator.write_council(COUNCIL, out, seed=SEED)
    return out / COUNCIL


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "ssda903").glob("*.csv"))}


def _periods(folder: Path) -> pd.DataFrame:
    """Periods of care that start in the record, from the written returns: ``start`` and
    ``end`` (``NaT`` for children still in care at 31 March 2022)."""
    frames = [
        pd.read_csv(path, dtype=str, keep_default_na=False).assign(year=int(path.stem[-4:]))
        for path in sorted((folder / "ssda903").glob("episodes_*.csv"))
    ]
    episodes = pd.concat(frames).sort_values("year", kind="stable")
    episodes = episodes.drop_duplicates(["CHILD", "DECOM"], keep="last")  # the latest return
    for column in ("DECOM", "DEC"):
        episodes[column] = pd.to_datetime(episodes[column].replace("", None), format="%d/%m/%Y")
    episodes = episodes.sort_values(["CHILD", "DECOM"])
    episodes["period"] = episodes["RNE"].eq("S").groupby(episodes["CHILD"]).cumsum()
    episodes = episodes[episodes["period"] > 0]  # the rest belong to periods begun earlier
    by_period = episodes.groupby(["CHILD", "period"])
    first, last = by_period.head(1), by_period.tail(1)
    periods = pd.DataFrame({"start": first["DECOM"].to_numpy(), "end": last["DEC"].to_numpy()})
    assert (last["DEC"].isna() | ~last["REC"].isin(["", "X1"])).all()  # ended by an exit
    return periods[periods["start"] >= RECORD_START]


def _hazard(start: pd.Series, end: pd.Series, months: tuple[float, float]) -> tuple[int, float]:
    """Exits, and exits per child-month in care, between two durations (in months)."""
    low, high = months
    length = (end.fillna(RECORD_END) - start).dt.days / MONTH_DAYS
    exposure = np.clip(length - low, 0, high - low).sum()
    exits = int((end.notna() & (length >= low) & (length < high)).sum())
    return exits, exits / exposure


def test_the_repository_reads_the_council_without_a_problem(folder: Path, tmp_path: Path) -> None:
    config = DataConfig(pseudonym_key_file=str(tmp_path / "pseudonym.key"))
    report = validate_folder(folder, config)
    assert report.ok, report.format()
    assert not report.warnings and not report.repairs, report.format()
    council = load_council(folder, config)
    assert council.window_start == RECORD_START and council.window_end == RECORD_END
    in_care = council.episodes["dec"].isna().sum()
    assert 100 <= in_care <= 150  # the small councils' band at 31 March 2022


def test_the_same_seed_writes_the_same_bytes(
    generator: ModuleType, folder: Path, tmp_path: Path
) -> None:
    generator.write_council(COUNCIL, tmp_path / "again", seed=SEED)
    generator.write_council(COUNCIL, tmp_path / "other", seed=SEED + 1)
    first = _files(folder)
    assert len(first) == 14
    assert _files(tmp_path / "again" / COUNCIL) == first
    assert _files(tmp_path / "other" / COUNCIL) != first  # the comparison tells seeds apart


def test_times_in_care_are_not_exponential(folder: Path) -> None:
    """The hazard of leaving care in the first 3 months is well above that in months 12-24.

    Under a constant hazard the ratio is about 1, with a log standard error of
    sqrt(1/a + 1/b) for a and b exits in the two windows (about 0.2 here), so a ratio above 2
    is more than three standard errors from constant. Exponential times with the same starts
    and mean, measured the same way, show a ratio near 1.
    """
    periods = _periods(folder)
    early_exits, early = _hazard(periods["start"], periods["end"], (0, 3))
    late_exits, late = _hazard(periods["start"], periods["end"], (12, 24))
    assert early_exits >= 30 and late_exits >= 15, (early_exits, late_exits)
    assert early / late > 2.0, (early, late)

    rng = np.random.default_rng(0)
    closed = periods["end"].notna()
    mean_days = (periods.loc[closed, "end"] - periods.loc[closed, "start"]).dt.days.mean()
    draws = pd.to_timedelta(rng.exponential(mean_days, len(periods)).round(), unit="D")
    ends = periods["start"] + draws
    ends = ends.where(ends <= RECORD_END)
    _, early = _hazard(periods["start"], ends, (0, 3))
    _, late = _hazard(periods["start"], ends, (12, 24))
    assert 0.5 < early / late < 1.6, (early, late)
