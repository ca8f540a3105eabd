"""The main job end to end: outputs, failure handling and the command-line entry points."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from care_demand import pipeline
from care_demand.config import EXAMPLE_DATA_DIR, AppConfig, load_config
from care_demand.data import EventHistory, InvalidDataError
from care_demand.outputs.layout import LAYOUT
from care_demand.pipeline import drop_scheduled, run, schedule_runs


def data_only(**data: object) -> AppConfig:
    """The shipped configuration, validating and summarising the data only."""
    return load_config(["run_until=data", *(f"data.{k}={v}" for k, v in data.items())])


@pytest.fixture(scope="module")
def example_run(tmp_path_factory: pytest.TempPathFactory, quick_config: AppConfig) -> Path:
    out = tmp_path_factory.mktemp("run")
    run(quick_config, out)
    return out


def test_run_writes_the_data_summary(example_run: Path) -> None:
    names = {p.name for p in example_run.iterdir()}
    assert {"data_summary.md", "stocks_31_march.csv", "arrivals_by_year.csv"} <= names
    assert "run_details.json" in names
    summary = (example_run / "data_summary.md").read_text()
    assert "Synthetic data" in summary
    assert "Mode: continuum" in summary
    stocks = pd.read_csv(example_run / "stocks_31_march.csv")
    # Counts at each 31 March of the window: 2016 .. 2022.
    assert sorted(stocks["date"].unique()) == [f"{y}-03-31" for y in range(2016, 2023)]
    care = stocks[(stocks.state == "care") & (stocks.placement_group == "all")]
    assert care["children"].astype(int).between(300, 700).all()
    details = json.loads((example_run / "run_details.json").read_text())
    assert details["synthetic_data"] is True and len(details["data_fingerprint"]) == 64


def test_outputs_carry_no_child_ids(example_run: Path, example_history: EventHistory) -> None:
    header = pd.read_csv(EXAMPLE_DATA_DIR / "ssda903" / "header_2022.csv", dtype=str)
    raw_ids = set(header["CHILD"])
    pseudonyms = set(example_history.children["child_id"])
    assert pseudonyms and raw_ids
    id_like = re.compile(r"\b(C[0-9a-f]{12}|\d{6})\b")
    for path in example_run.rglob("*"):
        # Text outputs; chart files hold drawing coordinates, not tables.
        if path.suffix not in {".csv", ".md", ".json", ".log", ".txt", ".yaml"}:
            continue
        found = set(id_like.findall(path.read_text(errors="replace")))
        assert not found & (raw_ids | pseudonyms), path


def test_run_writes_calibration_and_projection(example_run: Path) -> None:
    for name in (
        "calibration/hazards.csv",
        "calibration/placements.csv",
        "calibration/diagnostics.json",
        "calibration/arrival_forecast.csv",
        "calibration/arrival_components.png",
        "projection/quantiles.csv",
        "projection/children_in_care_fan.png",
        "projection/children_in_care_fan.svg",
    ):
        assert (example_run / name).is_file(), name
    diagnostics = json.loads((example_run / "calibration/diagnostics.json").read_text())
    assert diagnostics["max_rhat"] <= 1.01 and diagnostics["divergences"] == 0
    q = pd.read_csv(example_run / "projection/quantiles.csv", parse_dates=["month"])
    care = q[(q.measure == "children") & (q.category == "care") & (q.age_band == "all")]
    assert len(care) == 60 and care["month"].min() == pd.Timestamp("2022-04-30")
    assert (care["p10"] <= care["p50"]).all() and (care["p50"] <= care["p90"]).all()
    # The first month continues from the 416 children in care at 31 March 2022.
    assert 350 <= care.iloc[0]["p50"] <= 480


def test_same_inputs_give_identical_outputs(
    example_run: Path, tmp_path: Path, quick_config: AppConfig
) -> None:
    run(quick_config, tmp_path)
    for name in (
        "data_summary.md",
        "stocks_31_march.csv",
        "arrivals_by_year.csv",
        "calibration/hazards.csv",
        "projection/quantiles.csv",
    ):
        assert (tmp_path / name).read_bytes() == (example_run / name).read_bytes(), name


def test_projections_started_ahead_are_taken_up_with_the_same_results(
    example_run: Path, tmp_path: Path, quick_config: AppConfig, calibration_cache: Path
) -> None:
    # A multirun queues every scenario's futures in the one worker pool before its jobs run;
    # each run then takes up its own and writes exactly what it writes alone.
    harbour = load_config(
        [
            f"calibration.cache_dir={calibration_cache}",
            "simulation.replicates=8",
            "simulation.n_jobs=2",
            "simulation.chunk_size=4",
            "scenario=harbour_expansion",
        ]
    )
    broken = load_config(["simulation.replicates=8", f"data.path={tmp_path / 'missing'}"])
    try:
        assert schedule_runs([quick_config, harbour, broken, quick_config]) == 2
        run(quick_config, tmp_path / "ahead")
        # Taken up once: a second run on the same settings simulates afresh.
        assert schedule_runs([quick_config]) == 1
    finally:
        drop_scheduled()
    for name in ("projection/quantiles.csv", "projection/key_measures_by_replicate.csv"):
        assert (tmp_path / "ahead" / name).read_bytes() == (example_run / name).read_bytes()


def test_a_projection_simulated_elsewhere_is_written_without_a_progress_bar(
    example_run: Path,
    tmp_path: Path,
    quick_config: AppConfig,
    capfd: pytest.CaptureFixture[str],
) -> None:
    # A region's chunks of futures are simulated on the workers; the run that writes them
    # has nothing to wait for, so it shows no bar, and writes what the run alone writes.
    from care_demand.config import projection_settings
    from care_demand.simulation import project

    _, history, _ = pipeline.load(quick_config)
    fitted = pipeline.calibrate(history, quick_config)
    pipeline.adopt_projection(
        quick_config, project(history, fitted, projection_settings(quick_config))
    )
    capfd.readouterr()
    seen: list[tuple[int, int]] = []
    run(quick_config, tmp_path, progress=lambda done, n: seen.append((done, n)))
    n = quick_config.simulation.replicates
    assert seen == [(n, n)]
    assert "Replicates" not in capfd.readouterr().err
    name = "projection/quantiles.csv"
    assert (tmp_path / name).read_bytes() == (example_run / name).read_bytes()


def test_failed_run_leaves_earlier_outputs_intact(example_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    shutil.copytree(example_run, out)
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    bad = tmp_path / "bad"
    shutil.copytree(EXAMPLE_DATA_DIR, bad)
    episodes = bad / "ssda903" / "episodes_2022.csv"
    lines = episodes.read_text().splitlines()
    fields = lines[1].split(",")
    fields[1] = "31/02/2021"  # DECOM that is not a date
    lines[1] = ",".join(fields)
    episodes.write_text("\n".join(lines) + "\n")
    config = data_only(path=str(bad))
    with pytest.raises(InvalidDataError) as err:
        run(config, out)
    assert "bad_date" in str(err.value) and "episodes_2022.csv" in str(err.value)
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before
    assert not [p for p in out.iterdir() if p.name.startswith(".staging")]

    # Lenient mode drops the row, says so, and runs.
    result = run(data_only(path=str(bad), lenient=True), tmp_path / "lenient")
    dropped = json.loads((tmp_path / "lenient" / "dropped_rows.json").read_text())
    # The bad row itself, plus whatever its loss exposes (here the previous return's
    # still-open copy of the episode runs past the 18th birthday).
    assert dropped["bad_date"] == 1
    summary = (tmp_path / "lenient" / "data_summary.md").read_text()
    assert f"{sum(dropped.values())} invalid rows dropped" in summary
    assert all(f"{rule}: {n}" in summary for rule, n in dropped.items())
    assert result.history.mode == "continuum"


def test_care_only_mode_with_ssda903_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE_DATA_DIR / "ssda903", data / "ssda903")
    result = run(data_only(path=str(data)), tmp_path / "out")
    assert result.history.mode == "care_only"
    assert set(result.history.spells["state"]) <= {"care", "care_leaver"}
    assert "Mode: care only" in (tmp_path / "out" / "data_summary.md").read_text()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    bin_dir = Path(sys.executable).parent
    return subprocess.run(
        [str(bin_dir / args[0]), *args[1:]], capture_output=True, text=True, timeout=300
    )


def test_validate_command_reports_problems_and_exit_status(tmp_path: Path) -> None:
    good = _cli("care-demand-validate", str(EXAMPLE_DATA_DIR))
    assert good.returncode == 0, good.stdout + good.stderr
    # What a run would start from, in one line.
    assert (
        "Read: the returns 2016 to 2022 (1 April 2015 to 31 March 2022); 416 children in "
        "care at 31 March 2022." in good.stdout
    )
    bad = tmp_path / "bad"
    shutil.copytree(EXAMPLE_DATA_DIR / "ssda903", bad / "ssda903")
    header = bad / "ssda903" / "header_2020.csv"
    lines = header.read_text().splitlines(keepends=True)
    dob = lines[1].split(",")[2]
    lines[1] = lines[1].replace(dob, "31/02/2005", 1)
    header.write_text("".join(lines))
    result = _cli("care-demand-validate", str(bad))
    assert result.returncode == 1
    assert "bad_date" in result.stdout and "header_2020.csv" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    missing = _cli("care-demand-validate", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "not a folder" in missing.stderr


def test_validate_takes_the_folder_as_care_demand_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from care_demand.cli import validate_main

    assert validate_main([f"data.path={EXAMPLE_DATA_DIR}"]) == 0
    assert "416 children in care at 31 March 2022" in capsys.readouterr().out
    assert validate_main([f"data.path={tmp_path / 'nowhere'}"]) == 2
    assert f"{tmp_path / 'nowhere'} is not a folder" in capsys.readouterr().err


def test_care_demand_command_accepts_overrides(tmp_path: Path, calibration_cache: Path) -> None:
    out = tmp_path / "cli"
    result = _cli(
        "care-demand",
        f"hydra.run.dir={out}",
        "seed=7",
        "simulation.replicates=2",
        "simulation.horizon_months=12",
        f"calibration.cache_dir={calibration_cache}",
    )
    assert result.returncode == 0, result.stderr
    assert str(out.resolve()) in result.stdout
    assert json.loads((out / "run_details.json").read_text())["seed"] == 7
    bad = _cli("care-demand", f"hydra.run.dir={tmp_path / 'x'}", f"data.path={tmp_path}/none")
    assert bad.returncode != 0
    assert "no such folder" in bad.stderr and "Traceback" not in bad.stderr
    wrong = _cli("care-demand", f"hydra.run.dir={tmp_path / 'y'}", "run_until=everything")
    assert wrong.returncode == 2 and "run_until" in wrong.stderr


@pytest.mark.slow
def test_care_only_data_are_calibrated_and_projected(
    tmp_path: Path, calibration_cache: Path
) -> None:
    data = tmp_path / "data"
    shutil.copytree(EXAMPLE_DATA_DIR / "ssda903", data / "ssda903")
    config = load_config(
        [
            f"data.path={data}",
            f"calibration.cache_dir={calibration_cache}",
            "simulation.replicates=4",
            "simulation.horizon_months=12",
            "simulation.n_jobs=1",
        ]
    )
    result = run(config, tmp_path / "out")
    assert result.quantiles is not None
    q = result.quantiles
    arrivals = set(q.loc[q["measure"] == "arrivals", "category"])
    assert arrivals == {"care_entry"}  # entries to care are the arrivals
    outside_care = q[
        (q["measure"] == "children") & q["category"].isin(["early_help", "assessment", "cin", "cp"])
    ]
    assert (outside_care["p95"] == 0).all()
    care = q[(q.measure == "children") & (q.category == "care") & (q.age_band == "all")]
    assert 300 <= care.iloc[0]["p50"] <= 500
    # What is published says nothing of services the files do not hold.
    out = tmp_path / "out"
    flows = pd.read_csv(out / LAYOUT.flows, dtype=str)
    assert not set(flows["flow"]) & {"referrals", "step_up", "step_down"}
    assert {"entries_to_care", "exits_from_care"} <= set(flows["flow"])
    charts = out / LAYOUT.charts_dir
    assert not (charts / "continuum.png").exists()
    flows_text = (charts / "flows.txt").read_text(encoding="utf-8")
    assert flows_text.startswith("Projected entries to and exits from care")
    assert "step-ups" not in flows_text.lower()
    fan = (charts / "children_in_care_fan.svg").read_text(encoding="utf-8")
    assert "the council's returns (SSDA903)" in fan  # the caption names the files read
    report = (out / LAYOUT.report).read_text(encoding="utf-8")
    assert "The council's files hold children in care alone" in report
    assert "every entry to care is an arrival" in report
    assert "of children not already in a service" not in report
    assert "wider continuum" not in report and "Steps up between services" not in report
    assert "Mode: care only (SSDA903 alone)" in report
    # No Family Help to compare between scenarios (a column of 0 in the comparison before).
    measures = set(pd.read_csv(out / LAYOUT.key_measures)["measure"])
    assert "children_in_care" in measures and "family_help" not in measures
    method = report[report.index("<section id='method'>") :]
    method = method[: method.index("</section>")]
    assert "SSDA903 return (children looked after) is read and validated" in method
    assert "CIN census" not in method and "early help" not in method
    assert "time in care (by placement type) and as a care leaver" in method
    stocks = pd.read_csv(out / LAYOUT.stocks, dtype=str)
    assert set(stocks["state"]) == {"care", "care_leaver"}  # not early help etc. as 0
    summary = (out / LAYOUT.data_summary).read_text(encoding="utf-8")
    assert "| Early help |" not in summary and "| Child in need |" not in summary
    assert "the SSDA903 return records no other service" in summary
    # Casework is costed for the services the data hold: none outside care, not £0 lines.
    lines = pd.read_csv(out / LAYOUT.cost_summary)
    casework = set(lines.loc[lines["kind"] == "casework", "line"])
    assert casework == {"care_leaver", "care_leaver_21_plus"}
    assert (lines["kind"] == "placements").any()


def test_a_process_keeps_as_many_folders_and_calibrations_as_asked() -> None:
    """One by default (a run, the app); a region's worker keeps its councils' in turn,
    the one used last kept longest."""
    cache: dict[str, int] = {}
    try:
        pipeline._remember(cache, "a", 1)
        pipeline._remember(cache, "b", 2)
        assert list(cache) == ["b"]
        pipeline.keep_recent(2)
        pipeline._remember(cache, "a", 1)
        pipeline._remember(cache, "b", 2)  # used again: now the newest
        pipeline._remember(cache, "c", 3)
        assert list(cache) == ["b", "c"]
        pipeline.keep_recent(0)  # at least one is kept
        pipeline._remember(cache, "d", 4)
        assert list(cache) == ["d"]
    finally:
        pipeline.keep_recent(1)


def test_runs_on_one_calibration_draw_its_arrival_chart_once(
    tmp_path: Path, quick_config: AppConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The scenarios of a multirun share a calibration: the second run copies the first's
    arrival components chart, the same files as drawing it."""
    config = dataclasses.replace(
        quick_config, simulation=dataclasses.replace(quick_config.simulation, n_jobs=1)
    )
    drawn: list[str] = []
    real = pipeline.write_arrival_components

    def spy(parts: object, path: str) -> list[Path]:
        drawn.append(path)
        return real(parts, path)

    monkeypatch.setattr(pipeline, "write_arrival_components", spy)
    monkeypatch.setattr(pipeline, "_DRAWN_COMPONENTS", {})
    run(config, tmp_path / "first")
    run(config, tmp_path / "second")
    assert len(drawn) == 1
    for suffix in (".png", ".svg"):
        name = Path(LAYOUT.arrival_components).with_suffix(suffix)
        first, second = (tmp_path / run_name / name for run_name in ("first", "second"))
        assert second.read_bytes() == first.read_bytes()
    # Without the earlier runs' files, the chart is drawn again.
    shutil.rmtree(tmp_path / "first")
    shutil.rmtree(tmp_path / "second")
    run(config, tmp_path / "third")
    assert len(drawn) == 2


def test_a_projection_is_shared_by_runs_that_differ_in_their_outputs_only(
    quick_config: AppConfig,
) -> None:
    # A run whose settings differ only in how its outputs are written takes up the same
    # projection; the backtest folder is an exception, since the calibration takes up its
    # choices (the arrival trend and drift, the rates' period).
    output = quick_config.output
    charts = dataclasses.replace(quick_config, output=dataclasses.replace(output, charts=False))
    elsewhere = dataclasses.replace(
        quick_config, output=dataclasses.replace(output, backtest_dir="/elsewhere/backtests")
    )
    seed = dataclasses.replace(quick_config, seed=quick_config.seed + 1)
    key = pipeline.projection_key(quick_config)
    assert pipeline.projection_key(charts) == key
    assert pipeline.projection_key(elsewhere) != key
    assert pipeline.projection_key(seed) != key
