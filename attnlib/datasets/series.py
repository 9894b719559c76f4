"""Readers for numeric files: UCR-layout series and long tables for forecasting.

Numeric series (classification) come out as ``id: str``, ``values: list<list<f32>>``
(time x channels), optional ``label: str`` and ``split: str``. A long table (forecasting)
comes out as ``time: str`` plus one Float64 column per channel, in time order.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from attnlib import errors
from attnlib.datasets import gaps
from attnlib.datasets.calendar import calendar_stamps
from attnlib.datasets.tables import (
    TIME_NAMES,
    UNNAMED_INDEX,
    as_lists,
    as_text,
    fail_first,
    ids_column,
    optional_columns,
    unnamed_run,
)
from attnlib.datasets.times import check_time_order
from attnlib.errors import DataError

log = logging.getLogger(__name__)
F32_MAX = float(np.finfo(np.float32).max)  # larger values would become inf in float32
SERIES_SCHEMA = {"id": pl.String, "values": pl.List(pl.List(pl.Float32))}
# advice for a long table that is many series (worded so roles.named_back leaves it as is)
_MANY = ("a table of many series names each row's series in an id column ('id', or the one "
         "ingest.id_column / --id-column names)")  # fmt: skip


def series_frame(
    ids: Sequence[str],
    values: Sequence[np.ndarray],
    labels: Sequence[str] | None = None,
    split: Sequence[str] | None = None,
) -> pl.DataFrame:
    """A numeric-series frame from arrays, each (T_i, C) with the same C."""
    data = {"id": list(ids), "values": [np.asarray(v, dtype=np.float32).tolist() for v in values]}
    schema = dict(SERIES_SCHEMA)
    if labels is not None:
        data["label"], schema["label"] = [str(x) for x in labels], pl.String
    if split is not None:
        data["split"], schema["split"] = list(split), pl.String
    return pl.DataFrame(data, schema=schema)


def class_label(text: str) -> str:
    """``'1.0000e+00'`` -> ``'1'``: numeric class labels written as floats become integers."""
    try:
        value = float(text)
    except ValueError:
        return text
    return str(int(value)) if value.is_integer() else text


def read_ucr(path: Path, text: str) -> pl.DataFrame:
    """UCR layout: no header; per line a label, then one value per time step.

    Fields are separated by tabs, commas or spaces (:data:`UCR_SEP`). Trailing ``NaN``
    values (how the UCR archive pads variable-length series) are dropped; one inside a
    series, or an empty field between two tabs or commas, is a gap
    (:mod:`attnlib.datasets.gaps`).
    """
    ids, values, labels = [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = _fields(line)
        if not fields:
            raise DataError(f"{errors.where(path, row=number)}empty line")
        if not fields[0]:
            raise DataError(f"{errors.where(path, row=number)}missing label (the first field)")
        if len(fields) < 2:
            raise DataError(
                f"{errors.where(path, row=number)}a label and at least one value expected"
            )
        series = fields[1:]
        while series and series[-1].lower() in MISSING:
            series.pop()
        column = float32_values(series, errors.where(path, row=number))
        ids.append(f"line{number}")
        values.append(column[:, None])  # (T, 1)
        labels.append(class_label(fields[0].strip('"')))  # R's write.table quotes it
    fractional = next((x for x in labels if is_number(x) and not float(x).is_integer()), None)
    if fractional is not None:
        log.warning("%s: class labels such as '%s' are not whole numbers (%d distinct): a UCR "
                    "row's first field is its class; if line 1 is a header or the class is "
                    "elsewhere, give a 'label' column (ingest.format wide)", path, fractional,
                    len(set(labels)))  # fmt: skip
    return series_frame(ids, values, labels)


# a UCR row's separators: each tab or comma (spaces around it included), or a run of
# spaces; an empty field between two tabs or commas is a missing value ("")
UCR_SEP = re.compile(r" *[\t,] *| +")
MISSING = ("", "?", "nan", "+nan", "-nan")  # a missing value as a series' files write it


def _fields(line: str) -> list[str]:
    """A UCR row's fields (:data:`UCR_SEP`; a tab that starts the line leaves the label
    empty, one that ends it, padding)."""
    text = line.strip(" \r\n")
    return UCR_SEP.split(text) if text.strip() else []


def is_number(text: str) -> bool:
    """Whether ``float()`` reads ``text`` (NaN and inf included)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def float32_values(fields: Sequence[str], at: str, series: str = "") -> np.ndarray:
    """One series' fields as float32 values, checked: every error starts with ``at``
    (the file and row) and names the field that is not a number or infinite, or too large
    for float32 (it would become inf). A missing value (``NaN``, or ``?`` as ``.ts`` and
    ARFF files write it) is filled or refused by :func:`attnlib.datasets.gaps.filled`
    (``series``: the series a channel's fields belong to, as it counts them)."""
    if not fields:
        raise DataError(f"{at}no values in the series")
    try:
        out = np.asarray([np.nan if f.lower() in MISSING else float(f) for f in fields],
                         dtype=np.float64)  # fmt: skip
    except ValueError:
        bad = next(f for f in fields if f.lower() not in MISSING and not is_number(f))
        raise DataError(f"{at}value '{bad}' is not a number") from None
    out = gaps.filled(out, at, series=series)
    if (np.abs(out) > F32_MAX).any():
        bad = fields[int(np.abs(out).argmax())]
        raise DataError(f"{at}value '{bad}' is too large (float32)")
    return out.astype(np.float32)


def aligned_channels(parts: Sequence[Sequence[str]], at: str, name) -> list[np.ndarray]:
    """A series' channels from their fields (one list per channel; ``name(c)`` says where
    channel c is: ``"channel 2: "``). Missing values (:data:`MISSING`) after the last step
    any channel knows are padding, dropped; each channel is then that long (one with fewer
    fields is an error) and its other missing values are gaps (:func:`float32_values`)."""
    parts = [[f.strip() for f in p] for p in parts]
    known = [max((i + 1 for i, f in enumerate(p) if f.lower() not in MISSING), default=0)
             for p in parts]  # fmt: skip
    length = max(known, default=0)
    if 0 in known:  # nothing to fill a channel from
        raise DataError(f"{at}{name(known.index(0))}no values (only ? padding)")
    if any(len(p) < length for p in parts):
        lengths = [len(p) for p in parts]
        raise DataError(f"{at}the channels have different lengths {lengths}; a series' channels "
                        "must align")  # fmt: skip
    return [float32_values(p[:length], f"{at}{name(c)}", series=at) for c, p in enumerate(parts)]


TRANSPOSED = ("; if these are arrays in aeon / sktime's numpy layout, channels x time, "
              "transpose them (np.swapaxes(X, 1, 2))")  # fmt: skip


def normalise_series_table(frame: pl.DataFrame, path: Path, where) -> pl.DataFrame:
    """A Parquet table whose ``values`` column holds one series per row.

    ``values`` is list<float> (one channel) or list<list<float>> (time x channels).
    """
    if frame.height == 0:
        raise DataError(f"{path}: no rows")
    values = as_lists(frame["values"])
    inner = values.dtype.inner if isinstance(values.dtype, pl.List) else None
    if isinstance(inner, pl.List) and inner.inner.is_numeric():
        nested = values.cast(pl.List(pl.List(pl.Float32)))
    elif isinstance(values.dtype, pl.List) and values.dtype.inner.is_numeric():
        nested = values.cast(pl.List(pl.Float32)).list.eval(pl.concat_list(pl.element()))
    else:
        raise DataError(f"{path}: column 'values' must hold numeric lists, not {values.dtype}")
    rows = nested.to_list()
    width = None
    for i, series in enumerate(rows):
        if not series:
            raise DataError(f"{path}, {where(i)}: empty series")
        if any(step is None for step in series):
            raise DataError(f"{path}, {where(i)}: missing time step in 'values'")
        widths = {len(step) for step in series}
        if widths == {0}:
            raise DataError(f"{path}, {where(i)}: time steps without values in 'values'")
        if len(widths) > 1:
            raise DataError(f"{path}, {where(i)}: ragged time steps in 'values' (each step "
                            "holds one value per channel)")  # fmt: skip
        channels = widths.pop()
        if width is not None and channels != width:
            hint = TRANSPOSED if len(series) == len(rows[0]) else ""
            raise DataError(f"{path}, {where(i)}: {channels} channels, row 1 has {width}{hint}")
        width = channels
    # a null or NaN: filled (or refused); inf: refused
    nested = gaps.filled_column(nested, lambda i: f"{path}, {where(i)}: 'values', ")
    if width > 1 and all(len(series) < width for series in rows):
        log.warning("%s: every series has fewer time steps than channels (%d); 'values' is "
                    "read as time x channels%s", path, width, TRANSPOSED)  # fmt: skip
    cols = [ids_column(frame, path, where), nested.alias("values")]
    return pl.DataFrame([*cols, *optional_columns(frame, path, where)])


def time_column(columns: Sequence[str]) -> str | None:
    """The column whose name says it is time, if any; by :data:`TIME_NAMES`' order, so a
    ``date`` column wins over an ``hour`` of the day beside it."""
    names = {name.strip().lower(): name for name in reversed(columns)}  # the first of a name
    return next((names[n] for n in TIME_NAMES if n in names), None)


def saved_index(columns: Sequence[str], path: object, keep: Sequence[str] = ()) -> list[str]:
    """pandas' index saved beside a long table's columns, no value (logged; ``keep``: the
    columns that are the time): ``to_csv``'s unnamed first columns, ``Unnamed: 0`` ...
    (those once pandas read them back; a file saved twice has both:
    :func:`attnlib.datasets.tables.unnamed_run`) and ``to_parquet``'s ``__index_level_0__``.
    A named index (``index``, ``level_0``, ``row``) may be a time or a value, so it is
    kept."""
    saved = index_names(columns)
    return note_index(path, [c for c in columns if c in saved and c not in keep])


def index_names(columns: Sequence[str]) -> set[str]:
    """The columns of ``columns`` that are pandas' saved index in a long table: the leading
    unnamed run (:func:`attnlib.datasets.tables.unnamed_run`), ``Unnamed: 0`` and
    ``__index_level_0__`` wherever they stand."""
    return {*unnamed_run(columns), *UNNAMED_INDEX} & set(columns)


def note_index(path: object, index: list[str]) -> list[str]:
    """``index``, the columns left out as pandas' saved index, logged."""
    if index:
        log.info("%s: column(s) %s: pandas' saved index, not a value", path, index)
    return index


def read_long(frame: pl.DataFrame, path: Path, where, ids: str = "") -> pl.DataFrame:
    """A long table: a time column plus numeric value columns, one row per time step
    (``ids``: why the ``id`` column it had, left out, made no table of many series).

    Returns ``time: str`` and one Float64 column per channel, checked: no missing or
    non-numeric value, no repeated time; rows must already be in time order.
    """
    if frame.height == 0:
        raise DataError(f"{path}: no rows")
    time = time_column(frame.columns)
    if time is None:
        raise DataError(f"{path}: a long table needs a time column named one of {TIME_NAMES}")
    times, parts, label = calendar_stamps(frame, time, path, where)
    index = saved_index(frame.columns, path, parts)
    channels = [c for c in frame.columns if c not in (*parts, "id", "split", *index)]
    if not channels:
        beside = " + ".join(f"'{c}'" for c in parts)
        raise DataError(f"{path}: no value column beside the time column{'s' * (len(parts) > 1)} "
                        f"{beside}")  # fmt: skip
    times = as_text(frame[time], path, time) if times is None else times
    fail_first(times.is_null(), path, where, f"missing time in '{time}'")
    repeated = ~times.is_first_distinct()
    if repeated.any():  # name the value, and the row it repeats
        i = repeated.arg_true()[0]
        first = (times == times[i]).arg_true()[0]
        raise DataError(
            f"{path}, {where(i)}: {label} '{times[i]}' repeats {where(first)} (one row per "
            f"time step; {_MANY})"
        )
    classes = "" if "label" in frame.columns else (", and its class in a label column ('label', "
                                                 "or the one ingest.label_column / "
                                                 "--label-column names)")  # fmt: skip
    hint = f"; every column but the time is a value: {ids or _MANY}{classes}"
    out = [times.alias("time"), *(numeric_channel(frame, c, path, where, hint) for c in channels)]
    check_time_order(times, path, where)
    return pl.DataFrame(out)


def numeric_channel(
    frame: pl.DataFrame, column: str, path: Path, where, names: str = "", gaps_ok: bool = False
) -> pl.Series:
    """A long table's value column as Float64, checked: no empty cell, nothing that is not
    a finite number (the first such cell named at its row; ``names`` added when most of
    the column's cells are words: a column of names, an id or a class, not a stray cell).
    ``gaps_ok`` (series to classify): an empty or NaN cell is kept as null, for the reader
    to fill once the series is together (:mod:`attnlib.datasets.gaps`), unless
    ``ingest.missing`` is ``error``."""
    col = frame[column]
    num = col.cast(pl.Float64, strict=False) if col.dtype == pl.String else col
    if not num.dtype.is_numeric():
        raise DataError(f"{path}: column '{column}' is not numeric ({col.dtype})")
    num = num.cast(pl.Float64)
    missing = col.is_null() | num.is_nan()
    words = num.is_null() & col.is_not_null()  # a cell that does not read as a number
    bad = words | num.is_infinite()
    if not (gaps_ok and gaps.mode() == "interpolate"):
        bad = bad | missing
    if bad.any():  # a column mostly of words: its first word is named
        many = col.dtype == pl.String and words.sum() > col.is_not_null().sum() / 2
        i = (words if many else bad).arg_true()[0]
        what = ("empty cell" if col[i] is None else f"missing value ('{col[i]}')" if missing[i]
                else f"'{col[i]}' is not a number")  # fmt: skip
        advice = f"; {gaps.SET_IT}" if gaps_ok and missing[i] else ""
        raise DataError(f"{path}, {where(i)}: column '{column}': {what}{names * many}{advice}")
    return num.fill_nan(None).alias(column)


def float32_channel(
    frame: pl.DataFrame, column: str, path: Path, where, gaps_ok: bool = False
) -> pl.Series:
    """A value column as checked numbers that fit float32 (larger would become inf); with
    ``gaps_ok``, missing cells as null (:func:`numeric_channel`)."""
    values = numeric_channel(frame, column, path, where, gaps_ok=gaps_ok)
    big = values.abs() > F32_MAX
    if big.any():
        i = int(big.arg_true()[0])
        raise DataError(f"{path}, {where(i)}: column '{column}': value '{frame[column][i]}' "
                        "is too large (float32)")  # fmt: skip
    return values
