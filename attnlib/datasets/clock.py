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
from attnlib.datasets.tables import as_text, fail_first, id_text
from attnlib.datasets.times import checked_times
from attnlib.errors import DataError

log = logging.getLogger(__name__)

WIDE_WARNING = 64  # more channels than this: a warning (the model reads all at each step)


def note(frame: pl.DataFrame) -> str:
    """The read line's note for a frame with known names that reads as series on a clock."""
    return f"; {frame['id'].n_unique():,} series by id on one clock, a column each"


def stamped(frame: pl.DataFrame, path: object, where) -> tuple:
    """A long table of many series' time column, its times as text (a repeating year
    joined with its month: :func:`calendar_stamps`), the columns they come from, what to
    call them in messages, and its ids as text; a missing time or id is an error at its
    line."""
    time = series.time_column(frame.columns)
    times, parts, what = calendar_stamps(frame, time, path, where)
    times = as_text(frame[time], path, time) if times is None else times
    fail_first(times.is_null(), path, where, f"missing time in '{time}'")
    ids = id_text(frame["id"], path)
    fail_first(ids.is_null(), path, where, "missing id in 'id'")
    return time, times, parts, what, ids


def reads_for(frame: pl.DataFrame, channels: tuple[str, ...], path: object) -> bool:
    """Whether a forecaster trained on ``channels`` reads a file like ``frame`` (known
    names) as series on one clock (:func:`read_clock`): it has an id and a time but none
    of the trained columns, and some column of some id makes a trained column's name (``y``
    of ``H1``: ``y_H1``). Ids that make none are named in a warning (they are read, not
    forecast).

    Raises:
        DataError: every trained column is a column of the file and an id, but none of
            the file's ids makes one (its ids named).
    """
    if not channels or "id" not in frame.columns or series.time_column(frame.columns) is None:
        return False
    if any(c in frame.columns for c in channels):
        return False  # the trained columns themselves: read as they are
    ids = _ids(frame, path)
    known, values = set(ids), [c for c in frame.columns if c != "id"]
    made = [[ch[len(c) + 1 :] for c in values if ch.startswith(f"{c}_")] for ch in channels]
    if any(i in known for rests in made for i in rests):
        trained = set(channels)
        if unknown := [i for i in ids if not any(f"{c}_{i}" in trained for c in values)]:
            log.warning("%s: id(s) %s are none of the forecaster's series: not forecast",
                        path, unknown[:5])  # fmt: skip
        return True
    if all(made):  # each trained column a value column and an id, none of the file's
        raise DataError(f"{path}: the forecaster was trained on columns {list(channels)[:6]}, "
                        f"series by id on one clock; the file's ids {ids[:5]} make none of "
                        "them")  # fmt: skip
    return False  # trained on other columns: the forecaster names those it lacks


def _ids(frame: pl.DataFrame, path: object) -> list[str]:
    """The file's ids, as read (:func:`id_text`), in the order they first appear."""
    return id_text(frame["id"], path).unique(maintain_order=True).drop_nulls().to_list()


def read_clock(frame: pl.DataFrame, path: Path, where) -> pl.DataFrame:
    """One long table (``time`` and Float64 value columns, :func:`series.read_long`'s
    output) from many series on one clock, in a frame with known names. A value column
    ``v`` of id ``a`` becomes ``v_a``; the columns follow the ids in the order they first
    appear, the rows the times read as numbers or dates (or, for times that are names,
    the order they first appear in). A column of text that never changes within an id (a
    store's type: an attribute of the series, pytorch-forecasting's static categoricals)
    is left out, with a warning; every other column is numbers. The columns follow from
    the file's layout alone, never from its values, so the same layout always makes the
    same columns (a forecaster reads the columns it was trained on).

    Raises:
        DataError: a missing id or time, a value that is not a number, a time that repeats
            within an id or (names) comes in another order, a time not every id has, two
            columns that would have one name (each at its line).
    """
    time, times, parts, what, ids = stamped(frame, path, where)
    index = series.saved_index(frame.columns, path, parts)
    if "split" in frame.columns:
        log.warning("%s: column 'split' is not read: series to forecast are split in time "
                    "(encode.val / encode.test)", path)  # fmt: skip
    values = [c for c in frame.columns if c not in {"id", *parts, "split", *index}]
    if attributes := _attributes(frame, values, ids):
        log.warning("%s: column(s) %s: text that never changes within an id (attributes of "
                    "the series, not series) is left out; if one is each series' class, "
                    "name it 'label' (or give ingest.label_column) to classify them", path,
                    attributes)  # fmt: skip
        values = [c for c in values if c not in attributes]
    if not values:
        raise DataError(f"{path}: no value column beside column 'id' and column '{time}'")
    key, named = times_key(times, path, where, what)
    rows = pl.DataFrame({"id": ids, "key": key, "time": times}).with_row_index("row")
    one_row_each(rows, named, path, where, what)
    clock = rows.group_by("key", maintain_order=True).agg(pl.col("time").first()).sort("key")
    order = ids.unique(maintain_order=True)
    _every_time(rows, clock, order, path, where, what)
    out, made = clock.select("key", "time"), []
    for column in values:
        cells = series.numeric_channel(frame, column, path, where)
        name = pl.concat_str(pl.lit(f"{column}_"), "id").alias("name")  # never 'key'
        wide = rows.select(name, "key", cells.alias("v"))
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


def _attributes(frame: pl.DataFrame, values: list[str], ids: pl.Series) -> list[str]:
    """The value columns of text (some cell not a number) that never change within an id."""
    out = []
    for column in values:
        cells = frame[column]
        if isinstance(cells.dtype, pl.Categorical | pl.Enum):  # pandas' category: text
            cells = cells.cast(pl.String)
        if cells.dtype != pl.String or not (cells.cast(pl.Float64, strict=False).is_null() &
                                            cells.is_not_null()).any():  # fmt: skip
            continue
        pairs = pl.DataFrame({"id": ids, "cell": cells})
        if pairs.group_by("id").agg(pl.col("cell").n_unique())["cell"].max() == 1:
            out.append(column)
    return out


def _distinct(made: list[tuple[str, str, str]], path: Path) -> None:
    """Two columns that would have one name (column ``a`` of id ``b_c``, ``a_b`` of ``c``)
    are an error naming both; ``made``: (name, column, id)."""
    seen: dict[str, str] = {}
    for name, column, of in made:
        source = f"column '{column}' of id '{of}'"
        if name in seen:
            raise DataError(f"{path}: {seen[name]} and {source} would both be column "
                            f"'{name}'; rename a column or an id")  # fmt: skip
        seen[name] = source


def times_key(times: pl.Series, path: Path, where, what: str) -> tuple[pl.Series, bool]:
    """The order of the clock, and whether the times are names: the times read as numbers
    or dates, or (names) the order each first appears in; one time that does not read
    like the others is an error."""
    parsed = checked_times(times, path, where, what)
    if parsed is None:
        first = times.unique(maintain_order=True)
        return times.replace_strict(first, pl.int_range(len(first), eager=True)), True
    return parsed, False


def one_row_each(rows: pl.DataFrame, in_order: bool, path: Path, where, what: str) -> None:
    """One row per id and time (``rows``: ``id``, ``key`` from :func:`times_key`, ``time``;
    as read, ``1`` and ``1.0`` are one), and with ``in_order`` (times that are names, on one
    clock) each id's times in the order they first come; else an error naming the line."""
    repeated = ~rows.select(pl.struct("id", "key").is_first_distinct()).to_series()
    if repeated.any():
        i = int(repeated.arg_true()[0])
        same = (rows["id"] == rows["id"][i]) & (rows["key"] == rows["key"][i])
        raise DataError(f"{path}, {where(i)}: {what} '{rows['time'][i]}' repeats "
                        f"{where(int(same.arg_true()[0]))} for id '{rows['id'][i]}' (one row "
                        "per series and time step)")  # fmt: skip
    if in_order:
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
