"""The product cites its sources by their own titles (docs/sources.md), never by a path
outside the repository; every key cited in the configurations and scenarios is defined."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "docs" / "sources.md"

CHECKED = ("src", "configs", "scenarios", "docs", "notebooks", "README.md", "ARCHITECTURE.md")
TEXT_SUFFIXES = {".py", ".yaml", ".yml", ".md", ".ipynb", ".txt", ".toml", ".cfg", ".html"}

# Citations of files outside the repository: the shared folder, the domain brief, the
# research notes and the numbered source documents.
OUTSIDE = re.compile(
    r"\.\./shared|\bshared/(?:seeds|reference)|DOMAIN\.md|domain-sources|"
    r"codelists_ssda903_cin|\bseeds?\s+0\d\d\b|\bseeds/|\breference\s+\d+(?:\.\d+)?\b|"
    r"\b00\d\s+s\d|\(00\d[),;]"
)
# A key as written in docs/sources.md: **[Key]** at the start of a list item.
DEFINED = re.compile(r"^- \*\*\[([^\]]+)\]\*\*", re.MULTILINE)
# A key cited in a comment or a source string: [Key] starting with a capital letter (leaves
# out YAML flow lists, [c] and the like).
CITED = re.compile(r"\[([A-Z][^\[\]]*)\]")


def _tracked_files() -> list[Path]:
    try:
        out = subprocess.run(
            ["git", "ls-files", "--", *CHECKED],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        files = [ROOT / name for name in out]
    except (OSError, subprocess.CalledProcessError):
        files = [
            p
            for c in CHECKED
            for p in ([ROOT / c] if (ROOT / c).is_file() else (ROOT / c).rglob("*"))
        ]
    return [p for p in files if p.is_file() and p.suffix in TEXT_SUFFIXES]


def _defined_keys() -> set[str]:
    return set(DEFINED.findall(SOURCES.read_text(encoding="utf-8")))


def test_sources_page_defines_keys() -> None:
    keys = _defined_keys()
    assert len(keys) >= 10
    assert "Dorset self-evaluation 2022" in keys


def test_no_citation_of_a_path_outside_the_repository() -> None:
    found = []
    for path in _tracked_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            match = OUTSIDE.search(line)
            if match:
                where = path.relative_to(ROOT)
                found.append(f"{where}:{number}: {match.group(0)!r} in {line.strip()[:100]}")
    assert not found, "cite sources by title (docs/sources.md):\n" + "\n".join(found)


def _cited_keys(path: Path) -> list[tuple[int, str]]:
    """Keys cited in a YAML file's comments and quoted source values."""
    cited = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        parts = []
        if "#" in line:
            parts.append(line[line.index("#") :])
        if re.match(r"\s*(source|[a-z_]+):\s*\"", line):
            parts.append(line)
        for part in parts:
            cited += [(number, key) for key in CITED.findall(part)]
    return cited


@pytest.mark.parametrize(
    "path",
    sorted(
        p.relative_to(ROOT).as_posix()
        for d in ("configs", "scenarios")
        for p in (ROOT / d).rglob("*.yaml")
    ),
)
def test_every_cited_key_is_defined(path: str) -> None:
    keys = _defined_keys()
    missing = [f"{path}:{n}: [{key}]" for n, key in _cited_keys(ROOT / path) if key not in keys]
    assert not missing, "keys not defined in docs/sources.md:\n" + "\n".join(missing)


def test_every_key_in_the_cost_defaults_is_defined() -> None:
    from care_demand.finance.schema import CostConfig

    costs = CostConfig()
    texts = [p.source for p in costs.placements.values()]
    texts += [f.source for f in costs.fixed.values()]
    texts += [costs.tail.source, costs.savings_target.source]
    texts += list(costs.sources.values()) + list(costs.inflation_sources.values())
    keys = _defined_keys()
    missing = sorted({k for t in texts for k in CITED.findall(t)} - keys)
    assert not missing, f"keys not defined in docs/sources.md: {missing}"
