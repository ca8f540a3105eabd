"""Key figures of the built-in example's projection, for the stored expected results.

The projection of the example at a small size and a fixed seed is summarised into a few
hundred numbers (children, flows, arrivals and capacity by month, every replicate's children
in care at the end, costs by financial year). ``tests/test_expected.py`` recomputes them and
compares them with ``tests/expected/example.json``, so a change anywhere between the event
history and the costs that moves a number fails loudly.

The transition hazards come from ``tests/expected/hazard_draws.npz``: the posterior draws
the replicates use, stored when the file was generated, so the check does not depend on
the sampler giving the same chains on every processor. Everything else (the data, the
arrival trends, the flow model, the costs) is computed afresh.

Regenerate both files (after a deliberate change of results) with ``make expected``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from care_demand.calibration.hazard_exposure import HazardIndex
from care_demand.calibration.hazards import HazardDraws

EXPECTED_DIR = Path(__file__).resolve().parent
DRAWS_FILE = EXPECTED_DIR / "hazard_draws.npz"
FIGURES_FILE = EXPECTED_DIR / "example.json"
# The size of the stored run, and the scenarios it covers (the baseline, and one that
# pulls levers on hazards, entries, capacity and fixed costs at once).
OVERRIDES: tuple[str, ...] = (
    "simulation.replicates=8",
    "simulation.horizon_months=24",
    "simulation.n_jobs=1",
    "simulation.chunk_size=4",
)
SCENARIOS: tuple[str, ...] = ("baseline", "transformation")
# Months (0-based from the projection start) whose figures are stored.
MONTHS: tuple[int, ...] = (0, 5, 11, 23)


class StoredHazards:
    """Stands in for a fitted ``HazardModel``: ``draw`` returns the stored draws."""

    def __init__(self, draws: HazardDraws) -> None:
        self.draws = draws

    def draw(self, n: int, rng: np.random.Generator) -> HazardDraws:
        """The stored draws (``n`` must be the number stored; ``rng`` is not used)."""
        if n != self.draws.rates.shape[0]:
            raise ValueError(f"{self.draws.rates.shape[0]} draws are stored, {n} asked for")
        return self.draws


def save_draws(draws: HazardDraws, path: Path = DRAWS_FILE) -> None:
    """Store hazard draws as plain arrays and labels."""
    arrays: dict[str, Any] = {
        "rates": draws.rates,
        "pairs": np.array([[s, "" if g is None else g, d] for s, g, d in draws.index.pairs]),
        "age_bands": np.array(draws.index.age_bands),
        "duration_bands": np.array(draws.index.duration_bands),
        "groups": np.array(draws.groups),
    }
    if draws.entry is not None:
        arrays["entry"] = draws.entry
    if draws.move is not None:
        arrays["move"] = draws.move
    np.savez_compressed(path, **arrays)


def load_draws(path: Path = DRAWS_FILE) -> HazardDraws:
    """The hazard draws stored by :func:`save_draws`."""
    with np.load(path) as stored:
        pairs = tuple((str(s), str(g) or None, str(d)) for s, g, d in stored["pairs"])
        index = HazardIndex(
            pairs,
            tuple(str(a) for a in stored["age_bands"]),
            tuple(str(d) for d in stored["duration_bands"]),
        )
        return HazardDraws(
            rates=stored["rates"],
            index=index,
            entry=stored.get("entry"),
            move=stored.get("move"),
            groups=tuple(str(g) for g in stored["groups"]),
        )


def summarise(replicates: pd.DataFrame, costs: pd.DataFrame) -> dict[str, Any]:
    """The key figures of one projection (plain JSON types)."""
    table = replicates[replicates["age_band"] == "all"]
    months = sorted(table["month"].unique())
    chosen = {months[m]: m for m in MONTHS if m < len(months)}
    picked = table[table["month"].isin(list(chosen))]
    sums = picked.groupby(["measure", "category", "month"], observed=True)["value"].sum()
    series: dict[str, dict[str, float]] = {}
    for (measure, category, month), value in sums.items():
        series.setdefault(f"{measure}/{category}", {})[str(chosen[month])] = float(value)
    last = table[(table["month"] == months[-1]) & (table["measure"] == "children")]
    in_care = last[last["category"] == "care"].sort_values("replicate")["value"]
    totals = costs.groupby(["financial_year", "kind"])["value"].sum()
    return {
        "series": series,
        "children_in_care_at_end": [float(v) for v in in_care],
        "costs": {f"{year}/{kind}": float(v) for (year, kind), v in totals.items()},
    }


def compare(expected: dict[str, Any], actual: dict[str, Any], rtol: float = 1e-9) -> list[str]:
    """Every difference between two sets of key figures, one line each (empty: equal)."""
    problems: list[str] = []

    def walk(path: str, a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if key not in b:
                    problems.append(f"{path}/{key}: missing (expected {a[key]!r})")
                elif key not in a:
                    problems.append(f"{path}/{key}: not expected (got {b[key]!r})")
                else:
                    walk(f"{path}/{key}", a[key], b[key])
        elif isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                problems.append(f"{path}: {len(b)} values, expected {len(a)}")
            for i, (x, y) in enumerate(zip(a, b, strict=False)):
                walk(f"{path}[{i}]", x, y)
        elif not np.isclose(float(a), float(b), rtol=rtol, atol=1e-9):
            problems.append(f"{path}: {b!r}, expected {a!r}")

    walk("", expected, actual)
    return problems
