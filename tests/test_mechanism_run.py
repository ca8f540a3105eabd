"""A run writes every future's flows per financial year, adding up to the published means."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from care_demand import vocab
from care_demand.outputs.layout import LAYOUT


def test_a_run_writes_flows_by_replicate_that_add_up(report_run: Path) -> None:
    flows = pd.read_csv(report_run / LAYOUT.flows_by_replicate, dtype={"financial_year": str})
    assert list(flows.columns) == ["replicate", "financial_year", "part_year", "flow", "value"]
    assert flows["replicate"].nunique() == 8
    wide = flows.pivot_table(
        index=["replicate", "financial_year"], columns="flow", values="value", aggfunc="sum"
    )
    bands = [c for c in wide.columns if c.startswith("entries_to_care:")]
    assert len(bands) == 5  # the flow model's age bands under 18
    # Entries by age band (counted at entry) add up to all entries (counted from the moves),
    # exits by reason to all exits, in every future and year.
    pd.testing.assert_series_equal(
        wide[bands].sum(axis=1), wide["entries_to_care"], check_names=False
    )
    reasons = [f"exit:{r}" for r in vocab.CARE_EXITS]
    pd.testing.assert_series_equal(
        wide[reasons].sum(axis=1), wide["exits_from_care"], check_names=False
    )
    assert wide["entries_to_care"].sum() > 0 and wide["exits_from_care"].sum() > 0
    assert (wide["step_down:harbour"] <= wide["step_down:residential_to_family"]).all()
    # The means across futures are the published flows_by_year.csv's projected values.
    published = pd.read_csv(report_run / LAYOUT.flows, dtype={"financial_year": str, "value": str})
    projected = published[published["kind"] == "projected"]
    means = flows.groupby(["flow", "financial_year"])["value"].mean()
    checked = 0
    for row in projected.itertuples():
        if (row.flow, row.financial_year) in means.index:
            assert means[(row.flow, row.financial_year)] == pytest.approx(
                float(row.value), abs=0.051
            )
            checked += 1
    assert checked >= 2 * (2 + len(reasons))  # entries, exits, reasons, steps, in 2+ years
