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

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq

from attnlib.errors import DataError


def read(path: Path) -> pl.DataFrame:
    """The table in ``path``, pandas' Period columns as datetimes (see the module)."""
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    try:
        frame = pl.read_parquet(path)
    except (Exception, pl.exceptions.PanicException) as exc:  # polars / arrow raise several
        # unrelated types here; a panic (a zero-width fixed-size list) is a BaseException
        raise DataError(
            f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]})"
        ) from None
    periods = {name: freq for name, freq in period_columns(path).items() if name in frame.columns}
    return frame.with_columns(_as_times(frame[n], f, path) for n, f in periods.items())


def pandas_metadata(path: Path) -> dict:
    """The ``pandas`` key of a Parquet file's schema ({} when none or not an object)."""
    try:
        meta = pq.read_schema(path).pandas_metadata or {}
    except Exception:  # noqa: BLE001  (no or odd metadata: nothing to say)
        return {}
    return meta if isinstance(meta, dict) else {}


def pandas_index(path: Path) -> list[str]:
    """The named index columns a Parquet file's pandas metadata lists (none for a range)."""
    columns = pandas_metadata(path).get("index_columns", [])
    return [c for c in columns if isinstance(c, str)] if isinstance(columns, list) else []


def period_columns(path: Path) -> dict[str, str]:
    """The columns pandas saved as Periods, each with its frequency (``{"month": "M"}``)."""
    columns = pandas_metadata(path).get("columns", [])
    out = {}
    for c in columns if isinstance(columns, list) else []:
        kind = c.get("numpy_type") if isinstance(c, dict) else None
        name = c.get("field_name") if isinstance(c, dict) else None
        if isinstance(kind, str) and isinstance(name, str) and kind.startswith("period["):
            out[name] = kind.removeprefix("period[").removesuffix("]")
    return out


def _as_times(column: pl.Series, freq: str, path: Path) -> pl.Series:
    """Period ordinals as the periods' first instants (``1990-01`` -> 1990-01-01 00:00);
    missing stays missing."""
    import pandas as pd  # only for a file pandas wrote; attnlib does not need it otherwise

    try:
        ordinals = column.to_physical().cast(pl.Int64)
        periods = pd.PeriodIndex.from_ordinals(ordinals.fill_null(0).to_numpy(), freq=freq)
        starts = pl.Series(column.name, periods.to_timestamp(how="start").to_numpy())
    except Exception as exc:  # noqa: BLE001  (an odd frequency or storage: say which column)
        raise DataError(f"{path}: column {column.name!r} holds pandas Periods of frequency "
                        f"{freq!r} that could not be read ({exc}); save it with "
                        "df.to_timestamp() or as text") from None  # fmt: skip
    return (
        pl.select(pl.when(ordinals.is_null()).then(None).otherwise(starts))
        .to_series()
        .alias(column.name)
    )
