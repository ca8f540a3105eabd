"""UASC entries to care as an arrival kind of their own, and the scenario that sets them."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from care_demand.calibration.arrivals import (
    CARE_ENTRY,
    CARE_ENTRY_UASC,
    ArrivalLevel,
    ArrivalModel,
    ArrivalSettings,
    apply_levels,
    monthly_arrivals,
)
from care_demand.config import CONFIG_DIR, load_config, scenario_file
from care_demand.data import EventHistory, build_history
from care_demand.data.loader import load_council
from care_demand.data.pseudonymise import EXAMPLE_DATA_DIR, pseudonymise
from care_demand.errors import ConfigError
from care_demand.scenarios import check_uasc_levers, scenario_levers
from care_demand.simulation.build import OutsideArrivals, build_system
from care_demand.simulation.capacity import CapacityConfig
from care_demand.simulation.engine import ReplicateModel
from test_validate import KEY_ENV, config, write_council
from toy_system import constant_draws

KEY = "test key for validation"
UASC_TABLE = "CHILD,SEX,DOB,DUC\nRAWID003,1,01/01/2004,01/01/2022\n"


@pytest.fixture(autouse=True)
def _test_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)


def _history(folder: Path) -> EventHistory:
    return build_history(load_council(folder, config()), config())


def _as_before(outside: pd.DataFrame) -> pd.DataFrame:
    """Outside arrivals with UASC entries counted as entries to care, as without UASC data."""
    kind = outside["kind"].astype(object).where(outside["kind"] != CARE_ENTRY_UASC, CARE_ENTRY)
    return outside.assign(kind=kind.astype(outside["kind"].dtype))


# --- the arrivals ---------------------------------------------------------------------------


def test_a_uasc_entry_to_care_is_its_own_kind_and_the_kinds_sum_to_the_old_entries(
    tmp_path: Path,
) -> None:
    plain = _history(write_council(tmp_path / "plain"))
    flagged = _history(write_council(tmp_path / "uasc", {"ssda903/uasc_2021.csv": UASC_TABLE}))
    before, after = plain.arrivals_from_outside(), flagged.arrivals_from_outside()
    assert CARE_ENTRY_UASC not in set(before["kind"])
    assert (after["kind"] == CARE_ENTRY_UASC).sum() == 1
    assert (after["kind"] == CARE_ENTRY).sum() == (before["kind"] == CARE_ENTRY).sum() - 1
    pd.testing.assert_frame_equal(_as_before(after), before)
    # The recorded arrivals themselves are untouched (the data summary counts from them).
    pd.testing.assert_frame_equal(flagged.arrivals, plain.arrivals)


def test_a_council_with_uasc_information_but_no_uasc_entries_has_a_zero_series(
    tmp_path: Path,
) -> None:
    empty = _history(write_council(tmp_path, {"ssda903/uasc_2021.csv": "CHILD,SEX,DOB,DUC\n"}))
    view = OutsideArrivals.of(empty)
    assert view.kinds is not None and CARE_ENTRY_UASC in view.kinds
    monthly = monthly_arrivals(view.arrivals, view.window_start, view.window_end, view.kinds)
    assert monthly.loc[monthly["kind"] == CARE_ENTRY_UASC, "count"].sum() == 0
    assert OutsideArrivals.of(_history(write_council(tmp_path / "plain"))).kinds is None


# --- a larger council: the example with UASC among its older entrants --------------------------


@pytest.fixture(scope="module")
def uasc_histories(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[EventHistory, EventHistory, int]]:
    """The example as it is (no UASC information) and with UASC tables listing up to 12 children a
    year who entered care from outside services aged 16 or over in 2020/21 and 2021/22."""
    root = tmp_path_factory.mktemp("uasc-council")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV, KEY)
        folder = root / "council"
        shutil.copytree(EXAMPLE_DATA_DIR, folder)
        plain = _history(folder)
        outside = plain.arrivals_from_outside()
        older = outside[(outside["kind"] == CARE_ENTRY) & (outside["age"] >= 16.0)]
        chosen = []
        for year in (2021, 2022):
            header = pd.read_csv(
                folder / f"ssda903/header_{year}.csv", dtype=str, keep_default_na=False
            )
            in_year = older[
                older["date"].between(
                    pd.Timestamp(f"{year - 1}-04-01"), pd.Timestamp(f"{year}-03-31")
                )
            ]
            ids = set(in_year["child_id"]) - set().union(*chosen)
            pids = pd.Series(
                pseudonymise(header["CHILD"].tolist(), KEY.encode()), index=header.index
            )
            picked = header[pids.isin(ids)].iloc[:12]
            chosen.append(set(pids[picked.index]))
            table = picked[["CHILD", "SEX", "DOB"]]
            table.assign(DUC="").to_csv(folder / f"ssda903/uasc_{year}.csv", index=False)
        flagged = _history(folder)
    assert flagged.uasc_supplied and not plain.uasc_supplied
    n_chosen = sum(len(c) for c in chosen)
    assert n_chosen >= 15, [len(c) for c in chosen]
    yield plain, flagged, n_chosen


def test_the_split_keeps_every_entry_and_the_other_kinds_untouched(
    uasc_histories: tuple[EventHistory, EventHistory, int],
) -> None:
    plain, flagged, n_chosen = uasc_histories
    before, after = OutsideArrivals.of(plain), OutsideArrivals.of(flagged)
    old = monthly_arrivals(before.arrivals, before.window_start, before.window_end)
    new = monthly_arrivals(after.arrivals, after.window_start, after.window_end, after.kinds)
    wide_old = old.pivot(index="month", columns="kind", values="count")
    wide_new = new.pivot(index="month", columns="kind", values="count")
    assert wide_new[CARE_ENTRY_UASC].sum() >= n_chosen
    pd.testing.assert_series_equal(
        wide_new[CARE_ENTRY] + wide_new[CARE_ENTRY_UASC], wide_old[CARE_ENTRY], check_names=False
    )
    for kind in set(wide_old.columns) - {CARE_ENTRY}:
        pd.testing.assert_series_equal(wide_new[kind], wide_old[kind])


def test_a_sparse_uasc_series_fits_as_a_constant_rate(
    uasc_histories: tuple[EventHistory, EventHistory, int],
) -> None:
    _, flagged, _ = uasc_histories
    view = OutsideArrivals.of(flagged)
    model = ArrivalModel(ArrivalSettings(level_drift_sd=0.2)).fit(view)
    assert CARE_ENTRY_UASC in model.kinds_ and CARE_ENTRY_UASC in model.rates_
    assert CARE_ENTRY_UASC not in model.models_
    counts = model.history_.loc[model.history_["kind"] == CARE_ENTRY_UASC, "count"]
    assert (counts == 0).mean() > 0.5  # sparse: most months have none
    expected = (counts.to_numpy()[-24:].sum() + 0.5) / 24  # Jeffreys Gamma posterior mean
    paths = model.sample_paths(None, 36, 4000, seed=5, include_noise=False)
    uasc = paths.sel(kind=CARE_ENTRY_UASC).to_numpy()
    assert np.all(uasc[:, :1] == uasc)  # constant over the horizon, per path
    # Monte Carlo error of the mean of 4,000 Gamma draws: sd / sqrt(4000).
    sd = np.sqrt(expected / 24)
    assert abs(uasc[:, 0].mean() - expected) < 4 * sd / np.sqrt(4000)
    forecast = model.forecast(None, 12)
    assert np.isfinite(forecast[["mean", "lower", "upper"]].to_numpy(float)).all()


def test_apply_levels_sets_the_kind_from_its_start_only() -> None:
    months = pd.date_range("2022-04-01", periods=12, freq="MS")
    frame = pd.DataFrame(
        {
            "month": np.tile(pd.date_range("2019-04-01", periods=36, freq="MS"), 2),
            "kind": np.repeat([CARE_ENTRY, CARE_ENTRY_UASC], 36),
            "count": np.r_[np.full(36, 10), np.tile([0, 1, 0], 12)],
        }
    )
    model = ArrivalModel().fit(frame)
    paths = model.sample_paths(months[0], 12, 50, seed=1, include_noise=False)
    level = ArrivalLevel(kind=CARE_ENTRY_UASC, per_month=2.5, start="2022-10-15")
    set_ = apply_levels(paths, [level])
    np.testing.assert_array_equal(set_.sel(kind=CARE_ENTRY), paths.sel(kind=CARE_ENTRY))
    uasc = set_.sel(kind=CARE_ENTRY_UASC).to_numpy()
    np.testing.assert_array_equal(uasc[:, :6], paths.sel(kind=CARE_ENTRY_UASC).to_numpy()[:, :6])
    assert np.all(uasc[:, 6:] == 2.5)
    with pytest.raises(ValueError, match="not >= 0"):
        ArrivalLevel(kind=CARE_ENTRY_UASC, per_month=-1.0, start="2022-04-01")


# --- the projection -------------------------------------------------------------------------


def _system(history: EventHistory, horizon: int, n_paths: int, **levers: object):
    model = ArrivalModel(load_config([]).calibration.arrivals).fit(OutsideArrivals.of(history))
    return build_system(
        history,
        constant_draws(),
        model,
        CapacityConfig(enforce=False),
        horizon_months=horizon,
        n_paths=n_paths,
        seed=11,
        rate_drift_sd=0.0,
        **levers,  # type: ignore[arg-type]
    )


@pytest.mark.slow
def test_a_uasc_quota_gives_its_mean_and_leaves_other_arrivals_alone(
    uasc_histories: tuple[EventHistory, EventHistory, int],
) -> None:
    plain, flagged, _ = uasc_histories
    horizon, reps, start_month = 24, 12, 6
    base = _system(flagged, horizon, reps)
    start = base.start + pd.DateOffset(months=start_month)
    levels = (ArrivalLevel(kind=CARE_ENTRY_UASC, per_month=2.0, start=str(start.date())),)
    quota = _system(flagged, horizon, reps, arrival_levels=levels)
    k = base.arrival_kinds.index(CARE_ENTRY_UASC)
    assert k == len(base.arrival_kinds) - 1  # the new kind comes last: the others keep streams
    assert all(np.all(ages >= 16.0) for ages in [base.arrival_ages[k]])
    np.testing.assert_array_equal(
        quota.arrival_intensity[:, :start_month], base.arrival_intensity[:, :start_month]
    )
    runs = [
        (ReplicateModel(base, r, 3).run(), ReplicateModel(quota, r, 3).run()) for r in range(reps)
    ]
    uasc = np.stack([q.arrivals[start_month:, k] for _, q in runs])
    # Poisson with mean 2 over 12 replicates x 18 months: the mean's sd is sqrt(2 / 216).
    assert abs(uasc.mean() - 2.0) < 4 * np.sqrt(2.0 / uasc.size)
    for b, q in runs:
        # Common random numbers: other kinds' arrivals and the months before the quota agree.
        np.testing.assert_array_equal(b.arrivals[:, :k], q.arrivals[:, :k])
        np.testing.assert_array_equal(b.arrivals[:start_month], q.arrivals[:start_month])
        np.testing.assert_array_equal(b.stocks[:start_month], q.stocks[:start_month])
    # The UASC entrants are in care: more entries to care than without them.
    entries = np.stack([q.entry_routes.sum(axis=1) - b.entry_routes.sum(axis=1) for b, q in runs])
    assert entries[:, start_month:].sum() > 0

    # Without UASC information the referral and early-help arrivals are those of the history
    # with it (their series and streams do not change when UASC are set apart).
    before = _system(plain, horizon, reps)
    assert CARE_ENTRY_UASC not in before.arrival_kinds
    assert before.arrival_kinds == base.arrival_kinds[:k]
    others = [i for i, kind in enumerate(before.arrival_kinds) if kind != CARE_ENTRY]
    np.testing.assert_array_equal(
        before.arrival_intensity[:, :, others], base.arrival_intensity[:, :, others]
    )
    b0, u0 = ReplicateModel(before, 0, 3).run(), runs[0][0]
    np.testing.assert_array_equal(b0.arrivals[:, others], u0.arrivals[:, others])


def test_without_uasc_information_arrivals_and_a_projection_are_as_without_the_columns(
    uasc_histories: tuple[EventHistory, EventHistory, int],
) -> None:
    plain, _, _ = uasc_histories
    bare = dataclasses.replace(plain, children=plain.children.drop(columns=["uasc", "uasc_ceased"]))
    pd.testing.assert_frame_equal(plain.arrivals_from_outside(), bare.arrivals_from_outside())
    assert OutsideArrivals.of(plain).kinds is None and OutsideArrivals.of(bare).kinds is None
    a, b = _system(plain, 6, 2), _system(bare, 6, 2)
    assert a.arrival_kinds == b.arrival_kinds and CARE_ENTRY_UASC not in a.arrival_kinds
    np.testing.assert_array_equal(a.arrival_intensity, b.arrival_intensity)
    ra, rb = ReplicateModel(a, 1, 7).run(), ReplicateModel(b, 1, 7).run()
    np.testing.assert_array_equal(ra.stocks, rb.stocks)
    np.testing.assert_array_equal(ra.arrivals, rb.arrivals)


# --- the scenario ---------------------------------------------------------------------------


def test_the_shipped_quota_scenario_sets_a_level() -> None:
    config = load_config(["scenario=uasc_nts_quota"])
    (level,) = scenario_levers(config.scenario).levels
    assert level.kind == CARE_ENTRY_UASC and level.per_month == 2.0
    assert scenario_levers(load_config([]).scenario).levels == ()


@pytest.mark.parametrize(
    ("overrides", "field", "source"),
    [
        (["scenario=uasc_nts_quota"], "scenario.uasc_arrivals", "scenarios/uasc_nts_quota.yaml"),
        (
            [
                "scenario=demand_surge",
                "scenario.arrival_levers.referral_surge.kind=care_entry_uasc",
            ],
            "scenario.arrival_levers.referral_surge.kind",
            "scenarios/demand_surge.yaml",
        ),
    ],
)
def test_a_uasc_lever_without_uasc_information_names_field_and_file(
    overrides: list[str], field: str, source: str
) -> None:
    config = load_config(overrides)
    check_uasc_levers(config, True, scenario_file(config), CONFIG_DIR)  # fine with the data
    with pytest.raises(ConfigError) as info:
        check_uasc_levers(config, False, scenario_file(config), CONFIG_DIR)
    line = next(line for line in str(info.value).splitlines() if field in line)
    assert source in line and "no UASC information" in line


def test_a_negative_quota_names_field_and_file() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(["scenario=uasc_nts_quota", "scenario.uasc_arrivals.per_month=-2"])
    line = next(
        line for line in str(info.value).splitlines() if "scenario.uasc_arrivals.per_month" in line
    )
    assert "scenarios/uasc_nts_quota.yaml" in line and "must be >= 0" in line


def test_the_run_stops_before_calibrating_when_the_example_has_no_uasc_information(
    tmp_path: Path,
) -> None:
    config = load_config(["scenario=uasc_nts_quota", "run_until=data"])
    from care_demand.pipeline import run

    with pytest.raises(ConfigError, match=r"scenario\.uasc_arrivals .*no UASC information"):
        run(config, tmp_path / "run")
    assert not (tmp_path / "run").exists()
