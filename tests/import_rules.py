"""The allowed imports between the package's parts, and the graph ARCHITECTURE.md shows.

A *part* is a subpackage (``care_demand.data``) or a top-level module (``care_demand.config``).
``ALLOWED`` lists, for each part, the parts it may import; ``tests/test_imports.py`` fails
when the code imports anything else (at module level, inside a function or only for type
checking). The graph in ARCHITECTURE.md is generated from ``ALLOWED``:
``make architecture`` rewrites it, and a test fails when it is out of date.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "care_demand"
ARCHITECTURE = ROOT / "ARCHITECTURE.md"
START, END = "<!-- import-graph: start -->", "<!-- import-graph: end -->"

# Shared leaves every part may import: the words of the domain, errors, the package's own
# folders, the random-stream registry and the settings checker.
LEAVES: tuple[str, ...] = ("vocab", "errors", "paths", "streams", "checking")

# The stages in the order data flows, then the entry points that compose them.
ALLOWED: dict[str, tuple[str, ...]] = {
    "vocab": (),
    "errors": (),
    "paths": (),
    "streams": (),
    "checking": ("errors",),
    "data": LEAVES,
    "synthetic": (*LEAVES, "data"),
    "calibration": LEAVES,
    "scenarios": (*LEAVES, "calibration"),
    "simulation": (*LEAVES, "data", "calibration"),
    "finance": LEAVES,
    "region": LEAVES,
    "outputs": (*LEAVES, "data", "calibration", "finance"),
    "config": (
        *LEAVES,
        "data",
        "calibration",
        "scenarios",
        "simulation",
        "finance",
        "outputs",
        "region",
    ),
    "pipeline": (
        *LEAVES,
        "config",
        "data",
        "calibration",
        "scenarios",
        "simulation",
        "finance",
        "outputs",
    ),
    "backtest": (*LEAVES, "config", "pipeline", "data", "calibration", "simulation", "outputs"),
    "multirun": (*LEAVES, "config", "pipeline", "data", "calibration", "outputs"),
    "regional": (
        *LEAVES,
        "config",
        "pipeline",
        "region",
        "data",
        "calibration",
        "simulation",
        "finance",
        "outputs",
    ),
    "cli": (*LEAVES, "config", "pipeline", "multirun", "regional", "data", "outputs"),
    "app": (
        *LEAVES,
        "config",
        "pipeline",
        "data",
        "calibration",
        "scenarios",
        "simulation",
        "finance",
        "outputs",
    ),
}
# Stages drawn in the graph (the leaves and the root package's __init__ are left out).
STAGES: tuple[str, ...] = tuple(p for p in ALLOWED if p not in LEAVES)


def part_of(module: str) -> str | None:
    """The part a dotted module name belongs to (``None``: the package itself or outside)."""
    pieces = module.split(".")
    if pieces[0] != "care_demand" or len(pieces) < 2:
        return None
    return pieces[1]


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> set[str]:
    """Every ``care_demand`` module ``path`` imports, wherever the import statement is."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("care_demand")}


def actual_edges() -> dict[str, set[tuple[str, str]]]:
    """``part -> {(imported part, file)}`` for every import between different parts."""
    edges: dict[str, set[tuple[str, str]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        here = part_of(_module_name(path))
        if here is None:
            continue
        for name in imports_of(path):
            there = part_of(name)
            if (
                there is None
                or there == here
                or (not (PACKAGE / there).exists() and not (PACKAGE / f"{there}.py").exists())
            ):
                continue
            edges.setdefault(here, set()).add((there, str(path.relative_to(ROOT))))
    return edges


def graph_markdown() -> str:
    """The import graph as Markdown: a Mermaid diagram of the stages and a table of edges."""
    lines = [
        START,
        "<!-- Generated from tests/import_rules.py by `make architecture`; do not edit. -->",
        "",
        "```mermaid",
        "graph TD",
    ]
    for part in STAGES:
        for target in ALLOWED[part]:
            if target in STAGES:
                lines.append(f"  {part} --> {target}")
    lines += [
        "```",
        "",
        "| Part | May import (besides the leaves " + ", ".join(f"`{x}`" for x in LEAVES) + ") |",
        "|---|---|",
    ]
    for part in STAGES:
        targets = [t for t in ALLOWED[part] if t not in LEAVES]
        lines.append(f"| `{part}` | {', '.join(f'`{t}`' for t in targets) or 'nothing'} |")
    lines.append(END)
    return "\n".join(lines)


def write_architecture() -> None:
    """Rewrite the generated graph in ARCHITECTURE.md."""
    text = ARCHITECTURE.read_text()
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{ARCHITECTURE} has no {START} ... {END} block")
    ARCHITECTURE.write_text(pattern.sub(lambda _: graph_markdown(), text))


if __name__ == "__main__":
    write_architecture()
    print(f"Wrote the import graph into {ARCHITECTURE}", file=sys.stderr)
