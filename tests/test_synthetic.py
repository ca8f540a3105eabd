"""The built-in synthetic example: its ground truth, its generator and the shipped files.

The example is generated once per module (about two seconds) with the default seed; the
Dorset figures are checked on that draw with the tolerances agreed for the example (10% for
stocks and flows, 3 points for the re-referral share, 5 points for the fostered share).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from care_demand import vocab
from care_demand.config import CONFIG_DIR, EXAMPLE_DATA_DIR
from care_demand.synthetic import generate, load_ground_truth
from care_demand.synthetic.cli import main as cli_main
from care_demand.synthetic.spells import SPELL_COLUMNS
from care_demand.synthetic.ssda903 import CARER_ADOPTION_DAYS
from care_demand.synthetic.truth import (
    CARE_DESTINATIONS,
    GROUND_TRUTH_FILE,
    HAZARD_AGE_BANDS,
    NON_CARE_DESTINATIONS,
    GroundTruthError,
)

YEARS = tuple(range(2016, 2023))
DMY = re.compile(r"^(\d{2}/\d{2}/\d{4})?$")
ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})?$")
HEADER = ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"]
EPISODES = [
    "CHILD",
    "DECOM",
    "RNE",
    "LS",
    "CIN",
    "PLACE",
    "PLACE_PROVIDER",
    "DEC",
    "REC",
    "REASON_PLACE_CHANGE",
    "HOME_POST",
    "PL_POST",
    "URN",
]
CIN = [
    "LAchildID",
    "PersonBirthDate",
    "CINreferralDate",
    "ReferralNFA",
    "AssessmentActualStartDate",
    "AssessmentAuthorisationDate",
    "CINPlanStartDate",
    "CINPlanEndDate",
    "S47ActualStartDate",
    "DateOfInitialCPC",
    "ICPCnotRequired",
    "CPPstartDate",
    "CPPendDate",
    "CINclosureDate",
    "ReasonForClosure",
]
EARLY_HELP = ["child_id", "date_of_birth", "start_date", "end_date", "end_reason"]
LEGAL = {"C1", "C2", "D1", "E1", "V2", "V3", "V4", "L1", "L2", "L3", "J1", "J2", "J3"}


def _read(text: str) -> pd.DataFrame:
    from io import StringIO

    return pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)


def _dates(values: pd.Series, fmt: str = "%d/%m/%Y") -> pd.Series:
    return pd.to_datetime(values.replace("", None), format=fmt).astype("datetime64[ns]")


@pytest.fixture(scope="module")
def council():
    return generate()


@pytest.fixture(scope="module")
def files(council) -> dict[str, str]:
    return council.files()


@pytest.fixture(scope="module")
def spells(council) -> pd.DataFrame:
    return council.spells()


@pytest.fixture(scope="module")
def census(files) -> pd.DataFrame:
    return _read(files["cin_census.csv"])


@pytest.fixture(scope="module")
def early_help(files) -> pd.DataFrame:
    return _read(files["early_help.csv"])


@pytest.fixture(scope="module")
def episodes(files) -> pd.DataFrame:
    """Episodes of all years, the latest return winning (as the data layer merges them)."""
    frames = [_read(files[f"ssda903/episodes_{y}.csv"]).assign(year=y) for y in YEARS]
    merged = pd.concat(frames, ignore_index=True)
    return merged.drop_duplicates(["CHILD", "DECOM"], keep="last").reset_index(drop=True)


@pytest.fixture(scope="module")
def referrals(census) -> pd.DataFrame:
    """One row per referral with a re-referral flag (within 365 days of the previous one)."""
    refs = census.drop_duplicates(["LAchildID", "CINreferralDate"]).copy()
    refs["date"] = _dates(refs["CINreferralDate"])
    refs = refs.sort_values(["LAchildID", "date"])
    gap = refs.groupby("LAchildID")["date"].diff().dt.days
    return refs.assign(rereferral=gap.le(365).to_numpy())


def _open_on(spells: pd.DataFrame, day: str) -> pd.DataFrame:
    when = pd.Timestamp(day)
    return spells[(spells["start"] <= when) & (spells["end"].isna() | (spells["end"] > when))]


# --- ground truth -----------------------------------------------------------------------


def test_hazard_table_is_tidy_and_log_additive():
    truth = load_ground_truth()
    table = truth.hazards()
    assert list(table.columns) == [
        "state",
        "group",
        "destination",
        "age_band",
        "duration_band",
        "rate_per_month",
    ]
    assert (table["rate_per_month"] >= 0).all()
    assert table.loc[table["state"] != vocab.CARE, "group"].isna().all()
    assert set(table.loc[table["state"] == vocab.CARE, "group"]) == set(vocab.PLACEMENT_GROUPS)
    for state, dests in NON_CARE_DESTINATIONS.items():
        assert tuple(table.loc[table["state"] == state, "destination"].unique()) == dests
    assert tuple(table.loc[table["state"] == vocab.CARE, "destination"].unique()) == (
        CARE_DESTINATIONS
    )
    assert tuple(table["age_band"].unique()) == HAZARD_AGE_BANDS
    n_pairs = sum(len(d) for d in NON_CARE_DESTINATIONS.values()) + 9 * len(CARE_DESTINATIONS)
    assert len(table) == n_pairs * len(HAZARD_AGE_BANDS) * len(vocab.DURATION_BANDS)
    # rate = base * age multiplier * duration multiplier: every age x duration grid has rank 1.
    for _, grid in table.groupby(["state", "group", "destination"], dropna=False):
        rates = grid.pivot(index="age_band", columns="duration_band", values="rate_per_month")
        assert np.linalg.matrix_rank(rates.to_numpy(), tol=1e-12) <= 1


def test_hazards_have_the_structure_that_matters():
    truth = load_ground_truth()
    table = (
        truth.hazards()
        .set_index(["state", "group", "destination", "age_band", "duration_band"])["rate_per_month"]
        .sort_index()
    )
    # Assessments mostly end within 3 months (45 working days).
    total = table.loc[vocab.ASSESSMENT].groupby(level=["age_band", "duration_band"]).sum()
    assert (1 - np.exp(-3 * total.xs("0_3m", level="duration_band")) > 0.85).all()
    # Re-referrals and returns to care only within reach of the closure / return home.
    for hazards in (truth.rereferral_hazards(), truth.reentry_hazards()):
        late = hazards[hazards["duration_band"] == "24m_plus"]
        assert (late["rate_per_month"] == 0).all()
        assert (hazards["rate_per_month"] > 0).any()
    # Adoption orders: mostly under 5, rare after 10.
    adopt = table.loc[(vocab.CARE, vocab.PLACED_FOR_ADOPTION, vocab.ADOPTION)]
    young = adopt.xs("1_4", level="age_band")
    assert (adopt.xs("10_15", level="age_band") < 0.2 * young).all()
    # CP plans rarely end in the first three months.
    cp = table.loc[vocab.CP].groupby(level="duration_band").sum()
    assert cp["0_3m"] < cp["6_12m"]
    # Residential care is mostly for children aged 10 and over; supported 16+ only from 16.
    entry = truth.entry_probabilities().pivot(
        index="age_band", columns="group", values="probability"
    )
    residential = entry[list(vocab.RESIDENTIAL_GROUPS)].sum(axis=1)
    assert residential[["under_1", "1_4", "5_9"]].max() < 0.1 < residential["10_15"]
    assert entry[vocab.SUPPORTED_16PLUS].drop("16_17").eq(0).all()
    assert entry[vocab.PLACED_FOR_ADOPTION].eq(0).all()
    np.testing.assert_allclose(entry.sum(axis=1), 1.0)
    moves = truth.move_probabilities()
    np.testing.assert_allclose(
        moves.groupby(["origin_group", "age_band"])["probability"].sum(), 1.0
    )
    into_supported = moves[
        (moves["destination_group"] == vocab.SUPPORTED_16PLUS) & (moves["age_band"] != "16_17")
    ]
    assert (into_supported["probability"] == 0).all()


def test_arrival_rates_follow_trend_season_and_lockdowns():
    truth = load_ground_truth()
    for kind in ("referral", "early_help_request"):
        rate = lambda day, kind=kind: truth.arrival_rate(kind, day)  # noqa: E731
        assert rate("2018-09-01") > rate("2018-08-01") * 1.2  # schools return
        for lockdown, before in [
            ("2020-04-01", "2019-04-01"),
            ("2020-05-01", "2019-05-01"),
            ("2021-01-01", "2020-01-01"),
            ("2021-02-01", "2020-02-01"),
        ]:
            assert rate(lockdown) < 0.9 * rate(before)
    table = truth.arrival_rates("2020-01-01", "2020-12-31")
    assert list(table.columns) == ["referral", "early_help_request", "care_entry"]
    assert len(table) == 12
    with pytest.raises(KeyError, match="unknown arrival kind"):
        truth.arrival_rate("contact", "2020-01-01")


def test_a_bad_ground_truth_file_is_reported_by_key(tmp_path):
    raw = yaml.safe_load(GROUND_TRUTH_FILE.read_text(encoding="utf-8"))
    raw["hazards"]["cp"]["closed"]["age"]["teenager"] = 1.0
    bad = tmp_path / "ground_truth.yaml"
    bad.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with pytest.raises(GroundTruthError, match=r"hazards\.cp\.closed\.age: unknown band"):
        load_ground_truth(bad)


# --- Dorset figures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "states", "target"),
    [
        ("2022-01-31", [vocab.EARLY_HELP], 1313),
        ("2022-01-31", [vocab.ASSESSMENT, vocab.CIN], 1152),
        ("2022-01-31", [vocab.CP], 271),
        ("2022-01-31", [vocab.CARE], 434),
        ("2022-01-31", [vocab.CARE_LEAVER], 276),
        ("2020-02-01", [vocab.CARE], 483),
    ],
)
def test_stocks_match_dorset_within_ten_percent(spells, day, states, target):
    open_ = _open_on(spells, day)
    assert not open_["child_id"].duplicated().any()  # one state per child on any day
    count = int(open_["state"].isin(states).sum())
    assert abs(count / target - 1) <= 0.10, f"{states} on {day}: {count} vs {target}"


def test_referrals_in_2021_match_dorset(referrals):
    in_2021 = referrals[referrals["date"].dt.year == 2021]
    assert abs(len(in_2021) / 2899 - 1) <= 0.10
    # DfE: a referral within 12 months of the previous one; Dorset 19% (3 points either way).
    assert abs(100 * in_2021["rereferral"].mean() - 19) <= 3
    assert (in_2021["ReferralNFA"] == "true").any()


def test_fostered_share_of_children_in_care(spells):
    care = _open_on(spells, "2021-12-31")
    care = care[care["state"] == vocab.CARE]
    share = care["placement_group"].isin(vocab.FOSTER_GROUPS).mean()
    assert abs(100 * share - 69) <= 5


def test_early_help_requests_per_month(early_help):
    start = _dates(early_help["start_date"], "%Y-%m-%d")
    window = start[(start >= "2020-04-01") & (start <= "2021-03-31")]
    per_month = window.dt.to_period("M").value_counts()
    assert len(per_month) == 12
    assert per_month.min() >= 300 * 0.9
    assert per_month.max() <= 460 * 1.1


# --- journeys seen in the files ---------------------------------------------------------


def _count_events(kind, census, early_help, episodes, header_dob, referrals) -> int:
    if kind == "step_up":
        from_eh = (early_help["end_reason"] == "step_up").sum()
        cin_to_cp = (
            (census["CINPlanEndDate"] != "") & (census["CINPlanEndDate"] == census["CPPstartDate"])
        ).sum()
        return int(min(from_eh, cin_to_cp))
    if kind == "step_down":
        to_eh = (census["ReasonForClosure"] == "RC9").sum()
        cp_to_cin = (
            (census["CPPendDate"] != "") & (census["CPPendDate"] == census["CINPlanStartDate"])
        ).sum()
        return int(min(to_eh, cp_to_cin))
    if kind == "rereferral":
        return int(referrals["rereferral"].sum())
    if kind == "repeat_cp":
        plans = census[census["CPPstartDate"] != ""].drop_duplicates(["LAchildID", "CPPstartDate"])
        return int((plans.groupby("LAchildID").size() >= 2).sum())
    if kind == "placement_move":
        return int((episodes["RNE"] == "P").sum())
    if kind == "reentry":
        return int((episodes[episodes["RNE"] == "S"].groupby("CHILD").size() >= 2).sum())
    if kind == "adoption":
        return int(episodes["REC"].isin(["E11", "E12"]).sum())
    if kind == "sgo":
        return int(episodes["REC"].isin(["E43", "E44", "E45", "E46", "E47", "E48"]).sum())
    assert kind == "birthday_18"
    dob = _dates(episodes["CHILD"].map(header_dob))
    dec = _dates(episodes["DEC"])
    eighteen = dob + pd.DateOffset(years=18)
    return int(((dec == eighteen) & episodes["REC"].str.startswith("E")).sum())


@pytest.mark.parametrize(
    "kind",
    [
        "step_up",
        "step_down",
        "rereferral",
        "repeat_cp",
        "placement_move",
        "reentry",
        "adoption",
        "sgo",
        "birthday_18",
    ],
)
def test_every_kind_of_journey_occurs_in_the_files(
    kind, census, early_help, episodes, files, referrals
):
    header = pd.concat([_read(files[f"ssda903/header_{y}.csv"]) for y in YEARS])
    header_dob = header.drop_duplicates("CHILD").set_index("CHILD")["DOB"]
    assert _count_events(kind, census, early_help, episodes, header_dob, referrals) >= 5


# --- file formats ---------------------------------------------------------------------------


def test_the_files_and_their_columns(files):
    expected = {f"ssda903/{k}_{y}.csv" for y in YEARS for k in ("header", "episodes")}
    assert set(files) == expected | {"cin_census.csv", "early_help.csv", "README.txt"}
    assert "SYNTHETIC" in files["README.txt"]
    for name, text in files.items():
        if not name.endswith(".csv"):
            continue
        table = _read(text)
        columns = {
            "header": HEADER,
            "episodes": EPISODES,
            "cin_census": CIN,
            "early_help": EARLY_HELP,
        }[Path(name).stem.split("_2")[0]]
        assert list(table.columns) == columns, name
        date_columns = [
            c
            for c in table.columns
            if "DOB" in c
            or "DEC" in c
            or "Date" in c
            or c.endswith("_date")
            or c == "date_of_birth"
        ]
        pattern = ISO if name == "early_help.csv" else DMY
        for col in date_columns:
            assert table[col].str.match(pattern).all(), (name, col)
        ids = table.iloc[:, 0]
        assert ids.str.fullmatch(r"\d{6}").all(), name


def test_episodes_follow_the_ssda903_rules(files):
    exits = yaml.safe_load((CONFIG_DIR / "mappings/exit_reasons.yaml").read_text())
    e_codes = {code for codes in exits.values() for code in codes}
    for year in YEARS:
        eps = _read(files[f"ssda903/episodes_{year}.csv"])
        head = _read(files[f"ssda903/header_{year}.csv"])
        assert set(head["CHILD"]) == set(eps["CHILD"])
        assert not head["CHILD"].duplicated().any()
        assert set(head["SEX"]) <= {"1", "2"}
        decom, dec = _dates(eps["DECOM"]), _dates(eps["DEC"])
        start, end = pd.Timestamp(year - 1, 4, 1), pd.Timestamp(year, 3, 31)
        assert (decom <= end).all()
        assert (dec.isna() | ((dec >= start) & (dec <= end))).all()
        assert (dec.isna() | (dec > decom)).all()  # no episode starts and ends on one day
        assert ((eps["DEC"] == "") == (eps["REC"] == "")).all()
        assert not eps.duplicated(["CHILD", "DECOM"]).any()
        assert set(eps["RNE"]) <= {"S", "L", "P", "T", "U", "B"}
        assert set(eps["LS"]) <= LEGAL
        assert set(eps["CIN"]) <= {f"N{i}" for i in range(1, 9)}
        assert set(eps["REC"]) <= e_codes | {"X1", ""}
        assert (eps["HOME_POST"] == "").all() and (eps["PL_POST"] == "").all()
        # X1: the next episode of the same child starts the day this one ends.
        nxt = eps.groupby("CHILD")["DECOM"].shift(-1)
        x1 = eps["REC"] == "X1"
        assert (eps.loc[x1, "DEC"] == nxt[x1]).all()
        # An episode that is not the first of a period of care follows the previous one.
        later = eps["RNE"] != "S"
        prev_dec = eps.groupby("CHILD")["DEC"].shift(1)
        first_row = ~eps["CHILD"].duplicated()
        assert (eps.loc[later & ~first_row, "DECOM"] == prev_dec[later & ~first_row]).all()
        # Legal status: a change alone is RNE L; placement for adoption follows a placement
        # order (A6 with E1) or consent (A4).
        assert (eps.loc[eps["PLACE"] == "A6", "LS"] == "E1").all()


def _placement_group(place: str, provider: str, rules: list[dict]) -> str | None:
    for rule in rules:
        providers = rule["providers"]
        if place in rule["places"] and (providers == "any" or provider in providers):
            return rule["group"]
    return None


def test_placement_codes_and_exit_codes_match_the_true_journeys(episodes, spells):
    rules = yaml.safe_load((CONFIG_DIR / "mappings/placement_groups.yaml").read_text())["rules"]
    exits = yaml.safe_load((CONFIG_DIR / "mappings/exit_reasons.yaml").read_text())
    reason_of = {code: reason for reason, codes in exits.items() for code in codes}
    care = spells[spells["state"] == vocab.CARE].copy()
    eps = episodes.assign(
        decom=_dates(episodes["DECOM"]),
        dec=_dates(episodes["DEC"]),
        CHILD=episodes["CHILD"].astype("string"),
    )
    merged = pd.merge_asof(
        eps.sort_values("decom"),
        care.sort_values("start"),
        left_on="decom",
        right_on="start",
        left_by="CHILD",
        right_by="child_id",
        direction="backward",
    )
    assert merged["state"].notna().all()
    inside = merged["end"].isna() | (merged["decom"] < merged["end"])
    assert inside.all()
    groups = [
        _placement_group(p, pr, rules)
        for p, pr in zip(merged["PLACE"], merged["PLACE_PROVIDER"], strict=True)
    ]
    same = pd.Series(groups) == merged["placement_group"].to_numpy()
    # The one departure: a child adopted by their foster carers is placed for adoption with
    # them (A5, RNE U, or T when a placement order was already in force) in the last days
    # before the adoption order.
    by_carers = (
        merged["PLACE"].eq("A5")
        & merged["RNE"].isin(["T", "U"])
        & merged["placement_group"].isin(vocab.FOSTER_GROUPS)
        & merged["exit_reason"].eq(vocab.ADOPTION)
        & ((merged["end"] - merged["decom"]).dt.days == CARER_ADOPTION_DAYS)
    )
    assert (same | by_carers.to_numpy()).all()
    # Supported accommodation only from 16; the secure/other Z1 needs no provider.
    age = (merged["decom"] - merged["dob"]).dt.days / vocab.DAYS_PER_YEAR
    assert (age[merged["PLACE"].isin(["H5", "P2"])] >= 16).all()
    # Exit codes give the true exit reason (any exit on the 18th birthday counts as age_18).
    final = merged[merged["REC"].str.startswith("E")]
    mapped = final["REC"].map(reason_of)
    at_18 = final["dec"] >= final["dob"] + pd.DateOffset(years=18)
    mapped = mapped.where(~at_18, vocab.AGE_18)
    assert (mapped.to_numpy() == final["exit_reason"].to_numpy()).all()
    assert (final["dec"] == final["end"]).all()


def test_census_rows_follow_the_census_rules(census, episodes):
    assert set(census["ReferralNFA"]) == {"true", "false"}
    nfa = census["ReferralNFA"] == "true"
    assert (census.loc[nfa, "AssessmentActualStartDate"] == "").all()
    assert set(census["ReasonForClosure"]) <= {f"RC{i}" for i in range(1, 10)} | {""}
    assert ((census["CINclosureDate"] == "") == (census["ReasonForClosure"] == "")).all()
    closure = _dates(census["CINclosureDate"])
    assert (closure.isna() | (closure >= "2015-04-01")).all()
    ref, cps, icpc = (
        _dates(census[c]) for c in ("CINreferralDate", "CPPstartDate", "DateOfInitialCPC")
    )
    s47 = _dates(census["S47ActualStartDate"])
    assert (cps.isna() | (cps == icpc)).all()  # a plan starts at its conference
    assert (s47.isna() | (s47 >= ref)).all()
    assert ((census["ICPCnotRequired"] == "true") == (s47.notna() & icpc.isna())).all()
    # Roughly: 58% of section 47 enquiries need no conference, 77% of conferences make a plan.
    assert 0.45 < (census.loc[s47.notna(), "ICPCnotRequired"] == "true").mean() < 0.7
    assert 0.65 < cps[icpc.notna()].notna().mean() < 0.9
    # Entering care closes the episode of need that day (RC7).
    entries = episodes.loc[episodes["RNE"] == "S", ["CHILD", "DECOM"]]
    closes = census.loc[census["ReasonForClosure"] == "RC7", ["LAchildID", "CINclosureDate"]]
    closes = set(zip(closes["LAchildID"], closes["CINclosureDate"], strict=True))
    from_census = [
        (c, d) in closes for c, d in zip(entries["CHILD"], entries["DECOM"], strict=True)
    ]
    assert np.mean(from_census) > 0.6  # the rest entered care directly


def test_early_help_rows(early_help):
    reasons = {"outcomes_met", "step_up", "disengaged", "moved_away", "other"}
    assert set(early_help["end_reason"]) <= reasons | {""}
    assert ((early_help["end_date"] == "") == (early_help["end_reason"] == "")).all()
    end = _dates(early_help["end_date"], "%Y-%m-%d")
    start = _dates(early_help["start_date"], "%Y-%m-%d")
    assert (end.isna() | ((end >= "2015-04-01") & (end > start))).all()
    assert (start < "2015-04-01").any()  # episodes open in April 2015 keep their real start


def test_true_spells_schema(spells):
    assert list(spells.columns) == list(SPELL_COLUMNS)
    assert set(spells["state"]) == set(vocab.STATES)
    care = spells["state"] == vocab.CARE
    assert spells.loc[care, "placement_group"].isin(vocab.PLACEMENT_GROUPS).all()
    assert spells.loc[~care, "placement_group"].isna().all()
    assert spells.loc[care, "care_period"].notna().all()
    assert spells.loc[care, "legal_status"].isin(LEGAL).all()
    ordered = spells.sort_values(["child_id", "start"])
    same_child = ordered["child_id"].eq(ordered["child_id"].shift(-1))
    next_start = ordered["start"].shift(-1)
    overlap = same_child & (ordered["end"].isna() | (ordered["end"] > next_start))
    assert not overlap.any()
    leavers = spells[spells["state"] == vocab.CARE_LEAVER]
    age = (leavers["start"] - leavers["dob"]).dt.days / vocab.DAYS_PER_YEAR
    assert age.between(17.99, 18.1).all()
    assert (spells["end"].dropna() <= pd.Timestamp("2022-03-31")).all()


def test_arrivals_table(council):
    arrivals = council.arrivals()
    assert set(arrivals["kind"]) == {"referral", "early_help_request", "care_entry"}
    referrals = arrivals[(arrivals["kind"] == "referral") & (arrivals["date"].dt.year == 2021)]
    assert abs(100 * referrals["rereferral"].mean() - 19) <= 3


# --- reproducibility ----------------------------------------------------------------------


def test_the_same_seed_gives_identical_files_and_another_seed_does_not():
    short = {"start": dt.date(2013, 4, 1), "end": dt.date(2017, 3, 31)}
    first = generate(seed=7, **short).files()
    assert set(first) >= {"ssda903/episodes_2016.csv", "ssda903/episodes_2017.csv"}
    assert generate(seed=7, **short).files() == first
    assert generate(seed=8, **short).files()["cin_census.csv"] != first["cin_census.csv"]


def test_shipped_files_equal_a_fresh_generation(files):
    shipped = {
        p.relative_to(EXAMPLE_DATA_DIR).as_posix(): p.read_bytes()
        for p in EXAMPLE_DATA_DIR.rglob("*")
        if p.is_file()
    }
    assert set(shipped) == set(files)
    for name, text in files.items():
        assert shipped[name] == text.encode("utf-8"), f"{name} differs: run care-demand-example"
    assert sum(len(b) for b in shipped.values()) < 6_000_000


def test_command_line_writes_the_example(tmp_path, files, capsys):
    assert cli_main(["--out", str(tmp_path)]) == 0
    assert "synthetic" in capsys.readouterr().out
    for name, text in files.items():
        assert (tmp_path / name).read_bytes() == text.encode("utf-8")


def test_the_data_layer_rebuilds_the_true_stocks(spells):
    from care_demand.config import DataConfig
    from care_demand.data.history import build_history
    from care_demand.data.loader import load_council

    config = DataConfig()  # path None: the shipped example (read with its published key)
    history = build_history(load_council(None, config), config)
    for day in ("2016-03-31", "2020-02-01", "2022-01-31"):
        rebuilt = _open_on(history.spells, day)["state"].value_counts()
        true = _open_on(spells, day)["state"].value_counts()
        for state in (vocab.EARLY_HELP, vocab.ASSESSMENT, vocab.CIN, vocab.CP, vocab.CARE):
            assert rebuilt.get(state, 0) == true.get(state, 0), (day, state)
