"""Child protection plans in the backtest: the forecast split into plans started and ended.

For each cut, fits on the example's data before it (the calibration cache of the backtest's
own cut is reused), simulates the next 12 months and prints, against the record:

- child protection plans open 12 months after the cut;
- plans started and ended in those months, and where the started ones came from;
- the shares of assessments and children-in-need plans that led to a plan;
- referrals from outside services: recorded against the mean of the forecast paths.

It shows whether a child protection forecast that runs high comes from the plans' own rates
or from what feeds them (docs/validation.md, "Why the child protection forecast runs high").

    .venv/bin/python benchmarks/cp_forecast_split.py [--cuts 2018-03-31 ...] [--replicates 40]
"""

from __future__ import annotations

# isort: off
import care_demand  # noqa: F401  (before numpy: the loops every processor runs, as the CLI)

# isort: on
import argparse
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

from care_demand import vocab
from care_demand.calibration.arrival_settings import REFERRAL
from care_demand.config import load_config, projection_settings
from care_demand.pipeline import calibrate, load
from care_demand.simulation.engine import ReplicateModel
from care_demand.simulation.projection import prepare
from care_demand.simulation.system import CODES, CareSystem

HORIZON = 12
_STATES = ["outside", *CODES]


def _recorded(spells: pd.DataFrame, cut: pd.Timestamp, end: pd.Timestamp) -> dict[str, float]:
    """Recorded plans open at ``end``, started and ended in ``(cut, end]``, and the shares."""
    cp = spells[spells["state"] == vocab.CP]
    started = cp[(cp["start"] > cut) & (cp["start"] <= end)]
    ended = cp[(cp["end"] > cut) & (cp["end"] <= end)]
    open_end = ((cp["start"] <= end) & (cp["end"].isna() | (cp["end"] > end))).sum()
    out = {"open": float(open_end), "started": float(len(started)), "ended": float(len(ended))}
    for state in (vocab.ASSESSMENT, vocab.CIN):
        left = spells[(spells["state"] == state) & (spells["end"] > cut) & (spells["end"] <= end)]
        out[f"share_{state}"] = float((left["next_state"] == vocab.CP).mean())
    return out


def _simulated(system: CareSystem, seed: int, replicates: int) -> dict[str, float]:
    """The same from ``replicates`` simulated futures (means)."""
    cp = CODES.index(vocab.CP) + 1
    flows = np.zeros((len(_STATES), len(_STATES)))
    open_end = []
    for r in range(replicates):
        res = ReplicateModel(system, r, seed).run()
        flows += res.flows[:HORIZON].sum(axis=0)
        open_end.append(res.stocks[HORIZON - 1, cp - 1, :].sum())
    flows /= replicates
    np.fill_diagonal(flows, 0.0)
    out = {
        "open": float(np.mean(open_end)),
        "started": float(flows[:, cp].sum()),
        "ended": float(flows[cp, :].sum()),
    }
    for state in (vocab.ASSESSMENT, vocab.CIN):
        row = flows[CODES.index(state) + 1]
        out[f"share_{state}"] = float(row[cp] / row.sum())
    return out


def main(argv: list[str] | None = None) -> int:
    """Print the split for each cut."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cuts", nargs="+", default=["2018-03-31", "2019-03-31"])
    parser.add_argument("--replicates", type=int, default=40)
    args = parser.parse_args(argv)
    config = load_config(
        [f"simulation.replicates={args.replicates}", f"simulation.horizon_months={HORIZON}"]
    )
    _, history, _ = load(config)
    outside = history.arrivals_from_outside()
    referrals = outside[outside["kind"] == REFERRAL]
    for text in args.cuts:
        cut = pd.Timestamp(text)
        end = cut + pd.offsets.MonthEnd(HORIZON)
        cache = Path(config.calibration.cache_dir).expanduser() / "backtest" / f"cut-{cut:%Y-%m-%d}"
        at_cut = dataclasses.replace(
            config, calibration=dataclasses.replace(config.calibration, cache_dir=str(cache))
        )
        known = history.truncate(cut)
        system = prepare(known, calibrate(known, at_cut), projection_settings(at_cut))
        rec = _recorded(history.spells, cut, end)
        sim = _simulated(system, config.seed, args.replicates)
        kind = system.arrival_kinds.index(REFERRAL)
        forecast = float(system.arrival_intensity[:, :HORIZON, kind].sum(axis=1).mean())
        recorded = int(((referrals["date"] > cut) & (referrals["date"] <= end)).sum())
        print(f"cut {cut:%d %B %Y}, {HORIZON} months on (recorded / simulated):")
        for key, label in (
            ("open", "plans open"),
            ("started", "plans started"),
            ("ended", "plans ended"),
        ):
            change = sim[key] / rec[key] - 1.0
            print(f"  {label:44s} {rec[key]:6.0f} / {sim[key]:6.0f} ({change:+.0%})")
        for state in (vocab.ASSESSMENT, vocab.CIN):
            label = f"share of {state} spells ending in a plan"
            print(f"  {label:44s} {rec[f'share_{state}']:6.1%} / {sim[f'share_{state}']:6.1%}")
        label = "referrals from outside services (forecast)"
        print(f"  {label:44s} {recorded:6d} / {forecast:6.0f} ({forecast / recorded - 1.0:+.0%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
