"""Many series on one clock, to forecast together: a long table with an ``id`` column
beside its time column, one row per series and time step, no label, its times repeating
(``unique_id, ds, y``: the layout of Nixtla's statsforecast and neuralforecast, darts'
``from_group_dataframe`` and pytorch-forecasting's ``group_ids``; what a query over a table
of readings returns). It is read as one table, one value column per series and value:
``y_H1, y_H2`` ..., each an input channel and, by default, a target, so the forecaster
learns the series jointly. Every id must have a row at every time. A table with a label
is series to classify instead (:mod:`attnlib.datasets.panel`)."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from attnlib.datasets import series
from attnlib.datasets.calendar import calendar_stamps
from attnlib.datasets.tables import as_text, fail_first
from attnlib.errors import DataError

log = logging.getLogger(__name__)

WIDE_WARNING = 64  # more channels than this: a warning (the model reads all at each step)


def note(frame: pl.DataFrame) -> str:
    """The read line's note for a frame with known names that reads as series on a clock."""
    return f"; {frame['id'].n_unique():,} series by id on one clock, a column each"


def read_clock(frame: pl.DataFrame, path: Path, where) -> pl.DataFrame:
    """One long table (``time`` and Float64 value columns, :func:`series.read_long`'s
    output) from many series on one clock, in a frame with known names. A value column
    ``v`` of id ``a`` becomes ``v_a``; the columns follow the ids in the order they first
    appear, the rows the times read as numbers or dates (or, for times that are names,
    the order they first appear in).

    Raises:
        DataError: a missing id or time, a value that is not a number, a time that repeats
            within an id, an id without a row at some time (each at its line).
    """
    time = series.time_column(frame.columns)
    times, parts, what = calendar_stamps(frame, time, path, where)
    times = as_text(frame[time], path, time) if times is None else times
    fail_first(times.is_null(), path, where, f"missing time in '{time}'")
    ids = as_text(frame["id"], path, "id")
    fail_first(ids.is_null(), path, where, "missing id in 'id'")
    skip = {"id", *parts, "split", *series.saved_index(frame.columns)}
    values = [c for c in frame.columns if c not in skip]
    if not values:
        raise DataError(f"{path}: no value column beside column 'id' and column '{time}'")
    key = _key(times, path, where, what)
    rows = pl.DataFrame({"id": ids, "key": key, "time": times}).with_row_index("row")
    repeated = ~rows.select(pl.struct("id", "key").is_first_distinct()).to_series()
    if repeated.any():
        i = int(repeated.arg_true()[0])
        first = int(((rows["id"] == ids[i]) & (rows["key"] == key[i])).arg_true()[0])
        raise DataError(f"{path}, {where(i)}: {what} '{times[i]}' repeats {where(first)} for id "
                        f"'{ids[i]}' (one row per series and time step)")  # fmt: skip
    clock = rows.group_by("key", maintain_order=True).agg(pl.col("time").first()).sort("key")
    order = ids.unique(maintain_order=True)
    _every_time(rows, clock, order, path, where, what)
    out = clock.select("key", "time")
    for column in values:
        cells = series.numeric_channel(frame, column, path, where)
        name = pl.concat_str(pl.lit(f"{column}_"), "id").alias("name")  # never 'key'
        wide = rows.select(name, "key", cells.alias("v")).pivot(on="name", index="key", values="v")
        out = out.join(wide, on="key", how="left")
    names = [f"{c}_{i}" for c in values for i in order]
    out = out.select("time", *names)
    if len(names) > WIDE_WARNING:
        log.warning("%s: %d series x %d value column(s) on one clock make %d channels, all "
                    "read at every step; forecast a few series together, or fewer ids at a "
                    "time", path, len(order), len(values), len(names))  # fmt: skip
    log.info("%s: %d series by id on one clock, %d steps: one column per series and value",
             path, len(order), out.height)  # fmt: skip
    return series.read_long(out, path, lambda i: f"{what} '{out['time'][i]}'")


def _key(times: pl.Series, path: Path, where, what: str) -> pl.Series:
    """The order of the clock: the times read as numbers or dates, or (names) the order
    each first appears in; one time that does not read like the others is an error."""
    parsed = series.read_times(times)
    if parsed is None:
        first = times.unique(maintain_order=True)
        return times.replace_strict(first, pl.int_range(len(first), eager=True))
    if parsed.null_count():
        i, like = parsed.is_null().arg_true()[0], parsed.is_not_null().arg_true()[0]
        kind = "number" if parsed.dtype.is_numeric() else "date"
        raise DataError(f"{path}, {where(i)}: {what} '{times[i]}' is not a {kind} like the "
                        f"others ({times[like]})")  # fmt: skip
    return parsed


def _every_time(rows: pl.DataFrame, clock: pl.DataFrame, order: pl.Series, path: Path, where,
                what: str) -> None:  # fmt: skip
    """Each id has a row at each time of the clock, or an error names an id and a time it
    lacks (and the id's first line)."""
    counts = rows.group_by("id", maintain_order=True).len()
    short = counts.filter(pl.col("len") < clock.height)
    if short.height:
        name = short["id"][0]
        have = rows.filter(pl.col("id") == name)
        missing = clock.filter(~pl.col("key").is_in(have["key"].implode()))["time"][0]
        line = int(have["row"][0])
        raise DataError(f"{path}, {where(line)}: id '{name}' has no row at {what} '{missing}' "
                        f"({len(order)} series on one clock of {clock.height} times, each "
                        "with a row at every time; a table of series to classify has a "
                        "label column)")  # fmt: skip
