"""Synthetic councils' SSDA903 returns from a model of their own, to test forecasts on.

Each council is one folder, ``OUT/<name>/ssda903/header_YYYY.csv`` and ``episodes_YYYY.csv``
for the returns 2016 to 2022 (year YYYY: 1 April YYYY-1 to 31 March YYYY), in the layout of
the built-in example. The model is deliberately independent of ``care_demand``'s own example
generator and calibration: it imports neither, and its durations are not piecewise
exponential, so a forecast that does well here has not simply met its own assumptions.

The model follows one child at a time in continuous time, in days, from 1 April 1997 (a
burn-in of 18 years, longer than any period of care, so the stock is settled when the record
starts on 1 April 2015) to 31 March 2022.

- Entries to care: Poisson counts per day. The rate is a level, times a seasonal factor (low
  in August and December, high in September and January), times exp(trend): the trend is flat
  to April 2012, then has one slope to a turning point drawn uniformly between April 2018 and
  March 2021 and another after it (5-11% a year down in falling councils, up in rising ones;
  before the turn 1-4% a year, the same way or, in most councils turning by September 2019,
  the other way). The level is set so that the children in care at 31 March 2022 fall in the
  council's size band.
- Age at entry: under 1 (20%; two in five of them in their first fortnight), 1-4 (15%), 5-9
  (14%), 10-15 (37%), 16-17 (14%), uniform within the band. Sex 1 (54%) or 2; ethnicity
  mostly WBRI. Category of need N1-N8 per period of care (N1 about 60%; N6 when remanded).
- How a period of care ends, drawn at entry: the adoption route (children under 5: placed for
  adoption 6 months + Weibull(shape 2.5, scale 11 months) after entry, adopted a log-normal
  time later, median 8.5 months); a short stay (log-normal, median 6 weeks, sigma 0.9); a
  medium stay (Weibull, shape 1.5, scale 1-2.5 years by age); or a long stay to the 18th
  birthday. Every period ends by the 18th birthday (REC E17 staying put, E5/E6 independent
  living, E7 adult services, E8). Other exits: home (E4A/E4B/E13), special guardianship
  (E43/E44 to March 2018, E45-E48 after, matched to the carer), child arrangements order
  (E41), transfer (E3), custody (E9), remand ended (E14), moved abroad (E16), other (E8).
- Legal status: entry under V2 (section 20; more often for older children), C1 (interim care
  order) or briefly L2 (emergency protection, 1-8 days, then C1). Some V2 move to C1 after a
  log-normal time (median 3 months); C1 becomes C2 (care order) after a log-normal time
  (median 7.5 months). The adoption route moves to E1 (placement order) 2-16 weeks before
  placement for adoption (A5, A6), or stays V2 and is placed with consent (A3, A4). Some
  teenagers on short stays are remanded (J1, leaving with E14). Police protection (L1) is
  never generated.
- Placements: the first depends on age: fostering with the council's carers (U6, PR1/PR2) or
  an agency (U6, PR4/PR5), with family and friends (U3, PR1), a children's home (K2, own PR1 or
  external PR4/PR5), secure (K1), a mother-and-baby unit (R3), supported accommodation from 16
  (H5, P2 from 17). A move to new carers (RNE P; REC X1 on the episode that ends) comes after
  a Weibull time with shape 0.7, so the hazard of a move falls with time in the placement;
  where to depends on age (teenagers drift to children's homes and, from 16, to H5). Short-term
  foster and family placements become long-term after about 15 months (U6 -> U4, U3 -> U1, the
  same carers: RNE T). After 16 some children in homes or foster care move to supported
  accommodation. Most children going home from a care order are first placed with parents (P1,
  PR0, under C2 only). Providers match the placement; PR3 is never used.
- A legal status change starts a new episode (RNE L; B or U when the placement changes the same
  day); a period's first episode has RNE S. After going home or an other exit, a child may come
  back into care (a new period, RNE S) after a log-normal gap (median 10 months).

Run: ``.venv/bin/python benchmarks/independent_councils.py --out DIR [--seed N]
[--councils NAME ...] [--stability FROM FACTOR]`` (``--stability``: a change of practice,
placements starting from FROM held FACTOR times as long before a move). Prints, per
council, the children in care at each 31 March, the entries per year and the placement mix
at 31 March 2022.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import zlib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

YEARS = tuple(range(2016, 2023))
EPOCH = dt.date(1970, 1, 1)
DAY_YEAR, DAY_MONTH = 365.25, 30.4375
NEVER = 10**9  # a day after every other


def day(d: dt.date) -> int:
    """Days since 1 January 1970: the model's clock."""
    return (d - EPOCH).days


BURN_IN = day(dt.date(1997, 4, 1))
TREND_START = day(dt.date(2012, 4, 1))
RECORD_START, RECORD_END = day(dt.date(2015, 4, 1)), day(dt.date(2022, 3, 31))
SGO_NEW_CODES_FROM = day(dt.date(2018, 4, 1))  # E45-E48 in place of E43/E44 from 2018/19

# Seasonal shape of entries by calendar month (January first), scaled so that August is -1.
SEASON = np.array([0.6, 0.1, 0.15, 0.0, 0.1, 0.0, -0.3, -1.0, 0.85, 0.3, 0.2, -0.6])
SEASON = (SEASON - SEASON.mean()) / np.abs(SEASON - SEASON.mean()).max()
AGE_BANDS = ((0.0, 1.0), (1.0, 5.0), (5.0, 10.0), (10.0, 16.0), (16.0, 17.95))
AGE_SHARES = (0.20, 0.15, 0.14, 0.37, 0.14)
ETHNIC = {"WBRI": 0.74, "WOTH": 0.04, "MWBC": 0.04, "MWAS": 0.02, "MOTH": 0.04, "BAFR": 0.03}
ETHNIC |= {"BCRB": 0.02, "APKN": 0.02, "AOTH": 0.02, "OOTH": 0.02, "WROM": 0.01}
NEED = {"N1": 0.61, "N2": 0.03, "N3": 0.03, "N4": 0.08, "N5": 0.15, "N6": 0.03, "N7": 0.01}
NEED |= {"N8": 0.06}
MOVE_REASONS = {"CARPL": 0.30, "OTHER": 0.20, "CREQB": 0.12, "CREQO": 0.09, "LAREQ": 0.09}
MOVE_REASONS |= {"CHILD": 0.08, "ALLEG": 0.04, "CLOSE": 0.04, "STAND": 0.04}
# Scale (years) of the Weibull(shape 0.7) time to the next move, by placement. Placed with
# parents, placed for adoption and mother-and-baby units have no moves of their own.
HOLD_YEARS = {"U6": 3.5, "U4": 3.5, "U3": 5.0, "U1": 5.0, "K2": 2.2, "K1": 0.25, "H5": 2.0}
HOLD_YEARS |= {"P2": 1.5}
# Providers of the placements whose provider does not depend on the council.
PROVIDERS = {"K1": {"PR2": 0.8, "PR1": 0.2}, "H5": {"PR4": 0.7, "PR5": 0.15, "PR1": 0.15}}
PROVIDERS |= {"P2": {"PR1": 0.7, "PR4": 0.3}, "R3": {"PR4": 0.5, "PR5": 0.3, "PR1": 0.2}}
PROVIDERS |= {"A": {"PR1": 0.8, "PR2": 0.1, "PR5": 0.1}, "P1": {"PR0": 1.0}}
PROVIDERS |= {"U1": {"PR1": 1.0}, "U3": {"PR1": 1.0}}
ADOPTION = ("A3", "A4", "A5", "A6")
EXIT_CODES = {"adoption": {"E11": 0.7, "E12": 0.3}, "independent": {"E5": 0.75, "E6": 0.25}}
EXIT_CODES |= {"home": {"E4A": 0.75, "E4B": 0.08, "E13": 0.17}, "remand": "E14", "cao": "E41"}
EXIT_CODES |= {"other": "E8", "transfer": "E3", "abroad": "E16", "custody": "E9"}
MIX_GROUPS = {  # for the summary: (PLACE codes, PLACE_PROVIDER codes or None for any)
    "fostering in-house": (("U4", "U5", "U6"), ("PR1", "PR2")),
    "fostering IFA": (("U4", "U5", "U6"), ("PR4", "PR5")),
    "fostering kinship": (("U1", "U2", "U3"), None),
    "children's homes": (("K2",), None),
    "supported 16+": (("H5", "P2"), None),
    "placed with parents": (("P1",), None),
    "placed for adoption": (ADOPTION, None),
    "secure and other": (("K1", "R3"), None),
}


@dataclass(frozen=True)
class Council:
    """A council to generate and the parameters drawn for it."""

    name: str
    band: tuple[int, int]  # children in care at 31 March 2022
    seed: int
    level: float  # entries a year before the trend starts (adjusted to the band)
    slope_before: float  # change in the log of the entry rate a year, April 2012 to the turn
    slope_after: float  # ... and after the turn
    turn: int  # the turning point (day)
    season: float  # seasonal amplitude: August's rate is (1 - season) times the mean
    residential: float  # multiplier on the chance of a children's home
    ifa_share: float  # share of non-family fostering with independent agencies
    kinship: float  # chance of family and friends fostering on entry
    own_homes: float  # share of children's home placements in the council's own homes
    supported_at_16: float  # chance a child in a home moves to supported accommodation at 16+
    adoption: float  # multiplier on the adoption route
    comes_back: float  # chance of a new period of care after going home
    # A change of practice (None: none): placements starting from this day (days since
    # 1970) are held stability_factor times as long before a move to new carers.
    stability_from: int | None = None
    stability_factor: float = 1.0


SIZES = {"small": (100, 150), "medium": (400, 450), "large": (850, 950)}
NAMES = tuple(f"indep_{size}_{trend}" for size in SIZES for trend in ("falling", "rising"))


def draw_council(name: str, seed: int) -> Council:
    """The council ``indep_<size>_<trend>``, its parameters drawn from ``seed`` and its name."""
    _, size, trend = name.split("_")
    own = zlib.crc32(f"{seed}:{name}".encode())
    rng = np.random.default_rng([own, 1])
    direction = -1.0 if trend == "falling" else 1.0
    turn = int(rng.integers(day(dt.date(2018, 4, 1)), day(dt.date(2021, 3, 31)) + 1))
    before = direction * rng.uniform(0.01, 0.04)
    if turn < day(dt.date(2019, 10, 1)) and rng.random() < 0.7:
        before = -before  # the trend changes sign early enough for the record to show it
    return Council(
        name=name,
        band=SIZES[size],
        seed=own,
        level=sum(SIZES[size]) / 2 / 2.3,
        slope_before=before,
        slope_after=direction * rng.uniform(0.05, 0.11),
        turn=turn,
        season=rng.uniform(0.10, 0.22),
        residential=rng.uniform(0.75, 1.15),
        ifa_share=rng.uniform(0.25, 0.5),
        kinship=rng.uniform(0.12, 0.25),
        own_homes=rng.uniform(0.1, 0.4),
        supported_at_16=rng.uniform(0.5, 0.75),
        adoption=rng.uniform(0.8, 1.2),
        comes_back=rng.uniform(0.12, 0.25),
    )


def birthday(dob: int, years: int) -> int:
    """The day a child born on day ``dob`` turns ``years`` (born 29 February: 1 March)."""
    born = EPOCH + dt.timedelta(days=dob)
    try:
        return day(born.replace(year=born.year + years))
    except ValueError:
        return day(dt.date(born.year + years, 3, 1))


def age_on(dob: int, t: int) -> float:
    """Age on day ``t``: the years completed (as birthdays count them) and the part since."""
    years = int((t - dob) / DAY_YEAR)
    if birthday(dob, years) > t:
        years -= 1
    elif birthday(dob, years + 1) <= t:
        years += 1
    return years + min(0.999, (t - birthday(dob, years)) / 366)


def pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    """One key of ``weights``, with probability proportional to its weight."""
    p = np.fromiter(weights.values(), dtype=float)
    return list(weights)[rng.choice(len(p), p=p / p.sum())]


class Simulation:
    """One council's children: entries, periods of care and their episodes."""

    def __init__(self, council: Council) -> None:
        self.c = council
        self.rng = np.random.default_rng([council.seed, 2])
        self.rows: list[tuple] = []  # child, DECOM, DEC, RNE, LS, CIN, PLACE, provider, REC, ...
        self.children: list[tuple[int, str, str]] = []  # DOB, SEX, ETHNIC; index = child

    def run(self) -> None:
        c, rng, days = self.c, self.rng, np.arange(BURN_IN, RECORD_END + 1)
        years = (np.clip(days, TREND_START, c.turn) - TREND_START) / DAY_YEAR
        trend = c.slope_before * years + c.slope_after * np.maximum(days - c.turn, 0) / DAY_YEAR
        months = pd.to_datetime(days, unit="D").month.to_numpy() - 1
        rate = c.level / DAY_YEAR * np.exp(trend) * (1 + c.season * SEASON[months])
        for start in np.repeat(days, rng.poisson(rate)).tolist():
            low, high = AGE_BANDS[rng.choice(5, p=AGE_SHARES)]
            if low == 0 and rng.random() < 0.4:
                low, high = 0.0, 0.04  # in the first fortnight
            dob = start - int(rng.uniform(low, high) * DAY_YEAR)
            child = len(self.children)
            self.children.append((dob, "1" if rng.random() < 0.54 else "2", pick(rng, ETHNIC)))
            while start is not None:
                start = self.period(child, dob, start)

    # -- one period of care ---------------------------------------------------------------
    def period(self, child: int, dob: int, start: int) -> int | None:
        """Add one period of care's episodes; the start of the child's next period, if any."""
        rng, c = self.rng, self.c
        age, b18 = (start - dob) / DAY_YEAR, birthday(dob, 18)
        adoption = (0.35 if age < 1 else 0.18 if age < 5 else 0.0) * c.adoption
        short, remand = (0.25 if age < 10 else 0.35), (0.05 if age >= 12 else 0.0)
        long_ = 0.15 if age < 5 else 0.30 if age < 16 else 0.45
        routes = {"adoption": adoption, "short": short, "remand": remand, "long": long_}
        route = pick(rng, routes | {"medium": 1 - sum(routes.values())})
        placed = None
        if route == "adoption":
            placed = start + int((6 + rng.weibull(2.5) * 11) * DAY_MONTH)
            end = placed + int(rng.lognormal(np.log(8.5 * DAY_MONTH), 0.25))
        elif route in ("short", "remand"):
            end = start + max(1, int(rng.lognormal(np.log(42), 0.9)))
        elif route == "medium":
            scale = 2.0 if age < 5 else 2.5 if age < 10 else 1.8 if age < 16 else 1.0
            end = start + 1 + int(rng.weibull(1.5) * scale * DAY_YEAR)
        else:
            end = b18
        end = min(end, b18)  # children who reach 18 leave care that day
        kind = self.exit_kind(route, age) if end < b18 else "age18"
        legal = self.legal(route, age, start, end, placed)
        first, moves = self.placements(dob, route, start, end, legal, kind, placed)
        rec = self.exit_code(kind, moves[-1][1] if moves else first[0], end)
        need = "N6" if route == "remand" else pick(rng, NEED)
        self.add_episodes(child, start, end, need, legal, first, moves, rec)
        back = c.comes_back if kind in ("home", "other") else 0.04 if kind == "sgo" else 0.0
        if rng.random() < back:
            again = end + max(28, int(rng.lognormal(np.log(300), 0.8)))
            if again < b18 - 60 and again <= RECORD_END:
                return again
        return None

    def exit_kind(self, route: str, age: float) -> str:
        if route in ("adoption", "remand"):
            return route
        if route == "short":
            weights = {"home": 0.70, "other": 0.10, "transfer": 0.05, "abroad": 0.01, "cao": 0.02}
            weights["independent"] = 0.12 if age >= 16 else 0.0
        elif age < 16:
            weights = {"home": 0.45 if age < 5 else 0.55, "sgo": 0.35 if age < 5 else 0.18}
            weights |= {"cao": 0.08, "other": 0.08, "transfer": 0.05}
            weights["custody"] = 0.02 if age >= 12 else 0.0
        else:
            weights = {"independent": 0.4, "home": 0.35, "other": 0.15, "transfer": 0.05}
            weights["custody"] = 0.05
        return pick(self.rng, weights)

    def exit_code(self, kind: str, place: str, end: int) -> str:
        """REC for an exit of ``kind`` from ``place`` on day ``end``."""
        rng, fostered = self.rng, place.startswith("U")
        if kind == "age18":
            if fostered:
                return pick(rng, {"E17": 0.45, "E5": 0.35, "E6": 0.10, "E8": 0.05, "E7": 0.05})
            return pick(rng, {"E5": 0.65, "E6": 0.18, "E8": 0.09, "E7": 0.08})
        if kind == "sgo":  # to the former foster carers when fostered, else to other carers
            if end < SGO_NEW_CODES_FROM:
                return "E43" if fostered else "E44"
            if fostered:
                return "E45" if place in ("U1", "U2", "U3") else "E46"
            return "E47" if rng.random() < 0.8 else "E48"
        codes = EXIT_CODES[kind]
        return codes if isinstance(codes, str) else pick(rng, codes)

    def legal(self, route: str, age: float, start: int, end: int, placed: int | None) -> list:
        """Legal status: [(day, LS)], the first on ``start``, every change before ``end``."""
        rng = self.rng
        if route == "remand":
            return [(start, "J1")]
        u, v2 = rng.random(), 0.96 * (0.35 if age < 10 else 0.5 if age < 16 else 0.8)
        first = "L2" if u < 0.04 else "V2" if u < 0.04 + v2 else "C1"
        if route == "adoption":
            if rng.random() < 0.1:
                return [(start, "V2")]  # to be placed for adoption with parental consent
            first = "C1" if first == "V2" and rng.random() < 0.6 else first
        steps = [(start, first)]
        if first == "L2":
            steps.append((start + int(rng.integers(1, 9)), "C1"))
        elif first == "V2" and rng.random() < (0.05 if route == "short" else 0.5):
            steps.append((start + 1 + int(rng.lognormal(np.log(90), 0.6)), "C1"))
        if route == "adoption":  # the placement order, on or before the placement
            steps = [s for s in steps if s[0] < placed]
            order = placed - int(rng.uniform(14, 112))
            steps.append((min(placed, max(order, steps[-1][0] + 1)), "E1"))
        elif steps[-1][1] == "C1":
            steps.append((steps[-1][0] + 1 + int(rng.lognormal(np.log(230), 0.3)), "C2"))
        return [s for s in steps if s[0] < end]

    # -- placements -----------------------------------------------------------------------
    def place(self, group: str, age: float) -> tuple[str, str]:
        """A new placement of ``group`` for a child of ``age``: (PLACE, PLACE_PROVIDER)."""
        rng, c = self.rng, self.c
        if group == "foster":  # new carers start short-term (U6)
            if rng.random() < c.ifa_share + (0.1 if age >= 10 else 0.0):
                return "U6", "PR4" if rng.random() < 0.85 else "PR5"
            return "U6", "PR1" if rng.random() < 0.95 else "PR2"
        if group == "home":
            if rng.random() < c.own_homes:
                return "K2", "PR1"
            return "K2", "PR4" if rng.random() < 0.85 else "PR5"
        if group == "supported":
            code = "P2" if age >= 17 and rng.random() < 0.15 else "H5"
        else:
            code = {"kinship": "U3", "secure": "K1", "unit": "R3"}[group]
        return code, pick(rng, PROVIDERS[code])

    def first_place(self, age: float, route: str) -> tuple[str, str]:
        rng, c = self.rng, self.c
        if route == "remand":
            weights = {"secure": 0.15, "home": 0.35, "foster": 0.5}
        elif age < 1:
            if route == "adoption" and rng.random() < 0.15:
                return "U5", "PR1"  # fostering for adoption
            weights = {"unit": 0.06, "kinship": c.kinship, "foster": 0.94 - c.kinship}
        elif age < 10:
            home = 0.03 * c.residential if age >= 6 else 0.0
            weights = {"kinship": c.kinship, "home": home, "foster": 1 - c.kinship}
        elif age < 16:
            weights = {"kinship": 0.6 * c.kinship, "home": 0.25 * c.residential}
            weights |= {"secure": 0.015, "foster": 0.85 - 0.6 * c.kinship}
        else:
            weights = {"supported": 0.5, "home": 0.15 * c.residential, "kinship": 0.05}
            weights["foster"] = 0.3
        return self.place(pick(rng, weights), age)

    def destination(self, age: float, current: str) -> tuple[str, str]:
        """Where a child moves to on a change of carers, by age and current placement."""
        res = self.c.residential
        if current == "K1":
            weights = {"home": 0.7, "foster": 0.3}
        elif age < 10:
            weights = {"foster": 0.8, "kinship": 0.15, "home": 0.05 * res if age >= 8 else 0.0}
        elif age < 16:
            weights = {"foster": 0.55, "kinship": 0.08, "secure": 0.03 if age >= 12 else 0.0}
            weights["home"] = (0.85 if current == "K2" else 0.55) * res
        else:
            supported = 0.55 * (2.5 if current in ("H5", "P2") else 1.0)
            weights = {"supported": supported, "home": 0.22 * res, "foster": 0.28, "kinship": 0.05}
        return self.place(pick(self.rng, weights), age)

    def timers(self, route: str, place: str, since: int) -> tuple[int, int]:
        """Days of the next move to new carers and of the same carers becoming long-term."""
        rng, move, settle = self.rng, NEVER, NEVER
        if place in HOLD_YEARS:
            changed = self.c.stability_from is not None and since >= self.c.stability_from
            scale = HOLD_YEARS[place] * (self.c.stability_factor if changed else 1.0)
            move = since + 1 + int(rng.weibull(0.7) * scale * DAY_YEAR)
        if place in ("U6", "U3") and route != "adoption":
            settle = since + int(rng.lognormal(np.log(15 * DAY_MONTH), 0.35))
        return move, settle

    def planned_moves(self, dob, route, start, end, legal, kind, placed, first) -> list:
        """Moves planned at entry: [(day, what)], in order."""
        rng, planned = self.rng, []
        if placed is not None and placed < end:
            planned.append((placed, "adoption"))
        care_order = [d for d, ls in legal if ls == "C2"]
        # Placed with parents (under a care order only): most children going home from a care
        # order, a log-normal time before they leave (median 10 months); a few until 18.
        if care_order and rng.random() < {"home": 0.8, "age18": 0.1}.get(kind, 0.0):
            home = end - 1 - int(rng.lognormal(np.log(300), 0.6))
            if kind == "age18":
                home = int(rng.uniform(care_order[0], end))
            home = max(home, care_order[0] + int(rng.integers(1, 60)))
            if home < end - 14:
                planned.append((home, "parents"))
        b16 = birthday(dob, 16)
        if route != "adoption" and start < b16 < end:
            planned.append((b16 + int(rng.uniform(0, 270)), "sixteen"))
        if first[0] == "R3":
            planned.append((start + int(rng.uniform(42, 112)), "unit_ends"))
        return sorted(planned)

    def planned_move(self, what, place, provider, ls, age) -> tuple[str, str, bool] | None:
        """The placement a planned move leads to, (PLACE, PROVIDER, same carers), or None."""
        rng = self.rng
        if place == "P1" or place in ADOPTION:
            return None
        if what == "adoption":
            same = place.startswith("U") and rng.random() < 0.3  # adopted by the foster carers
            code = ("A3" if same else "A4") if ls == "V2" else ("A5" if same else "A6")
            keep = same and provider == "PR1"
            return code, "PR1" if keep else pick(rng, PROVIDERS["A"]), same
        if what == "parents":
            return "P1", "PR0", False
        if what == "unit_ends":
            return (*self.place("foster", age), False) if place == "R3" else None
        chance = {"K2": self.c.supported_at_16, "U4": 0.25, "U6": 0.25}.get(place, 0.0)
        return (*self.place("supported", age), False) if rng.random() < chance else None

    def placements(self, dob, route, start, end, legal, kind, placed) -> tuple:
        """The first placement (PLACE, PROVIDER) and the changes after it, as
        [(day, PLACE, PROVIDER, same carers, reason for the change)]."""
        first = place, provider = self.first_place(age_on(dob, start), route)
        planned = self.planned_moves(dob, route, start, end, legal, kind, placed, first)
        move_at, settle_at = self.timers(route, place, start)
        moves: list[tuple] = []
        while True:
            t = min(move_at, settle_at, planned[0][0] if planned else NEVER)
            if t >= end:
                return first, moves
            if t == settle_at:  # short-term carers become long-term: same carers, new code
                place, settle_at = {"U6": "U4", "U3": "U1"}[place], NEVER
                moves.append((t, place, provider, True, "CARPL"))
                continue
            if planned and t == planned[0][0]:
                ls = [s for d, s in legal if d <= t][-1]
                new = self.planned_move(planned.pop(0)[1], place, provider, ls, age_on(dob, t))
                if new is None:
                    continue
                (place, provider, same), reason = new, "CARPL"
            else:
                place, provider = self.destination(age_on(dob, t), place)
                same, reason = False, pick(self.rng, MOVE_REASONS)
            moves.append((t, place, provider, same, reason))
            move_at, settle_at = self.timers(route, place, t)

    # -- episodes -------------------------------------------------------------------------
    def add_episodes(self, child, start, end, need, legal, first, moves, rec) -> None:
        """One row per episode: legal and placement changes on one day make one new episode."""
        changes: dict[int, dict] = {}
        for d, ls in legal[1:]:
            changes.setdefault(d, {})["ls"] = ls
        for d, place, provider, same, reason in moves:
            change = changes.setdefault(d, {})
            same = same and change.get("same", True)
            change |= {"place": place, "provider": provider, "same": same, "reason": reason}
        ls, (place, provider) = legal[0][1], first
        rows = [[child, start, None, "S", ls, need, place, provider, None, ""]]
        for d in sorted(changes):
            change = changes[d]
            if "place" in change:
                rne = ("U" if change["same"] else "B") if "ls" in change else "P"
                rne = "T" if rne == "P" and change["same"] else rne
                place, provider = change["place"], change["provider"]
                rows[-1][9] = change["reason"]  # the reason the placement it ends changed
            else:
                rne = "L"
            ls = change.get("ls", ls)
            rows[-1][2], rows[-1][8] = d, "X1"
            rows.append([child, d, None, rne, ls, need, place, provider, None, ""])
        rows[-1][2], rows[-1][8] = end, rec
        self.rows.extend(tuple(r) for r in rows)


# -- the council's returns ----------------------------------------------------------------
EPISODE_COLUMNS = ["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC"]
EPISODE_COLUMNS += ["REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"]
HEADER_COLUMNS = ["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"]


def simulate(council: Council) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Episodes (``decom`` and ``dec`` in days) and children (by index) of ``council``."""
    sim = Simulation(council)
    sim.run()
    columns = ["child", "decom", "dec", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "REC"]
    episodes = pd.DataFrame(sim.rows, columns=[*columns, "REASON_PLACE_CHANGE"])
    return episodes, pd.DataFrame(sim.children, columns=["dob", "SEX", "ETHNIC"])


def in_care(episodes: pd.DataFrame, on: int) -> pd.DataFrame:
    """The episodes open at the end of day ``on`` (one per child in care)."""
    return episodes[(episodes["decom"] <= on) & (episodes["dec"] > on)]


def generate(council: Council) -> tuple[Council, pd.DataFrame, pd.DataFrame]:
    """Simulate ``council``, adjusting its entry level until the children in care at 31 March
    2022 fall in its size band (each try uses the same seed, so the result is reproducible)."""
    low, high = council.band
    for _ in range(12):
        episodes, children = simulate(council)
        stock = len(in_care(episodes, RECORD_END))
        if low <= stock <= high:
            return council, episodes, children
        council = replace(council, level=council.level * (low + high) / 2 / max(stock, 1))
    raise RuntimeError(f"{council.name}: {stock} children in care at 31 March 2022")


def dates(days: pd.Series) -> pd.Series:
    """Days as dd/mm/YYYY; blank where missing."""
    return pd.to_datetime(days.astype("float64"), unit="D").dt.strftime("%d/%m/%Y").fillna("")


def write_returns(episodes: pd.DataFrame, children: pd.DataFrame, folder: Path, seed: int) -> None:
    """Write each year's Header and Episodes files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    seen = episodes[(episodes["dec"] >= RECORD_START) & (episodes["decom"] <= RECORD_END)]
    kept = np.sort(seen["child"].unique())
    ids = np.random.default_rng([seed, 3]).choice(900_000, size=len(kept), replace=False)
    ids = pd.Series(ids + 100_000, index=kept)
    for year in YEARS:
        first, last = day(dt.date(year - 1, 4, 1)), day(dt.date(year, 3, 31))
        rows = seen[(seen["decom"] <= last) & (seen["dec"] >= first)].copy()
        still_open = rows["dec"] > last  # open at 31 March: DEC, REC and the reason blank
        rows.loc[still_open, ["REC", "REASON_PLACE_CHANGE"]] = ""
        rows["DEC"] = dates(rows["dec"].where(~still_open))
        rows["DECOM"] = dates(rows["decom"])
        rows["CHILD"] = rows["child"].map(ids)
        rows[["HOME_POST", "PL_POST", "URN"]] = ""
        rows = rows.sort_values(["CHILD", "decom"])
        rows[EPISODE_COLUMNS].to_csv(
            folder / f"episodes_{year}.csv", index=False, lineterminator="\n"
        )
        header = children.loc[np.unique(rows["child"])].copy()
        header["CHILD"] = header.index.map(ids)
        header["DOB"] = dates(header["dob"])
        header["MOTHER"] = np.where(header["SEX"] == "2", "0", "")  # given for every girl
        header[["UPN", "MC_DOB"]] = ""
        header = header.sort_values("CHILD")[HEADER_COLUMNS]
        header.to_csv(folder / f"header_{year}.csv", index=False, lineterminator="\n")


def summary(council: Council, episodes: pd.DataFrame) -> str:
    """Children in care at each 31 March, entries per year and the placement mix in 2022."""
    turn = pd.to_datetime(council.turn, unit="D")
    lines = [f"{council.name} (entries turn {turn:%B %Y})"]
    lines.append(f"  {'31 March':<22}" + "".join(f"{y:>6}" for y in YEARS))
    stock = [len(in_care(episodes, day(dt.date(y, 3, 31)))) for y in YEARS]
    lines.append(f"  {'children in care':<22}" + "".join(f"{n:>6}" for n in stock))
    starts = episodes.loc[episodes["RNE"] == "S", "decom"]
    years = [day(dt.date(y - 1, 4, 1)) for y in YEARS] + [RECORD_END + 1]
    entries = np.histogram(starts, bins=years)[0]
    lines.append(f"  {'entries in the year':<22}" + "".join(f"{n:>6}" for n in entries))
    now = in_care(episodes, RECORD_END)
    lines.append(f"  placement mix at 31 March 2022 ({len(now)} children):")
    for group, (places, providers) in MIX_GROUPS.items():
        hit = now["PLACE"].isin(places)
        if providers:
            hit &= now["PLACE_PROVIDER"].isin(providers)
        lines.append(f"    {group:<22}{hit.sum():>5}  {hit.mean():6.1%}")
    return "\n".join(lines)


def write_council(
    name: str, out: Path, seed: int = 2026, stability: tuple[dt.date, float] | None = None
) -> str:
    """Generate council ``name`` into ``out/<name>/ssda903``; returns its summary.

    ``stability``: a change of practice, ``(from, factor)``: placements starting from that
    date are held ``factor`` times as long before a move (the council keeps its name)."""
    drawn = draw_council(name, seed)
    if stability is not None:
        drawn = replace(drawn, stability_from=day(stability[0]), stability_factor=stability[1])
    council, episodes, children = generate(drawn)
    write_returns(episodes, children, Path(out) / name / "ssda903", council.seed)
    return summary(council, episodes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="folder to write councils into")
    parser.add_argument("--seed", type=int, default=2026, help="seed (default 2026)")
    parser.add_argument(
        "--councils",
        nargs="+",
        choices=NAMES,
        default=list(NAMES),
        metavar="NAME",
        help=f"councils to generate (default: all six: {', '.join(NAMES)})",
    )
    parser.add_argument(
        "--stability",
        nargs=2,
        metavar=("FROM", "FACTOR"),
        help="a change of practice: placements starting from FROM (YYYY-MM-DD) are held "
        "FACTOR times as long before a move (default: no change)",
    )
    args = parser.parse_args(argv)
    stability = None
    if args.stability:
        stability = (dt.date.fromisoformat(args.stability[0]), float(args.stability[1]))
    for name in args.councils:
        print(write_council(name, args.out, args.seed, stability), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
