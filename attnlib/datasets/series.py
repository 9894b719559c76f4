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
from attnlib.datasets.calendar import calendar_stamps
from attnlib.datasets.tables import (
    TIME_NAMES,
    as_lists,
    as_text,
    fail_first,
    ids_column,
    optional_columns,
    unnamed_run,
)
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

    Fields are separated by tabs, commas or spaces. Trailing ``NaN`` values (how the UCR
    archive pads variable-length series) are dropped; a NaN inside a series is an error.
    """
    ids, values, labels = [], [], []
    for number, line in enumerate(text.splitlines(), start=1):
        fields = [f for f in re.split(r"[\t, ]+", line.strip()) if f]
        if not fields:
            raise DataError(f"{errors.where(path, row=number)}empty line")
        if len(fields) < 2:
            raise DataError(
                f"{errors.where(path, row=number)}a label and at least one value expected"
            )
        series = fields[1:]
        while series and series[-1].lower().lstrip("+-") == "nan":
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


def is_number(text: str) -> bool:
    """Whether ``float()`` reads ``text`` (NaN and inf included)."""
    try:
        float(text)
    except ValueError:
        return False
    return True


def float32_values(fields: Sequence[str], at: str) -> np.ndarray:
    """One series' fields as float32 values, checked: every error starts with ``at``
    (the file and row) and names the field that is not a number, missing or infinite,
    or too large for float32 (it would become inf)."""
    if not fields:
        raise DataError(f"{at}no values in the series")
    try:
        out = np.asarray([float(f) for f in fields], dtype=np.float64)
    except ValueError:
        bad = next(f for f in fields if not is_number(f))
        raise DataError(f"{at}value '{bad}' is not a number") from None
    if not np.isfinite(out).all():
        raise DataError(f"{at}missing (NaN) or infinite value in the series")
    if (np.abs(out) > F32_MAX).any():
        bad = fields[int(np.abs(out).argmax())]
        raise DataError(f"{at}value '{bad}' is too large (float32)")
    return out.astype(np.float32)


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
        arr = np.asarray(series, dtype=np.float32) if len(widths) == 1 else None
        if arr is None or not np.isfinite(arr).all():
            raise DataError(f"{path}, {where(i)}: missing, ragged or non-finite value in 'values'")
        if width is not None and arr.shape[1] != width:
            hint = TRANSPOSED if len(series) == len(rows[0]) else ""
            raise DataError(f"{path}, {where(i)}: {arr.shape[1]} channels, row 1 has {width}{hint}")
        width = arr.shape[1]
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
    saved = {*unnamed_run(columns), "__index_level_0__"}
    return note_index(path, [c for c in columns if c in saved and c not in keep])


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
    label = "" if "label" in frame.columns else (", and its class in a label column ('label', "
                                                 "or the one ingest.label_column / "
                                                 "--label-column names)")  # fmt: skip
    hint = f"; every column but the time is a value: {ids or _MANY}{label}"
    out = [times.alias("time"), *(numeric_channel(frame, c, path, where, hint) for c in channels)]
    _check_time_order(times, path, where)
    return pl.DataFrame(out)


def numeric_channel(
    frame: pl.DataFrame, column: str, path: Path, where, names: str = ""
) -> pl.Series:
    """A long table's value column as Float64, checked: no empty cell, nothing that is not
    a finite number (the first such cell named at its row; ``names`` added when most of
    the column's cells are words: a column of names, an id or a class, not a stray cell)."""
    col = frame[column]
    num = col.cast(pl.Float64, strict=False) if col.dtype == pl.String else col
    if not num.dtype.is_numeric():
        raise DataError(f"{path}: column '{column}' is not numeric ({col.dtype})")
    num = num.cast(pl.Float64)
    bad = num.is_null() | num.is_nan() | num.is_infinite()
    if bad.any():
        words = bad & col.is_not_null()  # a column mostly of words: its first word is named
        many = col.dtype == pl.String and words.sum() > col.is_not_null().sum() / 2
        i = (words if many else bad).arg_true()[0]
        what = "empty cell" if col[i] is None else f"'{col[i]}' is not a number"
        raise DataError(f"{path}, {where(i)}: column '{column}': {what}{names * many}")
    return num.alias(column)


def parse_times(times: pl.Series) -> pl.Series | None:
    """Times as numbers or datetimes, or None if any of them does not parse (see
    :func:`read_times`)."""
    parsed = read_times(times)
    return None if parsed is None or parsed.null_count() else parsed


def read_times(times: pl.Series) -> pl.Series | None:
    """Times as numbers or datetimes, null where a value does not parse; None when fewer
    than half parse (times that are names, taken in file order). ``YYYY-MM`` is a month;
    ``YYYY-Qn``, ``YYYYQn`` and ``YYYY Qn`` (pandas' and R's quarters) are a quarter's first
    day; ``YYYY-MM-DD/YYYY-MM-DD`` (pandas' weeks) is the week's first day; durations
    (pandas' ``1 days 02:30:00``, ISO's ``P1DT2H30M``) are numbers of seconds."""
    times = times.cast(pl.String)
    numbers = times.cast(pl.Float64, strict=False)
    if 2 * numbers.null_count() <= len(times):
        return numbers
    if 2 * (spans := _durations(times)).null_count() <= len(times):
        return spans
    times = times.zip_with(~times.str.contains(r"^\d{4}-\d{2}$"), times + "-01")
    times = times.str.replace(r"^(\d{4}-\d{2}-\d{2})/\d{4}-\d{2}-\d{2}$", "$1")  # a week
    quarter = times.str.extract_groups(r"^(\d{4})[- ]?[Qq]([1-4])$")
    month = (quarter.struct.field("2").cast(pl.Int32) * 3 - 2).cast(pl.String)
    times = (quarter.struct.field("1") + "-" + month.str.zfill(2) + "-01").fill_null(times)
    best, best_rank, best_odd = None, None, None
    for parsed in _datetime_readings(times):
        rank = _rank(parsed)
        if best is None or rank < best_rank:
            best, best_rank, best_odd = parsed, rank, None
        elif rank == best_rank:  # a tie: the regular grid wins (odd steps, when needed)
            best_odd = _odd_steps(best) if best_odd is None else best_odd
            if (odd := _odd_steps(parsed)) < best_odd:
                best, best_odd = parsed, odd
        if best_rank == (0, 0):  # read in order: stop when nothing can do better, as when
            if best.dt.day().max() > 12:  # a day above 12 leaves a swapped reading a value
                break  # it cannot read,
            best_odd = _odd_steps(best) if best_odd is None else best_odd
            if best_odd == 0:  # or when the steps are a regular grid already
                break
    return best if best is not None and 2 * best.null_count() <= len(times) else None


_PANDAS_SPAN = r"^(-?\d+) days? ([+-]?)(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$"  # str(Timedelta)
_ISO_SPAN = r"^(-?)P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"


def _durations(times: pl.Series) -> pl.Series:
    """Durations as seconds (Float64), null where a value is none: pandas' text for a
    Timedelta (``0 days 00:30:00``, ``-1 days +23:59:00``) or ISO 8601 (``PT30M``)."""

    def field(groups: pl.Series, key: str) -> pl.Series:
        return groups.struct.field(key).cast(pl.Float64)

    def sign(groups: pl.Series, key: str) -> pl.Series:  # -1 for "-", null where no match
        return 1 - 2 * (groups.struct.field(key) == "-").cast(pl.Float64)

    pd_ = times.str.extract_groups(_PANDAS_SPAN)
    clock = field(pd_, "3") * 3600 + field(pd_, "4") * 60 + field(pd_, "5")
    pandas = field(pd_, "1") * 86400 + sign(pd_, "2") * clock
    iso_ = times.str.extract_groups(_ISO_SPAN)
    parts = (("2", 86400), ("3", 3600), ("4", 60), ("5", 1))
    iso = sign(iso_, "1") * sum(field(iso_, k).fill_null(0) * w for k, w in parts)
    digits = times.str.contains(r"\d").fill_null(False)  # "P" alone is no duration
    return pandas.fill_null(iso.zip_with(digits, pl.Series([None], dtype=pl.Float64)))


# formats polars does not infer: month first (US), and dots; tried after its own guesses
EXPLICIT_FORMATS = ("%m/%d/%Y", "%m/%d/%y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%d.%m.%Y")


def _datetime_readings(times: pl.Series):
    """The column read as datetimes several ways (null where a value does not fit): polars'
    inferred format, seeded by the first, middle and last value (it takes the format from
    the first value it reads, and one odd value there must not decide it), then
    :data:`EXPLICIT_FORMATS`. A seed with no format of its own gives the reading from the
    first value that has one, the same for every such seed: read once (a column of names
    has none, and polars looks through all of it before it says so: 4-5 s a million)."""
    unseeded = False
    for i in sorted({0, len(times) // 2, max(len(times) - 1, 0)}):
        seed = times.slice(i, 1)
        try:  # a format of its own, even where it then reads null (07/03/90 does)
            alone = seed.null_count() == 0 and seed.str.to_datetime(strict=False) is not None
        except pl.exceptions.PolarsError:  # no format it knows
            alone = False
        if not alone and unseeded:
            continue
        unseeded |= not alone
        try:
            if alone:
                yield pl.concat([seed, times]).str.to_datetime(strict=False).slice(1)
            else:
                yield times.str.to_datetime(strict=False)
        except pl.exceptions.PolarsError:  # no format it knows
            continue
    for fmt in EXPLICIT_FORMATS:
        yield times.str.to_datetime(format=fmt, strict=False)


def _backwards(parsed: pl.Series) -> int:
    steps = parsed.drop_nulls().diff().slice(1).dt.total_microseconds()
    return int((steps <= 0).sum())


def _odd_steps(parsed: pl.Series) -> int:
    """Steps that differ from the commonest one; counted in calendar months when every
    time is the same day of the month at the same time of day (months differ in length).

    It tells day-first from month-first where every day is 12 or less: a US monthly series
    (``01/01/2000``, ``02/01/2000``, ...) read day-first is twelve days a year, eleven one-day
    steps then a jump, where month-first it is one month a step."""
    values = parsed.drop_nulls()
    if len(values) < 3:
        return 0
    monthly = values.dt.day().n_unique() == 1 and values.dt.time().n_unique() == 1
    if monthly and values.dt.month().n_unique() > 1:
        steps = (values.dt.year() * 12 + values.dt.month()).diff().slice(1)
    else:
        steps = values.diff().slice(1).dt.total_microseconds()
    return len(steps) - int(steps.value_counts()["count"].max())


def _rank(parsed: pl.Series) -> tuple[int, int]:
    """Fewest values unread, then fewest steps back (07/01 after 06/30 is day-first's);
    between readings that read every value in order, fewest odd steps (:func:`_odd_steps`):
    a time column is a grid."""
    return parsed.null_count(), _backwards(parsed)


def checked_times(times: pl.Series, path: object, where, what: str = "time") -> pl.Series | None:
    """Times as numbers or dates (:func:`read_times`), or None for times that are names;
    one that does not read like the others is an error at its line (one odd value must
    not turn the order checks off)."""
    parsed = read_times(times)
    if parsed is not None and parsed.null_count():
        i, like = parsed.is_null().arg_true()[0], parsed.is_not_null().arg_true()[0]
        kind = "number" if parsed.dtype.is_numeric() else "date"
        raise DataError(f"{path}, {where(i)}: {what} '{times[i]}' is not a {kind} like the "
                        f"others ({times[like]})")  # fmt: skip
    return parsed


def _check_time_order(times: pl.Series, path: Path, where) -> None:
    """Times that (at least half of them) parse as numbers or dates must all parse and
    increase; others are taken in file order."""
    parsed = checked_times(times, path, where)
    if parsed is None:
        return
    back = parsed.diff().slice(1)
    back = back <= 0 if back.dtype.is_numeric() else back.dt.total_microseconds() <= 0
    if back.any():
        raise DataError(f"{path}, {where(back.arg_true()[0] + 1)}: time goes backwards")
