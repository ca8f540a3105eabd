"""The direction of data flow, as the imports show it (rules in ``tests/import_rules.py``)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import import_rules as rules


def test_every_import_between_parts_is_allowed() -> None:
    wrong = [
        f"{file}: {part} imports {target}"
        for part, edges in rules.actual_edges().items()
        for target, file in sorted(edges)
        if target not in rules.ALLOWED.get(part, ())
    ]
    assert not wrong, "imports against the flow:\n" + "\n".join(wrong)


def test_every_part_is_listed() -> None:
    parts = {p.name for p in rules.PACKAGE.iterdir() if (p / "__init__.py").exists()}
    parts |= {p.stem for p in rules.PACKAGE.glob("*.py") if p.stem != "__init__"}
    assert parts == set(rules.ALLOWED)


def test_the_checker_sees_imports_inside_functions_and_relative_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from . import sibling\n"
        "def f():\n"
        "    from care_demand.simulation import engine\n"
        "    import care_demand.outputs.charts\n"
    )
    # Read the file as if it were care_demand/data/mod.py.
    monkeypatch.setattr(rules, "_module_name", lambda _path: "care_demand.data.mod")
    found = rules.imports_of(source)
    assert {"care_demand.data.sibling", "care_demand.simulation.engine"} <= found
    assert "care_demand.outputs.charts" in found


def _loaded_by(module: str) -> set[str]:
    code = (
        f"import sys, {module}\n"
        "print(' '.join(sorted({m.split('.')[1] for m in sys.modules "
        "if m.startswith('care_demand.')})))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("care_demand.data", {"calibration", "simulation", "finance", "scenarios", "outputs"}),
        ("care_demand.calibration", {"data", "simulation", "finance", "scenarios", "outputs"}),
        ("care_demand.finance", {"data", "calibration", "simulation", "scenarios", "outputs"}),
    ],
)
def test_importing_a_stage_loads_no_later_stage(module: str, forbidden: set[str]) -> None:
    loaded = _loaded_by(module)
    assert not loaded & (forbidden | {"config", "pipeline"}), sorted(loaded)


def test_architecture_shows_the_allowed_graph() -> None:
    text = rules.ARCHITECTURE.read_text()
    assert rules.graph_markdown() in text, "ARCHITECTURE.md is out of date: run make architecture"


def test_every_package_declares_its_public_surface() -> None:
    missing = []
    for path in sorted(rules.PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        names = [
            target.id
            for node in tree.body
            if isinstance(node, ast.Assign)
            for target in node.targets
            if isinstance(target, ast.Name)
        ]
        public = path.name == "__init__.py" or path.parent == rules.PACKAGE
        if public and "__all__" not in names:
            missing.append(str(path.relative_to(rules.ROOT)))
    assert not missing, "no __all__ in: " + ", ".join(missing)
