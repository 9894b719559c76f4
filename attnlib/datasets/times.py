"""A time column read as times: numbers, dates (in whatever format the column holds, month
first or day first, as the grid of its steps decides), quarters, pandas' weeks and
durations; or None, when the times are names (taken in the file's order)."""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from attnlib.errors import DataError

log = logging.getLogger(__name__)


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
    if times.str.contains(r"^-?P|days? ").any():  # some duration: two regexes over them all
        spans = _durations(times)
        if 2 * spans.null_count() <= len(times):
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


def check_time_order(times: pl.Series, path: Path, where) -> None:
    """Times that (at least half of them) parse as numbers or dates must all parse and
    increase; others are taken in file order."""
    parsed = checked_times(times, path, where)
    if parsed is None:
        return
    back = parsed.diff().slice(1)
    back = back <= 0 if back.dtype.is_numeric() else back.dt.total_microseconds() <= 0
    if back.any():
        raise DataError(f"{path}, {where(back.arg_true()[0] + 1)}: time goes backwards")


def dates(column: pl.Series) -> bool:
    """Every value a date or time (a temporal column, or text that reads as one)."""
    if column.dtype.is_temporal():
        return True
    parsed = read_times(column) if column.dtype == pl.String else None
    return parsed is not None and parsed.dtype.is_temporal() and parsed.null_count() == 0


def durations_as_seconds(frame: pl.DataFrame, path: object) -> pl.DataFrame:
    """``frame`` with its Duration columns (pandas' Timedelta, in a Parquet file or a frame
    given in Python) as seconds, logged: a time read in its order, or a value."""
    if not (spans := [n for n, kind in frame.schema.items() if isinstance(kind, pl.Duration)]):
        return frame
    log.info("%s: column(s) %s hold durations: read as seconds", path, spans)
    return frame.with_columns(pl.col(spans).dt.total_microseconds() / 1e6)
