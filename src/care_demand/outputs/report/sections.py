"""Sections shared by the run report and the comparison report.

Plain-English labels of placement groups, arrivals and key measures; the capacity and
fixed-cost settings of a run; data quality (validation, repairs and the recorded tables
under disclosure control); calibration diagnostics; the method; and the caveats. Every
name here is shared within :mod:`care_demand.outputs.report` only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.finance import fixed_cost_title
from care_demand.outputs.disclosure import (
    FAMILY_HELP_STOCK_TOTALS,
    STOCK_TOTALS,
    DisclosureRule,
    suppress_counts,
)
from care_demand.outputs.report.html import (
    _count,
    _esc,
    _gbp,
    html_table,
    markdown_to_html,
)
from care_demand.outputs.run_files import RunFiles
from care_demand.outputs.summary import SERVICE_LABELS, SERVICES, financial_year

__all__: list[str] = []


_GROUP_LABELS = {
    vocab.KINSHIP_FOSTER: "Kinship foster care",
    vocab.INHOUSE_FOSTER: "In-house foster care",
    vocab.IFA: "Independent fostering agency",
    vocab.INHOUSE_RESIDENTIAL: "In-house children's homes",
    vocab.EXTERNAL_RESIDENTIAL: "External children's homes",
    vocab.SUPPORTED_16PLUS: "Supported accommodation (16+)",
    vocab.PLACED_WITH_PARENTS: "Placed with parents",
    vocab.PLACED_FOR_ADOPTION: "Placed for adoption",
    vocab.SECURE_OTHER: "Secure and other",
}
# Recorded arrivals count every referral, early-help request and entry to care ...
_ARRIVAL_LABELS = {
    "referral": "Referrals to children's social care (all)",
    "early_help_request": "Early-help requests (all)",
    "care_entry": "Entries to care (all)",
    "care_entry_uasc": "Entries to care: of which UASC",
}
# ... while the arrival model forecasts only children not already in a service: the others'
# moves (a step up from child protection into care, say) are the flow model's transitions.
_FORECAST_LABELS = {
    "referral": "Referrals of children not already in a service",
    "early_help_request": "Early-help requests for children not already in a service",
    "care_entry": "Entries to care of children not already in a service",
    "care_entry_uasc": "Entries to care of UASC",
}
_FORECAST_UASC_LABELS = {
    "care_entry": "Entries to care of children not already in a service, other than UASC",
}
_KEY_MEASURES = {
    "children_in_care": "Children in care",
    "external_placements": "External placements (IFA and external children's homes)",
    "external_residential": "External children's homes",
    "out_of_area": "Children placed out of area",
    "shortfall": "Children placed externally for want of an in-house place",
}


# ---------------------------------------------------------------------------------------
# Sections shared by both reports


def _capacity_items(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The run's capacity and fixed-cost settings as (setting, value) in plain English."""
    items: list[tuple[str, str]] = []
    capacity = config.get("capacity", {}) or {}
    fostering = capacity.get("fostering", {}) or {}
    if fostering:
        items.append(
            ("Mainstream fostering households at the start", _count(fostering.get("households")))
        )
        items.append(
            (
                "Foster carer enquiries a month (before campaigns)",
                f"{float(fostering.get('enquiries_per_month', 0)):.1f}",
            )
        )
        for name, campaign in sorted((fostering.get("recruitment") or {}).items()):
            items.append(
                (
                    f"Recruitment campaign: {name}",
                    f"from {campaign.get('start')}: enquiries "
                    f"x{campaign.get('enquiries_multiplier')}, "
                    f"conversion x{campaign.get('conversion_multiplier')}, over "
                    f"{campaign.get('ramp_months')} months",
                )
            )
        mockingbird = fostering.get("mockingbird") or {}
        steps = mockingbird.get("constellations") or []
        if steps:
            items.append(
                (
                    "Mockingbird constellations",
                    "; ".join(f"{n} from {d}" for d, n in steps),
                )
            )
    for name, home in sorted((capacity.get("homes") or {}).items()):
        closes = f" to {home['closes']}" if home.get("closes") else ""
        items.append(
            (
                f"In-house home: {home.get('name', name)}",
                f"{home.get('beds')} beds from {home.get('opens')}{closes}, ages "
                f"{float(home.get('min_age', 0)):g}-{float(home.get('max_age', 18)):g}, at most "
                f"{float(home.get('max_occupancy', 1)):.0%} occupied",
            )
        )
    harbour = capacity.get("harbour") or {}
    if harbour.get("caseload"):
        items.append(
            (
                "Harbour outreach caseload",
                "; ".join(f"{n} young people from {d}" for d, n in harbour["caseload"]),
            )
        )
    policy = capacity.get("policy") or {}
    if policy:
        items.append(
            (
                "Placement policy",
                ("in-house first" if policy.get("inhouse_first") else "placement as drawn")
                + f"; back in-house within {float(policy.get('step_back_within_months', 0)):g} "
                "months when a place frees",
            )
        )
    for name, cost in sorted(((config.get("costs") or {}).get("fixed") or {}).items()):
        parts = []
        if cost.get("annual"):
            parts.append(f"{_gbp(float(cost['annual']))} a year")
        if cost.get("capital"):
            parts.append(f"{_gbp(float(cost['capital']))} capital")
        end = f" to {cost['end']}" if cost.get("end") else ""
        items.append(
            (
                f"Fixed cost: {fixed_cost_title(name, cost.get('title'))}",
                f"{', '.join(parts) or '£0'} from {cost.get('start')}{end}",
            )
        )
    return items


def _data_quality(run: RunFiles) -> str:
    """Validation result, mode and window (from data_summary.md) and the recorded tables."""
    rule = run.rule
    parts = []
    intro = run.data_summary.split("\n## ", 1)[0]
    bullets = [line for line in intro.splitlines() if re.match(r"^\s*-\s", line)]
    if bullets:
        parts.append(markdown_to_html("\n".join(bullets)))
    if run.dropped:
        dropped = pd.DataFrame(
            sorted(run.dropped.items()), columns=["Validation rule", "Rows dropped"]
        )
        parts.append(
            "<p>The run was lenient: rows that failed validation were dropped, not used.</p>"
            + html_table(dropped, caption="Rows dropped by validation rule")
        )
    if run.repairs:
        repaired = pd.DataFrame(sorted(run.repairs.items()), columns=["Repair", "Values repaired"])
        parts.append(
            "<p>Values with one clear meaning were read in it and counted (what each repair "
            "does: docs/input_formats.md, Repairs).</p>"
            + html_table(repaired, caption="Values repaired, by rule")
        )
    stocks = run.stocks
    if stocks is not None and not stocks.empty:
        published = suppress_counts(
            stocks, "children", rule, (STOCK_TOTALS, FAMILY_HELP_STOCK_TOTALS)
        )
        published["date"] = pd.to_datetime(published["date"]).dt.strftime("%d %b %Y")
        dates = list(dict.fromkeys(published["date"]))
        states = published[published["placement_group"] == "all"]
        wide = states.pivot(index="state", columns="date", values="children")
        wide = wide.reindex([s for s in SERVICES if s in wide.index])[dates]
        wide.index = [SERVICE_LABELS.get(s, s) for s in wide.index]
        parts.append(
            html_table(
                wide.reset_index(names="State"),
                caption="Children by state at 31 March (each child once, in their highest "
                "level of need)",
                recorded=dates,
                rule=rule,
            )
        )
        groups = published[
            (published["state"] == vocab.CARE) & (published["placement_group"] != "all")
        ]
        wide = groups.pivot(index="placement_group", columns="date", values="children")
        wide = wide.reindex([g for g in vocab.PLACEMENT_GROUPS if g in wide.index])[dates]
        wide.index = [_GROUP_LABELS.get(g, g) for g in wide.index]
        parts.append(
            html_table(
                wide.reset_index(names="Placement group"),
                caption="Children in care by placement group at 31 March",
                recorded=dates,
                rule=rule,
            )
        )
    arrivals = run.arrivals
    if arrivals is not None and not arrivals.empty:
        published = suppress_counts(arrivals, "arrivals", rule)
        wide = published.pivot(index="kind", columns="financial_year", values="arrivals")
        wide = wide.fillna("0")
        years = list(wide.columns)
        wide.index = [_ARRIVAL_LABELS.get(k, k) for k in wide.index]
        parts.append(
            html_table(
                wide.reset_index(names="Arrival"),
                caption="Arrivals per financial year (April-March)",
                recorded=years,
                rule=rule,
            )
        )
    parts.append(f"<p class='note'>Disclosure control: {_esc(rule.describe())}</p>")
    return "".join(parts)


def _calibration(run: RunFiles) -> str:
    diagnostics = run.diagnostics
    if not diagnostics:
        return "<p>This run did not calibrate the models (run_until=data).</p>"
    hazards = run.config.get("calibration", {}).get("hazards", {}) if run.config else {}
    checks, priors = hazards.get("checks", {}), hazards.get("priors", {})
    max_rhat = float(checks.get("max_rhat", 1.01))
    min_ess = float(checks.get("min_ess_bulk", 400))
    max_div = int(checks.get("max_divergences", 0))
    rhat = float(diagnostics.get("max_rhat", np.nan))
    ess = float(diagnostics.get("min_ess_bulk", np.nan))
    div = int(diagnostics.get("divergences", 0))
    ok = rhat <= max_rhat and ess >= min_ess and div <= max_div
    rows = [
        ("Largest R-hat (chains agree when close to 1)", f"{rhat:.3f}", f"at most {max_rhat:g}"),
        ("Smallest bulk effective sample size", f"{ess:,.0f}", f"at least {min_ess:,.0f}"),
        ("Divergent transitions", f"{div}", f"at most {max_div}"),
        ("Chains x draws", f"{diagnostics.get('chains', '')} x {diagnostics.get('draws', '')}", ""),
        (
            "Hazards sampled / without any event (prior only)",
            f"{diagnostics.get('pairs_sampled', '')} / "
            f"{diagnostics.get('pairs_without_events', '')}",
            "",
        ),
        (
            "Months the transition rates are fitted on (reference period)",
            str(diagnostics.get("reference_period", "the whole record")),
            "",
        ),
        ("Posterior reused from the cache", "yes" if diagnostics.get("from_cache") else "no", ""),
    ]
    if "pool_groups" in priors:
        rows.insert(
            -1,
            (
                "Care rates pooled over placement types (a sparse type borrows the others' "
                "pattern)",
                "yes" if priors["pool_groups"] else "no",
                "",
            ),
        )
    table = html_table(
        pd.DataFrame(rows, columns=["Diagnostic", "Value", "Required"]),
        caption="Sampler diagnostics of the transition hazards (PyMC)",
    )
    verdict = (
        "<p class='verdict-ok'>The sampler passed every check: the hazards' posterior can be "
        "used.</p>"
        if ok
        else "<p class='verdict-bad'>The sampler failed a check: treat the projection with "
        "caution and see docs/validation.md.</p>"
    )
    parts = [verdict, table]
    forecast = run.arrival_forecast
    if forecast is not None and not forecast.empty:
        f = forecast.copy()
        f["year"] = financial_year(f["month"])
        whole = f.groupby("year")["month"].nunique()
        f = f[f["year"].isin(whole[whole == 12].index)]
        wide = f.pivot_table(index="kind", columns="year", values="mean", aggfunc="sum")
        # In the forecast UASC entries are apart from the other entries, not a subset.
        labels = (
            {**_FORECAST_LABELS, **_FORECAST_UASC_LABELS}
            if "care_entry_uasc" in wide.index
            else _FORECAST_LABELS
        )
        care_only = run.details.get("mode") == "care_only"
        if care_only:  # no services outside care: every entry to care is an arrival
            uasc = ", other than UASC" if "care_entry_uasc" in wide.index else ""
            labels = {**labels, "care_entry": f"Entries to care{uasc}"}
        wide.index = [labels.get(k, k) for k in wide.index]
        parts.append(
            html_table(
                wide.reset_index(names="Arrival"),
                caption="Forecast arrivals from outside services per financial year (mean of the "
                "fitted trend, seasonality and lockdown effects)",
                model=True,
            )
        )
        parts.append(
            "<p class='note'>With the SSDA903 return alone every entry to care is an arrival: "
            "the forecast continues the recorded entries to care in the data quality "
            "section.</p>"
            if care_only
            else "<p class='note'>These are arrivals of children not already in a service. "
            "They are fewer than the recorded referrals and entries to care in the data "
            "quality section, which also count children already known to services; the flow "
            "model moves those children between services itself, and the projected entries "
            "to care of all children are in the flows table under Children in care.</p>"
        )
    parts.append(
        "<p class='note'>The fitted arrival components (calibration/arrival_components.png) "
        "plot recorded monthly counts, some of them small; they are a working chart for "
        "analysts and are not published here.</p>"
    )
    return "".join(parts)


def _and(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _method(run: RunFiles, states: tuple[str, ...]) -> str:
    """The method in plain English, naming the files read and the services modelled
    (``states``: the services the council's files hold)."""
    sim = run.config.get("simulation", {}) if run.config else {}
    reps = run.replicates or sim.get("replicates")
    horizon = sim.get("horizon_months")
    cin = vocab.CIN in states or vocab.CP in states
    early_help = vocab.EARLY_HELP in states
    files = [
        "The council's SSDA903 return (children looked after)",
        *(["the CIN census"] if cin else []),
        *(["an early-help extract"] if early_help else []),
    ]
    services = [
        *(["early help"] if early_help else []),
        *(["assessment", "child in need", "child protection"] if cin else []),
        "care (by placement type)",
    ]
    read = _and(files) + (" is" if len(files) == 1 else " are")
    arrivals = (
        "New arrivals from outside services are"
        if cin or early_help
        else "Entries to care (with the SSDA903 return alone, every entry is an arrival) are"
    )
    return markdown_to_html(
        f"""
1. **Read and check the data.** {read} read and validated; every problem is reported with its
file, row and rule. Child identifiers are replaced by a keyed hash as files are read.
2. **One history.** Each child's time in {", ".join(services)} and as a care leaver becomes one
tidy event history.
3. **Learn the rates.** How often children move on from each service (by age and time in the
service) is estimated with a Bayesian model that keeps its uncertainty (PyMC). Where a
placement type has few children, its rates lean on what the other placement types show, by as
much as the council's own record says the types differ. {arrivals} forecast month by month
from their trends and school-year pattern (Prophet).
4. **Simulate futures.** {reps or "Many"} possible futures are simulated over {horizon or "the"}
months. Each future draws one set of rates and one arrival path and follows every child
month by month, with places in in-house foster care and children's homes limited to what
exists: a child who needs an in-house place when none is free is placed externally (the
shortfall).
5. **Summarise.** Each future is counted and costed; the reports show the median and the
range in which 50% and 80% of the futures fall. Scenarios share their random numbers, so a
scenario's difference from the baseline is measured within each future.
"""
    )


def _caveats(rule: DisclosureRule, synthetic: bool, replicates: int | None) -> str:
    items = [
        "**Projections are model output, not counts of real children.** They are averages and "
        "ranges over simulated children, so they are shown without disclosure control; "
        f"recorded counts follow the rule: {rule.describe()}",
        "The ranges show uncertainty about rates and arrivals as the model sees it; they do not "
        "cover changes in policy, law or practice that the scenarios do not describe.",
        "The model carries forward the patterns of the observation window; a change in recording "
        "practice within the window shows up as a trend.",
        "Costs are in cash terms with the inflation assumptions listed in the finance section; "
        "unit costs without a published source are marked as assumptions.",
        "docs/validation.md lists the checks of the model against published figures and known "
        "truth, and its known limitations.",
    ]
    if replicates is not None and replicates < 100:
        items.insert(
            1,
            f"**Only {replicates} futures were simulated.** The medians and ranges are rough; use "
            "the default 200 (simulation.replicates) for published figures.",
        )
    if synthetic:
        items.insert(
            0,
            "**Synthetic data.** The built-in example council is invented; nothing here "
            "describes a real child or a real council's position.",
        )
    return markdown_to_html("\n".join(f"- {item}" for item in items))
