"""Scenario comparison: paired differences, failed scenarios, the multirun end to end."""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from care_demand.outputs.comparison import compare_runs, comparison_markdown, write_comparison
from care_demand.pipeline import Calibrated


def _fake_run(folder: Path, name: str, values: np.ndarray, ok: bool = True) -> Path:
    """A run folder with key measures ``values`` (replicate, month) for every measure."""
    folder.mkdir(parents=True)
    (folder / "status.json").write_text(
        json.dumps({"scenario": name, "ok": ok, "error": None if ok else "capacity bad"})
    )
    if ok:
        months = pd.date_range("2022-04-30", periods=values.shape[1], freq="ME")
        rows = [
            {"replicate": r, "month": m, "measure": measure, "value": values[r, i]}
            for measure in ("children_in_care", "external_placements")
            for r in range(values.shape[0])
            for i, m in enumerate(months)
        ]
        (folder / "projection").mkdir()
        pd.DataFrame(rows).to_csv(folder / "projection/key_measures_by_replicate.csv", index=False)
    return folder


def test_differences_are_paired_replicate_by_replicate(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    luck = rng.normal(400, 30, size=(200, 24))  # shared across scenarios (same seed)
    base = _fake_run(tmp_path / "0", "baseline", luck)
    less = _fake_run(tmp_path / "1", "fewer", luck - 12)
    broken = _fake_run(tmp_path / "2", "broken", luck, ok=False)
    comparison = compare_runs([base, less, broken])
    head = comparison.headline.set_index(["scenario", "measure"])
    row = head.loc[("fewer", "children_in_care")]
    # The paired difference is exactly -12 in every replicate, although each scenario's own
    # interval is about 75 children wide.
    assert row["diff_p10"] == pytest.approx(-12) and row["diff_p90"] == pytest.approx(-12)
    assert row["p90"] - row["p10"] > 60
    assert comparison.failed == {"broken": "capacity bad"}
    by_year = comparison.by_year
    assert set(by_year["period"]) == {"2023-03-31", "2024-03-31", "end"}
    text = comparison_markdown(comparison)
    assert "vs baseline -12 (-12 to -12)" in text and "broken" in text
    files = write_comparison(comparison, tmp_path / "out")
    assert {f.name for f in files} >= {"comparison.md", "failed_scenarios.json"}


def test_scenarios_with_different_replicates_are_refused(tmp_path: Path) -> None:
    luck = np.ones((10, 12))
    base = _fake_run(tmp_path / "0", "baseline", luck)
    other = _fake_run(tmp_path / "1", "other", np.ones((5, 12)))
    with pytest.raises(ValueError, match="do not share their replicates"):
        compare_runs([base, other])


SAME = """# @package _global_
scenario:
  name: same
  title: The baseline under another name
"""

BROKEN = """# @package _global_
scenario:
  name: broken
  title: A scenario with an impossible capacity
capacity:
  homes:
    existing:
      beds: -4
"""


def test_a_multirun_with_a_failing_scenario_keeps_the_others(
    tmp_path: Path, example_calibrated: Calibrated, calibration_cache: Path
) -> None:
    extra = tmp_path / "extra"
    (extra / "scenario").mkdir(parents=True)
    (extra / "scenario" / "broken.yaml").write_text(BROKEN)
    (extra / "scenario" / "same.yaml").write_text(SAME)
    sweep = tmp_path / "sweep"
    command = [
        sys.executable,
        "-m",
        "care_demand.cli",
        "-m",
        "scenario=baseline,broken,demand_surge,same",
        "simulation.replicates=4",
        "simulation.horizon_months=15",
        "simulation.n_jobs=2",
        f"calibration.cache_dir={calibration_cache}",
        f"hydra.sweep.dir={sweep}",
        f"hydra.searchpath=[file://{extra}]",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 1, done.stderr[-2000:]
    assert "scenario broken failed" in done.stderr
    assert "capacity.homes.existing.beds" in done.stderr
    # The closing summary names the setting, not the heading of the list of problems.
    summary = next(line for line in done.stderr.splitlines() if "scenario broken failed:" in line)
    assert "failed: capacity.homes.existing.beds (" in summary, summary
    assert "Traceback" not in done.stderr
    for name in ("baseline", "demand_surge"):
        (folder,) = sweep.glob(f"*_{name}")
        assert (folder / "projection/quantiles.csv").is_file()
        # Each scenario simulated on the worker pool it was given, not in one process.
        details = json.loads((folder / "run_details.json").read_text())
        assert details["config"]["simulation"]["n_jobs"] == 2
    head = pd.read_csv(sweep / "comparison/comparison_headline.csv")
    assert set(head["scenario"]) == {"baseline", "demand_surge", "same"}
    # A scenario that changes nothing differs from the baseline by exactly zero, cost included.
    same = head[head["scenario"] == "same"]
    assert set(same["measure"]) >= {"children_in_care", "external_placements", "cost"}
    assert (same[["diff_p10", "diff_p50", "diff_p90"]] == 0).all().all()
    surge = head[(head["scenario"] == "demand_surge") & (head["measure"] == "children_in_care")]
    assert surge["diff_p50"].iloc[0] >= 0  # more referrals never mean fewer children in care
    failed = json.loads((sweep / "comparison/failed_scenarios.json").read_text())
    assert "beds" in failed["broken"]
    # Savings are paired against the baseline; the multirun's workbook holds every scenario.
    saving = pd.read_csv(sweep / "comparison/savings.csv")
    assert set(saving["scenario"]) == {"demand_surge", "same"}
    first = saving[(saving["measure"] == "saving") & (saving["line"] == "total")].iloc[0]
    assert first["p10"] <= first["p50"] <= first["p90"]
    book = load_workbook(sweep / "comparison/finance_workbook.xlsx")
    costs = book["Costs by line and year"]
    medians = [
        str(row[0]).split(": P50")[0]
        for row in costs.iter_rows(values_only=True)
        if ": P50 (median)" in str(row[0])
    ]
    assert sorted(medians) == [
        "Baseline: today's capacity and trends",
        "Demand surge (stress test)",
        "The baseline under another name",
    ]
    # Each scenario's moves per year, recorded then projected, as its own flows table has them.
    rows = list(book["Flows per year"].iter_rows(min_row=4, values_only=True))
    header, body = rows[0], [r for r in rows[1:] if r[0]]
    assert header[:3] == ("Scenario", "Flow", "Financial year")
    assert {r[0] for r in body} == {"baseline", "demand_surge", "same"}
    (surge_dir,) = sweep.glob("*_demand_surge")
    own = pd.read_csv(surge_dir / "projection/flows_by_year.csv", dtype=str)
    assert sum(r[0] == "demand_surge" for r in body) == len(own)
    cover = {row[0]: row[1] for row in book["Cover"].iter_rows(values_only=True) if row[0]}
    assert "Demand surge (stress test)" in cover["Scenario"]
    assert cover["Council"] == "built-in synthetic example"
    # The comparison report sets each scenario's in-house places needed side by side, as the
    # scenario's own sufficiency table has them.
    report = html.unescape((sweep / "comparison/report.html").read_text(encoding="utf-8"))
    (folder,) = sweep.glob("*_demand_surge")
    own = pd.read_csv(folder / "finance/sufficiency_by_quarter.csv")
    march = own[(own["inhouse_group"] == "inhouse_foster") & own["quarter_end"].str[5:7].eq("03")]
    r = march.iloc[0]
    table = re.search(
        r"In-house foster[^<]*: in-house places needed for the target share, by scenario.*?"
        r"</table>",
        report,
        re.S,
    ).group(0)
    header = re.findall(r"<th scope='col'[^>]*>(.*?)</th>", table)
    first = re.findall(r"<td[^>]*>(.*?)</td>", re.search(r"<tbody><tr>(.*?)</tr>", table).group(1))
    cells = dict(zip(header[1:], first, strict=True))
    expected = (
        f"{r['places_needed_for_target_median']:.0f} ({r['places_needed_for_target_p10']:.0f} "
        f"to {r['places_needed_for_target_p90']:.0f})"
    )
    assert cells["Demand surge (stress test): places needed"] == expected


def _multirun(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "care_demand.cli", "-m", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


@pytest.mark.slow
def test_a_multirun_with_an_empty_cache_calibrates_once_before_its_scenarios(
    tmp_path: Path,
) -> None:
    cache, sweep = tmp_path / "cache", tmp_path / "sweep"
    done = _multirun(
        "scenario=baseline,harbour_expansion",
        "simulation.replicates=2",
        "simulation.horizon_months=3",
        # A short chain: the test is about where the sampling happens, not its quality.
        "calibration.hazards.sampler.draws=100",
        "calibration.hazards.sampler.tune=100",
        "calibration.hazards.checks.on_failure=warn",
        f"calibration.cache_dir={cache}",
        f"hydra.sweep.dir={sweep}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Calibrating the transition hazards once for the scenarios" in done.stdout
    assert len(list(cache.glob("hazards_*.npz"))) == 1
    folders = sorted(p for p in sweep.iterdir() if (p / "status.json").is_file())
    assert [p.name for p in folders] == ["0_baseline", "1_harbour_expansion"]
    for folder in folders:  # no scenario sampled: each read the posterior from the cache
        diagnostics = json.loads((folder / "calibration/diagnostics.json").read_text())
        assert diagnostics["from_cache"] is True
        assert (folder / "report.html").is_file()
    assert (sweep / "comparison/report.html").is_file()


def test_a_multirun_in_which_every_scenario_fails_says_so_and_exits_non_zero(
    tmp_path: Path,
) -> None:
    sweep = tmp_path / "sweep"
    done = _multirun(
        "scenario=baseline,transformation",
        f"data.path={tmp_path / 'no-such-folder'}",
        f"hydra.sweep.dir={sweep}",
    )
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    failures = [ln for ln in done.stderr.splitlines() if ln.startswith("care-demand: scenario ")]
    assert len(failures) == 2
    assert all("no such folder" in line for line in failures)
    assert "no scenario finished, so there is nothing to compare" in done.stderr
    assert "nothing to compare" in (sweep / "comparison/comparison.md").read_text()
    assert (sweep / "comparison/report.html").is_file()
    failed = json.loads((sweep / "comparison/failed_scenarios.json").read_text())
    assert set(failed) == {"baseline", "transformation"}
