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
    the order they first appear in). A column the same for every id at each time (a
    holiday flag, the weather) is one column under its own name; one that never changes
    within an id (a store's size: an attribute of the series) is left out, with a warning,
    beside columns that do change.

    Raises:
        DataError: a missing id or time, a value that is not a number, a time that repeats
            within an id or (names) comes in another order, a time not every id has, two
            columns that would have one name (each at its line).
    """
    time = series.time_column(frame.columns)
    times, parts, what = calendar_stamps(frame, time, path, where)
    times = as_text(frame[time], path, time) if times is None else times
    fail_first(times.is_null(), path, where, f"missing time in '{time}'")
    ids = as_text(frame["id"], path, "id")
    fail_first(ids.is_null(), path, where, "missing id in 'id'")
    if index := [c for c in series.saved_index(frame.columns) if c not in parts]:
        log.info("%s: column(s) %s: pandas' saved index, not a value", path, index)
    values = [c for c in frame.columns if c not in {"id", *parts, "split", *index}]
    if not values:
        raise DataError(f"{path}: no value column beside column 'id' and column '{time}'")
    key, named = _key(times, path, where, what)
    rows = pl.DataFrame({"id": ids, "key": key, "time": times}).with_row_index("row")
    _one_row_each(rows, named, path, where, what)
    clock = rows.group_by("key", maintain_order=True).agg(pl.col("time").first()).sort("key")
    order = ids.unique(maintain_order=True)
    _every_time(rows, clock, order, path, where, what)
    cells = {c: series.numeric_channel(frame, c, path, where) for c in values}
    shared, static = _kinds(rows, cells)
    if static:
        log.warning("%s: column(s) %s never change within an id (attributes of the series, "
                    "not series): left out", path, static)  # fmt: skip
    out, made = clock.select("key", "time"), []
    for column in (c for c in values if c not in static):
        if column in shared:  # one column: every id's value at each time is the same
            first = rows.select("key", cells[column].alias(column)).unique("key", keep="first")
            out, made = out.join(first, on="key", how="left"), [*made, (column, column, None)]
            continue
        name = pl.concat_str(pl.lit(f"{column}_"), "id").alias("name")  # never 'key'
        wide = rows.select(name, "key", cells[column].alias("v"))
        out = out.join(wide.pivot(on="name", index="key", values="v"), on="key", how="left")
        made += [(f"{column}_{i}", column, i) for i in order]
    _distinct(made, path)
    names = [name for name, _, _ in made]
    if len(names) > WIDE_WARNING:
        log.warning("%s: %d series on one clock make %d channels, all read at every step; "
                    "forecast a few related series together (a file of fewer ids)", path,
                    len(order), len(names))  # fmt: skip
    out = out.select("time", *names)
    log.info("%s: %d series by id on one clock, %d steps: %d columns", path, len(order),
             out.height, len(names))  # fmt: skip
    return series.read_long(out, path, lambda i: f"{what} '{out['time'][i]}'")


def _kinds(rows: pl.DataFrame, cells: dict[str, pl.Series]) -> tuple[list[str], list[str]]:
    """The value columns shared by every id (the same at each time) and those static
    within each id (left out beside some that change)."""
    table = rows.select("id", "key", *(v.alias(c) for c, v in cells.items()))
    many = table["id"].n_unique() > 1
    shared = [
        c for c in cells if many and table.group_by("key").agg(pl.col(c).n_unique())[c].max() == 1
    ]
    static = [c for c in cells if c not in shared and
              table.group_by("id").agg(pl.col(c).n_unique())[c].max() == 1]  # fmt: skip
    return shared, static if len(static) < len(cells) - len(shared) else []


def _distinct(made: list[tuple[str, str, str | None]], path: Path) -> None:
    """Two columns that would have one name (column ``a`` of id ``b_c``, ``a_b`` of ``c``)
    are an error naming both; ``made``: (name, column, id or None for a shared column)."""
    seen: dict[str, str] = {}
    for name, column, of in made:
        source = f"column '{column}'" + (f" of id '{of}'" if of is not None else "")
        if name in seen:
            raise DataError(f"{path}: {seen[name]} and {source} would both be column "
                            f"'{name}'; rename a column or an id")  # fmt: skip
        seen[name] = source


def _key(times: pl.Series, path: Path, where, what: str) -> tuple[pl.Series, bool]:
    """The order of the clock, and whether the times are names: the times read as numbers
    or dates, or (names) the order each first appears in; one time that does not read
    like the others is an error."""
    parsed = series.read_times(times)
    if parsed is None:
        first = times.unique(maintain_order=True)
        return times.replace_strict(first, pl.int_range(len(first), eager=True)), True
    if parsed.null_count():
        i, like = parsed.is_null().arg_true()[0], parsed.is_not_null().arg_true()[0]
        kind = "number" if parsed.dtype.is_numeric() else "date"
        raise DataError(f"{path}, {where(i)}: {what} '{times[i]}' is not a {kind} like the "
                        f"others ({times[like]})")  # fmt: skip
    return parsed, False


def _one_row_each(rows: pl.DataFrame, named: bool, path: Path, where, what: str) -> None:
    """One row per id and time (as read: ``1`` and ``1.0`` are one), and for times that
    are ``named`` (``key``: the order each first appears in) each id's in that order; else
    an error naming the line."""
    repeated = ~rows.select(pl.struct("id", "key").is_first_distinct()).to_series()
    if repeated.any():
        i = int(repeated.arg_true()[0])
        same = (rows["id"] == rows["id"][i]) & (rows["key"] == rows["key"][i])
        raise DataError(f"{path}, {where(i)}: {what} '{rows['time'][i]}' repeats "
                        f"{where(int(same.arg_true()[0]))} for id '{rows['id'][i]}' (one row "
                        "per series and time step)")  # fmt: skip
    if named:
        back = rows.select((pl.col("key").diff().over("id") < 0).fill_null(False)).to_series()
        if back.any():
            i = int(back.arg_true()[0])
            raise DataError(f"{path}, {where(i)}: {what} '{rows['time'][i]}' of id "
                            f"'{rows['id'][i]}' comes in another order than on earlier lines "
                            "(times that are names are taken in the order they come)")  # fmt: skip


def _every_time(rows: pl.DataFrame, clock: pl.DataFrame, order: pl.Series, path: Path, where,
                what: str) -> None:  # fmt: skip
    """Each id has a row at each time of the clock, or an error: a time only a few ids
    have (at most half) is named at its line; else an id and a time it lacks."""
    held = rows.group_by("key").agg(pl.len(), pl.col("row").min()).sort(["len", "row"])
    if held["len"][0] == len(order):
        return
    rare, line = held["key"][0], int(held["row"][0])
    stamp = rows["time"][line]
    if held["len"][0] <= len(order) / 2:
        few = rows.filter(pl.col("key") == rare)["id"].to_list()
        raise DataError(f"{path}, {where(line)}: {what} '{stamp}' is only for {len(few)} of "
                        f"{len(order)} ids ({', '.join(map(repr, few[:3]))}); the series on one "
                        "clock each need a row at every time")  # fmt: skip
    lacking = order.filter(~order.is_in(rows.filter(pl.col("key") == rare)["id"].implode()))[0]
    first = int(rows.filter(pl.col("id") == lacking)["row"][0])
    raise DataError(f"{path}, {where(first)}: id '{lacking}' has no row at {what} '{stamp}' "
                    f"({len(order)} series on one clock of {clock.height} times, each with a "
                    "row at every time; a table of series to classify has a label "
                    "column)")  # fmt: skip
