"""The transition hazards' two NUTS samplers side by side, on the built-in example, in one run.

For each backend (``calibration.hazards.sampler.backend``: PyMC's own NUTS, and nutpie's
Rust NUTS on a Numba-compiled model with its chains in threads), three fits of the example
in fresh processes:

1. **cold**: empty compile caches (PyTensor's and Numba's) and an empty calibration cache, as
   on a new machine; the wall time includes compiling the model;
2. **warm compile**: the compile caches from step 1, an empty calibration cache: sampling
   again, as after a change of data or settings;
3. **cache hit**: the posterior from step 2's calibration cache (the usual case).

Printed per backend: the three wall times, the sampling time, bulk ESS per second of
sampling (the smallest ESS of any parameter), the largest R-hat and divergences. Targets: a
cold fit in 30 s or less, a cache hit under 1 s. Nothing is asserted; compare the backends
as ratios measured in this one run.

    .venv/bin/python benchmarks/samplers.py [--backends pymc,nutpie]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COLD_TARGET_S = 30.0
HIT_TARGET_S = 1.0


def _one_fit(backend: str, cache: str) -> dict[str, object]:
    """Fit the example's hazards in this process (twice if the cache is filled the first time)."""
    from care_demand.calibration.reference import fit_hazards
    from care_demand.config import load_config
    from care_demand.pipeline import load

    config = load_config(
        [
            f"calibration.hazards.sampler.backend={backend}",
            f"calibration.cache_dir={cache}",
            "calibration.hazards.sampler.progressbar=false",
        ]
    )
    history = load(config)[1]
    started = time.perf_counter()
    model = fit_hazards(history, config.calibration)
    wall = time.perf_counter() - started
    started = time.perf_counter()
    again = fit_hazards(history, config.calibration)
    hit = time.perf_counter() - started
    diag = model.diagnostics_
    return {
        "wall": wall,
        "hit": hit,
        "hit_from_cache": bool(again.from_cache_),
        "from_cache": bool(model.from_cache_),
        "sampling": float(diag["sampling_seconds"]),
        "ess": float(diag["min_ess_bulk"]),
        "rhat": float(diag["max_rhat"]),
        "divergences": int(diag["divergences"]),
    }


def _in_process(backend: str, cache: Path, compile_dir: Path) -> dict[str, object]:
    env = dict(os.environ)
    env["PYTENSOR_FLAGS"] = f"compiledir={compile_dir / 'pytensor'}"
    env["NUMBA_CACHE_DIR"] = str(compile_dir / "numba")
    done = subprocess.run(
        [sys.executable, __file__, "--one", backend, "--cache", str(cache)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{backend}: the fit failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    """Run the comparison (or, with ``--one``, one fit for it) and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="pymc,nutpie")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(_one_fit(args.one, args.cache)))
        return 0
    rows = []
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory(prefix=f"samplers-{backend}-") as tmp:
            root = Path(tmp)
            cold = _in_process(backend, root / "cold-cache", root / "compile")
            warm = _in_process(backend, root / "warm-cache", root / "compile")
        rows.append((backend, cold, warm))
        print(
            f"{backend}: cold {cold['wall']:.1f} s, warm compile {warm['wall']:.1f} s", flush=True
        )
    print(
        "\nbackend  cold (s)  warm compile (s)  cache hit (s)  sampling (s)  "
        "ESS/s  max R-hat  divergences"
    )
    for backend, cold, warm in rows:
        print(
            f"{backend:<8} {cold['wall']:>8.1f}  {warm['wall']:>16.1f}  {warm['hit']:>13.2f}  "
            f"{warm['sampling']:>12.1f}  {warm['ess'] / warm['sampling']:>5.0f}  "
            f"{warm['rhat']:>9.4f}  {warm['divergences']:>11d}"
        )
    print(f"targets: cold <= {COLD_TARGET_S:.0f} s, cache hit < {HIT_TARGET_S:.0f} s")
    if len(rows) == 2:
        (a, cold_a, warm_a), (b, cold_b, warm_b) = rows
        print(
            f"{b} / {a}: cold {cold_b['wall'] / cold_a['wall']:.2f}x the time, warm compile "
            f"{warm_b['wall'] / warm_a['wall']:.2f}x, ESS/s "
            f"{(warm_b['ess'] / warm_b['sampling']) / (warm_a['ess'] / warm_a['sampling']):.2f}x"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
