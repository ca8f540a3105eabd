"""Check a scenario's levers before any computation.

Each stage checks its own settings beside its schema; this module checks the ``scenario``
block: lever dates, multipliers, and names that must exist (arrival kinds, states and their
transitions, placement groups, age bands). The composer (:mod:`care_demand.config`) gathers
every stage's problems into one :class:`~care_demand.errors.ConfigError`.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

from care_demand import vocab
from care_demand.calibration.arrival_settings import ARRIVAL_KINDS, CARE_ENTRY, CARE_ENTRY_UASC
from care_demand.calibration.hazard_exposure import FULL_INDEX, TRANSITIONS
from care_demand.checking import Checker, Problems, raise_problems
from care_demand.scenarios.schema import ScenarioConfig

__all__ = ["check_levers_held", "check_uasc_levers", "levers_not_held", "scenario_problems"]


def _age_bands(check: Checker, field: str, bands: Any) -> None:
    unknown = sorted(set(bands) - set(FULL_INDEX.age_bands))
    if unknown:
        known = list(FULL_INDEX.age_bands)
        check.add(field, f"unknown age band(s) {unknown}; age bands are {known}")


def _lever_common(check: Checker, base: str, lever: Any) -> None:
    check.date(f"{base}.start", lever.start)
    check.number(f"{base}.multiplier", lever.multiplier, 0.0)
    check.number(f"{base}.ramp_months", lever.ramp_months, 0)


def scenario_problems(scenario: ScenarioConfig) -> Problems:
    """Every problem in a scenario's levers, as ``(field, message)`` pairs."""
    check = Checker()
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
        check.number(f"{base}.multiplier_log_sd", lever.multiplier_log_sd, 0.0)
        _age_bands(check, f"{base}.age_bands", lever.age_bands)
        if lever.group is not None:
            check.member(f"{base}.group", lever.group, vocab.PLACEMENT_GROUPS, "placement groups")
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
        check.member(f"{base}.group", lever.group, vocab.PLACEMENT_GROUPS, "placement groups")
        _age_bands(check, f"{base}.age_bands", lever.age_bands)
    return check.problems


def check_uasc_levers(
    config: Any,
    uasc_supplied: bool,
    scenario_file: Path | None,
    config_dir: Path,
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
    raise_problems([(field, message) for field in fields], scenario_file, config_dir)


def check_levers_held(
    config: Any,
    arrival_kinds: Collection[str],
    states: Collection[str],
    scenario_file: Path | None,
    config_dir: Path,
) -> None:
    """Raise a :class:`ConfigError` when the scenario changes arrivals of a kind, or moves
    out of a state, that the council's data do not hold (:func:`levers_not_held`), naming
    each such field and its file. Such a lever would change nothing, and the comparison
    would show no effect for a reason nobody could see: the SSDA903 return alone records no
    referrals, early help or CIN. UASC arrivals are :func:`check_uasc_levers`'s.
    """
    raise_problems(levers_not_held(config, arrival_kinds, states), scenario_file, config_dir)


def levers_not_held(
    config: Any, arrival_kinds: Collection[str], states: Collection[str]
) -> Problems:
    """The levers of ``config.scenario`` on arrivals of a kind, or moves out of a state,
    that the data do not hold, as ``(field, message)`` pairs (``arrival_kinds``: the kinds
    of arrival from outside services the data record; ``states``: the states their spells
    hold); none when the data hold every lever's."""
    held = ", ".join(k for k in ARRIVAL_KINDS if k in arrival_kinds) or "none"
    care_only = set(states) <= {vocab.CARE, vocab.CARE_LEAVER}
    hint = (
        f"; with the SSDA903 return alone the arrivals are entries to care (kind {CARE_ENTRY})"
        if care_only
        else ""
    )
    supply = (
        ". Supply the CIN census and early help files (docs/input_formats.md), or run a "
        "scenario without this lever"
    )
    problems = [
        (
            f"scenario.arrival_levers.{key}.kind",
            f"changes {lever.kind} arrivals, which these data do not record (they hold "
            f"{held}){hint}{supply}",
        )
        for key, lever in sorted(config.scenario.arrival_levers.items())
        if lever.kind != CARE_ENTRY_UASC and lever.kind not in arrival_kinds
    ]
    problems += [
        (
            f"scenario.hazard_levers.{key}.state",
            f"changes moves out of {lever.state}, which these data do not record (they hold "
            f"{', '.join(s for s in vocab.STATES if s in states)}){supply}",
        )
        for key, lever in sorted(config.scenario.hazard_levers.items())
        if lever.state not in states
    ]
    return problems
