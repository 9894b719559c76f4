"""Readers for token-sequence files: SeqLab TXT / CSV, CSV / TSV / Parquet tables.

Each returns a polars DataFrame with ``id: str``, ``tokens: list<str>`` and, when the
file has one, ``label: str`` (and ``split: str`` when a table ships its own split). A
Parquet file may instead hold a numeric ``values`` column (one series per row, see
:mod:`attnlib.datasets.series`).

Every problem is a :class:`~attnlib.errors.DataError` naming the file and the line
(text formats; line 1 of a CSV is its header) or row (Parquet).
"""

from __future__ import annotations

import codecs
import io
from pathlib import Path

import polars as pl

from attnlib.errors import DataError

SEQLAB_SEPARATOR = ">"  # a SeqLab CSV row starting with ">" ends a sequence
FEATURE_JOIN = "|"  # several SeqLab CSV features make one state token "f1|f2|..."


def read_utf8(path: Path) -> str:
    """Return the file's text; an empty file or bad UTF-8 is a DataError naming the line."""
    data = path.read_bytes()
    if data.startswith(codecs.BOM_UTF8):  # spreadsheet exports often start with one
        data = data[len(codecs.BOM_UTF8) :]
    if not data.strip():
        raise DataError(f"{path}: file is empty")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DataError(f"{path}, line {line}: not valid UTF-8 ({exc.reason})") from None


def read_seqlab_txt(path: Path, text: str) -> pl.DataFrame:
    """SeqLab TXT: one whitespace-separated sequence per line, ids ``line<N>``."""
    ids, tokens = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        toks = line.split()
        if not toks:
            raise DataError(f"{path}, line {number}: empty sequence")
        ids.append(f"line{number}")
        tokens.append(toks)
    return pl.DataFrame(
        {"id": ids, "tokens": tokens}, schema={"id": pl.String, "tokens": pl.List(pl.String)}
    )


def read_seqlab_csv(path: Path, text: str) -> pl.DataFrame:
    """SeqLab CSV: tab-separated features with a header; a ``>...`` row ends a sequence.

    One row is one event; its features joined by ``|`` make the state token (a single
    feature is the token itself). Sequences are named ``seq<N>`` (1-based).
    """
    lines = text.splitlines()
    header = lines[0].split("\t")
    if not any(h.strip() for h in header) or header[0].startswith(SEQLAB_SEPARATOR):
        raise DataError(f"{path}, line 1: expected a tab-separated header of feature names")
    sequences: list[list[str]] = [[]]
    for number, line in enumerate(lines[1:], start=2):
        if line.startswith(SEQLAB_SEPARATOR):
            if not sequences[-1]:
                raise DataError(f"{path}, line {number}: empty sequence (two separators in a row)")
            sequences.append([])
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise DataError(
                f"{path}, line {number}: {len(fields)} field(s), the header has {len(header)}"
            )
        if any(not f.strip() for f in fields):
            raise DataError(f"{path}, line {number}: empty feature value")
        sequences[-1].append(FEATURE_JOIN.join(f.strip() for f in fields))
    if not sequences[-1]:
        sequences.pop()  # a trailing separator
    if not sequences:
        raise DataError(f"{path}: no events below the header")
    return pl.DataFrame(
        {"id": [f"seq{i + 1}" for i in range(len(sequences))], "tokens": sequences},
        schema={"id": pl.String, "tokens": pl.List(pl.String)},
    )


def read_delimited(path: Path, text: str, separator: str) -> pl.DataFrame:
    """CSV / TSV with a header: ``text`` or ``tokens`` column, optional ``id`` / ``label``."""
    try:
        # Everything as strings: ids such as "007" must not become integers.
        frame = pl.read_csv(io.BytesIO(text.encode()), separator=separator, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise DataError(
            f"{path}: not a readable {'TSV' if separator == chr(9) else 'CSV'} "
            f"file ({str(exc).splitlines()[0]})"
        ) from None
    # Data row i sits on line i + 2 (line 1 is the header); quoted newlines would shift this.
    return normalise_table(frame, path, lambda i: f"line {i + 2}")


def read_parquet(path: Path) -> pl.DataFrame:
    try:
        return pl.read_parquet(path)
    except Exception as exc:  # polars / arrow raise several unrelated types here
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None


def normalise_table(frame: pl.DataFrame, path: Path, where) -> pl.DataFrame:
    """Validate a table and bring it to ``id, tokens[, label][, split]``.

    ``where(i)`` names row i in messages (``line 3``, ``row 2``).
    """
    if frame.height == 0:
        raise DataError(f"{path}: no rows")
    column = "tokens" if "tokens" in frame.columns else "text" if "text" in frame.columns else ""
    if not column:
        raise DataError(f"{path}: needs a 'tokens' or 'text' column; found {frame.columns}")
    tokens = frame[column]
    if tokens.dtype == pl.String:
        tokens = tokens.str.extract_all(r"\S+")
    elif isinstance(tokens.dtype, pl.List):
        tokens = tokens.cast(pl.List(pl.String))
    else:
        raise DataError(
            f"{path}: column '{column}' must hold text or a list of strings, not {tokens.dtype}"
        )
    empty = tokens.is_null() | (tokens.list.len() == 0)
    blank = tokens.list.eval(pl.element().is_null() | (pl.element() == "")).list.any()
    fail_first(empty, path, where, f"empty sequence in column '{column}'")
    fail_first(blank.fill_null(False), path, where, f"missing or empty token in '{column}'")
    return pl.DataFrame([ids_column(frame, path, where), tokens.alias("tokens"),
                         *optional_columns(frame, path, where)])  # fmt: skip


def ids_column(frame: pl.DataFrame, path: Path, where) -> pl.Series:
    """The ``id`` column (unique, no nulls), or ``row<N>`` when the table has none."""
    if "id" not in frame.columns:
        return pl.Series("id", [f"row{i + 1}" for i in range(frame.height)], dtype=pl.String)
    ids = frame["id"].cast(pl.String)
    fail_first(ids.is_null(), path, where, "missing id")
    repeated = ~ids.is_first_distinct()
    if repeated.any():
        second = repeated.arg_true()[0]
        first = (ids == ids[second]).arg_true()[0]
        raise DataError(
            f"{path}, {where(second)}: id '{ids[second]}' already used at {where(first)}"
        )
    return ids.alias("id")


def optional_columns(frame: pl.DataFrame, path: Path, where) -> list[pl.Series]:
    """``label`` (no nulls) and ``split`` (train / test only) when the table has them."""
    out = []
    if "label" in frame.columns:
        labels = frame["label"].cast(pl.String)
        fail_first(labels.is_null(), path, where, "missing label")
        out.append(labels.alias("label"))
    if "split" in frame.columns:
        split = frame["split"].cast(pl.String)
        fail_first(~split.is_in(["train", "test"]).fill_null(False), path, where,
                   "column 'split' must be 'train' or 'test'")  # fmt: skip
        out.append(split.alias("split"))
    return out


def fail_first(bad: pl.Series, path: Path, where, message: str) -> None:
    """Raise a DataError at the first True of ``bad``."""
    if bad.any():
        raise DataError(f"{path}, {where(bad.arg_true()[0])}: {message}")
