"""The data summary: what the council's history says, before any modelling.

Counts by state at each 31 March of the observation window, arrivals per financial year and
the data-quality result, as tidy tables and a short Markdown page.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from care_demand import vocab
from care_demand.data import EventHistory
from care_demand.outputs.disclosure import (
    DisclosureRule,
    suppress_arrivals,
    suppress_counts,
    suppress_stocks,
)
from care_demand.outputs.family_help import (
    FAMILY_HELP,
    FAMILY_HELP_LABEL,
    add_family_help_stocks,
    family_help_held,
    family_help_on,
)
from care_demand.outputs.settings import OutputConfig

__all__ = [
    "PRE_PROCEEDINGS_LABELS",
    "SERVICES",
    "SERVICE_LABELS",
    "STATE_LABELS",
    "UASC_ENTRY",
    "UASC_GROUP",
    "DataSummary",
    "summarise_history",
    "suppress_pre_proceedings",
]

# How each state is named in tables and reports.
STATE_LABELS = {
    vocab.EARLY_HELP: "Early help",
    vocab.ASSESSMENT: "Assessment",
    vocab.CIN: "Child in need",
    vocab.CP: "Child protection plan",
    vocab.CARE: "Children in care",
    vocab.CARE_LEAVER: "Care leavers (18-20)",
}
# The services tables may show: each state, then Family Help (output.family_help).
SERVICES = (*vocab.STATES, FAMILY_HELP)
SERVICE_LABELS = {**STATE_LABELS, FAMILY_HELP: FAMILY_HELP_LABEL}
# Unaccompanied asylum-seeking children, counted apart when the returns say who they are:
# in stocks_31_march.csv a row of state ``care`` with this ``placement_group`` (a subset of
# the children in care, not one of the placement groups that add up to the total) ...
UASC_GROUP = "uasc"
# ... and in arrivals_by_year.csv this ``kind`` (a subset of ``care_entry``).
UASC_ENTRY = "care_entry_uasc"
_ARRIVAL_LABELS = {
    "referral": "Referrals to children's social care",
    "early_help_request": "Early-help requests",
    "care_entry": "Entries to care",
    UASC_ENTRY: "Entries to care: of which UASC",
}
# The events of pre-proceedings counted per year (EventHistory.pre_proceedings_events).
PRE_PROCEEDINGS_LABELS = {
    "pre_proceedings_started": "Pre-proceedings started",
    "letter_before_proceedings": "Letters before proceedings",
    "fgdm_held": "Family group decision-making meetings held",
    "court_application": "Applications to court",
}


@dataclass(frozen=True)
class DataSummary:
    """Tables and text describing one council's history.

    Attributes:
        stocks: tidy counts at each 31 March: ``date``, ``state``, ``placement_group``
            (``all`` for the state total), ``children``; when the returns hold UASC
            information, also state ``care`` with placement group ``uasc``: the children in
            care who are unaccompanied asylum-seeking children on that date.
        arrivals: ``financial_year`` (e.g. ``2021/22``), ``kind``, ``arrivals``; with UASC
            information, kind ``care_entry_uasc`` counts the entries to care of UASC (every
            financial year of the window, zeros included).
        markdown: the summary page with small counts suppressed.
        pre_proceedings: when the CIN census carries its pre-proceedings block:
            ``financial_year``, ``event`` (``PRE_PROCEEDINGS_LABELS``' keys), ``count`` for
            every financial year of the window, zeros included; else ``None``.
        family_help: whether the stocks hold Family Help (state ``family_help``, placement
            group ``all``: early help plus child in need; ``output.family_help``).
    """

    stocks: pd.DataFrame
    arrivals: pd.DataFrame
    markdown: str
    pre_proceedings: pd.DataFrame | None = None
    family_help: bool = False


def stock_dates(history: EventHistory, output: OutputConfig) -> list[pd.Timestamp]:
    """The statutory count dates (31 March by default) inside the observation window."""
    dates = []
    for year in range(history.window_start.year, history.window_end.year + 1):
        date = pd.Timestamp(year=year, month=output.stock_month, day=output.stock_day)
        if history.window_start <= date <= history.window_end:
            dates.append(date)
    return dates


def financial_year(dates: pd.Series) -> pd.Series:
    """Label dates with their April-March financial year, e.g. ``2021/22``."""
    start_year = dates.dt.year - (dates.dt.month < 4).astype(int)
    return start_year.astype(str) + "/" + ((start_year + 1) % 100).astype(str).str.zfill(2)


def _stocks(history: EventHistory, dates: list[pd.Timestamp]) -> pd.DataFrame:
    rows = []
    for date in dates:
        by_state = history.stock(date, by=("state",))
        for state in history.recorded_states:
            rows.append((date, state, "all", int(by_state.get(state, 0))))
        by_group = history.stock(date, by=("state", "placement_group"))
        for group in vocab.PLACEMENT_GROUPS:
            rows.append((date, vocab.CARE, group, int(by_group.get((vocab.CARE, group), 0))))
        if history.uasc_supplied:
            care = history.open_on(date)
            care = care.loc[care["state"] == vocab.CARE, "child_id"]
            uasc = int(history.uasc_on(care.reset_index(drop=True), date).sum())
            rows.append((date, vocab.CARE, UASC_GROUP, uasc))
    return pd.DataFrame(rows, columns=["date", "state", "placement_group", "children"])


def _arrivals(history: EventHistory) -> pd.DataFrame:
    arrivals = history.arrivals
    if arrivals.empty:
        return pd.DataFrame(columns=["financial_year", "kind", "arrivals"])
    table = (
        arrivals.assign(financial_year=financial_year(arrivals["date"]))
        .groupby(["financial_year", "kind"], observed=True)
        .size()
        .rename("arrivals")
        .reset_index()
    )
    if history.uasc_supplied:
        entries = arrivals.loc[arrivals["kind"] == "care_entry"].reset_index(drop=True)
        uasc = entries.loc[history.uasc_on(entries["child_id"], entries["date"])]
        years = _window_years(history)
        counts = financial_year(uasc["date"]).value_counts().reindex(years, fill_value=0)
        extra = pd.DataFrame(
            {"financial_year": years, "kind": UASC_ENTRY, "arrivals": counts.to_numpy()}
        )
        table = pd.concat([table, extra], ignore_index=True)
    return table.sort_values(["kind", "financial_year"], ignore_index=True)


def _window_years(history: EventHistory) -> pd.Index:
    """Every financial year of the observation window, in order."""
    window = pd.Series(pd.date_range(history.window_start, history.window_end, freq="MS"))
    return pd.Index(financial_year(window).unique(), name="financial_year")


def _pre_proceedings(history: EventHistory) -> pd.DataFrame | None:
    """Pre-proceedings events per financial year of the window (zeros included)."""
    if not history.has_pre_proceedings:
        return None
    events = history.pre_proceedings_events()
    years = _window_years(history)
    counts = (
        events.assign(financial_year=financial_year(events["date"]))
        .groupby(["event", "financial_year"])
        .size()
    )
    index = pd.MultiIndex.from_product([list(PRE_PROCEEDINGS_LABELS), years])
    table = counts.reindex(index, fill_value=0).rename("count").reset_index()
    table.columns = ["event", "financial_year", "count"]
    return table.loc[:, ["financial_year", "event", "count"]]


def suppress_pre_proceedings(table: pd.DataFrame, rule: DisclosureRule) -> pd.DataFrame:
    """``pre_proceedings_by_year.csv`` as published: events per financial year."""
    return suppress_counts(table, "count", rule)


def _pre_proceedings_section(table: pd.DataFrame | None, rule: DisclosureRule) -> list[str]:
    """The markdown section on pre-proceedings and family group decision-making."""
    if table is None:
        return []
    published = suppress_pre_proceedings(table, rule)
    published["event"] = published["event"].map(PRE_PROCEEDINGS_LABELS)
    wide = published.pivot(index="event", columns="financial_year", values="count")
    wide = wide.reindex(list(PRE_PROCEEDINGS_LABELS.values())).reset_index()
    return [
        "## Pre-proceedings and family group decision-making",
        "",
        "From the CIN census's pre-proceedings block (2025/26 on), per financial year. A "
        "meeting held with no date recorded counts in the year its pre-proceedings started.",
        "",
        _markdown_table(wide.rename(columns={"event": "Event"})),
        "",
    ]


def _month_name(month: int) -> str:
    return pd.Timestamp(year=2000, month=month, day=1).strftime("%B")


def _markdown_table(frame: pd.DataFrame) -> str:
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def _uasc_section(
    history: EventHistory, published: pd.DataFrame, arrivals: pd.DataFrame, rule: DisclosureRule
) -> list[str]:
    """The markdown section on unaccompanied asylum-seeking children (published counts)."""
    lines = ["## Unaccompanied asylum-seeking children (UASC)", ""]
    if not history.uasc_supplied:
        return [
            *lines,
            "No UASC information in the returns (no UASC table or Header UASC flag), so UASC "
            "are not counted separately.",
            "",
        ]
    lines += [
        "Children recorded as UASC, counted while their UASC status lasts (up to the date it "
        "ceased, DUC). They are also counted in the tables above.",
        "",
    ]
    stock = published[
        (published["state"] == vocab.CARE) & (published["placement_group"] == UASC_GROUP)
    ]
    row = {"": "UASC in care"} | {
        f"{d:%d %b %Y}": v for d, v in zip(stock["date"], stock["children"], strict=True)
    }
    lines += [_markdown_table(pd.DataFrame([row])), ""]
    entries = suppress_arrivals(arrivals, rule) if not arrivals.empty else arrivals
    entries = entries[entries["kind"] == UASC_ENTRY] if not entries.empty else entries
    if len(entries):
        row = {"": "Entries to care of UASC"} | dict(
            zip(entries["financial_year"], entries["arrivals"], strict=True)
        )
        lines += [_markdown_table(pd.DataFrame([row])), ""]
    return lines


def summarise_history(
    history: EventHistory,
    output: OutputConfig,
    *,
    synthetic: bool,
    dropped: dict[str, int] | None = None,
    dropped_open: dict[str, int] | None = None,
    repairs: dict[str, int] | None = None,
    lost_children: int | None = None,
    warnings: dict[str, int] | None = None,
) -> DataSummary:
    """Summarise ``history``: stocks at each count date, arrivals per financial year."""
    dates = stock_dates(history, output)
    stocks = _stocks(history, dates)
    family_help = family_help_held(history.recorded_states) and family_help_on(
        output.family_help, history.window_end
    )
    if family_help:
        stocks = add_family_help_stocks(stocks)
    arrivals = _arrivals(history)
    pre_proceedings = _pre_proceedings(history)
    rule = DisclosureRule.from_config(output)
    # Both tables come from one suppressed table, so the care total and its placement
    # groups hide the same figures here as in stocks_31_march.csv.
    published = suppress_stocks(stocks, rule)

    totals = published[published["placement_group"] == "all"].copy()
    labels = SERVICE_LABELS
    totals["state"] = totals["state"].map(labels)
    wide = totals.pivot(index="state", columns="date", values="children")
    shown = [*history.recorded_states, FAMILY_HELP] if family_help else history.recorded_states
    wide = wide.reindex([labels[s] for s in shown])
    wide.columns = [d.strftime("%d %b %Y") for d in wide.columns]
    wide = wide.reset_index().rename(columns={"state": "State"})

    care = published[(published["state"] == vocab.CARE) & (published["placement_group"] != "all")]
    care_wide = care.pivot(index="placement_group", columns="date", values="children")
    care_wide = care_wide.reindex(list(vocab.PLACEMENT_GROUPS))
    care_wide.columns = [d.strftime("%d %b %Y") for d in care_wide.columns]
    care_wide = care_wide.reset_index().rename(columns={"placement_group": "Placement group"})

    lines = [
        "# Data summary",
        "",
    ]
    if synthetic:
        lines += [
            "**Synthetic data.** This is the built-in example council: invented children whose "
            "totals are tuned to Dorset Council's published figures. It describes no real child.",
            "",
        ]
    mode_text = {
        "continuum": "continuum (SSDA903, CIN census and/or early help): the whole journey "
        "from early help to care is modelled",
        "care_only": "care only (SSDA903 alone): entries to care are the arrivals",
    }[history.mode]
    lines += [
        f"- Mode: {mode_text}.",
        f"- Observation window: {history.window_start:%d %B %Y} to {history.window_end:%d %B %Y}.",
        f"- Data fingerprint: `{history.fingerprint[:16]}`.",
    ]
    if dropped_open:
        lines.append(
            f"- **Open episodes dropped: {sum(dropped_open.values())}"
            + (f" (of {lost_children} children)" if lost_children is not None else "")
            + ".** Episodes open at the end of a return failed validation and were dropped "
            "in lenient mode; children whose episode was still open at the end of the data "
            "are missing from the projection's start: "
            + ", ".join(f"{rule} {n}" for rule, n in sorted(dropped_open.items()))
            + " (where: dropped_rows.csv)."
        )
    if dropped:
        total = sum(dropped.values())
        lines.append(f"- Lenient mode: {total} invalid rows dropped:")
        lines += [f"  - {rule}: {n}" for rule, n in sorted(dropped.items())]
    else:
        lines.append("- Validation: every file passed every check; no rows were dropped.")
    if warnings:
        lines.append(
            "- Validation warnings (rows kept; `care-demand-validate DIR` lists each): "
            + ", ".join(f"{rule} {n}" for rule, n in sorted(warnings.items()))
            + "."
        )
    if repairs:
        lines.append(
            "- Repaired (values with one clear meaning, read in it; see docs/input_formats.md):"
        )
        lines += [f"  - {rule}: {n}" for rule, n in sorted(repairs.items())]
    lines += [
        "",
        f"## Children by state at {output.stock_day} {_month_name(output.stock_month)}",
        "",
        "A child is counted once, in their highest level of need "
        "(care > child protection > child in need > assessment > early help)."
        if history.mode != "care_only"
        else "Children in care and care leavers: the SSDA903 return records no other "
        "service (early help, assessment, children in need and protection plans are in the "
        "early help and CIN census files).",
        *(
            [
                "Family Help, one service under the Families First Partnership programme, is "
                "early help plus child in need (each child counted once).",
            ]
            if family_help
            else []
        ),
        "",
        _markdown_table(wide),
        "",
        "## Children in care by placement group",
        "",
        _markdown_table(care_wide),
        "",
        "## Arrivals per financial year (April-March)",
        "",
    ]
    if arrivals.empty:
        lines.append("No arrivals in the window.")
    else:
        arr = suppress_arrivals(arrivals, rule)
        arr["kind"] = arr["kind"].map(_ARRIVAL_LABELS).fillna(arr["kind"])
        arr_wide = arr.pivot(index="kind", columns="financial_year", values="arrivals")
        arr_wide = arr_wide.fillna("0").reset_index().rename(columns={"kind": "Arrival"})
        lines.append(_markdown_table(arr_wide))
    lines += [
        "",
        *_uasc_section(history, published, arrivals, rule),
        *_pre_proceedings_section(pre_proceedings, rule),
        rule.describe(),
        "",
    ]
    return DataSummary(
        stocks=stocks,
        arrivals=arrivals,
        markdown="\n".join(lines),
        pre_proceedings=pre_proceedings,
        family_help=family_help,
    )
