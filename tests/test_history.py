"""Tests for care_demand.data.history: building the event history from council records."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest

from care_demand import vocab
from care_demand.config import DataConfig
from care_demand.data.council import CIN_COLUMNS, EPISODE_COLUMNS, CouncilData
from care_demand.data.history import SPELL_COLUMNS, EventHistory, build_history

D = pd.Timestamp
WINDOW = (D("2016-04-01"), D("2021-03-31"))

# Episode rows: child, decom, dec, rne, ls, place, provider, rec, group ("cin" is filled in).
Episode = tuple[str, str, str | None, str, str, str, str | None, str | None, str]


def episode_frame(rows: Sequence[Episode]) -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            {
                "child_id": child,
                "decom": D(decom),
                "dec": D(dec) if dec else pd.NaT,
                "rne": rne,
                "ls": ls,
                "cin": "N1",
                "place": place,
                "place_provider": provider,
                "rec": rec,
                "placement_group": group,
            }
            for child, decom, dec, rne, ls, place, provider, rec, group in rows
        ],
        columns=list(EPISODE_COLUMNS),
    )
    for name in ("decom", "dec"):
        frame[name] = frame[name].astype("datetime64[ns]")
    return frame


def cin_frame(rows: Sequence[dict]) -> pd.DataFrame:
    """CIN census rows from dicts naming only the dates they set."""
    filled = []
    for row in rows:
        full = {name: pd.NaT for name in CIN_COLUMNS}
        full.update(referral_nfa=False, icpc_not_required=False, closure_reason=None)
        full.update(
            {
                k: (D(v) if isinstance(v, str) and k not in ("child_id", "closure_reason") else v)
                for k, v in row.items()
            }
        )
        filled.append(full)
    frame = pd.DataFrame(filled, columns=list(CIN_COLUMNS))
    for name in CIN_COLUMNS:
        if name not in ("child_id", "referral_nfa", "icpc_not_required", "closure_reason"):
            frame[name] = frame[name].astype("datetime64[ns]")
    frame["referral_nfa"] = frame["referral_nfa"].astype(bool)
    frame["icpc_not_required"] = frame["icpc_not_required"].astype(bool)
    return frame


def eh_frame(rows: Sequence[tuple[str, str, str, str | None]]) -> pd.DataFrame:
    """Early-help rows: child, dob, start, end."""
    frame = pd.DataFrame(
        [
            {
                "child_id": c,
                "dob": D(dob),
                "start": D(s),
                "end": D(e) if e else pd.NaT,
                "end_reason": "outcomes_met" if e else None,
            }
            for c, dob, s, e in rows
        ],
        columns=["child_id", "dob", "start", "end", "end_reason"],
    )
    for name in ("dob", "start", "end"):
        frame[name] = frame[name].astype("datetime64[ns]")
    return frame


def make_council(
    dobs: dict[str, str],
    episodes: Sequence[Episode] = (),
    cin: pd.DataFrame | None = None,
    early_help: pd.DataFrame | None = None,
) -> CouncilData:
    header = pd.DataFrame(
        {
            "child_id": list(dobs),
            "sex": ["1"] * len(dobs),
            "dob": pd.to_datetime(list(dobs.values())).astype("datetime64[ns]"),
        }
    )
    return CouncilData(
        header=header,
        episodes=episode_frame(episodes),
        cin=cin,
        early_help=early_help,
        window_start=WINDOW[0],
        window_end=WINDOW[1],
        fingerprint="test-fingerprint",
    )


def build(council: CouncilData, **overrides: object) -> EventHistory:
    return build_history(council, DataConfig(**overrides))


def spells_of(history: EventHistory, child: str) -> pd.DataFrame:
    return history.spells.loc[history.spells["child_id"] == child].reset_index(drop=True)


FOSTER = ("U4", "PR1", "inhouse_foster")
IFA = ("U4", "PR4", "ifa")
RESI = ("R1", "PR4", "external_residential")


def ep(
    child: str, decom: str, dec: str | None, rne: str, ls: str, where: tuple, rec: str | None
) -> Episode:
    place, provider, group = where
    return (child, decom, dec, rne, ls, place, provider, rec, group)


# --------------------------------------------------------------------------------------
# Care
# --------------------------------------------------------------------------------------


def test_x1_continuation_joins_episodes_into_one_period() -> None:
    council = make_council(
        {"a": "2008-05-01"},
        [
            ep("a", "2017-01-10", "2017-04-01", "S", "V2", FOSTER, "X1"),
            ep("a", "2017-04-01", "2017-09-01", "P", "C2", RESI, "X1"),
            ep("a", "2017-09-01", "2018-02-01", "P", "C2", IFA, "E4A"),
            ep("a", "2019-01-01", None, "S", "C1", FOSTER, None),
        ],
    )
    spells = spells_of(build(council), "a")
    assert spells["care_period"].tolist() == [1, 1, 1, 2]
    assert spells["state"].eq("care").all()
    arrivals = build(council).arrivals
    assert arrivals["date"].tolist() == [D("2017-01-10"), D("2019-01-01")]
    assert arrivals["kind"].eq("care_entry").all()


def test_x1_with_a_gap_does_not_continue_the_period() -> None:
    council = make_council(
        {"a": "2008-05-01"},
        [
            ep("a", "2017-01-10", "2017-04-01", "S", "V2", FOSTER, "X1"),
            ep("a", "2017-05-01", "2017-09-01", "S", "C2", RESI, "E4A"),
        ],
    )
    spells = spells_of(build(council), "a")
    assert spells["care_period"].tolist() == [1, 2]
    assert spells.loc[0, "exit_reason"] == vocab.CARE_EXIT_OTHER
    assert spells.loc[0, "next_state"] == vocab.NONE


def test_legal_status_change_is_not_a_move() -> None:
    council = make_council(
        {"a": "2008-05-01"},
        [
            ep("a", "2017-01-10", "2017-04-01", "S", "L2", FOSTER, "X1"),
            ep("a", "2017-04-01", "2017-09-01", "L", "C1", FOSTER, "X1"),
            # a legal change recorded with a different provider is still not a move
            ep("a", "2017-09-01", "2018-02-01", "L", "C2", IFA, "E41"),
        ],
    )
    spells = spells_of(build(council), "a")
    assert len(spells) == 1
    assert spells.loc[0, "placement_group"] == "inhouse_foster"
    row = spells.iloc[0]
    assert (row["start"], row["end"]) == (D("2017-01-10"), D("2018-02-01"))
    assert row["legal_status"] == "L2"
    assert row["entry_route"] == "emergency"
    assert row["exit_reason"] == vocab.SGO_CAO
    assert row["next_state"] == vocab.NONE


def test_carer_change_starts_a_spell_linked_to_the_next_group() -> None:
    council = make_council(
        {"a": "2008-05-01"},
        [
            ep("a", "2017-01-10", "2017-04-01", "S", "C1", FOSTER, "X1"),
            ep("a", "2017-04-01", "2017-09-01", "P", "C1", IFA, "X1"),
            ep("a", "2017-09-01", "2018-02-01", "B", "C2", IFA, "E11"),
        ],
    )
    spells = spells_of(build(council), "a")
    assert spells["placement_group"].tolist() == ["inhouse_foster", "ifa", "ifa"]
    assert spells["next_state"].tolist() == ["care", "care", "none"]
    assert spells.loc[0, "next_group"] == "ifa"
    assert spells.loc[1, "next_group"] == "ifa"
    assert spells["exit_reason"].isna().tolist() == [True, True, False]
    assert spells.loc[2, "exit_reason"] == vocab.ADOPTION
    assert spells["prev_state"].tolist() == ["none", "care", "care"]
    assert spells["entry_route"].tolist()[0] == "planned"
    assert spells["entry_route"].isna().tolist() == [False, True, True]


def test_same_carer_change_merges_unless_the_group_changes() -> None:
    council = make_council(
        {"a": "2008-05-01"},
        [
            ep("a", "2017-01-10", "2017-04-01", "S", "C1", FOSTER, "X1"),
            ep("a", "2017-04-01", "2017-09-01", "T", "C1", FOSTER, "X1"),
            ep("a", "2017-09-01", "2018-02-01", "U", "C2", IFA, "X1"),
            ep("a", "2018-02-01", "2018-05-01", "T", "C2", IFA, "E13"),
        ],
    )
    spells = spells_of(build(council), "a")
    assert spells["start"].tolist() == [D("2017-01-10"), D("2017-09-01")]
    assert spells["end"].tolist() == [D("2017-09-01"), D("2018-05-01")]
    assert spells["placement_group"].tolist() == ["inhouse_foster", "ifa"]
    assert spells.loc[1, "exit_reason"] == vocab.RETURN_HOME


def test_same_day_last_episode_keeps_the_period_exit() -> None:
    council = make_council(
        {"a": "2008-05-01"},
        [
            ep("a", "2017-01-10", "2017-04-01", "S", "C1", FOSTER, "X1"),
            ep("a", "2017-04-01", "2017-04-01", "P", "C1", IFA, "E4B"),
        ],
    )
    spells = spells_of(build(council), "a")
    assert len(spells) == 1
    assert spells.loc[0, "end"] == D("2017-04-01")
    assert spells.loc[0, "exit_reason"] == vocab.RETURN_HOME
    assert spells.loc[0, "next_state"] == vocab.NONE


def test_episode_left_open_before_a_later_one_ends_where_it_begins() -> None:
    council = make_council(
        {"a": "2008-05-01"},
        [
            ep("a", "2017-01-10", None, "S", "C1", FOSTER, None),
            ep("a", "2017-04-01", "2018-01-01", "P", "C1", IFA, "E4B"),
        ],
    )
    spells = spells_of(build(council), "a")
    assert spells["end"].tolist() == [D("2017-04-01"), D("2018-01-01")]
    assert spells["care_period"].tolist() == [1, 1]


@pytest.mark.parametrize(
    ("rec", "reason"),
    [
        ("E4A", "return_home"),
        ("E45", "sgo_cao"),
        ("E12", "adoption"),
        ("E9", "care_exit_other"),
        ("E43", "sgo_cao"),
        ("E13", "return_home"),
    ],
)
def test_exit_reasons_follow_the_mapping(rec: str, reason: str) -> None:
    council = make_council(
        {"a": "2008-05-01"}, [ep("a", "2017-01-10", "2018-02-01", "S", "C1", FOSTER, rec)]
    )
    assert spells_of(build(council), "a").loc[0, "exit_reason"] == reason


def test_unmapped_rec_code_is_a_clear_error() -> None:
    council = make_council(
        {"a": "2008-05-01"}, [ep("a", "2017-01-10", "2018-02-01", "S", "C1", FOSTER, "E99")]
    )
    with pytest.raises(ValueError, match=r"REC code\(s\) E99 have no exit reason"):
        build(council)


@pytest.mark.parametrize(
    ("dec", "rec", "reason"),
    [
        ("2020-06-01", "E4A", "age_18"),  # on the birthday
        ("2020-09-01", "E8", "age_18"),  # after it
        ("2020-05-27", "E5", "age_18"),  # five days before, independent living
        ("2020-05-27", "E4A", "return_home"),  # five days before, not an age-related code
        ("2020-05-20", "E8", "care_exit_other"),  # twelve days before
    ],
)
def test_exits_at_18_are_age_18(dec: str, rec: str, reason: str) -> None:
    council = make_council(
        {"a": "2002-06-01"}, [ep("a", "2018-01-10", dec, "S", "V2", FOSTER, rec)]
    )
    assert spells_of(build(council), "a").loc[0, "exit_reason"] == reason


def test_care_leaver_spell_runs_from_18_to_21() -> None:
    council = make_council(
        {
            "older": "1999-06-01",
            "young": "2001-01-15",
            "short": "2001-01-15",
            "child": "2005-01-15",
        },
        [
            # left at 18 after four years: care leaver from the exit to the 21st birthday
            ep("older", "2013-06-01", "2017-06-10", "S", "C2", FOSTER, "E17"),
            # left at 16 after a year: care leaver from the 18th birthday, open at window end
            ep("young", "2016-01-01", "2017-02-01", "S", "C2", FOSTER, "E4A"),
            # twelve weeks in care only: not a care leaver
            ep("short", "2017-06-01", "2017-08-24", "S", "V2", FOSTER, "E13"),
            # left at 12: not a care leaver
            ep("child", "2016-01-01", "2017-02-01", "S", "C2", FOSTER, "E4A"),
        ],
    )
    history = build(council)
    leavers = history.spells.loc[history.spells["state"] == vocab.CARE_LEAVER]
    assert sorted(leavers["child_id"]) == ["older", "young"]
    older = leavers.loc[leavers["child_id"] == "older"].iloc[0]
    assert (older["start"], older["end"]) == (D("2017-06-10"), D("2020-06-01"))
    assert older["exit_reason"] == "aged_out"
    assert older["next_state"] == vocab.NONE
    young = leavers.loc[leavers["child_id"] == "young"].iloc[0]
    assert young["start"] == D("2019-01-15")
    assert pd.isna(young["end"])  # 21st birthday (2022) is after the window
    assert pd.isna(young["next_state"])
    # the care spell of "older" leads straight into the care leaver spell
    older_care = spells_of(history, "older").iloc[0]
    assert older_care["next_state"] == vocab.CARE_LEAVER
    assert older_care["exit_reason"] == vocab.AGE_18
    assert history.stock("2019-06-01")[vocab.CARE_LEAVER] == 2


def test_open_episode_is_censored_and_unobserved_arrivals_dropped() -> None:
    council = make_council(
        {"a": "2008-05-01", "b": "2009-01-01"},
        [
            ep("a", "2015-01-10", None, "S", "C1", FOSTER, None),
            ep("b", "2019-01-10", "2021-06-01", "S", "C1", FOSTER, "E4A"),
        ],
    )
    history = build(council)
    a = spells_of(history, "a").iloc[0]
    assert pd.isna(a["end"]) and pd.isna(a["next_state"]) and pd.isna(a["exit_reason"])
    assert a["entered_before_window"]
    # an end after the window's last day is not observed: censored too
    b = spells_of(history, "b").iloc[0]
    assert pd.isna(b["end"]) and pd.isna(b["exit_reason"])
    assert not b["entered_before_window"]
    assert history.arrivals["child_id"].tolist() == ["b"]  # a's entry was before the window


def test_spells_ended_before_the_window_are_dropped() -> None:
    council = make_council(
        {"a": "2008-05-01"},
        [
            ep("a", "2014-01-10", "2016-04-01", "S", "C1", FOSTER, "E4A"),
            ep("a", "2016-05-01", "2016-08-01", "S", "C1", FOSTER, "E4A"),
        ],
    )
    spells = spells_of(build(council), "a")
    assert spells["start"].tolist() == [D("2016-05-01")]
    assert spells["care_period"].tolist() == [2]  # numbering counts the earlier period


# --------------------------------------------------------------------------------------
# CIN census, early help and the overlay
# --------------------------------------------------------------------------------------


def test_referral_becomes_assessment_cin_cp_cin() -> None:
    cin = cin_frame(
        [
            # two rows for one referral: one per CP plan
            {
                "child_id": "c",
                "dob": "2012-03-01",
                "referral_date": "2018-01-05",
                "assessment_start": "2018-01-08",
                "assessment_end": "2018-02-20",
                "cp_start": "2018-03-15",
                "cp_end": "2018-07-01",
                "closure_date": "2018-12-01",
                "closure_reason": "RC1",
            },
            {
                "child_id": "c",
                "dob": "2012-03-01",
                "referral_date": "2018-01-05",
                "assessment_start": "2018-01-08",
                "assessment_end": "2018-02-20",
                "cp_start": "2018-09-01",
                "cp_end": "2018-10-01",
                "closure_date": "2018-12-01",
                "closure_reason": "RC1",
            },
        ]
    )
    history = build(make_council({}, cin=cin))
    spells = spells_of(history, "c")
    assert spells["state"].tolist() == ["assessment", "cin", "cp", "cin", "cp", "cin"]
    assert spells["start"].tolist() == [
        D(d)
        for d in (
            "2018-01-08",
            "2018-02-20",
            "2018-03-15",
            "2018-07-01",
            "2018-09-01",
            "2018-10-01",
        )
    ]
    assert spells["end"].iloc[-1] == D("2018-12-01")
    assert spells["next_state"].tolist() == ["cin", "cp", "cin", "cp", "cin", "none"]
    assert spells["exit_reason"].iloc[-1] == vocab.CLOSED
    assert spells["exit_reason"].iloc[:-1].isna().all()
    assert history.arrivals["kind"].tolist() == ["referral"]
    assert history.children["child_id"].tolist() == ["c"]


def test_assessment_without_end_runs_to_the_plan_or_stays_open() -> None:
    cin = cin_frame(
        [
            {
                "child_id": "p",
                "dob": "2012-03-01",
                "referral_date": "2018-01-05",
                "cin_plan_start": "2018-02-01",
                "cin_plan_end": "2018-05-01",
                "closure_date": "2018-05-01",
            },
            {"child_id": "q", "dob": "2012-03-01", "referral_date": "2020-11-05"},
        ]
    )
    history = build(make_council({}, cin=cin))
    p = spells_of(history, "p")
    assert p["state"].tolist() == ["assessment", "cin"]
    assert p["end"].tolist() == [D("2018-02-01"), D("2018-05-01")]
    q = spells_of(history, "q")
    assert q["state"].tolist() == ["assessment"]
    assert pd.isna(q.loc[0, "end"])


def test_nfa_referral_is_an_arrival_without_a_spell() -> None:
    cin = cin_frame(
        [
            {
                "child_id": "n",
                "dob": "2010-03-01",
                "referral_date": "2018-01-05",
                "referral_nfa": True,
                "closure_date": "2018-01-05",
                "closure_reason": "RC8",
            },
            {
                "child_id": "n",
                "dob": "2010-03-01",
                "referral_date": "2018-11-05",
                "referral_nfa": True,
                "closure_date": "2018-11-05",
                "closure_reason": "RC8",
            },
            {
                "child_id": "n",
                "dob": "2010-03-01",
                "referral_date": "2020-01-05",
                "referral_nfa": False,
                "assessment_end": "2020-01-20",
                "closure_date": "2020-01-20",
                "closure_reason": "RC8",
            },
        ]
    )
    history = build(make_council({}, cin=cin))
    spells = spells_of(history, "n")
    assert spells["state"].tolist() == ["assessment"]
    assert spells.loc[0, "exit_reason"] == vocab.CLOSED
    arrivals = history.arrivals
    assert arrivals["kind"].tolist() == ["referral"] * 3
    assert arrivals["rereferral"].tolist() == [False, True, False]
    assert arrivals["age"].iloc[0] == pytest.approx(
        (D("2018-01-05") - D("2010-03-01")).days / 365.25
    )


def test_rereferral_window_follows_config() -> None:
    cin = cin_frame(
        [
            {
                "child_id": "n",
                "dob": "2010-03-01",
                "referral_date": "2018-01-05",
                "referral_nfa": True,
            },
            {
                "child_id": "n",
                "dob": "2010-03-01",
                "referral_date": "2018-03-05",
                "referral_nfa": True,
            },
        ]
    )
    council = make_council({}, cin=cin)
    assert build(council).arrivals["rereferral"].tolist() == [False, True]
    assert build(council, rereferral_days=30).arrivals["rereferral"].tolist() == [False, False]


def test_cp_during_early_help_interrupts_it_and_early_help_resumes() -> None:
    eh = eh_frame([("e", "2011-01-01", "2017-01-01", "2018-06-01")])
    cin = cin_frame(
        [
            {
                "child_id": "e",
                "dob": "2011-01-01",
                "referral_date": "2017-05-01",
                "assessment_end": "2017-05-01",
                "cp_start": "2017-05-01",
                "cp_end": "2017-09-01",
                "closure_date": "2017-09-01",
                "closure_reason": "RC9",
            }
        ]
    )
    history = build(make_council({}, cin=cin, early_help=eh))
    spells = spells_of(history, "e")
    assert spells["state"].tolist() == ["early_help", "cp", "early_help"]
    assert spells["start"].tolist() == [D("2017-01-01"), D("2017-05-01"), D("2017-09-01")]
    assert spells["end"].tolist() == [D("2017-05-01"), D("2017-09-01"), D("2018-06-01")]
    assert spells["next_state"].tolist() == ["cp", "early_help", "none"]
    # the early-help request is an arrival, the resumption is not
    kinds = history.arrivals.set_index("kind")["date"]
    assert kinds["early_help_request"] == D("2017-01-01")


def test_step_down_to_early_help_is_not_a_request() -> None:
    eh = eh_frame(
        [("e", "2011-01-01", "2017-09-05", "2018-06-01"), ("e", "2011-01-01", "2019-09-05", None)]
    )
    cin = cin_frame(
        [
            {
                "child_id": "e",
                "dob": "2011-01-01",
                "referral_date": "2017-05-01",
                "assessment_end": "2017-06-01",
                "closure_date": "2017-09-01",
                "closure_reason": "RC9",
            }
        ]
    )
    history = build(make_council({}, cin=cin, early_help=eh))
    spells = spells_of(history, "e")
    assert spells["state"].tolist() == ["assessment", "cin", "early_help", "early_help"]
    assert spells.loc[1, "next_state"] == vocab.EARLY_HELP  # RC9 then early help in 4 days
    requests = history.arrivals.loc[history.arrivals["kind"] == "early_help_request", "date"]
    assert requests.tolist() == [D("2019-09-05")]


def test_link_gap_decides_between_a_step_and_a_closure() -> None:
    eh = eh_frame([("g", "2011-01-01", "2017-09-10", "2018-06-01")])
    cin = cin_frame(
        [
            {
                "child_id": "g",
                "dob": "2011-01-01",
                "referral_date": "2017-05-01",
                "assessment_end": "2017-06-01",
                "closure_date": "2017-09-01",
            }
        ]
    )
    council = make_council({}, cin=cin, early_help=eh)
    default = spells_of(build(council), "g")  # 9 days apart: more than the default 7
    assert default.loc[1, "next_state"] == vocab.NONE
    assert default.loc[1, "exit_reason"] == vocab.CLOSED
    assert default.loc[2, "prev_state"] == vocab.NONE
    wider = spells_of(build(council, link_gap_days=10), "g")
    assert wider.loc[1, "next_state"] == vocab.EARLY_HELP
    assert pd.isna(wider.loc[1, "exit_reason"])
    assert wider.loc[2, "prev_state"] == vocab.CIN


def test_link_gap_is_inclusive() -> None:
    eh = eh_frame([("g", "2011-01-01", "2017-09-08", "2018-06-01")])
    cin = cin_frame(
        [
            {
                "child_id": "g",
                "dob": "2011-01-01",
                "referral_date": "2017-05-01",
                "assessment_end": "2017-06-01",
                "closure_date": "2017-09-01",
            }
        ]
    )
    spells = spells_of(build(make_council({}, cin=cin, early_help=eh)), "g")
    assert spells.loc[1, "next_state"] == vocab.EARLY_HELP  # exactly 7 days later


def test_overlapping_records_of_one_service_form_one_spell() -> None:
    eh = eh_frame(
        [
            ("h", "2011-01-01", "2017-01-01", "2017-06-01"),
            ("h", "2011-01-01", "2017-03-01", "2017-09-01"),
            ("h", "2011-01-01", "2017-09-01", "2017-12-01"),
        ]
    )
    cin = cin_frame(
        [
            {
                "child_id": "h",
                "dob": "2011-01-01",
                "referral_date": "2018-01-01",
                "assessment_end": "2018-01-10",
                "cp_start": "2018-01-10",
                "cp_end": "2018-05-01",
                "closure_date": "2018-10-01",
            },
            {
                "child_id": "h",
                "dob": "2011-01-01",
                "referral_date": "2018-01-01",
                "assessment_end": "2018-01-10",
                "cp_start": "2018-05-01",
                "cp_end": "2018-08-01",
                "closure_date": "2018-10-01",
            },
            # a second referral while the first is open
            {
                "child_id": "h",
                "dob": "2011-01-01",
                "referral_date": "2018-09-01",
                "assessment_end": "2018-09-05",
                "closure_date": "2018-12-01",
            },
        ]
    )
    spells = spells_of(build(make_council({}, cin=cin, early_help=eh)), "h")
    assert spells["state"].tolist() == ["early_help", "assessment", "cp", "cin"]
    assert spells["start"].tolist() == [
        D("2017-01-01"),
        D("2018-01-01"),
        D("2018-01-10"),
        D("2018-08-01"),
    ]
    assert spells["end"].tolist() == [
        D("2017-12-01"),
        D("2018-01-10"),
        D("2018-08-01"),
        D("2018-12-01"),
    ]


def test_care_overrides_cin_and_cin_resumes_after_care() -> None:
    cin = cin_frame(
        [
            {
                "child_id": "k",
                "dob": "2009-01-01",
                "referral_date": "2017-01-01",
                "assessment_end": "2017-02-01",
                "closure_date": "2019-01-01",
            }
        ]
    )
    council = make_council(
        {"k": "2009-01-01"},
        [ep("k", "2017-06-01", "2018-01-01", "S", "V2", FOSTER, "E4A")],
        cin=cin,
    )
    spells = spells_of(build(council), "k")
    assert spells["state"].tolist() == ["assessment", "cin", "care", "cin"]
    assert spells.loc[1, "next_state"] == vocab.CARE
    assert spells.loc[1, "next_group"] == "inhouse_foster"
    assert spells.loc[2, "exit_reason"] == vocab.RETURN_HOME
    assert spells.loc[2, "next_state"] == vocab.CIN


# --------------------------------------------------------------------------------------
# Stocks, flows, modes
# --------------------------------------------------------------------------------------


def small_history() -> EventHistory:
    cin = cin_frame(
        [
            {
                "child_id": "k",
                "dob": "2009-01-01",
                "referral_date": "2017-01-01",
                "assessment_end": "2017-02-01",
                "cp_start": "2017-03-01",
                "closure_date": "2019-01-01",
            }
        ]
    )
    eh = eh_frame([("e", "2003-01-01", "2017-01-01", "2018-01-01")])
    council = make_council(
        {"a": "2008-05-01", "b": "2015-01-01", "k": "2009-01-01"},
        [
            ep("a", "2017-01-10", "2017-04-01", "S", "C1", FOSTER, "X1"),
            ep("a", "2017-04-01", "2019-02-01", "P", "C1", IFA, "E4A"),
            ep("b", "2016-01-01", None, "S", "C1", RESI, None),
        ],
        cin=cin,
        early_help=eh,
    )
    return build(council)


def test_stock_counts_children_by_state_and_group() -> None:
    history = small_history()
    on = history.stock("2017-06-01")
    assert on.to_dict() == {
        "early_help": 1,
        "assessment": 0,
        "cin": 0,
        "cp": 1,
        "care": 2,
        "care_leaver": 0,
    }
    # a spell is open from its start day and closed on its end day
    assert history.stock("2017-03-01")["cp"] == 1
    assert history.stock("2017-02-28")["cp"] == 0
    assert history.stock("2018-01-01")["early_help"] == 0
    by_group = history.stock("2017-06-01", by=("state", "placement_group"))
    assert by_group[("care", "ifa")] == 1
    assert by_group[("care", "external_residential")] == 1
    ages = history.stock("2017-06-01", by=("state", "age_band"))
    assert ages[("care", "1_4")] == 1  # b is two
    assert ages[("early_help", "10_15")] == 1


def test_stocks_at_is_tidy() -> None:
    history = small_history()
    table = history.stocks_at(["2017-06-01", "2019-06-01"])
    assert list(table.columns) == ["date", "state", "count"]
    assert len(table) == 2 * len(vocab.STATES)
    counts = table.set_index(["date", "state"])["count"]
    assert counts[(D("2019-06-01"), "care")] == 1
    assert counts[(D("2019-06-01"), "cp")] == 0


def test_stock_rejects_unknown_grouping() -> None:
    with pytest.raises(ValueError, match="cannot group spells by"):
        small_history().stock("2017-06-01", by=("colour",))


def test_flows_count_transitions_in_a_period() -> None:
    flows = small_history().flows("2017-01-01", "2017-12-31")
    table = flows.set_index(["from_state", "to_state"])["count"].to_dict()
    assert table == {
        ("none", "care"): 1,  # a
        ("care", "care"): 1,  # a moves foster -> IFA
        ("none", "assessment"): 1,
        ("assessment", "cin"): 1,
        ("cin", "cp"): 1,
        ("none", "early_help"): 1,
    }


def test_care_only_mode_has_care_and_care_leavers_only() -> None:
    council = make_council(
        {"o": "1999-06-01", "p": "2010-01-01"},
        [
            ep("o", "2013-06-01", "2017-06-10", "S", "C2", FOSTER, "E17"),
            ep("p", "2017-06-01", None, "S", "L1", RESI, None),
        ],
    )
    history = build(council)
    assert history.mode == "care_only"
    assert set(history.spells["state"]) == {vocab.CARE, vocab.CARE_LEAVER}
    assert history.arrivals["kind"].tolist() == ["care_entry"]
    assert history.fingerprint == "test-fingerprint"
    assert list(history.spells.columns) == list(SPELL_COLUMNS)


# --------------------------------------------------------------------------------------
# Properties on random records
# --------------------------------------------------------------------------------------

GROUPS = (FOSTER, IFA, RESI, ("U1", "PR1", "kinship_foster"), ("P1", None, "placed_with_parents"))
RECS = ("E4A", "E11", "E17", "E8", "E41", "E13", "E5")


def random_council(n_children: int, seed: int) -> CouncilData:
    """Random but well-formed records: overlapping services, chains of episodes, open ends."""
    rng = np.random.default_rng(seed)
    base = D("2014-01-01")
    day = pd.Timedelta(days=1)
    dobs: dict[str, str] = {}
    episodes: list[Episode] = []
    cin_rows: list[dict] = []
    eh_rows: list[tuple[str, str, str, str | None]] = []
    for i in range(n_children):
        child = f"c{i:05d}"
        dob = D("1998-01-01") + int(rng.integers(0, 8000)) * day
        dobs[child] = dob.strftime("%Y-%m-%d")
        if rng.random() < 0.35:
            when = base + int(rng.integers(0, 2500)) * day
            for _ in range(int(rng.integers(1, 3))):
                rne = "S"
                n_episodes = int(rng.integers(1, 6))
                for k in range(n_episodes):
                    end = when + int(rng.integers(0, 300)) * day
                    last = k == n_episodes - 1
                    rec = str(rng.choice(RECS)) if last else "X1"
                    open_end = last and rng.random() < 0.15
                    place, provider, group = GROUPS[int(rng.integers(0, len(GROUPS)))]
                    episodes.append(
                        (
                            child,
                            when.strftime("%Y-%m-%d"),
                            None if open_end else end.strftime("%Y-%m-%d"),
                            rne,
                            str(rng.choice(["C1", "C2", "V2", "L1"])),
                            place,
                            provider,
                            None if open_end else rec,
                            group,
                        )
                    )
                    rne = str(rng.choice(["L", "P", "T", "U", "B"]))
                    when = end
                if open_end:
                    break
                when = when + int(rng.integers(1, 400)) * day
        for _ in range(int(rng.integers(0, 3))):
            ref = base + int(rng.integers(0, 2600)) * day
            row: dict = {"child_id": child, "dob": dob, "referral_date": ref}
            if rng.random() < 0.2:
                row["referral_nfa"] = True
            else:
                a_end = ref + int(rng.integers(0, 60)) * day
                row["assessment_end"] = a_end if rng.random() < 0.9 else pd.NaT
                if rng.random() < 0.3:
                    row["cp_start"] = a_end + int(rng.integers(0, 30)) * day
                    row["cp_end"] = row["cp_start"] + int(rng.integers(1, 400)) * day
                if rng.random() < 0.8:
                    row["closure_date"] = a_end + int(rng.integers(0, 500)) * day
            cin_rows.append(row)
        if rng.random() < 0.4:
            start = base + int(rng.integers(0, 2600)) * day
            end = start + int(rng.integers(1, 300)) * day
            eh_rows.append(
                (
                    child,
                    dobs[child],
                    start.strftime("%Y-%m-%d"),
                    end.strftime("%Y-%m-%d") if rng.random() < 0.9 else None,
                )
            )
    return make_council(dobs, episodes, cin=cin_frame(cin_rows), early_help=eh_frame(eh_rows))


@pytest.fixture(scope="module")
def random_history() -> tuple[CouncilData, EventHistory]:
    council = random_council(600, seed=20240611)
    return council, build(council)


def test_spells_per_child_never_overlap(random_history: tuple[CouncilData, EventHistory]) -> None:
    _, history = random_history
    spells = history.spells.sort_values(["child_id", "start"])
    ends = spells["end"].fillna(D("2100-01-01"))
    assert (ends > spells["start"]).all()
    same = spells["child_id"].eq(spells["child_id"].shift(-1))
    assert (spells["start"].shift(-1)[same] >= ends[same]).all()
    assert len(spells) > 1000  # the generator produced a busy history


def test_spell_table_is_consistent(random_history: tuple[CouncilData, EventHistory]) -> None:
    council, history = random_history
    spells = history.spells
    assert (spells["start"] <= council.window_end).all()
    assert (spells["end"].isna() | (spells["end"] > council.window_start)).all()
    assert (spells["end"].isna() | (spells["end"] <= council.window_end)).all()
    assert spells["next_state"].isna().equals(spells["end"].isna())
    to_care = spells["next_state"] == vocab.CARE
    assert spells.loc[to_care, "next_group"].notna().all()
    assert spells.loc[~to_care, "next_group"].isna().all()
    closed = spells["state"].isin(vocab.STATE_PRIORITY[1:]) & (spells["next_state"] == "none")
    assert spells.loc[closed, "exit_reason"].eq(vocab.CLOSED).all()
    care = spells["state"] == vocab.CARE
    assert spells.loc[care, "placement_group"].notna().all()
    assert spells.loc[care, "care_period"].notna().all()
    assert spells.loc[~care, "care_period"].isna().all()
    exits = care & spells["exit_reason"].notna()
    assert spells.loc[exits, "exit_reason"].isin(vocab.CARE_EXITS).all()
    assert set(spells["state"]) == set(vocab.STATES)
    # stock is a count of children: no child is counted twice on a day
    for date in pd.date_range("2016-06-30", "2021-03-31", freq="180D"):
        open_on = history.open_on(date)
        assert open_on["child_id"].is_unique
        assert history.stock(date).sum() == len(open_on)


def test_care_spells_cover_exactly_the_days_in_care(
    random_history: tuple[CouncilData, EventHistory],
) -> None:
    council, history = random_history
    episodes = council.episodes
    rng = np.random.default_rng(7)
    days = council.window_start + pd.to_timedelta(rng.integers(0, 1800, size=40), unit="D")
    care = history.spells.loc[history.spells["state"] == vocab.CARE]
    for date in days:
        in_episode = (episodes["decom"] <= date) & (
            episodes["dec"].isna() | (episodes["dec"] > date)
        )
        expected = set(episodes.loc[in_episode, "child_id"])
        in_spell = (care["start"] <= date) & (care["end"].isna() | (care["end"] > date))
        assert set(care.loc[in_spell, "child_id"]) == expected


def test_arrivals_are_inside_the_window(random_history: tuple[CouncilData, EventHistory]) -> None:
    council, history = random_history
    arrivals = history.arrivals
    assert arrivals["date"].between(council.window_start, council.window_end).all()
    assert set(arrivals["kind"]) == {"referral", "early_help_request", "care_entry"}
    assert not arrivals.loc[arrivals["kind"] != "referral", "rereferral"].any()
    dob = arrivals["child_id"].map(council.header.set_index("child_id")["dob"])
    expected = (arrivals["date"] - dob).dt.days / 365.25
    assert np.allclose(arrivals["age"], expected)


def test_arrivals_from_outside_drop_step_ups_and_entries_from_cp() -> None:
    spells = pd.DataFrame(
        {
            "child_id": ["a", "a", "b", "b", "c", "e", "e"],
            "state": ["early_help", "assessment", "cp", "care", "care", "cp", "assessment"],
            "start": pd.to_datetime(
                [
                    "2020-01-01",
                    "2020-03-01",
                    "2020-01-10",
                    "2020-05-01",
                    "2020-06-01",
                    "2020-01-05",
                    "2020-08-01",
                ]
            ),
            "prev_state": ["none", "early_help", "none", "cp", "none", "none", "cp"],
        }
    )
    arrivals = pd.DataFrame(
        {
            "child_id": ["a", "a", "b", "b", "c", "d", "e"],
            "date": pd.to_datetime(
                [
                    "2020-01-01",
                    "2020-03-01",
                    "2020-01-10",
                    "2020-05-01",
                    "2020-06-01",
                    "2020-07-01",
                    "2020-08-01",
                ]
            ),
            "kind": [
                "early_help_request",
                "referral",
                "referral",
                "care_entry",
                "care_entry",
                "referral",
                "referral",
            ],
        }
    )
    history = EventHistory(
        spells=spells,
        arrivals=arrivals,
        children=pd.DataFrame(),
        window_start=pd.Timestamp("2019-04-01"),
        window_end=pd.Timestamp("2021-03-31"),
        mode="continuum",
        fingerprint="x",
    )
    outside = history.arrivals_from_outside()
    assert list(zip(outside.child_id, outside.kind, strict=True)) == [
        ("a", "early_help_request"),
        ("b", "referral"),
        ("c", "care_entry"),
        ("d", "referral"),  # closed with no further action: still from outside
        ("e", "referral"),  # a new referral after a CP plan: the plan closes, this arrives
    ]


def test_truncate_censors_spells_open_at_the_cut() -> None:
    spells = pd.DataFrame(
        {
            "child_id": ["a", "a", "b"],
            "state": ["cin", "cp", "care"],
            "start": pd.to_datetime(["2019-01-01", "2019-06-01", "2020-05-01"]),
            "end": pd.to_datetime(["2019-06-01", "2020-02-01", pd.NaT]),
            "next_state": ["cp", "none", pd.NA],
            "next_group": [pd.NA, pd.NA, pd.NA],
            "exit_reason": [pd.NA, "closed", pd.NA],
        }
    )
    arrivals = pd.DataFrame(
        {
            "child_id": ["a", "b"],
            "date": pd.to_datetime(["2019-01-01", "2020-05-01"]),
            "kind": ["referral", "care_entry"],
        }
    )
    history = EventHistory(
        spells=spells,
        arrivals=arrivals,
        children=pd.DataFrame(),
        window_start=pd.Timestamp("2018-04-01"),
        window_end=pd.Timestamp("2021-03-31"),
        mode="continuum",
        fingerprint="f",
    )
    cut = history.truncate("2019-12-31")
    assert cut.window_end == pd.Timestamp("2019-12-31")
    assert list(cut.spells["state"]) == ["cin", "cp"]  # care starts after the cut
    cp = cut.spells.iloc[1]
    assert pd.isna(cp["end"]) and pd.isna(cp["next_state"]) and pd.isna(cp["exit_reason"])
    assert cut.spells.iloc[0]["next_state"] == "cp"  # closed before the cut: unchanged
    assert list(cut.arrivals["kind"]) == ["referral"]
    assert cut.fingerprint != history.fingerprint
    with pytest.raises(ValueError, match="outside the window"):
        history.truncate("2022-01-01")


def test_a_child_born_on_29_february_comes_of_age_on_1_march_in_a_common_year() -> None:
    import pandas as pd

    from care_demand.data.dates import add_years

    born = pd.Series(pd.to_datetime(["2000-02-29", "2002-02-28", "2004-02-29"]))
    assert add_years(born, 18).dt.strftime("%Y-%m-%d").tolist() == [
        "2018-03-01",
        "2020-02-28",
        "2022-03-01",
    ]
    assert add_years(born, 16).dt.strftime("%Y-%m-%d").tolist()[0] == "2016-02-29"
