"""Check a composed run configuration before any computation.

Hydra's structured configs already refuse values of the wrong type; this module checks what
types cannot: ranges, dates in order, names that must exist. Every problem found is listed
in one :class:`~care_demand.errors.ConfigError`, each naming the field and the file that set
it (the scenario file when it overrides the field, else the group's default file).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from care_demand import vocab
from care_demand.calibration.arrival_settings import ARRIVAL_KINDS, CARE_ENTRY_UASC
from care_demand.calibration.hazard_exposure import FULL_INDEX, TRANSITIONS
from care_demand.errors import ConfigError

__all__ = ["check_uasc_levers", "config_problems", "source_of", "validate_config", "yaml_keys"]

_PLACEMENT_GROUPS = set(vocab.PLACEMENT_GROUPS)


class _Checker:
    """Collects problems as ``(field, message)``."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def add(self, field: str, message: str) -> None:
        self.problems.append((field, message))

    def number(
        self,
        field: str,
        value: Any,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
    ) -> None:
        if value is None:
            self.add(field, "is missing")
            return
        if low is not None and (value < low or (low_open and value == low)):
            bound = f"> {low}" if low_open else f">= {low}"
            self.add(field, f"is {value}; it must be {bound}")
        if high is not None and value > high:
            self.add(field, f"is {value}; it must be <= {high}")

    def probability(self, field: str, value: Any) -> None:
        self.number(field, value, 0.0, 1.0)

    def date(self, field: str, value: Any) -> pd.Timestamp | None:
        try:
            stamp = pd.Timestamp(str(value))
        except (TypeError, ValueError):
            stamp = None
        if stamp is None or pd.isna(stamp):
            self.add(field, f"is {value!r}, not a date (write it as YYYY-MM-DD)")
            return None
        return stamp

    def group(self, field: str, value: Any) -> None:
        if value not in _PLACEMENT_GROUPS:
            self.add(
                field,
                f"names placement group {value!r}, which does not exist; placement groups are "
                f"{', '.join(vocab.PLACEMENT_GROUPS)}",
            )

    def age_bands(self, field: str, bands: Any) -> None:
        unknown = sorted(set(bands) - set(FULL_INDEX.age_bands))
        if unknown:
            known = list(FULL_INDEX.age_bands)
            self.add(field, f"unknown age band(s) {unknown}; age bands are {known}")


def _steps(check: _Checker, field: str, steps: Any, what: str) -> None:
    """A piecewise schedule ``[[date, value], ...]``."""
    for i, step in enumerate(steps):
        if not isinstance(step, (list, tuple)) or len(step) != 2:
            check.add(f"{field}[{i}]", f"must be a pair [date, {what}], got {step!r}")
            continue
        check.date(f"{field}[{i}][0]", step[0])
        try:
            value = float(step[1])
        except (TypeError, ValueError):
            check.add(f"{field}[{i}][1]", f"{what} {step[1]!r} is not a number")
            continue
        check.number(f"{field}[{i}][1]", value, 0.0)


def _check_capacity(check: _Checker, cap: Any) -> None:
    f = cap.fostering
    check.number("capacity.fostering.households", f.households, 0)
    shares = list(f.places_per_household)
    for i, share in enumerate(shares):
        check.probability(f"capacity.fostering.places_per_household[{i}]", share)
    if not shares or sum(shares) <= 0:
        check.add("capacity.fostering.places_per_household", "must have a positive share")
    check.number("capacity.fostering.enquiries_per_month", f.enquiries_per_month, 0.0)
    for name in (
        "enquiry_to_assessment",
        "assessment_to_approval",
        "annual_attrition",
        "usable_share",
    ):
        check.probability(f"capacity.fostering.{name}", getattr(f, name))
    check.number("capacity.fostering.assessment_months", f.assessment_months, 0.0)
    for key, change in f.recruitment.items():
        base = f"capacity.fostering.recruitment.{key}"
        check.date(f"{base}.start", change.start)
        check.number(f"{base}.enquiries_multiplier", change.enquiries_multiplier, 0.0)
        check.number(f"{base}.conversion_multiplier", change.conversion_multiplier, 0.0)
        check.number(f"{base}.ramp_months", change.ramp_months, 0)
    mb = f.mockingbird
    _steps(
        check, "capacity.fostering.mockingbird.constellations", mb.constellations, "constellations"
    )
    check.number(
        "capacity.fostering.mockingbird.households_per_constellation",
        mb.households_per_constellation,
        0,
    )
    check.number(
        "capacity.fostering.mockingbird.attrition_multiplier_median",
        mb.attrition_multiplier_median,
        0.0,
        low_open=True,
    )
    check.number(
        "capacity.fostering.mockingbird.attrition_multiplier_log_sd",
        mb.attrition_multiplier_log_sd,
        0.0,
    )
    for key, home in cap.homes.items():
        base = f"capacity.homes.{key}"
        check.number(f"{base}.beds", home.beds, 0)
        check.probability(f"{base}.max_occupancy", home.max_occupancy)
        opens = check.date(f"{base}.opens", home.opens)
        if home.closes is not None:
            closes = check.date(f"{base}.closes", home.closes)
            if opens is not None and closes is not None and closes <= opens:
                check.add(f"{base}.closes", f"is {home.closes}, not after opens ({home.opens})")
        if home.min_age >= home.max_age:
            check.add(f"{base}.min_age", f"{home.min_age} is not below max_age {home.max_age}")
    h = cap.harbour
    _steps(check, "capacity.harbour.caseload", h.caseload, "places")
    if h.min_age >= h.max_age:
        check.add("capacity.harbour.min_age", f"{h.min_age} is not below max_age {h.max_age}")
    check.number("capacity.harbour.support_months", h.support_months, 0.0, low_open=True)
    for name in ("care_entry_multiplier", "residential_step_down_multiplier"):
        check.number(
            f"capacity.harbour.{name}_median", getattr(h, f"{name}_median"), 0.0, low_open=True
        )
        check.number(f"capacity.harbour.{name}_log_sd", getattr(h, f"{name}_log_sd"), 0.0)
    check.number("capacity.policy.step_back_within_months", cap.policy.step_back_within_months, 0.0)
    for group, p in cap.policy.out_of_area.items():
        check.group(f"capacity.policy.out_of_area.{group}", group)
        check.probability(f"capacity.policy.out_of_area.{group}", p)


def _lever_common(check: _Checker, base: str, lever: Any) -> None:
    check.date(f"{base}.start", lever.start)
    check.number(f"{base}.multiplier", lever.multiplier, 0.0)
    check.number(f"{base}.ramp_months", lever.ramp_months, 0)


def _check_scenario(check: _Checker, scenario: Any) -> None:
    for key, lever in scenario.arrival_levers.items():
        base = f"scenario.arrival_levers.{key}"
        _lever_common(check, base, lever)
        if lever.kind not in ARRIVAL_KINDS:
            check.add(
                f"{base}.kind",
                f"{lever.kind!r} is not an arrival kind; kinds are {', '.join(ARRIVAL_KINDS)}",
            )
    uasc = scenario.uasc_arrivals
    if uasc is not None:
        check.date("scenario.uasc_arrivals.start", uasc.start)
        check.number("scenario.uasc_arrivals.per_month", uasc.per_month, 0.0)
    for key, lever in scenario.hazard_levers.items():
        base = f"scenario.hazard_levers.{key}"
        _lever_common(check, base, lever)
        check.age_bands(f"{base}.age_bands", lever.age_bands)
        if lever.group is not None:
            check.group(f"{base}.group", lever.group)
        moves = TRANSITIONS.get(lever.state)
        if moves is None:
            check.add(
                f"{base}.state",
                f"{lever.state!r} is not a state with hazards; states are {', '.join(TRANSITIONS)}",
            )
        elif lever.destination not in moves:
            check.add(
                f"{base}.destination",
                f"{lever.state} has no transition to "
                f"{lever.destination!r}; it has {', '.join(moves)}",
            )
    for key, lever in scenario.entry_levers.items():
        base = f"scenario.entry_levers.{key}"
        _lever_common(check, base, lever)
        check.group(f"{base}.group", lever.group)
        check.age_bands(f"{base}.age_bands", lever.age_bands)


def _check_care_leavers(check: _Checker, leaver: Any) -> None:
    base = "data.care_leaver"
    check.probability(f"{base}.supported_to_25_share", leaver.supported_to_25_share)
    if leaver.supported_end_age < leaver.end_age:
        check.add(
            f"{base}.supported_end_age",
            f"is {leaver.supported_end_age}, before end_age {leaver.end_age}",
        )
    if leaver.end_age <= leaver.start_age:
        check.add(f"{base}.end_age", f"is {leaver.end_age}, not after start_age {leaver.start_age}")


def _check_simulation(check: _Checker, sim: Any) -> None:
    check.number("simulation.horizon_months", sim.horizon_months, 1)
    check.number("simulation.replicates", sim.replicates, 1)
    check.number("simulation.chunk_size", sim.chunk_size, 1)
    check.number("simulation.rate_drift_sd", sim.rate_drift_sd, 0.0, 2.0)


def config_problems(
    config: Any, extra: Callable[[_Checker], None] | None = None
) -> list[tuple[str, str]]:
    """Every problem found in a composed configuration, as ``(field, message)`` pairs."""
    check = _Checker()
    _check_capacity(check, config.capacity)
    _check_scenario(check, config.scenario)
    _check_simulation(check, config.simulation)
    _check_care_leavers(check, config.data.care_leaver)
    if extra is not None:
        extra(check)
    return check.problems


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


def _raise(problems: list[tuple[str, str]], scenario_file: Path | None, config_dir: Path) -> None:
    if problems:
        lines = [
            f"  {field} ({source_of(field, scenario_file, config_dir)}): {message}"
            for field, message in problems
        ]
        raise ConfigError(
            "The configuration has problems; correct these values (or the command-line "
            "overrides that set them):\n" + "\n".join(lines)
        )


def check_uasc_levers(
    config: Any, uasc_supplied: bool, scenario_file: Path | None, config_dir: Path
) -> None:
    """Raise a :class:`ConfigError` when the scenario sets UASC arrivals (``uasc_arrivals``
    or an arrival lever of kind ``care_entry_uasc``) but the returns hold no UASC
    information (``EventHistory.uasc_supplied`` false), naming each such field and its file.
    """
    if uasc_supplied:
        return
    scenario = config.scenario
    fields = []
    if scenario.uasc_arrivals is not None:
        fields.append("scenario.uasc_arrivals")
    fields += [
        f"scenario.arrival_levers.{key}.kind"
        for key, lever in sorted(scenario.arrival_levers.items())
        if lever.kind == CARE_ENTRY_UASC
    ]
    message = (
        "sets the arrivals of unaccompanied asylum-seeking children, but the returns hold no "
        "UASC information (no UASC table and no UASC flag in the Header; see "
        "docs/input_formats.md); supply it or run a scenario without UASC levers"
    )
    _raise([(field, message) for field in fields], scenario_file, config_dir)


def validate_config(config: Any, scenario_file: Path | None, config_dir: Path) -> None:
    """Raise one :class:`ConfigError` listing every problem, each with its field and file."""
    _raise(config_problems(config), scenario_file, config_dir)
