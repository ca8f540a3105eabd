"""Calendar rules shared by the data layer."""

from __future__ import annotations

import pandas as pd

__all__ = ["add_years"]


def add_years(dates: pd.Series, years: int) -> pd.Series:
    """``dates`` moved on by whole years: the day a child born on them reaches that age.

    A child born on 29 February reaches an age on 1 March in a common year (Family Law
    Reform Act 1969 s9: at the start of the relevant anniversary, which a common year only
    reaches on 1 March), the same rule the built-in example's generator follows.
    """
    dates = pd.to_datetime(dates)
    year = dates.dt.year + years
    month, day = dates.dt.month, dates.dt.day
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    leapling = (month == 2) & (day == 29) & ~leap
    month = month.where(~leapling, 3)
    day = day.where(~leapling, 1)
    parts = pd.DataFrame({"year": year, "month": month, "day": day})
    return pd.to_datetime(parts, errors="coerce").astype("datetime64[ns]")
