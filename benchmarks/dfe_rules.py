"""The example's SSDA903 returns against the DfE's validation rules.

Data to Insight's SSDA903 validator (``csc-validator-be-903`` on PyPI, the tool councils use
to check a return against the DfE's validation rules before submitting it) is run on each of
the built-in example's returns, with the year before as the previous year's return. Every
rule failed is printed with the rows it flags; the script exits 1 if any rule fails other
than those the example leaves blank on purpose (:data:`DOCUMENTED_BLANKS`, each with why)
and, for returns up to 2017/18, the codes of that time (:data:`CODES_OF_THEIR_TIME`), and 0
otherwise. Not part of ``make test``: ``tests/test_example_dfe_rules.py`` checks the
rules that bear on the modelled content without the validator.

1. The validator gets its own virtual environment (``.cache/dfe-validator-venv``, created
   here with ``python3.11 -m venv``; the version is pinned below) because it needs
   pandas < 2. ``benchmarks/dfe_rules_runner.py`` runs inside it and imports only the
   validator.
2. Rules: the validator's earliest ruleset (``lac2022_23``, the DfE's rules for 2022/23,
   which carry the 2021/22 rules forward) for every year; the collection year given to it is
   the return's own, so its dates (collection start and end) are the return's.
3. The local authority is Dorset's (E06000059), whose published figures the example follows.

Run from a fresh clone, after ``make`` has built ``.venv`` (needs the package index once):
``.venv/bin/python benchmarks/dfe_rules.py [--data DIR] [--years 2021 2022]``.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from isolated_venv import ROOT, isolated_python

RUNNER = Path(__file__).resolve().with_name("dfe_rules_runner.py")
VENV = ROOT / ".cache" / "dfe-validator-venv"
EXAMPLE_SSDA903 = ROOT / "src" / "care_demand" / "example_data" / "ssda903"
# Data to Insight's validator, the newest release on PyPI when this was written, and the
# versions of its dependencies the results in docs/validation.md were produced with.
VALIDATOR = "csc-validator-be-903==0.1.17"
PINNED = [VALIDATOR, "pandas==1.5.3", "numpy==1.24.4"]
PYTHON = "python3.11"
RULESET = "lac2022_23"
LOCAL_AUTHORITY = "E06000059"  # Dorset

# Rules the example fails because it leaves a field blank on purpose (it is synthetic: no
# child has a UPN, and no address is invented), with why.
DOCUMENTED_BLANKS: dict[str, str] = {
    "442": "UPN left blank: the example's children have no Unique Pupil Numbers",
    "169": "placement postcode (PL_POST) left blank, so the LA of placement is unknown",
    "179": "placement postcode left blank, so the placement location code is missing",
    "392b": "home and placement postcodes (HOME_POST, PL_POST) left blank",
    "1015": "placement postcode left blank, so an own-provision placement (PR1) cannot be "
    "shown to be inside the council's area",
    "436": "placement postcode and URN left blank, so a change of carer on the day the legal "
    "status changes (RNE B) between two placements of the same type and provider is not seen",
}
# Rules of the 2022/23 ruleset that older returns fail because they use the codes of their
# time: rule -> (last return it applies to, why).
CODES_OF_THEIR_TIME: dict[str, tuple[int, str]] = {
    "149": (2018, "E43/E44 (special guardianship) were the codes until 2017/18, as E45-E48 since"),
}


def venv_python() -> Path:
    """The validator's environment's interpreter, creating the environment if needed."""
    return isolated_python(VENV, PYTHON, PINNED, "import lac_validator.lac_validator")


def return_files(folder: Path, year: int) -> list[str]:
    """The header and episodes files of one year's return (empty if there is none)."""
    files = [folder / f"{table}_{year}.csv" for table in ("header", "episodes")]
    return [str(f) for f in files] if all(f.exists() for f in files) else []


def collection_years(folder: Path) -> list[int]:
    found = (re.fullmatch(r"episodes_(\d{4})\.csv", p.name) for p in folder.iterdir())
    return sorted(int(m.group(1)) for m in found if m)


def run_validator(folder: Path, years: list[int]) -> list[dict]:
    """The validator's answer for each year's return (the year before as the previous)."""
    tasks = [
        {
            "year": year,
            "this_year": return_files(folder, year),
            "prev_year": return_files(folder, year - 1),
        }
        for year in years
    ]
    job = {"ruleset": RULESET, "local_authority": LOCAL_AUTHORITY, "tasks": tasks}
    with tempfile.TemporaryDirectory() as scratch:
        job_file, answer_file = Path(scratch, "job.json"), Path(scratch, "answer.json")
        job_file.write_text(json.dumps(job), encoding="utf-8")
        done = subprocess.run(
            [str(venv_python()), str(RUNNER), str(job_file), str(answer_file)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            sys.exit(f"The validator failed:\n{done.stderr.strip()[-3000:]}")
        return json.loads(answer_file.read_text(encoding="utf-8"))


def report(answers: list[dict]) -> list[str]:
    """Print a table of rules failed by year; return the rules failed outside the blanks."""
    print(f"DfE SSDA903 validation rules ({VALIDATOR}, ruleset {RULESET})\n")
    print(f"{'Return':<8}{'Rules run':>10}{'Passed':>8}{'Failed':>8}{'Could not run':>15}")
    for a in answers:
        run = len(a["run"])
        print(
            f"{a['year']:<8}{run:>10}{run - len(a['failed']):>8}{len(a['failed']):>8}"
            f"{len(a['could_not_run']):>15}"
        )
    unexpected: set[str] = set()
    print(f"\n{'Rule':<7}{'Return':<8}{'Rows':>6}  Why")
    for a in answers:
        for code, tables in sorted(a["failed"].items()):
            rows = sum(tables.values())
            why = DOCUMENTED_BLANKS.get(code)
            last, older = CODES_OF_THEIR_TIME.get(code, (0, None))
            if why is None and a["year"] <= last:
                why = older
            if why is None:
                unexpected.add(code)
                why = "NOT DOCUMENTED: " + a["messages"][code]
            print(f"{code:<7}{a['year']:<8}{rows:>6}  {why}")
    for a in answers:
        if a["could_not_run"]:
            print(f"{a['year']}: rules that raised an error: {', '.join(a['could_not_run'])}")
    return sorted(unexpected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=EXAMPLE_SSDA903, help="SSDA903 folder")
    parser.add_argument("--years", type=int, nargs="*", help="collection years (default: all)")
    args = parser.parse_args(argv)
    years = args.years or collection_years(args.data)
    unexpected = report(run_validator(args.data, years))
    if unexpected:
        print(f"\nFAILED: rules other than the documented blanks: {', '.join(unexpected)}")
        return 1
    print("\nOK: every rule failed is a documented blank.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
