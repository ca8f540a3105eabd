"""Tests of the monthly arrival trend models (care_demand.calibration.arrivals)."""

from __future__ import annotations

import dataclasses
import io
import logging
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from care_demand.calibration.arrivals import (
    ArrivalLever,
    ArrivalModel,
    ArrivalSettings,
    apply_levers,
    lever_multipliers,
    monthly_arrivals,
)
from care_demand.outputs.arrival_chart import arrival_components_figure

# Synthetic truth: multiplicative month-of-year effects of the school year (September rise,
# August dip, December dip) and the lockdowns' effect per month.
SEASON = {
    1: 1.05, 2: 1.02, 3: 1.05, 4: 0.95, 5: 1.05, 6: 1.05,
    7: 1.00, 8: 0.75, 9: 1.20, 10: 1.08, 11: 1.05, 12: 0.85,
}  # fmt: skip
LOCKDOWN = {
    "2020-03": 0.90, "2020-04": 0.65, "2020-05": 0.65, "2020-06": 0.70,
    "2021-01": 0.80, "2021-02": 0.80, "2021-03": 0.95,
}  # fmt: skip
ORIGIN = pd.Timestamp("2015-04-01")


def expected_counts(
    months: pd.DatetimeIndex, level: float, growth: float, lockdown: bool = True
) -> np.ndarray:
    """Poisson means: level x (1 + growth) per year x season (x lockdown)."""
    years = np.asarray((months - ORIGIN).days, dtype=float) / 365.25
    mean = level * (1.0 + growth) ** years * np.array([SEASON[m.month] for m in months])
    if lockdown:
        mean = mean * np.array([LOCKDOWN.get(f"{m:%Y-%m}", 1.0) for m in months])
    return mean


def synthetic_monthly(seed: int, end: str = "2022-03-01") -> pd.DataFrame:
    """Referrals (about 250 a month, growing 3% a year) and care entries (about 14)."""
    months = pd.date_range(ORIGIN, end, freq="MS")
    rng = np.random.default_rng(seed)
    frames = [
        pd.DataFrame(
            {
                "month": months,
                "kind": kind,
                "count": rng.poisson(expected_counts(months, level, growth)),
            }
        )
        for kind, level, growth in (("referral", 250.0, 0.03), ("care_entry", 14.0, 0.0))
    ]
    return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def full_model() -> ArrivalModel:
    return ArrivalModel().fit(synthetic_monthly(2022))


@pytest.fixture(scope="module")
def holdout() -> tuple[ArrivalModel, pd.DataFrame]:
    data = synthetic_monthly(2022)
    model = ArrivalModel().fit(data[data["month"] <= "2021-03-01"])
    return model, data[data["month"] >= "2021-04-01"]


# ------------------------------------------------------------------ monthly counts


def test_monthly_arrivals_counts_exactly_and_zero_fills() -> None:
    arrivals = pd.DataFrame(
        {
            "date": pd.to_datetime(
                [
                    "2019-03-31",  # before the window
                    "2019-04-01",
                    "2019-04-30",
                    "2019-06-15",
                    "2019-06-15",
                    "2019-05-02",
                    "2019-08-01",  # after the window
                ]
            ),
            "kind": [
                "referral",
                "referral",
                "referral",
                "referral",
                "care_entry",
                "care_entry",
                "referral",
            ],
        }
    )
    out = monthly_arrivals(arrivals, "2019-04-01", "2019-07-31")
    months = pd.to_datetime(["2019-04-01", "2019-05-01", "2019-06-01", "2019-07-01"])
    expected = pd.DataFrame(
        {
            "month": list(months) * 2,
            "kind": ["referral"] * 4 + ["care_entry"] * 4,
            "count": [2, 0, 1, 0, 0, 1, 1, 0],
        }
    )
    assert out["kind"].tolist() == expected["kind"].tolist()
    assert out["month"].tolist() == expected["month"].tolist()
    assert out["count"].tolist() == expected["count"].tolist()
    assert out["count"].dtype == np.int64


def test_monthly_arrivals_keeps_complete_months_only() -> None:
    arrivals = pd.DataFrame(
        {"date": pd.to_datetime(["2019-04-20", "2019-05-03", "2019-07-25"]), "kind": "referral"}
    )
    out = monthly_arrivals(arrivals, "2019-04-15", "2019-07-30")
    assert out["month"].tolist() == list(pd.to_datetime(["2019-05-01", "2019-06-01"]))
    assert out["count"].tolist() == [1, 0]
    forced = monthly_arrivals(arrivals, "2019-04-15", "2019-07-30", kinds=["care_entry"])
    assert forced["kind"].tolist() == ["care_entry", "care_entry"]
    assert forced["count"].tolist() == [0, 0]


def test_monthly_arrivals_names_a_blank_date() -> None:
    arrivals = pd.DataFrame(
        {"date": pd.to_datetime(["2019-04-20", None]), "kind": ["referral", "referral"]}
    )
    with pytest.raises(ValueError, match=r"row 1, column 'date'"):
        monthly_arrivals(arrivals, "2019-04-01", "2020-03-31")


# ------------------------------------------------------------------ fitting errors


def test_fit_rejects_short_gappy_or_unknown_input() -> None:
    data = synthetic_monthly(1)
    with pytest.raises(ValueError, match="at least 24"):
        ArrivalModel().fit(data[data["month"] < "2016-09-01"])
    gappy = data.drop(index=data.index[(data["kind"] == "referral")][5])
    with pytest.raises(ValueError, match="kind 'referral'"):
        ArrivalModel().fit(gappy)
    with pytest.raises(ValueError, match=r"\['early_help_request'\]"):
        ArrivalModel(ArrivalSettings(kinds=["early_help_request"])).fit(data)
    with pytest.raises(ValueError, match="transform"):
        ArrivalSettings(transform="log")
    with pytest.raises(RuntimeError, match="not fitted"):
        ArrivalModel().forecast(None, 12)


def test_fit_counts_an_event_history() -> None:
    monthly = synthetic_monthly(3)
    rows = monthly.loc[monthly.index.repeat(monthly["count"])]
    history = SimpleNamespace(
        arrivals=pd.DataFrame(
            {"date": rows["month"] + pd.Timedelta(days=14), "kind": rows["kind"].to_numpy()}
        ),
        window_start=pd.Timestamp("2015-04-01"),
        window_end=pd.Timestamp("2022-03-31"),
    )
    model = ArrivalModel(ArrivalSettings(kinds=["care_entry"])).fit(history)
    assert model.kinds_ == ["care_entry"]
    expected = monthly[monthly["kind"] == "care_entry"]["count"].to_numpy()
    np.testing.assert_array_equal(model.history_["count"].to_numpy(), expected)


# ------------------------------------------------------------------ fitted structure


def test_seasonality_has_september_above_august(full_model: ArrivalModel) -> None:
    effects = full_model.seasonal_effects()
    referral = effects[effects["kind"] == "referral"].set_index("calendar_month")["effect"]
    # True effects at a level of about 290: September +58, August -73 arrivals a month.
    assert referral[9] > 25.0
    assert referral[8] < -35.0


def test_lockdown_effect_is_fitted_as_a_dip(full_model: ArrivalModel) -> None:
    comp = full_model.components()
    may = comp[(comp["kind"] == "referral") & (comp["month"] == "2020-05-01")]
    # True effect log(0.65) = -0.43; the estimate's standard error is about 0.05.
    assert np.log(0.5) < may["lockdown"].iloc[0] < np.log(0.8)
    before = comp[(comp["kind"] == "referral") & (comp["month"] == "2019-05-01")]
    assert before["lockdown"].iloc[0] == 0.0


def test_a_lockdown_barely_in_the_history_is_not_fitted() -> None:
    # Data to March 2020 hold only nine days of the first lockdown: one month's noise
    # cannot identify its effect, so it is left out; with the third lockdown's two months
    # (to March 2021) both are fitted.
    data = synthetic_monthly(7, end="2021-03-01")
    short = ArrivalModel().fit(data[data["month"] <= "2020-03-01"])
    assert short.regressors_ == ()
    full = ArrivalModel().fit(data)
    assert full.regressors_ == ("lockdown_first", "lockdown_third")
    paths = short.sample_paths(pd.Timestamp("2020-04-01"), 12, 200, seed=1)
    referrals = paths.sel(kind="referral").to_numpy()
    # No effect of any size set by one month: next year's referrals stay near their level.
    assert np.quantile(referrals.sum(axis=1), 0.95) < 2 * 12 * 300


def test_lockdowns_do_not_drag_the_trend(holdout: tuple[ArrivalModel, pd.DataFrame]) -> None:
    model, _ = holdout
    forecast = model.forecast(None, 12)
    months = pd.date_range("2021-04-01", periods=12, freq="MS")
    truth = expected_counts(months, 250.0, 0.03, lockdown=False).sum()
    ratio = forecast.loc[forecast["kind"] == "referral", "mean"].sum() / truth
    # Across 20 synthetic replicates this ratio had sd 0.027 (mean 1.00); fitting without the
    # lockdown regressors puts it at 0.84. The tolerance is three standard deviations.
    assert abs(ratio - 1.0) < 0.08


def test_holdout_year_falls_inside_the_80pc_interval(
    holdout: tuple[ArrivalModel, pd.DataFrame],
) -> None:
    model, later = holdout
    forecast = model.forecast(None, 12, interval=0.8)
    assert forecast["month"].min() == pd.Timestamp("2021-04-01")
    referral = forecast[forecast["kind"] == "referral"].reset_index(drop=True)
    observed = later[later["kind"] == "referral"]["count"].to_numpy()
    inside = (observed >= referral["lower"]) & (observed <= referral["upper"])
    assert inside.sum() >= 8


# ------------------------------------------------------------------ sample paths


def test_sample_paths_are_reproducible_non_negative_and_leave_global_state(
    full_model: ArrivalModel,
) -> None:
    state = np.random.get_state()
    first = full_model.sample_paths(None, 24, 300, seed=7)
    again = full_model.sample_paths(None, 24, 300, seed=7)
    other = full_model.sample_paths(None, 24, 300, seed=8)
    full_model.forecast(None, 24)
    after = np.random.get_state()
    assert state[0] == after[0]
    np.testing.assert_array_equal(state[1], after[1])
    assert state[2:] == after[2:]
    assert first.dims == ("path", "month", "kind")
    assert first.shape == (300, 24, 2)
    assert list(first["kind"].values) == ["referral", "care_entry"]
    assert pd.Timestamp(first["month"].values[0]) == pd.Timestamp("2022-04-01")
    np.testing.assert_array_equal(first.values, again.values)
    assert not np.allclose(first.values, other.values)
    assert float(first.min()) >= 0.0


def test_fit_leaves_global_state_and_logger_levels() -> None:
    data = synthetic_monthly(5)
    ArrivalModel(ArrivalSettings(kinds=["care_entry"])).fit(data)  # cmdstanpy sets up logger
    levels = {name: logging.getLogger(name).level for name in ("prophet", "cmdstanpy")}
    state = np.random.get_state()
    ArrivalModel(ArrivalSettings(kinds=["care_entry"])).fit(data)
    after = np.random.get_state()
    np.testing.assert_array_equal(state[1], after[1])
    assert state[2] == after[2]
    assert {name: logging.getLogger(name).level for name in levels} == levels


def test_fit_is_quiet(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        ArrivalModel(ArrivalSettings(kinds=["care_entry"])).fit(synthetic_monthly(6))
    noisy = [r for r in caplog.records if r.name.split(".")[0] in ("prophet", "cmdstanpy")]
    assert noisy == []


def test_a_fit_on_the_least_history_is_quiet_too(caplog: pytest.LogCaptureFixture) -> None:
    # 24 monthly points (the least the model fits on) span 700 days: Prophet cautions about
    # yearly seasonality on less than 730, a choice the arrival model makes itself.
    data = synthetic_monthly(6, end="2017-03-01")
    assert data["month"].nunique() == ArrivalSettings().min_months
    with caplog.at_level(logging.INFO):
        ArrivalModel(ArrivalSettings(kinds=["care_entry"])).fit(data)
    assert [r for r in caplog.records if r.name.split(".")[0] == "prophet"] == []
    assert not logging.getLogger("prophet").filters


def test_path_spread_matches_the_forecast_interval(full_model: ArrivalModel) -> None:
    forecast = full_model.forecast(None, 24, interval=0.8)
    paths = full_model.sample_paths(None, 24, 4000, seed=99)
    for kind in ("referral", "care_entry"):
        band = forecast[forecast["kind"] == kind]
        values = paths.sel(kind=kind).values
        inside = (values >= band["lower"].to_numpy()) & (values <= band["upper"].to_numpy())
        # Per month the share inside has Monte Carlo sd sqrt(.16/4000) = 0.006 from the
        # paths plus about 0.013 from the 1000-path quantiles; months are positively
        # correlated, so the 24-month mean is allowed 0.04 (three such sd).
        assert abs(inside.mean() - 0.8) < 0.04


def test_spread_grows_with_horizon_and_noise(full_model: ArrivalModel) -> None:
    smooth = full_model.sample_paths(None, 60, 2000, seed=3, include_noise=False)
    noisy = full_model.sample_paths(None, 60, 2000, seed=3)
    smooth_sd = np.log(smooth.sel(kind="referral")).std("path").values
    noisy_sd = np.log(noisy.sel(kind="referral")).std("path").values
    # Trend and coefficient uncertainty: about 0.029 in the first year and 0.042 in the
    # fifth (sd of log arrivals); with 2000 paths each sd has a relative error of 1.6%.
    assert smooth_sd[48:].mean() > 1.3 * smooth_sd[:12].mean()
    assert bool((noisy_sd > smooth_sd).all())


def test_trend_damping_levels_off_the_extrapolation() -> None:
    data = synthetic_monthly(2022)
    data = data[data["kind"] == "referral"]
    linear = ArrivalModel().fit(data)
    damped = ArrivalModel(ArrivalSettings(trend_damping=0.9)).fit(data)

    def growth_in_fifth_year(model: ArrivalModel) -> float:
        paths = model.sample_paths(None, 60, 1000, seed=2, include_noise=False)
        log_median = np.log(np.median(paths.sel(kind="referral").values, axis=0))
        return float(log_median[48:].mean() - log_median[36:48].mean())

    # Linear extrapolation keeps the final fitted slope of the history (log scale per year;
    # log1p ~ log at 300 a month); with a monthly damping of 0.9 the slope is down to
    # 0.9^36 = 2% of it by the fourth year.
    trend = linear.components()["trend"].to_numpy()
    final_slope = trend[-1] - trend[-13]
    assert final_slope > 0.01
    assert abs(growth_in_fifth_year(linear) - final_slope) < 0.1 * final_slope
    assert abs(growth_in_fifth_year(damped)) < 0.1 * final_slope
    with pytest.raises(ValueError, match="trend_damping"):
        ArrivalSettings(trend_damping=1.5)


def test_the_recent_level_starts_the_forecast_where_a_late_break_left_the_series() -> None:
    # 250 referrals a month until six months before the end, then 200: the penalised trend
    # follows a break that late only in part.
    months = pd.date_range(ORIGIN, "2022-03-01", freq="MS")
    level = np.where(months >= "2021-10-01", 200.0, 250.0)
    data = pd.DataFrame(
        {
            "month": months,
            "kind": "referral",
            "count": np.random.default_rng(8).poisson(level),
        }
    )

    def first_year(settings: ArrivalSettings) -> float:
        model = ArrivalModel(settings).fit(data)
        paths = model.sample_paths(None, 12, 1000, seed=3, include_noise=False)
        return float(np.median(paths.values[..., 0].mean(axis=1)))

    trend_only = first_year(ArrivalSettings(trend_damping=0.5))
    recent = first_year(ArrivalSettings(trend_damping=0.5, recent_level_months=6))
    # Poisson noise on the six months' mean is about sqrt(200 / 6) = 6 a month.
    assert abs(recent - 200.0) < 15.0
    assert abs(recent - 200.0) < abs(trend_only - 200.0)
    with pytest.raises(ValueError, match="recent_level_months"):
        ArrivalSettings(recent_level_months=-1)


def test_the_level_is_an_average_of_the_trend_models_and_the_recent_rate() -> None:
    # 250 referrals a month, then 200 for the last six months: the recent rate over a year
    # is 225 a month, whatever the trend model makes of the break.
    months = pd.date_range(ORIGIN, "2022-03-01", freq="MS")
    level = np.where(months >= "2021-10-01", 200.0, 250.0)
    counts = np.random.default_rng(8).poisson(level)
    data = pd.DataFrame({"month": months, "kind": "referral", "count": counts})
    rate = counts[-12:].mean()

    def paths(weight: float) -> np.ndarray:
        settings = ArrivalSettings(
            trend_damping=0.5, recent_level_months=6, level_drift_sd=0.2, recent_rate_weight=weight
        )
        model = ArrivalModel(settings).fit(data)
        return model.sample_paths(None, 24, 1000, seed=3, include_noise=False).values[..., 0]

    alone, half, rate_only = paths(0.0), paths(0.5), paths(1.0)
    # The paths' mean over the first year: half of each forecast; or the rate alone.
    assert half[:, :12].mean() == pytest.approx(0.5 * alone[:, :12].mean() + 0.5 * rate)
    assert rate_only[:, :12].mean() == pytest.approx(rate)
    # One factor for every path and month: the seasonal shape, the second year's trend and
    # the spread of the paths are the trend model's.
    ratio = half / alone
    assert ratio.max() == pytest.approx(ratio.min(), rel=1e-9)
    for weight, field in ((-0.1, "recent_rate_weight"), (1.5, "recent_rate_weight")):
        with pytest.raises(ValueError, match=field):
            ArrivalSettings(recent_rate_weight=weight)
    with pytest.raises(ValueError, match="recent_rate_months"):
        ArrivalSettings(recent_rate_months=0)


def test_level_drift_is_a_random_walk_that_leaves_the_rest_of_each_path_alone() -> None:
    data = synthetic_monthly(2022)
    data = data[data["kind"] == "referral"]
    model = ArrivalModel().fit(data)
    steady = model.sample_paths(None, 24, 4000, seed=5, include_noise=False)
    model.settings = dataclasses.replace(model.settings, level_drift_sd=0.1)
    drifting = model.sample_paths(None, 24, 4000, seed=5, include_noise=False)
    # The drift is drawn after every other part of a path, so with the same seed the two
    # differ by the walk alone: on log1p scale its value after k months is Normal(0, 0.1^2 k/12).
    walk = np.log1p(drifting.values[..., 0]) - np.log1p(steady.values[..., 0])
    for k in (1, 12, 24):
        sd = 0.1 * np.sqrt(k / 12)
        observed = walk[:, k - 1]
        # Mean within 4 standard errors; the sample sd within 4 of its standard errors
        # (sd / sqrt(2n) for a normal sample).
        assert abs(observed.mean()) < 4 * sd / np.sqrt(4000)
        assert abs(observed.std() - sd) < 4 * sd / np.sqrt(2 * 4000)
    # Steps are independent: the walk's increments from month 12 to 24 do not correlate with
    # its value at month 12.
    assert abs(np.corrcoef(walk[:, 11], walk[:, 23] - walk[:, 11])[0, 1]) < 4 / np.sqrt(4000)
    with pytest.raises(ValueError, match="level_drift_sd"):
        ArrivalSettings(level_drift_sd=-0.1)


@pytest.mark.parametrize("transform", ["log1p", "sqrt", "identity"])
def test_low_counts_never_go_negative(transform: str) -> None:
    data = synthetic_monthly(11)
    data = data[data["kind"] == "care_entry"].assign(count=lambda d: d["count"] // 6)
    model = ArrivalModel(ArrivalSettings(transform=transform)).fit(data)
    paths = model.sample_paths(None, 36, 500, seed=1)
    assert float(paths.min()) >= 0.0
    assert float(model.forecast(None, 36)["lower"].min()) >= 0.0


def test_a_kind_with_no_arrivals_forecasts_zero() -> None:
    data = synthetic_monthly(12)
    data = pd.concat(
        [
            data[data["kind"] == "referral"],
            data[data["kind"] == "referral"].assign(kind="early_help_request", count=0),
        ],
        ignore_index=True,
    )
    model = ArrivalModel().fit(data)
    paths = model.sample_paths(None, 12, 50, seed=1)
    assert float(paths.sel(kind="early_help_request").max()) == 0.0
    assert float(paths.sel(kind="referral").min()) > 0.0


# ------------------------------------------------------------------ levers


def test_lever_multipliers_ramp_and_combine() -> None:
    months = pd.date_range("2022-12-01", periods=6, freq="MS")
    levers = [
        ArrivalLever("referral", 0.8, "2023-01-15", ramp_months=4),
        ArrivalLever("referral", 0.5, "2023-05-01"),
        ArrivalLever("care_entry", 1.1, "2023-02-01"),
    ]
    out = lever_multipliers(levers, months, ["referral", "care_entry"])
    np.testing.assert_allclose(out[:, 0], [1.0, 0.95, 0.9, 0.85, 0.8, 0.4])
    np.testing.assert_allclose(out[:, 1], [1.0, 1.0, 1.1, 1.1, 1.1, 1.1])
    with pytest.raises(ValueError, match="not modelled"):
        lever_multipliers([ArrivalLever("early_help_request", 0.9, "2023-01-01")], months, ["x"])
    with pytest.raises(ValueError, match="multiplier"):
        ArrivalLever("referral", -0.1, "2023-01-01")


def test_levers_scale_paths_and_forecasts(full_model: ArrivalModel) -> None:
    lever = ArrivalLever("referral", 0.9, "2022-07-01")
    base = full_model.sample_paths(None, 6, 20, seed=4)
    scaled = full_model.sample_paths(None, 6, 20, seed=4, levers=[lever])
    np.testing.assert_allclose(
        scaled.sel(kind="referral").values[:, 3:], 0.9 * base.sel(kind="referral").values[:, 3:]
    )
    np.testing.assert_array_equal(
        scaled.sel(kind="referral").values[:, :3], base.sel(kind="referral").values[:, :3]
    )
    np.testing.assert_array_equal(
        scaled.sel(kind="care_entry").values, base.sel(kind="care_entry").values
    )
    np.testing.assert_allclose(apply_levers(base, [lever]).values, scaled.values)
    plain = full_model.forecast(None, 6)
    levered = full_model.forecast(None, 6, levers=[lever])
    np.testing.assert_allclose(levered["mean"].iloc[3:6], 0.9 * plain["mean"].iloc[3:6])


# ------------------------------------------------------------------ figure


def test_components_figure(full_model: ArrivalModel) -> None:
    fig = arrival_components_figure(full_model)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 6
    assert all("arrivals per month" in ax.get_ylabel() for ax in fig.axes)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:4] == b"\x89PNG"
