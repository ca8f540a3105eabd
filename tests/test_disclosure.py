"""Disclosure control: primary and secondary suppression, and a real run's outputs."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from care_demand.config import EXAMPLE_DATA_DIR, load_config
from care_demand.data import EventHistory
from care_demand.outputs.disclosure import (
    MONTHLY_TOTALS,
    PUBLISHED_TABLES,
    STOCK_TOTALS,
    DisclosureRule,
    Total,
    disclosure_problems,
    suppress_counts,
    suppress_small_counts,
)
from care_demand.outputs.workbook import PUBLICATION_SHEET

RULE = DisclosureRule()
PARTS = Total(column="group", total="all", parts=("a", "b", "c", "d"), within=("year",))


def table(values: dict[str, object], year: int = 2022) -> pd.DataFrame:
    """One year's total (``all``) and parts ``a``-``d``."""
    return pd.DataFrame({"year": year, "group": list(values), "n": list(values.values())})


def hidden(frame: pd.DataFrame) -> set[str]:
    return set(frame.loc[frame["n"] == RULE.marker, "group"])


# ---------------------------------------------------------------------------------------
# The rule on small tables


def test_primary_suppression_hides_one_to_five_only() -> None:
    frame = pd.DataFrame({"n": [0, 1, 3, 5, 6, 120]})
    out = suppress_counts(frame, "n", RULE)
    assert out["n"].tolist() == ["0", "[c]", "[c]", "[c]", "6", "120"]
    # The threshold and the marker come from the rule (configs/output/default.yaml).
    wider = suppress_counts(frame, "n", DisclosureRule(suppress_max=10, marker="*"))
    assert wider["n"].tolist() == ["0", "*", "*", "*", "*", "120"]
    # The older column-by-column helper keeps working, primary only.
    old = suppress_small_counts(frame, ["n"])
    assert old["n"].tolist() == ["0", "[c]", "[c]", "[c]", "6", "120"]


def test_a_total_with_one_hidden_part_gets_the_smallest_other_part_hidden() -> None:
    frame = table({"all": 45, "a": 3, "b": 20, "c": 8, "d": 14})
    out = suppress_counts(frame, "n", RULE, [PARTS])
    # Without the second cell, 45 - 20 - 8 - 14 = 3 would reveal the hidden count.
    assert hidden(out) == {"a", "c"}
    assert out.loc[out["group"] == "all", "n"].item() == "45"
    assert disclosure_problems(out, "n", RULE, [PARTS]) == []


def test_a_zero_part_is_not_chosen_while_a_counted_part_can_be() -> None:
    frame = table({"all": 9, "a": 2, "b": 0, "c": 7, "d": 0})
    assert hidden(suppress_counts(frame, "n", RULE, [PARTS])) == {"a", "c"}
    # A total equal to one small part is small itself: both hidden, nothing more needed.
    frame = table({"all": 2, "a": 2, "b": 0, "c": 0, "d": 0})
    assert hidden(suppress_counts(frame, "n", RULE, [PARTS])) == {"all", "a"}


def test_the_total_is_hidden_when_every_other_part_is_already_hidden() -> None:
    frame = pd.DataFrame({"year": 2022, "group": ["all", "a"], "n": [4, 4]})
    out = suppress_counts(frame, "n", RULE, [Total("group", "all", ("a",), ("year",))])
    assert hidden(out) == {"all", "a"}


def test_two_hidden_parts_need_no_more() -> None:
    frame = table({"all": 40, "a": 3, "b": 4, "c": 8, "d": 25})
    assert hidden(suppress_counts(frame, "n", RULE, [PARTS])) == {"a", "b"}


def test_groups_are_protected_separately() -> None:
    frame = pd.concat(
        [
            table({"all": 45, "a": 3, "b": 20, "c": 8, "d": 14}, 2021),
            table({"all": 60, "a": 12, "b": 20, "c": 8, "d": 20}, 2022),
        ]
    )
    out = suppress_counts(frame, "n", RULE, [PARTS])
    assert set(out.loc[(out["year"] == 2021) & (out["n"] == "[c]"), "group"]) == {"a", "c"}
    assert not (out.loc[out["year"] == 2022, "n"] == "[c]").any()


def test_ties_go_to_the_first_named_part_whatever_the_row_order() -> None:
    frame = table({"all": 30, "a": 3, "b": 9, "c": 9, "d": 9})
    forward = suppress_counts(frame, "n", RULE, [PARTS])
    backward = suppress_counts(frame.iloc[::-1], "n", RULE, [PARTS])
    assert hidden(forward) == hidden(backward) == {"a", "b"}


def test_secondary_suppression_can_be_switched_off() -> None:
    frame = table({"all": 45, "a": 3, "b": 20, "c": 8, "d": 14})
    rule = DisclosureRule(secondary=False)
    assert hidden(suppress_counts(frame, "n", rule, [PARTS])) == {"a"}


def test_a_published_table_is_unchanged_by_the_rule_and_problems_are_named() -> None:
    frame = table({"all": 45, "a": 3, "b": 20, "c": 8, "d": 14})
    once = suppress_counts(frame, "n", RULE, [PARTS])
    twice = suppress_counts(once, "n", RULE, [PARTS])
    pd.testing.assert_frame_equal(once, twice)
    primary_only = suppress_counts(frame, "n", DisclosureRule(secondary=False), [PARTS])
    problems = disclosure_problems(primary_only, "n", RULE, [PARTS])
    assert len(problems) == 1 and "worked out" in problems[0]
    assert disclosure_problems(frame, "n", RULE, [PARTS])[0].endswith("n = 3 is shown")


def test_a_value_that_is_not_a_count_is_refused() -> None:
    with pytest.raises(ValueError, match="not a count"):
        suppress_counts(pd.DataFrame({"n": [1, "three"]}), "n", RULE)
    with pytest.raises(KeyError, match="children"):
        suppress_counts(pd.DataFrame({"n": [1]}), "children", RULE)


def test_the_rule_is_read_from_the_configuration() -> None:
    config = load_config(["output.suppress_max=9", "output.secondary_suppression=false"])
    rule = DisclosureRule.from_config(config.output)
    assert rule == DisclosureRule(suppress_max=9, marker="[c]", secondary=False)
    assert DisclosureRule.from_config(load_config().output) == DisclosureRule()


# ---------------------------------------------------------------------------------------
# A real run of the example


# A pseudonym, or a six-digit raw id written as a word; not the decimals of an SVG drawing's
# coordinates. Images embedded in a page are base64 data, not text: they are left out (the
# same charts are checked as their own SVG files).
ID_LIKE = re.compile(
    r"(?<![0-9A-Za-z])C[0-9a-f]{12}(?![0-9a-f])|(?<![0-9A-Za-z.])\d{6}(?![0-9A-Za-z]|\.\d)"
)
EMBEDDED = re.compile(r"data:[a-z/+]+;base64,[A-Za-z0-9+/=]+")
TEXT_SUFFIXES = {".csv", ".md", ".html", ".json", ".svg", ".txt", ".yaml", ".log"}


def test_no_output_file_holds_a_child_id(report_run: Path, example_history: EventHistory) -> None:
    raw_ids: set[str] = set()
    for header in (EXAMPLE_DATA_DIR / "ssda903").glob("header_*.csv"):
        raw_ids |= set(pd.read_csv(header, dtype=str)["CHILD"])
    pseudonyms = set(example_history.children["child_id"])
    assert len(pseudonyms) > 1000 and raw_ids
    # The pattern finds an id written in text, and not a drawing's coordinates.
    one, raw = sorted(pseudonyms)[0], sorted(raw_ids)[0]
    assert set(ID_LIKE.findall(f"child {one}, episode of {raw}.")) == {one, raw}
    assert not ID_LIKE.findall(f"M 780.{raw} 22.318125")
    assert not ID_LIKE.findall(EMBEDDED.sub("", f"src='data:image/png;base64,AAb+{raw}/x9='"))
    checked = set()
    for path in report_run.rglob("*"):
        if path.suffix not in TEXT_SUFFIXES:
            continue
        checked.add(path.suffix)
        text = EMBEDDED.sub("", path.read_text(errors="replace"))
        found = set(ID_LIKE.findall(text))
        assert not found & (raw_ids | pseudonyms), path
    assert {".csv", ".md", ".html", ".json", ".svg"} <= checked


def test_published_tables_show_no_small_or_derivable_count(report_run: Path) -> None:
    for name, (column, totals) in PUBLISHED_TABLES.items():
        frame = pd.read_csv(report_run / name, dtype={column: str})
        assert disclosure_problems(frame, column, RULE, totals) == [], name
    stocks = pd.read_csv(report_run / "stocks_31_march.csv", dtype={"children": str})
    # The example has small placement groups, so the rule has work to do.
    assert (stocks["children"] == RULE.marker).sum() >= 2


def test_a_hidden_count_is_hidden_the_same_way_in_every_file(report_run: Path) -> None:
    stocks = pd.read_csv(report_run / "stocks_31_march.csv", dtype={"children": str})
    monthly = pd.read_csv(report_run / "recorded_monthly.csv", dtype={"children": str})
    care = stocks[stocks["state"] == "care"].assign(
        category=lambda d: d["placement_group"].where(d["placement_group"] != "all", "care"),
        month=lambda d: d["date"],
    )
    both = care.merge(monthly, on=["month", "category"], suffixes=("_stock", "_month"))
    assert len(both) == len(care)
    assert (both["children_stock"] == both["children_month"]).all()
    assert STOCK_TOTALS.parts == MONTHLY_TOTALS.parts  # the same tie-break order


def _markdown_cells(text: str) -> list[str]:
    cells = []
    for line in text.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            cells += [c.strip() for c in line.strip("|").split("|")]
    return cells


def test_the_data_summary_shows_no_small_count(report_run: Path) -> None:
    cells = _markdown_cells((report_run / "data_summary.md").read_text())
    numbers = [int(c) for c in cells if c.isdigit()]
    assert numbers and not [n for n in numbers if 1 <= n <= RULE.suppress_max]
    assert RULE.marker in cells


class _RecordedCells(HTMLParser):
    """The cells of every ``<table class="recorded">``."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.in_cell = False
        self.cells: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("class", "recorded") in attrs:
            self.depth += 1
        if self.depth and tag == "td":
            self.in_cell = True
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self.in_cell = False
        if tag == "table" and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.in_cell:
            self.cells[-1] += data


def test_the_report_tables_of_recorded_counts_show_no_small_count(report_run: Path) -> None:
    parser = _RecordedCells()
    parser.feed((report_run / "report.html").read_text())
    numbers = [int(c.replace(",", "")) for c in parser.cells if c.replace(",", "").isdigit()]
    assert len(numbers) > 50  # the recorded tables are there
    assert not [n for n in numbers if 1 <= n <= RULE.suppress_max]
    assert RULE.marker in parser.cells


def test_the_workbook_publication_sheet_matches_the_published_csv(report_run: Path) -> None:
    book = load_workbook(report_run / "finance/workbook.xlsx", read_only=True)
    rows = list(book[PUBLICATION_SHEET].values)
    header, body = rows[3], rows[4:]
    assert list(header) == ["Date", "Stage of care", "Placement group", "Children", "Note"]
    sheet = [r[3] for r in body]
    numbers = [v for v in sheet if isinstance(v, int | float)]
    assert numbers and not [v for v in numbers if 1 <= v <= RULE.suppress_max]
    # A suppressed count is a blank cell with a note, never the marker as text.
    published = pd.read_csv(report_run / "stocks_31_march.csv", dtype={"children": str})
    expected = [None if v == RULE.marker else int(v) for v in published["children"]]
    assert sheet == expected
    assert [r[4] for r in body] == ["Suppressed" if v is None else None for v in expected]
