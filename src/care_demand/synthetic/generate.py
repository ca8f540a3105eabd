"""Generate the synthetic example council and write its files.

:func:`generate` simulates every child from the ground truth and decorates the journeys with
the codes councils record; :meth:`SyntheticCouncil.write` writes the files in the layout of
docs/input_formats.md. The same seed always gives byte-identical files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from care_demand.paths import EXAMPLE_DATA_DIR
from care_demand.synthetic import engine as eng
from care_demand.synthetic.census import (
    CIN_COLUMNS,
    EARLY_HELP_COLUMNS,
    build_cin_rows,
    build_early_help_rows,
)
from care_demand.synthetic.draws import Shares, uniform_stream
from care_demand.synthetic.spells import true_arrivals, true_spells
from care_demand.synthetic.ssda903 import EPISODE_COLUMNS, CareRecords, build_care_records
from care_demand.synthetic.truth import GroundTruth, load_ground_truth

__all__ = ["HEADER_COLUMNS", "SyntheticCouncil", "generate", "write_example"]

HEADER_COLUMNS: Final = ("CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB")
_DMY: Final = "%d/%m/%Y"
_ISO: Final = "%Y-%m-%d"
_EPOCH: Final = np.datetime64("1970-01-01", "D")

README: Final = """SYNTHETIC DATA - NOT REAL CHILDREN

Every child, date and code in this folder is invented. The files are the built-in example of
the care_demand package: a made-up council whose totals resemble Dorset's published figures
(for example about 434 children in care, 271 on a child protection plan, 1,152 children in
need and 1,313 supported through early help at the end of January 2022). No record describes
a real child, and the child ids are random numbers.

How the files were made: children new to services arrive each month (Poisson counts with a
trend, school-year seasonality and the Covid-19 lockdowns). Each child then moves between
early help, assessment, child in need, child protection and care (by placement type) under
piecewise-constant hazards that depend on age and time in the current state; the journeys
were simulated from April 2002 so that the numbers are settled by 2015, and the records of
April 2015 to March 2022 were written in the formats of docs/input_formats.md. The hazards,
placement shares and arrival rates are in care_demand/synthetic/ground_truth.yaml.

Regenerate with:  care-demand-example --out DIR --seed {seed}

Contents:
  ssda903/header_YYYY.csv, ssda903/episodes_YYYY.csv   SSDA903 return, collection years
                                                       {first} to {last} (year ending 31 March)
  cin_census.csv                                       CIN census, one row per child per referral
  early_help.csv                                       early-help episodes
"""


def _format(days: np.ndarray, fmt: str) -> np.ndarray:
    """Day numbers -> date strings ('' for -1)."""
    days = np.asarray(days, dtype=np.int64)
    values = pd.DatetimeIndex(
        (np.where(days >= 0, days, 0).astype("timedelta64[D]") + _EPOCH).astype("datetime64[ns]")
    )
    text = np.asarray(values.strftime(fmt), dtype=object)
    text[days < 0] = ""
    return text


def _csv(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n")


@dataclass(frozen=True)
class SyntheticCouncil:
    """One generated council: the true journeys and the records written from them.

    Attributes:
        truth: the ground truth the journeys were drawn from.
        seed: the seed used.
        journeys: the simulated journeys (day numbers, child indices).
        child_ids: the council id of each child index (6-digit strings).
        sex, ethnic: per child index (SSDA903 codes).
        care: SSDA903 episodes of every period of care.
        cin_rows, early_help_rows: CIN census and early-help records inside the window.
        window_start, window_end: the records' window (first and last day).
        collection_years: the SSDA903 collection years written.
    """

    truth: GroundTruth
    seed: int
    journeys: eng.Journeys
    child_ids: np.ndarray
    sex: np.ndarray
    ethnic: np.ndarray
    care: CareRecords
    cin_rows: pd.DataFrame
    early_help_rows: pd.DataFrame
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    collection_years: tuple[int, ...]

    @property
    def _window_days(self) -> tuple[int, int]:
        return (eng.day_number(self.window_start.date()), eng.day_number(self.window_end.date()))

    def spells(self) -> pd.DataFrame:
        """The true spells inside the window in the ``EventHistory.spells`` schema."""
        start, end = self._window_days
        return true_spells(self.journeys, self.care, self.child_ids, start, end)

    def arrivals(self) -> pd.DataFrame:
        """The true arrivals inside the window in the ``EventHistory.arrivals`` schema."""
        start, end = self._window_days
        return true_arrivals(self.journeys, self.child_ids, start, end)

    def children(self) -> pd.DataFrame:
        """Every simulated child: ``child_id``, ``dob``, ``sex`` (1 male, 2 female)."""
        dob = (self.journeys.child_dob.astype("timedelta64[D]") + _EPOCH).astype("datetime64[ns]")
        return pd.DataFrame(
            {
                "child_id": pd.array(self.child_ids, dtype="string"),
                "dob": dob,
                "sex": pd.array(self.sex, dtype="string"),
            }
        )

    def files(self) -> dict[str, str]:
        """Every file's text by its path relative to the output folder."""
        j = self.journeys
        out: dict[str, str] = {}
        eps = self.care.episodes
        dob_dmy = _format(j.child_dob, _DMY)
        for year in self.collection_years:
            ys = eng.day_number(dt.date(year - 1, 4, 1))
            ye = eng.day_number(dt.date(year, 3, 31))
            dec = eps["DEC"].to_numpy()
            rows = eps.loc[(eps["DECOM"].to_numpy() <= ye) & ((dec < 0) | (dec >= ys))]
            child = rows["CHILD"].to_numpy()
            dec = rows["DEC"].to_numpy()
            closed = (dec >= 0) & (dec <= ye)
            table = pd.DataFrame(
                {
                    "CHILD": self.child_ids[child],
                    "DECOM": _format(rows["DECOM"].to_numpy(), _DMY),
                    "RNE": rows["RNE"].to_numpy(),
                    "LS": rows["LS"].to_numpy(),
                    "CIN": rows["CIN"].to_numpy(),
                    "PLACE": rows["PLACE"].to_numpy(),
                    "PLACE_PROVIDER": rows["PLACE_PROVIDER"].to_numpy(),
                    "DEC": _format(np.where(closed, dec, -1), _DMY),
                    "REC": np.where(closed, rows["REC"].to_numpy(), ""),
                    "REASON_PLACE_CHANGE": np.where(
                        closed, rows["REASON_PLACE_CHANGE"].to_numpy(), ""
                    ),
                    "HOME_POST": "",
                    "PL_POST": "",
                    "URN": "",
                },
                columns=list(EPISODE_COLUMNS),
            )
            table["_decom"] = rows["DECOM"].to_numpy()
            table = table.sort_values(["CHILD", "_decom"], kind="stable").drop(columns="_decom")
            children = np.unique(child)
            female = self.sex[children] == "2"
            header = pd.DataFrame(
                {
                    "CHILD": self.child_ids[children],
                    "SEX": self.sex[children],
                    "DOB": dob_dmy[children],
                    "ETHNIC": self.ethnic[children],
                    "UPN": "",
                    "MOTHER": np.where(female, "0", ""),
                    "MC_DOB": "",
                },
                columns=list(HEADER_COLUMNS),
            ).sort_values("CHILD", kind="stable")
            out[f"ssda903/header_{year}.csv"] = _csv(header)
            out[f"ssda903/episodes_{year}.csv"] = _csv(table)

        cin = self.cin_rows
        child = cin["LAchildID"].to_numpy()
        census = pd.DataFrame(
            {"LAchildID": self.child_ids[child], "PersonBirthDate": dob_dmy[child]}
        )
        for col in CIN_COLUMNS[2:]:
            values = cin[col].to_numpy()
            census[col] = _format(values, _DMY) if values.dtype.kind == "i" else values
        census["_ref"] = cin["CINreferralDate"].to_numpy()
        census = census.sort_values(["LAchildID", "_ref"], kind="stable").drop(columns="_ref")
        out["cin_census.csv"] = _csv(census)

        eh = self.early_help_rows
        child = eh["child_id"].to_numpy()
        early = pd.DataFrame(
            {
                "child_id": self.child_ids[child],
                "date_of_birth": _format(j.child_dob[child], _ISO),
                "start_date": _format(eh["start_date"].to_numpy(), _ISO),
                "end_date": _format(eh["end_date"].to_numpy(), _ISO),
                "end_reason": eh["end_reason"].to_numpy(),
            },
            columns=list(EARLY_HELP_COLUMNS),
        )
        early["_start"] = eh["start_date"].to_numpy()
        early = early.sort_values(["child_id", "_start"], kind="stable").drop(columns="_start")
        out["early_help.csv"] = _csv(early)
        out["README.txt"] = README.format(
            seed=self.seed, first=self.collection_years[0], last=self.collection_years[-1]
        )
        return out

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write every file under ``out_dir`` (created if needed); returns the paths written.

        Existing files of the same names are replaced; nothing else in the folder is touched.
        """
        root = Path(out_dir)
        written = []
        for name, text in self.files().items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text.encode("utf-8"))
            written.append(path)
        return written


def _demographics(truth: GroundTruth, j: eng.Journeys, u: object) -> tuple[np.ndarray, np.ndarray]:
    spec = truth.raw["demographics"]
    ethnic = Shares(spec["ethnic"], "demographics.ethnic")
    ethnic_uasc = Shares(spec["ethnic_uasc"], "demographics.ethnic_uasc")
    male, male_uasc = float(spec["male_share"]), float(spec["male_share_uasc"])
    uasc = (j.child_kind == eng.KIND_CARE) & (j.child_arrival - j.child_dob >= 16 * 365.25)
    sex = np.empty(j.child_dob.size, dtype=object)
    eth = np.empty(j.child_dob.size, dtype=object)
    for c, is_uasc in enumerate(uasc.tolist()):
        sex[c] = "1" if u() < (male_uasc if is_uasc else male) else "2"  # type: ignore[operator]
        eth[c] = (ethnic_uasc if is_uasc else ethnic).pick(u())  # type: ignore[operator]
    return sex, eth


def generate(
    seed: int | None = None,
    truth: GroundTruth | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> SyntheticCouncil:
    """Simulate the example council.

    Args:
        seed: seed of the random streams (default: the seed in ``ground_truth.yaml``).
        truth: the ground truth (default: :func:`load_ground_truth`).
        start, end: first and last simulated day (default: the burn-in start and 31 March
            2022). SSDA903 files are written for the collection years that end by ``end``.
    """
    truth = truth or load_ground_truth()
    seed = truth.seed if seed is None else int(seed)
    journeys = eng.simulate_journeys(truth, seed, start=start, end=end)
    code_seq, id_seq = np.random.SeedSequence(seed).spawn(4)[2:]
    u = uniform_stream(np.random.default_rng(code_seq))
    n = journeys.child_dob.size
    ids = np.random.default_rng(id_seq).choice(900_000, size=n, replace=False) + 100_000
    child_ids = np.asarray([str(x) for x in ids], dtype=object)
    sex, ethnic = _demographics(truth, journeys, u)
    care = build_care_records(truth, journeys, u)
    since = eng.day_number(truth.files_from.date())
    cin = build_cin_rows(truth, journeys, u, since)
    early = build_early_help_rows(truth, journeys, u, since)
    window_end = pd.Timestamp(eng.EPOCH + dt.timedelta(days=journeys.end_day))
    years = tuple(
        y for y in truth.collection_years if eng.day_number(dt.date(y, 3, 31)) <= journeys.end_day
    )
    return SyntheticCouncil(
        truth=truth,
        seed=seed,
        journeys=journeys,
        child_ids=child_ids,
        sex=sex,
        ethnic=ethnic,
        care=care,
        cin_rows=cin,
        early_help_rows=early,
        window_start=truth.files_from,
        window_end=window_end,
        collection_years=years,
    )


def write_example(out_dir: str | Path | None = None, seed: int | None = None) -> list[Path]:
    """Generate the example and write it (default: the package's ``example_data`` folder)."""
    return generate(seed=seed).write(EXAMPLE_DATA_DIR if out_dir is None else out_dir)
