"""The report's summary in words: five or six sentences generated from the run's numbers.

Every number in the summary is a median across the simulated futures with its 80% interval
(the 10th to 90th percentile), taken from the same files as the tables below it, so the
words and the tables agree.
"""

from __future__ import annotations

from care_demand.outputs.report.html import _count, _esc, _gbp, _quantiles
from care_demand.outputs.run_files import RunFiles

__all__ = ["summary_html", "summary_sentences"]

# Measures the summary speaks of, with how a sentence names them.
_PHRASES = {
    "children_in_care": "Children in care",
    "external_placements": "Children in external placements (agency foster care and "
    "external children's homes)",
    "out_of_area": "Children placed out of the council's area",
}


def _movement(start: float, end: float) -> str:
    if round(end) > round(start):
        return "rise"
    if round(end) < round(start):
        return "fall"
    return "stay"


def summary_sentences(run: RunFiles) -> list[str]:
    """The summary's sentences (empty when the run did not project)."""
    km = run.key_measures
    if km is None or km.empty:
        return []
    first, last = km["month"].min(), km["month"].max()
    sentences = []
    for measure, phrase in _PHRASES.items():
        sel = km[km["measure"] == measure]
        if sel.empty:
            continue
        start = _quantiles(sel[sel["month"] == first]["value"])[0]
        p50, p10, p90 = _quantiles(sel[sel["month"] == last]["value"])
        verb = _movement(start, p50)
        change = (
            f"stay at about {_count(p50)}"
            if verb == "stay"
            else f"{verb} from {_count(start)} to {_count(p50)}"
        )
        sentences.append(
            f"{phrase} are projected to {change} between {first:%B %Y} and {last:%B %Y} "
            f"(80% interval {_count(p10)} to {_count(p90)})."
        )
    shortfall = km[km["measure"] == "shortfall"]
    if not shortfall.empty:
        p50, p10, p90 = _quantiles(shortfall[shortfall["month"] == last]["value"])
        sentences.append(
            f"By {last:%B %Y}, {_count(p50)} children (80% interval {_count(p10)} to "
            f"{_count(p90)}) are projected to be placed externally because no in-house place "
            "is free."
        )
    costs = run.costs
    if costs is not None and not costs.empty:
        total = costs[(costs["kind"] == "total") & costs["complete"].astype(bool)]
        total = total[~total["financial_year"].astype(str).str.contains(" to ")]
        if not total.empty:
            a, b = total.iloc[0], total.iloc[-1]
            years = (
                f"{_gbp(a['p50'])} in {a['financial_year']}"
                if a["financial_year"] == b["financial_year"]
                else f"{_gbp(a['p50'])} in {a['financial_year']} and {_gbp(b['p50'])} in "
                f"{b['financial_year']}"
            )
            sentences.append(
                f"The modelled cost is {years} (cash terms, medians; 80% interval for "
                f"{b['financial_year']}: {_gbp(b['p10'])} to {_gbp(b['p90'])})."
            )
    if run.replicates:
        sentences.append(
            f"These figures come from {run.replicates} simulated futures of the "
            f"\u201c{run.title}\u201d scenario; each range is the middle 80% of them, and the "
            "recorded figures they start from are in the data quality section."
        )
    return sentences


def summary_html(run: RunFiles) -> str:
    """The summary as one paragraph (empty string when there is nothing to say)."""
    sentences = summary_sentences(run)
    if not sentences:
        return ""
    return f"<p class='summary'>{_esc(' '.join(sentences))}</p>"
