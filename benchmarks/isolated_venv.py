"""A package with pins of its own in its own virtual environment under ``.cache/``.

Used by the benchmarks that run another package beside care_demand
(``cs_demand_model_comparison.py``, ``dfe_rules.py``): each such package needs pandas < 2,
so it gets an environment of its own and is run as a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def isolated_python(venv: Path, python: str, pinned: list[str], probe: str) -> Path:
    """The interpreter of ``venv``, created with ``python`` and ``pinned`` installed unless
    the code ``probe`` (an import) already runs there."""
    interpreter = venv / "bin" / "python"
    check = [str(interpreter), "-c", probe]
    if interpreter.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return interpreter
    print(f"Creating {venv.relative_to(ROOT)} with {pinned[0]} ...", flush=True)
    for command in (
        [python, "-m", "venv", "--clear", str(venv)],
        [str(interpreter), "-m", "pip", "install", "--quiet", *pinned],
    ):
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(
                f"{pinned[0]} could not be installed: {' '.join(command)} failed:\n"
                f"{done.stderr.strip()[-3000:]}"
            )
    return interpreter
