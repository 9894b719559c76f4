"""JSON files of rows: JSON Lines (``.jsonl``, ``.ndjson``, or a ``.json`` of one object per
line, as Hugging Face's ``Dataset.to_json`` and pandas' ``to_json(orient="records",
lines=True)`` write them, and as ``attnlib ingest --out x.jsonl`` does) and a ``.json``
array of objects (pandas' ``orient="records"``).

Each object is a row, its keys the columns (a key an object lacks is a missing cell).
Cells keep their JSON types, as a Parquet file's columns do, and the table is read as a
Parquet one is: sequences in a ``tokens`` (a list of strings, or text) / ``text`` column,
series in ``values`` (a list of numbers, or of one list per step), a long table with a
time column, or a wide one. A column holds one kind of value: numbers and text mix as
text, as in a CSV; any other mix (a list in a column of text) in a column a layout reads
is an error naming both lines. Errors name the line (JSON Lines) or the array's row.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import polars as pl

from attnlib import charsets
from attnlib.charsets import UTF8
from attnlib.datasets import rows
from attnlib.datasets.tables import DATA_COLUMNS, META_COLUMNS, TIME_NAMES, WHOLE_TIMES
from attnlib.errors import DataError

log = logging.getLogger(__name__)

SUFFIXES = (".jsonl", ".ndjson", ".json")
_EXPECTED = "one JSON object per line (JSON Lines), or a JSON array of objects"
_READ = (*DATA_COLUMNS, *META_COLUMNS, *TIME_NAMES)  # the columns every layout reads
_KINDS = {bool: "true / false", int: "a number", float: "a number", str: "text",
          list: "a list", dict: "an object"}  # fmt: skip


def read(
    path: Path, named: tuple[str, ...] = (), encoding: str = UTF8
) -> tuple[pl.DataFrame, object, str]:
    """The rows of a JSON Lines file or JSON array as a typed frame, ``where(i)`` naming
    row i (its line, or its place in the array), and what the read line says of its
    encoding (:func:`attnlib.charsets.described`). ``named``: columns named for a
    role (``ingest.text_column``), whose kinds are checked as the roles' own are."""
    decoded = rows.read_decoded(path, encoding)
    text, note = decoded.text, charsets.described([decoded], encoding)
    records = _array(path, text) if text.lstrip().startswith("[") else _pretty(path, text)
    kinds = _Kinds(path, named)
    if records is not None:
        for i, record in enumerate(records):
            kinds.add(record, f"row {i + 1}")
        kept = [json.dumps(r) for r in records]  # polars reads JSON Lines
        where = lambda i: f"row {i + 1}"  # noqa: E731
    else:
        kept, lines = [], []  # split at "\n" alone: U+2028 and the like may stand in a string
        for number, line in enumerate(text.split("\n"), 1):
            if line.strip():
                kinds.add(_loads(path, line, f"line {number}"), f"line {number}")
                kept.append(line)
                lines.append(number)
        where = lambda i: f"line {lines[i]}"  # noqa: E731
    if not kinds.rows:
        raise DataError(f"{path}: no rows ({_EXPECTED})")
    kinds.check_layout()
    # polars gives each column the type all its cells fit (1 and 4.5: floats, in lists too)
    try:
        frame = pl.read_ndjson(io.BytesIO("\n".join(kept).encode()), infer_schema_length=None)
    except (pl.exceptions.PolarsError, ValueError) as exc:
        kinds.raise_clash()  # a column mixing kinds, named with its lines
        raise DataError(f"{path}: its rows do not make one table "
                        f"({str(exc).splitlines()[0]})") from None  # fmt: skip
    kinds.raise_clash(read_only=True)
    return _epoch_times(frame, path), where, note


def _pretty(path: Path, text: str) -> list[dict] | None:
    """The one object of a file that is one pretty-printed JSON object (its layout is then
    told by :meth:`_Kinds.check_layout`); None for JSON Lines."""
    body = text.lstrip()
    first = body[: body.find("\n")] if "\n" in body else body
    if not first.startswith("{") or _whole(first):
        return None
    try:
        record, constants = _parse(text)
    except ValueError:
        return None  # the lines say where it breaks
    if constants:
        _no_constant(record, path, "row 1")
    return [record] if isinstance(record, dict) else None


def _epoch_times(frame: pl.DataFrame, path: Path) -> pl.DataFrame:
    """A time column of whole numbers in epoch milliseconds (1e11 to 1e13: 1973 to 2286),
    as pandas' ``to_json`` writes dates by default, as those times."""
    for name, kind in frame.schema.items():
        if name.lower() in WHOLE_TIMES and kind.is_integer():
            values = frame[name].drop_nulls()
            if len(values) and bool(values.is_between(10**11, 10**13).all()):
                log.info("%s: column '%s' read as epoch milliseconds (pandas' to_json "
                         "dates)", path, name)  # fmt: skip
                frame = frame.with_columns(pl.from_epoch(name, time_unit="ms"))
    return frame


class _Constant(str):
    """``NaN`` / ``Infinity``, which Python's json reads and JSON does not have."""


def _parse(text: str) -> tuple[object, bool]:
    """``text`` parsed, and whether it held NaN or Infinity (then found by a walk)."""
    seen: list[str] = []
    value = json.loads(text, parse_constant=lambda name: seen.append(name) or _Constant(name))
    return value, bool(seen)


def _no_constant(record: object, path: Path, where: str) -> None:
    """A DataError when ``record`` holds NaN or Infinity anywhere."""
    values = list(record.values()) if isinstance(record, dict) else [record]
    while values:
        value = values.pop()
        if isinstance(value, _Constant):
            raise DataError(f"{path}, {where}: {value} is not JSON (write null for a missing "
                            "value)")  # fmt: skip
        if isinstance(value, list | dict):
            values.extend(value.values() if isinstance(value, dict) else value)


def _loads(path: Path, line: str, where: str) -> dict:
    try:
        record, constants = _parse(line)
    except json.JSONDecodeError as exc:
        one = " (a pretty-printed object spans lines)" if line.strip() == "{" else ""
        raise DataError(f"{path}, {where}: not a JSON object ({exc.msg}); expected "
                        f"{_EXPECTED}{one}") from None  # fmt: skip
    if constants:
        _no_constant(record, path, where)
    if not isinstance(record, dict):
        raise DataError(f"{path}, {where}: a JSON {_kind(record)}, not an object; expected "
                        f"{_EXPECTED}")  # fmt: skip
    return record


def _array(path: Path, text: str) -> list[dict] | None:
    """The objects of a JSON array; None for JSON Lines whose first line is an array (the
    lines then say it is not an object)."""
    try:
        records, constants = _parse(text)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and _whole(text.lstrip().split("\n", 1)[0]):
            return None
        raise DataError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if constants:  # which row holds it
        for i, record in enumerate(records):
            _no_constant(record, path, f"row {i + 1}")
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
    if bad is not None:
        raise DataError(f"{path}, row {bad + 1}: a JSON {_kind(records[bad])}, not an object; "
                        f"expected {_EXPECTED}")  # fmt: skip
    return records


def _whole(line: str) -> bool:
    """``line`` is a JSON value by itself."""
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _kind(value: object) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


class _Kinds:
    """Each column's kind of value (text, a number, a list ...) and where it was first
    seen; a second kind in a column is a clash, an error naming both places for a column
    that is read (a role's: ``text``, ``label``, a time ...; in a column left unread it
    is an error only when polars cannot make it one column)."""

    def __init__(self, path: Path, named: tuple[str, ...]):
        self.path, self.named, self.rows = path, {n.lower() for n in named}, 0
        self.first: dict[str, tuple[str, str]] = {}
        self.clashes: dict[str, str] = {}  # column -> the error
        self.one: dict | None = None  # the only row, kept to tell pandas' other layouts

    def add(self, record: dict, where: str) -> None:
        self.rows += 1
        self.one = record if self.rows == 1 else None
        for key, value in record.items():
            if value is None or key in self.clashes:
                continue
            kind = _KINDS[type(value)]
            seen = self.first.setdefault(key, (kind, where))
            if seen[0] != kind and {seen[0], kind} != {"a number", "text"}:
                self.clashes[key] = (f"{self.path}, {where}: column '{key}' holds {kind} here "
                                     f"and {seen[0]} at {seen[1]}; a column holds one kind of "
                                     "value (numbers and text mix as text)")  # fmt: skip

    def raise_clash(self, read_only: bool = False) -> None:
        """The first clash (``read_only``: in a column a layout reads) as a DataError."""
        for key, message in self.clashes.items():
            read = key.lower() in (*_READ, *self.named)
            if read or not read_only:
                raise DataError(message + ("" if read else "; it is not read: drop it"))

    def check_layout(self) -> None:
        """pandas' other ``to_json`` layouts (its default, one object of columns keyed by
        the index; ``orient="index"``; ``"split"``; ``"table"``) and one object holding
        the rows in a list (``{"data": [...]}``) are not rows."""
        one = self.one or {}
        inner = [set(v) for v in one.values() if isinstance(v, dict)]
        keyed = bool(one) and len(inner) == len(one) and all(k == inner[0] for k in inner)
        by_index = keyed and len(one) > 1 and all(k.isdigit() for k in one)  # orient="index"
        by_column = keyed and all(str(k).isdigit() for k in inner[0])  # the default
        if by_index or by_column or set(one) in ({"columns", "index", "data"},
                                                 {"schema", "data"}):  # fmt: skip
            raise DataError(f"{self.path}: one JSON object of pandas' to_json (its default "
                            "layout, or orient 'index', 'split' or 'table'), not rows; write "
                            "it with to_json(orient='records', lines=True)")  # fmt: skip
        wrapped = [k for k, v in one.items() if isinstance(v, list) and v
                   and all(isinstance(r, dict) for r in v)]  # fmt: skip
        if wrapped:  # {"data": [{...}, ...]}
            raise DataError(f"{self.path}: one JSON object whose '{wrapped[0]}' holds the "
                            f"rows; write them one per line (jq -c '.{wrapped[0]}[]' FILE > "
                            "rows.jsonl)")  # fmt: skip


def names(path: Path, encoding: str = UTF8) -> list[str]:
    """The columns of the first row (a JSON Lines file's first line alone is read; an
    array's keys, all its rows')."""
    first = rows.first_line(path, encoding)
    try:
        if first.lstrip().startswith("["):
            records = json.loads(rows.read_decoded(path, encoding).text)
            return list(dict.fromkeys(k for r in records if isinstance(r, dict) for k in r))
        record = json.loads(first)
    except (json.JSONDecodeError, DataError):
        return []
    return list(record) if isinstance(record, dict) else []
