"""pandas' index levels saved beside a table's columns (``to_parquet``, ``to_csv``,
``reset_index()``): when two of them are a series id and its time step (sktime's
``pd-multiindex`` panels, ``set_index([id, time])``, a frame's ``stack()``), and the
renaming that reads them so."""

from __future__ import annotations

import logging
import re

import polars as pl

from attnlib.datasets import series, stacked, tables, wide
from attnlib.datasets.times import dates, read_times

log = logging.getLogger(__name__)


def with_index_levels(frame: pl.DataFrame, saved: list[str], path: object,
                      keep: tuple[str, ...] = ()):  # fmt: skip
    """``frame`` with pandas' two-level index renamed as :func:`index_levels` reads it
    (logged), and ``saved`` (its index columns) renamed alike; never when ``frame`` holds
    one of ``keep`` (a forecaster's own columns: :func:`attnlib.datasets.panel.forecaster`)."""
    if set(frame.columns) & set(keep) or not (roles := index_levels(frame.columns, saved, frame)):
        return frame, saved
    log.info("%s: pandas' two-level index %s: %s", path, pair(frame.columns, saved), ", ".join(
        f"'{c}' the {'series id' if r == 'id' else r}" for c, r in roles.items()))  # fmt: skip
    return frame.rename(roles), [roles.get(c, c) for c in saved]


def index_levels(columns: list[str], saved: list[str] | None = None,
                 rows: pl.DataFrame | None = None) -> dict[str, str]:  # fmt: skip
    """pandas' two-level index saved beside a table's columns when it is a series id and
    its time step (sktime's ``pd-multiindex`` panels; ``set_index([id, time])``; a frame's
    ``stack()``, time first), as the renaming that makes them ``id`` and the time (or, for
    whole years and months 1-12 without a label, ``year`` and ``month``: one time);
    ``{}`` when it is not, or the table has an ``id`` or holds sequences (``tokens``,
    ``text``, ``values``). Named levels are when one names a time and the other does not
    (``store, date``; sktime's ``instances, timepoints``); unnamed ones unless another
    column names a time, the columns are a frame's generated ``0, 1, ..., N`` (a wide
    table's, a class beside them or not: the index is the rows'), or ``rows`` (the table,
    or a CSV's first 200 rows) show no first-level value repeating or a label changing
    within every one (the rows of a wide table again: ``pd.concat({"train": ..., "test":
    ...})``). The id comes first unless the first row has a date in the first level and a
    name in the second.
    ``saved``: a Parquet file's index columns (pandas' metadata); else the first two
    columns when both are unnamed (``Unnamed: 0, Unnamed: 1``: a CSV's,
    :func:`attnlib.datasets.rows.unnamed_levels`; ``level_0, level_1``: ``reset_index()``'s)."""
    names, levels = tables.known_names(columns), pair(columns, saved)
    if not levels or {"id", *tables.DATA_COLUMNS} & set(names):
        return {}
    low = [n.strip().lower() for n in levels]
    time = series.time_column(columns)
    if all(tables.unnamed(n) or re.fullmatch(r"level_\d+", n) for n in levels):
        rest = [n for n, c in zip(names, columns, strict=True) if c not in levels]
        if time is not None or wide.generated_steps(rest) or _rows_of_a_table(rows, levels):
            return {}
        if "label" not in names and _years_months(rows, levels):  # groupby(year, month)
            return {levels[0]: "year", levels[1]: "month"}
        first = rows.row(0, named=True) if rows is not None and rows.height else {}
        stacked_frame = dates(pl.Series([first.get(levels[0])])) and _a_name(first.get(levels[1]))
        return {levels[0]: "time", levels[1]: "id"} if stacked_frame else {
            levels[0]: "id", levels[1]: "time"}  # fmt: skip
    stacked_kinds = () if "label" in names else kinds(columns)  # a label: one per series
    for t, other in ((1, 0), (0, 1)):  # one level the time, the other the id (not a kind)
        if time == levels[t] and low[other] not in (*tables.TIME_NAMES, *stacked_kinds):
            return {levels[other]: "id"}
    return {}


def pair(columns: list[str], saved: list[str] | None) -> list[str]:
    """The two index levels pandas saved, or []: ``saved`` (a Parquet file's, from its
    metadata) when it holds two; else the first two columns when both are unnamed
    (``Unnamed: 0, Unnamed: 1``) or are ``reset_index()``'s ``level_0, level_1``."""
    if len(saved or []) == 2:
        return list(saved)
    unnamed = tables.unnamed_run(columns) == ["Unnamed: 0", "Unnamed: 1"]
    reset = columns[:2] == tables.RESET_LEVELS and "level_2" not in columns
    return columns[:2] if unnamed or reset else []


def kinds(columns: list[str]) -> tuple[str, ...]:
    """The names a stacked table's column of channel names goes by, when it has a value
    column (:mod:`attnlib.datasets.stacked`): such a level is no id."""
    return stacked.KIND_NAMES if stacked.value_column(columns) else ()


def _rows_of_a_table(rows: pl.DataFrame | None, levels: list[str]) -> bool:
    """Unnamed index levels that cannot be series and their steps: a first level that never
    repeats (series of one step each), or a label (by its known name) that changes within
    every first-level value (``pd.concat`` of a train and a test table). One stray cell is
    no such evidence: the panel's reader names its line."""
    if rows is None or rows.height < 2:
        return False
    if not rows[levels[0]].is_duplicated().any():
        return True
    label = next((c for c, k in zip(rows.columns, tables.known_names(rows.columns),
                                    strict=True) if k == "label"), None)  # fmt: skip
    return label is not None and bool(
        rows.group_by(levels[0]).agg(pl.col(label).n_unique())[label].min() > 1
    )


def _years_months(rows: pl.DataFrame | None, levels: list[str]) -> bool:
    """Levels of whole years (1000-9999) and months (1-12) that make one calendar, each
    month once and none missing between the first and the last (as grouping a date index
    by its year and month makes them); not ids in that range beside steps 1-12."""
    if rows is None or not rows.height:
        return False
    year, month = (rows[n].cast(pl.Float64, strict=False) for n in levels)
    if year.null_count() or month.null_count():  # not numbers (or gaps): no years, months
        return False
    whole = (year == year.round()).all() and (month == month.round()).all()
    if not (whole and year.is_between(1000, 9999).all() and month.is_between(1, 12).all()):
        return False
    stamps = (year * 12 + month).sort()
    return not stamps.is_duplicated().any() and bool((stamps.diff().drop_nulls() == 1).all())


def _a_name(cell) -> bool:
    """A cell that is a name: text that reads as no number, date, time of day or duration
    (a frame's column names, as ``stack()`` puts them in its second level)."""
    if not isinstance(cell, str) or re.fullmatch(r"[\d\s:.,+-]*", cell):
        return False
    return read_times(pl.Series([cell])) is None
