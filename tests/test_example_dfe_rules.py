"""The example's SSDA903 returns keep the DfE's validation rules on the modelled content.

``benchmarks/dfe_rules.py`` runs Data to Insight's validator itself (in an environment of its
own); these are the rules the example's generator has to keep, checked on the shipped files
of each year's return in the validator's own terms, so CI keeps them without it.
"""

from __future__ import annotations

import pandas as pd
import pytest

from care_demand.config import EXAMPLE_DATA_DIR

YEARS = tuple(range(2016, 2023))
# Rule 529: other public bodies (PR3) cannot provide these placements.
NOT_FROM_OTHER_PUBLIC_BODIES = {"A3", "A4", "A5", "A6", "K1", "K2", "P1"} | {
    f"U{i}" for i in range(1, 7)
}
FOSTER = {f"U{i}" for i in range(1, 7)}


@pytest.fixture(scope="module", params=YEARS, ids=str)
def episodes(request: pytest.FixtureRequest) -> pd.DataFrame:
    """One year's Episodes file, dates parsed, rows in the return's order."""
    path = EXAMPLE_DATA_DIR / "ssda903" / f"episodes_{request.param}.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column in ("DECOM", "DEC"):
        table[column] = pd.to_datetime(table[column].replace("", None), format="%d/%m/%Y")
    table.attrs["year_end"] = pd.Timestamp(f"{request.param}-03-31")
    return table.sort_values(["CHILD", "DECOM"], kind="stable").reset_index(drop=True)


def test_police_protection_ends_within_72_hours(episodes: pd.DataFrame) -> None:
    """Rule 361: a run of L1 episodes lasts at most 3 days (an open one to the year end)."""
    eps = episodes
    police = eps["LS"].eq("L1")
    assert police.any()
    same_child = eps["CHILD"].eq(eps["CHILD"].shift())
    continues = police.shift(fill_value=False) & same_child & eps["DECOM"].eq(eps["DEC"].shift())
    run = (police & ~continues).cumsum()[police]
    end = eps.loc[police, "DEC"].fillna(eps.attrs["year_end"])
    days = (end.groupby(run).max() - eps.loc[police, "DECOM"].groupby(run).min()).dt.days
    assert (days <= 3).all(), days[days > 3]


def test_no_placement_with_parents_under_section_20(episodes: pd.DataFrame) -> None:
    """Rule 378: placed with parents (P1) is never under section 20 (V2)."""
    assert episodes["PLACE"].eq("P1").any()
    assert not (episodes["PLACE"].eq("P1") & episodes["LS"].eq("V2")).any()


def test_other_public_bodies_provide_only_what_they_can(episodes: pd.DataFrame) -> None:
    """Rule 529: PR3 never with fostering, adoption, K1/K2 or placement with parents."""
    other_public = episodes.loc[episodes["PLACE_PROVIDER"].eq("PR3"), "PLACE"]
    assert not other_public.empty
    assert not set(other_public) & NOT_FROM_OTHER_PUBLIC_BODIES


def test_exits_follow_the_placements_they_need(episodes: pd.DataFrame) -> None:
    """Rules 390, 516 and 336: adopted (E11/E12) from a placement for adoption; special
    guardianship to former foster carers (E45/E46) from foster care; placed for adoption with
    consent (A3/A4) after foster care or another placement for adoption."""
    eps = episodes
    assert eps.loc[eps["REC"].isin(["E11", "E12"]), "PLACE"].isin({"A3", "A4", "A5", "A6"}).all()
    assert eps.loc[eps["REC"].isin(["E45", "E46"]), "PLACE"].isin(FOSTER).all()
    previous = eps.groupby("CHILD")["PLACE"].shift()
    consent = eps["PLACE"].isin(["A3", "A4"]) & previous.notna()
    assert previous[consent].isin(FOSTER | {"A3", "A4", "A5", "A6"}).all()
