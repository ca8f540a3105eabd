"""Tests of the transition hazards: exposure, censoring, caching, convergence and levers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from care_demand import vocab
from care_demand.calibration.hazard_exposure import (
    FULL_INDEX,
    HazardIndex,
    SpellDataError,
    classify_exits,
    compute_exposure,
    placement_counts,
)
from care_demand.calibration.hazard_levers import HazardLever, apply_levers, lever_factor
from care_demand.calibration.hazard_settings import HazardSettings
from care_demand.calibration.hazard_simulate import simulate_spells
from care_demand.calibration.hazards import (
    ConvergenceError,
    HazardConvergenceWarning,
    HazardModel,
    NotFittedError,
    _cache_paths,
    _load_cache,
)
from care_demand.errors import ConfigError

DPM = vocab.DAYS_PER_MONTH
DPY = vocab.DAYS_PER_YEAR
WS, WE = pd.Timestamp("2019-04-01"), pd.Timestamp("2021-03-31")
COLUMNS = (
    "child_id",
    "state",
    "placement_group",
    "start",
    "end",
    "next_state",
    "next_group",
    "exit_reason",
    "dob",
    "care_period",
)


def spells(*rows: dict) -> pd.DataFrame:
    """A spells table (docs/event_history.md) from partial rows."""
    base = {
        "child_id": "C1",
        "state": vocab.CIN,
        "placement_group": None,
        "end": pd.NaT,
        "next_state": None,
        "next_group": None,
        "exit_reason": None,
        "care_period": None,
    }
    frame = pd.DataFrame([{**base, "child_id": f"C{i}", **row} for i, row in enumerate(rows)])
    for col in ("start", "end", "dob"):
        frame[col] = pd.to_datetime(frame[col])
    for col in ("state", "placement_group", "next_state", "next_group", "exit_reason"):
        frame[col] = pd.Series(frame[col].to_numpy(dtype=object), dtype="str")
    frame["care_period"] = pd.array(frame["care_period"], dtype="Int64")
    return frame[list(COLUMNS)]


def cell(
    table: pd.DataFrame, state: str, destination: str, age: str, dur: str, group: str | None = None
) -> pd.Series:
    rows = table[
        (table["state"] == state)
        & (table["destination"] == destination)
        & (table["age_band"] == age)
        & (table["duration_band"] == dur)
    ]
    rows = rows[rows["group"].isna()] if group is None else rows[rows["group"] == group]
    assert len(rows) == 1
    return rows.iloc[0]


def months(a: pd.Timestamp, b: pd.Timestamp) -> float:
    return (b - a) / pd.Timedelta(days=DPM)


# ---------------------------------------------------------------- exposure (exact, fast)
def test_exposure_splits_at_an_age_band_edge():
    dob = pd.Timestamp("2015-01-01")
    fifth = dob + pd.Timedelta(days=5 * DPY)
    start, end = fifth - pd.Timedelta(days=20), fifth + pd.Timedelta(days=30)
    table = compute_exposure(
        spells(
            {"start": start, "end": end, "dob": dob, "next_state": "none", "exit_reason": "closed"}
        ),
        WS,
        WE,
    )
    before = cell(table, "cin", "closed", "1_4", "0_3m")
    after = cell(table, "cin", "closed", "5_9", "0_3m")
    assert before["exposure_months"] == pytest.approx(20 / DPM)
    assert after["exposure_months"] == pytest.approx(30 / DPM)
    assert (before["events"], after["events"]) == (0, 1)
    assert table["exposure_months"].sum() == pytest.approx(4 * 50 / DPM)  # 4 destinations
    assert table["events"].sum() == 1


def test_exposure_splits_at_duration_band_edges():
    start = pd.Timestamp("2019-06-01")
    end = start + pd.Timedelta(days=7.5 * DPM)
    table = compute_exposure(
        spells(
            {"state": "cp", "start": start, "end": end, "dob": "2012-01-01", "next_state": "cin"}
        ),
        WS,
        WE,
    )
    got = {
        k: cell(table, "cp", "cin", "5_9", k)["exposure_months"] for k in vocab.DURATION_BAND_NAMES
    }
    assert got == pytest.approx(
        {"0_3m": 3.0, "3_6m": 3.0, "6_12m": 1.5, "12_24m": 0.0, "24m_plus": 0.0}
    )
    assert cell(table, "cp", "cin", "5_9", "6_12m")["events"] == 1


def test_left_truncation_counts_only_time_inside_the_window():
    before = WS - pd.Timedelta(days=7 * DPM)
    table = compute_exposure(
        spells(
            {
                "start": before,
                "end": WS + pd.Timedelta(days=2 * DPM),
                "dob": "2010-01-01",
                "next_state": "cp",
            },
            {
                "start": before,
                "end": WS - pd.Timedelta(days=10),
                "dob": "2010-01-01",
                "next_state": "cp",
            },  # ended before the window: contributes nothing
        ),
        WS,
        WE,
    )
    hit = cell(table, "cin", "cp", "5_9", "6_12m")
    assert hit["exposure_months"] == pytest.approx(2.0)
    assert hit["events"] == 1
    assert table.loc[table["destination"] == "cp", "exposure_months"].sum() == pytest.approx(2)
    assert table["events"].sum() == 1


def test_open_spells_are_right_censored_at_the_window_end():
    start = WE - pd.Timedelta(days=2 * DPM)
    table = compute_exposure(
        spells({"state": "early_help", "start": start, "dob": "2014-06-01"}), WS, WE
    )
    assert cell(table, "early_help", "closed", "5_9", "0_3m")["exposure_months"] == pytest.approx(
        2.0
    )
    assert table["events"].sum() == 0


def test_the_18th_birthday_ends_exposure_without_an_event():
    dob = pd.Timestamp("2002-06-10")
    adult = dob + pd.Timedelta(days=18 * DPY)
    start = adult - pd.Timedelta(days=40)
    table = compute_exposure(
        spells(
            {
                "start": start,
                "end": adult.floor("D"),
                "dob": dob,
                "next_state": "none",
                "exit_reason": "closed",
            },
            {
                "state": "care",
                "placement_group": "ifa",
                "start": start,
                "end": adult.floor("D"),
                "dob": dob,
                "next_state": "care_leaver",
                "exit_reason": "age_18",
                "care_period": 1,
            },
        ),
        WS,
        WE,
    )
    assert table["events"].sum() == 0
    expected = months(start, adult.floor("D"))
    assert cell(table, "cin", "closed", "16_17", "0_3m")["exposure_months"] == pytest.approx(
        expected
    )
    assert cell(table, "care", "move", "16_17", "0_3m", "ifa")["exposure_months"] == pytest.approx(
        expected
    )


def test_exit_destinations_follow_next_state_and_exit_reason():
    common = {"start": "2020-01-01", "end": "2020-03-01", "dob": "2012-01-01"}
    table = spells(
        {**common, "state": "cin", "next_state": "none", "exit_reason": "closed"},
        {**common, "state": "assessment", "next_state": "care", "next_group": "ifa"},
        {
            **common,
            "state": "care",
            "placement_group": "ifa",
            "next_state": "care",
            "next_group": "kinship_foster",
            "care_period": 1,
        },
        {
            **common,
            "state": "care",
            "placement_group": "ifa",
            "next_state": "none",
            "exit_reason": "return_home",
            "care_period": 1,
        },
        {
            **common,
            "state": "care",
            "placement_group": "ifa",
            "next_state": "care_leaver",
            "exit_reason": "age_18",
            "care_period": 1,
        },
        {**common, "state": "care_leaver", "next_state": "none", "exit_reason": "aged_out"},
        # Not a move the model follows: early help closes, the CIN spell arrives from outside.
        {**common, "state": "early_help", "next_state": "cin"},
        {"start": "2020-01-01", "dob": "2012-01-01", "state": "cp"},  # open
    )
    assert list(classify_exits(table)) == [
        "closed",
        "care",
        "move",
        "return_home",
        "censored",
        "censored",
        "closed",
        "censored",
    ]


def test_exposure_totals_match_a_direct_computation():
    rng = np.random.default_rng(11)
    n = 400
    start_day = rng.integers(-900, 700, n).astype(float)  # days after the window start
    end_day = start_day + rng.integers(1, 900, n)
    dob_day = start_day - rng.integers(0, 17 * 365, n)
    window = (WE - WS).days
    is_open = end_day > window
    day = pd.Timedelta(days=1)
    table = spells(
        *[
            {
                "state": "cp",
                "start": WS + s * day,
                "dob": WS + d * day,
                "end": pd.NaT if o else WS + e * day,
                "next_state": None if o else "cin",
            }
            for s, e, d, o in zip(start_day, end_day, dob_day, is_open, strict=True)
        ]
    )
    adult = dob_day + 18 * DPY
    stop = np.minimum(np.minimum(end_day, window), adult)
    expected = np.clip(stop - np.maximum(start_day, 0), 0, None).sum() / DPM
    events = (~is_open & (end_day > 0) & (end_day < adult - 1)).sum()
    got = compute_exposure(table, WS, WE)
    cin_rows = got["destination"] == "cin"
    assert got.loc[cin_rows, "exposure_months"].sum() == pytest.approx(expected)
    assert got.loc[cin_rows, "events"].sum() == events
    assert 0 < events < n


def test_placement_counts_use_first_spells_inside_the_window():
    dob = "2015-01-01"
    table = spells(
        {
            "state": "care",
            "placement_group": "ifa",
            "start": "2019-05-01",
            "end": "2019-08-01",
            "dob": dob,
            "next_state": "care",
            "next_group": "kinship_foster",
            "care_period": 1,
        },
        {
            "state": "care",
            "placement_group": "kinship_foster",
            "start": "2019-08-01",
            "dob": dob,
            "care_period": 1,
        },
        {
            "state": "care",
            "placement_group": "ifa",
            "start": "2018-05-01",
            "end": "2019-05-01",
            "dob": "2003-01-01",
            "next_state": "none",
            "exit_reason": "sgo_cao",
            "care_period": 1,
        },
    )
    table.loc[1, "child_id"] = "C0"  # the second placement of the same period of care
    entry, move = placement_counts(table, WS, WE)
    assert entry.to_numpy().sum() == 1 and entry.loc["1_4", "ifa"] == 1
    # The move is counted by origin group and by the age band at the move (4 years 7 months).
    assert move.to_numpy().sum() == 1 and move.loc[("ifa", "1_4"), "kinship_foster"] == 1
    assert move.index.names == ["from_group", "age_band"]


def test_bad_spells_name_the_row_and_column():
    with pytest.raises(SpellDataError, match="lacks column"):
        compute_exposure(
            spells({"start": "2020-01-01", "dob": "2010-01-01"}).drop(columns="dob"), WS, WE
        )
    with pytest.raises(SpellDataError, match=r"row 1 .*column 'end'.*before it starts"):
        compute_exposure(
            spells(
                {"start": "2020-01-01", "dob": "2010-01-01"},
                {"start": "2020-01-01", "end": "2019-01-01", "dob": "2010-01-01"},
            ),
            WS,
            WE,
        )
    with pytest.raises(SpellDataError, match="placement_group"):
        compute_exposure(
            spells({"state": "care", "start": "2020-01-01", "dob": "2010-01-01"}), WS, WE
        )


# ---------------------------------------------------------------- levers and settings (fast)
def test_levers_multiply_the_chosen_cells_only():
    rates = np.ones(FULL_INDEX.shape)
    lever = HazardLever(
        state="cin",
        destination="care",
        multiplier=0.5,
        start="2022-06-01",
        age_bands=("10_15", "16_17"),
    )
    out = apply_levers(rates, FULL_INDEX, [lever], "2022-06-15")
    p = FULL_INDEX.position("cin", None, "care")
    assert np.all(out[p, 3:, :] == 0.5)
    changed = out != 1.0
    assert changed.sum() == 2 * len(vocab.DURATION_BANDS)
    assert np.array_equal(apply_levers(rates, FULL_INDEX, [lever], "2022-05-31"), rates)
    assert np.all(rates == 1.0)  # the input is not modified


def test_lever_ramp_is_linear_and_levers_multiply():
    lever = HazardLever(
        state="care",
        group="ifa",
        destination="move",
        multiplier=0.6,
        start="2023-01-10",
        ramp_months=4,
    )
    factors = [lever_factor(lever, f"2023-{m:02d}-15") for m in range(1, 7)]
    assert factors == pytest.approx([0.9, 0.8, 0.7, 0.6, 0.6, 0.6])
    all_groups = HazardLever(state="care", destination="move", multiplier=2.0, start="2020-01")
    draws = np.ones((3, *FULL_INDEX.shape))
    out = apply_levers(draws, FULL_INDEX, [lever, all_groups], "2023-02-01")
    ifa = FULL_INDEX.position("care", "ifa", "move")
    kin = FULL_INDEX.position("care", "kinship_foster", "move")
    assert np.allclose(out[:, ifa], 1.6) and np.allclose(out[:, kin], 2.0)


def test_levers_reject_unknown_transitions_and_bad_values():
    with pytest.raises(ConfigError, match="no modelled hazard"):
        apply_levers(
            np.ones(FULL_INDEX.shape),
            FULL_INDEX,
            [HazardLever(state="cin", destination="adoption", multiplier=0.5, start="2022-01-01")],
            "2022-02-01",
        )
    with pytest.raises(ConfigError, match="age band"):
        apply_levers(
            np.ones(FULL_INDEX.shape),
            FULL_INDEX,
            [
                HazardLever(
                    state="cin",
                    destination="care",
                    multiplier=0.5,
                    start="2022-01-01",
                    age_bands=("teen",),
                )
            ],
            "2022-02-01",
        )
    with pytest.raises(ConfigError, match="multiplier"):
        HazardLever(state="cin", destination="care", multiplier=-1.0, start="2022-01-01")


def test_settings_from_mapping_checks_names_and_ranges():
    settings = HazardSettings.from_mapping({"sampler": {"draws": 500}})
    assert settings.sampler.draws == 500 and settings.priors.alpha_sd == 2.0
    with pytest.raises(ConfigError, match="drawz"):
        HazardSettings.from_mapping({"sampler": {"drawz": 5}})
    with pytest.raises(ConfigError, match="target_accept"):
        HazardSettings.from_mapping({"sampler": {"target_accept": 1.2}})


def test_defaults_are_the_shipped_config():
    """A fit from Python with the default settings is the fit a run makes from the command
    line: every prior, sampler setting and check as configs/calibration/default.yaml has it
    (the progress bar, display only, aside)."""
    import dataclasses
    from pathlib import Path

    import yaml

    shipped_file = Path(__file__).resolve().parents[1] / "configs/calibration/default.yaml"
    shipped = HazardSettings.from_mapping(yaml.safe_load(shipped_file.read_text())["hazards"])
    shipped.sampler.progressbar = False
    assert dataclasses.asdict(HazardSettings()) == dataclasses.asdict(shipped)


def test_results_need_a_fit():
    model = HazardModel()
    with pytest.raises(NotFittedError, match="fit"):
        model.summary()
    with pytest.raises(NotFittedError):
        model.draw_hazards(3, np.random.default_rng(0))


# ---------------------------------------------------------------- MCMC (slow)
TRUE_RATE = {"assessment": 0.012, "closed": 0.02}  # per month, constant


def censored_history(seed: int = 2024) -> SimpleNamespace:
    """Early-help spells with constant hazards, heavily censored and left-truncated."""
    index = HazardIndex.for_strata([("early_help", None)])
    rates = np.empty(index.shape)
    for p, (_, _, dest) in enumerate(index.pairs):
        rates[p] = TRUE_RATE[dest]
    table = simulate_spells(
        rates,
        index,
        1500,
        WS,
        WE,
        np.random.default_rng(seed),
        lead_years=2.0,
        age_range=(1.0, 15.0),
    )
    return SimpleNamespace(
        spells=table, window_start=WS, window_end=WE, fingerprint=f"censored-{seed}"
    )


def quick_settings(**sampler: int) -> HazardSettings:
    """PyMC's own sampler with fewer draws: the fits these tests' tolerances were set on
    (nutpie, the shipped backend, fits the example for every test of a run: conftest.py)."""
    settings = HazardSettings()
    settings.sampler.backend = "pymc"
    settings.sampler.draws = sampler.get("draws", 1000)
    settings.sampler.tune = sampler.get("tune", 700)
    return settings


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    history = censored_history()
    cache = tmp_path_factory.mktemp("hazard-cache")
    model = HazardModel(quick_settings()).fit(history, cache_dir=cache)
    return SimpleNamespace(history=history, cache=cache, model=model)


@pytest.mark.slow
def test_censoring_is_handled_where_a_naive_estimate_fails(fitted):
    table = fitted.history.spells
    ended = table["end"].notna()
    seen = ~ended | (table["end"] > WS)  # spells observed inside the window
    assert (~ended[seen]).mean() > 0.5  # heavy right censoring
    assert table.loc[seen, "start"].lt(WS).mean() > 0.3  # left truncation
    model = fitted.model
    assert not model.from_cache_ and model.diagnostics_["converged"]

    draws = model.draw(2000, np.random.default_rng(5)).rates
    months_ = model.exposure_["exposure_months"].to_numpy().reshape(model.index_.shape)
    for p, (_, _, dest) in enumerate(model.index_.pairs):
        truth = TRUE_RATE[dest]
        pooled = (draws[:, p] * months_[p]).sum(axis=(1, 2)) / months_[p].sum()
        low, mid, high = np.quantile(pooled, [0.05, 0.5, 0.95])
        assert low <= truth <= high, dest
        # Poisson standard error of a rate from the expected number of events.
        se = truth / np.sqrt(truth * months_[p].sum())
        assert abs(mid - truth) <= 3 * se, dest

    # 1 / mean duration of the spells that closed inside the window ignores the open ones
    # (and the part before the window): it overstates the total hazard several-fold.
    closed = table[ended & (table["end"] >= WS)]
    naive = 1.0 / ((closed["end"] - closed["start"]).dt.days.mean() / DPM)
    total = sum(TRUE_RATE.values())
    se_naive = naive / np.sqrt(len(closed))
    assert naive > 1.5 * total and naive - total > 10 * se_naive


@pytest.mark.slow
def test_sparse_cells_get_wide_finite_intervals(fitted):
    table = fitted.model.summary(cred=0.9)
    assert np.isfinite(table[["mean", "median", "lower", "upper"]].to_numpy()).all()
    assert (table["lower"] > 0).all()
    width = np.log(table["upper"] / table["lower"])
    for dest in TRUE_RATE:
        rows = table["destination"] == dest
        unseen = rows & (table["age_band"] == "under_1")  # no child starts under 1
        assert (table.loc[unseen, "exposure"] == 0).all()
        busiest = table.loc[rows, "exposure"].idxmax()
        assert width[unseen].min() > width[busiest]


@pytest.mark.slow
def test_cache_is_reused_and_invalidated_by_new_data(fitted):
    again = HazardModel(quick_settings()).fit(fitted.history, cache_dir=fitted.cache)
    assert again.from_cache_
    assert again.fingerprint_ == fitted.model.fingerprint_
    pd.testing.assert_frame_equal(again.summary(), fitted.model.summary())
    # Read from the cache, the posterior is still there as InferenceData for ArviZ.
    assert type(again.posterior_).__name__ == "InferenceData"
    assert again.posterior_.posterior.equals(fitted.model.posterior_.posterior)
    rng = np.random.default_rng(1)
    assert np.array_equal(
        again.draw_hazards(4, rng), fitted.model.draw_hazards(4, np.random.default_rng(1))
    )

    new_files = SimpleNamespace(**vars(fitted.history))
    new_files.fingerprint = "other files"
    refit = HazardModel(quick_settings()).fit(new_files, cache_dir=fitted.cache)
    assert not refit.from_cache_

    observed = fitted.history.spells["end"].isna()
    new_spells = SimpleNamespace(**vars(fitted.history))
    new_spells.spells = fitted.history.spells.drop(index=observed.idxmax())  # an open spell
    refit = HazardModel(quick_settings()).fit(new_spells, cache_dir=fitted.cache)
    assert not refit.from_cache_
    assert len({fitted.model.fingerprint_, refit.fingerprint_}) == 2
    assert len(list(fitted.cache.glob("hazards_*.npz"))) == 3

    # An entry cut short (a disk filled, a copy interrupted) reads as no entry, so the fit
    # samples again rather than failing; the entry itself is left for that fit to replace.
    paths = _cache_paths(fitted.cache, fitted.model.fingerprint_)
    whole = paths[0].read_bytes()
    try:
        paths[0].write_bytes(whole[:1000])
        assert _load_cache(paths, fitted.model.fingerprint_) is None
    finally:
        paths[0].write_bytes(whole)
    assert _load_cache(paths, fitted.model.fingerprint_) is not None


@pytest.mark.slow
def test_a_bad_fit_raises_convergence_error_or_warns():
    history = censored_history(seed=7)
    with pytest.raises(ConvergenceError, match=r"sampler\.draws"):
        HazardModel(quick_settings(draws=15, tune=10)).fit(history)
    settings = quick_settings(draws=15, tune=10)
    settings.checks.on_failure = "warn"
    with pytest.warns(HazardConvergenceWarning, match="bulk ESS"):
        model = HazardModel(settings).fit(history)
    assert model.diagnostics_["converged"] is False


@pytest.mark.slow
def test_care_hazards_and_placement_shares():
    index = HazardIndex.for_strata([("care", g) for g in vocab.PLACEMENT_GROUPS])
    rates = np.full(index.shape, 0.01)
    for p, (_, group, dest) in enumerate(index.pairs):
        if dest == "adoption" and group != "placed_for_adoption":
            rates[p] = 0.0  # never happens: these pairs see no event
    n = {("care", g): (300 if g in vocab.FOSTER_GROUPS else 60) for g in vocab.PLACEMENT_GROUPS}
    table = simulate_spells(rates, index, n, WS, WE, np.random.default_rng(3))
    history = SimpleNamespace(spells=table, window_start=WS, window_end=WE, fingerprint="care")
    model = HazardModel(HazardSettings()).fit(history)  # the shipped sampler and draws
    assert model.diagnostics_["pairs_without_events"] >= 1
    draws = model.draw(50, np.random.default_rng(2))
    assert draws.rates.shape == (50, *model.index_.shape)
    assert np.isfinite(draws.rates).all() and (draws.rates > 0).all()
    assert np.allclose(draws.entry.sum(axis=-1), 1) and np.allclose(draws.move.sum(axis=-1), 1)
    # Dirichlet-multinomial: the posterior mean share is (prior + count) / (total).
    shares = model.placement_summary()
    entry = shares[shares["kind"] == "entry"]
    row = entry[entry["from"] == "10_15"]
    counts = row["count"].to_numpy()
    assert counts.sum() > 20
    observed = counts / counts.sum()
    assert np.abs(row["mean"].to_numpy() - observed).max() < 0.1
    never = model.summary()
    never = never[(never["destination"] == "adoption") & (never["group"] == "ifa")]
    assert never["events"].sum() == 0 and (never["upper"] < 0.01).all()


def moves_by_age(n_older: int, n_to_supported: int, n_younger: int) -> pd.DataFrame:
    """Moves out of IFA care inside the window: ``n_older`` at 16-17, ``n_to_supported`` of
    them to supported accommodation and the rest to in-house fostering, and ``n_younger`` at
    10-15, all to in-house fostering."""
    rows = []
    for i in range(n_older + n_younger):
        rows.append(
            {
                "state": "care",
                "placement_group": "ifa",
                "start": "2019-06-01",
                "end": "2020-01-15",
                "dob": "2003-03-01" if i < n_older else "2008-03-01",
                "next_state": "care",
                "next_group": "supported_16plus" if i < n_to_supported else "inhouse_foster",
                "care_period": 1,
            }
        )
    return spells(*rows)


def test_placement_counts_count_moves_by_age_at_the_move():
    _, move = placement_counts(moves_by_age(10, 6, 30), WS, WE)
    assert move.to_numpy().sum() == 40
    assert move.loc[("ifa", "16_17"), "supported_16plus"] == 6
    assert move.loc[("ifa", "16_17"), "inhouse_foster"] == 4
    assert move.loc[("ifa", "10_15"), "supported_16plus"] == 0
    assert move.loc[("ifa", "10_15"), "inhouse_foster"] == 30


@pytest.mark.slow
def test_move_destinations_follow_the_age_at_the_move():
    # 60% of the moves of 16-17-year-olds are to supported accommodation, none of the moves
    # of younger children: 7% of all moves, the share a model blind to age gives every age.
    history = SimpleNamespace(
        spells=moves_by_age(40, 24, 300), window_start=WS, window_end=WE, fingerprint="ages"
    )
    model = HazardModel(quick_settings()).fit(history)
    shares = model.placement_summary()
    moves = shares[(shares["kind"] == "move") & (shares["from"] == "ifa")]
    supported = moves[moves["to"] == "supported_16plus"].set_index("age_band")["mean"]
    # Dirichlet posterior mean: (prior + count) / (prior total + moves), prior 7.25 in all.
    assert supported["16_17"] == pytest.approx(0.6, abs=0.08)
    assert supported["10_15"] < 0.01
    draws = model.draw(200, np.random.default_rng(4))
    ifa = vocab.PLACEMENT_GROUPS.index(vocab.IFA)
    older = vocab.AGE_BAND_NAMES.index("16_17")
    to_supported = draws.move[:, ifa, older, vocab.PLACEMENT_GROUPS.index(vocab.SUPPORTED_16PLUS)]
    assert np.allclose(draws.move.sum(axis=-1), 1.0)
    assert 0.45 < to_supported.mean() < 0.75


def test_entry_preference_lever_reweights_and_renormalises() -> None:
    from care_demand.calibration.hazard_levers import EntryPreferenceLever, apply_entry_levers

    groups = ("kinship_foster", "inhouse_foster", "ifa")
    bands = ("under_1", "16_17")
    entry = np.array([[0.2, 0.5, 0.3], [0.1, 0.3, 0.6]])
    lever = EntryPreferenceLever(
        group="kinship_foster",
        multiplier=2.0,
        start="2023-01-01",
        age_bands=("under_1",),
        ramp_months=2,
    )
    before = apply_entry_levers(entry, groups, bands, [lever], "2022-12-15")
    assert np.allclose(before, entry)
    half = apply_entry_levers(entry, groups, bands, [lever], "2023-01-10")  # factor 1.5
    assert np.allclose(half[0], np.array([0.3, 0.5, 0.3]) / 1.1)
    full = apply_entry_levers(entry, groups, bands, [lever], "2023-06-01")
    assert np.allclose(full[0], np.array([0.4, 0.5, 0.3]) / 1.2)
    assert np.allclose(full[1], entry[1])  # other age bands untouched
    assert np.allclose(full.sum(axis=-1), 1.0)
    with pytest.raises(ConfigError, match="unknown placement group"):
        apply_entry_levers(
            entry, groups, bands, [EntryPreferenceLever("nowhere", 2, "2023")], "2023-06-01"
        )


def _fit_in_worker(
    cache: str | None, draws: int, on_failure: str = "warn"
) -> tuple[bool, pd.DataFrame, int]:
    from care_demand.calibration.hazard_posterior import chain_cores

    settings = quick_settings(draws=draws)
    settings.checks.on_failure = on_failure
    model = HazardModel(settings).fit(censored_history(), cache_dir=cache)
    return model.from_cache_, model.summary(), chain_cores(2)


@pytest.mark.slow
def test_a_worker_process_samples_the_same_posterior_as_the_main_process(fitted):
    # The joblib launcher runs scenarios in loky workers, whose own start method cannot
    # start PyMC's chain processes; there the chains run in turn, with the same draws.
    from joblib import Parallel, delayed

    # n_jobs=2: with one job joblib would run the task in this process.
    ((from_cache, summary, cores),) = Parallel(n_jobs=2, backend="loky")(
        [delayed(_fit_in_worker)(None, 1000, "raise")]
    )
    assert cores == 1  # it ran in a worker, where the chains run in turn
    assert not from_cache
    pd.testing.assert_frame_equal(summary, fitted.model.summary())


@pytest.mark.slow
def test_runs_started_together_sample_a_cache_entry_once(tmp_path):
    from joblib import Parallel, delayed

    results = Parallel(n_jobs=2, backend="loky")(
        delayed(_fit_in_worker)(str(tmp_path), 300) for _ in range(2)
    )
    assert sorted(from_cache for from_cache, _, _ in results) == [False, True]
    pd.testing.assert_frame_equal(results[0][1], results[1][1])
    assert len(list(tmp_path.glob("hazards_*.npz"))) == 1


def test_chains_fall_back_to_one_process_when_parallel_chains_cannot_start(caplog):
    from care_demand.calibration.hazard_posterior import _sample_chains, chain_cores

    calls = []

    class Sampler:
        def sample(self, cores: int, **kwargs):
            calls.append(cores)
            if cores > 1:
                raise TypeError("cannot pickle 'mmap.mmap' object")
            return "draws"

    with caplog.at_level("WARNING", logger="care_demand"):
        assert _sample_chains(Sampler(), {"draws": 10}, 2) == "draws"
    assert calls == [2, 1]
    assert "one after another" in caplog.text
    assert chain_cores(2) == 2  # the test runs in a main process
    assert chain_cores(1) == 1


def pooled_care_history(sparse: int, seed: int = 11) -> SimpleNamespace:
    """Care spells whose hazards share one age and duration pattern across placement groups,
    at levels that differ by group; the in-house homes have only ``sparse`` spells."""
    index = HazardIndex.for_strata([("care", g) for g in vocab.PLACEMENT_GROUPS])
    age = np.linspace(0.6, -0.6, len(index.age_bands))
    duration = np.linspace(0.4, -0.4, len(index.duration_bands))
    pattern = np.exp(age[:, None] + duration[None, :])
    level = {"move": 0.03, "return_home": 0.008, "sgo_cao": 0.004, "care_exit_other": 0.004}
    factor = dict(zip(vocab.PLACEMENT_GROUPS, np.linspace(0.6, 1.6, 9), strict=True))
    rates = np.zeros(index.shape)
    for p, (_, group, dest) in enumerate(index.pairs):
        if dest == "adoption":
            rates[p] = 0.05 * pattern if group == "placed_for_adoption" else 0.0
        else:
            rates[p] = level[dest] * factor[group] * pattern
    n = {("care", g): 400 for g in vocab.PLACEMENT_GROUPS}
    n[("care", "inhouse_residential")] = sparse
    table = simulate_spells(rates, index, n, WS, WE, np.random.default_rng(seed), lead_years=2.0)
    history = SimpleNamespace(spells=table, window_start=WS, window_end=WE, fingerprint="pool")
    return SimpleNamespace(history=history, rates=rates, index=index)


def care_cells(model: HazardModel, case: SimpleNamespace, group: str) -> pd.DataFrame:
    """The fitted cells of ``group`` with exposure and a true rate above zero: posterior
    median, true rate and exposure."""
    table = model.summary()
    table = table[table["group"] == group]
    cells = table.merge(
        model.exposure_[model.exposure_["group"] == group],
        on=["destination", "age_band", "duration_band"],
    )
    cells["truth"] = [
        case.rates[case.index.position("care", group, d)][
            case.index.age_bands.index(a), case.index.duration_bands.index(k)
        ]
        for d, a, k in zip(
            cells["destination"], cells["age_band"], cells["duration_band"], strict=True
        )
    ]
    return cells[(cells["exposure_months"] > 0) & (cells["truth"] > 0)]


def log_error(model: HazardModel, case: SimpleNamespace, group: str) -> float:
    """Mean |log(posterior median / true rate)| over the cells of ``group``, weighted by
    their true expected events."""
    cells = care_cells(model, case, group)
    error = np.abs(np.log(cells["median"] / cells["truth"]))
    return float(np.average(error, weights=cells["exposure_months"] * cells["truth"]))


def level(model: HazardModel, case: SimpleNamespace, group: str, destination: str) -> float:
    """A pair's fitted rate over its exposure, as a share of the true one."""
    cells = care_cells(model, case, group)
    cells = cells[cells["destination"] == destination]
    months = cells["exposure_months"]
    return float((cells["median"] * months).sum() / (cells["truth"] * months).sum())


@pytest.mark.slow
def test_a_sparse_placement_group_borrows_the_pattern_of_the_others():
    case = pooled_care_history(sparse=30)
    fits = {}
    for pool in (False, True):
        settings = quick_settings()
        settings.priors.pool_groups = pool
        fits[pool] = HazardModel(settings).fit(case.history)
        assert fits[pool].diagnostics_["divergences"] == 0
    error = {
        pool: {g: log_error(fits[pool], case, g) for g in vocab.PLACEMENT_GROUPS} for pool in fits
    }
    # On its own, a group of 30 children (13 events) errs by a factor of about 1.9 in its
    # cells; borrowing the pattern the other groups show brings it to about 1.2.
    assert error[True]["inhouse_residential"] < 0.5 * error[False]["inhouse_residential"]
    # The groups with a few hundred children lose nothing by pooling.
    for group in vocab.PLACEMENT_GROUPS:
        assert error[True][group] <= 1.05 * error[False][group] + 0.01, group
    # Levels are not pulled together: placement moves from secure and other placements are
    # 2.7 times as frequent as from kinship care, and the pooled fit keeps that ratio.
    ratio = level(fits[True], case, "secure_other", "move") / level(
        fits[True], case, "kinship_foster", "move"
    )
    assert 0.8 < ratio < 1.2, ratio


def test_exact_parts_draw_the_conjugate_posteriors() -> None:
    # Pairs with no event and the placement shares are drawn exactly with numpy: the draws'
    # means and variances match the Gamma and Dirichlet formulas within Monte Carlo error.
    from scipy.special import digamma, polygamma

    from care_demand.calibration.hazard_posterior import _dirichlet, _unobserved_alpha

    n = 40_000
    conc = np.array([[0.25, 2.0, 7.0], [30.0, 0.3, 0.3]])
    draws = _dirichlet(conc, n, np.random.default_rng(5))
    assert draws.shape == (n, 2, 3)
    assert np.allclose(draws.sum(axis=-1), 1.0)
    total = conc.sum(axis=-1, keepdims=True)
    mean = conc / total
    var = mean * (1 - mean) / (total + 1)
    assert np.all(np.abs(draws.mean(axis=0) - mean) < 4 * np.sqrt(var / n))
    assert np.allclose(draws.var(axis=0), var, rtol=0.05)
    settings = quick_settings()
    months = np.full((2, 3, 4), 10.0)  # 120 months each, no event
    crude = np.log([0.01, 0.2])
    log_rate = _unobserved_alpha(months, crude, n, settings)
    shape = settings.priors.unobserved_shape
    rate = shape / np.exp(crude) + 120.0
    # log of a Gamma(shape, rate) variable: mean digamma(shape) - log(rate), var trigamma(shape)
    sd = np.sqrt(polygamma(1, shape) / n)
    assert np.all(np.abs(log_rate.mean(axis=0) - (digamma(shape) - np.log(rate))) < 4 * sd)
    again = _unobserved_alpha(months, crude, n, settings)
    assert np.array_equal(log_rate, again)


def test_entry_shares_are_centred_on_the_placements_started_at_the_same_age() -> None:
    # A small council: 30 entries at 16-17, two in three to supported accommodation, among
    # 200 younger entries to fostering. Each age band's prior is centred on the placements
    # started at that age (entries and moves), so the 16-17s keep their supported share and
    # the younger bands get no more than the floor of it.
    from care_demand.calibration.hazard_posterior import _dirichlet_prior, _entry_prior

    settings = HazardSettings()
    groups = list(vocab.PLACEMENT_GROUPS)
    bands = ["under_1", "1_4", "5_9", "10_15", "16_17"]
    entry = pd.DataFrame(0, index=pd.Index(bands, name="age_band"), columns=groups)
    entry.loc[bands[:4], vocab.IFA] = 50
    entry.loc["16_17", vocab.SUPPORTED_16PLUS] = 20
    entry.loc["16_17", vocab.IFA] = 10
    index = pd.MultiIndex.from_product([groups, bands], names=["from_group", "age_band"])
    move = pd.DataFrame(0, index=index, columns=groups)
    move.loc[(vocab.IFA, "16_17"), vocab.SUPPORTED_16PLUS] = 10
    conc = _entry_prior(entry, move, settings)
    supported = groups.index(vocab.SUPPORTED_16PLUS)
    posterior = (conc + entry.to_numpy()) / (conc + entry.to_numpy()).sum(axis=1, keepdims=True)
    raw = 20 / 30
    assert posterior[4, supported] == pytest.approx(raw, rel=0.05)
    # Centred on the entries of every age (10% supported), it would fall by over a tenth.
    pooled = _dirichlet_prior(entry.to_numpy(), settings)[4]
    all_ages = (pooled + entry.to_numpy()[4]) / (pooled + entry.to_numpy()[4]).sum()
    assert all_ages[supported] < 0.9 * raw
    floor_only = settings.priors.placement_floor + settings.priors.placement_strength * 0.5 / (
        50 + 0.5 * len(groups)
    )
    assert np.allclose(conc[:4, supported], floor_only)
