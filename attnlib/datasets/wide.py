"""Wide tables of series: one series per row, one column per time step.

This is how a data frame holds a UCR set. ``pd.read_csv(path, sep="\\t", header=None)``
saved with ``to_parquet`` or ``to_csv(index=False)`` names its columns ``0`` .. ``N``
(polars: ``column_0`` ..), the label in the first (the archive's layout) when it holds
names or whole numbers; a table built by hand has a ``label`` column beside its value
columns. ``id`` and ``split`` mean what they mean in every table. A column that pandas
wrote for its index (an unnamed first column, ``Unnamed: 0``, ``__index_level_0__``,
``index`` / ``level_0`` from ``reset_index()``, or the index columns a Parquet file's
pandas metadata names) is the id when it is one unique column, else dropped; no other
column is guessed to be an index. Trailing missing values are padding (variable-length
sets); a missing value inside a series is a gap (:mod:`attnlib.datasets.gaps`).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import NamedTuple

import numpy as np
import polars as pl

from attnlib.datasets import gaps
from attnlib.datasets.series import F32_MAX, is_number, series_frame
from attnlib.datasets.tables import (
    RESET_LEVELS,
    SAVED_INDEX,
    TIME_NAMES,
    as_text,
    ids_column,
    optional_columns,
    unnamed,
    unnamed_run,
)
from attnlib.errors import DataError

log = logging.getLogger(__name__)

_NAMED = ("id", "label", "split")
MIN_STEPS = 3  # fewer value columns: a table of features, not a series
CLASS_NAMES = ("target", "class", "classes", "y", "labels", "category")  # not a time step


class Layout(NamedTuple):
    steps: list[str]  # the value columns, in time order
    label: str | None  # "label", the first of generated names (to be confirmed), or None
    index: list[str]  # columns pandas saved for its index (the id, when one, unique, no "id")
    generated: bool  # the names are a frame's generated ones: the label is a guess


def generated_names(names: list[str]) -> bool:
    """``0, 1, ..., N`` (pandas' names for a frame read without a header) or ``column_0,
    ..., column_N`` (polars'; ``column_1, ...`` in polars before 1.0)."""
    start = _run_start(names)
    return len(names) > 1 and (start == 0 or (start == 1 and names[0].startswith("column_")))


def _run_start(names: list[str]) -> int | None:
    """The first number of a run of consecutive generated names, all bare (``3, 4, ...``)
    or all ``column_`` ones; None when ``names`` are not such a run."""
    numbers = [n.removeprefix("column_") for n in names]
    prefixes = {n.startswith("column_") for n in names}
    if not names or len(prefixes) != 1 or not all(_number(n) for n in numbers):
        return None
    start = int(numbers[0])
    return start if numbers == [str(i) for i in range(start, start + len(numbers))] else None


def _generated(name: str) -> bool:  # "7" or "column_7"
    return _number(name.removeprefix("column_"))


def layout(names: list[str], saved: list[str] | None = None) -> Layout:
    """Which columns are steps, label and saved index, from the names (and ``saved``, the
    index columns a Parquet file's pandas metadata names)."""
    index = [n for n in (saved or []) if n in names and n not in _NAMED]
    index += unnamed_run(names) + [n for n in SAVED_INDEX if n in names]
    index += ["level_1"] if names[:2] == RESET_LEVELS else []  # reset_index()'s
    index = list(dict.fromkeys(index))  # __index_level_0__ may be both
    rest = [n for n in names if n not in _NAMED and n not in index]
    if "label" not in names and generated_names(rest):
        return Layout(rest[1:], rest[0], index, True)
    return Layout(rest, "label" if "label" in names else None, index, False)


def beside_generated(names: list[str]) -> list[str]:
    """Columns with names of their own beside a run of generated ones (``sample, 0, ...,
    N``): a class, an id or an index the table does not say is one."""
    generated, others = _split_generated(names)
    return others if others and _run_start(generated) in (0, 1) else []


def generated_steps(names: list[str]) -> bool:
    """A run of generated names (``0, ..., N``) among the value columns, alone or beside
    columns with names of their own (a class under another name): a wide table's steps."""
    generated, _ = _split_generated(names)
    return len(generated) > 1 and _run_start(generated) in (0, 1)


def _split_generated(names: list[str]) -> tuple[list[str], list[str]]:
    """The value columns with generated names (``0``, ``column_3``), and the others."""
    steps = layout(names).steps
    return [n for n in steps if _generated(n)], [n for n in steps if not _generated(n)]


def pandas_header(names: list[str]) -> bool:
    """Generated names (beside id, split or a saved index): the label in the first."""
    return layout(names).generated


def looks_wide(
    names: list[str], first_row: list[str | None] | None = None, saved: list[str] | None = None
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


def other_columns(frame: pl.DataFrame, saved: list[str] | None = None) -> list[str]:
    """A Parquet table's value columns that are neither numeric nor all null."""
    return [n for n in layout(frame.columns, saved).steps
            if not (frame.schema[n].is_numeric() or frame.schema[n] == pl.Null)]  # fmt: skip


def read_wide(
    frame: pl.DataFrame, path: Path, where, saved: list[str] | None = None
) -> pl.DataFrame:
    """A wide table as a series frame (``id``, ``values`` (T x 1)[, ``label``][, ``split``]).

    ``where(i)`` names row i (``line 3``, ``row 2``); ``saved`` names the index columns a
    Parquet file's pandas metadata lists. Every value cell must be a number; missing cells
    (empty, null, NaN) end a row (padding) or are gaps (:mod:`attnlib.datasets.gaps`).
    """
    if frame.height == 0:
        raise DataError(f"{path}: no rows")
    steps, label, index, generated = layout(frame.columns, saved)
    named = next((n for n in steps if n.strip().lower() in CLASS_NAMES), None)
    if named is not None and label is None:
        raise DataError(f"{path}: column '{named}' reads as a time step of a wide table; if "
                        "it is the class, name it 'label'")  # fmt: skip
    if extra := beside_generated([n for n in frame.columns if n not in index]):
        raise DataError(f"{path}: column(s) {extra[:5]} beside generated names ("
                        f"{_span(frame.columns)}) are not time steps: name a class column "
                        "'label' and ids 'id' (or give ingest.label_column, id_column), or drop "
                        "them")  # fmt: skip
    if generated:
        steps, label = _generated_label(frame[label], steps, path)
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


def _number(name: str) -> bool:
    return name.isascii() and name.isdigit()  # not "²": str.isdigit() takes it, int() not


def _span(names: list[str]) -> str:
    generated = [n for n in names if _generated(n)]
    return f"{generated[0]} .. {generated[-1]}"


def _generated_label(column: pl.Series, steps: list[str], path: Path):
    """(steps, label) for a table under generated names, whose first column is the label
    in the archive's layout: names or whole numbers are the class (with a warning where
    that looks doubtful); anything else, or an empty column (unlabelled), is not."""
    name, values = column.name, column.drop_nulls()
    if len(values) == 0:
        log.info("%s: column '%s' is empty: the series are unlabelled", path, name)
        return steps, None
    if not _classes(values):
        log.warning("%s: column '%s' (the label in the archive's layout) holds numbers that "
                    "are not all whole: read as the first time step, unlabelled; name the "
                    "class column 'label'", path, name)  # fmt: skip
        return [name, *steps], None
    classes = values.n_unique()
    if column.len() > 1 and (classes == column.len() or classes > max(10, column.len() // 4)):
        log.warning("%s: column '%s' read as the class, as the archive's layout has it: %d "
                    "classes in %d rows; if it is a row number or a time step, give the "
                    "class as a 'label' column", path, name, classes, column.len())  # fmt: skip
    return steps, name


def _classes(values: pl.Series) -> bool:
    """Names (text, categories, booleans) or whole numbers."""
    if isinstance(values.dtype, pl.Categorical | pl.Enum) or values.dtype == pl.Boolean:
        return True
    if values.dtype == pl.String:
        numbers = values.str.strip_chars().cast(pl.Float64, strict=False)
        if numbers.null_count() > 0:
            return True  # names
        values = numbers
    if not values.dtype.is_numeric():
        return False
    whole = values.cast(pl.Float64)
    return bool((whole.is_finite() & (whole == whole.round(0))).all())


def _with_id(frame: pl.DataFrame, index: list[str], path: Path) -> pl.DataFrame:
    """``frame`` with pandas' saved index as its ``id`` (one column, unique, and no ``id``
    beside it); otherwise the index columns are dropped and ids are ``row<N>``."""
    if not index:
        return frame
    if "id" in frame.columns or len(index) > 1:
        reset = index[:2] == RESET_LEVELS  # reset_index()'s unnamed levels
        if named := [n for n in index if n not in SAVED_INDEX and not unnamed(n) and not reset]:
            log.warning("%s: pandas' index column(s) %s dropped (%s); if one is the class, "
                        "reset_index() and name it 'label'; a series' id and its time: give "
                        "ingest.id_column and ingest.time_column", path, named,
                        "an 'id' column is the id" if "id" in frame.columns else
                        "several index levels")  # fmt: skip
        elif second := [n for n in index if n in ("Unnamed: 1", "__index_level_1__", "level_1")]:
            log.warning("%s: pandas' unnamed index of several levels dropped: the rows of a "
                        "wide table; if its levels are each series' id and time step, give "
                        "ingest.id_column=%s and ingest.time_column=%s",
                        path, index[0], second[0])  # fmt: skip
        return frame.drop(index)
    column = frame[index[0]]
    if column.is_duplicated().any() or column.is_null().any():
        level = logging.INFO if index[0] in SAVED_INDEX or unnamed(index[0]) else logging.WARNING
        log.log(level, "%s: column '%s' (pandas' index) repeats or has gaps: dropped, ids are "
                "row numbers; if it is the class, reset_index() and name it 'label'", path,
                index[0])  # fmt: skip
        return frame.drop(index)
    return frame.rename({index[0]: "id"})


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
        hint = ("; text to classify goes in a column named 'text' (or 'tokens')" if words else
                "; a class column is named 'label', ids 'id' (or ingest.label_column, "
                "id_column)")  # fmt: skip
        raise DataError(
            f"{path}, {where(i)}: column '{column.name}': '{column[i]}' is not a number{hint}"
        )
    return parsed.fill_null(float("nan")).to_numpy()


def _lengths(matrix: np.ndarray, steps: list[str], path: Path, where) -> list[int]:
    """Each row's length once trailing missing values are dropped (``matrix``'s gaps before
    the end filled in place: :mod:`attnlib.datasets.gaps`); an infinite value or a row with
    no values is a DataError at its row."""
    missing = np.isnan(matrix)
    if np.isinf(matrix).any():
        i, j = np.argwhere(np.isinf(matrix))[0]
        raise DataError(f"{path}, {where(i)}: column '{steps[j]}': infinite value")
    present = ~missing
    lengths = np.where(present.any(axis=1), matrix.shape[1] - present[:, ::-1].argmax(axis=1), 0)
    for i, k in enumerate(lengths):
        if k == 0:
            raise DataError(f"{path}, {where(i)}: no values (every step column is empty)")
        if missing[i, :k].any():  # a gap, not padding: filled in place (or refused)
            matrix[i, :k] = gaps.filled(matrix[i, :k], f"{path}, {where(i)}: ", steps=steps)
    return [int(k) for k in lengths]
