"""Checking settings: the collector every stage's validation uses, and where a field was set.

Hydra's structured configs already refuse values of the wrong type; each stage checks what
types cannot (ranges, dates in order, names that must exist) beside its own schema, as a
function returning ``(field, message)`` pairs built with a :class:`Checker`. The composer
(:mod:`care_demand.config`) gathers them and raises one
:class:`~care_demand.errors.ConfigError` naming each field and the file that set it
(:func:`raise_problems`). A leaf module: it imports nothing from the package but ``errors``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from care_demand.errors import ConfigError

__all__ = ["Checker", "Problems", "raise_problems", "source_of", "yaml_keys"]

# ``(field, message)`` pairs: the field's dotted key (``capacity.homes.x.beds``).
Problems = list[tuple[str, str]]


class Checker:
    """Collects problems as ``(field, message)``."""

    def __init__(self) -> None:
        self.problems: Problems = []

    def add(self, field: str, message: str) -> None:
        """Record a problem with ``field``."""
        self.problems.append((field, message))

    def number(
        self,
        field: str,
        value: Any,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
    ) -> None:
        """``value`` must be present and within ``[low, high]`` (``(low, high]``: low_open)."""
        if value is None:
            self.add(field, "is missing")
            return
        if low is not None and (value < low or (low_open and value == low)):
            bound = f"> {low}" if low_open else f">= {low}"
            self.add(field, f"is {value}; it must be {bound}")
        if high is not None and value > high:
            self.add(field, f"is {value}; it must be <= {high}")

    def probability(self, field: str, value: Any) -> None:
        """``value`` must be a share from 0 to 1."""
        self.number(field, value, 0.0, 1.0)

    def date(self, field: str, value: Any) -> pd.Timestamp | None:
        """``value`` must be a date; returns it (``None`` when it is not one)."""
        try:
            stamp = pd.Timestamp(str(value))
        except (TypeError, ValueError):
            stamp = None
        if stamp is None or pd.isna(stamp):
            self.add(field, f"is {value!r}, not a date (write it as YYYY-MM-DD)")
            return None
        return stamp

    def member(self, field: str, value: Any, allowed: Sequence[str], what: str) -> None:
        """``value`` must be one of ``allowed`` (``what``: their plural name)."""
        if value not in allowed:
            self.add(
                field,
                f"names {what[:-1] if what.endswith('s') else what} {value!r}, which does not "
                f"exist; {what} are {', '.join(allowed)}",
            )

    def steps(self, field: str, steps: Any, what: str) -> None:
        """A piecewise schedule ``[[date, value], ...]`` of non-negative values."""
        for i, step in enumerate(steps):
            if not isinstance(step, (list, tuple)) or len(step) != 2:
                self.add(f"{field}[{i}]", f"must be a pair [date, {what}], got {step!r}")
                continue
            self.date(f"{field}[{i}][0]", step[0])
            try:
                value = float(step[1])
            except (TypeError, ValueError):
                self.add(f"{field}[{i}][1]", f"{what} {step[1]!r} is not a number")
                continue
            self.number(f"{field}[{i}][1]", value, 0.0)


def yaml_keys(path: Path) -> Iterator[str]:
    """Dotted keys of the values a YAML file sets, with those of the files it includes."""
    from omegaconf import OmegaConf

    if not path.is_file():
        return
    node = OmegaConf.to_container(OmegaConf.load(path))
    if not isinstance(node, dict):
        return
    for entry in node.pop("defaults", []) or []:
        if isinstance(entry, str) and entry != "_self_":
            yield from yaml_keys(path.parent / f"{entry}.yaml")

    def walk(prefix: str, value: Any) -> Iterator[str]:
        if isinstance(value, dict):
            for k, v in value.items():
                yield from walk(f"{prefix}.{k}", v)
        else:
            yield prefix

    for key, value in node.items():
        yield from walk(str(key), value)


def source_of(field: str, scenario_file: Path | None, config_dir: Path) -> str:
    """The file that sets ``field``: the scenario file if it does, else the group default.

    A field neither file sets (a command-line override of a home the scenario adds, say)
    is attributed to the file that holds its parent.
    """
    key = field.split("[", 1)[0]
    group = key.split(".", 1)[0]
    default = config_dir / group / "default.yaml"
    default_name = f"configs/{group}/default.yaml" if default.is_file() else "configs/config.yaml"
    scenario_name = f"scenarios/{scenario_file.name}" if scenario_file else "the scenario file"
    scenario_keys = set(yaml_keys(scenario_file)) if scenario_file is not None else set()
    default_keys = set(yaml_keys(default))
    if key in scenario_keys or group == "scenario":
        return scenario_name
    if key in default_keys:
        return default_name
    parent = key.rsplit(".", 1)[0]
    if any(k.startswith(parent + ".") for k in scenario_keys) and not any(
        k.startswith(parent + ".") for k in default_keys
    ):
        return scenario_name
    return default_name


def raise_problems(problems: Problems, scenario_file: Path | None, config_dir: Path) -> None:
    """Raise one :class:`ConfigError` listing every problem with its field and file."""
    if problems:
        lines = [
            f"  {field} ({source_of(field, scenario_file, config_dir)}): {message}"
            for field, message in problems
        ]
        raise ConfigError(
            "The configuration has problems; correct these values (or the command-line "
            "overrides that set them):\n" + "\n".join(lines)
        )
