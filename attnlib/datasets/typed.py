"""Tables whose cells have types: Parquet files and spreadsheets.

Their columns decide the layout: sequences in a ``tokens`` / ``text`` column, series in
``values``, a long table with a time column (or pandas' saved date index), or a wide
table of one numeric column per step. A Parquet file's pandas metadata names the index
columns; a spreadsheet has none.
"""

from __future__ import annotations

import logging
from pathlib import Path

import polars as pl

from attnlib.datasets import levels, panel, parquet, roles, series, tables, wide
from attnlib.datasets.calendar import JOINED
from attnlib.datasets.times import dates
from attnlib.errors import DataError

log = logging.getLogger(__name__)


def by_row(i: int) -> str:  # names row i of a Parquet file or a built-in data set
    return f"row {i + 1}"


def read_parquet(path: Path, columns: dict[str, str]) -> tuple[pl.DataFrame, str]:
    """A Parquet file's frame, and how its columns decided the layout (for the log)."""
    return read_typed(*named_parquet(path, columns), path, columns, by_row)


def named_parquet(path: Path, columns: dict[str, str]) -> tuple[pl.DataFrame, list[str]]:
    """A Parquet file's frame with the columns named for a role under its name
    (:func:`roles.rename`), and its saved index columns (pandas' metadata) as renamed."""
    raw, index = parquet.read(path)
    named = roles.rename(raw, columns, path)
    return named, [dict(zip(raw.columns, named.columns, strict=True)).get(c, c) for c in index]


def read_typed(
    raw: pl.DataFrame, saved: list[str], path: Path, columns: dict[str, str], where
) -> tuple[pl.DataFrame, str]:
    """A table whose cells have types (Parquet, a spreadsheet) read by its columns, and
    how they decided the layout; ``saved``: the columns pandas saved for its index."""
    frame = tables.with_known_names(raw)  # Label -> label, ...
    if "tokens" in frame.columns or "text" in frame.columns:
        kind = "tokens" if "tokens" in frame.columns else "text"
        return tables.normalise_table(frame, path, where), f"sequences in its '{kind}' column"
    if "values" in frame.columns and (
        isinstance(frame.schema["values"], pl.List | pl.Array)
        or not series.time_column(frame.columns)
    ):
        return series.normalise_series_table(frame, path, where), "series in its 'values' column"
    if time := series.time_column((long := long_frame(raw, saved, path)).columns):
        index = "pandas' date index" if time == "date" else "pandas' index levels"
        why = f"column '{time}'" if time in raw.columns else index
        frame, note = panel.read_table(long, path, where, columns)
        return frame, f"a long table, the time in {why}{note}"
    is_wide = wide.looks_wide(frame.columns, saved=saved)
    other = wide.other_columns(frame, saved) if is_wide else []
    if is_wide and len(other) < len(frame.columns) // 2:
        if other:  # mostly numbers: a wide table with a stray column, named in the error
            raise DataError(f"{path}: a wide table (one numeric column per time step) but "
                            f"column(s) {other[:5]} are not numbers; a class column must be "
                            "named 'label' (or ingest.label_column), ids 'id' (or "
                            "ingest.id_column)")  # fmt: skip
        why = "a wide table: numeric columns, one per time step, and no tokens / values / time"
        return wide.read_wide(frame, path, where, saved), why
    raise DataError(f"{path}: needs a 'tokens', 'text' or 'values' column, a time column "
                    "(long table), or numeric columns, one per time step (wide table); "
                    f"found {frame.columns}{tables.naming_hint(frame)}")  # fmt: skip


def long_frame(raw: pl.DataFrame, saved: list[str], path: Path) -> pl.DataFrame:
    """``raw`` (a typed table: Parquet, a spreadsheet, JSON) as a long table: pandas'
    two-level index as a series id and time (:func:`attnlib.datasets.levels.index_levels`),
    its saved date index as ``date`` (:func:`dated`), a named index that is no time (or
    part of one: a ``year`` and ``month`` index), id, label, split or a stacked table's
    kind (row numbers, say) left out, logged."""
    raw, saved = levels.with_index_levels(raw, saved, path, panel.forecaster())
    long = dated(raw, saved)
    time = series.time_column(long.columns) or ""
    parts = JOINED if time.strip().lower() == "year" else ()  # joined to the year
    keep = ("id", "label", "split", time.strip().lower(), *parts, *levels.kinds(long.columns))
    index = series.note_index(path, [c for c in saved if c in long.columns and
                                     c.strip().lower() not in keep])  # fmt: skip
    return long.drop(index)


def dated(frame: pl.DataFrame, saved: list[str]) -> pl.DataFrame:
    """``frame`` with pandas' saved date index named ``date`` when no column is named as a
    time (:func:`_date_index`); else as it is."""
    index = None if series.time_column(frame.columns) else _date_index(frame, saved)
    return frame.rename({index: "date"}) if index is not None else frame


def _date_index(frame: pl.DataFrame, saved: list[str]) -> str | None:
    """The column pandas saved for its index when it holds dates (a forecasting frame's
    DatetimeIndex, ``to_parquet`` or ``to_csv``) and no other column names a label, a
    class, text or a time: its name."""
    names = [n for n in (*saved, "", *tables.UNNAMED_INDEX) if n in frame.columns]
    if len(set(names)) != 1 or not no_other_role(frame.columns):
        return None
    return names[0] if dates(frame[names[0]]) else None


def no_other_role(columns: list[str]) -> bool:
    """No column names a label, class, text or time (``y`` and ``target`` are also a
    forecast's target, Prophet's and GluonTS' names: a class only beside generated names)."""
    lowered = {c.strip().lower() for c in columns}
    classes = set(wide.CLASS_NAMES) - {"y", "target"}
    if wide.beside_generated([c for c in columns if c not in ("", "Unnamed: 0")]):
        classes = set(wide.CLASS_NAMES)
    return not lowered & {"label", "tokens", "text", "values", *classes, *tables.TIME_NAMES}


def check_max_length(frame: pl.DataFrame, path: object, where, max_length: int | None) -> None:
    """Raise a DataError at the first sequence longer than ``max_length`` (None: no limit)."""
    column = next((c for c in ("tokens", "values") if c in frame.columns), None)
    if (
        max_length is None or column is None
    ):  # a long table is one table to forecast, cut into windows
        return
    lengths = frame[column].list.len()
    too_long = lengths > max_length
    if too_long.any():
        i = too_long.arg_true()[0]
        raise DataError(
            f"{path}, {where(i)}: sequence '{frame['id'][i]}' has {lengths[i]} "
            f"{'tokens' if column == 'tokens' else 'time steps'}, more than max_length {max_length}"
        )
