"""Intervals widened by the council's own backtest: the rule's arithmetic, where a run finds the
factors, and a run that applies them to its published quantiles (and only there)."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from care_demand import vocab
from care_demand.config import AppConfig
from care_demand.outputs.interval_widening import (
    accuracy_note,
    applied_factors,
    distance_ratios,
    find_widening,
    quantile_level,
    run_widening,
    widen_quantiles,
    widening_factor,
    widening_note,
    widening_record,
)
from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.settings import OutputConfig, output_problems
from care_demand.pipeline import run

JUDGED = [vocab.CARE, *vocab.PLACEMENT_GROUPS]


def _metrics(ratios: list[float], cuts: int = 5) -> pd.DataFrame:
    """Backtest scores of care forecasts: median 100, 80% interval 90-110, 90% interval
    85-115, and records at the given distances above the median (in 80% half-widths)."""
    n = len(ratios)
    return pd.DataFrame(
        {
            "cut": [
                pd.Timestamp("2019-03-31") + pd.offsets.MonthEnd(6 * (i % cuts)) for i in range(n)
            ],
            "horizon_months": 12,
            "measure": vocab.CARE,
            "scored": True,
            "median": 100.0,
            "actual": [100.0 + 10.0 * r for r in ratios],
            "lower_80": 90.0,
            "upper_80": 110.0,
            "lower_90": 85.0,
            "upper_90": 115.0,
        }
    )


def test_distance_ratios_are_in_half_widths_on_the_records_side() -> None:
    ratios = distance_ratios(
        median=[100, 100, 100, 100, 100],
        lower=[90, 80, 90, 100, 90],
        upper=[110, 110, 100, 110, 110],
        actual=[105, 90, 101, 100, 130],
    )
    assert ratios == pytest.approx([0.5, 0.5, np.inf, 0.0, 3.0])


def test_coverage_below_nominal_widens_by_the_factor_that_would_have_held_it() -> None:
    ratios = [0.2, 0.4, 0.6, 0.8, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5]  # 5 of 10 inside 80%
    record = widening_record(_metrics(ratios), [0.8], JUDGED, max_factor=2.0, min_cuts=3)
    entry = record["levels"]["80"]
    assert entry["coverage"] == pytest.approx(0.5)
    assert entry["factor"] == pytest.approx(1.3)  # the 8th of 10 ratios: 80% inside
    assert entry["coverage_widened"] == pytest.approx(0.8)
    assert not entry["capped"] and record["applies"] and record["cuts"] == 5


def test_coverage_at_or_above_nominal_leaves_the_intervals_as_they_are() -> None:
    at_nominal = [0.1 * i for i in range(1, 9)] + [1.5, 3.0]  # 8 of 10 inside: 80%
    assert (
        widening_factor(
            distance_ratios([100] * 10, [90] * 10, [110] * 10, [100 + 10 * r for r in at_nominal]),
            0.8,
            2.0,
        )
        == 1.0
    )
    record = widening_record(_metrics([0.1] * 10), [0.8, 0.9], JUDGED, max_factor=2.0, min_cuts=3)
    assert {e["factor"] for e in record["levels"].values()} == {1.0}
    quantiles = _quantiles()
    widened = widen_quantiles(quantiles, applied_factors({"status": "applied", **record}), JUDGED)
    pd.testing.assert_frame_equal(widened, quantiles)


def test_the_factor_is_capped_at_its_maximum() -> None:
    record = widening_record(_metrics([5.0] * 10), [0.8], JUDGED, max_factor=2.0, min_cuts=3)
    entry = record["levels"]["80"]
    assert entry["factor"] == 2.0 and entry["capped"]
    assert entry["coverage_widened"] == 0.0
    assert widening_factor([np.inf] * 4, 0.5, 1.5) == 1.5


def test_too_few_cuts_write_the_factors_but_do_not_apply_them(tmp_path: Path) -> None:
    ratios = [2.0] * 10
    record = widening_record(_metrics(ratios, cuts=2), [0.8], JUDGED, max_factor=2.0, min_cuts=3)
    assert not record["applies"] and record["levels"]["80"]["factor"] == 2.0
    _write(tmp_path / "bt", {"data_fingerprint": "abc", **record})
    detail = run_widening("auto", tmp_path, "abc")
    assert detail["status"] == "too few cuts" and applied_factors(detail) == {}
    assert "too few cuts" in widening_note(detail)


def test_the_note_says_how_intervals_were_widened_only_when_one_was() -> None:
    base = {"status": "applied", "backtest_dir": "bt", "cuts": 5, "forecasts": 97}
    base |= {"max_factor": 2.0}
    held = {"80": {"level": 0.8, "coverage": 0.9, "factor": 1.0}}
    note = widening_note({**base, "levels": held})
    assert "80% intervals held 90%, unchanged" in note and "none was widened" in note
    assert "moved away from the median" not in note
    short = {"80": {"level": 0.8, "coverage": 0.7, "factor": 1.25}}
    note = widening_note({**base, "levels": short})
    assert "widened x1.25" in note and "moved away from the median" in note


def test_the_backtests_accuracy_is_told_beside_the_error_luck_alone_gives() -> None:
    record = {"measure": "care", "label": "children in care", "horizon": 12, "forecasts": 30}
    record |= {"mape": 2.9}
    close = accuracy_note(record | {"mape_mc_error": 0.04, "luck_mape": 2.8})
    assert "children in care 12 months ahead were 2.9% ± <0.1 from the record" in close
    assert "would give 2.8%" in close and "as close as the record's own randomness" in close
    far = accuracy_note(record | {"mape_mc_error": 0.2, "luck_mape": 1.5})
    assert "2.9% ± 0.2" in far and "missed something the record holds" in far
    assert accuracy_note(record).endswith("(30 forecasts).")  # a backtest without luck alone
    assert accuracy_note(None) == "" and accuracy_note(record | {"mape": None}) == ""
    # A record without words for its measure names it by its code.
    assert "forecasts of placed with parents 12" in accuracy_note(
        record | {"measure": "placed_with_parents", "label": None}
    )


def test_withheld_and_unjudged_rows_are_left_out() -> None:
    metrics = _metrics([0.5] * 10)
    extra = _metrics([9.0] * 10).assign(measure=vocab.CIN)
    hidden = _metrics([9.0] * 10).assign(scored=False, measure=vocab.SECURE_OTHER)
    record = widening_record(
        pd.concat([metrics, extra, hidden]), [0.8], JUDGED, max_factor=2.0, min_cuts=3
    )
    assert record["forecasts"] == 10 and record["levels"]["80"]["factor"] == 1.0
    # A group whose records were all withheld is widened by the pooled factors; CIN is not.
    assert record["measures"] == [vocab.CARE, vocab.SECURE_OTHER]


def _quantiles() -> pd.DataFrame:
    rows = []
    for category in (vocab.CARE, vocab.CIN):
        rows.append(
            {
                "month": pd.Timestamp("2023-03-31"),
                "measure": "children",
                "category": category,
                "age_band": "all",
                "p5": 80.0,
                "p10": 90.0,
                "p25": 95.0,
                "p50": 100.0,
                "p75": 106.0,
                "p90": 112.0,
                "p95": 114.0,
                "mean": 101.0,
                "replicates": 200,
            }
        )
    return pd.DataFrame(rows)


def test_quantiles_move_from_the_median_by_their_levels_factor_and_stay_in_order() -> None:
    assert [quantile_level(c) for c in ("p5", "p10", "p25", "p50", "p95", "mean")] == [
        0.9,
        0.8,
        0.5,
        None,
        0.9,
        None,
    ]
    widened = widen_quantiles(_quantiles(), {0.5: 1.0, 0.8: 1.5, 0.9: 1.0}, [vocab.CARE])
    care, cin = widened.iloc[0], widened.iloc[1]
    assert care["p10"] == pytest.approx(85.0) and care["p90"] == pytest.approx(118.0)
    assert care["p25"] == 95.0 and care["p50"] == 100.0 and care["mean"] == 101.0
    # p95 (90%, not widened) would fall inside the widened p90: it is kept at least as far out.
    assert care["p95"] == pytest.approx(118.0) and care["p5"] == pytest.approx(80.0)
    pd.testing.assert_series_equal(cin, _quantiles().iloc[1])
    low = widen_quantiles(_quantiles(), {0.8: 20.0}, [vocab.CARE]).iloc[0]
    assert low["p10"] == 0.0  # a count is never below 0


def _write(folder: Path, record: dict[str, object]) -> Path:
    path = folder / LAYOUT.backtest.interval_widening
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


def test_the_setting_takes_auto_or_off() -> None:
    assert OutputConfig().interval_widening == "auto"
    assert output_problems(OutputConfig(interval_widening="off")) == []
    problems = output_problems(OutputConfig(interval_widening="always"))
    assert problems[0][0] == "output.interval_widening"


def test_a_run_finds_the_newest_backtest_of_its_own_data(tmp_path: Path) -> None:
    base = {"applies": True, "levels": {}, "measures": JUDGED}
    old = _write(tmp_path / "2024-01-01" / "10-00-00", {**base, "data_fingerprint": "abc", "n": 1})
    new = _write(tmp_path / "2024-02-01" / "10-00-00", {**base, "data_fingerprint": "abc", "n": 2})
    _write(tmp_path / "2024-03-01" / "10-00-00", {**base, "data_fingerprint": "other"})
    os.utime(old, (1, 1))
    os.utime(new, (2, 2))
    record, notes = find_widening([tmp_path], "abc")
    assert record is not None and record["n"] == 2
    assert record["backtest_dir"] == str(tmp_path / "2024-02-01" / "10-00-00")
    assert any("other data" in note for note in notes)
    assert find_widening([tmp_path / "2024-01-01" / "10-00-00"], "abc")[0]["n"] == 1
    assert run_widening("auto", tmp_path, "xyz")["status"] == "no backtest"
    assert run_widening("off", tmp_path, "abc") == {"status": "off"}
    # Said of any data, the built-in example's as well as a council's.
    assert widening_note({"status": "no backtest"}) == (
        "The intervals were not checked against a backtest of these data: none was found "
        "(run care-demand-backtest on them, then this run again)."
    )
    assert "(output.interval_widening is off)" in widening_note({"status": "off"})


@pytest.mark.slow
def test_a_run_widens_its_published_quantiles_and_says_so(
    report_run: Path, report_config: AppConfig, tmp_path: Path
) -> None:
    details = json.loads((report_run / LAYOUT.run_details).read_text())
    assert details["interval_widening"]["status"] in ("no backtest", "off")
    fingerprint = details["data_fingerprint"]
    levels = {
        "50": {"level": 0.5, "coverage": 0.5, "factor": 1.0},
        "80": {"level": 0.8, "coverage": 0.6, "factor": 1.5},
        "90": {"level": 0.9, "coverage": 0.7, "factor": 1.5},
    }
    backtests = tmp_path / "backtests"
    _write(
        backtests / "one",
        {
            "data_fingerprint": fingerprint,
            "applies": True,
            "cuts": 5,
            "forecasts": 150,
            "max_factor": 2.0,
            "measures": JUDGED,
            "levels": levels,
            "accuracy": {
                "measure": "care",
                "label": "children in care",
                "horizon": 12,
                "forecasts": 5,
                "mape": 4.2,
                "mape_mc_error": 0.26,
                "luck_mape": 2.1,
            },
        },
    )
    choice = {"chosen": "level", "trend_damping": 0.0, "shipped": "damped", "months": 12}
    (backtests / "one" / LAYOUT.backtest.arrival_variant).write_text(json.dumps(choice))
    # A drift chosen but not checked out of sample: reported, not used.
    drift = {"chosen": "steady", "level_drift_sd": 0.05, "shipped": "shifting", "months": 12}
    drift |= {"cuts": 5, "mean_crps_pct": {"steady": 6.0, "shifting": 6.5}}
    (backtests / "one" / LAYOUT.backtest.arrival_drift).write_text(json.dumps(drift))
    config = dataclasses.replace(
        report_config, output=dataclasses.replace(report_config.output, backtest_dir=str(backtests))
    )
    out = tmp_path / "run"
    run(config, out)
    before = pd.read_csv(report_run / LAYOUT.quantiles)
    after = pd.read_csv(out / LAYOUT.quantiles)
    assert list(after.columns) == list(before.columns) and len(after) == len(before)
    judged = (after["measure"] == "children") & after["category"].isin(JUDGED)
    assert judged.any() and (~judged).any()
    pd.testing.assert_frame_equal(after[~judged], before[~judged])
    pd.testing.assert_series_equal(after["p50"], before["p50"])
    care = judged & (after["category"] == vocab.CARE)
    expected = np.maximum(before["p50"] + 1.5 * (before["p90"] - before["p50"]), 0)
    assert np.allclose(after.loc[care, "p90"], expected[care])
    assert (after.loc[care, "p90"] > before.loc[care, "p90"]).any()
    for name in os.listdir(report_run):  # the per-replicate tables are as simulated
        if name.endswith("_by_replicate.csv"):
            assert (out / name).read_bytes() == (report_run / name).read_bytes(), name
    detail = json.loads((out / LAYOUT.run_details).read_text())["interval_widening"]
    assert detail["status"] == "applied" and detail["backtest_dir"] == str(backtests / "one")
    assert detail["levels"]["80"]["coverage"] == 0.6
    trend = json.loads((out / LAYOUT.run_details).read_text())["arrival_trend"]
    assert trend["chosen"] == "level" and trend["backtest_dir"] == str(backtests / "one")
    assert trend["run_trend_damping"] == report_config.calibration.arrivals.trend_damping
    report = (out / LAYOUT.report).read_text()
    assert "80% intervals held 60%, widened x1.50" in report
    # And how close that backtest came, beside the error luck alone gives.
    assert (
        "forecasts of children in care 12 months ahead were 4.2% ± 0.3 from the record on "
        "average (5 forecasts); luck alone" in report
    )
    assert "would give 2.1%" in report and "missed something the record holds" in report
    assert "Arrival trend: over the backtest" in report and "the level variant" in report
    used = json.loads((out / LAYOUT.run_details).read_text())["arrival_drift"]
    assert used["status"] == "not checked out of sample"
    assert used["run_level_drift_sd"] == report_config.calibration.arrivals.level_drift_sd
    # The report escapes its text for HTML (the apostrophe as &#x27;).
    assert (
        "Arrival drift: over the backtest&#x27;s 5 origins (its cuts and the dates between "
        "them), the steady variant" in report
    )
    assert "too few cuts to check the choice out of sample" in report
