"""Plain-English names for the finance workbook: one table for every header and label.

The tables the workbook is built from use short code names (``financial_year``, ``p50``,
``ifa``, ``cp``); a finance officer reads "Financial year", "P50 (median)", "Independent
fostering agency placements", "Child protection casework". :data:`DISPLAY_NAMES` is the one
place these words are spelled. A name it does not know (a fixed cost a scenario adds, such
as ``harbour_outreach_growth``) is written out from its key ("Harbour outreach growth")
unless the caller gives its configured title.
"""

from __future__ import annotations

from collections.abc import Mapping

from care_demand import vocab

__all__ = ["DISPLAY_NAMES", "LINE_NAMES", "display_name", "line_name"]

# Budget lines of the costs table, by kind: placements by group, casework by state.
LINE_NAMES: dict[tuple[str, str], str] = {
    ("placements", vocab.KINSHIP_FOSTER): "Kinship foster placements",
    ("placements", vocab.INHOUSE_FOSTER): "In-house foster placements",
    ("placements", vocab.IFA): "Independent fostering agency placements",
    ("placements", vocab.INHOUSE_RESIDENTIAL): "In-house children's homes (places available)",
    ("placements", vocab.EXTERNAL_RESIDENTIAL): "External residential placements",
    ("placements", vocab.SUPPORTED_16PLUS): "Supported accommodation (16+)",
    ("placements", vocab.PLACED_WITH_PARENTS): "Placed with parents",
    ("placements", vocab.PLACED_FOR_ADOPTION): "Placed for adoption",
    ("placements", vocab.SECURE_OTHER): "Secure and other placements",
    ("casework", vocab.EARLY_HELP): "Early help casework",
    ("casework", vocab.ASSESSMENT): "Assessment casework",
    ("casework", vocab.CIN): "Child in need casework",
    ("casework", vocab.CP): "Child protection casework",
    ("casework", vocab.CARE): "Children in care casework",
    ("casework", vocab.CARE_LEAVER): "Care leaver support (18-21)",
    ("casework", "care_leaver_21_plus"): "Care leaver support (21-25)",
    ("total", "total"): "Total, all lines",
}

# Column headers and the values of code columns (kinds, measures, states, groups).
DISPLAY_NAMES: dict[str, str] = {
    # columns
    "scenario": "Scenario",
    "financial_year": "Financial year",
    "complete": "Whole year projected",
    "kind": "Kind of cost",
    "line": "Budget line",
    "measure": "Measure",
    "p10": "P10 (low)",
    "p50": "P50 (median)",
    "p90": "P90 (high)",
    "mean": "Mean",
    "target": "Savings target (£)",
    "p_meets_target": "Chance of meeting the target",
    "month": "Month end",
    "date": "Date",
    "placement_group": "Placement group",
    "state": "Stage of care",
    "children": "Children",
    "children_p10": "Children P10 (low)",
    "children_p50": "Children P50 (median)",
    "children_p90": "Children P90 (high)",
    "children_mean": "Children (mean)",
    "capacity_p50": "In-house places (P50)",
    "capacity_mean": "In-house places (mean)",
    "shortfall_mean": "Placed externally for want of a place (mean)",
    "shortfall_p10": "Placed externally for want of a place P10 (low)",
    "shortfall_p50": "Placed externally for want of a place P50 (median)",
    "shortfall_p90": "Placed externally for want of a place P90 (high)",
    "section": "Section",
    "item": "Item",
    "value": "Value",
    "unit": "Unit",
    "price_year": "Price year",
    "source": "Source",
    "note": "Note",
    # kinds of cost
    "placements": "Placements",
    "casework": "Casework",
    "activity": "Activity costs (per meeting, per child)",
    "fixed": "Fixed costs",
    "income": "Income (grants, counted as negative costs)",
    "total": "Total",
    # savings measures
    "saving": "Saving in the year",
    "cumulative_saving": "Cumulative saving to date",
    "npv_to_date": "Net present value to date",
    # states and placement groups
    vocab.EARLY_HELP: "Early help",
    vocab.ASSESSMENT: "Assessment",
    vocab.CIN: "Child in need",
    vocab.CP: "Child protection",
    vocab.CARE: "In care",
    vocab.CARE_LEAVER: "Care leaver",
    "care_leaver_21_plus": "Care leaver aged 21-25",
    "all": "All",
    vocab.KINSHIP_FOSTER: "Kinship foster",
    vocab.INHOUSE_FOSTER: "In-house foster",
    vocab.IFA: "Independent fostering agency",
    vocab.INHOUSE_RESIDENTIAL: "In-house children's home",
    vocab.EXTERNAL_RESIDENTIAL: "External residential",
    vocab.SUPPORTED_16PLUS: "Supported accommodation (16+)",
    vocab.PLACED_WITH_PARENTS: "Placed with parents",
    vocab.PLACED_FOR_ADOPTION: "Placed for adoption",
    vocab.SECURE_OTHER: "Secure and other",
    vocab.NONE: "None",
    # run details
    "package_version": "Software version",
    "synthetic_data": "Built-in synthetic example (invented data)",
    "data_folder": "Data folder",
    "data_fingerprint": "Data fingerprint",
    "calibration_fingerprint": "Calibration fingerprint",
    "mode": "Data mode",
    "seed": "Random seed",
    "run_until": "Run until stage",
    "scenarios": "Scenarios",
    "failed": "Scenarios that failed",
    "sweep_folder": "Multirun folder",
    # how a scenario works: paired differences from the baseline (flows and cost bridge)
    "label": "Flow",
    "part_year": "Part year projected",
    "group": "Group of budget lines",
    "baseline_mean": "Baseline (mean)",
    "scenario_mean": "Scenario (mean)",
    "diff_mean": "Scenario minus baseline (mean)",
    "diff_p10": "Scenario minus baseline P10 (low)",
    "diff_p50": "Scenario minus baseline P50 (median)",
    "diff_p90": "Scenario minus baseline P90 (high)",
    "bridge:placements": "Placements avoided (-) or added (+)",
    "bridge:inhouse": "In-house places and carers",
    "bridge:casework": "Casework",
    "bridge:activity": "Activity costs (per meeting, per child)",
    "bridge:fixed": "Fixed costs",
    "bridge:income": "Income (grants; negative lowers the cost)",
    "bridge:total": "Total, all lines",
}


def _words(key: str) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def display_name(name: object, names: Mapping[str, str] | None = None) -> str:
    """The plain-English name of a column or code value (``names`` first, then the table)."""
    key = str(name)
    if names and key in names:
        return names[key]
    return DISPLAY_NAMES.get(key, _words(key))


def line_name(kind: str, line: str, names: Mapping[str, str] | None = None) -> str:
    """The name of a budget line: the table's for placements and casework, else the title.

    A fixed cost is named by its title in ``names`` (from the cost configuration) and,
    without one, by its key in words (``harbour_team`` -> "Harbour team").
    """
    if names and line in names:
        return names[line]
    return LINE_NAMES.get((kind, line), _words(line))
