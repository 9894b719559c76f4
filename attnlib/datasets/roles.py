"""Columns the user names for a role: the text, the label, the time, the id.

A table's columns are found by their names (``text`` or ``tokens``, ``label``, ``date``,
``id`` ...). A file whose columns are named otherwise (``review,sentiment``, as Kaggle's
IMDB reviews come; ``subject,t,x,activity``, a long table of recordings) says which is
which: ``ingest.text_column``, ``label_column``, ``time_column`` and ``id_column`` in
``params.yaml``, ``--text-column`` ... on the command line. The named column is read as
if it had the role's name (``text``, ``label``, ``time``, ``id``), before the
format is detected, so the file reads as it would with those names. A name that is not a
column, a column named for two roles, or a second column holding the role under its own
name (a ``label`` beside ``label_column: sentiment``) is an error: nothing is guessed.
"""

from __future__ import annotations

import re

import polars as pl

from attnlib.datasets.series import time_column
from attnlib.datasets.tables import WHOLE_TIMES, json_lists
from attnlib.errors import ConfigError, DataError

# role -> (the name the column is read under, the key that names it, names it clashes with)
ROLES = {
    "text": ("text", "ingest.text_column / --text-column", ("text", "tokens", "values")),
    "label": ("label", "ingest.label_column / --label-column", ("label",)),
    "time": ("time", "ingest.time_column / --time-column", WHOLE_TIMES),
    "id": ("id", "ingest.id_column / --id-column", ("id",)),
}  # fmt: skip
TABLE_FORMATS = ("auto", "csv", "tsv", "parquet", "excel", "jsonl", "long", "wide")


class NamingError(DataError):
    """The named columns do not fit the file (its message names them as the user did)."""


def checked(columns: dict[str, str] | None) -> dict[str, str]:
    """``{role: file column}`` without the roles left empty; a ConfigError for an unknown
    role or one column named for two roles."""
    out = {role: name for role, name in (columns or {}).items() if name}
    for role in out:
        if role not in ROLES:
            raise ConfigError(f"unknown column role '{role}' (known: {', '.join(ROLES)})")
    names = [name.strip() for name in out.values()]
    for name in names:
        if names.count(name) > 1:
            keys = [ROLES[r][1] for r, n in out.items() if n.strip() == name]
            raise ConfigError(f"{' and '.join(keys)} both name column '{name}'; one column "
                              f"has one role")  # fmt: skip
    return out


def present(columns: dict[str, str], names: list[str], optional: tuple[str, ...]) -> dict[str, str]:
    """``columns`` without the ``optional`` roles whose column is not in ``names`` (a
    file's header, spaces around ignored; [] for a file without named columns)."""
    have = {n.strip() for n in names}
    return {r: c for r, c in columns.items() if r not in optional or c.strip() in have}


def renamed(
    names: list[str], columns: dict[str, str], path: object, lists: frozenset[str] = frozenset()
) -> list[str]:
    """``names`` (a file's header) with each named column under its role's name: the text
    as ``text`` (``tokens`` when it is in ``lists``, cells that are lists or JSON lists);
    the time as ``time`` (so it wins over time parts beside it, which become values),
    unless it is the time by its own name already (a ``year`` beside a ``month`` stays, so
    the two are joined into one stamp).

    Raises:
        NamingError: a named column is not in the file (names are matched with surrounding
            spaces ignored), or another column holds the role under its own name.
    """
    out = list(names)
    claimed = {name.strip() for name in columns.values()}  # named for a role: no clash
    for role, name in columns.items():
        given, key, clashes = ROLES[role]
        found = [n for n in names if n == name] or [n for n in names if n.strip() == name.strip()]
        if len(found) != 1:
            raise NamingError(f"{path}: {'no column' if not found else 'more than one column'} "
                              f"'{name}' ({key}); the columns are {names}")  # fmt: skip
        other = next((n for n in names if n != found[0] and n.strip().lower() in clashes
                      and n.strip() not in claimed), None)  # fmt: skip
        if other is not None:
            raise NamingError(f"{path}: {key} names '{name}' as the {role}, but column "
                              f"'{other}' holds it under its own name; drop or rename one of "
                              "them")  # fmt: skip
        if own := _own_role(found[0], role, names, columns):  # lost to it without a word
            what = "the series" if found[0].strip().lower() == "values" else f"the {own}"
            raise NamingError(f"{path}: {key} names '{name}' as the {role}, but it is {what} "
                              f"by its name; name another column, or the {own} with "
                              f"{ROLES[own][1]}")  # fmt: skip
        if role == "time" and time_column(names) == found[0]:
            given = found[0]  # the time by its own name already (a year joined with its month)
        out[names.index(found[0])] = "tokens" if role == "text" and found[0] in lists else given
    return out


def _own_role(column: str, role: str, names: list[str], columns: dict[str, str]) -> str | None:
    """The text or label role ``column`` holds by its own name, when naming it for ``role``
    would leave the file without it: that role is not named elsewhere and (the text) no
    other column holds it by name (a series' class in a column 'text' beside 'values')."""
    lowered = column.strip().lower()
    for own in ("text", "label"):
        if own == role or own in columns or lowered not in ROLES[own][2]:
            continue
        if not any(n != column and n.strip().lower() in ROLES[own][2] for n in names):
            return own
    return None


def rename(frame: pl.DataFrame, columns: dict[str, str], path: object) -> pl.DataFrame:
    """``frame`` with each named column under its role's name (see :func:`renamed`)."""
    if not columns:
        return frame
    text = next((c for c in frame.columns if c.strip() == columns.get("text", "").strip()), None)
    kind = frame.schema[text] if text is not None else None
    lists = frozenset([text] if isinstance(kind, pl.List | pl.Array) or (
        kind == pl.String and json_lists(frame[text], share=1)) else [])  # fmt: skip
    names = renamed(frame.columns, columns, path, lists)
    return frame.rename(dict(zip(frame.columns, names, strict=True)))


def named_back(message: str, columns: dict[str, str]) -> str:
    """An error message about a renamed column with the file's own name for it (``column
    'text'`` -> ``column 'review'``, and in a list of the columns, ``['id', 't']`` ->
    ``['subject', 't']``); a cell's value or advice quoting the name stays."""
    for role, name in columns.items():
        shown = name.replace("\\", "\\\\")  # a replacement template: backslashes escaped
        for given in (ROLES[role][0], "tokens") if role == "text" else (ROLES[role][0],):
            message = re.sub(rf"\b(column|in) '{given}'", rf"\1 '{shown}'", message)
            message = re.sub(r"\[[^\[\]]*\]", lambda m, g=given, n=name: _listed(m[0], g, n),
                             message)  # fmt: skip
    return message


def _listed(names: str, given: str, name: str) -> str:
    """A printed list of columns (``['id', 't']``) with ``given`` as ``name``."""
    return re.sub(rf"(?<=[\[ ])'{given}'(?=[,\]])", lambda _: repr(name), names)


def check_format(columns: dict[str, str], fmt: str, source: object) -> None:
    """A ConfigError when columns are named for a source that has no named columns."""
    if columns and fmt not in TABLE_FORMATS:
        keys = ", ".join(ROLES[r][1] for r in columns)
        verb = "names" if len(columns) == 1 else "name"
        raise ConfigError(f"{source}: {keys} {verb} a column of a CSV / TSV / Parquet table, "
                          f"but it is read as {fmt}, which has no named columns")  # fmt: skip


def check_long(columns: dict[str, str], source: object, panel: bool) -> None:
    """A ConfigError when a label is named for a long table of one series (forecasting: no
    classes); a ``panel``, many series by id (:mod:`attnlib.datasets.panel`), has them."""
    if "label" in columns and not panel:
        raise ConfigError(f"{source}: {ROLES['label'][1]} names '{columns['label']}', but the "
                          "file reads as a long table of one series to forecast, which has no "
                          "classes; leave it empty (a table of many series to classify has "
                          f"an id column, 'id' or the one {ROLES['id'][1]} names)")  # fmt: skip


def refuse_id(columns: dict[str, str], source: object, repeats: bool) -> None:
    """The ConfigError for an id named in a long table that reads as one series."""
    why = ("it has no label and its times do not repeat, where a table of many series has "
           "a label column (to classify) or times that repeat (to forecast)" if repeats else
           "no id is on more than one row: each would be a series of one step")  # fmt: skip
    raise ConfigError(f"{source}: {ROLES['id'][1]} names '{columns['id']}', but the file reads "
                      f"as a long table of one series to forecast ({why}); leave it "
                      "empty")  # fmt: skip


def check_frame(frame: pl.DataFrame, columns: dict[str, str], source: object, panel: bool) -> None:
    """A ConfigError when a time is named for a table of sequences (no time column); a
    ``panel``, many series read from a long table, had one."""
    if "time" in columns and "id" in frame.columns and not panel:
        raise ConfigError(f"{source}: {ROLES['time'][1]} names '{columns['time']}', but the "
                          "file reads as a table of sequences (one per row), which has no "
                          "time column; leave it empty")  # fmt: skip


def describe(columns: dict[str, str]) -> str:
    """``the text in column 'review', the label in 'sentiment'`` (for the read line)."""
    parts = [f"the {role} in {'column ' * (i == 0)}'{name}'"
             for i, (role, name) in enumerate(columns.items())]  # fmt: skip
    return ", ".join(parts)
