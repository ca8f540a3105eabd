"""The run-folder layout: every file name a run folder holds is spelled in one module."""

from __future__ import annotations

import ast
from pathlib import Path, PurePosixPath

import care_demand
from care_demand.outputs.layout import LAYOUT

PACKAGE = Path(care_demand.__file__).resolve().parent
LAYOUT_MODULE = PACKAGE / "outputs" / "layout.py"


def _layout_names() -> set[str]:
    """Every file name of the layout, as a path and as its last part."""
    names = set(LAYOUT.files())
    names |= {PurePosixPath(name).name for name in LAYOUT.files()}
    names |= {f"{LAYOUT.comparison.dir}/{name}" for name in LAYOUT.comparison.files()}
    return names


def _docstring_nodes(tree: ast.AST) -> set[int]:
    """Constants that stand alone as statements: docstrings and bare strings."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }


def _literals(path: Path) -> list[tuple[int, str]]:
    """Every string literal of a module (line, value), docstrings aside."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skip = _docstring_nodes(tree)
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip
    ]


def test_the_layout_names_every_file_of_a_run_folder_and_its_comparison() -> None:
    files = LAYOUT.files()
    for name in (
        "status.json",
        "run_details.json",
        "data_summary.md",
        "dropped_rows.csv",
        "repairs.json",
        "report.html",
        "projection/quantiles.csv",
        "finance/workbook.xlsx",
        "comparison.md",
        "failed_scenarios.json",
        "backtest/summary.md",
    ):
        assert name in files
    assert {"charts", "comparison", ".hydra"} <= LAYOUT.folders()
    assert not files & LAYOUT.folders()


def test_no_module_spells_a_run_folder_file_name_but_the_layout() -> None:
    names = _layout_names()
    found = [
        f"{path.relative_to(PACKAGE)}:{line}: {value!r}"
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != LAYOUT_MODULE
        for line, value in _literals(path)
        if value in names
    ]
    assert not found, "run-folder file names outside outputs/layout.py:\n" + "\n".join(found)


def test_the_check_sees_a_literal_but_not_a_docstring_or_comment(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        '"""Writes ``status.json``."""\n'
        "# status.json\n"
        "def f(folder):\n"
        '    """Read status.json."""\n'
        '    return folder / "status.json"\n',
        encoding="utf-8",
    )
    assert [value for _, value in _literals(module) if value in _layout_names()] == ["status.json"]
