"""Tables whose cells have types: Parquet files and spreadsheets.

Their columns decide the layout: sequences in a ``tokens`` / ``text`` column, series in
``values``, a long table with a time column (or pandas' saved date index), or a wide
table of one numeric column per step. A Parquet file's pandas metadata names the index
columns; a spreadsheet has none.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import polars as pl

from attnlib.datasets import panel, parquet, roles, series, stacked, tables, wide
from attnlib.datasets.calendar import PARTS
from attnlib.datasets.times import read_times
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
    """``raw`` (a Parquet file's frame) as a long table: pandas' saved date index as
    ``date`` (:func:`dated`), a named index that is no time (or part of one: a ``year``
    and ``month`` index), id, label or split (row numbers, say) left out, logged."""
    if levels := index_levels(raw.columns, saved, raw):
        log.info("%s: pandas' two-level index %s: %s", path, saved, ", ".join(
            f"'{c}' the {'series id' if r == 'id' else r}" for c, r in levels.items()))  # fmt: skip
        raw, saved = raw.rename(levels), [levels.get(c, c) for c in saved]
    long = dated(raw, saved)
    time = series.time_column(long.columns) or ""
    parts = (*PARTS, "day") if time.strip().lower() == "year" else ()  # joined to the year
    kinds = stacked.KIND_NAMES if stacked.value_column(long.columns) else ()  # melt's index
    keep = ("id", "label", "split", time.strip().lower(), *parts, *kinds)
    index = series.note_index(path, [c for c in saved if c in long.columns and
                                     c.strip().lower() not in keep])  # fmt: skip
    return long.drop(index)


def index_levels(columns: list[str], saved: list[str] | None = None,
                 rows: pl.DataFrame | None = None) -> dict[str, str]:  # fmt: skip
    """pandas' two-level index saved beside a table's columns when it is a series id and
    its time step (sktime's ``pd-multiindex`` panels; ``set_index([id, time])``; a frame's
    ``stack()``, time first), as the renaming that makes them ``id`` and the time (or, for
    whole years and months 1-12, ``year`` and ``month``: one time); ``{}`` when it is not,
    or the table has an ``id`` or holds sequences (``tokens``, ``text``, ``values``).
    Named levels are when one names a time and the other does not (``store, date``;
    sktime's ``instances, timepoints``); unnamed ones unless another column names a time,
    the columns are a frame's generated ``0, 1, ..., N`` (a wide table's, a class beside
    them or not: the index is the rows'), or ``rows`` (the table, or its first row) show
    a step that repeats within an id or a label that changes within one (the rows of a
    wide table again: ``pd.concat({"train": ..., "test": ...})``). The id comes first
    unless the first row has a date in the first level and a name in the second.
    ``saved``: a Parquet file's index columns (pandas' metadata); else the first two
    columns when both are unnamed (``Unnamed: 0, Unnamed: 1``: a CSV's,
    :func:`attnlib.datasets.rows.unnamed_levels`; ``level_0, level_1``: ``reset_index()``'s)."""
    names = tables.known_names(columns)
    if len(saved or []) == 2:
        levels = list(saved)
    else:
        unnamed = tables.unnamed_run(columns) == ["Unnamed: 0", "Unnamed: 1"]
        reset = columns[:2] == ["level_0", "level_1"] and "level_2" not in columns
        levels = columns[:2] if unnamed or reset else []
    if len(levels) != 2 or {"id", *tables.DATA_COLUMNS} & set(names):
        return {}
    low = [n.strip().lower() for n in levels]
    time = series.time_column(columns)
    if all(n.startswith(("__index_level_", "unnamed: ", "level_")) for n in low):
        rest = [n for n, c in zip(names, columns, strict=True) if c not in levels]
        if time is not None or wide.generated_steps(rest) or _rows_of_a_table(rows, levels):
            return {}
        if _years_months(rows, levels):  # groupby([index.year, index.month])
            return {levels[0]: "year", levels[1]: "month"}
        first = rows.row(0, named=True) if rows is not None and rows.height else {}
        stacked_frame = dates(pl.Series([first.get(levels[0])])) and _a_name(first.get(levels[1]))
        return {levels[0]: "time", levels[1]: "id"} if stacked_frame else {
            levels[0]: "id", levels[1]: "time"}  # fmt: skip
    if time == levels[1] and low[0] not in tables.TIME_NAMES:
        return {levels[0]: "id"}
    return {levels[1]: "id"} if time == levels[0] and low[1] not in tables.TIME_NAMES else {}


def _rows_of_a_table(rows: pl.DataFrame | None, levels: list[str]) -> bool:
    """Unnamed index levels that cannot be series and their steps: a pair that repeats, a
    first level that never does, or a label (by its known name) that changes within it."""
    if rows is None or rows.height < 2:
        return False
    if rows.select(levels).is_duplicated().any() or not rows[levels[0]].is_duplicated().any():
        return True  # a step twice in a series, or series of one step each
    label = next((c for c, k in zip(rows.columns, tables.known_names(rows.columns),
                                    strict=True) if k == "label"), None)  # fmt: skip
    return label is not None and bool(
        rows.group_by(levels[0]).agg(pl.col(label).n_unique())[label].max() > 1
    )


def _years_months(rows: pl.DataFrame | None, levels: list[str]) -> bool:
    """Levels of whole years (1000-9999) and months (1-12), as grouping by a date index's
    year and month makes them."""
    if rows is None or not rows.height:
        return False
    year, month = (rows[n].cast(pl.Float64, strict=False) for n in levels)
    if year.null_count() or month.null_count():  # not numbers (or gaps): no years, months
        return False
    return bool(year.is_between(1000, 9999).all() and month.is_between(1, 12).all()
                and (year == year.round()).all() and (month == month.round()).all())  # fmt: skip


def _a_name(cell) -> bool:
    """A cell that is a name: text that reads as no number, date, time of day or duration
    (a frame's column names, as ``stack()`` puts them in its second level)."""
    if not isinstance(cell, str) or re.fullmatch(r"[\d\s:.,+-]*", cell):
        return False
    return read_times(pl.Series([cell])) is None


def dated(frame: pl.DataFrame, saved: list[str]) -> pl.DataFrame:
    """``frame`` with pandas' saved date index named ``date`` when no column is named as a
    time (:func:`_date_index`); else as it is."""
    index = None if series.time_column(frame.columns) else _date_index(frame, saved)
    return frame.rename({index: "date"}) if index is not None else frame


def _date_index(frame: pl.DataFrame, saved: list[str]) -> str | None:
    """The column pandas saved for its index when it holds dates (a forecasting frame's
    DatetimeIndex, ``to_parquet`` or ``to_csv``) and no other column names a label, a
    class, text or a time: its name."""
    names = [n for n in (*saved, "", "Unnamed: 0", "__index_level_0__") if n in frame.columns]
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


def dates(column: pl.Series) -> bool:
    """Every value a date or time (a temporal column, or text that reads as one)."""
    if column.dtype.is_temporal():
        return True
    parsed = read_times(column) if column.dtype == pl.String else None
    return parsed is not None and parsed.dtype.is_temporal() and parsed.null_count() == 0


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
