"""The ground truth of the synthetic example: hazards, placement shares and arrival rates.

:func:`load_ground_truth` reads ``ground_truth.yaml`` (next to this module) into a
:class:`GroundTruth`, checking every name against :mod:`care_demand.vocab` and every
probability table for shape and sum, so the generator and the tests that compare a
calibration with the truth read the same numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import yaml

from care_demand import vocab

__all__ = [
    "ARRIVAL_KINDS",
    "CARE_DESTINATIONS",
    "GROUND_TRUTH_FILE",
    "HAZARD_AGE_BANDS",
    "MOVE",
    "NON_CARE_DESTINATIONS",
    "GroundTruth",
    "GroundTruthError",
    "load_ground_truth",
]

GROUND_TRUTH_FILE: Final = Path(__file__).resolve().parent / "ground_truth.yaml"

MOVE: Final = "move"
NON_CARE_DESTINATIONS: Final[dict[str, tuple[str, ...]]] = {
    vocab.EARLY_HELP: (vocab.ASSESSMENT, vocab.CLOSED),
    vocab.ASSESSMENT: (vocab.CIN, vocab.CP, vocab.EARLY_HELP, vocab.CARE, vocab.CLOSED),
    vocab.CIN: (vocab.CP, vocab.EARLY_HELP, vocab.CARE, vocab.CLOSED),
    vocab.CP: (vocab.CIN, vocab.EARLY_HELP, vocab.CARE, vocab.CLOSED),
}
CARE_DESTINATIONS: Final[tuple[str, ...]] = (
    MOVE,
    vocab.RETURN_HOME,
    vocab.SGO_CAO,
    vocab.ADOPTION,
    vocab.CARE_EXIT_OTHER,
)
# Hazards cover childhood: every age band that ends by the 18th birthday.
HAZARD_AGE_BANDS: Final[tuple[str, ...]] = tuple(
    name for name, _, high in vocab.AGE_BANDS if high <= 18.0
)
ARRIVAL_KINDS: Final[tuple[str, ...]] = ("referral", "early_help_request", "care_entry")


class GroundTruthError(ValueError):
    """The ground-truth file breaks a rule (names the key and the rule)."""


def _fail(key: str, rule: str) -> GroundTruthError:
    return GroundTruthError(f"{GROUND_TRUTH_FILE.name}: {key}: {rule}")


def _bands(spec: dict[str, Any] | None, names: tuple[str, ...], key: str) -> np.ndarray:
    """Multipliers per band from a mapping; a band not listed is 1."""
    out = np.ones(len(names))
    for name, value in (spec or {}).items():
        if name not in names:
            raise _fail(key, f"unknown band {name!r}; expected one of {names}")
        if float(value) < 0:
            raise _fail(key, f"multiplier for {name} is negative ({value})")
        out[names.index(name)] = float(value)
    return out


def _row(values: list[Any], length: int, key: str) -> np.ndarray:
    if not isinstance(values, list) or len(values) != length:
        raise _fail(key, f"needs a list of {length} numbers")
    out = np.asarray(values, dtype=float)
    if (out < 0).any():
        raise _fail(key, "holds a negative number")
    return out


def share_table(spec: dict[str, Any], key: str) -> dict[str, float]:
    """Check that a mapping of code -> share sums to 1 and return it with float shares."""
    total = sum(float(v) for v in spec.values())
    if not np.isclose(total, 1.0, atol=1e-6):
        raise _fail(key, f"shares sum to {total:.4f}, not 1")
    return {str(k): float(v) for k, v in spec.items()}


def _date(value: Any, key: str) -> pd.Timestamp:
    if not isinstance(value, (dt.date, str)):
        raise _fail(key, f"{value!r} is not a date")
    return pd.Timestamp(value)


@dataclass(frozen=True)
class GroundTruth:
    """The parameters the synthetic example is drawn from.

    Attributes:
        raw: the parsed YAML (decoration settings: codes, demographics, census shares).
        seed: default seed of the generator.
        sim_start, sim_end: first and last simulated day (the burn-in starts empty).
        files_from: first day of the written CIN census and early-help window.
        collection_years: the SSDA903 collection years written (the year ending 31 March).
        rates: hazard array ``[stratum, destination, age_band, duration_band]`` per month,
            strata ordered as :attr:`strata`; destinations padded with zeros.
        strata: ``(state, group)`` for each stratum (group ``None`` outside care).
        entry_placement: ``[age_band, group]`` probabilities of the group on entry to care.
        move_destination: ``[origin, age_band, destination]`` probabilities of a move.
        rereferral: ``[age_band, duration_band]`` re-referral hazard per month after closure.
        reentry: ``[age_band, duration_band]`` hazard per month of a return to care (with no
            referral first) after a return home from care.
        referral_nfa_share: share of arriving referrals closed with no further action.
    """

    raw: dict[str, Any]
    seed: int
    sim_start: pd.Timestamp
    sim_end: pd.Timestamp
    files_from: pd.Timestamp
    collection_years: tuple[int, ...]
    rates: np.ndarray
    strata: tuple[tuple[str, str | None], ...]
    entry_placement: np.ndarray
    move_destination: np.ndarray
    rereferral: np.ndarray
    reentry: np.ndarray
    referral_nfa_share: float
    _arrivals: dict[str, dict[str, Any]] = field(repr=False, default_factory=dict)
    _season: np.ndarray = field(repr=False, default_factory=lambda: np.ones(12))
    _lockdown: dict[str, float] = field(repr=False, default_factory=dict)

    @staticmethod
    def destinations(state: str) -> tuple[str, ...]:
        """Destinations of a state's hazards (``care`` for every placement group)."""
        if state == vocab.CARE:
            return CARE_DESTINATIONS
        return NON_CARE_DESTINATIONS[state]

    def hazards(self) -> pd.DataFrame:
        """Tidy hazard table: one row per state, group, destination, age and duration band.

        Columns ``state``, ``group`` (placement group for care, NA otherwise),
        ``destination``, ``age_band``, ``duration_band``, ``rate_per_month``.
        """
        rows = []
        for k, (state, group) in enumerate(self.strata):
            for j, dest in enumerate(self.destinations(state)):
                for a, age in enumerate(HAZARD_AGE_BANDS):
                    for d, dur in enumerate(vocab.DURATION_BAND_NAMES):
                        rows.append((state, group, dest, age, dur, self.rates[k, j, a, d]))
        out = pd.DataFrame(
            rows,
            columns=[
                "state",
                "group",
                "destination",
                "age_band",
                "duration_band",
                "rate_per_month",
            ],
        )
        out["group"] = out["group"].astype("string")
        return out

    def entry_probabilities(self) -> pd.DataFrame:
        """Placement group on entry to care: columns ``age_band``, ``group``, ``probability``."""
        age, grp = np.meshgrid(
            range(len(HAZARD_AGE_BANDS)), range(len(vocab.PLACEMENT_GROUPS)), indexing="ij"
        )
        return pd.DataFrame(
            {
                "age_band": np.asarray(HAZARD_AGE_BANDS)[age.ravel()],
                "group": np.asarray(vocab.PLACEMENT_GROUPS)[grp.ravel()],
                "probability": self.entry_placement.ravel(),
            }
        )

    def move_probabilities(self) -> pd.DataFrame:
        """Destination of a placement move.

        Columns ``origin_group``, ``age_band``, ``destination_group``, ``probability`` (sums
        to 1 per origin and age band). The destination depends on the origin group and, only
        through a few structural weights (supported accommodation from 16, placement for
        adoption and residential care mostly for younger or older children), on age.
        """
        groups = np.asarray(vocab.PLACEMENT_GROUPS)
        n_g, n_a = len(groups), len(HAZARD_AGE_BANDS)
        o, a, d = np.meshgrid(range(n_g), range(n_a), range(n_g), indexing="ij")
        return pd.DataFrame(
            {
                "origin_group": groups[o.ravel()],
                "age_band": np.asarray(HAZARD_AGE_BANDS)[a.ravel()],
                "destination_group": groups[d.ravel()],
                "probability": self.move_destination.ravel(),
            }
        )

    def rereferral_hazards(self) -> pd.DataFrame:
        """Re-referral hazard after closure: ``age_band``, ``duration_band``, ``rate_per_month``.

        ``duration_band`` is the time since the closure (zero from 12 months on). It applies
        after every closure of an assessment, CIN or CP episode, after a referral closed with
        no further action and after a return home from care.
        """
        return self._band_table(self.rereferral)

    def reentry_hazards(self) -> pd.DataFrame:
        """Hazard of returning to care after a return home: same columns as
        :meth:`rereferral_hazards` (``duration_band`` = time since the return home)."""
        return self._band_table(self.reentry)

    @staticmethod
    def _band_table(rates: np.ndarray) -> pd.DataFrame:
        a, d = np.meshgrid(
            range(len(HAZARD_AGE_BANDS)), range(len(vocab.DURATION_BANDS)), indexing="ij"
        )
        return pd.DataFrame(
            {
                "age_band": np.asarray(HAZARD_AGE_BANDS)[a.ravel()],
                "duration_band": np.asarray(vocab.DURATION_BAND_NAMES)[d.ravel()],
                "rate_per_month": rates.ravel(),
            }
        )

    def arrival_age_probabilities(self, kind: str) -> np.ndarray:
        """Probability of each hazard age band for a new arrival of ``kind``."""
        return np.asarray(self._kind(kind)["age"], dtype=float)

    def arrival_rate(self, kind: str, month: Any) -> float:
        """Expected arrivals of ``kind`` in the calendar month containing ``month``.

        ``kind`` is ``referral`` (referrals of children new to services), ``early_help_request``
        (early-help requests of children new to services) or ``care_entry`` (direct entries to
        care); re-referrals, step-ups and step-downs come from the hazards instead.
        """
        spec = self._kind(kind)
        when = pd.Timestamp(month)
        year = when.year + (when.month - 0.5) / 12.0
        knots = spec["trend"]
        trend = float(np.interp(year, knots[:, 0], knots[:, 1]))
        season = self._season[when.month - 1] if spec["seasonal"] else 1.0
        lockdown = self._lockdown.get(f"{when.year:04d}-{when.month:02d}", 1.0)
        return float(spec["base"] * trend * season * lockdown)

    def arrival_rates(self, start: Any = None, end: Any = None) -> pd.DataFrame:
        """Expected arrivals per month: one row per month (first day), one column per kind."""
        months = pd.date_range(
            pd.Timestamp(start or self.sim_start).to_period("M").to_timestamp(),
            pd.Timestamp(end or self.sim_end),
            freq="MS",
        )
        return pd.DataFrame(
            {k: [self.arrival_rate(k, m) for m in months] for k in ARRIVAL_KINDS},
            index=pd.DatetimeIndex(months, name="month"),
        )

    def _kind(self, kind: str) -> dict[str, Any]:
        if kind not in self._arrivals:
            raise KeyError(f"unknown arrival kind {kind!r}; expected one of {ARRIVAL_KINDS}")
        return self._arrivals[kind]


def _hazard_block(spec: dict[str, Any], key: str) -> np.ndarray:
    """rate[age, duration] for one destination from ``base``, ``age`` and ``duration``."""
    unknown = set(spec) - {"base", "age", "duration"}
    if unknown:
        raise _fail(key, f"unknown entries {sorted(unknown)}")
    base = float(spec.get("base", 0.0))
    if base < 0:
        raise _fail(key, "base rate is negative")
    age = _bands(spec.get("age"), HAZARD_AGE_BANDS, f"{key}.age")
    dur = _bands(spec.get("duration"), vocab.DURATION_BAND_NAMES, f"{key}.duration")
    return base * age[:, None] * dur[None, :]


def _rates(raw: dict[str, Any]) -> tuple[np.ndarray, tuple[tuple[str, str | None], ...]]:
    hz = raw["hazards"]
    strata: list[tuple[str, str | None]] = [(s, None) for s in NON_CARE_DESTINATIONS]
    strata += [(vocab.CARE, g) for g in vocab.PLACEMENT_GROUPS]
    n_dest = max(len(CARE_DESTINATIONS), *(len(v) for v in NON_CARE_DESTINATIONS.values()))
    rates = np.zeros((len(strata), n_dest, len(HAZARD_AGE_BANDS), len(vocab.DURATION_BANDS)))
    for k, state in enumerate(NON_CARE_DESTINATIONS):
        spec = hz.get(state) or {}
        unknown = set(spec) - set(NON_CARE_DESTINATIONS[state])
        if unknown:
            raise _fail(f"hazards.{state}", f"unknown destinations {sorted(unknown)}")
        for j, dest in enumerate(NON_CARE_DESTINATIONS[state]):
            rates[k, j] = _hazard_block(spec.get(dest) or {}, f"hazards.{state}.{dest}")
    care = hz["care"]
    shared = care.get("multipliers") or {}
    own = care.get("groups_multipliers") or {}
    for g, group in enumerate(vocab.PLACEMENT_GROUPS):
        key = f"hazards.care.base.{group}"
        base = _row(care["base"].get(group), len(CARE_DESTINATIONS), key)
        for j, dest in enumerate(CARE_DESTINATIONS):
            mult = dict(shared.get(dest) or {})
            mult.update((own.get(group) or {}).get(dest) or {})
            spec = {"base": base[j], **mult}
            rates[len(NON_CARE_DESTINATIONS) + g, j] = _hazard_block(spec, f"{key}.{dest}")
    return rates, tuple(strata)


def _entry(raw: dict[str, Any]) -> np.ndarray:
    table = np.stack(
        [
            _row(
                raw["entry_placement"].get(age),
                len(vocab.PLACEMENT_GROUPS),
                f"entry_placement.{age}",
            )
            for age in HAZARD_AGE_BANDS
        ]
    )
    if not np.allclose(table.sum(axis=1), 1.0, atol=1e-6):
        raise _fail("entry_placement", "each age band's shares must sum to 1")
    groups = list(vocab.PLACEMENT_GROUPS)
    young = [HAZARD_AGE_BANDS.index(a) for a in HAZARD_AGE_BANDS if a != "16_17"]
    if table[young, groups.index(vocab.SUPPORTED_16PLUS)].any():
        raise _fail("entry_placement", "supported_16plus is only for children aged 16 or over")
    if table[:, groups.index(vocab.PLACED_FOR_ADOPTION)].any():
        raise _fail("entry_placement", "no child is placed for adoption on entry to care")
    return table


def _moves(raw: dict[str, Any]) -> np.ndarray:
    spec = raw["move_destination"]
    groups = vocab.PLACEMENT_GROUPS
    share = np.stack(
        [_row(spec["share"].get(g), len(groups), f"move_destination.share.{g}") for g in groups]
    )
    weight = np.ones((len(HAZARD_AGE_BANDS), len(groups)))
    for g, values in (spec.get("age_weight") or {}).items():
        if g not in groups:
            raise _fail("move_destination.age_weight", f"unknown group {g!r}")
        weight[:, groups.index(g)] = _row(
            values, len(HAZARD_AGE_BANDS), f"move_destination.age_weight.{g}"
        )
    table = share[:, None, :] * weight[None, :, :]
    total = table.sum(axis=2, keepdims=True)
    if (total <= 0).any():
        raise _fail("move_destination", "some origin group has no destination at some age")
    return table / total


def _arrivals(raw: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for kind in ARRIVAL_KINDS:
        spec = raw["arrivals"].get(kind)
        if spec is None:
            raise _fail("arrivals", f"missing kind {kind!r}")
        knots = np.array(sorted((float(k), float(v)) for k, v in spec["trend"].items()))
        age = _bands(spec["age"], HAZARD_AGE_BANDS, f"arrivals.{kind}.age")
        if not np.isclose(age.sum(), 1.0, atol=1e-6):
            raise _fail(f"arrivals.{kind}.age", "age shares must sum to 1")
        out[kind] = {
            "base": float(spec["base"]),
            "trend": knots,
            "seasonal": bool(spec["seasonal"]),
            "age": age,
        }
    return out


def load_ground_truth(path: str | Path | None = None) -> GroundTruth:
    """Read and check the ground-truth YAML (default: the file shipped with the package)."""
    source = Path(path) if path is not None else GROUND_TRUTH_FILE
    with source.open(encoding="utf-8") as handle:
        raw = yaml.safe_load(handle)
    sim = raw["simulation"]
    rates, strata = _rates(raw)
    rr = raw["rereferral"]
    season = np.array([float(raw["season"][m]) for m in range(1, 13)])
    if not np.isclose(season.mean(), 1.0, atol=0.01):
        raise _fail("season", f"monthly factors average {season.mean():.3f}, not 1")
    nfa = float(raw["referral_nfa_share"])
    if not 0.0 <= nfa < 1.0:
        raise _fail("referral_nfa_share", "must be a share from 0 to below 1")
    years = tuple(range(int(sim["first_collection_year"]), int(sim["last_collection_year"]) + 1))
    return GroundTruth(
        raw=raw,
        seed=int(raw["seed"]),
        sim_start=_date(sim["start"], "simulation.start"),
        sim_end=_date(sim["end"], "simulation.end"),
        files_from=_date(sim["files_from"], "simulation.files_from"),
        collection_years=years,
        rates=rates,
        strata=strata,
        entry_placement=_entry(raw),
        move_destination=_moves(raw),
        rereferral=_hazard_block(rr, "rereferral"),
        reentry=_hazard_block(raw["reentry"], "reentry"),
        referral_nfa_share=nfa,
        _arrivals=_arrivals(raw),
        _season=season,
        _lockdown={str(k): float(v) for k, v in (raw.get("lockdown") or {}).items()},
    )
