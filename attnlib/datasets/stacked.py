"""A stacked long table: one row per time step and channel, the channel named in a column
of names beside one ``value`` column (tsfresh's ``column_kind`` / ``column_value``,
pandas' ``melt`` with its ``variable`` and ``value``, tidyr's ``pivot_longer`` with
``name`` and ``value``, sktime's long ``dim_id``). It is unstacked into one column per
name, the names sorted as people sort them (``dim_2`` before ``dim_10``: the same channels
in the same order for every file, whatever the order of its rows), and then read as any
long table (one series, many by id, or many on one clock: :mod:`attnlib.datasets.panel`)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import polars as pl

from attnlib.datasets import series
from attnlib.datasets.calendar import stamp_keys
from attnlib.datasets.tables import as_text, fail_first
from attnlib.errors import DataError

log = logging.getLogger(__name__)

KIND_NAMES = ("kind", "variable", "name", "dim_id", "column", "channel")  # the first found is read


def value_column(columns: list[str]) -> str | None:
    """The column of values of a stacked table: the one named ``value`` in any case."""
    return next((c for c in columns if c.strip().lower() == "value"), None)


def kind_column(frame: pl.DataFrame) -> str | None:
    """The column of channel names of a stacked table with known names: one of
    :data:`KIND_NAMES` beside a ``value`` column and a time column, when the rows of one
    time (of one id) repeat or it holds one name (one channel); None for any other table."""
    names = {c.strip().lower(): c for c in reversed(frame.columns)}
    kind = next((names[n] for n in KIND_NAMES if n in names), None)
    time = series.time_column(frame.columns)
    if kind is None or time is None or value_column(frame.columns) is None or kind == time:
        return None
    text = frame[kind].dtype in (pl.String, pl.Categorical)
    if text and frame[kind].drop_nulls().n_unique() == 1:  # one channel: no step repeats
        return kind
    return None if frame.select(_keys(frame.columns, time)).is_unique().all() else kind


def _keys(columns: list[str], time: str) -> list[str]:
    """The columns that name one time step of one series: the id and the time's."""
    return [*(["id"] if "id" in columns else []), *stamp_keys(columns, time)]


def unstack(frame: pl.DataFrame, kind: str, path: Path, where, gaps_ok: bool = False):
    """``frame`` (a stacked table with known names, its :func:`kind_column` ``kind``) with
    one column per name, on the row of each time step (of each id), and ``where(i)`` for
    it: the line of that step's first row. Every other column (a label, a split, an
    attribute) must be one per step. ``gaps_ok``: the series (by id) are ones to classify,
    their missing values left for the panel to fill (:mod:`attnlib.datasets.gaps`).

    Raises:
        DataError: a missing name, a value that is not a number, a name that repeats
            within a step, another column that changes within one, a step without some
            name, a name that is already a column (each at its line).
    """
    names = as_text(frame[kind], path, kind).str.strip_chars()
    fail_first(names.is_null() | (names == ""), path, where, f"missing name in '{kind}'")
    order = sorted(names.unique().drop_nulls().to_list(), key=lambda n: (_natural(n), n))
    if clash := [n for n in order if n in frame.columns]:
        first = int((names == clash[0]).arg_true()[0])
        raise DataError(f"{path}, {where(first)}: name '{clash[0]}' in column '{kind}' is "
                        "also a column; rename one")  # fmt: skip
    time = series.time_column(frame.columns)
    keys = _keys(frame.columns, time)
    for key in keys:
        fail_first(frame[key].is_null(), path, where, f"missing {key} in '{key}'")
    value = value_column(frame.columns)
    frame = frame.drop(series.saved_index(frame.columns, path, keys))  # pandas' row numbers
    others = [c for c in frame.columns if c not in (*keys, kind, value)]
    # gaps_ok: series to classify, whose gaps the panel fills (numeric_channel: unless
    # ingest.missing is error); a series to forecast has its gap refused here, at its line
    numbers = series.float32_channel(frame, value, path, where, gaps_ok=gaps_ok and "id" in keys)
    rows = frame.with_columns(names.alias(kind), numbers.alias("value")).with_row_index("_row")
    step = pl.struct(keys)
    for column in others:  # a label, split or attribute: one per step
        first = rows.select(pl.col(column).first().over(step)).to_series()
        _first_at(rows, rows[column].ne_missing(first), keys, path, where,
                  lambda _, c=column: f"column '{c}' differs within a time step (a label, "
                  "split or other column is one per step; an id under another name needs "
                  "ingest.id_column)")  # fmt: skip
    twice = ~rows.select(pl.struct(*keys, kind).is_first_distinct()).to_series()
    _first_at(rows, twice, keys, path, where, lambda r: (
        f"'{r[kind]}' in column '{kind}' repeats at {time} '{r[time]}'"
        + (f" of id '{r['id']}'" if "id" in keys else "") + " (one row per time step and "
        "name)"))  # fmt: skip
    steps = rows.group_by(keys, maintain_order=True).agg(pl.len(), pl.col("_row").min(),
                                                         pl.col(kind))  # fmt: skip
    if (short := steps["len"] < len(order)).any():
        j = int(short.arg_true()[0])
        missing = next(n for n in order if n not in steps[kind][j])
        raise DataError(f"{path}, {where(int(steps['_row'][j]))}: the time step on this line "
                        f"has no row for '{missing}' in column '{kind}' (a stacked table "
                        f"needs every name at every time step; names {order[:6]})")  # fmt: skip
    wide = rows.pivot(on=kind, index=[*keys, *others], values="value",
                      aggregate_function="first", maintain_order=True)  # fmt: skip
    log.info("%s: a stacked table: column '%s' names %d channel(s) %s, their values in "
             "'value'", path, kind, len(order), order[:6])  # fmt: skip
    firsts = steps["_row"]
    return wide.select(*keys, *others, *order), lambda i: where(int(firsts[i]))


def _natural(name: str) -> list:
    """Sorts names as people do (``dim_2`` before ``dim_10``): the same order for every
    file, whatever the order of its rows (a forecaster, or a model without channel names,
    reads channels by position)."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", name)]


def _first_at(rows: pl.DataFrame, bad: pl.Series, keys: list[str], path: Path, where,
              say) -> None:  # fmt: skip
    """An error at the first row of ``bad``, ``say(row)`` (its cells by column), that also
    names its time step's first line."""
    if not bad.any():
        return
    i = int(bad.arg_true()[0])
    row = rows.row(i, named=True)
    step = rows.filter(pl.all_horizontal(pl.col(k).eq_missing(row[k]) for k in keys))
    raise DataError(f"{path}, {where(i)}: {say(row)}; the step begins "
                    f"{where(int(step['_row'][0]))}")  # fmt: skip
