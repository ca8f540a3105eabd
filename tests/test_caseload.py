"""The starting caseload is checked against the record before a projection starts from it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from care_demand.config import EXAMPLE_DATA_DIR, load_config
from care_demand.data import CaseloadError, check_caseload
from care_demand.pipeline import load, run

IN_CARE_2022 = 416  # children in care at 31 March 2022 in the built-in example


def _example_losing(tmp_path: Path, lost: int | None) -> tuple[Path, int]:
    """A copy of the example in which the first ``lost`` episodes open at the end of the last
    return (all of them when ``None``) have a PLACE that is no code, in every return that
    holds them; returns the folder and the number of such episodes."""
    folder = tmp_path / "data"
    shutil.copytree(EXAMPLE_DATA_DIR, folder)
    files = sorted((folder / "ssda903").glob("episodes_*.csv"))
    last = pd.read_csv(files[-1], dtype=str, keep_default_na=False)
    open_keys = list(zip(last["CHILD"], last["DECOM"], strict=True))
    open_keys = [k for k, dec in zip(open_keys, last["DEC"], strict=True) if dec == ""]
    chosen = set(open_keys if lost is None else open_keys[:lost])
    for path in files:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
        keys = pd.Series(list(zip(table["CHILD"], table["DECOM"], strict=True)))
        table.loc[keys.isin(chosen).to_numpy(), "PLACE"] = "Q9"
        table.to_csv(path, index=False)
    return folder, len(chosen)


def _config(folder: Path, *extra: str):
    return load_config([f"data.path={folder}", "data.lenient=true", *extra])


def test_a_run_that_lost_every_open_episode_stops_before_projecting(tmp_path: Path) -> None:
    folder, _ = _example_losing(tmp_path, None)
    out = tmp_path / "out"
    with pytest.raises(CaseloadError) as err:
        run(_config(folder), out)
    message = str(err.value)
    assert "no child is in care at 31 March 2022" in message
    assert "ssda903/episodes_2022.csv, line " in message
    assert "unknown_code" in message
    assert not out.exists()  # nothing written


def test_a_loss_above_the_allowed_share_stops_and_names_the_rows(tmp_path: Path) -> None:
    folder, lost = _example_losing(tmp_path, 60)
    council, history, _ = load(_config(folder))
    with pytest.raises(CaseloadError) as err:
        check_caseload(council, history, 0.10)
    message = str(err.value)
    assert f"of the {IN_CARE_2022} children in care at 31 March 2022" in message
    assert "data.max_lost_caseload_share=10%" in message
    assert message.count("ssda903/episodes_2022.csv, line ") == 20  # listed, then counted
    assert "more" in message
    # A larger allowed share lets the same data through, and says what was lost.
    check = check_caseload(council, history, 0.5)
    assert check.record == IN_CARE_2022
    assert check.lost == lost
    assert check.history + check.lost == IN_CARE_2022


def test_a_small_loss_runs_and_is_reported_first(tmp_path: Path) -> None:
    folder, lost = _example_losing(tmp_path, 5)
    first = folder / "ssda903" / "episodes_2016.csv"
    table = pd.read_csv(first, dtype=str, keep_default_na=False)
    table.loc[0, "RNE"] = table.loc[0, "RNE"].lower()  # a code in lower case: repaired
    table.to_csv(first, index=False)
    config = _config(folder, "run_until=data")
    council, history, _ = load(config)
    check = check_caseload(council, history, config.data.max_lost_caseload_share)
    assert check.lost == 5 and check.history == IN_CARE_2022 - 5
    run(config, tmp_path / "out")
    summary = (tmp_path / "out" / "data_summary.md").read_text()
    intro = summary.split("\n## ", 1)[0]
    # Each lost episode was open in several returns: every copy is a dropped row.
    rows = pd.read_csv(tmp_path / "out" / "dropped_rows.csv")
    assert list(rows.columns) == ["file", "line", "rule", "open_episode"]  # no child id
    assert int(rows["open_episode"].sum()) == sum(council.dropped_open.values()) > lost
    copies = sum(council.dropped_open.values())
    assert f"**Open episodes dropped: {copies} (of {lost} children).**" in intro
    assert json.loads((tmp_path / "out" / "repairs.json").read_text()) == {"code_case": 1}
    assert "code_case: 1" in intro
    assert "Values repaired, by rule" in (tmp_path / "out" / "report.html").read_text()


def test_the_allowed_share_is_checked() -> None:
    from care_demand.errors import CareDemandError

    with pytest.raises(CareDemandError, match="max_lost_caseload_share"):
        check_caseload(None, None, 1.5)  # type: ignore[arg-type]
