"""Parquet files: the table, and what pandas' metadata says about it.

pandas writes a ``pandas`` key into the schema when ``to_parquet`` saves a frame: which
columns hold its index, and each column's pandas type. Two things in it change how a file
reads: the index columns (an id, or a forecasting table's time) and Period columns. A
``PeriodIndex`` (monthly or quarterly data, ``df.to_period("M")``) is stored as integer
ordinals in an extension type that only pandas understands; read as it is, ``1990-01``
would be the number 240. Those columns are read back as each period's first instant
(``1990-01`` -> 1990-01-01), as ``df.to_timestamp()`` would have saved them: a time.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import warnings
from pathlib import Path

import polars as pl

from attnlib.datasets.times import durations_as_seconds
from attnlib.errors import DataError

log = logging.getLogger(__name__)


def read(path: Path) -> tuple[pl.DataFrame, list[str]]:
    """The table in ``path``, pandas' Period columns as datetimes (see the module) and its
    durations as seconds, and the named index columns pandas' metadata lists (none for a
    range index); the schema's metadata is read once."""
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    try:
        frame = pl.read_parquet(path)
    except (Exception, pl.exceptions.PanicException) as exc:  # polars / arrow raise several
        # unrelated types here; a panic (a zero-width fixed-size list) is a BaseException
        raise DataError(
            f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})"
        ) from None
    meta = pandas_metadata(path)
    periods = period_columns(frame, meta)
    frame = frame.with_columns(_as_times(frame[n], f, path) for n, f in periods.items())
    frame = durations_as_seconds(frame, path)
    index = meta.get("index_columns", [])
    return frame, [c for c in index if isinstance(c, str)] if isinstance(index, list) else []


def pandas_metadata(path: Path) -> dict:
    """The ``pandas`` key of a Parquet file's schema ({} when none or not an object)."""
    import pyarrow.parquet as pq  # here: a CSV read need not load pyarrow

    try:
        meta = pq.read_schema(path).pandas_metadata or {}
    except Exception:  # noqa: BLE001  (no or odd metadata: nothing to say)
        return {}
    return meta if isinstance(meta, dict) else {}


def period_columns(frame: pl.DataFrame, meta: dict) -> dict[str, str]:
    """The columns of ``frame`` that hold pandas Periods, each with its frequency
    (``{"month": "M"}``): told by the column's own type (pandas' ``pandas.period``
    extension, kept by polars and pyarrow when they rewrite the file), else by pandas'
    metadata ``meta`` for a column stored as plain integers."""
    out = {}
    for name, dtype in frame.schema.items():
        if getattr(dtype, "ext_name", None) is None or dtype.ext_name() != "pandas.period":
            continue
        with contextlib.suppress(ValueError, TypeError):
            freq = json.loads(dtype.ext_metadata() or "{}").get("freq")
            out.update({name: freq} if isinstance(freq, str) else {})
    columns = meta.get("columns", [])
    for c in columns if isinstance(columns, list) else []:
        kind = c.get("numpy_type") if isinstance(c, dict) else None
        name = c.get("field_name") if isinstance(c, dict) else None
        if (isinstance(kind, str) and kind.startswith("period[") and name in frame.columns
                and name not in out and frame.schema[name].is_integer()):  # fmt: skip
            out[name] = kind.removeprefix("period[").removesuffix("]")
    return out


# pandas < 2.2 wrote these period codes; pandas >= 3 refuses them (multiples and anchors kept)
_OLD_CODES = {"A": "Y", "H": "h", "T": "min", "S": "s", "L": "ms", "U": "us", "N": "ns"}


def _current(freq: str) -> str:
    """``A-DEC`` -> ``Y-DEC``, ``15T`` -> ``15min``; any other code as it is."""
    found = re.fullmatch(r"(\d*)([AHTSLUN])(-\w+)?", freq)
    if found is None:
        return freq
    return f"{found[1]}{_OLD_CODES[found[2]]}{found[3] or ''}"


def _as_times(column: pl.Series, freq: str, path: Path) -> pl.Series:
    """Period ordinals as the periods' first instants (``1990-01`` -> 1990-01-01 00:00,
    microseconds: any year pandas can hold); missing stays missing. A frequency pandas
    cannot read leaves the ordinals, with a warning."""
    import pandas as pd  # only for a file pandas wrote; attnlib does not need it otherwise

    ordinals = column.to_physical().cast(pl.Int64)
    try:
        with warnings.catch_warnings():  # pandas' deprecation notes (business days) are noise
            warnings.simplefilter("ignore", FutureWarning)
            periods = pd.PeriodIndex.from_ordinals(ordinals.fill_null(0).to_numpy(),
                                                   freq=_current(freq))  # fmt: skip
            micros = periods.asfreq("us", how="start").asi8
    except Exception as exc:  # noqa: BLE001  (an odd frequency: say which column)
        log.warning("%s: column %r holds pandas Periods of frequency %r, which pandas %s "
                    "cannot read (%s): kept as their ordinals (periods since 1970); save it "
                    "with df.to_timestamp()", path, column.name, freq, pd.__version__,
                    str(exc).splitlines()[0])  # fmt: skip
        return ordinals
    starts = pl.Series(column.name, micros).cast(pl.Datetime("us"))
    return starts.zip_with(ordinals.is_not_null(), pl.Series([None], dtype=starts.dtype))
