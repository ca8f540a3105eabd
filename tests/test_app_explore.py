"""The Data page's explorer of the recorded history: counts that match the history, and
small counts hidden as in every published table."""

from __future__ import annotations

import pandas as pd
import pytest

from care_demand import vocab
from care_demand.app.explore import (
    ALL_AGES,
    explore_figure,
    explore_flows,
    explore_series,
    history_cube,
)
from care_demand.data import EventHistory
from care_demand.outputs.disclosure import DisclosureRule

ALL = list(vocab.PLACEMENT_GROUPS)


@pytest.fixture(scope="module")
def cube(example_history: EventHistory):  # type: ignore[no-untyped-def]
    return history_cube(example_history)


def test_monthly_counts_match_the_history(cube, example_history: EventHistory) -> None:  # type: ignore[no-untyped-def]
    rule = DisclosureRule(suppress_max=0)  # nothing hidden: compare every month
    series = explore_series(cube, ALL, ALL_AGES, rule)
    for month in pd.to_datetime(series["month"]).iloc[::12]:
        expected = int(example_history.stock(month).loc[vocab.CARE])
        shown = series.loc[pd.to_datetime(series["month"]) == month, "children"].iloc[0]
        assert int(shown) == expected, month
    # Placement types and age bands partition the children: the parts add up to the whole.
    march = pd.Timestamp(series["month"].iloc[-1])
    parts = sum(
        int(explore_series(cube, [g], ALL_AGES, rule).set_index("month").loc[march, "children"])
        for g in ALL
    )
    bands = sum(
        int(explore_series(cube, ALL, b, rule).set_index("month").loc[march, "children"])
        for b in vocab.AGE_BAND_NAMES
    )
    total = int(series.set_index("month").loc[march, "children"])
    assert parts == total and bands == total


def test_entries_and_exits_match_the_flows(cube, example_history: EventHistory) -> None:  # type: ignore[no-untyped-def]
    table = explore_flows(cube, ALL, ALL_AGES, DisclosureRule(suppress_max=0))
    first = table.iloc[0]
    start = pd.Timestamp(f"{first['Financial year'][:4]}-04-01")
    flows = example_history.flows(start, start + pd.DateOffset(years=1) - pd.Timedelta(days=1))
    into = flows[(flows["to_state"] == vocab.CARE) & (flows["from_state"] != vocab.CARE)]
    out = flows[(flows["from_state"] == vocab.CARE) & (flows["to_state"] != vocab.CARE)]
    assert int(first["Entries to care"]) == int(into["count"].sum())
    assert int(first["Exits from care"]) == int(out["count"].sum())


def test_small_counts_are_hidden(cube) -> None:  # type: ignore[no-untyped-def]
    rule = DisclosureRule()
    choices = [([g], b) for g in ALL for b in vocab.AGE_BAND_NAMES]
    for groups, band in choices:  # the first choice with a small count in some month
        raw = explore_series(cube, groups, band, DisclosureRule(suppress_max=0))
        small = raw["children"].astype(int).between(1, rule.suppress_max)
        if small.any():
            break
    assert small.any(), "the example should have some small counts to hide"
    shown = explore_series(cube, groups, band, rule)
    assert (shown.loc[small, "children"] == rule.marker).all()
    assert (shown.loc[~small, "children"] == raw.loc[~small, "children"]).all()
    flows = explore_flows(cube, ["secure_other"], "under_1", rule)
    for column in ("Entries to care", "Exits from care"):
        values = flows[column]
        numbers = pd.to_numeric(values.where(values != rule.marker), errors="coerce")
        assert not numbers.between(1, rule.suppress_max).any()


def test_the_chart_starts_at_zero_and_names_the_choice(cube) -> None:  # type: ignore[no-untyped-def]
    fig = explore_figure(cube, ["ifa", "inhouse_foster"], "10_15", DisclosureRule())
    ax = fig.axes[0]
    assert ax.get_ylim()[0] == 0
    title = ax.get_title(loc="left")
    assert "Independent fostering agency" in title and "aged 10 to 15" in title
