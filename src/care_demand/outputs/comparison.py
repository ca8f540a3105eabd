"""The comparison of a multirun: each scenario against the baseline, replicate by replicate.

Every scenario run with the same seed gives replicate ``r`` the same posterior draw, the
same arrival path and the same children's luck (common random numbers), so the difference
scenario minus baseline is taken within each replicate before it is summarised: its
interval shows the uncertainty about the difference, far narrower than the difference of
two independent intervals.

Each run folder holds ``status.json`` and, when it succeeded,
``projection/key_measures_by_replicate.csv`` (and ``finance/costs_by_replicate.csv`` when
costed; names in :data:`care_demand.outputs.layout.LAYOUT`). :func:`compare_runs` reads
them and :func:`write_comparison` writes the tables of ``comparison/``;
:class:`care_demand.multirun.Multirun` calls them at the end of a multirun
(``care-demand -m scenario=...``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.finance import CostConfig, fixed_cost_title, savings
from care_demand.outputs.family_help import family_help_replicates
from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.mechanism import cost_bridge, flow_differences
from care_demand.outputs.workbook import CoverDetails, RealTerms, write_workbook

__all__ = [
    "KEY_MEASURES",
    "Comparison",
    "compare_runs",
    "comparison_markdown",
    "key_measures",
    "write_comparison",
    "write_comparison_workbook",
]

log = logging.getLogger("care_demand")

BASELINE = "baseline"

# Measures compared at each 31 March (and at the end of the horizon), with their labels.
KEY_MEASURES: dict[str, str] = {
    "children_in_care": "Children in care",
    "external_placements": "External placements (IFA and external residential)",
    "external_residential": "External residential placements",
    "out_of_area": "Children placed out of area",
    "shortfall": "Children placed externally for want of an in-house place",
    "kinship_placements": "Children placed with kinship carers",
    # Family Help (Families First): early help and children in need as one service.
    "family_help": "Family Help caseload (early help and children in need)",
}


@dataclass(frozen=True)
class Comparison:
    """The comparison of a set of scenario runs.

    ``headline``: one row per scenario: the measures at the end of the horizon and the
    cumulative cost, each as P50, P10 and P90, and the paired difference from the baseline.
    ``by_year``: the same per 31 March (and per financial year for costs).
    ``failed``: scenarios whose run failed, with the reason.
    ``savings``: each scenario's paired savings against the baseline by year, with the
    cumulative saving, its net present value and progress against the savings target
    (:func:`care_demand.finance.savings`, plus a ``scenario`` column); empty without costs.
    ``flows``: how each scenario works: its paired differences in flows from the baseline
    (:func:`care_demand.outputs.mechanism.flow_differences`, plus a ``scenario`` column).
    ``bridge``: each scenario's cost bridge from the baseline by budget line
    (:func:`care_demand.outputs.mechanism.cost_bridge`, plus a ``scenario`` column).
    """

    headline: pd.DataFrame
    by_year: pd.DataFrame
    failed: dict[str, str]
    savings: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    flows: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)
    bridge: pd.DataFrame = dataclasses.field(default_factory=pd.DataFrame)


def key_measures(replicates: pd.DataFrame, family_help: bool = True) -> pd.DataFrame:
    """The compared measures per replicate and month, from a simulation's replicate table.

    Columns ``replicate``, ``month``, ``measure`` (see :data:`KEY_MEASURES`) and ``value``;
    without the Family Help caseload when ``family_help`` is false (the council's files do
    not record both early help and children in need, so there is none to compare).
    """
    rep = replicates[replicates["age_band"] == "all"]
    children = rep[rep["measure"] == "children"]

    def total(frame: pd.DataFrame, name: str) -> pd.DataFrame:
        out = frame.groupby(["replicate", "month"], as_index=False)["value"].sum()
        return out.assign(measure=name)

    parts = [
        total(children[children["category"] == "care"], "children_in_care"),
        total(
            children[children["category"].isin(["ifa", "external_residential"])],
            "external_placements",
        ),
        total(children[children["category"] == "external_residential"], "external_residential"),
        total(rep[rep["measure"] == "out_of_area"], "out_of_area"),
        total(rep[rep["measure"] == "shortfall"], "shortfall"),
        total(children[children["category"] == vocab.KINSHIP_FOSTER], "kinship_placements"),
    ]
    if family_help:
        parts.append(total(family_help_replicates(children), "family_help"))
    out = pd.concat(parts, ignore_index=True)
    return out[["replicate", "month", "measure", "value"]]


def _read_status(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / LAYOUT.status
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _quantiles(values: pd.Series) -> dict[str, float]:
    v = values.to_numpy(dtype=float)
    return {
        "p10": float(np.quantile(v, 0.10)),
        "p50": float(np.quantile(v, 0.50)),
        "p90": float(np.quantile(v, 0.90)),
        "mean": float(v.mean()),
    }


def _per_replicate(run_dir: Path, costs: pd.DataFrame | None) -> pd.DataFrame:
    """Replicate x period x measure values: stocks at each 31 March, costs per year and total.

    ``costs`` is the run's costs by replicate (``None`` for a run that was not costed).
    """
    key = pd.read_csv(run_dir / LAYOUT.key_measures, parse_dates=["month"])
    march = key[key["month"].dt.month == 3]
    last = key[key["month"] == key["month"].max()]
    parts = [
        march.assign(period=march["month"].dt.strftime("%Y-%m-%d")),
        last.assign(period="end"),
    ]
    frame = pd.concat(parts, ignore_index=True)[["replicate", "period", "measure", "value"]]
    if costs is not None:
        costs = costs[costs["complete"].astype(bool)]  # whole financial years only
        yearly = costs.groupby(["replicate", "financial_year"], as_index=False)["value"].sum()
        yearly = yearly.rename(columns={"financial_year": "period"}).assign(measure="cost")
        total = costs.groupby("replicate", as_index=False)["value"].sum()
        total = total.assign(period="total", measure="cost")
        frame = pd.concat([frame, yearly, total], ignore_index=True)
    return frame.drop_duplicates(["replicate", "period", "measure"], keep="last")


def compare_runs(run_dirs: Sequence[Path], costs: CostConfig | None = None) -> Comparison:
    """Compare the scenario runs in ``run_dirs`` with the one named ``baseline``.

    With ``costs`` (the target, discount rate and deflator), each costed scenario's paired
    savings against the baseline are summarised too.
    """
    values: dict[str, pd.DataFrame] = {}
    failed: dict[str, str] = {}
    costed: dict[str, pd.DataFrame] = {}
    moved: dict[str, pd.DataFrame] = {}
    for run_dir in run_dirs:
        status = _read_status(Path(run_dir))
        if status is None:
            continue
        name = status.get("scenario", Path(run_dir).name)
        if not status.get("ok", False):
            failed[name] = status.get("error", "unknown error")
            continue
        if not (Path(run_dir) / LAYOUT.key_measures).is_file():
            failed[name] = f"the run wrote no {LAYOUT.key_measures} (run_until was not simulation)"
            continue
        costs_path = Path(run_dir) / LAYOUT.costs_by_replicate
        if costs_path.is_file():
            costed[name] = pd.read_csv(costs_path)
        flows_path = Path(run_dir) / LAYOUT.flows_by_replicate
        if flows_path.is_file():
            moved[name] = pd.read_csv(flows_path, dtype={"financial_year": str})
        values[name] = _per_replicate(Path(run_dir), costed.get(name))
    rows = []
    base = values.get(BASELINE)
    for name, frame in values.items():
        paired = None
        if base is not None and name != BASELINE:
            if set(frame["replicate"]) != set(base["replicate"]):
                raise ValueError(
                    f"scenario {name!r} and the baseline do not share their replicates; "
                    "run them with the same seed and number of replicates"
                )
            paired = frame.merge(
                base, on=["replicate", "period", "measure"], suffixes=("", "_base")
            )
            paired["diff"] = paired["value"] - paired["value_base"]
        for (period, measure), group in frame.groupby(["period", "measure"], sort=False):
            row: dict[str, Any] = {"scenario": name, "period": period, "measure": measure}
            row.update(_quantiles(group["value"]))
            if paired is not None:
                sel = paired[(paired["period"] == period) & (paired["measure"] == measure)]
                diff = _quantiles(sel["diff"])
                row.update({f"diff_{k}": v for k, v in diff.items()})
            rows.append(row)
    by_year = pd.DataFrame(rows)
    if by_year.empty:
        return Comparison(headline=by_year, by_year=by_year, failed=failed)
    saved = []
    if costs is not None and BASELINE in costed:
        for name in sorted(set(costed) - {BASELINE}):
            table = savings(costed[BASELINE], costed[name], costs)
            saved.append(table.assign(scenario=name))
    saving_table = pd.concat(saved, ignore_index=True) if saved else pd.DataFrame()
    if not saving_table.empty:
        saving_table = saving_table[["scenario", *saving_table.columns[:-1]]]
    order = {name: i for i, name in enumerate([BASELINE, *sorted(set(values) - {BASELINE})])}
    by_year = by_year.sort_values(
        ["scenario", "measure", "period"], key=lambda s: s.map(order) if s.name == "scenario" else s
    ).reset_index(drop=True)
    head = by_year[by_year["period"].isin(["end", "total"])].copy()
    return Comparison(
        headline=head.reset_index(drop=True),
        by_year=by_year,
        failed=failed,
        savings=saving_table,
        flows=_against_baseline(moved, flow_differences),
        bridge=_against_baseline(costed, cost_bridge),
    )


def _against_baseline(
    tables: dict[str, pd.DataFrame],
    compare: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame],
) -> pd.DataFrame:
    """``compare(scenario, baseline)`` for every scenario with a table, with a ``scenario``
    column first (empty without the baseline's table)."""
    if BASELINE not in tables:
        return pd.DataFrame()
    frames = []
    for name in sorted(set(tables) - {BASELINE}):
        table = compare(tables[name], tables[BASELINE])
        frames.append(table.assign(scenario=name)[["scenario", *table.columns]])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _fmt(value: float, money: bool) -> str:
    if money:
        return f"£{value / 1e6:,.1f}m"
    return f"{value:,.0f}"


def comparison_markdown(comparison: Comparison) -> str:
    """The headline comparison as a Markdown table (P50 and P10-P90; difference from baseline)."""
    lines = [
        "# Scenario comparison",
        "",
        "Figures are the median (P50) and 80% interval (P10-P90) across replicates. Differences"
        " are paired: scenario minus baseline within each replicate (common random numbers).",
        "Stocks are at the end of the projection; cost is cumulative over the projection.",
        "",
    ]
    head = comparison.headline
    if head.empty:
        lines.append("No scenario finished, so there is nothing to compare.")
    elif BASELINE not in set(head["scenario"]):
        lines += ["No baseline finished in this multirun, so no differences from it.", ""]
    if not head.empty:
        measures = [m for m in [*KEY_MEASURES, "cost"] if m in set(head["measure"])]
        header = (
            "| Scenario | "
            + " | ".join(KEY_MEASURES.get(m, "Cumulative cost") for m in measures)
            + " |"
        )
        lines += [header, "|" + "---|" * (len(measures) + 1)]
        for name, group in head.groupby("scenario", sort=False):
            cells = []
            for m in measures:
                row = group[group["measure"] == m].iloc[0]
                money = m == "cost"
                cell = f"{_fmt(row.p50, money)} ({_fmt(row.p10, money)}-{_fmt(row.p90, money)})"
                if "diff_p50" in row and pd.notna(row.get("diff_p50")):
                    cell += (
                        f"; vs baseline {_sign(row.diff_p50, money)} "
                        f"({_sign(row.diff_p10, money)} to {_sign(row.diff_p90, money)})"
                    )
                cells.append(cell)
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
    sav = comparison.savings
    if not sav.empty:
        cumulative = sav[(sav["measure"] == "cumulative_saving") & (sav["line"] == "total")]
        last = cumulative.groupby("scenario")["financial_year"].transform("max")
        final = cumulative[cumulative["financial_year"] == last]
        npv = sav[(sav["measure"] == "npv_to_date") & (sav["line"] == "total")]
        npv = npv[
            npv["financial_year"] == npv.groupby("scenario")["financial_year"].transform("max")
        ]
        lines += [
            "",
            "## Savings against the baseline",
            "",
            "Cumulative saving over the complete financial years projected (cash terms), P50 and"
            " P10-P90, paired replicate by replicate; the share of replicates meeting the savings"
            " target; and the net present value (Green Book discount rate, real terms).",
            "",
            "| Scenario | To | Cumulative saving | Target | Meets target | NPV |",
            "|---|---|---|---|---|---|",
        ]
        for _, row in final.iterrows():
            pv = npv[npv["scenario"] == row["scenario"]]
            pv_text = (
                f"{_sign(pv['p50'].iloc[0], True)} ({_sign(pv['p10'].iloc[0], True)} to "
                f"{_sign(pv['p90'].iloc[0], True)})"
                if not pv.empty
                else ""
            )
            lines.append(
                f"| {row['scenario']} | {row['financial_year']} | {_sign(row['p50'], True)} "
                f"({_sign(row['p10'], True)} to {_sign(row['p90'], True)}) | "
                f"{_fmt(row['target'], True)} | {row['p_meets_target']:.0%} of replicates | "
                f"{pv_text} |"
            )
    if comparison.failed:
        lines += ["", "## Scenarios that failed", ""]
        lines += [f"- **{name}**: {reason}" for name, reason in sorted(comparison.failed.items())]
    return "\n".join(lines) + "\n"


def _sign(value: float, money: bool) -> str:
    text = _fmt(abs(value), money)
    return f"-{text}" if value < 0 else f"+{text}"


def _stack(
    run_dirs: Sequence[Path], name: str, dtype: dict[str, Any] | None = None
) -> pd.DataFrame:
    """One table from file ``name`` of every successful run, with a ``scenario`` column."""
    frames = []
    for run_dir in run_dirs:
        status = _read_status(Path(run_dir))
        path = Path(run_dir) / name
        if status and status.get("ok") and path.is_file():
            frame = pd.read_csv(path, dtype=dtype, keep_default_na=dtype is None)
            frames.append(frame.assign(scenario=status["scenario"])[["scenario", *frame.columns]])
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def write_comparison_workbook(
    comparison: Comparison, run_dirs: Sequence[Path], path: Path, details: dict[str, Any]
) -> Path | None:
    """The finance workbook of a multirun: every scenario's costs, savings and capacity."""
    costs = _stack(run_dirs, LAYOUT.cost_summary)
    if costs.empty:
        return None
    head = comparison.headline
    summary = pd.DataFrame(
        {
            "item": head["scenario"] + ": " + head["measure"] + " (" + head["period"] + ", P50)",
            "value": head["p50"],
            "unit": np.where(head["measure"] == "cost", "GBP", "children"),
        }
    )
    cover, real_terms, names = _workbook_context(run_dirs, details)
    return write_workbook(
        path,
        summary=summary,
        costs=costs,
        savings=comparison.savings if not comparison.savings.empty else None,
        demand_capacity=_stack(run_dirs, LAYOUT.demand_capacity),
        flows=_stack(run_dirs, LAYOUT.flows, dtype=str),
        assumptions=_stack(run_dirs, LAYOUT.assumptions),
        run_details=details,
        cover=cover,
        real_terms=real_terms,
        names=names,
        flow_differences=comparison.flows,
        cost_bridge=comparison.bridge,
    )


def _workbook_context(
    run_dirs: Sequence[Path], details: dict[str, Any]
) -> tuple[CoverDetails, RealTerms | None, dict[str, str]]:
    """The cover, the real-terms deflator, the scenarios' and fixed costs' titles, from the
    runs' records.

    Read from each successful run's ``run_details.json`` (the baseline's prices and deflator
    first) and the first projected month of its quantiles (the data end the month before).
    """
    records = []
    for run_dir in run_dirs:
        status = _read_status(Path(run_dir))
        record = Path(run_dir) / LAYOUT.run_details
        if status and status.get("ok") and record.is_file():
            records.append((Path(run_dir), json.loads(record.read_text(encoding="utf-8"))))
    records.sort(key=lambda item: item[1].get("scenario") != BASELINE)
    names: dict[str, str] = {}
    for _, record in records:
        config = record.get("config") or {}
        for key, cost in ((config.get("costs") or {}).get("fixed") or {}).items():
            names.setdefault(str(key), fixed_cost_title(str(key), (cost or {}).get("title")))
        scenario = config.get("scenario") or {}
        if record.get("scenario") and scenario.get("title"):
            names[str(record["scenario"])] = str(scenario["title"])
    real_terms = None
    data_to = None
    synthetic = any(bool(record.get("synthetic_data")) for _, record in records)
    folder = records[0][1].get("data_folder") if records else None
    if records:
        run_dir, record = records[0]
        costs = (record.get("config") or {}).get("costs") or {}
        rates = costs.get("inflation") or {}
        deflator = costs.get("deflator")
        if costs.get("price_year") and deflator in rates:
            real_terms = RealTerms(str(costs["price_year"]), float(rates[deflator]), deflator)
        quantiles = run_dir / LAYOUT.quantiles
        if record.get("data_to"):
            data_to = pd.Timestamp(str(record["data_to"])).date()
        elif quantiles.is_file():
            first = pd.to_datetime(pd.read_csv(quantiles, usecols=["month"])["month"]).min()
            data_to = (first.to_period("M").to_timestamp() - pd.Timedelta(days=1)).date()
    cover = CoverDetails(
        council="built-in synthetic example"
        if synthetic
        else str(
            (((records[0][1].get("config") or {}).get("output") or {}) if records else {}).get(
                "council"
            )
            or f"data in {folder or 'not recorded'}"
        ),
        synthetic=synthetic,
        scenario="the scenarios compared: "
        + ", ".join(names.get(s, s) for s in str(details.get("scenarios", "")).split(", ")),
        run_date=dt.date.today(),
        data_to=data_to,
        seed=details.get("seed") if isinstance(details.get("seed"), int) else None,
    )
    return cover, real_terms, names


def write_comparison(comparison: Comparison, out_dir: Path) -> list[Path]:
    """Write ``comparison.md``, the headline and by-year CSVs, ``savings.csv`` and how each
    scenario works (``flow_differences.csv``, ``cost_bridge.csv``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = [out_dir / LAYOUT.comparison.markdown]
    files[0].write_text(comparison_markdown(comparison), encoding="utf-8")
    for name, table in (
        (LAYOUT.comparison.headline, comparison.headline),
        (LAYOUT.comparison.by_year, comparison.by_year),
    ):
        path = out_dir / name
        if table.empty:  # no scenario finished: no table rather than a file with no columns
            path.unlink(missing_ok=True)
            continue
        table.to_csv(path, index=False)
        files.append(path)
    for name, table in (
        (LAYOUT.comparison.savings, comparison.savings),
        (LAYOUT.comparison.flow_differences, comparison.flows),
        (LAYOUT.comparison.cost_bridge, comparison.bridge),
    ):
        if not table.empty:
            path = out_dir / name
            table.to_csv(path, index=False)
            files.append(path)
    if comparison.failed:
        path = out_dir / LAYOUT.comparison.failed
        path.write_text(json.dumps(comparison.failed, indent=2) + "\n", encoding="utf-8")
        files.append(path)
    return files
