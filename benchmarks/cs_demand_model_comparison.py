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

Every data set is synthetic, so the tables here are not suppressed. ``--examples K`` adds K
examples generated from the built-in example's ground truth with other seeds, each scored
alone and pooled: one example is one draw of its truth, and can favour either model by chance.

Run from a fresh clone, after ``make`` has built ``.venv`` (needs the package index once):
``.venv/bin/python benchmarks/cs_demand_model_comparison.py [--replicates N]``.
Outputs: ``outputs/cs_demand_model_comparison/`` (comparison.md, comparison.csv,
summary.csv, data_check.csv, comparison_errors.png/.svg).
"""

from __future__ import annotations

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
from care_demand.backtest import backtest, load_backtest_config
from care_demand.config import EXAMPLE_DATA_DIR
from care_demand.outputs.charts import PALETTE, save_figure
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


def run_cs_demand_model(interpreter: Path, tasks: list[dict], scratch: Path) -> list[dict]:
    """Run the tasks with cs-demand-model in its environment; return its answers."""
    job, answer = scratch / "job.json", scratch / "answer.json"
    categories = {name: codes for name, (codes, _) in CATEGORIES.items() if codes}
    job.write_text(json.dumps({"categories": categories, "tasks": tasks}), encoding="utf-8")
    done = subprocess.run(
        [str(interpreter), str(RUNNER), str(job), str(answer)], capture_output=True, text=True
    )
    if done.returncode != 0:
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


def read_returns(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every Header and Episodes row of a folder in our layout, as text."""
    files = sorted((folder / "ssda903").glob("*.csv"))
    header = pd.concat(
        [pd.read_csv(f, dtype=str) for f in files if f.name.startswith("header")],
        ignore_index=True,
    )
    episodes = pd.concat(
        [pd.read_csv(f, dtype=str) for f in files if f.name.startswith("episodes")],
        ignore_index=True,
    )
    return header, episodes


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
    cuts: list[str],
    replicates: int | None,
    interpreter: Path,
    scratch: Path,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Both models' forecasts and errors on one data set; and the data check."""
    config = load_backtest_config([*overrides, f"data.path={folder}"])
    config.backtest.cuts = list(cuts)
    config.backtest.measures = {"care": [vocab.CARE]} | {
        category: list(groups) for category, (_, groups) in CATEGORIES.items()
    }
    if replicates is not None:
        config.backtest.replicates = replicates
    council, history, _ = load(config)
    print(f"\n== {name}: care_demand backtest ({len(cuts)} cuts) ==", flush=True)
    ours = backtest(history, config).metrics

    header, episodes = read_returns(folder)
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
    answers = run_cs_demand_model(interpreter, tasks, scratch / name)

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
    return table, pd.DataFrame(check)


def summary_table(table: pd.DataFrame) -> pd.DataFrame:
    """Mean absolute % error per data set, horizon and measure, both models and no change."""
    rows = []
    for (dataset, horizon, measure), part in table.groupby(
        ["dataset", "horizon_months", "measure"], sort=False
    ):
        row = {"dataset": dataset, "horizon_months": horizon, "measure": measure, "n": len(part)}
        for model in MODELS:
            row[f"{model}_mape"] = float(part[f"{model}_pct_error"].abs().mean())
        row["care_demand_coverage_80"] = float(part["inside_80"].mean())
        row["care_demand_coverage_90"] = float(part["inside_90"].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def markdown(
    table: pd.DataFrame, summary: pd.DataFrame, check: pd.DataFrame, replicates: int
) -> str:
    lines = [
        "# care_demand against cs-demand-model: backtest on the same SSDA903 data",
        "",
        f"{CS_DEMAND_MODEL}, fitted on the {REFERENCE_MONTHS} months before each cut, daily "
        f"steps; care_demand with {replicates} replicates per cut, fitted on all data before the "
        "cut. Errors are of the forecast (care_demand: the median) against the record, in % "
        "of the record. Every data set is synthetic.",
        "",
        "## Mean absolute % error over the cuts",
        "",
        "| Data | Months ahead | Measure | Cuts | care_demand | cs-demand-model | No change "
        "| care_demand 80% / 90% coverage |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, row in summary.iterrows():
        lines.append(
            f"| {row['dataset']} | {row['horizon_months']} | {row['measure']} | {row['n']} | "
            f"{row['care_demand_mape']:.1f}% | {row['cs_demand_model_mape']:.1f}% | "
            f"{row['naive_mape']:.1f}% | {row['care_demand_coverage_80'] * 100:.0f}% / "
            f"{row['care_demand_coverage_90'] * 100:.0f}% |"
        )
    lines += [
        "",
        "## Every forecast",
        "",
        "| Data | Cut | Months ahead | Measure | Record | care_demand (90% interval) | "
        "cs-demand-model | No change |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for _, row in table.iterrows():
        lines.append(
            f"| {row['dataset']} | {row['cut']:%Y-%m-%d} | {row['horizon_months']} | "
            f"{row['measure']} | {row['actual']:.0f} | {row['care_demand']:.0f} "
            f"({row['lower_90']:.0f}-{row['upper_90']:.0f}) {row['care_demand_pct_error']:+.1f}% | "
            f"{row['cs_demand_model']:.0f} {row['cs_demand_model_pct_error']:+.1f}% | "
            f"{row['naive']:.0f} {row['naive_pct_error']:+.1f}% |"
        )
    gap = (
        check.assign(diff=(check["cs_demand_model_record"] - check["care_demand_record"]).abs())
        .groupby(["dataset", "measure"])["diff"]
        .agg(["mean", "max"])
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
    for (dataset, measure), row in gap.iterrows():
        lines.append(f"| {dataset} | {measure} | {row['mean']:.1f} | {row['max']:.0f} |")
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


def main() -> None:
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
        "--examples",
        type=int,
        default=0,
        help="also compare on this many more examples generated from the example's ground "
        "truth (seeds from --first-seed): one example is one draw, so one can favour either model",
    )
    parser.add_argument("--first-seed", type=int, default=101)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    check_mapping()
    interpreter = venv_python(args.python)
    defaults = load_backtest_config([])
    replicates = args.replicates or defaults.backtest.replicates
    with tempfile.TemporaryDirectory() as temp:
        scratch = Path(temp)
        sample = scratch / "sample_data"
        convert_sample(sample_zip(interpreter), sample)
        parts = [
            compare(
                "example",
                EXAMPLE_DATA_DIR,
                [],
                defaults.backtest.cuts,
                replicates,
                interpreter,
                scratch,
            ),
            compare(
                "cs-demand-model sample",
                sample,
                ["data.lenient=true"],
                SAMPLE_CUTS,
                replicates,
                interpreter,
                scratch,
            ),
        ]
        seeds = range(args.first_seed, args.first_seed + args.examples)
        for seed in seeds:
            folder = scratch / f"example-{seed}"
            write_example(folder, seed=seed)
            parts.append(
                compare(
                    f"example seed {seed}",
                    folder,
                    [],
                    defaults.backtest.cuts,
                    replicates,
                    interpreter,
                    scratch,
                )
            )
    table = pd.concat([p[0] for p in parts], ignore_index=True)
    if args.examples:
        more = table[table["dataset"].str.startswith("example seed")]
        pooled = f"{args.examples} more examples (seeds {seeds[0]}-{seeds[-1]})"
        table = pd.concat([table, more.assign(dataset=pooled)], ignore_index=True)
    check = pd.concat([p[1] for p in parts], ignore_index=True)
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
    ]
    table[columns].round(3).to_csv(args.out / "comparison.csv", index=False)
    summary.round(3).to_csv(args.out / "summary.csv", index=False)
    check.round(3).to_csv(args.out / "data_check.csv", index=False)
    text = markdown(table, summary, check, replicates)
    (args.out / "comparison.md").write_text(text, encoding="utf-8")
    save_figure(chart(summary), args.out / "comparison_errors.png")
    print("\n" + text)
    print(f"Written to {args.out}")


if __name__ == "__main__":
    main()
