"""The period the rates are fitted on, chosen by the council's record: the score of fitted
rates on the transitions after a cut, the choice and its nested check, and a run's use of it."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd

from care_demand.backtest.rate_variants import (
    ALL_TRANSITIONS,
    RECENT,
    WEIGHTED,
    WHOLE,
    period_before,
    rate_record,
    score_rates,
)
from care_demand.calibration.hazard_exposure import HazardIndex
from care_demand.calibration.hazard_simulate import simulate_spells
from care_demand.calibration.reference import recent_start
from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.rate_choice import rate_choice, rate_choice_note

WS, WE = pd.Timestamp("2016-04-01"), pd.Timestamp("2021-03-31")
CUTS = ["2018-03-31", "2018-09-30", "2019-03-31", "2019-09-30"]


class FixedRates:
    """A stand-in for a fitted model: the same posterior mean rate in every cell of a pair."""

    def __init__(self, index: HazardIndex, rates: np.ndarray) -> None:
        self.index, self.rates = index, rates

    def summary(self) -> pd.DataFrame:
        table = self.index.cells()
        table["mean"] = np.broadcast_to(self.rates[:, None, None], self.index.shape).ravel()
        return table


def test_rates_are_scored_on_the_transitions_the_recorded_exposure_implies() -> None:
    # Early-help spells whose true rates are those of the "recent" stand-in: its expected
    # transitions match the record within Poisson noise; the "whole" stand-in's rates are
    # 0.6 times as high, and so are its expected transitions.
    index = HazardIndex.for_strata([("early_help", None)])
    truth = np.linspace(0.01, 0.03, len(index.pairs))
    rates = np.broadcast_to(truth[:, None, None], index.shape).copy()
    table = simulate_spells(
        rates, index, 4000, WS, WE, np.random.default_rng(8), lead_years=1.0, age_range=(1, 15)
    )
    history = SimpleNamespace(spells=table, window_start=WS, window_end=WE, fingerprint="eh")
    models = {WHOLE: FixedRates(index, 0.6 * truth), RECENT: FixedRates(index, truth)}
    scores = score_rates(models, history, pd.Timestamp("2019-03-31"), months=12, suppress_max=5)
    assert set(scores["variant"]) == {WHOLE, RECENT}
    kinds = {f"early_help -> {d}" for _, _, d in index.pairs}
    assert set(scores["kind"]) == {*kinds, ALL_TRANSITIONS}
    recent = scores[scores["variant"] == RECENT].set_index("kind")
    whole = scores[scores["variant"] == WHOLE].set_index("kind")
    # All transitions together: the sums, and the absolute errors summed over the record.
    for part in (recent, whole):
        each = part.drop(ALL_TRANSITIONS)
        total = part.loc[ALL_TRANSITIONS]
        assert total["recorded"] == each["recorded"].sum()
        assert np.isclose(total["forecast"], each["forecast"].sum())
        miss = (each["forecast"] - each["recorded"]).abs().sum()
        assert np.isclose(total["abs_pct_error"], 100 * miss / each["recorded"].sum())
    assert 30 < whole.loc[ALL_TRANSITIONS, "abs_pct_error"] < 50  # rates 0.6 times the truth
    assert (recent["recorded"] > 50).all()
    # Within 4 Poisson sd of the record; the whole-record stand-in 40% low.
    assert (np.abs(recent["forecast"] - recent["recorded"]) < 4 * np.sqrt(recent["recorded"])).all()
    assert np.allclose(whole["forecast"], 0.6 * recent["forecast"])
    assert np.allclose(whole["recorded"], recent["recorded"])
    record = rate_record(scores.assign(cut=pd.Timestamp("2019-03-31")), 36, 12)
    assert record["chosen"] == RECENT and record["recent_months"] == 36
    assert record["mean_abs_pct_error"][WHOLE] > 35 > record["mean_abs_pct_error"][RECENT]


def _scores(errors: dict[str, list[float]]) -> pd.DataFrame:
    rows = [
        {
            "cut": pd.Timestamp(cut),
            "variant": variant,
            "kind": ALL_TRANSITIONS,
            "abs_pct_error": error,
            "pct_error": error,
            "scored": True,
        }
        for variant, values in errors.items()
        for cut, error in zip(CUTS, values, strict=True)
    ]
    return pd.DataFrame(rows)


def _write(folder, record: dict) -> None:
    path = folder / LAYOUT.backtest.rate_variant
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))


def test_a_run_uses_the_recent_period_only_when_it_held_out_of_sample(tmp_path) -> None:
    better = rate_record(_scores({WHOLE: [9, 9, 9, 9], RECENT: [3, 3, 3, 3]}), 36, 12)
    assert better["chosen"] == RECENT
    assert better["nested_chosen_error"] == 3.0 and better["nested_shipped_error"] == 9.0
    _write(tmp_path, better)
    assert rate_choice(None) is None and rate_choice(tmp_path / "elsewhere") is None
    used = rate_choice(tmp_path)
    assert used["status"] == "applied"
    assert recent_start(pd.Timestamp("2022-03-31"), used["recent_months"]) == "2019-04-01"
    note = rate_choice_note(used)
    assert "9.0% (whole), 3.0% (recent)" in note
    assert "This run fits its rates on the last 36 months" in note
    assert rate_choice(tmp_path, use=False)["status"] == "off"
    assert rate_choice(tmp_path, own_period=True)["status"] == "the run's own setting"
    # Better over all cuts, but chosen on earlier cuts it erred more on later ones: kept.
    turned = rate_record(_scores({WHOLE: [9, 4, 4, 4], RECENT: [3, 9, 9, 9]}), 36, 12)
    assert turned["chosen"] == WHOLE
    flipped = rate_record(_scores({WHOLE: [9, 2, 2, 2], RECENT: [1, 1, 9, 1]}), 36, 12)
    assert flipped["chosen"] == RECENT
    _write(tmp_path, flipped)
    assert flipped["nested_chosen_error"] > flipped["nested_shipped_error"]
    assert rate_choice(tmp_path)["status"] == "no better out of sample"
    _write(tmp_path, {**better, "nested_chosen_error": None, "nested": []})
    assert rate_choice(tmp_path)["status"] == "not checked out of sample"
    _write(tmp_path, turned)
    kept = rate_choice(tmp_path)
    assert kept["status"] == "same as the run's setting" and kept["recent_months"] is None
    assert rate_choice_note(None) == ""
    # Three variants: the record weighted by age did best, and the run says how it fits.
    three = rate_record(
        _scores({WHOLE: [9, 9, 9, 9], RECENT: [5, 5, 5, 5], WEIGHTED: [3, 3, 3, 3]}), 36, 12, 2.0
    )
    assert three["chosen"] == WEIGHTED and three["half_life_years"] == 2.0
    assert three["recent_months"] is None and three["considered_recent_months"] == 36
    _write(tmp_path, three)
    note = rate_choice_note(rate_choice(tmp_path))
    assert "9.0% (whole), 5.0% (recent), 3.0% (weighted)" in note
    assert "its last 36 months (recent) or the whole record with each year weighted" in note
    assert "fits its rates on the whole record, each year weighted half as much every 2" in note


def test_each_cut_fits_its_rates_as_a_run_on_the_record_known_then_would() -> None:
    better = _scores({WHOLE: [9, 9, 9, 9], RECENT: [3, 3, 3, 3]})
    # Nothing ended before the cut; one cut ended, but no nested check on it yet; three
    # ended, the choice held on the last of them: the recent period.
    assert period_before(better, pd.Timestamp("2018-06-30"), 12) == (WHOLE, 0)
    assert period_before(better, pd.Timestamp("2019-03-31"), 12) == (WHOLE, 1)
    assert period_before(better, pd.Timestamp("2020-03-31"), 12) == (RECENT, 3)
    # Chosen on the earlier cuts, but it erred more on the later ones: the whole record.
    flipped = _scores({WHOLE: [9, 2, 2, 2], RECENT: [1, 1, 9, 1]})
    assert period_before(flipped, pd.Timestamp("2020-03-31"), 12) == (WHOLE, 3)
    assert period_before(pd.DataFrame(), pd.Timestamp("2020-03-31"), 12) == (WHOLE, 0)


def test_a_variant_whose_fit_failed_at_a_cut_is_not_a_candidate() -> None:
    # The weighted rates erred least where they were fitted, but their fit did not pass the
    # convergence checks at the last cut: left out of the choice, and said so.
    scores = _scores({WHOLE: [9, 9, 9, 9], RECENT: [5, 5, 5, 5], WEIGHTED: [1, 1, 1, 1]})
    gap = scores[~((scores["variant"] == WEIGHTED) & (scores["cut"] == pd.Timestamp(CUTS[-1])))]
    record = rate_record(gap, 36, 12, 2.0)
    assert record["chosen"] == RECENT and record["left_out"] == [WEIGHTED]
    assert set(record["mean_abs_pct_error"]) == {WHOLE, RECENT}
    assert rate_record(scores, 36, 12, 2.0)["left_out"] == []
    assert period_before(gap, pd.Timestamp("2020-09-30"), 12) == (RECENT, 4)


def test_a_calibration_fits_the_rates_on_the_period_its_backtest_chose(
    example_history, with_backtest
) -> None:
    from care_demand.pipeline import calibrate

    record = rate_record(_scores({WHOLE: [9, 9, 9, 9], RECENT: [3, 3, 3, 3]}), 36, 12)
    config = with_backtest({LAYOUT.backtest.rate_variant: record})
    fitted = calibrate(example_history, config)
    assert fitted.rate_period["status"] == "applied"
    assert fitted.reference_period == "1 April 2019 to 31 March 2022"
    # Told not to: the whole record, and the choice still reported.
    off = dataclasses.replace(
        config,
        calibration=dataclasses.replace(config.calibration, reference_from_backtest=False),
    )
    kept = calibrate(example_history, off)
    assert kept.rate_period["status"] == "off" and kept.reference_period is None
    # The record weighted by age, chosen: the whole record, each year counted half as much
    # every two years back.
    three = {WHOLE: [9, 9, 9, 9], RECENT: [5, 5, 5, 5], WEIGHTED: [3, 3, 3, 3]}
    config = with_backtest({LAYOUT.backtest.rate_variant: rate_record(_scores(three), 36, 12, 2.0)})
    weighted = calibrate(example_history, config)
    assert weighted.rate_period["status"] == "applied"
    assert weighted.hazards.settings.priors.record_half_life_years == 2.0
    assert weighted.reference_period == (
        "the whole record, each year weighted half as much every 2 years back"
    )
    # The weighted events are fewer than the record's, in the last year's proportion.
    counted, recorded = weighted.hazards.exposure_["events"], kept.hazards.exposure_["events"]
    assert 0.3 * recorded.sum() < counted.sum() < 0.6 * recorded.sum()


def test_a_chosen_period_whose_fit_fails_its_checks_gives_way_to_the_whole_record(
    example_history, with_backtest, monkeypatch
) -> None:
    import care_demand.pipeline as pipeline
    from care_demand.calibration.hazards import ConvergenceError

    fit = pipeline._calibrate

    def strict(history, config, cache):  # the recent period's fit fails its checks
        if config.calibration.reference_start:
            raise ConvergenceError("transition hazards did not converge: max R-hat 1.0135")
        return fit(history, config, cache)

    monkeypatch.setattr(pipeline, "_calibrate", strict)
    monkeypatch.setattr(pipeline, "_CALIBRATED", {})
    record = rate_record(_scores({WHOLE: [9, 9, 9, 9], RECENT: [3, 3, 3, 3]}), 36, 12)
    fitted = pipeline.calibrate(
        example_history, with_backtest({LAYOUT.backtest.rate_variant: record})
    )
    assert fitted.reference_period is None  # the whole record
    assert fitted.hazards.settings.priors.record_half_life_years is None
    assert fitted.rate_period["status"] == "not converged on this record"
    note = rate_choice_note(fitted.rate_period)
    assert "This run fits its rates on the whole record: fitted on the last 36 months" in note
    assert "max R-hat 1.0135" in note
