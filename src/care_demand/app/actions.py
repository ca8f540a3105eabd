"""What the browser app's Data page does, as plain functions (no Shiny session).

The page calls these and only shows what they return, so tests call them directly too.
Nothing here returns child-level data: the validation table has no value column (values
can be child ids, even if pseudonymised), the history is counts at dates, and every count
drawn or shown passes through :mod:`care_demand.outputs.disclosure`, exactly as in a run's
published tables.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml
from matplotlib.figure import Figure

from care_demand.app.explore import HistoryCube, history_cube
from care_demand.config import SCENARIO_DIR, AppConfig, load_config, projection_settings
from care_demand.data import EventHistory, build_history
from care_demand.data.problems import REPAIRS, ValidationReport
from care_demand.data.validate import check_folder
from care_demand.errors import CareDemandError
from care_demand.outputs.charts import continuum_chart, placement_mix_chart
from care_demand.outputs.charts.run import held_states
from care_demand.outputs.disclosure import (
    DisclosureRule,
    suppress_recorded_monthly,
    suppress_stocks,
)
from care_demand.outputs.summary import summarise_history
from care_demand.paths import EXAMPLE_DATA_DIR
from care_demand.pipeline import SYNTHETIC_CAPTION, recorded_monthly
from care_demand.simulation.build import capacity_at_start, projection_start, sizing_note

__all__ = [
    "PROBLEM_COLUMNS",
    "DataView",
    "compose",
    "continuum_figure",
    "inspect_data",
    "placement_figure",
    "scenario_choices",
]

# The validation table's columns as the page shows them (never the value: it may be an id).
PROBLEM_COLUMNS: dict[str, str] = {
    "file": "File",
    "row": "Row",
    "column": "Column",
    "rule": "Rule",
    "severity": "Severity",
    "message": "What is wrong",
}

# Hydra's global state is not thread-safe: one composition at a time.
_COMPOSE_LOCK = threading.Lock()

# An empty projection, so the shared run charts draw the recorded history alone.
_NO_PROJECTION = pd.DataFrame(
    columns=["month", "measure", "category", "age_band", "p10", "p25", "p50", "p75", "p90", "mean"]
)


def compose(overrides: list[str] | tuple[str, ...] = ()) -> AppConfig:
    """The run's settings composed from ``configs/`` as ``care-demand`` does, with overrides."""
    with _COMPOSE_LOCK:
        return load_config(list(overrides))


@dataclass(frozen=True)
class DataView:
    """What the Data page shows about one data folder.

    ``problems``: the validation report as a table (file, row, column, rule, severity, what
    is wrong), with no values; ``repairs``: values read in their one clear meaning, per rule;
    ``stocks`` and ``recorded``: the published (disclosure-controlled) history, or ``None``
    when the data could not be read into a history (``history_note`` says why).
    """

    folder: str
    synthetic: bool
    summary: str
    ok: bool
    files: int
    problems: pd.DataFrame
    repairs: pd.DataFrame
    stocks: pd.DataFrame | None = None
    recorded: pd.DataFrame | None = None
    rule: DisclosureRule = field(default_factory=DisclosureRule)
    history_note: str = ""
    # Counts of the history of care for the explorer (kept on the server, never shown raw).
    cube: HistoryCube | None = None
    # What a run on these data does with the in-house capacity (capacity.sizing), when it
    # sizes it to the caseload at the start; empty when it runs as configured.
    capacity_note: str = ""
    # The kinds of arrival from outside services and the states the data record (None:
    # no history), which say the scenarios that can run on them.
    arrival_kinds: frozenset[str] | None = None
    states: frozenset[str] | None = None

    @property
    def held(self) -> tuple[frozenset[str], frozenset[str]] | None:
        """The arrival kinds and the states the data record, or ``None`` with no history."""
        if self.arrival_kinds is None or self.states is None:
            return None
        return self.arrival_kinds, self.states

    def problems_csv(self) -> str:
        """The validation table as CSV text, as the page's download gives it."""
        return self.problems.to_csv(index=False)


def _problems(report: ValidationReport) -> pd.DataFrame:
    frame = report.to_frame()
    return frame.loc[:, list(PROBLEM_COLUMNS)].rename(columns=PROBLEM_COLUMNS)


def _repairs(report: ValidationReport) -> pd.DataFrame:
    rows = [
        (rule, n, REPAIRS.get(rule, rule).format(n=n).removeprefix("repaired: "))
        for rule, n in report.repairs.items()
    ]
    return pd.DataFrame(rows, columns=["Rule", "Values repaired", "What was done"])


def _summary(report: ValidationReport, synthetic: bool) -> str:
    where = "The built-in example" if synthetic else report.folder
    errors, warnings = len(report.errors), len(report.warnings)
    repaired = sum(report.repairs.values())
    verdict = "no errors" if report.ok else f"{errors} error(s)"
    return (
        f"{where}: {len(report.files)} file(s) checked, {verdict}, {warnings} warning(s), "
        f"{repaired} value(s) repaired, {len(report.notes)} file(s) present but not read."
    )


def inspect_data(folder: str | Path | None, lenient: bool = False) -> DataView:
    """Validate a council folder (``None`` or empty: the built-in example) and summarise it.

    The history is built when the data pass validation (or, with ``lenient``, from the rows
    left after dropping those with errors), and published through disclosure control.
    """
    overrides = ["data.lenient=true"] if lenient else []
    config = compose(overrides)
    synthetic = folder in (None, "") or Path(folder).expanduser().resolve() == (
        EXAMPLE_DATA_DIR.resolve()
    )
    path = EXAMPLE_DATA_DIR if synthetic else Path(str(folder)).expanduser().resolve()
    result = check_folder(path, config.data)
    report = result.report
    view = DataView(
        folder="built-in example" if synthetic else str(path),
        synthetic=synthetic,
        summary=_summary(report, synthetic),
        ok=report.ok,
        files=len(report.files),
        problems=_problems(report),
        repairs=_repairs(report),
    )
    if result.data is None:
        return _with_note(view, "No history: nothing in the folder could be read.")
    if not report.ok and not lenient:
        return _with_note(
            view,
            "No history: the data did not pass validation. Correct the rows listed, or tick "
            "'drop rows with errors' to see the history without them.",
        )
    try:
        history = build_history(result.data, config.data)
    except CareDemandError as exc:
        return _with_note(view, f"No history: {str(exc).splitlines()[0]}")
    summary = summarise_history(history, config.output, synthetic=synthetic)
    rule = DisclosureRule.from_config(config.output)
    return DataView(
        **{
            **view.__dict__,
            "stocks": suppress_stocks(summary.stocks, rule),
            "recorded": suppress_recorded_monthly(recorded_monthly(history), rule),
            "rule": rule,
            "cube": history_cube(history),
            "capacity_note": _capacity_note(config, path, history),
            "arrival_kinds": history.recorded_kinds,
            "states": frozenset(history.recorded_states),
        }
    )


def _capacity_note(config: AppConfig, folder: Path, history: EventHistory) -> str:
    """How a run on ``folder`` sizes the in-house capacity (empty: as configured)."""
    data = dataclasses.replace(config.data, path=str(folder))
    settings = projection_settings(dataclasses.replace(config, data=data))
    if settings.capacity.sizing != "caseload":
        return ""
    start = projection_start(history)
    sized = capacity_at_start(history, settings.capacity, settings.example_capacity)
    return (
        f"A run on these data starts on {start.day} {start:%B %Y} with the in-house capacity "
        "sized to the children in care then, where configs/capacity/ still holds the "
        f"built-in example's figures: {sizing_note(sized, start)}"
    )


def _with_note(view: DataView, note: str) -> DataView:
    return DataView(**{**view.__dict__, "history_note": note})


def placement_figure(view: DataView) -> Figure | None:
    """Children in care by placement group at each 31 March (published counts), or ``None``."""
    if view.stocks is None:
        return None
    return placement_mix_chart(
        view.stocks,
        _NO_PROJECTION,
        title="Children in care by placement type at 31 March: recorded",
        caption=SYNTHETIC_CAPTION if view.synthetic else "",
        rule=view.rule,
    )


def continuum_figure(view: DataView) -> Figure | None:
    """Children in early help, in need, on a plan and in care at month end, or ``None``."""
    if view.recorded is None:
        return None
    services = len(held_states(view.recorded)) > 1
    return continuum_chart(
        view.recorded,
        _NO_PROJECTION,
        title="Children in early help, in need, on a protection plan and in care: recorded"
        if services
        else "Children in care at month end: recorded",
        caption=SYNTHETIC_CAPTION if view.synthetic else "",
        rule=view.rule,
    )


def scenario_choices() -> dict[str, str]:
    """Scenario name -> title of every file in ``scenarios/`` except the baseline."""
    out: dict[str, str] = {}
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        if path.stem == "baseline":
            continue
        try:
            body = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            title = str(body.get("scenario", {}).get("title") or path.stem)
        except (OSError, yaml.YAMLError, AttributeError):
            title = path.stem
        out[path.stem] = title
    return out
