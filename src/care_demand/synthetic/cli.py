"""``care-demand-example``: regenerate the synthetic example council's files."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from care_demand.paths import EXAMPLE_DATA_DIR

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Write the example files; returns the process exit code."""
    parser = argparse.ArgumentParser(
        prog="care-demand-example",
        description="Write the synthetic (invented, Dorset-like) example council's files.",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=EXAMPLE_DATA_DIR,
        help="output folder (default: the package's example_data folder)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="random seed (default: the seed in ground_truth.yaml)",
    )
    args = parser.parse_args(argv)
    from care_demand.synthetic.generate import write_example

    began = time.perf_counter()
    try:
        paths = write_example(args.out, seed=args.seed)
    except OSError as error:
        print(f"care-demand-example: cannot write to {args.out}: {error}", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in paths)
    print(
        f"Wrote {len(paths)} files ({size / 1e6:.1f} MB) to {args.out} "
        f"in {time.perf_counter() - began:.1f} s (synthetic data)."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
