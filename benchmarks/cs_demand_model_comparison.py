"""care_demand against cs-demand-model: the same SSDA903 data, the same cuts, side by side.

cs-demand-model (Social Finance / data-to-insight, on PyPI) is the deterministic Markov model
of children in care that many councils' analysts use: daily transition rates between age
bracket x placement category states, averaged over a reference period of SSDA903 returns,
projected forward day by day. This script backtests it and care_demand on the same data and
the same cut dates, and writes both models' errors side by side (not part of ``make test``).

1. cs-demand-model gets its own virtual environment (``.cache/cs-demand-model-venv``,
   created here with ``python3 -m venv``; the version is pinned below) because it needs
   pandas < 2 and numpy < 2. ``benchmarks/cs_demand_model_runner.py`` runs inside it.
2. Data sets: the built-in example (its SSDA903 files) and the sample shipped inside the
   cs-demand-model package (``cs_demand_model_samples/v1.zip``), converted to
   care_demand's input layout (docs/input_formats.md) in a temporary folder.
3. At each cut, cs-demand-model reads every SSDA903 row known at the cut (episodes starting
   after it dropped; episodes open on it with DEC and REC blanked) and is fitted on the
   12 months before the cut (its app's default reference period), projecting daily from the
   cut. care_demand runs its backtest (``care_demand.backtest``) on the same cuts.
4. Both are scored against the record of the full data (care_demand's event history) for
   children in care and the four placement categories of cs-demand-model, 6, 12 and 24
   months after each cut; a no-change forecast is scored alongside.

Placement categories: cs-demand-model's shipped configuration puts U1-U6 in Fostering, K2
and R1 in Residential, H5 and P2 in Supported and everything else in Other; its regional
successor adds S1 and P3 to Residential and K3 to Supported
([Social Finance regional demand model] in docs/sources.md). The regional grouping is used,
because it matches care_demand's placement groups exactly (checked against
``configs/mappings/placement_groups.yaml`` below): Fostering = kinship, in-house and IFA
fostering; Residential = in-house and external residential; Supported = supported 16+;
Other = placed with parents, placed for adoption, secure and other.

The default data sets are synthetic, so their tables are not suppressed. ``--examples K`` adds
K examples generated from the built-in example's ground truth with other seeds, each scored
alone and pooled: one example is one draw of its truth, and can favour either model by chance.

``--data DIR`` (repeatable) compares on council folders instead, laid out as care_demand reads
them (SSDA903 is needed; the comparison is of children in care only). Each folder is scored
alone at cuts chosen from its own data window (:func:`automatic_cuts`, or ``--cuts``), and
with more than one folder every forecast is also pooled in one table. A council's data are
real children: recorded counts from 1 to ``output.suppress_max`` are withheld through
``care_demand.outputs.disclosure`` (the backtest's own rule, with the second figure of a
total and its parts), the errors, coverage and PIT of a withheld row are withheld with them
and left out of the aggregates, and no child id is written (cs-demand-model reads the rows
in a temporary folder that is deleted afterwards).

Run from a fresh clone, after ``make`` has built ``.venv`` (needs the package index once):
``.venv/bin/python benchmarks/cs_demand_model_comparison.py [--replicates N]
[--data DIR ...]``.
Outputs: ``outputs/cs_demand_model_comparison/`` (comparison.md, comparison.csv,
summary.csv, data_check.csv, comparison_errors.png/.svg).
"""

from __future__ import annotations

# isort: off
import care_demand  # noqa: F401  (before numpy: the loops every processor runs, as the CLI)

# isort: on
import argparse
import json
import logging
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from matplotlib.figure import Figure

from care_demand import vocab
from care_demand.backtest import BacktestAppConfig, backtest, load_backtest_config, mape_mc_error
from care_demand.backtest.arrival_drift import drift_record
from care_demand.backtest.arrival_variants import variant_record
from care_demand.backtest.publish import published_tables
from care_demand.backtest.rate_variants import rate_record
from care_demand.backtest.run import BacktestResult, arrival_drifts, arrival_variants
from care_demand.config import EXAMPLE_DATA_DIR
from care_demand.data import CouncilData
from care_demand.outputs.backtest_choice import held_status
from care_demand.outputs.charts import PALETTE, save_figure
from care_demand.outputs.disclosure import DisclosureRule, Total, suppress_counts
from care_demand.outputs.interval_widening import mc_error_text
from care_demand.pipeline import load
from care_demand.synthetic.generate import write_example
from isolated_venv import isolated_python

ROOT = Path(__file__).resolve().parents[1]
RUNNER = Path(__file__).resolve().with_name("cs_demand_model_runner.py")
VENV = ROOT / ".cache" / "cs-demand-model-venv"
OUT = ROOT / "outputs" / "cs_demand_model_comparison"
CS_DEMAND_MODEL = "cs-demand-model==0.5.1"
# The versions of its dependencies the results below were produced with (it needs pandas < 2).
PINNED = [CS_DEMAND_MODEL, "pandas==1.5.3", "numpy==1.26.4"]
# cs-demand-model's app fits on the year before its end date by default.
REFERENCE_MONTHS = 12
# Cuts on the package's sample (April 2017 - March 2022): 24 months of history before the
# first, 24 months of record after the last.
SAMPLE_CUTS = ["2019-03-31", "2019-09-30", "2020-03-31"]
# A council folder's cuts (--data without --cuts): 31 March and 30 September, as the shipped
# backtest's cuts, the latest five that leave backtest.min_history_months of history before
# the cut and the longest horizon of record after it. The rule gives the shipped cuts on the
# example's window and SAMPLE_CUTS on the sample's (tests/test_cs_demand_model_comparison.py).
CUT_MONTHS = (3, 9)
MAX_CUTS = 5

# cs-demand-model category -> (its PLACE codes, care_demand's placement groups). Codes in no
# category fall into its "Other".
CATEGORIES: dict[str, tuple[list[str], list[str]]] = {
    "fostering": (
        ["U1", "U2", "U3", "U4", "U5", "U6"],
        [vocab.KINSHIP_FOSTER, vocab.INHOUSE_FOSTER, vocab.IFA],
    ),
    "residential": (
        ["K2", "R1", "P3", "S1"],
        [vocab.INHOUSE_RESIDENTIAL, vocab.EXTERNAL_RESIDENTIAL],
    ),
    "supported": (["H5", "K3", "P2"], [vocab.SUPPORTED_16PLUS]),
    "other": (
        [],
        [vocab.PLACED_WITH_PARENTS, vocab.PLACED_FOR_ADOPTION, vocab.SECURE_OTHER],
    ),
}
MEASURES = ["care", *CATEGORIES]
MODELS = {
    "care_demand": "care_demand (median)",
    "cs_demand_model": "cs-demand-model",
    "naive": "no change",
}

log = logging.getLogger("care_demand")


# --------------------------------------------------------------------------------------
# The isolated environment
# --------------------------------------------------------------------------------------


def venv_python(python: str) -> Path:
    """The isolated environment's interpreter, creating the environment if needed."""
    probe = "import cs_demand_model, cs_demand_model_samples"
    return isolated_python(VENV, python, PINNED, probe)


def sample_zip(interpreter: Path) -> Path:
    """The sample data shipped inside the cs-demand-model package."""
    code = "import cs_demand_model_samples as s, pathlib; print(pathlib.Path(s.__file__).parent)"
    done = subprocess.run(
        [str(interpreter), "-c", code], capture_output=True, text=True, check=True
    )
    return Path(done.stdout.strip()) / "v1.zip"


def run_cs_demand_model(
    interpreter: Path, tasks: list[dict], scratch: Path, *, private: bool = False
) -> list[dict]:
    """Run the tasks with cs-demand-model in its environment; return its answers.

    ``private`` (a council's data): its error message is not printed, as it may quote a row.
    """
    job, answer = scratch / "job.json", scratch / "answer.json"
    categories = {name: codes for name, (codes, _) in CATEGORIES.items() if codes}
    job.write_text(json.dumps({"categories": categories, "tasks": tasks}), encoding="utf-8")
    done = subprocess.run(
        [str(interpreter), str(RUNNER), str(job), str(answer)], capture_output=True, text=True
    )
    if done.returncode != 0:
        if private:
            sys.exit(
                "cs-demand-model failed on a council's data; its message is not shown because "
                f"it may quote a child's row (run {RUNNER.name} by hand to see it)"
            )
        sys.exit(f"cs-demand-model failed:\n{done.stderr.strip()[-3000:]}")
    return json.loads(answer.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------


def check_mapping() -> None:
    """Every PLACE code of a category maps only to that category's care_demand groups."""
    rules = yaml.safe_load((ROOT / "configs/mappings/placement_groups.yaml").read_text())["rules"]
    for name, (codes, groups) in CATEGORIES.items():
        for rule in rules:
            listed = set(rule["places"])
            inside = listed & set(codes) if codes else listed - _coded()
            if inside and rule["group"] not in groups:
                raise AssertionError(f"{sorted(inside)} -> {rule['group']}, not in {name}")


def _coded() -> set[str]:
    return {code for codes, _ in CATEGORIES.values() for code in codes}


def read_returns(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Every Header and Episodes row of a folder in our CSV layout, as text (None when the
    folder's returns are not ``ssda903/header*.csv`` and ``ssda903/episodes*.csv``)."""
    files = sorted((folder / "ssda903").glob("*.csv"))
    headers = [f for f in files if f.name.lower().startswith("header")]
    episodes = [f for f in files if f.name.lower().startswith("episodes")]
    if not headers or not episodes:
        return None
    return (
        pd.concat([pd.read_csv(f, dtype=str) for f in headers], ignore_index=True),
        pd.concat([pd.read_csv(f, dtype=str) for f in episodes], ignore_index=True),
    )


def council_returns(council: CouncilData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Header and Episodes rows care_demand read, in SSDA903's columns, as text.

    For folders in another layout (XML, other file names): the validated, merged tables,
    whose child ids are already pseudonymous. Fields care_demand does not keep are blank.
    """

    def day(values: pd.Series) -> pd.Series:
        return values.dt.strftime("%d/%m/%Y").astype(object).where(values.notna(), np.nan)

    def text(values: pd.Series) -> pd.Series:
        return values.astype(object).where(values.notna(), np.nan)

    header = pd.DataFrame(
        {
            "CHILD": text(council.header["child_id"]),
            "SEX": text(council.header["sex"]),
            "DOB": day(council.header["dob"]),
        }
    )
    header[["ETHNIC", "UPN", "MOTHER", "MC_DOB"]] = np.nan
    rows = council.episodes
    episodes = pd.DataFrame(
        {
            "CHILD": text(rows["child_id"]),
            "DECOM": day(rows["decom"]),
            "RNE": text(rows["rne"]),
            "LS": text(rows["ls"]),
            "CIN": text(rows["cin"]),
            "PLACE": text(rows["place"]),
            "PLACE_PROVIDER": text(rows["place_provider"]),
            "DEC": day(rows["dec"]),
            "REC": text(rows["rec"]),
        }
    )
    episodes[["REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"]] = np.nan
    return header, episodes


def automatic_cuts(
    start: pd.Timestamp,
    end: pd.Timestamp,
    min_history_months: int,
    longest_horizon: int,
    *,
    months: tuple[int, ...] = CUT_MONTHS,
    most: int = MAX_CUTS,
) -> list[str]:
    """A data window's cuts: month ends in ``months``, the latest ``most`` of those that
    leave ``min_history_months`` of history from ``start`` and ``longest_horizon`` months of
    record up to ``end`` (the backtest's own checks, ``validate_backtest``)."""
    earliest = (start - pd.Timedelta(days=1)) + pd.offsets.MonthEnd(min_history_months)
    ends = pd.date_range(max(earliest, start), end, freq="ME")
    fits = [d for d in ends if d < end and d + pd.offsets.MonthEnd(longest_horizon) <= end]
    return [f"{d:%Y-%m-%d}" for d in fits if d.month in months][-most:]


def convert_sample(archive: Path, folder: Path) -> None:
    """Write the package's sample in our layout: ``ssda903/header_YYYY.csv`` etc.

    The sample's folder ``2017`` holds the return for April 2017 - March 2018 (its episodes
    end from April 2017 on, checked below), which our layout names 2018. Its open episodes
    carry a reason for ending (REC) although they have not ended (DEC blank); REC means
    nothing without DEC, so it is blanked, as cs-demand-model ignores it too.
    """
    target = folder / "ssda903"
    target.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zipped:
        for year in sorted({name.split("/")[0] for name in zipped.namelist()}):
            header = pd.read_csv(zipped.open(f"{year}/header.csv"), dtype=str)
            episodes = pd.read_csv(zipped.open(f"{year}/episodes.csv"), dtype=str)
            ends = pd.to_datetime(episodes["DEC"], format="%d/%m/%Y").dropna()
            within = ends.between(
                pd.Timestamp(f"{year}-04-01"), pd.Timestamp(f"{int(year) + 1}-04-01")
            )
            if within.mean() < 0.95:
                raise AssertionError(f"sample folder {year} is not the year from April {year}")
            episodes.loc[episodes["DEC"].isna(), "REC"] = np.nan
            header.to_csv(target / f"header_{int(year) + 1}.csv", index=False)
            episodes.to_csv(target / f"episodes_{int(year) + 1}.csv", index=False)


def known_at(
    header: pd.DataFrame, episodes: pd.DataFrame, cut: pd.Timestamp | None, folder: Path
) -> str:
    """Write the rows known at ``cut`` (all rows when None) in cs-demand-model's layout."""
    folder.mkdir(parents=True)
    rows = episodes.copy()
    if cut is not None:
        start = pd.to_datetime(rows["DECOM"], dayfirst=True)
        end = pd.to_datetime(rows["DEC"], dayfirst=True)
        rows = rows[start <= cut].copy()
        later = end[start <= cut] > cut
        rows.loc[later, ["DEC", "REC"]] = np.nan
    header.to_csv(folder / "header.csv", index=False)
    rows.to_csv(folder / "episodes.csv", index=False)
    return str(folder)


# --------------------------------------------------------------------------------------
# The comparison
# --------------------------------------------------------------------------------------


def compare(
    name: str,
    folder: Path,
    overrides: list[str],
    cuts: list[str] | None,
    replicates: int | None,
    interpreter: Path,
    scratch: Path,
    *,
    rule: DisclosureRule | None = None,
    horizons: list[int] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Both models' forecasts and errors on one data set; the data check; and the arrival
    trend variant care_demand used at each cut (chosen on the earlier cuts, as a run on the
    data known then would have; the row ``all`` is what a run on the whole data uses).

    ``cuts`` None: :func:`automatic_cuts` of the data's window. With a disclosure ``rule``
    (a council's own data), ``scored`` is false where the backtest withholds the recorded
    count at the cut or the scored date (:func:`care_demand.backtest.publish.published_tables`);
    without one every row is scored.
    """
    config = load_backtest_config([*overrides, f"data.path={folder}"])
    if horizons:
        config.backtest.horizons = sorted(set(horizons))
    config.backtest.measures = {"care": [vocab.CARE]} | {
        category: list(groups) for category, (_, groups) in CATEGORIES.items()
    }
    if replicates is not None:
        config.backtest.replicates = replicates
    council, history, _ = load(config)
    if cuts is None:
        cuts = automatic_cuts(
            history.window_start,
            history.window_end,
            config.backtest.min_history_months,
            max(int(h) for h in config.backtest.horizons),
        )
        if not cuts:
            sys.exit(
                f"{name}: the data ({history.window_start:%Y-%m-%d} to "
                f"{history.window_end:%Y-%m-%d}) leave no 31 March or 30 September with "
                f"{config.backtest.min_history_months} months of history before it and "
                f"{max(config.backtest.horizons)} months of record after it: give shorter "
                "--horizons (e.g. --horizons 6 12) or --cuts"
            )
    config.backtest.cuts = list(cuts)
    print(f"\n== {name}: care_demand backtest ({len(cuts)} cuts: {', '.join(cuts)}) ==", flush=True)
    result = backtest(history, config)
    ours = result.metrics
    variants = _variants_used(name, result, config)
    if rule is not None:
        ours = ours.assign(scored=published_tables(result, rule)[2]["scored"].to_numpy())

    returns = read_returns(folder)
    header, episodes = returns if returns is not None else council_returns(council)
    tasks = []
    for cut in cuts:
        stamp = pd.Timestamp(cut)
        targets = sorted(ours.loc[ours["cut"] == stamp, "date"].unique())
        tasks.append(
            {
                "kind": "forecast",
                "cut": cut,
                "reference_start": f"{stamp - pd.DateOffset(months=REFERENCE_MONTHS):%Y-%m-%d}",
                "targets": [f"{pd.Timestamp(t):%Y-%m-%d}" for t in targets],
                "folder": known_at(header, episodes, stamp, scratch / name / f"cut-{cut}"),
            }
        )
    dates = sorted({*ours["date"].unique(), *(pd.Timestamp(c) for c in cuts)})
    tasks.append(
        {
            "kind": "stock",
            "dates": [f"{pd.Timestamp(d):%Y-%m-%d}" for d in dates],
            "folder": known_at(header, episodes, None, scratch / name / "all"),
        }
    )
    print(f"== {name}: cs-demand-model ==", flush=True)
    answers = run_cs_demand_model(interpreter, tasks, scratch / name, private=rule is not None)

    rows = []
    for answer in answers[:-1]:
        cut = pd.Timestamp(answer["cut"])
        for date, categories in answer["forecast"].items():
            values = {m: categories.get(m, 0.0) for m in CATEGORIES}
            values["care"] = sum(values.values())
            for measure, value in values.items():
                rows.append(
                    {
                        "cut": cut,
                        "date": pd.Timestamp(date),
                        "measure": measure,
                        "cs_demand_model": value,
                    }
                )
    theirs = pd.DataFrame(rows)
    table = ours.merge(theirs, on=["cut", "date", "measure"], how="left")
    table.insert(0, "dataset", name)
    table = table.rename(columns={"median": "care_demand"})
    for model in MODELS:
        table[f"{model}_pct_error"] = 100 * (table[model] - table["actual"]) / table["actual"]
        table[f"{model}_mase"] = (table[model] - table["actual"]).abs() / table["mase_scale"]

    recorded = history.stocks_at(dates, by=("state", "placement_group"))
    care = recorded[recorded["state"] == vocab.CARE]
    check = []
    for date, categories in answers[-1]["stock"].items():
        day = care[care["date"] == pd.Timestamp(date)]
        for measure in MEASURES:
            groups = (
                CATEGORIES[measure][1] if measure in CATEGORIES else list(vocab.PLACEMENT_GROUPS)
            )
            ours_n = int(day.loc[day["placement_group"].isin(groups), "count"].sum())
            theirs_n = (
                sum(categories.values()) if measure == "care" else categories.get(measure, 0.0)
            )
            check.append(
                {
                    "dataset": name,
                    "date": pd.Timestamp(date),
                    "measure": measure,
                    "care_demand_record": ours_n,
                    "cs_demand_model_record": theirs_n,
                }
            )
    dropped = sum(council.dropped.values()) if council.dropped else 0
    if dropped:
        print(
            f"   (care_demand's lenient reading dropped {dropped} invalid rows: {council.dropped})"
        )
    return table, pd.DataFrame(check), variants


def _variants_used(name: str, result: BacktestResult, config: BacktestAppConfig) -> pd.DataFrame:
    """The arrival trend variant and drift and the rates' period of each cut, and those a
    run on the whole data uses."""
    rows = [
        {
            "dataset": name,
            "cut": f"{pd.Timestamp(row['cut']):%Y-%m-%d}",
            "variant": row["arrival_variant"],
            "trend_damping": row["trend_damping"],
            "chosen_on_cuts": row["chosen_on_cuts"],
            "rate_period": row.get("rate_period", "whole"),
            "rate_chosen_on_cuts": row.get("rate_chosen_on_cuts", 0),
            "drift": row.get("drift_variant"),
            "level_drift_sd": row.get("level_drift_sd"),
            "drift_chosen_on_cuts": row.get("drift_chosen_on_cuts", 0),
        }
        for row in result.calibration.to_dict(orient="records")
    ]
    rates: dict[str, object] = {"rate_period": "whole", "rate_run": "not scored"}
    if not result.rate_scores.empty:
        settings = config.backtest.rate_variants
        record = rate_record(
            result.rate_scores,
            settings.recent_months,
            int(settings.months),
            settings.half_life_years,
        )
        status = held_status(record, same=record["chosen"] == "whole", use=True)
        rates = {
            "rate_period": record["chosen"] if status == "applied" else "whole",
            "rate_run": status,
            "rate_nested_chosen_error": record["nested_chosen_error"],
            "rate_nested_whole_error": record["nested_shipped_error"],
        }
    variants, shipped = arrival_variants(config)
    months = int(config.backtest.arrival_variants.months)
    record = variant_record(result.arrival_scores, variants, shipped, months)
    choice = held_status(record, same=record["chosen"] == shipped, use=True)
    drifts, shipped_drift = arrival_drifts(config)
    drift = drift_record(
        result.drift_scores, drifts, shipped_drift, int(config.backtest.arrival_drift.months)
    )
    drift_status = held_status(drift, same=drift["chosen"] == shipped_drift, use=True)
    drift_used = drift["chosen"] if drift_status == "applied" else shipped_drift
    rows.append(
        {
            "dataset": name,
            "cut": "all",
            "variant": record["chosen"] if choice == "applied" else shipped,
            "trend_damping": record["trend_damping"] if choice == "applied" else variants[shipped],
            "chosen_on_cuts": record["cuts"],
            "nested_chosen_error": record["nested_chosen_error"],
            "nested_shipped_error": record["nested_shipped_error"],
            "run": choice,
            **rates,
            "drift": drift_used,
            "level_drift_sd": drifts[str(drift_used)],
            "shipped": shipped,
            "drift_shipped": shipped_drift,
            "drift_variants": ", ".join(f"`{n}` {sd:g}" for n, sd in drifts.items()),
            "drift_chosen_on_cuts": drift["cuts"],
            "drift_run": drift_status,
            "drift_nested_chosen_crps": drift["nested_chosen_error"],
            "drift_nested_shipped_crps": drift["nested_shipped_error"],
        }
    )
    return pd.DataFrame(rows)


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute % error and mean MASE per data set, horizon and measure, both models and
    no change, with care_demand's interval coverage.

    Rows whose ``scored`` is false (a withheld recorded count) are left out and counted in
    ``withheld``; a table without the column is scored throughout.
    """
    rows = []
    scored = table["scored"] if "scored" in table else pd.Series(True, index=table.index)
    for (dataset, horizon, measure), part in table.groupby(
        ["dataset", "horizon_months", "measure"], sort=False
    ):
        kept = part[scored.loc[part.index].astype(bool)]
        row = {
            "dataset": dataset,
            "horizon_months": horizon,
            "measure": measure,
            "n": len(kept),
            "withheld": len(part) - len(kept),
        }
        for model in MODELS:
            row[f"{model}_mape"] = _mean(kept, f"{model}_pct_error", absolute=True)
        row["care_demand_mape_mc"] = mape_mc_error(kept)
        row["luck_mape"] = _mean(kept, "luck_abs_pct_error")
        for model in MODELS:
            row[f"{model}_mase"] = _mean(kept, f"{model}_mase")
        row["care_demand_coverage_80"] = _mean(kept, "inside_80")
        row["care_demand_coverage_90"] = _mean(kept, "inside_90")
        rows.append(row)
    return pd.DataFrame(rows)


def _mean(frame: pd.DataFrame, column: str, *, absolute: bool = False) -> float:
    if column not in frame:
        return float("nan")
    values = pd.to_numeric(frame[column].astype(float), errors="coerce").dropna()
    if absolute:
        values = values.abs()
    return float(values.mean()) if len(values) else float("nan")


def pooled(table: pd.DataFrame, datasets: list[str], name: str) -> pd.DataFrame:
    """The rows of ``datasets`` relabelled ``name``: every forecast of every data set in one
    group, each cut counting once (append to the table to score the pool)."""
    return table[table["dataset"].isin(datasets)].assign(dataset=name)


# Columns of the comparison table that are recorded counts, or worked out from one.
RECORDED_COUNTS = ("actual", "naive")
FROM_RECORDED = (
    *(f"{m}_pct_error" for m in MODELS),
    *(f"{m}_mase" for m in MODELS),
    "inside_80",
    "inside_90",
    "pit",
    "luck_abs_pct_error",
)


def published(table: pd.DataFrame, rule: DisclosureRule) -> pd.DataFrame:
    """The comparison table with the recorded counts of unscored rows, and every figure
    worked out from them, replaced by the rule's marker (counts as whole numbers)."""
    out = table.copy()
    hidden = ~out["scored"].astype(bool)
    for column in (*RECORDED_COUNTS, *FROM_RECORDED):
        if column not in out:
            continue
        values = out[column].round().astype("Int64") if column in RECORDED_COUNTS else out[column]
        out[column] = values.astype(object).where(~hidden, rule.marker)
    return out


def published_check(check: pd.DataFrame, rule: DisclosureRule) -> pd.DataFrame:
    """The data check with both readings' counts under the disclosure rule (care and its
    four categories as a total and its parts, per data set and date)."""
    line = Total(
        column="measure", total="care", parts=tuple(CATEGORIES), within=("dataset", "date")
    )
    out = check.reset_index(drop=True)
    for column in ("care_demand_record", "cs_demand_model_record"):
        out = suppress_counts(out, column, rule, [line])
    return out


def _cell(value: object, spec: str, suffix: str = "") -> str:
    """A number formatted with ``spec``; blank when missing; a marker as it is."""
    if isinstance(value, str):
        return value
    number = float(value)  # type: ignore[arg-type]
    return "" if np.isnan(number) else f"{number:{spec}}{suffix}"


def markdown(
    table: pd.DataFrame,
    summary: pd.DataFrame,
    check: pd.DataFrame,
    replicates: int,
    rule: DisclosureRule | None = None,
    pools: tuple[str, ...] = (),
) -> str:
    """The comparison's page. ``table`` is as published (with a ``rule``, withheld figures
    already carry its marker; without one every data set is synthetic); the pooled data sets
    ``pools`` are in the summary only."""
    data_note = (
        "Every data set is synthetic."
        if rule is None
        else f"Council data: {rule.describe()} The errors, MASE, coverage and PIT of a "
        "forecast whose recorded count (at the cut or the scored date) is withheld are "
        "withheld with it and left out of the aggregates (Withheld)."
    )
    lines = [
        "# care_demand against cs-demand-model: backtest on the same SSDA903 data",
        "",
        f"{CS_DEMAND_MODEL}, fitted on the {REFERENCE_MONTHS} months before each cut, daily "
        f"steps; care_demand with {replicates} replicates per cut, fitted on all data before the "
        "cut. Errors are of the forecast (care_demand: the median) against the record, in % "
        f"of the record. MASE: absolute error over the mean absolute change of the record "
        f"over as many months in the data before the cut (below 1: better than no change "
        f"made there). care_demand's error ± its Monte Carlo error: one standard error from "
        f"drawing {replicates} replicates (at most; another set of replicates from the same "
        f"fits would move it about this much). Luck alone: the mean absolute % error a "
        f"forecast that knew the rates and the arrivals' level would still make, from who "
        f"arrives in a month and who leaves when (care_demand's backtest, docs/backtest.md: "
        f"no model beats it on average where the process is as care_demand describes it). "
        f"{data_note}",
        "",
        "## Mean absolute % error over the cuts",
        "",
        "| Data | Months ahead | Measure | Cuts | Withheld | care_demand | cs-demand-model "
        "| No change | Luck alone | MASE: care_demand / cs-demand-model / no change "
        "| care_demand 80% / 90% coverage |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for _, row in summary.iterrows():
        lines.append(
            f"| {row['dataset']} | {row['horizon_months']} | {row['measure']} | {row['n']} | "
            f"{row['withheld']} | {_cell(row['care_demand_mape'], '.1f', '%')}"
            f"{mc_error_text(row['care_demand_mape_mc'])} | "
            f"{_cell(row['cs_demand_model_mape'], '.1f', '%')} | "
            f"{_cell(row['naive_mape'], '.1f', '%')} | "
            f"{_cell(row.get('luck_mape', float('nan')), '.1f', '%')} | "
            + " / ".join(_cell(row[f"{m}_mase"], ".2f") for m in MODELS)
            + f" | {_cell(row['care_demand_coverage_80'] * 100, '.0f', '%')} / "
            f"{_cell(row['care_demand_coverage_90'] * 100, '.0f', '%')} |"
        )
    lines += [
        "",
        "## Every forecast",
        "",
        "| Data | Cut | Months ahead | Measure | Record | care_demand (90% interval) | "
        "cs-demand-model | No change |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, row in table[~table["dataset"].isin(pools)].iterrows():
        lines.append(
            f"| {row['dataset']} | {row['cut']:%Y-%m-%d} | {row['horizon_months']} | "
            f"{row['measure']} | {_cell(row['actual'], '.0f')} | {row['care_demand']:.0f} "
            f"({row['lower_90']:.0f}-{row['upper_90']:.0f}) "
            f"{_cell(row['care_demand_pct_error'], '+.1f', '%')} | "
            f"{row['cs_demand_model']:.0f} {_cell(row['cs_demand_model_pct_error'], '+.1f', '%')} "
            f"| {_cell(row['naive'], '.0f')} {_cell(row['naive_pct_error'], '+.1f', '%')} |"
        )
    gap = (
        check.assign(diff=(check["cs_demand_model_record"] - check["care_demand_record"]).abs())
        .groupby(["dataset", "measure"])["diff"]
        .agg(["mean", "max"])
        .reset_index()
    )
    lines += [
        "",
        "## The two readings of the same files",
        "",
        "Children counted by each package in the full data at the cuts and scored dates "
        "(absolute difference, mean and largest):",
        "",
        "| Data | Measure | Mean | Largest |",
        "|---|---|---|---|",
    ]
    if rule is not None:  # a difference of readings counts children: the rule applies
        primary = DisclosureRule(rule.suppress_max, rule.marker, secondary=False)
        gap["max"] = suppress_counts(gap, "max", primary)["max"]
        gap["mean"] = gap["mean"].astype(object).where(gap["max"] != rule.marker, rule.marker)
    for _, row in gap.iterrows():
        lines.append(
            f"| {row['dataset']} | {row['measure']} | {_cell(row['mean'], '.1f')} | "
            f"{_cell(row['max'], '.0f')} |"
        )
    return "\n".join(lines) + "\n"


def chart(summary: pd.DataFrame) -> Figure:
    """Mean absolute % error by measure: rows are data sets (each generated example is
    pooled into one row), columns horizons."""
    summary = summary[~summary["dataset"].str.startswith("example seed")]
    datasets = list(dict.fromkeys(summary["dataset"]))
    horizons = sorted(summary["horizon_months"].unique())
    fig = Figure(figsize=(4.3 * len(horizons), 3.2 * len(datasets) + 0.5), layout="constrained")
    axes = fig.subplots(len(datasets), len(horizons), squeeze=False)
    colours = {
        "care_demand": PALETTE["blue"],
        "cs_demand_model": PALETTE["orange"],
        "naive": "#999999",
    }
    width = 0.27
    for r, dataset in enumerate(datasets):
        for c, horizon in enumerate(horizons):
            ax = axes[r, c]
            part = summary[(summary["dataset"] == dataset) & (summary["horizon_months"] == horizon)]
            part = part.set_index("measure").reindex(MEASURES)
            x = np.arange(len(MEASURES))
            for i, model in enumerate(MODELS):
                ax.bar(
                    x + (i - 1) * width,
                    part[f"{model}_mape"],
                    width,
                    color=colours[model],
                    label=MODELS[model],
                )
            ax.set_xticks(x, MEASURES, fontsize=8)
            ax.set_title(f"{dataset}: {horizon} months ahead", loc="left", fontsize=10)
            ax.grid(axis="y", color="#dddddd", lw=0.8)
            ax.spines[["top", "right"]].set_visible(False)
            if c == 0:
                ax.set_ylabel("Mean absolute % error")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside upper right", ncols=3, frameon=False, fontsize=9)
    fig.suptitle("Backtest errors: care_demand against cs-demand-model", x=0.01, ha="left")
    return fig


def rounded(frame: pd.DataFrame, digits: int = 3) -> pd.DataFrame:
    """``frame`` with its numeric columns rounded to ``digits``."""
    return frame.round({c: digits for c in frame.select_dtypes("number").columns})


def dataset_names(folders: list[Path]) -> list[str]:
    """A name per folder: its own name, numbered when two folders share one."""
    names: list[str] = []
    for folder in folders:
        name = folder.resolve().name or str(folder)
        names.append(name if name not in names else f"{name} ({names.count(name) + 1})")
    return names


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--replicates",
        type=int,
        default=None,
        help="care_demand replicates per cut (default: configs/backtest/default.yaml)",
    )
    parser.add_argument(
        "--python", default="python3", help="interpreter for the isolated environment"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--data",
        type=Path,
        action="append",
        default=[],
        metavar="DIR",
        help="a council folder laid out as care_demand reads it (SSDA903 needed); repeat for "
        "more. Instead of the built-in example and the package's sample; small counts are "
        "withheld in what is written",
    )
    parser.add_argument(
        "--cuts",
        nargs="+",
        default=None,
        metavar="YYYY-MM-DD",
        help="cut dates for every --data folder (default: chosen from each folder's window)",
    )
    parser.add_argument(
        "--horizons",
        type=int,
        nargs="+",
        default=None,
        help="months ahead to score (default: configs/backtest/default.yaml; must include 12)",
    )
    parser.add_argument(
        "--override",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a care_demand setting for every data set compared, e.g. data.lenient=true",
    )
    parser.add_argument(
        "--examples",
        type=int,
        default=0,
        help="also compare on this many more examples generated from the example's ground "
        "truth (seeds from --first-seed): one example is one draw, so one can favour either model",
    )
    parser.add_argument("--first-seed", type=int, default=101)
    return parser.parse_args()


def _default_parts(
    args: argparse.Namespace,
    defaults: BacktestAppConfig,
    replicates: int,
    interpreter: Path,
    scratch: Path,
) -> tuple[list[tuple[pd.DataFrame, pd.DataFrame]], list[tuple[str, list[str]]]]:
    """The built-in example, the package's sample and any generated examples; and the pools."""
    cuts = list(defaults.backtest.cuts)
    sample = scratch / "sample_data"
    convert_sample(sample_zip(interpreter), sample)
    runs = [
        ("example", EXAMPLE_DATA_DIR, [], cuts),
        ("cs-demand-model sample", sample, ["data.lenient=true"], SAMPLE_CUTS),
    ]
    seeds = range(args.first_seed, args.first_seed + args.examples)
    for seed in seeds:
        folder = scratch / f"example-{seed}"
        write_example(folder, seed=seed)
        runs.append((f"example seed {seed}", folder, [], cuts))
    parts = [
        compare(
            name, folder, [*overrides, *args.override], run_cuts, replicates, interpreter, scratch
        )
        for name, folder, overrides, run_cuts in runs
    ]
    pools = []
    if args.examples:
        pools.append(
            (
                f"{args.examples} more examples (seeds {seeds[0]}-{seeds[-1]})",
                [name for name, *_ in runs[2:]],
            )
        )
    return parts, pools


def _choice_table(
    variants: pd.DataFrame, each_cut: str, run: str, errors: tuple[str, str], none: str
) -> list[str]:
    """One row per data set: the ``each_cut`` column at each cut, what a run on all its data
    uses (``each_cut`` and ``run`` of the ``all`` row) and its nested ``errors``."""
    lines = []
    for name, part in variants.groupby("dataset", sort=False):
        cuts = part[part["cut"] != "all"]
        overall = part[part["cut"] == "all"].iloc[0]
        each = ", ".join(
            f"{cut}: {value}" for cut, value in zip(cuts["cut"], cuts[each_cut], strict=True)
        )
        chosen, other = (overall.get(column) for column in errors)
        nested = f"{chosen:.1f}% / {other:.1f}%" if pd.notna(chosen) else none
        lines.append(f"| {name} | {each} | {overall[each_cut]} ({overall[run]}) | {nested} |")
    return lines


def variants_markdown(variants: pd.DataFrame) -> str:
    """Which arrival trend variant and drift and rates' period care_demand used at each cut,
    per data set (the shipped settings from the first ``all`` row)."""
    overall = variants[variants["cut"] == "all"].iloc[0]
    trend = overall.get("shipped", "damped")
    drift = overall.get("drift_shipped", "shifting")
    drift_words = overall.get("drift_variants")
    drift_words = drift_words if isinstance(drift_words, str) else ""
    return (
        "\n".join(
            [
                "",
                "## The arrival trend each data set's backtest chose",
                "",
                "At each cut care_demand used the variant chosen on the earlier cuts whose 12 "
                "months had ended by it, when that choice held out of sample on them, as a run "
                f"would (else the shipped `{trend}`); `all` is "
                "what a run on the whole data uses: the choice over every cut when, chosen on "
                "earlier cuts, it erred less on later ones (nested errors: the choice / the "
                "shipped setting).",
                "",
                "| Data set | Variant at each cut | A run on all the data | Nested errors |",
                "|---|---|---|---|",
                *_choice_table(
                    variants,
                    "variant",
                    "run",
                    ("nested_chosen_error", "nested_shipped_error"),
                    "none (too few cuts)",
                ),
                "",
                "## The arrivals' drift each data set's backtest chose",
                "",
                "At each cut care_demand used the level drift chosen on the earlier origins "
                "(the cuts and the dates between them) whose 12 months had ended by it, when "
                f"that choice held out of sample on them (else the shipped `{drift}`). "
                + (f"The drifts (level_drift_sd): {drift_words}. " if drift_words else "")
                + "Chosen by the CRPS of the 12-month arrival totals (nested CRPS, % of the "
                "record: the choice / the shipped setting).",
                "",
                "| Data set | Drift at each cut | A run on all the data | Nested CRPS |",
                "|---|---|---|---|",
                *_choice_table(
                    variants,
                    "drift",
                    "drift_run",
                    ("drift_nested_chosen_crps", "drift_nested_shipped_crps"),
                    "none (too few cuts)",
                ),
                "",
                "## The period of the rates each data set's backtest chose",
                "",
                "At each cut care_demand fitted its rates as a run on the record known then would: "
                "as chosen on the earlier cuts whose 12 months had ended by it, when that choice "
                "held out of sample on them, else on the whole record. The variants: the whole "
                "record, its recent months (recent), or the whole record weighted by age "
                "(weighted); `all` is what a run on the whole data uses (nested errors of the "
                "transitions: the choice / the whole record).",
                "",
                "| Data set | Rates at each cut | A run on all the data | Nested errors |",
                "|---|---|---|---|",
                *_choice_table(
                    variants,
                    "rate_period",
                    "rate_run",
                    ("rate_nested_chosen_error", "rate_nested_whole_error"),
                    "none",
                ),
            ]
        )
        + "\n"
    )


def main() -> None:
    args = _arguments()
    logging.basicConfig(level=logging.WARNING)
    check_mapping()
    interpreter = venv_python(args.python)
    defaults = load_backtest_config([])
    replicates = args.replicates or defaults.backtest.replicates
    rule = DisclosureRule.from_config(defaults.output) if args.data else None
    with tempfile.TemporaryDirectory() as temp:
        scratch = Path(temp)
        if args.data:
            names = dataset_names(args.data)
            parts = [
                compare(
                    name,
                    folder,
                    list(args.override),
                    args.cuts,
                    replicates,
                    interpreter,
                    scratch,
                    rule=rule,
                    horizons=args.horizons,
                )
                for name, folder in zip(names, args.data, strict=True)
            ]
            pools = [(f"all {len(names)} data sets", names)] if len(names) > 1 else []
        else:
            parts, pools = _default_parts(args, defaults, replicates, interpreter, scratch)
    table = pd.concat([p[0] for p in parts], ignore_index=True)
    table = pd.concat(
        [table, *(pooled(table, members, name) for name, members in pools)], ignore_index=True
    )
    check = pd.concat([p[1] for p in parts], ignore_index=True)
    variants = pd.concat([p[2] for p in parts], ignore_index=True)
    summary = summary_table(table)
    args.out.mkdir(parents=True, exist_ok=True)
    columns = [
        "dataset",
        "cut",
        "horizon_months",
        "date",
        "measure",
        "actual",
        "care_demand",
        "lower_80",
        "upper_80",
        "lower_90",
        "upper_90",
        "inside_80",
        "inside_90",
        "pit",
        "cs_demand_model",
        "naive",
        *(f"{m}_pct_error" for m in MODELS),
        *(f"{m}_mase" for m in MODELS),
        *(["luck_abs_pct_error"] if "luck_abs_pct_error" in table else []),
        "scored",
    ]
    shown = rounded(table) if rule is None else published(rounded(table), rule)
    shown_check = rounded(check) if rule is None else published_check(check, rule)
    shown[columns].to_csv(args.out / "comparison.csv", index=False)
    rounded(summary).to_csv(args.out / "summary.csv", index=False)
    shown_check.to_csv(args.out / "data_check.csv", index=False)
    variants.to_csv(args.out / "arrival_variants.csv", index=False)
    text = markdown(shown, summary, check, replicates, rule, tuple(name for name, _ in pools))
    text += variants_markdown(variants)
    (args.out / "comparison.md").write_text(text, encoding="utf-8")
    save_figure(chart(summary), args.out / "comparison_errors.png")
    print("\n" + text)
    print(f"Written to {args.out}")


if __name__ == "__main__":
    main()
