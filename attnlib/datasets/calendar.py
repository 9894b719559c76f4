"""A long table's time split over calendar columns (a year with its quarter, or with its
month and day), joined into one stamp per row before the time column is read."""

from __future__ import annotations

import calendar
from pathlib import Path

import polars as pl

from attnlib.errors import DataError

# the finest part first: a month (with a day, if any) beats a quarter column beside it
PARTS = {"month": 12, "quarter": 4}
JOINED = (*PARTS, "day")  # the calendar columns a repeating year is read with


def stamp_keys(columns, time: str) -> list[str]:
    """The columns that name one time step: ``time``, and when it is a year the calendar
    columns beside it (:data:`JOINED`: a year that repeats beside its month is one stamp)."""
    parts = [c for c in columns if c.strip().lower() in JOINED]
    return [time, *(parts if time.strip().lower() == "year" else [])]


def _numbers(values: pl.Series, prefix: str = "") -> pl.Series | None:
    """``values`` as Float64 (null where a cell is not a number; with ``prefix`` ``Q``,
    ``Q3`` is 3), or None for a column that holds neither numbers nor text (a list)."""
    if isinstance(values.dtype, (pl.Categorical, pl.Enum)):  # pandas' category, in Parquet
        values = values.cast(pl.String)
    if values.dtype == pl.String:
        values = values.str.strip_chars()
        values = values.str.replace(f"^(?i){prefix}", "") if prefix else values
    elif not values.dtype.is_numeric():
        return None
    return values.cast(pl.Float64, strict=False)


def _part(frame: pl.DataFrame, col: str, top: int, path: Path, where) -> pl.Series:
    """Column ``col`` as Int64, every cell a whole number in 1..``top``; else a DataError
    at the first cell that is not (a year that repeats needs its part on every row)."""
    x = _numbers(frame[col], "Q" if col.strip().lower() == "quarter" else "")
    if x is None:
        raise DataError(f"{path}: column '{col}' holds {frame[col].dtype}, not numbers (the "
                        f"year repeats, so '{col}' is joined to it as one time stamp)")  # fmt: skip
    why = f"the year repeats, so '{col}' is joined to it as one time stamp"
    _check_whole(frame, col, x, (1, top), f"a whole number 1-{top} ({why})", path, where)
    return x.cast(pl.Int64)


def _check_whole(frame: pl.DataFrame, col: str, x: pl.Series, bounds: tuple[int, int],
                 what: str, path: Path, where) -> None:  # fmt: skip
    """A DataError at the first cell of ``col`` whose number ``x`` is not a whole number
    within ``bounds`` (or is missing): ``... is not <what>``."""
    bad = (~((x % 1 == 0) & x.is_between(*bounds))).fill_null(True)
    if bad.any():
        i = bad.arg_true()[0]
        cell = "an empty cell" if frame[col][i] is None else f"'{frame[col][i]}'"
        raise DataError(f"{path}, {where(i)}: column '{col}': {cell} is not {what}")


def calendar_stamps(frame: pl.DataFrame, time: str, path: Path, where):
    """A time split over columns, as statsmodels' ``macrodata`` and many exports ship it:
    a ``year`` column (whole numbers 1000-9999) that repeats beside a ``month`` (1-12,
    with a ``day`` 1-31 beside it, if any) or a ``quarter`` (1-4, or ``Q1``-``Q4``) column,
    joined as ``1972-05``, ``1972-05-17`` or ``1972-Q2``, the stamps
    :func:`attnlib.datasets.times.read_times` reads as that period. A quarter column
    beside a month must agree with it and is dropped.

    Returns:
        (stamps, the columns used, a label for messages), or (None, (time,), time) when
        ``time`` is not such a year.

    Raises:
        DataError: a year or part cell that is not a whole number in range, a day that
            does not exist in its month, a quarter that disagrees with its month (each at
            its line).
    """
    none = None, (time,), time
    names = {c.strip().lower(): c for c in reversed(frame.columns)}  # the first of a name
    unit = next((name for name in PARTS if name in names), None)
    if time.strip().lower() != "year" or unit is None or frame[time].is_unique().all():
        return none  # one row a year: a month or quarter column is a value
    year = _numbers(frame[time])
    if year is None:
        return none
    why = f"it repeats, so '{names[unit]}' is joined to it as one time stamp"  # every cell
    _check_whole(frame, time, year, (1000, 9999), f"a whole year 1000-9999 ({why})", path, where)
    y = year.cast(pl.Int64)
    part = _part(frame, names[unit], PARTS[unit], path, where)
    used = [time, names[unit]]
    if unit == "quarter":
        stamps = y.cast(pl.String) + "-Q" + part.cast(pl.String)
    else:
        stamps = y.cast(pl.String) + "-" + part.cast(pl.String).str.zfill(2)
        if "day" in names:
            day = _part(frame, names["day"], 31, path, where)
            _check_days(y, part, day, path, where)
            stamps, used = stamps + "-" + day.cast(pl.String).str.zfill(2), [*used, names["day"]]
        if "quarter" in names:
            quarter = _part(frame, names["quarter"], 4, path, where)
            wrong = quarter != (part - 1) // 3 + 1
            if wrong.any():
                i = wrong.arg_true()[0]
                raise DataError(f"{path}, {where(i)}: column '{names['quarter']}': quarter "
                                f"{quarter[i]} but month {part[i]}")  # fmt: skip
            used.append(names["quarter"])
    return stamps.alias(time), tuple(used), "time (" + " + ".join(f"'{c}'" for c in used) + ")"


def _check_days(year: pl.Series, month: pl.Series, day: pl.Series, path: Path, where) -> None:
    """A DataError at the first row whose day its month does not have (2021-02-29)."""
    for i, (y, m, d) in enumerate(zip(year, month, day, strict=True)):
        if d > calendar.monthrange(y, m)[1]:
            raise DataError(f"{path}, {where(i)}: {y}-{m:02d}-{d:02d} is not a date")
