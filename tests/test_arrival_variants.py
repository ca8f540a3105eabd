"""The arrival trend variant the council's record chooses: the choice and its nested check on
hand-made scores, and the variants drawn from one fit."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from care_demand.backtest.arrival_variants import (
    choose_before,
    choose_variant,
    nested_check,
    score_variants,
    variant_before,
    variant_record,
)
from care_demand.backtest.run import arrival_variants
from care_demand.backtest.settings import load_backtest_config
from care_demand.outputs.arrival_choice import arrival_choice, arrival_choice_note
from care_demand.outputs.layout import LAYOUT

CUTS = ["2018-03-31", "2018-09-30", "2019-03-31", "2019-09-30"]


def _scores(errors: dict[str, list[float]], scored: bool = True) -> pd.DataFrame:
    """One kind, one row per cut and variant with the given absolute % errors."""
    rows = []
    for variant, values in errors.items():
        for cut, error in zip(CUTS, values, strict=True):
            rows.append(
                {
                    "cut": pd.Timestamp(cut),
                    "variant": variant,
                    "trend_damping": {"level": 0.0, "damped": 0.5, "trend": 1.0}[variant],
                    "kind": "care_entry",
                    "abs_pct_error": error,
                    "pct_error": error,
                    "scored": scored,
                }
            )
    return pd.DataFrame(rows)


def test_the_variant_with_the_lowest_mean_error_is_chosen() -> None:
    scores = _scores({"level": [2, 2, 2, 2], "damped": [4, 4, 4, 4], "trend": [9, 1, 9, 1]})
    chosen, means = choose_variant(scores, "damped")
    assert chosen == "level"
    assert means == {"level": 2.0, "damped": 4.0, "trend": 5.0}


def test_a_tie_or_nothing_scored_keeps_the_shipped_setting() -> None:
    tie = _scores({"level": [3, 3, 3, 3], "damped": [3, 3, 3, 3], "trend": [5, 5, 5, 5]})
    assert choose_variant(tie, "damped")[0] == "damped"
    unscored = _scores({"level": [1, 1, 1, 1], "damped": [9, 9, 9, 9]}, scored=False)
    assert choose_variant(unscored, "damped") == ("damped", {})


def test_the_nested_check_chooses_on_cuts_whose_months_had_ended() -> None:
    # trend wins the first two cuts, then is worst: chosen on the past, it loses out of sample.
    scores = _scores({"level": [5, 5, 2, 2], "damped": [4, 4, 3, 3], "trend": [1, 1, 9, 9]})
    nested = nested_check(scores, "damped", months=12)
    assert list(nested["cut"]) == [pd.Timestamp("2019-03-31"), pd.Timestamp("2019-09-30")]
    assert list(nested["earlier_cuts"]) == [1, 2]  # 2018-09-30 + 12 months is after 2019-03-31
    assert list(nested["chosen"]) == ["trend", "trend"]
    assert list(nested["chosen_error"]) == [9.0, 9.0]
    assert list(nested["shipped_error"]) == [3.0, 3.0]
    record = variant_record(scores, {"level": 0.0, "damped": 0.5, "trend": 1.0}, "damped", 12)
    # Over every cut level and damped tie (3.5%): the shipped setting stays.
    assert record["chosen"] == "damped" and record["trend_damping"] == 0.5
    assert record["nested_chosen_error"] == 9.0 and record["nested_shipped_error"] == 3.0
    assert record["nested"][0]["cut"] == "2019-03-31"


def test_the_shipped_damping_names_its_variant_or_is_added() -> None:
    config = load_backtest_config()
    variants, shipped = arrival_variants(config)
    assert shipped == "damped" and variants[shipped] == config.calibration.arrivals.trend_damping
    config.calibration.arrivals.trend_damping = 0.8
    variants, shipped = arrival_variants(config)
    assert shipped == "shipped" and variants["shipped"] == 0.8 and len(variants) == 4


def _write_record(folder, record: dict) -> None:
    path = folder / LAYOUT.backtest.arrival_variant
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def test_a_run_keeps_its_setting_when_the_choice_did_no_better_out_of_sample(tmp_path) -> None:
    scores = _scores({"level": [5, 5, 2, 2], "damped": [4, 4, 3, 3], "trend": [1, 1, 9, 9]})
    record = variant_record(scores, {"level": 0.0, "damped": 0.5, "trend": 1.0}, "damped", 12)
    _write_record(tmp_path, record)
    assert arrival_choice(None, 0.5) is None
    assert arrival_choice(tmp_path / "elsewhere", 0.5) is None
    found = arrival_choice(tmp_path, 0.5)
    assert found is not None and found["chosen"] == "damped" and found["run_trend_damping"] == 0.5
    assert found["status"] == "same as the run's setting"
    note = arrival_choice_note(found)
    assert "the damped variant (trend_damping 0.5)" in note
    assert "it erred 9.0% against 3.0% for the damped setting" in note
    assert "This run uses trend_damping 0.5" in note
    assert arrival_choice_note(None) == ""
    # A run set to the full trend: the backtest chose damped, but chosen on earlier cuts the
    # choice erred more than the shipped setting on later ones, so the run keeps its own.
    kept = arrival_choice(tmp_path, 1.0)
    assert kept["status"] == "no better out of sample" and kept["run_trend_damping"] == 1.0
    assert "keeps trend_damping 1: chosen on earlier cuts" in arrival_choice_note(kept)


def test_a_run_uses_the_choice_that_held_out_of_sample_unless_told_not_to(tmp_path) -> None:
    scores = _scores({"level": [2, 2, 2, 2], "damped": [4, 4, 4, 4], "trend": [9, 9, 9, 9]})
    record = variant_record(scores, {"level": 0.0, "damped": 0.5, "trend": 1.0}, "damped", 12)
    assert record["nested_chosen_error"] == 2.0 and record["nested_shipped_error"] == 4.0
    _write_record(tmp_path, record)
    used = arrival_choice(tmp_path, 0.5)
    assert used["status"] == "applied" and used["run_trend_damping"] == 0.0
    assert used["configured_trend_damping"] == 0.5
    assert "This run uses it: trend_damping 0 in place of 0.5" in arrival_choice_note(used)
    off = arrival_choice(tmp_path, 0.5, use=False)
    assert off["status"] == "off" and off["run_trend_damping"] == 0.5
    # Too few cuts for a nested check: the choice is reported, not used.
    _write_record(tmp_path, {**record, "nested_chosen_error": None, "nested": []})
    unchecked = arrival_choice(tmp_path, 0.5)
    assert unchecked["status"] == "not checked out of sample"
    assert unchecked["run_trend_damping"] == 0.5


def test_each_cut_uses_the_choice_known_by_then() -> None:
    scores = _scores({"level": [2, 9, 9, 9], "damped": [4, 4, 4, 4], "trend": [9, 1, 1, 1]})
    assert choose_before(scores, pd.Timestamp("2018-09-30"), "damped", 12) == ("damped", 0)
    assert choose_before(scores, pd.Timestamp("2019-03-31"), "damped", 12) == ("level", 1)
    # By 2019-09-30 both 2018 cuts had ended: level 5.5, damped 4.0, trend 5.0 over them.
    assert choose_before(scores, pd.Timestamp("2019-09-30"), "damped", 12) == ("damped", 2)
    assert choose_before(scores.iloc[0:0], pd.Timestamp("2019-09-30"), "damped", 12) == (
        "damped",
        0,
    )


def test_a_calibration_carries_the_backtests_choice(
    example_history, example_calibrated, quick_config, with_backtest
) -> None:
    from care_demand.pipeline import calibrate

    scores = _scores({"level": [2, 2, 2, 2], "damped": [4, 4, 4, 4], "trend": [9, 9, 9, 9]})
    record = variant_record(scores, {"level": 0.0, "damped": 0.5, "trend": 1.0}, "damped", 12)
    config = with_backtest({LAYOUT.backtest.arrival_variant: record})
    fitted = calibrate(example_history, config)
    assert fitted.arrival_trend["status"] == "applied"
    assert fitted.arrivals.settings.trend_damping == 0.0
    assert fitted.hazards.fingerprint_ == example_calibrated.hazards.fingerprint_
    start = pd.Timestamp("2022-04-01")
    level = fitted.arrivals.forecast(start, 24)
    damped = example_calibrated.arrivals.forecast(start, 24)
    assert not level.equals(damped)
    # The same data and settings without a backtest: the run's own damping.
    assert calibrate(example_history, quick_config).arrivals.settings.trend_damping == 0.5
    assert example_calibrated.arrival_trend is None


@pytest.mark.slow
def test_variants_are_drawn_from_one_fit_and_differ_only_past_the_history(
    example_history, quick_config
) -> None:
    from care_demand.calibration.arrivals import ArrivalModel
    from care_demand.simulation.build import OutsideArrivals, projection_start

    known = example_history.truncate(pd.Timestamp("2019-03-31"))
    model = ArrivalModel(quick_config.calibration.arrivals).fit(OutsideArrivals.of(known))
    start = projection_start(known)
    recorded = {"referral": 3000.0, "care_entry": 4.0}
    scores = score_variants(
        model,
        start,
        recorded,
        {"level": 0.0, "trend": 1.0},
        months=12,
        paths=50,
        seed=1,
        suppress_max=5,
    )
    assert set(scores["variant"]) == {"level", "trend"}
    assert model.settings.trend_damping == quick_config.calibration.arrivals.trend_damping
    care = scores[scores["kind"] == "care_entry"]
    assert not care["scored"].any() and care["pct_error"].isna().all()  # 4 entries: withheld
    referral = scores[scores["kind"] == "referral"].set_index("variant")
    assert referral["scored"].all()
    assert referral.loc["level", "pct_error"] == pytest.approx(
        100 * (referral.loc["level", "forecast"] - 3000) / 3000
    )
    assert referral.loc["level", "forecast"] != referral.loc["trend", "forecast"]


def test_each_cut_forecasts_with_the_variant_a_run_then_would_use() -> None:
    # Chosen on the cuts ended by then, and used only once its nested check held.
    better = _scores({"level": [2, 2, 2, 2], "damped": [4, 4, 4, 4], "trend": [9, 9, 9, 9]})
    assert variant_before(better, pd.Timestamp("2018-09-30"), "damped", 12) == ("damped", 0)
    # One cut ended: level chosen, but nothing later to check it on.
    assert variant_before(better, pd.Timestamp("2019-03-31"), "damped", 12) == ("damped", 1)
    # Three ended: chosen on the first, level erred less on the third as well.
    assert variant_before(better, pd.Timestamp("2020-03-31"), "damped", 12) == ("level", 3)
    # Level best over the three, but chosen on the first it erred more on the third: kept.
    turned = _scores({"level": [1, 1, 9, 1], "damped": [4, 4, 4, 4], "trend": [9, 9, 9, 9]})
    assert choose_before(turned, pd.Timestamp("2020-03-31"), "damped", 12) == ("level", 3)
    assert variant_before(turned, pd.Timestamp("2020-03-31"), "damped", 12) == ("damped", 3)
    assert variant_before(better.iloc[0:0], pd.Timestamp("2020-03-31"), "damped", 12) == (
        "damped",
        0,
    )
