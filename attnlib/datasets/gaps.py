"""Missing values inside a numeric series to classify: filled by linear interpolation, or
refused (``ingest.missing``).

Sensor files and four sets of the UCR archive (DodgerLoopDay, DodgerLoopGame,
DodgerLoopWeekend, MelbournePedestrian) hold missing values inside series; the archive's
own equal-length versions of them fill each gap by linear interpolation between its known
neighbours, and its published baselines are measured on those. ``interpolate`` (the
default) does the same, per series and channel: a gap between two known values takes the
straight line between them, a gap at a series' start its first known value and one at its
end its last; one warning per read says how many values were filled and where the first
was. ``error`` refuses the
file at the first missing value instead. A channel of a series with no known value at all
is refused either way, and an infinite value is always an error.

Missing values at a series' end are padding of a shorter series where a format has it
(UCR rows, ``.ts`` and ARFF files, wide tables), dropped before filling; elsewhere (long
and stacked tables, Parquet ``values`` lists, arrays) they are filled. Forecasting reads
no series here: a gap in a series to forecast is refused, since its targets would be
scored against values the reader made up.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging

import numpy as np
import polars as pl

from attnlib.errors import ConfigError, DataError

log = logging.getLogger(__name__)

MODES = ("interpolate", "error")
DEFAULT = MODES[0]
SET_IT = "ingest.missing: interpolate fills such gaps"  # the advice of a refusal
# the mode of the read under way, and its tally: [values filled, {series}, first place]
_STATE = contextvars.ContextVar("missing_values", default=(DEFAULT, None))
# while recording: the totals of the reads that ended (see recording)
_RECORD: contextvars.ContextVar[dict | None] = contextvars.ContextVar("gaps_record",
                                                                     default=None)  # fmt: skip
KEY = "attnlib.gaps_filled"  # in data/raw.parquet's key-value metadata: recording()'s JSON


def checked(mode: str) -> str:
    """``mode`` if it is one of :data:`MODES`, else a ConfigError."""
    if mode not in MODES:
        raise ConfigError(f"params key 'ingest.missing': '{mode}' is not one of "
                          f"{', '.join(MODES)}")  # fmt: skip
    return mode


@contextlib.contextmanager
def reading(mode: str, path: object, shown=str, warn=None):
    """While reading ``path`` under ``mode``: the gaps filled meanwhile are told in one
    warning when the read ends without an error (``warn``, default logged; its text passed
    through ``shown``: a compressed file's temporary copy named as the user's file)."""
    tally = [0, set(), ""]
    token = _STATE.set((checked(mode), tally))
    try:
        yield
    finally:
        _STATE.reset(token)
    if tally[0] and (record := _RECORD.get()) is not None:
        record["values"] += tally[0]
        record["series"] += len(tally[1])
        record["first"] = record["first"] or shown(tally[2])
    if tally[0]:
        said = described({"values": tally[0], "series": len(tally[1]), "first": tally[2]})
        (warn or log.warning)(shown(f"{path}: {said}"))


@contextlib.contextmanager
def recording():
    """Yield ``{"values", "series", "first"}``: how many missing values the reads that end
    meanwhile filled, in how many series, and where the first was (the ingest stage keeps
    it in ``data/raw.parquet``: :func:`metadata`; a model's data card shows it). A read
    counts its whole file, series that ``ingest.limit`` then leaves out included."""
    record = {"values": 0, "series": 0, "first": ""}
    token = _RECORD.set(record)
    try:
        yield record
    finally:
        _RECORD.reset(token)


def metadata(record: dict) -> dict[str, str]:
    """Parquet key-value metadata keeping a :func:`recording` (nothing when none was filled)."""
    return {KEY: json.dumps(record)} if record.get("values") else {}


def read(path) -> dict | None:
    """The :func:`recording` kept in a Parquet file's metadata, or None."""
    text = pl.read_parquet_metadata(path).get(KEY)
    record = json.loads(text) if text else None
    shape = {"values": int, "series": int, "first": str}
    if record is not None and not (isinstance(record, dict) and all(
            isinstance(record.get(k), t) for k, t in shape.items())):  # fmt: skip
        raise DataError(f"{path}: metadata {KEY} is not a JSON object of values, series and "
                        f"first: {text[:80]!r}")  # fmt: skip
    return record


def described(record: dict | None) -> str:
    """A recording in words, for a report or a model card ("" for none)."""
    if not record:
        return ""
    return (f"{record['values']} missing value(s) in {record['series']} series filled by "
            f"linear interpolation (the first: {record['first']})")  # fmt: skip


def mode() -> str:
    """The ``ingest.missing`` of the read under way (``interpolate`` outside one)."""
    return _STATE.get()[0]


def filled(
    values: np.ndarray, at: str, steps: list[str] | None = None, series: str = ""
) -> np.ndarray:
    """One series' values with every missing value (NaN) filled, or a DataError.

    Args:
        values: (T,) or (T, C) float values of one series, NaN where missing.
        at: where the series is, for messages (``"FILE, line 3: "``).
        steps: the steps' names (a wide table's columns), for messages (None: by number).
        series: which series ``values`` belong to, where a reader fills a series' channels
            one at a time (``.ts``, ARFF: the line), so the warning counts series, not
            channels ("": ``at``).
    Returns:
        The same shape and dtype: each channel's gaps filled by linear interpolation, its
        start before the first known value with that value and its end after the last with
        that one (``values`` when nothing is missing).
    Raises:
        DataError: an infinite value; a missing value under ``ingest.missing: error``; a
            channel with no known value.
    """
    if np.isinf(values).any():
        raise DataError(f"{_at(at, _place(np.isinf(values), steps))}infinite value")
    missing = np.isnan(values)
    if not missing.any():
        return values
    place = _place(missing, steps)
    if mode() == "error":
        raise DataError(f"{_at(at, place)}missing value inside the series; {SET_IT}")
    matrix = values.reshape(len(values), -1)  # (T, C)
    out = matrix.copy()
    steps = np.arange(len(matrix))
    for c in range(matrix.shape[1]):
        known = ~np.isnan(matrix[:, c])
        if not known.any():
            where = f"channel {c + 1}: " if values.ndim == 2 else ""
            raise DataError(f"{_at(at, where)}no value at any step "
                            "(nothing to interpolate from)")  # fmt: skip
        out[:, c] = np.interp(steps, steps[known], matrix[known, c])
    note(int(missing.sum()), [series or at], _at(at, place).rstrip(": "))
    return out.reshape(values.shape).astype(values.dtype, copy=False)


def note(count: int, series: list[str], first: str) -> None:
    """Tell the read under way that a reader filled ``count`` missing values in ``series``
    itself (vectorised), the first at ``first``."""
    tally = _STATE.get()[1]
    if tally is not None:
        tally[0] += count
        tally[1].update(series)
        tally[2] = tally[2] or first


def filled_column(values: pl.Series, at) -> pl.Series:
    """A column of series (list<list<float>> or list<float>, one per row) with each row's
    gaps filled by :func:`filled` (``at(i)`` names row i; an infinite value refused); rows
    without one untouched."""
    nested = isinstance(values.dtype, pl.List) and isinstance(values.dtype.inner, pl.List)
    rows = pl.DataFrame({"v": values}).with_row_index("i").explode("v")
    flat = rows.explode("v") if nested else rows
    flat = flat.with_columns(pl.col("v").cast(pl.Float64))
    odd = pl.col("v").is_null() | pl.col("v").is_nan() | pl.col("v").is_infinite()
    bad = flat.filter(odd)["i"].unique(maintain_order=True)  # a gap, or inf (refused)
    if bad.is_empty():
        return values
    new = []
    for i, series in zip(bad.to_list(), values.gather(bad).to_list(), strict=True):
        if not series:
            raise DataError(f"{at(i)}no series (a null or empty 'values')")
        try:
            arr = np.asarray(series, dtype=np.float64)  # a null is NaN
        except (TypeError, ValueError):
            raise DataError(f"{at(i)}empty or ragged time steps") from None
        new.append(filled(arr, at(i)).tolist())
    patch = pl.DataFrame({"i": bad, "new": pl.Series(new, dtype=values.dtype)})
    whole = pl.DataFrame({"v": values}).with_row_index("i")
    whole = whole.join(patch, on="i", how="left", maintain_order="left")
    return whole.select(pl.coalesce("new", "v").alias(values.name)).to_series()


def _at(at: str, place: str) -> str:
    """``"FILE, line 3: "`` and ``"step 4: "`` -> ``"FILE, line 3, step 4: "``."""
    return f"{at[:-2]}, {place}" if at.endswith(": ") and place else f"{at}{place}"


def _place(mask: np.ndarray, steps: list[str] | None) -> str:
    """``"step 4: "``, ``"step 4, channel 2: "`` or ``"column 't4': "`` (a named step) of
    the first True in ``mask`` (1-based)."""
    step, *channel = (int(i) for i in np.argwhere(mask)[0])
    at = f"column '{steps[step]}'" if steps else f"step {step + 1}"
    return f"{at}, channel {channel[0] + 1}: " if channel else f"{at}: "
