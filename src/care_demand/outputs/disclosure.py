"""Statistical disclosure control for published tables.

Counts from 1 to ``suppress_max`` (default 5, DOMAIN.md) are replaced by a marker so that no
child can be identified; zeros and larger counts are shown. Tables become text columns where a
value was suppressed, so a published CSV never carries the hidden number.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

__all__ = ["suppress_small_counts"]


def suppress_small_counts(
    frame: pd.DataFrame,
    columns: Iterable[str],
    suppress_max: int = 5,
    marker: str = "[c]",
) -> pd.DataFrame:
    """Return a copy of ``frame`` with counts 1..``suppress_max`` in ``columns`` replaced.

    Raises ``KeyError`` naming a column that is not in the table.
    """
    out = frame.copy()
    for column in columns:
        if column not in out.columns:
            raise KeyError(f"cannot suppress column {column!r}: not in the table")
        values = pd.to_numeric(out[column], errors="raise")
        small = (values >= 1) & (values <= suppress_max)
        shown = values.astype("Int64").astype("string")
        out[column] = shown.where(~small, marker)
    return out
