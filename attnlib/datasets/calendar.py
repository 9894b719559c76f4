"""A long table's time split over calendar columns (year and quarter, or year, month and
day), joined into one stamp per row before the time column is read."""

from __future__ import annotations

import polars as pl


def _whole(frame: pl.DataFrame, names: dict, name: str, top: float) -> pl.Series | None:
    """Column ``name`` (case-blind) as Int64 when every value is a whole number in
    1..``top`` (floats like ``1972.0`` too), else None."""
    col = names.get(name)
    x = frame[col].cast(pl.Float64, strict=False) if col else None
    if x is None or x.null_count() or not ((x % 1 == 0) & (x >= 1) & (x <= top)).all():
        return None
    return x.cast(pl.Int64)


def calendar_stamps(frame: pl.DataFrame, time: str) -> tuple[pl.Series | None, tuple]:
    """A time split over columns, as statsmodels' ``macrodata`` and many exports ship it:
    a ``year`` column that repeats beside a ``quarter`` (1-4) or ``month`` (1-12) column
    (and a ``day``, 1-31, beside the month) of whole numbers, joined as ``1972-Q2``,
    ``1972-05`` or ``1972-05-17``, which :func:`attnlib.datasets.series.read_times` reads
    as that period. Returns (stamps, the columns used), or (None, (time,)) when ``time``
    is not such a year."""
    if time.strip().lower() != "year":
        return None, (time,)
    names = {c.strip().lower(): c for c in reversed(frame.columns)}  # the first of a name
    year = _whole(frame, names, "year", 1e9)
    if year is None or year.is_unique().all():
        return None, (time,)
    y = year.cast(pl.String)
    if (quarter := _whole(frame, names, "quarter", 4)) is not None:
        return (y + "-Q" + quarter.cast(pl.String)).alias(time), (time, names["quarter"])
    if (month := _whole(frame, names, "month", 12)) is None:
        return None, (time,)
    stamps, used = y + "-" + month.cast(pl.String).str.zfill(2), (time, names["month"])
    if (day := _whole(frame, names, "day", 31)) is not None:
        stamps, used = stamps + "-" + day.cast(pl.String).str.zfill(2), (*used, names["day"])
    return stamps.alias(time), used
