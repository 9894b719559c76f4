"""The names of a long table's channels (its value columns), kept from training to
prediction. A series classifier's input is its channels by place: a file to score whose
columns come in another order would be scored with each channel in another's place, and
nothing in the numbers would say so (scikit-learn checks ``feature_names_in_`` for the
same reason).

The ingest stage records the names a panel was read with (:func:`recording`) into
``data/raw.parquet``'s metadata (:data:`KEY`); encode keeps them in the model's input
(``channel_names``); reading a file for that model (:func:`expecting`), a panel's columns
are put in the training order by name, and a file without some of them is refused.
Series read without names (``.ts``, ARFF, JSON lines of ``values`` lists, a wide table),
and files given to a model saved before names were kept, are taken by place.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
from pathlib import Path

import polars as pl

from attnlib.datasets.series import class_label
from attnlib.errors import DataError

log = logging.getLogger(__name__)

KEY = "attnlib.channel_names"  # in data/raw.parquet's key-value metadata: a JSON list
# the channel names of the model being read for (Model.channel_names), or (), and whose
# they are (None: the model's; else the name of an archive's train file)
_EXPECTED = contextvars.ContextVar("expected_channels", default=((), None))
# while recording: the channel names of each panel read, in reading order
_SEEN: contextvars.ContextVar[list | None] = contextvars.ContextVar("seen_channels", default=None)


@contextlib.contextmanager
def expecting(names=(), train_file: str | None = None):
    """While reading for a model trained on channels ``names`` (``()``: any, by place), or
    an archive's test file whose ``train_file`` has them."""
    token = _EXPECTED.set((tuple(names), train_file))
    try:
        yield
    finally:
        _EXPECTED.reset(token)


@contextlib.contextmanager
def recording():
    """Yield a list that gets the channel names of every panel read meanwhile (an outer
    recording gets them too)."""
    seen: list[tuple[str, ...]] = []
    token = _SEEN.set(seen)
    try:
        yield seen
    finally:
        _SEEN.reset(token)
    if (outer := _SEEN.get()) is not None:  # a read that raised passes nothing out
        outer.extend(seen)


def matched(columns: list[str], path: object) -> list[str]:
    """A panel's value ``columns`` in the order of the model (or train file) being read
    for (:func:`expecting`); recorded (:func:`recording`). A name is matched as it is,
    else as labels are: ``1.0`` (a stacked table's kind written as a float) is ``1``.

    Raises:
        DataError: the model was trained on channels that are not all among ``columns``,
            or ``columns`` hold more than them.
    """
    expected, train_file = _EXPECTED.get()
    if expected and list(expected) != columns:
        owner = "the train file's" if train_file else "the model's"
        pairs, missing, extra = _pairs(expected, columns)
        if missing or extra:
            said = "; ".join(
                f"{what} {', '.join(repr(c) for c in names)}"
                for what, names in (("missing", missing), (f"not {owner}", extra))
                if names
            )
            whose = f"its train file {train_file} has" if train_file else "the model was trained on"
            fix = ("give both files the same channels" if train_file else
                   "rename the columns to the model's" if missing and extra else
                   "give the file every one of them" if missing else "drop the others, or "
                   "name the file's id or label column (--id-column, --label-column)")  # fmt: skip
            raise DataError(
                f"{path}: {whose} channels {', '.join(expected)} (value columns, matched by "
                f"name); this file's are {', '.join(columns)}: {said}; {fix}"
            )
        ordered = [pairs[c] for c in expected]
        if ordered != columns:
            log.info("%s: channels taken in %s order (%s), not the file's", path, owner,
                     ", ".join(expected))  # fmt: skip
        columns = ordered
    if (seen := _SEEN.get()) is not None:
        seen.append(expected or tuple(columns))
    return columns


def _pairs(expected, columns) -> tuple[dict[str, str], list[str], list[str]]:
    """Each expected name's column: the same name, else the one column that reads as the
    same label (``1.0`` for ``1``); and the expected names and columns left unpaired."""
    pairs = {c: c for c in expected if c in columns}
    free = [c for c in columns if c not in pairs]
    for name in (c for c in expected if c not in pairs):
        alike = [c for c in free if class_label(c) == class_label(name)]
        if len(alike) == 1:
            pairs[name] = alike[0]
            free.remove(alike[0])
    return pairs, [c for c in expected if c not in pairs], free


def recorded(seen: list[tuple[str, ...]]) -> list[str]:
    """The names to keep from a reading's panels (:func:`recording`): those they all share
    (an archive's train and test file), or none."""
    return list(seen[0]) if seen and len(set(seen)) == 1 else []


def metadata(names: list[str]) -> dict[str, str]:
    """Parquet key-value metadata keeping ``names`` (nothing for none)."""
    return {KEY: json.dumps(list(names))} if names else {}


def read(path: str | Path) -> list[str]:
    """The channel names kept in a Parquet file's metadata (:func:`metadata`), or []."""
    text = pl.read_parquet_metadata(path).get(KEY)
    names = json.loads(text) if text else []
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise DataError(f"{path}: metadata {KEY} is not a JSON list of names: {text[:80]!r}")
    return names
