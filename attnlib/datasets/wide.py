"""Wide tables of series: one series per row, one column per time step.

This is how a data frame holds a UCR set. ``pd.read_csv(path, sep="\\t", header=None)``
saved with ``to_parquet`` or ``to_csv(index=False)`` names its columns ``0`` .. ``N``, the
label in ``0`` (the archive's layout); a table built by hand has a ``label`` column beside
its value columns (``t0``, ``t1``, ...). ``id`` and ``split`` mean what they mean in every
table; a column that pandas wrote for its index (an unnamed first column, ``Unnamed: 0``,
``__index_level_0__``) is the id when there is no ``id``. Trailing missing values are
padding (variable-length sets); a missing value inside a series is an error.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from attnlib.datasets.series import F32_MAX, class_label, is_number, series_frame
from attnlib.datasets.tables import TIME_NAMES, as_text, ids_column, optional_columns
from attnlib.errors import DataError

INDEX_NAMES = ("", "Unnamed: 0", "__index_level_0__")  # how pandas saves its index
_NAMED = ("id", "label", "split")
MIN_STEPS = 3  # fewer value columns: a table of features, not a series
CLASS_NAMES = ("target", "class", "classes", "y", "labels", "category")  # not a time step


def pandas_header(names: list[str]) -> bool:
    """``0, 1, ..., N`` (after a saved index, if any): the names pandas gives a frame read
    without a header."""
    names = [n for n in names if n not in INDEX_NAMES]
    return len(names) > MIN_STEPS and names == [str(i) for i in range(len(names))]


def step_columns(names: list[str]) -> list[str]:
    """The value columns: all but id, label, split and a saved index (and, in a pandas
    header, the label in column ``0``)."""
    steps = [n for n in names if n not in _NAMED and n not in INDEX_NAMES]
    return steps[1:] if pandas_header(names) else steps


def looks_wide(names: list[str], first_row: list[str | None] | None = None) -> bool:
    """A wide table's header: no tokens / text / values / time column, 3+ value columns,
    and (when given, for text files) the first row's value fields numbers or empty."""
    lowered = {n.strip().lower() for n in names}
    if lowered & {"tokens", "text", "values", *TIME_NAMES}:
        return False
    steps = step_columns(names)
    if len(steps) < MIN_STEPS:
        return False
    if first_row is None:
        return True
    cells = dict(zip(names, first_row, strict=False))
    return all(cells.get(n) in (None, "") or is_number(cells[n]) for n in steps)


def other_columns(frame: pl.DataFrame) -> list[str]:
    """A Parquet table's value columns that are neither numeric nor all null."""
    steps = step_columns(frame.columns)
    return [n for n in steps if not (frame.schema[n].is_numeric() or frame.schema[n] == pl.Null)]


def read_wide(frame: pl.DataFrame, path: Path, where) -> pl.DataFrame:
    """A wide table as a series frame (``id``, ``values`` (T x 1)[, ``label``][, ``split``]).

    ``where(i)`` names row i (``line 3``, ``row 2``). Every value cell must be a number;
    missing cells (empty, null, NaN) may only end a row.
    """
    if frame.height == 0:
        raise DataError(f"{path}: no rows")
    names = frame.columns
    steps = step_columns(names)
    named = next((n for n in steps if n.strip().lower() in CLASS_NAMES), None)
    if named is not None and "label" not in names:
        raise DataError(f"{path}: column '{named}' reads as a time step of a wide table; if "
                        "it is the class, name it 'label'")  # fmt: skip
    if len(steps) < MIN_STEPS:
        raise DataError(f"{path}: a wide table needs at least {MIN_STEPS} value columns (one "
                        f"per time step); found {steps}")  # fmt: skip
    matrix = np.column_stack([_numbers(frame[n], path, where) for n in steps])  # (N, T)
    lengths = _lengths(matrix, steps, path, where)
    if (np.abs(np.nan_to_num(matrix)) > F32_MAX).any():
        i, j = np.argwhere(np.abs(np.nan_to_num(matrix)) > F32_MAX)[0]
        raise DataError(f"{path}, {where(i)}: column '{steps[j]}': value too large (float32)")
    index = next((n for n in INDEX_NAMES if n in names), None)
    if "id" not in names and index is not None:
        frame = frame.rename({index: "id"})
    if pandas_header(names):
        labels = as_text(frame["0"], path, "0")
        missing = labels.is_null().arg_true()
        if len(missing):
            raise DataError(f"{path}, {where(missing[0])}: missing label (column '0')")
        frame = frame.with_columns(labels.map_elements(class_label, pl.String).alias("label"))
    extra = {s.name: s for s in optional_columns(frame, path, where)}
    if "label" in extra:
        extra["label"] = extra["label"].map_elements(class_label, pl.String)
    values = [matrix[i, :k, None] for i, k in enumerate(lengths)]
    return series_frame(
        ids_column(frame, path, where).to_list(),
        values,
        extra["label"].to_list() if "label" in extra else None,
        extra["split"].to_list() if "split" in extra else None,
    )


def _numbers(column: pl.Series, path: Path, where) -> np.ndarray:
    """One value column as float64, missing cells NaN; a cell that is not a number is a
    DataError at its row."""
    if column.dtype.is_numeric() or column.dtype == pl.Null:
        return column.cast(pl.Float64).fill_null(float("nan")).to_numpy()
    if column.dtype != pl.String:
        raise DataError(f"{path}: column '{column.name}' must hold numbers, not {column.dtype}")
    parsed = column.str.strip_chars().cast(pl.Float64, strict=False)
    bad = parsed.is_null() & column.is_not_null() & (column.str.strip_chars() != "")
    if bad.any():
        i = bad.arg_true()[0]
        raise DataError(
            f"{path}, {where(i)}: column '{column.name}': '{column[i]}' is not a number"
        )
    return parsed.fill_null(float("nan")).to_numpy()


def _lengths(matrix: np.ndarray, steps: list[str], path: Path, where) -> list[int]:
    """Each row's length once trailing missing values are dropped; a gap before the end,
    an infinite value or a row with no values is a DataError at its row."""
    missing = np.isnan(matrix)
    if np.isinf(matrix).any():
        i, j = np.argwhere(np.isinf(matrix))[0]
        raise DataError(f"{path}, {where(i)}: column '{steps[j]}': infinite value")
    present = ~missing
    lengths = np.where(present.any(axis=1), matrix.shape[1] - present[:, ::-1].argmax(axis=1), 0)
    for i, k in enumerate(lengths):
        if k == 0:
            raise DataError(f"{path}, {where(i)}: no values (every step column is empty)")
        if missing[i, :k].any():
            j = int(missing[i, :k].argmax())
            raise DataError(
                f"{path}, {where(i)}: column '{steps[j]}' is missing but later steps are "
                "not (only the end of a series may be padding)"
            )
    return [int(k) for k in lengths]
