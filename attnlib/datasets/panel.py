"""A long table of many series: an ``id`` column that repeats, one row per series and time
step (tsfresh's and sktime's long layout, and what a query over a table of readings
returns). Each id is one series, its rows in time order; a ``label`` column is its class,
the same on each of its rows. Such a table is read as series to classify, as the UCR
layout is; a long table whose ids do not repeat (or that has none) is one series to
forecast (:func:`attnlib.datasets.series.read_long`)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl

from attnlib.datasets import series
from attnlib.datasets.calendar import calendar_stamps
from attnlib.datasets.tables import as_text, fail_first, optional_columns
from attnlib.errors import DataError

log = logging.getLogger(__name__)


def _named(frame: pl.DataFrame, name: str) -> str | None:
    """The column called ``name`` in any case (``ID``, ``Label``), if any."""
    return next((c for c in frame.columns if c.strip().lower() == name), None)


def is_panel(frame: pl.DataFrame) -> bool:
    """A long table of several series: an ``id`` column with 2 or more values, some of
    them on more than one row."""
    column = _named(frame, "id")
    return column is not None and 1 < frame[column].n_unique() < frame.height


def read_long(frame: pl.DataFrame, path: Path, where) -> pl.DataFrame:
    """A long table: many series to classify when its ids repeat (:func:`read_panel`),
    else one series to forecast (:func:`attnlib.datasets.series.read_long`)."""
    return (
        read_panel(frame, path, where) if is_panel(frame) else series.read_long(frame, path, where)
    )


def note(frame: pl.DataFrame) -> str:
    """What a long table read as, for the read line: its series when it was a panel."""
    many = isinstance(frame.schema.get("values"), pl.List)
    return f"; {frame.height:,} series: its ids repeat, one series per id" if many else ""


def read_panel(frame: pl.DataFrame, path: Path, where) -> pl.DataFrame:
    """One series per id (``id``, ``values`` time x channels, ``label``, ``split``): the
    value columns are every column but the id, the time (and the calendar columns joined
    to it), ``label`` and ``split``.

    Raises:
        DataError: a missing id or time, a time that repeats within an id, a value that is
            not a number, a label or split that changes within an id (each at its row).
    """
    id_column = _named(frame, "id")
    time = series.time_column(frame.columns)
    if time is None:
        raise DataError(f"{path}: a long table needs a time column named one of "
                        f"{series.TIME_NAMES}")  # fmt: skip
    times, parts, what = calendar_stamps(frame, time, path, where)
    times = as_text(frame[time], path, time) if times is None else times
    fail_first(times.is_null(), path, where, f"missing time in '{time}'")
    ids = as_text(frame[id_column], path, id_column)
    fail_first(ids.is_null(), path, where, f"missing id in '{id_column}'")
    meta = {"label": _named(frame, "label"), "split": _named(frame, "split")}
    skip = {id_column, *parts, *filter(None, meta.values())}
    channels = [c for c in frame.columns if c not in skip]
    if not channels:
        raise DataError(f"{path}: no value column beside '{id_column}' and '{time}'")
    values = np.column_stack([series.numeric_channel(frame, c, path, where) for c in channels])
    rows = _ordered_rows(ids, times, path, where, what)
    firsts = [int(r[0]) for r in rows]
    by_series = pl.DataFrame({"id": ids.gather(firsts)})
    for role, column in meta.items():
        if column is not None:
            cells = as_text(frame[column], path, column)
            _same_within(cells, ids, path, where, role)
            by_series = by_series.with_columns(cells.gather(firsts).alias(role))
    extra = optional_columns(by_series, path, lambda i: where(firsts[i]))
    labels = next((c for c in extra if c.name == "label"), None)
    split = next((c for c in extra if c.name == "split"), None)
    lengths = [len(r) for r in rows]
    log.info("%s: %d series of %d-%d steps in %d channel(s) ('%s' repeats: one series per "
             "id, its rows in %s order)", path, len(rows), min(lengths), max(lengths),
             len(channels), id_column, what)  # fmt: skip
    return series.series_frame(
        by_series["id"].to_list(),
        [values[r] for r in rows],
        None if labels is None else [series.class_label(x) for x in labels],
        None if split is None else split.to_list(),
    )


def _ordered_rows(ids: pl.Series, times: pl.Series, path: Path, where,
                  what: str) -> list[np.ndarray]:  # fmt: skip
    """Each id's rows (ids in the order they first appear), in time order: by the times
    read as numbers or dates, else as the file has them; a time that repeats within an id
    is an error naming both rows."""
    parsed = series.read_times(times)
    key = parsed if parsed is not None and not parsed.null_count() else times
    table = pl.DataFrame({"id": ids, "key": key}).with_row_index("row")
    repeated = ~table.select(pl.struct("id", "key").is_first_distinct()).to_series()
    if repeated.any():
        i = int(repeated.arg_true()[0])
        earlier = int(((table["id"] == ids[i]) & (table["key"] == key[i])).arg_true()[0])
        raise DataError(f"{path}, {where(i)}: {what} '{times[i]}' repeats {where(earlier)} "
                        f"for id '{ids[i]}' (one row per series and time step)")  # fmt: skip
    table = table.with_columns(pl.col("row").min().over("id").alias("first"))
    if key is times:  # names, not times: the file's order
        table = table.with_columns(pl.col("row").alias("key"))
    groups = table.sort(["first", "key"]).group_by("first", maintain_order=True).agg("row")
    return [np.asarray(r, dtype=np.int64) for r in groups["row"].to_list()]


def _same_within(cells: pl.Series, ids: pl.Series, path: Path, where, role: str) -> None:
    """A label or split is one per series: a row that differs from its id's first row is
    an error naming both."""
    table = pl.DataFrame({"id": ids, "cell": cells}).with_row_index("row")
    table = table.with_columns(pl.col("cell", "row").first().over("id").name.suffix("_first"))
    differs = table.select(pl.col("cell").ne_missing(pl.col("cell_first"))).to_series()
    if differs.any():
        i = int(differs.arg_true()[0])
        first, at = table["cell_first"][i], int(table["row_first"][i])

        def shown(cell):
            return "missing" if cell is None else f"'{cell}'"

        raise DataError(f"{path}, {where(i)}: {role} {shown(cells[i])} differs from "
                        f"{shown(first)} at {where(at)}, the same id's first row (one {role} "
                        "per series)")  # fmt: skip
