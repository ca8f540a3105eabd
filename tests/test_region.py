"""A region: councils found, the roll-up summed replicate by replicate, a run on a cluster."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from care_demand.config import load_config
from care_demand.data import build_history, load_council
from care_demand.errors import ConfigError
from care_demand.outputs.layout import LAYOUT
from care_demand.pipeline import run
from care_demand.region import (
    council_shares,
    find_councils,
    sum_over_councils,
    summarise,
    write_council_files,
)
from care_demand.region.settings import ClusterConfig, RegionConfig, region_problems
from care_demand.synthetic import load_ground_truth
from care_demand.synthetic.region import region_specs, scaled_truth, write_region

REGION = LAYOUT.region


def _table(values: list[list[float]]) -> pd.DataFrame:
    """A per-replicate table: replicate r, month m, one measure."""
    rows = [
        {"replicate": r, "month": f"2023-0{m + 1}-28", "measure": "children_in_care", "value": v}
        for r, months in enumerate(values)
        for m, v in enumerate(months)
    ]
    return pd.DataFrame(rows)


def test_the_roll_up_sums_replicate_by_replicate_and_its_interval_is_the_sums() -> None:
    a = _table([[10, 11], [12, 13], [14, 15]])
    b = _table([[1, 2], [30, 31], [5, 6]])
    total = sum_over_councils({"a": a, "b": b}, ("month", "measure"))
    first = total[total["month"] == "2023-01-28"].sort_values("replicate")
    assert first["value"].tolist() == [11, 42, 19]
    assert (total["councils"] == 2).all()
    summary = summarise(total, ("month", "measure"))
    row = summary[summary["month"] == "2023-01-28"].iloc[0]
    assert row["p50"] == 19 and row["mean"] == pytest.approx(24.0)
    assert row["p90"] == pytest.approx(np.quantile([11, 42, 19], 0.9))


def test_a_summary_is_each_groups_own_statistics_whatever_its_size_or_gaps() -> None:
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "line": ["b"] * 5 + ["a"] * 3 + [None] * 4,
            "cost": rng.normal(100, 30, 12),
            "count": rng.integers(0, 9, 12).astype(float),
        }
    )
    frame.loc[2, "cost"] = np.nan
    summary = summarise(frame, ("line",), ("cost", "count"))
    # Groups in order (the missing key last), each value in the order given.
    assert summary["line"].tolist()[:4] == ["a", "a", "b", "b"]
    assert summary["measure"].tolist() == ["cost", "count"] * 3
    for row in summary.itertuples():
        group = (
            frame[frame["line"].isna()] if pd.isna(row.line) else frame[frame["line"] == row.line]
        )
        series = group[row.measure]
        assert row.mean == series.mean()
        assert (row.p10, row.p50, row.p90) == tuple(series.quantile([0.1, 0.5, 0.9]))
        assert row.replicates == len(group)


def test_a_roll_up_refuses_councils_with_other_futures() -> None:
    with pytest.raises(ValueError, match="other replicates"):
        sum_over_councils({"a": _table([[1], [2]]), "b": _table([[1]])}, ("month", "measure"))


def test_each_councils_share_of_the_region() -> None:
    shares = council_shares(
        {"a": _table([[10], [30]]), "b": _table([[60], [100]])}, ("month", "measure")
    )
    assert shares.set_index("council")["share"].to_dict() == {"a": 0.2, "b": 0.8}


def test_region_and_cluster_settings_are_checked() -> None:
    problems = region_problems(
        RegionConfig(chunk_size=0, councils=["a/b"]),
        ClusterConfig(address="localhost:8786", n_workers=0),
    )
    fields = {name for name, _ in problems}
    assert fields == {
        "region.chunk_size",
        "region.councils",
        "cluster.address",
        "cluster.n_workers",
    }
    assert region_problems(RegionConfig(), ClusterConfig(address="tcp://10.0.0.1:8786")) == []
    with pytest.raises(ConfigError, match=r"region\.chunk_size"):
        load_config(["region.chunk_size=0"])


def test_multi_council_files_are_split_by_their_la_column(tmp_path: Path) -> None:
    (tmp_path / "region").mkdir()
    pd.DataFrame(
        {
            "LA": ["800", "800", "801"],
            "YEAR": ["2021", "2022", "2022"],
            "CHILD": ["1", "2", "3"],
            "DECOM": ["01/04/2020", "01/05/2021", "02/05/2021"],
        }
    ).to_csv(tmp_path / "region" / "episodes.csv", index=False)
    councils = find_councils(tmp_path / "region")
    assert [c.name for c in councils] == ["800", "801"]
    folder = write_council_files(councils[0], tmp_path / "out" / "800")
    assert sorted(p.name for p in folder.iterdir()) == ["episodes_2021.csv", "episodes_2022.csv"]
    rows = pd.read_csv(folder / "episodes_2022.csv", dtype=str)
    assert rows.columns.tolist() == ["CHILD", "DECOM"] and rows["CHILD"].tolist() == ["2"]
    assert [c.name for c in find_councils(tmp_path / "region", ["801"])] == ["801"]


def test_the_synthetic_region_has_councils_of_different_sizes_and_trends() -> None:
    specs = region_specs(4, scale=0.5)
    assert len({s.size for s in specs}) == 4 and len({s.trend_per_year for s in specs}) == 4
    truth = load_ground_truth()
    bigger = scaled_truth(truth, 2.0, 0.0)
    month = pd.Timestamp("2019-06-01")
    assert bigger.arrival_rate("care_entry", month) == pytest.approx(
        2 * truth.arrival_rate("care_entry", month)
    )
    growing = scaled_truth(truth, 1.0, 0.1)
    assert growing.arrival_rate("care_entry", month) > truth.arrival_rate("care_entry", month)


# The smallest settings that run end to end: a short horizon, few futures and two short chains
# sampled in turn (the test is about where the work runs and how it adds up, not the fit's quality).
QUICK = [
    "simulation.replicates=8",
    "simulation.horizon_months=12",
    "calibration.hazards.sampler.draws=50",
    "calibration.hazards.sampler.tune=50",
    "calibration.hazards.sampler.cores=1",
    "calibration.hazards.checks.on_failure=warn",
    "output.charts=false",
]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::care_demand.calibration.hazards.HazardConvergenceWarning")
def test_a_region_runs_on_a_local_cluster_and_adds_up(tmp_path: Path) -> None:
    region, out, cache = tmp_path / "region", tmp_path / "out", tmp_path / "cache"
    folders = write_region(region, councils=3, scale=0.12)
    # One council's data break a rule: it is named and left out, the others complete.
    episodes = folders[1] / "ssda903" / "episodes_2020.csv"
    lines = episodes.read_text().splitlines()
    fields = lines[1].split(",")
    fields[1] = "31/02/2020"
    lines[1] = ",".join(fields)
    episodes.write_text("\n".join(lines) + "\n")

    command = [
        sys.executable,
        "-m",
        "care_demand.cli",
        f"region.path={region}",
        "region.chunk_size=3",
        "cluster.n_workers=2",
        f"calibration.cache_dir={cache}",
        f"hydra.run.dir={out}",
        *QUICK,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "council_02" in done.stderr and "episodes_2020.csv" in done.stderr

    rollup = out / REGION.scenario_dir("baseline")
    listing = json.loads((rollup / REGION.councils).read_text())
    assert listing["rolled_up"] == ["council_01", "council_03"]
    assert listing["left_out"] == ["council_02"]
    failed = pd.read_csv(rollup / REGION.failed)
    assert set(failed["council"]) == {"council_02"}
    assert (failed["file"].str.endswith("episodes_2020.csv")).any()
    assert not (out / "council_02").exists()

    # The roll-up is the sum of the councils' own run folders, replicate by replicate.
    keys = ["replicate", "month", "measure"]
    councils = [
        pd.read_csv(out / name / "baseline" / LAYOUT.key_measures) for name in listing["rolled_up"]
    ]
    expected = pd.concat(councils).groupby(keys, as_index=False)["value"].sum()
    summed = pd.read_csv(rollup / REGION.key_measures)
    merged = expected.merge(summed, on=keys, suffixes=("_councils", "_region"))
    assert len(merged) == len(expected) == len(summed)
    np.testing.assert_allclose(merged["value_region"], merged["value_councils"])
    cost_keys = ["replicate", "financial_year", "kind", "line"]
    costs = pd.concat(
        pd.read_csv(out / name / "baseline" / LAYOUT.costs_by_replicate)
        for name in listing["rolled_up"]
    )
    expected_costs = costs.groupby(cost_keys, as_index=False)["value"].sum()
    summed_costs = pd.read_csv(rollup / REGION.costs)
    merged = expected_costs.merge(summed_costs, on=cost_keys, suffixes=("_councils", "_region"))
    assert len(merged) == len(expected_costs)
    np.testing.assert_allclose(merged["value_region"], merged["value_councils"])
    for name in listing["rolled_up"]:  # each a normal run folder, its report included
        assert (out / name / "baseline" / LAYOUT.report).is_file()
    assert "Region" in (rollup / REGION.summary).read_text()

    # A council run alone with the same seed gives the same futures as in the region.
    alone = load_config(
        [f"data.path={folders[0]}", f"calibration.cache_dir={cache}", "simulation.n_jobs=1", *QUICK]
    )
    run(alone, tmp_path / "alone")
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "alone" / LAYOUT.key_measures),
        pd.read_csv(out / "council_01" / "baseline" / LAYOUT.key_measures),
    )

    # One council on two workers (a team of two shares its futures): the same futures again.
    team = [c for c in command if not c.startswith("hydra.run.dir=")]
    team += [f"hydra.run.dir={tmp_path / 'team'}", "region.councils=[council_03]"]
    done = subprocess.run(team, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "team" / "council_03" / "baseline" / LAYOUT.key_measures),
        pd.read_csv(out / "council_03" / "baseline" / LAYOUT.key_measures),
    )


def test_a_council_of_multi_council_files_reads_as_its_own_folder(tmp_path: Path) -> None:
    folders = write_region(tmp_path / "folders", councils=2, scale=0.1)
    multi = tmp_path / "multi"
    multi.mkdir()
    tables: dict[str, list[pd.DataFrame]] = {}
    for folder in folders:  # the same returns as the regional model takes them
        for file in folder.rglob("*.csv"):
            stem, _, year = file.stem.rpartition("_")
            frame = pd.read_csv(file, dtype=str, keep_default_na=False)
            frame.insert(0, "LA", folder.name)
            if year.isdigit():
                frame.insert(1, "YEAR", year)
            else:
                stem = file.stem
            tables.setdefault(stem, []).append(frame)
    for stem, frames in tables.items():
        pd.concat(frames).to_csv(multi / f"{stem}.csv", index=False)
    councils = find_councils(multi)
    assert [c.name for c in councils] == [f.name for f in folders]
    split = write_council_files(councils[1], tmp_path / "split")
    settings = load_config([]).data
    a = build_history(load_council(split, settings), settings)
    b = build_history(load_council(folders[1], settings), settings)
    assert len(a.spells) == len(b.spells) > 0
    assert len(a.arrivals) == len(b.arrivals)


def test_councils_start_largest_first_and_spare_workers_form_teams(tmp_path: Path) -> None:
    from care_demand.errors import CareDemandError
    from care_demand.region.councils import Council
    from care_demand.regional import council_weight, largest_first, worker_teams

    sizes = {"a": 600, "b": 1400, "c": 1130, "d": 1400}
    councils = []
    for name, size in sizes.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "episodes.csv").write_bytes(b"x" * size)
        councils.append(Council(name, folder, tmp_path))
    assert [council_weight(c) for c in councils] == list(sizes.values())
    assert [c.name for c in largest_first(councils)] == ["b", "d", "c", "a"]
    assert council_weight(Council("in files", None, tmp_path)) == 1
    # No more workers than councils: each worker takes councils one after another.
    assert worker_teams(4, ["w1", "w2"]) == [("w1",), ("w2",)]
    assert worker_teams(2, ["w1", "w2"]) == [("w1",), ("w2",)]
    # More: the first (largest) councils get the extra workers.
    assert worker_teams(2, ["w1", "w2", "w3", "w4", "w5"]) == [("w1", "w3", "w5"), ("w2", "w4")]
    assert worker_teams(1, ["w1", "w2"]) == [("w1", "w2")]
    with pytest.raises(CareDemandError, match="no workers"):
        worker_teams(3, [])


def test_the_workers_fall_silent_once_the_work_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's heartbeat may meet a scheduler already closing and log a traceback; the
    workers' logs are silenced after the work and before the local cluster closes."""
    import logging

    from care_demand import regional

    levels: dict[str, dict[str, int]] = {}
    quiet = regional.quiet_workers

    def watched(client: object) -> None:
        def level() -> int:
            return logging.getLogger("distributed").getEffectiveLevel()

        levels["before"] = client.run(level)  # type: ignore[attr-defined]
        quiet(client)  # type: ignore[arg-type]
        levels["after"] = client.run(level)  # type: ignore[attr-defined]

    monkeypatch.setattr(regional, "quiet_workers", watched)
    with regional.open_client(load_config(["cluster.n_workers=1"])) as client:
        assert client.submit(abs, -2).result() == 2
    assert len(levels["before"]) == 1
    assert all(v < logging.CRITICAL for v in levels["before"].values())  # warnings show
    assert all(v == logging.CRITICAL for v in levels["after"].values())
    assert logging.getLogger("care_demand").getEffectiveLevel() < logging.CRITICAL
