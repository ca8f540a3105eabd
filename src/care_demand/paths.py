"""Where the package's own files are: the configuration, the scenarios, the built-in example.

A leaf module (it imports nothing from the package), so every stage may use it.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["CONFIG_DIR", "EXAMPLE_DATA_DIR", "SCENARIO_DIR"]

# The repository's configs/ folder (the package is installed in editable mode by `make`).
CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"
# The scenario files (a Hydra config group, linked into configs/ as ``scenario``).
SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"
# The built-in synthetic example shipped inside the package.
EXAMPLE_DATA_DIR = Path(__file__).resolve().parent / "example_data"
