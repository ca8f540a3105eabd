"""Small random-draw helpers shared by the simulator and the record writers."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from care_demand.synthetic.truth import share_table

__all__ = ["Shares", "uniform_stream"]


def uniform_stream(rng: np.random.Generator, chunk: int = 1 << 16) -> Callable[[], float]:
    """A function returning the next U(0, 1) draw of ``rng`` (drawn in chunks, for speed)."""

    def stream() -> Iterator[float]:
        while True:
            yield from rng.random(chunk).tolist()

    return stream().__next__


class Shares:
    """A categorical distribution over codes, drawn with one uniform number."""

    def __init__(self, spec: Mapping[str, Any], key: str) -> None:
        table = share_table(dict(spec), key)
        self.codes = list(table)
        self.cum = np.cumsum(list(table.values())).tolist()

    def pick(self, u: float) -> str:
        """The code whose cumulative share first exceeds ``u``."""
        return self.codes[min(bisect_right(self.cum, u), len(self.codes) - 1)]
