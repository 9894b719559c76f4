"""Wide tables of series: one series per row, one column per time step.

This is how a data frame holds a UCR set. ``pd.read_csv(path, sep="\\t", header=None)``
saved with ``to_parquet`` or ``to_csv(index=False)`` names its columns ``0`` .. ``N``, the
label in ``0`` (the archive's layout); a table built by hand has a ``label`` column beside
its value columns (``t0``, ``t1``, ... or pandas' ``0`` .. ``N-1``). ``id`` and ``split``
mean what they mean in every table. A column that pandas wrote for its index (an unnamed
first column, ``Unnamed: 0``, ``__index_level_0__``, or one named column beside ``0`` ..
``N``) is the id when there is no ``id``. Trailing missing values are padding
(variable-length sets); a missing value inside a series is an error.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from attnlib.datasets.series import F32_MAX, is_number, series_frame
from attnlib.datasets.tables import TIME_NAMES, as_text, ids_column, optional_columns
from attnlib.errors import DataError

log = logging.getLogger(__name__)

SAVED_INDEX = ("Unnamed: 0", "__index_level_0__")  # pandas' index, also "" as column 1
_NAMED = ("id", "label", "split")
MIN_STEPS = 3  # fewer value columns: a table of features, not a series
CLASS_NAMES = ("target", "class", "classes", "y", "labels", "category")  # not a time step


class Layout(NamedTuple):
    steps: list[str]  # the value columns, in time order
    label: str | None  # "label", "0" (pandas' header: to be confirmed by its values) or None
    index: str | None  # a column pandas saved for its index: the id when there is no "id"


def _run(names: list[str]) -> bool:
    return bool(names) and names == [str(i) for i in range(len(names))]


def layout(names: list[str], saved: str | None = None) -> Layout:
    """Which columns are steps, label and saved index, from the names alone (and
    ``saved``, the index column a Parquet file's pandas metadata names)."""
    index = "" if names[:1] == [""] else next((n for n in SAVED_INDEX if n in names), None)
    if index is None and saved in names and saved not in _NAMED:
        index = saved
    rest = [n for n in names if n not in _NAMED and n != index]
    if index is None and "id" not in names and len(rest) > 1 and _named_index(rest[0]):
        if _run(rest[1:]) and len(rest) > MIN_STEPS + 1:  # pandas writes a named index first
            index, rest = rest[0], rest[1:]
    if "label" not in names and _run(rest) and len(rest) > 2:
        return Layout(rest[1:], "0", index)
    return Layout(rest, "label" if "label" in names else None, index)


def _named_index(name: str) -> bool:
    return not name.isdigit() and name.strip().lower() not in CLASS_NAMES


def pandas_header(names: list[str]) -> bool:
    """``0, 1, ..., N`` (beside id, split or a saved index): pandas' names for a frame
    read without a header, the label in ``0``."""
    return layout(names).label == "0"


def looks_wide(
    names: list[str], first_row: list[str | None] | None = None, saved: str | None = None
) -> bool:
    """A wide table's header: no tokens / text / values / time column, 3+ value columns,
    and (when given, for text files) at least half the first row's value fields numbers
    or empty, or a class column under another name (read_wide then names the bad cell)."""
    lowered = {n.strip().lower() for n in names}
    if lowered & {"tokens", "text", "values", *TIME_NAMES}:
        return False
    steps = layout(names, saved).steps
    if len(steps) < MIN_STEPS or first_row is None:
        return len(steps) >= MIN_STEPS
    if any(n.strip().lower() in CLASS_NAMES for n in steps):
        return True
    cells = dict(zip(names, first_row, strict=False))
    numbers = sum(cells.get(n) in (None, "") or is_number(cells[n]) for n in steps)
    return 2 * numbers >= len(steps)


def other_columns(frame: pl.DataFrame, saved: str | None = None) -> list[str]:
    """A Parquet table's value columns that are neither numeric nor all null."""
    return [n for n in layout(frame.columns, saved).steps
            if not (frame.schema[n].is_numeric() or frame.schema[n] == pl.Null)]  # fmt: skip


def pandas_index(path: Path) -> str | None:
    """The named index column a Parquet file's pandas metadata lists, if any."""
    try:
        meta = pq.read_schema(path).pandas_metadata or {}
    except Exception:  # noqa: BLE001  (no or odd metadata: no index to name)
        return None
    named = [c for c in meta.get("index_columns", []) if isinstance(c, str)]
    return named[0] if len(named) == 1 else None


def read_wide(frame: pl.DataFrame, path: Path, where, saved: str | None = None) -> pl.DataFrame:
    """A wide table as a series frame (``id``, ``values`` (T x 1)[, ``label``][, ``split``]).

    ``where(i)`` names row i (``line 3``, ``row 2``); ``saved`` is the index column a
    Parquet file's pandas metadata names. Every value cell must be a number; missing cells
    (empty, null, NaN) may only end a row.
    """
    if frame.height == 0:
        raise DataError(f"{path}: no rows")
    steps, label, index = layout(frame.columns, saved)
    named = next((n for n in steps if n.strip().lower() in CLASS_NAMES), None)
    if named is not None and label is None:
        raise DataError(f"{path}: column '{named}' reads as a time step of a wide table; if "
                        "it is the class, name it 'label'")  # fmt: skip
    if label == "0" and not _looks_like_classes(frame["0"]):
        log.warning("%s: column '0' of pandas' header 0 .. N does not look like class labels "
                    "(names, or whole numbers: 1 .. K, or at most max(10, rows / 2) values): "
                    "read as the first time step; name the class column 'label'", path)  # fmt: skip
        steps, label = ["0", *steps], None
    elif label == "0":
        log.info("%s: column '0' of pandas' header 0 .. N read as the class (%d values)",
                 path, frame["0"].n_unique())  # fmt: skip
    if len(steps) < MIN_STEPS:
        raise DataError(f"{path}: a wide table needs at least {MIN_STEPS} value columns (one "
                        f"per time step); found {steps}")  # fmt: skip
    matrix = np.column_stack([_numbers(frame[n], path, where) for n in steps])  # (N, T)
    lengths = _lengths(matrix, steps, path, where)
    big = np.abs(np.nan_to_num(matrix)) > F32_MAX
    if big.any():
        i, j = np.argwhere(big)[0]
        raise DataError(f"{path}, {where(i)}: column '{steps[j]}': value too large (float32)")
    frame = _with_id(frame, index, path)
    labels = _labels(frame[label], label, path, where) if label else None
    split = {s.name: s for s in optional_columns(frame.drop("label", strict=False), path, where)}
    return series_frame(
        ids_column(frame, path, where).to_list(),
        [matrix[i, :k, None] for i, k in enumerate(lengths)],
        labels,
        split["split"].to_list() if "split" in split else None,
    )


def _looks_like_classes(column: pl.Series) -> bool:
    """Names, or whole numbers that are 1 .. K or 0 .. K-1 (every one present: the UCR
    archive numbers its classes so) or of at most max(10, rows / 2) values: a class
    column, not a time step."""
    values = column.drop_nulls()
    if isinstance(values.dtype, pl.Categorical | pl.Enum):
        return True
    if values.dtype == pl.String:
        numbers = values.str.strip_chars().cast(pl.Float64, strict=False)
        if numbers.null_count() > 0:
            return True  # names
        values = numbers
    if not values.dtype.is_numeric() or len(values) == 0:
        return False
    whole = values.cast(pl.Float64)
    if not (whole.is_finite() & (whole == whole.round(0))).all():
        return False
    distinct = whole.unique().sort().to_list()
    start = int(distinct[0])
    if start in (0, 1) and distinct == list(range(start, start + len(distinct))):
        return True
    return len(distinct) <= max(10, len(column) // 2)


def _with_id(frame: pl.DataFrame, index: str | None, path: Path) -> pl.DataFrame:
    """``frame`` with pandas' saved index as its ``id`` (when it has no ``id``); an index
    that repeats (``pd.concat`` without ``ignore_index``) is dropped, ids ``row<N>``."""
    if index is None or "id" in frame.columns:
        return frame
    if frame[index].is_duplicated().any() or frame[index].is_null().any():
        log.info("%s: column '%s' (pandas' index) repeats or has gaps: ids are row numbers",
                 path, index)  # fmt: skip
        return frame.drop(index)
    return frame.rename({index: "id"})


def _labels(column: pl.Series, name: str, path: Path, where) -> list[str]:
    """The class column as text; ``1.0`` and ``1.0000000e+00`` read as ``1`` (``01``
    stays); a missing or NaN cell is a DataError at its row."""
    text = as_text(column, path, name).str.strip_chars()
    missing = text.is_null() | text.str.to_lowercase().is_in(["", "nan"])
    if missing.any():
        raise DataError(f"{path}, {where(missing.arg_true()[0])}: missing label "
                        f"(column '{name}')")  # fmt: skip
    return [_whole(t) for t in text.to_list()]


def _whole(text: str) -> str:
    if any(c in text for c in ".eE") and is_number(text) and float(text).is_integer():
        return str(int(float(text)))
    return text


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
        words = " ".join(column[i].split()).count(" ") >= 1  # text, not a stray mark
        hint = "; text to classify goes in a column named 'text' (or 'tokens')" if words else ""
        raise DataError(
            f"{path}, {where(i)}: column '{column.name}': '{column[i]}' is not a number{hint}"
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
