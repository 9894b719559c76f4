"""Columns the user names for a role: the text, the label, the time.

A table's columns are found by their names (``text`` or ``tokens``, ``label``, ``date``
...). A file whose columns are named otherwise (``review,sentiment``, as Kaggle's IMDB
reviews come) says which is which: ``ingest.text_column``, ``label_column`` and
``time_column`` in ``params.yaml``, ``--text-column`` ... on the command line. The named
column is read as if it had the role's name (``text``, ``label``, ``time``), before the
format is detected, so the file reads as it would with those names. A name that is not a
column, a column named for two roles, or a second column holding the role under its own
name (a ``label`` beside ``label_column: sentiment``) is an error: nothing is guessed.
"""

from __future__ import annotations

import polars as pl

from attnlib.errors import ConfigError, DataError

# role -> (the name the column is read under, the key that names it, names it clashes with)
ROLES = {
    "text": ("text", "ingest.text_column", ("text", "tokens", "values")),
    "label": ("label", "ingest.label_column", ("label",)),
    "time": ("time", "ingest.time_column", ("time",)),
}
TABLE_FORMATS = ("auto", "csv", "tsv", "parquet", "long", "wide")


def checked(columns: dict[str, str] | None) -> dict[str, str]:
    """``{role: file column}`` without the roles left empty; a ConfigError for an unknown
    role or one column named for two roles."""
    out = {role: name for role, name in (columns or {}).items() if name}
    for role in out:
        if role not in ROLES:
            raise ConfigError(f"unknown column role '{role}' (known: {', '.join(ROLES)})")
    names = list(out.values())
    for name in names:
        if names.count(name) > 1:
            keys = [ROLES[r][1] for r, n in out.items() if n == name]
            raise ConfigError(f"{' and '.join(keys)} both name column '{name}'; one column "
                              f"has one role")  # fmt: skip
    return out


def renamed(names: list[str], columns: dict[str, str], path: object) -> list[str]:
    """``names`` (a file's header) with each named column under its role's name.

    Raises:
        DataError: a named column is not in the file, or another column already holds
            the role under its own name (any case).
    """
    out = list(names)
    for role, name in columns.items():
        given, key, clashes = ROLES[role]
        if name not in names:
            raise DataError(f"{path}: no column '{name}' ({key}); the columns are {names}")
        other = next((n for n in names if n != name and n.strip().lower() in clashes), None)
        if other is not None:
            raise DataError(f"{path}: {key} names '{name}' as the {role}, but column '{other}' "
                            f"holds it under its own name; drop or rename one of them")  # fmt: skip
        out[names.index(name)] = given
    return out


def rename(frame: pl.DataFrame, columns: dict[str, str], path: object) -> pl.DataFrame:
    """``frame`` with each named column under its role's name (see :func:`renamed`)."""
    if not columns:
        return frame
    return frame.rename(
        dict(zip(frame.columns, renamed(frame.columns, columns, path), strict=True))
    )


def check_format(columns: dict[str, str], fmt: str, source: object) -> None:
    """A ConfigError when columns are named for a source that has no named columns."""
    if columns and fmt not in TABLE_FORMATS:
        keys = ", ".join(ROLES[r][1] for r in columns)
        verb = "names" if len(columns) == 1 else "name"
        raise ConfigError(f"{source}: {keys} {verb} a column of a CSV / TSV / Parquet table, "
                          f"but it is read as {fmt}, which has no named columns")  # fmt: skip


def describe(columns: dict[str, str]) -> str:
    """``the text in column 'review', the label in 'sentiment'`` (for the read line)."""
    parts = [f"the {role} in {'column ' * (i == 0)}'{name}'"
             for i, (role, name) in enumerate(columns.items())]  # fmt: skip
    return ", ".join(parts)


def hint(frame: pl.DataFrame) -> str:
    """How to name the columns of a table none of whose names says what it holds, and the
    column of text with the most words, if one has two or more on average."""
    words = {c: frame[c].cast(pl.String, strict=False).str.count_matches(r"\S+").mean()
             for c in frame.columns if frame[c].dtype in (pl.String, pl.Categorical)}  # fmt: skip
    best = max(words, key=lambda c: words[c] or 0, default=None)
    guess = f": '{best}' holds the most words" if best and (words[best] or 0) >= 2 else ""
    return ("; name a column that holds them under another name with ingest.text_column, "
            f"label_column or time_column (--text-column, ...){guess}")  # fmt: skip
