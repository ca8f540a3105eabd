"""Scenario files for the browser app's Scenarios page, as plain functions (no Shiny).

A scenario is read into form values (:func:`read_form`) by composing it as ``care-demand
scenario=NAME`` does, so what the form shows is what a run would use. The form is written
back (:func:`scenario_yaml`) in the format of the shipped files: the ``scenario`` block with a
source per lever, and only the ``capacity`` and ``costs`` values that differ from
``configs/``, each capacity entry with its source as a comment. It is checked
(:func:`form_problems`) by composing it the same way and running the command line's own
validation (:func:`care_demand.config.config_problems` and the finance stage's
:func:`~care_demand.finance.validate_costs`); each problem is mapped to its form field.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import tempfile
import textwrap
import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from care_demand import vocab
from care_demand.app.actions import _COMPOSE_LOCK
from care_demand.app.scenario_fields import SECTIONS, Field, Schedule, Table, all_tables
from care_demand.checking import Problems
from care_demand.config import CONFIG_DIR, AppConfig, config_problems, register_schema
from care_demand.errors import CareDemandError, ConfigError
from care_demand.finance import validate_costs
from care_demand.scenarios import levers_not_held

__all__ = [
    "BASELINE",
    "FormCheck",
    "ScenarioFileError",
    "ScenarioForm",
    "add_row",
    "check_form",
    "compose_scenario",
    "delete_scenario",
    "duplicate_scenario",
    "field_label",
    "field_of",
    "form_problems",
    "read_form",
    "remove_row",
    "save_scenario",
    "scenario_titles",
    "scenario_yaml",
    "scenarios_not_held",
    "search_root",
]

BASELINE = "baseline"
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
_GROUP = "scenario"


class ScenarioFileError(CareDemandError):
    """A scenario file cannot be read, saved, copied or deleted; the message says why."""


@dataclass
class ScenarioForm:
    """The form's values, keyed by each setting's dotted key.

    ``rows``: the row names of each table (by its path) and the row numbers of each
    schedule; ``capacity``, ``costs`` and ``scenario``: the composed settings the form was
    read from, which keep every value the form has no field for (a lever's setting the form
    does not show is written back as it was read).
    """

    values: dict[str, Any]
    rows: dict[str, list[str]]
    capacity: dict[str, Any]
    costs: dict[str, Any]
    loaded: str = ""
    scenario: dict[str, Any] = field(default_factory=dict)

    def copy(self) -> ScenarioForm:
        """A deep copy."""
        return copy.deepcopy(self)


# --- Files and composition ---------------------------------------------------------------


def scenario_titles(folder: Path) -> dict[str, str]:
    """Scenario name -> title of every file in ``folder`` (the baseline first)."""
    out: dict[str, str] = {}
    for path in sorted(Path(folder).glob("*.yaml"), key=lambda p: (p.stem != BASELINE, p.stem)):
        try:
            body = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            title = str(body.get(_GROUP, {}).get("title") or path.stem)
        except (OSError, yaml.YAMLError, AttributeError):
            title = path.stem
        out[path.stem] = title
    return out


def search_root(folder: Path, root: Path, extra: dict[str, str] | None = None) -> str:
    """Copy ``folder``'s scenarios into ``root/scenario/`` (with ``extra`` files: name ->
    text) and return the ``hydra.searchpath`` override that lets Hydra find them.

    Hydra searches ``configs/`` first, so a shipped scenario keeps its shipped content; a
    file to compose in its own right goes in ``extra`` under a name of its own.
    """
    group = Path(root) / _GROUP
    if group.exists():
        shutil.rmtree(group)
    group.mkdir(parents=True)
    for path in Path(folder).glob("*.yaml"):
        shutil.copyfile(path, group / path.name)
    for name, text in (extra or {}).items():
        (group / f"{name}.yaml").write_text(text, encoding="utf-8")
    return f"hydra.searchpath=['file://{Path(root).resolve().as_posix()}']"


def _compose(overrides: list[str]) -> AppConfig:
    from hydra import compose, initialize_config_dir
    from omegaconf import OmegaConf

    register_schema()
    with _COMPOSE_LOCK, initialize_config_dir(version_base="1.3", config_dir=str(CONFIG_DIR)):
        composed = compose(config_name="config", overrides=overrides)
    return OmegaConf.to_object(composed)  # type: ignore[return-value]


def compose_scenario(
    folder: Path, name: str | None = None, text: str | None = None, overrides: tuple = ()
) -> tuple[AppConfig | None, Problems]:
    """Compose the run's settings with scenario ``name`` of ``folder`` (or the file ``text``)
    as ``care-demand scenario=NAME`` does, and every problem the command line's validation
    finds in them, as ``(field, message)``; the settings are ``None`` when they do not
    compose (a value of the wrong type, say: one problem then names it)."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    if text is None:
        path = Path(folder) / f"{name}.yaml"
        if not path.is_file():
            raise ScenarioFileError(f"there is no scenario {name!r} in {folder}")
        text = path.read_text(encoding="utf-8")
    alias = f"_editing_{uuid.uuid4().hex[:12]}"
    with tempfile.TemporaryDirectory(prefix="care-demand-scenario-") as root:
        searchpath = search_root(folder, Path(root), {alias: text})
        try:
            config = _compose([f"scenario={alias}", searchpath, *overrides])
        except (HydraException, OmegaConfBaseException) as exc:
            cause = exc.__cause__ or exc
            key = getattr(cause, "full_key", None) or getattr(exc, "full_key", None) or ""
            message = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
            return None, [(str(key) or "scenario", message)]
    return config, [*config_problems(config), *_cost_problems(config)]


def scenarios_not_held(
    folder: Path, arrival_kinds: Collection[str], states: Collection[str]
) -> dict[str, str]:
    """Scenario name -> why it cannot run on data that record only ``arrival_kinds`` and
    ``states`` (a lever on referrals or services outside care, for the SSDA903 return
    alone: :func:`care_demand.scenarios.levers_not_held`); data that record every
    service give none. A file that does not compose is left to report itself."""
    if set(vocab.STATES) <= set(states):
        return {}
    out = {}
    for name in scenario_titles(folder):
        try:
            config, _ = compose_scenario(folder, name)
        except ScenarioFileError:
            continue
        if config is not None and levers_not_held(config, arrival_kinds, states):
            out[name] = "it changes services these data do not record"
    return out


def _cost_problems(config: AppConfig) -> Problems:
    marker = "(@form)"
    try:
        validate_costs(config.costs, source="@form")
    except ConfigError as exc:
        out: Problems = []
        for line in str(exc).splitlines()[1:]:
            head, _, message = line.strip().partition(f" {marker}: ")
            out.append((f"costs.{head.split(' = ', 1)[0].removeprefix('costs.')}", message))
        return out
    return []


_BASE: dict[str, dict[str, Any]] = {}


def _baseline() -> dict[str, dict[str, Any]]:
    """``capacity`` and ``costs`` as ``configs/`` set them (what a scenario file changes)."""
    if not _BASE:
        config = _compose([f"scenario={BASELINE}"])
        _BASE.update(capacity=_container(config.capacity), costs=_container(config.costs))
    return _BASE


def _container(node: Any) -> dict[str, Any]:
    from omegaconf import OmegaConf

    return OmegaConf.to_container(OmegaConf.structured(node))  # type: ignore[return-value]


# --- Reading -----------------------------------------------------------------------------


def _get(tree: dict[str, Any], dotted: str) -> Any:
    node: Any = tree
    for part in dotted.split("."):
        node = node[part]
    return node


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    node = tree
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value


def _comments(folder: Path, name: str, seen: set[str] | None = None) -> dict[str, str]:
    """Comments of a scenario file (and the files it includes), by the key they sit on or
    above: the sources of capacity entries, which have no ``source`` setting."""
    seen = seen if seen is not None else set()
    path = Path(folder) / f"{name}.yaml"
    if name in seen or not path.is_file():
        return {}
    seen.add(name)
    text = path.read_text(encoding="utf-8")
    out: dict[str, str] = {}
    body = yaml.safe_load(text) or {}
    for entry in body.get("defaults", []) or []:
        if isinstance(entry, str) and entry != "_self_":
            out.update(_comments(folder, entry, seen))
    stack: list[tuple[int, str]] = []
    above: list[str] = []
    own: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("#").strip())
            continue
        match = re.match(r"^(\s*)([A-Za-z0-9_]+):(.*)$", line)
        if not match:
            above = [] if not stripped else above
            continue
        indent, key, rest = len(match.group(1)), match.group(2), match.group(3)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key))
        dotted = ".".join(k for _, k in stack)
        parts = [" ".join(above)] if above else []
        if "#" in rest and not rest.strip().startswith(('"', "'")):
            parts.append(rest.split("#", 1)[1].strip())
        elif '"' in rest and "#" in rest.rsplit('"', 1)[1]:
            parts.append(rest.rsplit('"', 1)[1].split("#", 1)[1].strip())
        if parts:
            own[dotted] = "; ".join(p for p in parts if p)
        above = []
    for dotted, comment in own.items():
        # The source of an entry: its own comments and those of the settings inside it.
        for prefix in _comment_owners():
            if dotted == prefix or dotted.startswith(prefix + "."):
                parts = dotted[len(prefix) :].lstrip(".").split(".")
                owner = prefix if _is_schedule(prefix) else f"{prefix}.{parts[0]}"
                if owner != prefix or _is_schedule(prefix):
                    joined = "; ".join(x for x in (out.get(owner, ""), comment) if x)
                    out[owner] = joined
    return out


def _comment_owners() -> list[str]:
    owners = [t.path for t in all_tables() if t.path.startswith("capacity.")]
    owners += [s.path for s in _schedules()]
    return owners


def _schedules() -> list[Schedule]:
    return [item for s in SECTIONS for item in s.items if isinstance(item, Schedule)]


def _is_schedule(path: str) -> bool:
    return any(s.path == path for s in _schedules())


def _amount(value: Any) -> str:
    return f"{value:.0f}" if float(value).is_integer() else str(value)


def _from_setting(f: Field, value: Any) -> Any:
    if f.kind == "bands":
        return list(value or [])
    if f.kind == "amounts":
        return ", ".join(_amount(v) for v in value)
    if f.kind == "year_amounts":
        return ", ".join(f"{year}: {_amount(v)}" for year, v in (value or {}).items())
    if f.kind == "optional_number":
        return value or None
    return value


def read_form(folder: Path, name: str) -> ScenarioForm:
    """Scenario ``name`` of ``folder`` as form values: what ``care-demand scenario=NAME``
    would use, with each capacity entry's source from the comments of the file."""
    config, problems = compose_scenario(folder, name)
    if config is None:
        raise ScenarioFileError(f"{name} cannot be read: {problems[0][0]}: {problems[0][1]}")
    tree = {
        "scenario": _container(config.scenario),
        "capacity": _container(config.capacity),
        "costs": _container(config.costs),
    }
    comments = _comments(folder, name)
    values: dict[str, Any] = {}
    rows: dict[str, list[str]] = {}
    for section in SECTIONS:
        for item in section.items:
            if isinstance(item, Field):
                if item.kind == "toggle":
                    values[item.key] = _get(tree, item.key) is not None
                    continue
                parent, last = item.key.rsplit(".", 1)
                node = _get(tree, parent) if item.key.count(".") > 1 else tree["scenario"]
                if parent == "scenario.uasc_arrivals" and node is None:
                    node = {"per_month": 0.0, "start": "2022-04-01", "source": ""}
                values[item.key] = _from_setting(item, (node or {}).get(last))
            elif isinstance(item, Table):
                entries = _get(tree, item.path)
                rows[item.path] = list(entries)
                for key, entry in entries.items():
                    for f in item.fields:
                        path = f"{item.path}.{key}.{f.key}"
                        if f.key == "source" and item.path.startswith("capacity."):
                            values[path] = comments.get(f"{item.path}.{key}", "")
                        else:
                            values[path] = _from_setting(f, entry.get(f.key))
            else:
                steps = _get(tree, item.path)
                rows[item.path] = [str(i) for i in range(len(steps))]
                for i, (date, number) in enumerate(steps):
                    values[f"{item.path}[{i}][0]"] = str(date)
                    values[f"{item.path}[{i}][1]"] = number
                values[f"{item.path}.source"] = comments.get(item.path, "")
    return ScenarioForm(
        values, rows, tree["capacity"], tree["costs"], loaded=name, scenario=tree["scenario"]
    )


# --- Rows --------------------------------------------------------------------------------


def add_row(form: ScenarioForm, path: str) -> ScenarioForm:
    """A copy of ``form`` with a new row in table or schedule ``path`` (defaults filled)."""
    out = form.copy()
    keys = out.rows.setdefault(path, [])
    table = next((t for t in all_tables() if t.path == path), None)
    if table is None:
        i = len(keys)
        keys.append(str(i))
        last = out.values.get(f"{path}[{i - 1}][0]") if i else None
        out.values[f"{path}[{i}][0]"] = last or "2022-04-01"
        out.values[f"{path}[{i}][1]"] = out.values.get(f"{path}[{i - 1}][1]", 0) if i else 0
        return out
    n = 1
    while f"{table.prefix}_{n}" in keys:
        n += 1
    key = f"{table.prefix}_{n}"
    keys.append(key)
    for f in table.fields:
        value = (table.defaults or {}).get(f.key, "")
        if f.key == "name":
            value = key.replace("_", " ")
        out.values[f"{path}.{key}.{f.key}"] = _from_setting(f, value)
    return out


def remove_row(form: ScenarioForm, path: str, key: str) -> ScenarioForm:
    """A copy of ``form`` without row ``key`` of ``path``; a row the baseline has stays."""
    out = form.copy()
    fixed = path.startswith(("capacity.", "costs.")) and not _is_schedule(path)
    if fixed and key in _get(_baseline(), path):
        return out
    keys = out.rows.get(path, [])
    if key not in keys:
        return out
    if _is_schedule(path):
        steps = [
            (out.values.pop(f"{path}[{i}][0]"), out.values.pop(f"{path}[{i}][1]"))
            for i in range(len(keys))
        ]
        del steps[int(key)]
        out.rows[path] = [str(i) for i in range(len(steps))]
        for i, (date, number) in enumerate(steps):
            out.values[f"{path}[{i}][0]"], out.values[f"{path}[{i}][1]"] = date, number
        return out
    keys.remove(key)
    for name in [v for v in out.values if v.startswith(f"{path}.{key}.")]:
        del out.values[name]
    return out


# --- Writing -----------------------------------------------------------------------------


_YEAR = re.compile(r"(\d{4}/\d{2})\s*:")


def _year_amounts(value: Any) -> dict[str, float] | str:
    """``2025/26: 1400000, 2026/27: £1,400,000`` as ``{"2025/26": 1400000.0, ...}``; the
    text itself when it is not in that form or names a year twice."""
    text = str(value or "").strip()
    parts = _YEAR.split(text)
    if parts[0].strip(" ,;\n"):
        return text
    out: dict[str, float] = {}
    for year, amount in zip(parts[1::2], parts[2::2], strict=True):
        number = amount.strip().rstrip(",;").strip().replace("£", "").replace(",", "")
        try:
            out[year] = float(number)
        except ValueError:
            return text
        if parts[1::2].count(year) > 1:
            return text
    return out


def _to_setting(f: Field, value: Any) -> Any:
    if f.kind in ("optional_date", "optional_select") or (f.key == "price_year"):
        return value or None
    if f.kind == "optional_number":
        return 0.0 if value is None or value == "" else value
    if f.kind == "year_amounts":
        return _year_amounts(value)
    if f.kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if f.kind == "amounts":
        parts = [p.strip() for p in str(value or "").replace(";", ",").split(",")]
        try:
            return [float(p.replace("£", "")) for p in parts if p]
        except ValueError:
            return str(value)  # the composition names the field when it is not numbers
    if f.kind == "bands":
        return list(value or [])
    if f.kind == "text" and value is None:
        return ""
    return value


def _settings(form: ScenarioForm) -> tuple[dict, dict, dict, dict[str, str]]:
    """The form as ``scenario``, ``capacity`` and ``costs`` settings, and the comments."""
    v = form.values
    tree: dict[str, Any] = {
        "scenario": {
            **copy.deepcopy(form.scenario),
            "name": str(v.get("scenario.name") or ""),
            "title": str(v.get("scenario.title") or ""),
            "description": str(v.get("scenario.description") or ""),
            "uasc_arrivals": (
                copy.deepcopy(form.scenario.get("uasc_arrivals") or {})
                if v.get("scenario.uasc_arrivals")
                else None
            ),
        },
        "capacity": copy.deepcopy(form.capacity),
        "costs": copy.deepcopy(form.costs),
    }
    comments: dict[str, str] = {}
    base = _baseline()
    for section in SECTIONS:
        for item in section.items:
            if isinstance(item, Field):
                if item.kind == "toggle" or item.key.count(".") == 1:
                    continue
                if item.key.startswith("scenario.uasc_arrivals."):
                    if v.get("scenario.uasc_arrivals"):
                        _set(tree, item.key, _to_setting(item, v.get(item.key)))
                    continue
                _set(tree, item.key, _to_setting(item, v.get(item.key)))
            elif isinstance(item, Table):
                # A row keeps the settings the form has no field for, as they were read.
                parent, last = item.path.rsplit(".", 1)
                old = _get(tree, parent).get(last) or {}
                kept = dict(_get(base, item.path)) if not item.path.startswith("scenario.") else {}
                entries: dict[str, Any] = {}
                for key in [
                    *form.rows.get(item.path, []),
                    *[k for k in kept if k not in form.rows.get(item.path, [])],
                ]:
                    entry = copy.deepcopy(old.get(key) or kept.get(key) or item.defaults or {})
                    if key in form.rows.get(item.path, []):
                        for f in item.fields:
                            value = _to_setting(f, v.get(f"{item.path}.{key}.{f.key}"))
                            if f.key == "source" and item.path.startswith("capacity."):
                                if value:
                                    comments[f"{item.path}.{key}"] = str(value)
                            else:
                                entry[f.key] = value
                    entries[key] = entry
                _set(tree, item.path, entries)
            else:
                steps = [
                    [str(v.get(f"{item.path}[{i}][0]") or ""), v.get(f"{item.path}[{i}][1]")]
                    for i in range(len(form.rows.get(item.path, [])))
                ]
                _set(
                    tree,
                    item.path,
                    [
                        [
                            d,
                            int(n)
                            if item.kind == "int" and isinstance(n, float) and n.is_integer()
                            else n,
                        ]
                        for d, n in steps
                    ],
                )
                if v.get(f"{item.path}.source"):
                    comments[item.path] = str(v[f"{item.path}.source"])
    return tree["scenario"], tree["capacity"], tree["costs"], comments


_SAME = object()


def _diff(new: Any, old: Any) -> Any:
    if isinstance(new, dict) and isinstance(old, dict):
        out = {}
        for key, value in new.items():
            changed = _diff(value, old[key]) if key in old else value
            if changed is not _SAME:
                out[key] = changed
        return out or _SAME
    return _SAME if new == old else new


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        text = repr(value)
        return text if "e" not in text or "." in text else f"{value:.10f}".rstrip("0")
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(str(value), ensure_ascii=False)


def _emit(lines: list[str], key: str, value: Any, depth: int, path: str, notes: dict) -> None:
    pad = "  " * depth
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key):
        key = json.dumps(key, ensure_ascii=False)  # a financial year, say: "2025/26"
    for line in textwrap.wrap(notes.get(path, ""), 88 - len(pad), break_on_hyphens=False):
        lines.append(f"{pad}# {line}")
    if isinstance(value, dict) and value:
        lines.append(f"{pad}{key}:")
        for k, v in value.items():
            _emit(lines, str(k), v, depth + 1, f"{path}.{k}", notes)
    elif isinstance(value, dict):
        lines.append(f"{pad}{key}: {{}}")
    else:
        lines.append(f"{pad}{key}: {_scalar(value)}")


def scenario_yaml(form: ScenarioForm) -> str:
    """The scenario file for ``form``, in the shipped files' format: the ``scenario`` block
    with a source per lever, then only the capacity and costs that differ from ``configs/``
    (each capacity entry with its source as a comment above it)."""
    scenario, capacity, costs, notes = _settings(form)
    base = _baseline()
    lines = [
        "# @package _global_",
        f"# {scenario['title'] or scenario['name']}: a scenario written by the browser app's",
        "# Scenarios page. It changes only what differs from configs/; each lever has its source.",
        "scenario:",
    ]
    for key in ("name", "title"):
        lines.append(f"  {key}: {_scalar(scenario[key])}")
    description = scenario["description"]
    if description and "\n" not in description and description == " ".join(description.split()):
        lines.append("  description: >-")
        lines += [f"    {line}" for line in textwrap.wrap(description, 84, break_on_hyphens=False)]
    else:
        lines.append(f"  description: {_scalar(description)}")
    known = ("arrival_levers", "hazard_levers", "entry_levers", "uasc_arrivals")
    others = [k for k in scenario if k not in ("name", "title", "description", *known)]
    for key in (*known, *others):
        value = scenario.get(key)
        if value:
            _emit(lines, key, value, 1, f"scenario.{key}", notes)
    for part, new in (("capacity", capacity), ("costs", costs)):
        changed = _diff(new, base[part])
        if changed is not _SAME:
            _emit(lines, part, changed, 0, part, notes)
    return "\n".join(lines) + "\n"


# --- Checking ----------------------------------------------------------------------------


def field_of(problem_field: str, form: ScenarioForm) -> str:
    """The form field a problem's setting belongs to (the nearest enclosing one)."""
    path = problem_field
    while path:
        if path in form.values:
            return path
        stripped = re.sub(r"(\[\d+\]|\.[^.\[\]]+)$", "", path)
        if stripped == path:
            break
        path = stripped
    return ""


def field_label(path: str) -> str:
    """The plain label of a form field (its last words for a table's row)."""
    for section in SECTIONS:
        for item in section.items:
            if isinstance(item, Field) and item.key == path:
                return item.label
            if isinstance(item, Table) and path.startswith(item.path + "."):
                row, _, key = path[len(item.path) + 1 :].rpartition(".")
                label = next((f.label for f in item.fields if f.key == key), key)
                return f"{item.title}, {row}: {label}"
            if isinstance(item, Schedule) and path.startswith(item.path):
                match = re.match(r"\[(\d+)\]\[(\d)\]", path[len(item.path) :])
                if match:
                    what = "date" if match.group(2) == "0" else item.value_label
                    return f"{item.title}, row {int(match.group(1)) + 1}: {what}"
                return f"{item.title}: source"
    return path


_EXAMPLES = {
    "amounts": "numbers separated by commas, e.g. 1000000, 1500000",
    "year_amounts": "each financial year once with its amount, separated by commas",
}


def _unreadable(form: ScenarioForm) -> list[tuple[str, str]]:
    """The lists of amounts that are not numbers, as ``(form field, message)``: they would
    not compose, and the composition's message names no field."""
    paths: list[tuple[str, Field]] = []
    for section in SECTIONS:
        for item in section.items:
            if isinstance(item, Field) and item.kind in _EXAMPLES:
                paths.append((item.key, item))
            elif isinstance(item, Table):
                paths += [
                    (f"{item.path}.{key}.{f.key}", f)
                    for key in form.rows.get(item.path, [])
                    for f in item.fields
                    if f.kind in _EXAMPLES
                ]
    out = []
    for path, f in paths:
        value = form.values.get(path)
        if isinstance(_to_setting(f, value), str):
            message = f"{value!r} cannot be read: expected {_EXAMPLES[f.kind]}"
            out.append((path, f"{field_label(path)}: {message}"))
    return out


def form_problems(form: ScenarioForm, folder: Path) -> list[tuple[str, str]]:
    """Every problem of the form as ``(form field, message)``: the file name's own rule,
    amounts that cannot be read, then the command line's validation of the run composed
    with the form's scenario (those amounts left empty)."""
    return check_form(form, folder).problems


@dataclass(frozen=True)
class FormCheck:
    """What :func:`check_form` found, each as ``(form field, message)``: ``problems`` stop
    the form being saved or run (each message names its field); ``not_held`` are levers on
    services the council's data do not record, which a run on those data would refuse (the
    file may still be saved, for data that do record them; each message is the lever's
    alone, to show beside its field)."""

    problems: list[tuple[str, str]]
    not_held: list[tuple[str, str]]


def check_form(
    form: ScenarioForm,
    folder: Path,
    held: tuple[Collection[str], Collection[str]] | None = None,
) -> FormCheck:
    """The form's problems (:func:`form_problems`) and, given ``held`` (the arrival kinds
    and the states the council's data record), its levers on what those data do not
    record (:func:`care_demand.scenarios.levers_not_held`), composed once."""
    out: list[tuple[str, str]] = []
    name = str(form.values.get("scenario.name") or "")
    if not _NAME.match(name):
        out.append(
            ("scenario.name", f"{name!r} is not a file name: use lower case letters, digits, _")
        )
    unreadable = _unreadable(form)
    if unreadable:
        out += unreadable
        form = form.copy()
        form.values.update({path: "" for path, _ in unreadable})
    try:
        config, problems = compose_scenario(folder, text=scenario_yaml(form))
    except (ValueError, TypeError) as exc:
        return FormCheck([*out, ("scenario", f"cannot be written: {exc}")], [])
    not_held = levers_not_held(config, *held) if held is not None and config is not None else []
    for setting, message in problems:
        target = field_of(setting, form)
        label = field_label(target) if target else setting
        out.append((target, f"{label} ({setting}): {message}"))
    return FormCheck(out, [(field_of(setting, form), message) for setting, message in not_held])


# --- Saving, copying, deleting -----------------------------------------------------------


def save_scenario(form: ScenarioForm, folder: Path, overwrite: bool = False) -> Path:
    """Write ``form`` as ``folder/NAME.yaml``; refuse, listing why, when it has problems,
    would replace the baseline, or would replace another file without ``overwrite``."""
    problems = form_problems(form, folder)
    if problems:
        raise ScenarioFileError(
            "not saved; correct these first:\n" + "\n".join(f"  {m}" for _, m in problems)
        )
    name = str(form.values["scenario.name"])
    path = Path(folder) / f"{name}.yaml"
    if name == BASELINE:
        raise ScenarioFileError(
            "the baseline is what every scenario is compared with: save under another name"
        )
    if path.exists() and not overwrite:
        raise ScenarioFileError(f"{name} exists already: choose another name")
    path.write_text(scenario_yaml(form), encoding="utf-8")
    return path


def duplicate_scenario(folder: Path, name: str, new_name: str) -> Path:
    """Copy scenario ``name`` to ``new_name`` (its own name and title changed to match)."""
    form = read_form(folder, name)
    form.values["scenario.name"] = new_name
    form.values["scenario.title"] = f"{form.values.get('scenario.title') or name} (copy)"
    return save_scenario(form, folder)


def delete_scenario(folder: Path, name: str) -> None:
    """Delete scenario ``name``; the baseline cannot be deleted."""
    if name == BASELINE:
        raise ScenarioFileError(
            "the baseline cannot be deleted: every scenario is compared with it"
        )
    path = Path(folder) / f"{name}.yaml"
    if not path.is_file():
        raise ScenarioFileError(f"there is no scenario {name!r} in {folder}")
    path.unlink()
