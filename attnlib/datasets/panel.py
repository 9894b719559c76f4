"""A long table of many series: an ``id`` column beside the time column, one row per series
and time step (tsfresh's long layout, and what a query over a table of readings returns).
Each id is one series, its rows in time order; a ``label`` column is its class, the same
on each of its rows. Such a table is read as series to classify, as the UCR layout is.
Without a label, times that repeat are many series on one clock to forecast together
(:mod:`attnlib.datasets.clock`); a long table without a label whose times do not repeat
is one series to forecast (:func:`attnlib.datasets.series.read_long`), its ``id`` a row
id."""

from __future__ import annotations

import contextlib
import contextvars
import logging
from pathlib import Path

import numpy as np
import polars as pl

from attnlib.datasets import channel_names, clock, gaps, levels, roles, series, stacked, tables
from attnlib.datasets.calendar import stamp_keys
from attnlib.datasets.tables import as_text, optional_columns
from attnlib.datasets.times import durations_as_seconds, read_times
from attnlib.errors import DataError

log = logging.getLogger(__name__)

# set while reading for a series classifier (attnlib predict): ids that repeat are series
_FOR_CLASSIFIER = contextvars.ContextVar("for_classifier", default=False)
# set while reading for a forecaster: the columns it was trained on (clock.reads_for)
_FORECASTER = contextvars.ContextVar("for_forecaster", default=())
# set while reading with a model's stored id name (Model.columns), not one the user gave
_STORED_ID = contextvars.ContextVar("stored_id", default=False)


@contextlib.contextmanager
def _setting(var: contextvars.ContextVar, value):
    token = var.set(value)
    try:
        yield
    finally:
        var.reset(token)


def for_classifier(wanted: bool = True):
    """While reading for a model that classifies series, a long table whose ids repeat is
    its series without a label or repeated times too (one unlabelled recording to score)."""
    return _setting(_FOR_CLASSIFIER, wanted)


def for_forecaster(channels=()):
    """While reading for a forecaster trained on series on one clock (its ``channels``
    named ``y_H1`` ...), a long table with those ids is read so, with any number of ids
    (one series of the clock to forecast, too)."""
    return _setting(_FORECASTER, tuple(channels))


def stored_id(stored: bool = True):
    """While reading with a model's stored ``ingest.id_column`` (not one the user gave): a
    file whose table reads as one series is read so, not refused for the id."""
    return _setting(_STORED_ID, stored)


@contextlib.contextmanager
def for_model(model, stored: bool = False):
    """While reading for ``model`` (:class:`attnlib.api.Model`): its series as a classifier
    or a forecaster reads them (:func:`for_classifier`, :func:`for_forecaster`), a
    classifier's channels by their names (:mod:`attnlib.datasets.channel_names`), and
    ``stored``: the id under the model's stored name (:func:`stored_id`)."""
    with (
        for_classifier(model.reads_series),
        for_forecaster(model.channels),
        channel_names.expecting(model.channel_names),
        stored_id(stored),
    ):
        yield


def forecaster() -> tuple[str, ...]:
    """The columns of the forecaster being read for (:func:`for_forecaster`), or ()."""
    return _FORECASTER.get()


def is_panel(frame: pl.DataFrame) -> bool:
    """Many series (or one to classify), in a frame with known names
    (:func:`attnlib.datasets.tables.with_known_names`: ``ID`` as ``id``): an ``id`` column
    beside a time column on which some id repeats, and either a ``label`` column, times
    that repeat (several series on one clock), or a reader for a series classifier
    (:func:`for_classifier`). Otherwise the ids are row ids (or change along one timeline)
    and the table is one series."""
    time = series.time_column(frame.columns)
    if "id" not in frame.columns or time in (None, "id") or not frame["id"].is_duplicated().any():
        return False
    if _to_classify(frame):
        return True
    keys = stamp_keys(frame.columns, time)
    if not frame.select(keys).is_unique().all():  # repeats as written: read or not
        return True
    parsed = read_times(frame[time]) if keys == [time] else None
    return parsed is not None and not parsed.null_count() and not parsed.is_unique().all()


def read_table(
    frame: pl.DataFrame, path: Path, where, columns: dict[str, str]
) -> tuple[pl.DataFrame, str]:
    """A long table, and what it read as for the read line (``""`` for one series): many
    series to classify (:func:`read_panel`), many without a label on one clock to forecast
    together (:func:`attnlib.datasets.clock.read_clock`), else one series to forecast
    (:func:`attnlib.datasets.series.read_long`, its ``id`` in any case left out; a label
    named in ``columns``, the roles, is refused there); a stacked table unstacked first
    (:mod:`attnlib.datasets.stacked`)."""
    known = tables.with_known_names(frame)
    if kind := stacked.kind_column(known):
        unstacked, where = stacked.unstack(known, kind, path, where, _to_classify(known))
        out, how = read_table(unstacked, path, where, columns)
        return out, f"; stacked, a column per name in '{kind}'{how}"
    if clock.reads_for(known, forecaster(), path):
        return clock.read_clock(known, path, where), clock.note(known)
    many = is_panel(known)
    timed = series.time_column(known.columns) not in (None, "id")
    if "id" in columns and not many and timed and not _STORED_ID.get():
        roles.refuse_id(columns, path, bool(known["id"].is_duplicated().any()))
    roles.check_long(columns, path, many)
    if many:
        return _read_many(known, path, where)
    ids = [c for c, k in zip(frame.columns, known.columns, strict=True) if k == "id"]
    why = ("" if not ids else "its ids change along one timeline, where a table of many "
           "series has a label (to classify) or times that repeat (to forecast)" if
           known["id"].is_duplicated().any() else "its ids are row ids, where a table of many "
           "series has some id on more than one row")  # fmt: skip
    return series.read_long(frame.drop(ids), path, where, why), ""


def _to_classify(known: pl.DataFrame) -> bool:
    """Whether a table's series are ones to classify: it has a label, or is read for a
    classifier (series by id without either are on one clock, to forecast)."""
    return "label" in known.columns or _FOR_CLASSIFIER.get()


def as_series(frame: pl.DataFrame, source: object) -> pl.DataFrame:
    """A frame given to a model in Python, read as a file of it is: a panel as one series
    per id (or, without a label and not for a classifier, series on one clock as one
    table to forecast: :mod:`attnlib.datasets.clock`); any other frame as it is."""
    if isinstance(frame.schema.get("values"), pl.List):  # its gaps filled (or refused)
        row = lambda i: f"{source}, row {i + 1}: "  # noqa: E731
        return frame.with_columns(gaps.filled_column(frame["values"], row))
    frame = durations_as_seconds(frame, source)
    frame = levels.with_index_levels(frame, [], source, forecaster())[0]  # reset_index()
    known = tables.with_known_names(frame)
    where = lambda i: f"row {i + 1}"  # noqa: E731
    if kind := stacked.kind_column(known):
        frame, where = stacked.unstack(known, kind, source, where, _to_classify(known))
        known = frame
    if clock.reads_for(known, forecaster(), source):
        return clock.read_clock(known, source, where)
    return _read_many(known, source, where)[0] if is_panel(known) else frame


def _read_many(known: pl.DataFrame, path: object, where) -> tuple[pl.DataFrame, str]:
    """Many series by id (:func:`is_panel`), and the read line's note: without a label and
    not for a classifier, series on one clock to forecast together; else to classify."""
    if not _to_classify(known):
        return clock.read_clock(known, path, where), clock.note(known)
    out = read_panel(known, path, where)
    return out, note(out)


def note(frame: pl.DataFrame) -> str:
    """What a long table read as, for the read line: its series when it was a panel."""
    many = isinstance(frame.schema.get("values"), pl.List)
    return f"; {frame.height:,} series, one per id" if many else ""


def read_as_panel(frame: pl.DataFrame, how: str) -> bool:
    """Whether a file's frame, read as ``how`` says, is a long table's series by id."""
    return bool(many := note(frame)) and many in how


def by_id(frame: pl.DataFrame):
    """Where a panel's series is, for messages about the series (its rows are many)."""
    return lambda i: f"the rows of id '{frame['id'][i]}'"


def read_panel(frame: pl.DataFrame, path: Path, where) -> pl.DataFrame:
    """One series per id (``id``, ``values`` time x channels, ``label``, ``split``), in the
    order the ids first appear, from a frame with known names. The channels are every
    column but the id, the time (and the calendar columns joined to it), ``label``,
    ``split`` and pandas' saved index.

    Raises:
        DataError: a missing id or time, a time that repeats within an id or does not read
            like the others, a value that is not a number or too large for float32, a
            label or split that changes within an id (each at its line); a gap under
            ``ingest.missing: error``, or a channel of a series with no value at all.
    """
    if frame.height == 0:  # (is_panel never says so of an empty table: direct calls)
        raise DataError(f"{path}: no rows")
    time, times, parts, what, ids = clock.stamped(frame, path, where)
    meta = [c for c in ("label", "split") if c in frame.columns]
    skip = {"id", *parts, *meta, *series.saved_index(frame.columns, path, parts)}
    channels = [c for c in frame.columns if c not in skip]
    if not channels:
        raise DataError(f"{path}: no value column beside column 'id' and column '{time}'")
    channels = channel_names.matched(channels, path)  # a model's: in its order
    # ordered by time read as numbers or dates; times that are names keep the file's order
    key, named = clock.times_key(times, path, where, what)
    clock.one_row_each(pl.DataFrame({"id": ids, "key": key, "time": times}), False, path, where,
                       what)  # fmt: skip
    by_time = not named
    key = key if by_time else pl.Series(range(len(times)))
    table = pl.DataFrame({"id": ids, "key": key}).with_row_index("row")
    values = [f"v{j}" for j in range(len(channels))]
    for name, column in zip(values, channels, strict=True):
        table = table.with_columns(series.float32_channel(frame, column, path, where,
                                                          gaps_ok=True).alias(name))  # fmt: skip
    for role in meta:
        cells = as_text(frame[role], path, role)
        if role == "label":  # 1 and 1.0 are one class
            cells = cells.replace({v: series.class_label(v) for v in cells.unique().drop_nulls()})
        _same_within(table, cells, path, where, role)
        table = table.with_columns(cells.alias(role))
    table = table.with_columns(pl.col("row").min().over("id").alias("first"))
    table = table.sort(["first", "key"])  # no ties: a repeated time is an error above
    if table.select(pl.any_horizontal(pl.col(values).is_null().any())).item():
        table = _filled(table, values, channels, path)
    out = table.group_by("first", maintain_order=True).agg(
        pl.col("id").first(),
        pl.concat_list(values).cast(pl.List(pl.Float32)).alias("values"),
        *(pl.col(r).first() for r in meta),
    )
    firsts = out["first"]
    lengths = out["values"].list.len()
    log.info("%s: %d series of %d-%d steps in %d channel(s) (one per id, its rows in %s)",
             path, out.height, lengths.min(), lengths.max(), len(channels),
             f"{what} order" if by_time else "file order")  # fmt: skip
    extra = optional_columns(out, path, lambda i: where(int(firsts[i])))
    return pl.DataFrame([out["id"], out["values"], *extra])


def _filled(table: pl.DataFrame, values: list[str], channels: list[str], path) -> pl.DataFrame:
    """``table`` (sorted by series, then time) with each series' missing values filled as
    :func:`attnlib.datasets.gaps.filled` fills them (linearly between known values, the
    nearest known value at either end), in one pass over every series."""
    step = pl.int_range(pl.len()).over("first")
    gap = table.select(pl.col("id"), step.alias("step"), *(pl.col(v).is_null() for v in values))
    known = table.group_by("first", maintain_order=True).agg(
        pl.col("id").first(), pl.col(values).is_not_null().any()
    )
    for v, name in zip(values, channels, strict=True):
        if not known[v].all():
            ident = known["id"][int((~known[v]).arg_true()[0])]
            raise DataError(f"{path}, the rows of id '{ident}', column '{name}': no value at "
                            "any step (nothing to interpolate from)")  # fmt: skip
    cells = gap.select(values).to_numpy()  # (rows, C) True where missing
    i, c = np.argwhere(cells)[0]
    rows = cells.any(axis=1)
    gaps.note(int(cells.sum()), gap["id"].filter(rows).unique().to_list(),
              f"{path}, the rows of id '{gap['id'][int(i)]}', step {gap['step'][int(i)] + 1}, "
              f"column '{channels[int(c)]}'")  # fmt: skip
    fill = (pl.col(v).interpolate().forward_fill().backward_fill().over("first") for v in values)
    return table.with_columns(fill)


def _same_within(table: pl.DataFrame, cells: pl.Series, path: Path, where, role: str) -> None:
    """A label or split is one per series: a row that differs from its id's first row is
    an error naming both."""
    both = table.select("id", "row", cells.alias("cell"))
    both = both.with_columns(pl.col("cell", "row").first().over("id").name.suffix("_first"))
    differs = both.select(pl.col("cell").ne_missing(pl.col("cell_first"))).to_series()
    if differs.any():
        i = int(differs.arg_true()[0])
        first, at = both["cell_first"][i], int(both["row_first"][i])

        def shown(cell):
            return "missing" if cell is None else f"'{cell}'"

        raise DataError(f"{path}, {where(i)}: {role} {shown(cells[i])} differs from "
                        f"{shown(first)} at {where(at)}, the same id's first row (one {role} "
                        "per series)")  # fmt: skip
