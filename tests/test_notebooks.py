"""The notebooks run top to bottom on the example, so they never fall out of date.

Notebooks 02-04 open a run the user already has (the most recent under ``outputs/`` or
``multirun/``) and write the example's when there is none; here they run in a repository
folder of their own that starts empty. The notebooks are stored with their outputs, so a
reader on a code host sees the tables and charts: the stored outputs are checked too.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import time
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import openpyxl
import pandas as pd
import pytest
from matplotlib.figure import Figure
from PIL import Image

from care_demand.outputs.layout import LAYOUT
from care_demand.outputs.run_files import latest_run

REPOSITORY = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPOSITORY / "notebooks"
QUICK_START = NOTEBOOKS / "01_quick_start.ipynb"
# Notebooks 02-04 open their settings with this line; the test adds the session's cache.
SETTINGS = "SETTINGS = ["
# A Jupyter magic (``%matplotlib inline``): a line for the notebook's kernel, not Python.
MAGIC = re.compile(r"^%.*$", re.M)
EXAMPLE_SCENARIOS = {"baseline", "more_foster_carers", "new_childrens_homes", "transformation"}


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A repository folder with no runs in it yet, shared by the notebooks in turn."""
    return tmp_path_factory.mktemp("project")


def execute(
    path: Path, calibration_cache: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, object]:
    """Run the notebook's code cells in order in ``project``, with the session's cache."""
    matplotlib.use("Agg")
    monkeypatch.chdir(project)
    cells = json.loads(path.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code"
    assert SETTINGS in code[0], f"{path.name}: the first cell sets SETTINGS"
    namespace: dict[str, object] = {}
    for i, source in enumerate(code):
        source = source.replace(
            SETTINGS, f'{SETTINGS}"calibration.cache_dir={calibration_cache}", '
        )
        exec(compile(MAGIC.sub("", source), f"{path.name}[{i}]", "exec"), namespace)
    # A kernel shows and releases each cell's figures; here they would pile up for the session.
    plt.close("all")
    return namespace


@pytest.mark.slow
def test_quick_start_notebook_runs(calibration_cache: Path) -> None:
    path = QUICK_START
    matplotlib.use("Agg")
    cells = json.loads(path.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code"
    namespace: dict[str, object] = {}
    for i, source in enumerate(code):
        # Share the session's calibration cache so the example is sampled once.
        source = source.replace(
            '"simulation.replicates=20"',
            f'"simulation.replicates=20", "calibration.cache_dir={calibration_cache}"',
        )
        exec(compile(MAGIC.sub("", source), f"{path.name}[{i}]", "exec"), namespace)
    plt.close("all")
    care = namespace["care"]
    assert len(care) == 36  # simulation.horizon_months=36 in the notebook
    assert (care["p10"] <= care["p90"]).all()


@pytest.mark.slow
def test_sufficiency_notebook_writes_the_example_when_there_is_no_multirun(
    calibration_cache: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert latest_run(project, sweep=True) is None
    ns = execute(
        NOTEBOOKS / "02_sufficiency_scenarios.ipynb", calibration_cache, project, monkeypatch
    )
    # Written as the command line writes a multirun, then opened.
    assert ns["sweep"] == project / "multirun" / "example"
    assert latest_run(project, sweep=True) == ns["sweep"]
    gaps = ns["gaps"]
    assert isinstance(gaps, pd.DataFrame)
    assert set(gaps["scenario"]) == EXAMPLE_SCENARIOS
    others = gaps[gaps["scenario"] != "baseline"]
    assert others["diff_p50"].notna().all()  # paired against the baseline
    inhouse = ns["inhouse"]
    assert isinstance(inhouse, pd.DataFrame)
    homes = inhouse[inhouse["placement_group"] == "inhouse_residential"]
    last = homes[homes["month"] == homes["month"].max()].set_index("scenario")
    # New homes mean more in-house residential places than the baseline has.
    assert last.loc["new_childrens_homes", "capacity_p50"] > last.loc["baseline", "capacity_p50"]
    assert isinstance(ns["charts"], dict) and "demand_capacity_by_scenario" in ns["charts"]


@pytest.mark.slow
def test_savings_notebook_opens_the_latest_multirun_and_exports_its_table_to_excel(
    calibration_cache: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sorted((project / "multirun").glob("*")) if (project / "multirun").is_dir() else []
    ns = execute(
        NOTEBOOKS / "03_transformation_savings.ipynb", calibration_cache, project, monkeypatch
    )
    sweep = ns["sweep"]
    assert isinstance(sweep, Path) and sweep == latest_run(project, sweep=True)
    if before:  # after the sufficiency notebook: its multirun is opened, not written again
        assert sorted((project / "multirun").glob("*")) == before
    total = ns["total"]
    assert isinstance(total, pd.DataFrame)
    assert {"saving", "cumulative_saving", "npv_to_date"} <= set(total["measure"])
    cumulative = total[total["measure"] == "cumulative_saving"]
    assert cumulative["target"].notna().all() and (cumulative["target"] > 0).all()
    assert (total["p10"] <= total["p90"]).all()
    npv = ns["npv"]
    assert pd.notna(npv["p50"])
    by_line = ns["by_line"]
    assert isinstance(by_line, pd.DataFrame) and ("placements", "ifa") in by_line.index

    # The workbook, as Excel shows it, holds the multirun's CSV figures.
    workbook = ns["workbook"]
    assert isinstance(workbook, Path) and workbook.parent == sweep
    names = LAYOUT.comparison
    csv = pd.read_csv(sweep / names.dir / names.savings)
    csv = csv[(csv["scenario"] == "transformation") & (csv["line"] == "total")]
    book = openpyxl.load_workbook(workbook, read_only=True)
    assert book.sheetnames == ["Savings", "Costs by line"]
    _assert_sheet_equals(book["Savings"], csv)
    run_dir = next(p for p in sweep.iterdir() if p.name.endswith("_transformation"))
    _assert_sheet_equals(book["Costs by line"], pd.read_csv(run_dir / LAYOUT.cost_summary))


def _assert_sheet_equals(sheet: object, frame: pd.DataFrame) -> None:
    """The sheet's header is the CSV's columns and every cell its value."""
    rows = list(sheet.iter_rows(values_only=True))  # type: ignore[attr-defined]
    assert list(rows[0]) == list(frame.columns)
    assert len(rows) - 1 == len(frame) > 0
    for got, (_, want) in zip(rows[1:], frame.iterrows(), strict=True):
        for column, cell in zip(frame.columns, got, strict=True):
            value = want[column]
            if pd.isna(value):
                assert cell is None, (column, cell)
            elif isinstance(value, str):
                assert cell == value, (column, cell, value)
            else:
                assert cell == pytest.approx(float(value), rel=1e-12), (column, cell, value)


@pytest.mark.slow
def test_strategy_charts_notebook_writes_the_example_run_when_there_is_none(
    calibration_cache: Path, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert latest_run(project) is None
    ns = execute(NOTEBOOKS / "04_strategy_charts.ipynb", calibration_cache, project, monkeypatch)
    assert ns["folder"] == project / "outputs" / "example" == latest_run(project)
    assert ns["problems"] == []
    stocks = ns["stocks"]
    assert isinstance(stocks, pd.DataFrame) and (stocks["children"] == "[c]").any()
    written = ns["written"]
    assert isinstance(written, list)
    charts = ns["charts"]
    assert isinstance(charts, dict)
    # Each of the run's charts as PNG, SVG and its alt-text file.
    assert {p.suffix for p in written} == {".png", ".svg", ".txt"}
    assert len(written) == 3 * len(charts) >= 21
    assert all(p.stat().st_size > 0 for p in written)
    assert isinstance(charts["placement_mix"].draw(), Figure)


def test_latest_run_is_the_last_finished_run_under_outputs_or_multirun(tmp_path: Path) -> None:
    def finished(folder: Path, ok: bool, when: float) -> Path:
        folder.mkdir(parents=True)
        status = folder / LAYOUT.status
        status.write_text(json.dumps({"ok": ok}), encoding="utf-8")
        os.utime(status, (when, when))
        return folder

    now = time.time()
    assert latest_run(tmp_path) is None and latest_run(tmp_path, sweep=True) is None
    finished(tmp_path / "outputs/2026-11-01/09-00-00", True, now - 300)
    newest = finished(tmp_path / "outputs/2026-11-02/09-00-00", True, now - 200)
    finished(tmp_path / "outputs/2026-11-03/09-00-00", False, now - 100)  # failed
    assert latest_run(tmp_path) == newest
    # A multirun counts once its comparison is written (every scenario has ended).
    sweep = tmp_path / "multirun/2026-11-04/10-00-00"
    finished(sweep / "0_baseline", True, now)
    assert latest_run(tmp_path, sweep=True) is None
    (sweep / LAYOUT.comparison.dir).mkdir()
    (sweep / LAYOUT.comparison.dir / LAYOUT.comparison.headline).write_text("scenario\n")
    assert latest_run(tmp_path, sweep=True) == sweep
    assert latest_run(tmp_path) == newest  # runs are looked for under outputs/


# ------------------------------------------------------------------ the stored notebooks
STORED = sorted(NOTEBOOKS.glob("*.ipynb"))
# An absolute path of this machine or another one (a home folder, a temporary folder).
MACHINE_PATH = re.compile(r"(/home/|/Users/|/tmp/|/work/|/root/|[A-Za-z]:\\\\)")


def _outputs(path: Path) -> list[tuple[dict, list[dict]]]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(c, c.get("outputs", [])) for c in cells if c["cell_type"] == "code"]


def _texts(output: dict) -> list[str]:
    texts = [output.get("text", "")]
    for kind, value in output.get("data", {}).items():
        if kind.startswith("text/"):
            texts.append(value)
    return ["".join(t) if isinstance(t, list) else str(t) for t in texts]


@pytest.mark.parametrize("path", STORED, ids=lambda p: p.stem)
def test_each_notebook_is_stored_with_its_outputs(path: Path) -> None:
    """On a code host a reader sees every cell's result, charts included, as run in order."""
    cells = _outputs(path)
    assert len(STORED) == 4 and cells
    counts = [cell["execution_count"] for cell, _ in cells]
    assert counts == list(range(1, len(cells) + 1)), f"{path.name} was not run top to bottom"
    images = 0
    for number, (_, outputs) in enumerate(cells, start=1):
        assert outputs, f"{path.name}: code cell {number} has no stored output"
        assert all(o["output_type"] != "error" for o in outputs), f"{path.name}: cell {number}"
        for output in outputs:
            png = output.get("data", {}).get("image/png")
            if png:
                images += 1
                raw = base64.b64decode(png)
                with Image.open(io.BytesIO(raw)) as image:
                    assert image.width <= 1200 and image.height <= 1500, image.size
                assert len(raw) < 300_000
            for text in _texts(output):
                assert str(REPOSITORY) not in text
                assert not MACHINE_PATH.search(text), f"{path.name}: cell {number}: {text[:200]}"
    assert images >= 1, f"{path.name} shows no chart"


def test_stored_tables_show_no_small_recorded_counts() -> None:
    """The recorded counts the notebooks show are disclosure-controlled: [c], never 1 to 5."""
    for path in (QUICK_START, NOTEBOOKS / "04_strategy_charts.ipynb"):
        tables = [
            "".join(o["data"]["text/html"])
            for _, outputs in _outputs(path)
            for o in outputs
            if "text/html" in o.get("data", {})
        ]
        counts = re.findall(r"<td>([^<]*)</td>", tables[0])
        assert not {"1", "2", "3", "4", "5"} & {c.strip() for c in counts}, path.name
