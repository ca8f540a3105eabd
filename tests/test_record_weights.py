"""The record weighted by its age (the earlier years as a power prior for the recent ones):
the years and their weights, the counts they give, and a fit on a record whose rates changed."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from care_demand.calibration.hazard_exposure import (
    HazardIndex,
    compute_exposure,
    placement_counts,
    record_counts,
    year_weights,
)
from care_demand.calibration.hazard_settings import HazardSettings
from care_demand.calibration.hazard_simulate import simulate_spells
from care_demand.calibration.hazards import HazardModel
from care_demand.errors import ConfigError

WS, WE = pd.Timestamp("2016-04-01"), pd.Timestamp("2021-03-31")
NS = pd.Timedelta(1, "ns")


def _spells(seed: int = 3) -> pd.DataFrame:
    """Early-help and foster-care spells with constant rates over five years."""
    index = HazardIndex.for_strata(
        [("early_help", None), ("care", "inhouse_foster"), ("care", "ifa")]
    )
    rates = np.full(index.shape, 0.03)
    return simulate_spells(rates, index, 1500, WS, WE, np.random.default_rng(seed), lead_years=1.0)


def test_the_years_partition_the_record_newest_first_at_halving_weights() -> None:
    years = year_weights(WS, WE, 2.0)
    assert [(s, e) for s, e, _ in years] == [
        (pd.Timestamp("2020-03-31") + NS, WE),
        (pd.Timestamp("2019-03-31") + NS, pd.Timestamp("2020-03-31")),
        (pd.Timestamp("2018-03-31") + NS, pd.Timestamp("2019-03-31")),
        (pd.Timestamp("2017-03-31") + NS, pd.Timestamp("2018-03-31")),
        (WS, pd.Timestamp("2017-03-31")),
    ]
    assert np.allclose([w for _, _, w in years], [1, 2**-0.5, 0.5, 2**-1.5, 0.25])
    # A record that is not whole years: the oldest part is shorter, at its own weight.
    short = year_weights(pd.Timestamp("2019-10-01"), WE, 1.0)
    assert short[-1][0] == pd.Timestamp("2019-10-01") and np.allclose(
        [w for _, _, w in short], [1.0, 0.5]
    )


def test_weighted_counts_are_each_years_counts_at_its_weight() -> None:
    table = _spells()
    exposure, entry, move = record_counts(table, WS, WE, 2.0)
    want_exposure = want_events = want_entry = want_move = 0.0
    for start, end, weight in year_weights(WS, WE, 2.0):
        part = compute_exposure(table, start, end)
        part_entry, part_move = placement_counts(table, start, end)
        want_exposure = want_exposure + weight * part["exposure_months"].to_numpy()
        want_events = want_events + weight * part["events"].to_numpy()
        want_entry = want_entry + weight * part_entry.to_numpy()
        want_move = want_move + weight * part_move.to_numpy()
    assert np.allclose(exposure["exposure_months"], want_exposure)
    assert np.allclose(exposure["events"], want_events)
    assert np.allclose(entry.to_numpy(), want_entry) and np.allclose(move.to_numpy(), want_move)
    assert exposure["events"].sum() > 100 and entry.to_numpy().sum() > 10
    # Weighted counts are not whole numbers; unweighted ones are the whole window's integers.
    assert not np.allclose(exposure["events"], np.round(exposure["events"]))
    whole, whole_entry, whole_move = record_counts(table, WS, WE)
    assert whole["events"].dtype.kind == "i"
    assert whole.equals(compute_exposure(table, WS, WE))
    # At a half-life of centuries every year counts in full: the years add up to the window,
    # so no event, month or entry is counted twice or lost at a year's edge.
    flat, flat_entry, flat_move = record_counts(table, WS, WE, 1e9)
    assert np.allclose(flat["exposure_months"], whole["exposure_months"], atol=1e-6)
    assert np.allclose(flat["events"], whole["events"], atol=1e-6)
    assert np.allclose(flat_entry.to_numpy(), whole_entry.to_numpy(), atol=1e-6)
    assert np.allclose(flat_move.to_numpy(), whole_move.to_numpy(), atol=1e-6)


def test_the_half_life_is_checked_and_keys_the_cache_only_when_set() -> None:
    with pytest.raises(ConfigError, match="record_half_life_years"):
        HazardSettings.from_mapping({"priors": {"record_half_life_years": 0}})
    plain = HazardSettings().fingerprint_payload()
    assert "record_half_life_years" not in plain["priors"]
    weighted = HazardSettings.from_mapping({"priors": {"record_half_life_years": 2}})
    assert weighted.fingerprint_payload()["priors"]["record_half_life_years"] == 2


RATES = {"assessment": (0.010, 0.025), "closed": (0.030, 0.015)}  # per month: before, after
CHANGE = pd.Timestamp("2019-04-01")
MONTH = pd.Timedelta(days=30.4375)


def _changed_history(n: int = 4000, seed: int = 41) -> SimpleNamespace:
    """Early-help spells whose rates changed on CHANGE for every child then supported
    (exponential times, piecewise in calendar time; censored at WE)."""
    rng = np.random.default_rng(seed)
    names = list(RATES)
    before = np.array([RATES[d][0] for d in names])
    after = np.array([RATES[d][1] for d in names])
    first = WS - pd.DateOffset(years=1)
    start = first + pd.to_timedelta(rng.uniform(0, (WE - first).days, n), unit="D")
    to_change = np.clip((CHANGE - start) / MONTH, 0, None)  # months at the old rates
    need = rng.exponential(1.0, n)  # cumulative hazard to the exit
    old = need < before.sum() * to_change
    months = np.where(
        old, need / before.sum(), to_change + (need - before.sum() * to_change) / after.sum()
    )
    end = start + pd.to_timedelta(months * 30.4375, unit="D")
    share = np.where(old[:, None], before / before.sum(), after / after.sum())
    destination = np.array(names)[(rng.uniform(size=n)[:, None] > share.cumsum(axis=1)).sum(axis=1)]
    ended = end <= WE
    spells = pd.DataFrame(
        {
            "child_id": [f"E{i:05d}" for i in range(n)],
            "state": "early_help",
            "placement_group": pd.Series([None] * n, dtype="string"),
            "start": start,
            "end": pd.Series(end).where(ended),
            "next_state": np.where(
                ~ended, None, np.where(destination == "closed", "none", "assessment")
            ),
            "next_group": pd.Series([None] * n, dtype="string"),
            "exit_reason": np.where(ended & (destination == "closed"), "closed", None),
            "dob": start - pd.to_timedelta(rng.uniform(1, 10, n) * 365.25, unit="D"),
            "care_period": pd.array([pd.NA] * n, dtype="Int64"),
        }
    )
    spells = spells[~ended | (spells["end"] > WS)].reset_index(drop=True)
    return SimpleNamespace(spells=spells, window_start=WS, window_end=WE, fingerprint="changed")


@pytest.mark.slow
def test_a_record_weighted_by_age_follows_a_change_the_whole_record_averages() -> None:
    history = _changed_history()
    assert compute_exposure(history.spells, WS, WE)["events"].sum() > 2000
    rate, months = {}, None
    for name, half_life in (("whole", None), ("weighted", 1.0)):
        settings = HazardSettings.from_mapping(
            {
                "priors": {"record_half_life_years": half_life},
                "sampler": {"draws": 1000, "tune": 700},
            }
        )
        model = HazardModel(settings).fit(history)  # raises unless the chains converged
        draws = model.draw(2000, np.random.default_rng(1)).rates.reshape(2000, 2, -1)
        if months is None:  # the record's own exposure, the same weights for both fits
            months = model.exposure_["exposure_months"].to_numpy().reshape(2, -1)
        # Each destination's rate over the record's children: cells weighted by exposure.
        pooled = (draws * months).sum(axis=2) / months.sum(axis=1)
        rate[name] = dict(zip([d for _, _, d in model.index_.pairs], pooled.T, strict=True))
    for destination, (_, now) in RATES.items():
        whole, weighted = np.log(rate["whole"][destination]), np.log(rate["weighted"][destination])
        # The whole record sits between the old and new rates; weighted by age, it is at
        # least a third of the way nearer the rate in force now.
        assert abs(weighted.mean() - np.log(now)) < 0.67 * abs(whole.mean() - np.log(now))
        # Fewer effective events: a wider posterior.
        assert weighted.std() > 1.1 * whole.std()
