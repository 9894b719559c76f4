"""Built-in offline data sets and readers for user files, all normalised to one schema.

Categorical sequences come out as a polars DataFrame with ``id: str``,
``tokens: list<str>`` and, when the input has one, ``label: str``.

A source is either ``builtin:NAME`` (see :data:`BUILTINS`; a bare ``NAME`` also
works when no file of that name exists) or a file path read by format:

- ``seqlab_txt``: one whitespace-separated sequence per line, ids ``line<N>``.
- ``csv`` / ``tsv`` / ``parquet``: a ``tokens`` column (list of str, or a str that
  is split on whitespace) or a ``text`` column (split on whitespace), optional
  ``id`` (else ``row<N>``) and ``label``.

Every problem with the input is a :class:`~attnlib.errors.DataError` naming the file
and the line (text formats; line 1 of a CSV is its header) or row (Parquet).
"""

from __future__ import annotations

import codecs
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from attnlib.errors import ConfigError, DataError


@dataclass(frozen=True)
class DatasetInfo:
    """What a built-in data set is: its name, task, one-line description, source package."""

    name: str
    task: str  # "next_state" | "classification" | "forecasting"
    description: str
    source: str  # the installed package the data comes from (no download)


BUILTINS: dict[str, DatasetInfo] = {
    "bach_chorales": DatasetInfo(
        name="bach_chorales",
        task="next_state",
        description="350 distinct Bach chorales (music21 corpus), one token per chord event "
        "(pitchedCommonName); ~29k events, ~585 chord names",
        source="music21",
    ),
}

FORMATS = ("seqlab_txt", "csv", "tsv", "parquet")
_EXTENSIONS = {".txt": "seqlab_txt", ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet"}
_PREFIX = "builtin:"


def load_builtin(name: str, *, limit: int | None = None, workers: int = 2) -> pl.DataFrame:
    """Load a built-in data set by name.

    Args:
        name: a key of :data:`BUILTINS`.
        limit: keep only the first ``limit`` items (fast runs); None keeps all.
        workers: processes used to build the data set, where that is parallel.

    Returns:
        DataFrame with ``id: str``, ``tokens: list<str>`` (and ``label`` for labelled sets).

    Raises:
        DataError: ``name`` is not a built-in data set.
    """
    _check_limit_workers(limit, workers)
    if name not in BUILTINS:
        raise DataError(f"unknown built-in data set '{name}'; known: {', '.join(sorted(BUILTINS))}")
    if name == "bach_chorales":
        # Imported here so that reading a CSV never pays for importing music21.
        from attnlib.datasets.chorales import load_bach_chorales

        return load_bach_chorales(limit=limit, workers=workers)
    raise AssertionError(f"BUILTINS lists '{name}' but no loader is wired")  # pragma: no cover


def read_source(
    source: str | Path, fmt: str = "auto", *, limit: int | None = None, workers: int = 2
) -> pl.DataFrame:
    """Read a built-in data set or a user file into the categorical-sequence schema.

    Args:
        source: ``builtin:NAME``, a bare built-in name, or a file path.
        fmt: one of ``auto`` (from the extension), ``seqlab_txt``, ``csv``, ``tsv``, ``parquet``.
        limit: keep only the first ``limit`` sequences; None keeps all.
        workers: processes for built-in data sets that are built in parallel.

    Returns:
        DataFrame with ``id: str``, ``tokens: list<str>`` and optional ``label: str``.

    Raises:
        DataError: the file is missing, empty, undecodable or malformed (message names
            the file and line/row), or the built-in name is unknown.
        ConfigError: ``fmt``, ``limit`` or ``workers`` is not valid.
    """
    _check_limit_workers(limit, workers)
    text = str(source)
    if text.startswith(_PREFIX) or (text in BUILTINS and not Path(text).exists()):
        if fmt != "auto":
            raise ConfigError(f"format '{fmt}' does not apply to built-in data set '{text}'")
        return load_builtin(text.removeprefix(_PREFIX), limit=limit, workers=workers)

    path = Path(source)
    if fmt != "auto" and fmt not in FORMATS:
        raise ConfigError(f"unknown format '{fmt}'; known: auto, {', '.join(FORMATS)}")
    if not path.is_file():
        raise DataError(f"{path}: {'not a file' if path.exists() else 'file not found'}")
    if fmt == "auto":
        fmt = _EXTENSIONS.get(path.suffix.lower(), "")
        if not fmt:
            known = ", ".join(sorted(_EXTENSIONS))
            raise DataError(f"{path}: cannot tell the format from the extension (known: {known})")

    if fmt == "parquet":
        frame = _read_parquet(path)
    else:
        data = _read_utf8(path)
        if fmt == "seqlab_txt":
            frame = _read_seqlab_txt(path, data)
        else:
            frame = _read_delimited(path, data, "\t" if fmt == "tsv" else ",")
    return frame if limit is None else frame.head(limit)


def _check_limit_workers(limit: int | None, workers: int) -> None:
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"limit must be a positive integer or None, got {limit!r}")
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")


def _read_utf8(path: Path) -> str:
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


def _read_seqlab_txt(path: Path, text: str) -> pl.DataFrame:
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


def _read_delimited(path: Path, text: str, separator: str) -> pl.DataFrame:
    try:
        # Everything as strings: ids such as "007" must not become integers.
        frame = pl.read_csv(io.BytesIO(text.encode()), separator=separator, infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        raise DataError(
            f"{path}: not a readable {'TSV' if separator == chr(9) else 'CSV'} "
            f"file ({str(exc).splitlines()[0]})"
        ) from None
    # Data row i sits on line i + 2 (line 1 is the header); quoted newlines would shift this.
    return _normalise(frame, path, lambda i: f"line {i + 2}")


def _read_parquet(path: Path) -> pl.DataFrame:
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:  # polars / arrow raise several unrelated types here
        raise DataError(f"{path}: not a readable Parquet file ({exc})") from None
    return _normalise(frame, path, lambda i: f"row {i + 1}")


def _normalise(frame: pl.DataFrame, path: Path, where) -> pl.DataFrame:
    """Validate a table and bring it to ``id, tokens[, label]``; ``where(i)`` names row i."""
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
    _fail_first(empty, path, where, f"empty sequence in column '{column}'")
    _fail_first(blank.fill_null(False), path, where, f"missing or empty token in '{column}'")

    columns = [tokens.alias("tokens")]
    if "id" in frame.columns:
        ids = frame["id"].cast(pl.String)
        _fail_first(ids.is_null(), path, where, "missing id")
        repeated = ~ids.is_first_distinct()
        if repeated.any():
            second = repeated.arg_true()[0]
            first = (ids == ids[second]).arg_true()[0]
            raise DataError(
                f"{path}, {where(second)}: id '{ids[second]}' already used at {where(first)}"
            )
    else:
        ids = pl.Series("id", [f"row{i + 1}" for i in range(frame.height)], dtype=pl.String)
    columns.insert(0, ids.alias("id"))
    if "label" in frame.columns:
        labels = frame["label"].cast(pl.String)
        _fail_first(labels.is_null(), path, where, "missing label")
        columns.append(labels.alias("label"))
    return pl.DataFrame(columns)


def _fail_first(bad: pl.Series, path: Path, where, message: str) -> None:
    if bad.any():
        raise DataError(f"{path}, {where(bad.arg_true()[0])}: {message}")
