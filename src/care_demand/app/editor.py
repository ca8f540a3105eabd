"""The browser app's Scenarios page: make a what-if without editing YAML (a Shiny module).

The page only lays out the form and wires it to the plain functions of
:mod:`care_demand.app.scenario_files` (read, write, check, save, copy, delete), which are
tested on their own. Every field is checked as it changes by the command line's own
validation; each message appears beside its field, and so does each lever on a service the
data checked on the Data page do not record (a run on them would stop; the file can still be
saved, for data that do). :func:`editor_server` returns the flag
the Run page uses to disable Run while the form has a problem, and a counter that changes
after each save, copy or deletion so the Run page can refresh its list of scenarios.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from htmltools import Tag, TagList
from shiny import Inputs, Outputs, Session, module, reactive, render, ui
from shiny.types import SilentException

from care_demand.app.scenario_fields import SECTIONS, Field, Schedule, Table
from care_demand.app.scenario_files import (
    BASELINE,
    FormCheck,
    ScenarioFileError,
    ScenarioForm,
    add_row,
    check_form,
    delete_scenario,
    duplicate_scenario,
    field_label,
    read_form,
    remove_row,
    save_scenario,
    scenario_titles,
)

__all__ = ["EditorState", "editor_server", "editor_ui", "field_id"]

_MESSAGE = "care_demand_problems"
_NOT_HELD = "Not on the data checked on the Data page: "
_CAPACITY = "Capacity"  # the section that says how a run sizes the in-house capacity
_SCRIPT = """
Shiny.addCustomMessageHandler("MESSAGE", function (problems) {
  for (const [id, text] of Object.entries(problems)) {
    const box = document.getElementById(id + "_msg");
    if (box) { box.textContent = text; }
    const input = document.getElementById(id);
    if (input) { input.classList.toggle("is-invalid", text !== ""); }
  }
});
""".replace("MESSAGE", _MESSAGE)
_CSS = """
.editor-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr));
  gap: 0 1rem; align-items: end; }
.editor-row { border: 1px solid #ddd; border-radius: 4px; padding: 0.5rem 0.75rem;
  margin-bottom: 0.6rem; }
.field-problem { color: #b00020; font-size: 0.85rem; min-height: 0; margin-top: -0.6rem;
  margin-bottom: 0.5rem; }
.editor-section { margin-bottom: 1.5rem; }
"""


def field_id(path: str) -> str:
    """The input id of the form field for setting ``path`` (letters, digits and ``_``)."""
    return "f_" + re.sub(r"[^A-Za-z0-9]", lambda m: f"_{ord(m.group()):x}_", path)


@dataclass(frozen=True)
class EditorState:
    """What the rest of the app reads: ``has_problems`` (Run is disabled while true) and
    ``changed`` (a count that moves after each save, copy or deletion)."""

    has_problems: reactive.Calc_[bool]
    changed: reactive.Value[int]


@module.ui
def editor_ui(folder: Path) -> TagList:
    """The page: pick a scenario, load it, edit it, save, copy or delete it."""
    choices = scenario_titles(folder)
    return TagList(
        ui.tags.style(_CSS),
        ui.tags.script(_SCRIPT),
        ui.layout_sidebar(
            ui.sidebar(
                ui.input_select("start_from", "Start from", choices, selected=BASELINE),
                ui.input_action_button("load", "Load", class_="btn-primary"),
                ui.hr(),
                ui.input_action_button("save", "Save", class_="btn-success"),
                ui.output_ui("status"),
                ui.hr(),
                ui.input_text("new_name", "New file name for a copy", placeholder="my_scenario"),
                ui.input_action_button("duplicate", "Duplicate"),
                ui.input_action_button("delete", "Delete", class_="btn-outline-danger"),
                width=340,
            ),
            ui.output_ui("form"),
        ),
    )


def _widget(fid: str, f: Field, value: Any, message: str = "") -> Tag:
    label = f.label
    if f.kind in ("number", "int", "optional_number"):
        widget = ui.input_numeric(fid, label, value, step=1 if f.kind == "int" else 0.01)
    elif f.kind == "longtext":
        widget = ui.input_text_area(fid, label, value or "", rows=4, width="100%")
    elif f.kind in ("date", "optional_date"):
        widget = ui.input_text(fid, label, value or "", placeholder="YYYY-MM-DD")
    elif f.kind == "select":
        widget = ui.input_select(fid, label, list(f.choices), selected=value)
    elif f.kind == "optional_select":
        choices = {"": "(all)", **{c: c for c in f.choices}}
        widget = ui.input_select(fid, label, choices, selected=value or "")
    elif f.kind == "bands":
        widget = ui.input_selectize(
            fid, label, list(f.choices), selected=list(value or []), multiple=True
        )
    elif f.kind == "toggle":
        widget = ui.input_checkbox(fid, label, bool(value))
    else:
        widget = ui.input_text(fid, label, "" if value is None else str(value), width="100%")
    return ui.div(
        widget, ui.div(message, class_="field-problem", id=f"{module.resolve_id(fid)}_msg")
    )


@module.server
def editor_server(
    input: Inputs,
    output: Outputs,
    session: Session,
    folder: Path,
    capacity_note: Callable[[], str] = lambda: "",
    data_held: Callable[[], tuple[Collection[str], Collection[str]] | None] = lambda: None,
) -> EditorState:
    """The page's logic; returns the flags the Run page reads. ``capacity_note``: what a run
    on the data checked on the Data page does with the in-house capacity (empty: nothing to
    say), shown at the head of the Capacity section. ``data_held``: the arrival kinds and
    the states those data record (``None``: no data checked), against which the form's
    levers are checked."""
    structure: reactive.Value[ScenarioForm | None] = reactive.value(None)
    changed: reactive.Value[int] = reactive.value(0)
    note: reactive.Value[str] = reactive.value("")

    def _ns(path: str) -> str:
        return session.ns(field_id(path))

    def _refresh_choices(selected: str | None = None) -> None:
        ui.update_select("start_from", choices=scenario_titles(folder), selected=selected)
        changed.set(changed.get() + 1)

    def _load(name: str) -> None:
        try:
            structure.set(read_form(folder, name))
            note.set(f"Loaded {name}.")
        except ScenarioFileError as exc:
            note.set(str(exc))

    @reactive.effect
    @reactive.event(input.load, ignore_none=False)
    def _on_load() -> None:
        _load(input.start_from() or BASELINE)

    @reactive.calc
    def current() -> ScenarioForm | None:
        form = structure()
        if form is None:
            return None
        out = form.copy()
        for path in form.values:
            try:
                value = input[field_id(path)]()
            except SilentException:
                continue  # not shown yet: the value it was drawn with
            if isinstance(value, tuple):
                value = list(value)
            out.values[path] = value
        return out

    @reactive.calc
    def checked() -> FormCheck:
        form = current()
        if form is None:
            return FormCheck([], [])
        try:
            held = data_held()
        except SilentException:  # no data checked on the Data page yet
            held = None
        return check_form(form, folder, held)

    @reactive.calc
    def problems() -> list[tuple[str, str]]:
        return checked().problems

    @reactive.calc
    def not_held() -> list[tuple[str, str]]:
        return [(target, _NOT_HELD + message) for target, message in checked().not_held]

    @reactive.calc
    def has_problems() -> bool:
        return bool(problems())

    @reactive.effect
    async def _show_problems() -> None:
        form = current()
        if form is None:
            return
        messages = {_ns(p): "" for p in form.values}
        for target, message in [*problems(), *not_held()]:
            if target:
                key = _ns(target)
                messages[key] = (messages[key] + " " + message).strip()
        await session.send_custom_message(_MESSAGE, messages)

    def _snapshot() -> ScenarioForm | None:
        with reactive.isolate():
            return current()

    @reactive.effect
    @reactive.event(input.add)
    def _add() -> None:
        form = _snapshot()
        if form is not None:
            structure.set(add_row(form, str(input.add())))

    @reactive.effect
    @reactive.event(input.remove)
    def _remove() -> None:
        form = _snapshot()
        if form is not None:
            path, _, key = str(input.remove()).partition("|")
            structure.set(remove_row(form, path, key))

    @render.ui
    def form() -> Tag | TagList:
        form = structure()
        if form is None:
            return ui.p("Pick a scenario and press Load.", class_="note")
        with reactive.isolate():
            shown = [*problems(), *not_held()]
        messages.clear()
        for target, message in shown:
            messages[target] = (messages.get(target, "") + " " + message).strip()
        return TagList(*[_section(s, form) for s in SECTIONS])

    messages: dict[str, str] = {}

    def _field(path: str, f: Field, form: ScenarioForm) -> Tag:
        return _widget(field_id(path), f, form.values.get(path), messages.get(path, ""))

    def _section(section: Any, form: ScenarioForm) -> Tag:
        parts: list[Tag] = []
        singles: list[Tag] = []
        for item in section.items:
            if isinstance(item, Field):
                singles.append(_field(item.key, item, form))
                continue
            if singles:
                parts.append(ui.div(*singles, class_="editor-grid"))
                singles = []
            parts.append(_table(item, form) if isinstance(item, Table) else _schedule(item, form))
        if singles:
            parts.append(ui.div(*singles, class_="editor-grid"))
        sizing = [ui.output_ui("capacity_sizing")] if section.title == _CAPACITY else []
        return ui.div(
            ui.h4(section.title),
            ui.p(section.intro, class_="note"),
            *sizing,
            *parts,
            class_="editor-section",
        )

    @render.ui
    def capacity_sizing() -> Tag | None:
        text = capacity_note()
        if not text:
            return None
        return ui.div(
            ui.tags.strong("On the data checked on the Data page. "),
            text,
            " The fields below show the settings as configured; a scenario's changes from "
            "the start on apply to the capacity as sized.",
            class_="alert alert-info",
            role="note",
        )

    def _button(label: str, target: str, value: str, **attrs: str) -> Tag:
        js = f"Shiny.setInputValue('{session.ns(target)}', '{value}', {{priority: 'event'}})"
        return ui.tags.button(
            label, type="button", class_="btn btn-sm btn-outline-secondary", onclick=js, **attrs
        )

    def _table(table: Table, form: ScenarioForm) -> Tag:
        rows = []
        for key in form.rows.get(table.path, []):
            fields = [_field(f"{table.path}.{key}.{f.key}", f, form) for f in table.fields]
            head = [ui.tags.strong(key)]
            if not table.fixed:
                head.append(
                    _button(
                        "Remove", "remove", f"{table.path}|{key}", **{"aria-label": f"Remove {key}"}
                    )
                )
            rows.append(
                ui.div(
                    ui.div(*head, class_="d-flex gap-2 align-items-center mb-1"),
                    ui.div(*fields, class_="editor-grid"),
                    class_="editor-row",
                    data_row=f"{table.path}.{key}",
                )
            )
        add = [] if table.fixed else [_button(f"Add to {table.title.lower()}", "add", table.path)]
        note = [ui.p(table.note, class_="note")] if table.note else []
        return ui.div(ui.h5(table.title), *note, *rows, *add, class_="mb-3")

    def _schedule(item: Schedule, form: ScenarioForm) -> Tag:
        date_field = Field("date", "From", "date")
        value_field = Field("value", item.value_label, item.kind)
        rows = []
        for key in form.rows.get(item.path, []):
            date_path, value_path = f"{item.path}[{key}][0]", f"{item.path}[{key}][1]"
            rows.append(
                ui.div(
                    _field(date_path, date_field, form),
                    _field(value_path, value_field, form),
                    ui.div(_button("Remove", "remove", f"{item.path}|{key}")),
                    class_="editor-grid",
                )
            )
        source = f"{item.path}.source"
        return ui.div(
            ui.h5(item.title),
            ui.p(item.note, class_="note") if item.note else None,
            *rows,
            _button("Add a step", "add", item.path),
            _field(source, Field("source", "Source", "text"), form),
            class_="mb-3",
        )

    @render.ui
    def status() -> Tag:
        found = problems()
        lines = [ui.p(note())] if note() else []
        if found:
            lines.append(
                ui.p(f"{len(found)} problem(s): correct them to save or run.", class_="text-danger")
            )
            lines.append(ui.tags.ul(*[ui.tags.li(m) for _, m in found], class_="text-danger small"))
        elif current() is not None:
            lines.append(ui.p("No problems: ready to save.", class_="text-success"))
        away = not_held()
        if away:
            lines.append(
                ui.div(
                    ui.p(
                        f"{len(away)} lever(s) change services the data checked on the Data "
                        "page do not record: a run on those data would stop. The scenario "
                        "can still be saved, for data that record them."
                    ),
                    ui.tags.ul(
                        *[ui.tags.li(f"{field_label(t)}: {m}") for t, m in checked().not_held],
                        class_="small",
                        style="overflow-wrap: anywhere",
                    ),
                    class_="alert alert-warning",
                    role="status",
                )
            )
        return ui.div(*lines)

    @reactive.effect
    @reactive.event(input.save)
    def _save() -> None:
        form = _snapshot()
        if form is None:
            return
        name = str(form.values.get("scenario.name") or "")
        try:
            path = save_scenario(form, folder, overwrite=name == form.loaded)
        except ScenarioFileError as exc:
            note.set(str(exc).splitlines()[0])
            return
        form.loaded = name
        structure.set(form)
        note.set(f"Saved as {path.name} in {folder}.")
        _refresh_choices(name)

    @reactive.effect
    @reactive.event(input.duplicate)
    def _duplicate() -> None:
        source, new = input.start_from(), input.new_name().strip()
        try:
            path = duplicate_scenario(folder, source, new)
        except ScenarioFileError as exc:
            note.set(str(exc).splitlines()[0])
            return
        _refresh_choices(new)
        _load(new)
        note.set(f"Copied {source} to {path.name}.")

    @reactive.effect
    @reactive.event(input.delete)
    def _delete() -> None:
        name = input.start_from()
        if name == BASELINE:
            note.set("The baseline cannot be deleted: every scenario is compared with it.")
            return
        ui.modal_show(
            ui.modal(
                f"Delete the scenario {name}? This removes {name}.yaml from {folder}.",
                title="Delete a scenario",
                footer=TagList(
                    ui.input_action_button("confirm_delete", f"Delete {name}", class_="btn-danger"),
                    ui.modal_button("Keep it"),
                ),
            )
        )

    @reactive.effect
    @reactive.event(input.confirm_delete)
    def _confirm_delete() -> None:
        name = input.start_from()
        ui.modal_remove()
        try:
            delete_scenario(folder, name)
        except ScenarioFileError as exc:
            note.set(str(exc))
            return
        _refresh_choices(BASELINE)
        note.set(f"Deleted {name}.")

    return EditorState(has_problems=has_problems, changed=changed)
