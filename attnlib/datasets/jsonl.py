"""JSON files of rows: JSON Lines (``.jsonl``, ``.ndjson``, or a ``.json`` of one object per
line, as Hugging Face's ``Dataset.to_json`` and pandas' ``to_json(orient="records",
lines=True)`` write them, and as ``attnlib predict --out x.jsonl`` does) and a ``.json``
array of objects (pandas' ``orient="records"``).

Each object is a row, its keys the columns (a key an object lacks is a missing cell).
Cells keep their JSON types, as a Parquet file's columns do, and the table is read as a
Parquet one is: sequences in a ``tokens`` (a list of strings, or text) / ``text`` column,
series in ``values`` (a list of numbers, or of one list per step), a long table with a
time column, or a wide one. A column mixing numbers and text is read as text, as a
CSV's would be. Errors name the line (JSON Lines) or the array's row.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import polars as pl

from attnlib.datasets import rows
from attnlib.errors import DataError

SUFFIXES = (".jsonl", ".ndjson", ".json")
_EXPECTED = "one JSON object per line (JSON Lines), or a JSON array of objects"


def read(path: Path) -> tuple[pl.DataFrame, object]:
    """The rows of a JSON Lines file or JSON array as a typed frame, and ``where(i)``
    naming row i (its line, or its place in the array)."""
    text = rows.read_utf8(path)
    if text.lstrip().startswith("["):
        records = _array(path, text)
        where = lambda i: f"row {i + 1}"  # noqa: E731
    else:
        records, lines = _lines(path, text)
        where = lambda i: f"line {lines[i]}"  # noqa: E731
    if not records:
        raise DataError(f"{path}: no rows ({_EXPECTED})")
    # polars' JSON reader gives each column the type all its cells fit (1 and 4.5: floats,
    # even inside lists; 1 and "n/a": text); every line is parsed above to name a bad one
    rows_text = "\n".join(json.dumps(r) for r in records).encode()
    try:
        return pl.read_ndjson(io.BytesIO(rows_text), infer_schema_length=None), where
    except (pl.exceptions.PolarsError, ValueError) as exc:
        raise DataError(f"{path}: its rows do not make one table "
                        f"({str(exc).splitlines()[0]})") from None  # fmt: skip


def _array(path: Path, text: str) -> list[dict]:
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
    bad = next((i for i, r in enumerate(records) if not isinstance(r, dict)), None)
    if bad is not None:
        raise DataError(f"{path}, row {bad + 1}: a JSON {_kind(records[bad])}, not an object; "
                        f"expected {_EXPECTED}")  # fmt: skip
    return records


def _lines(path: Path, text: str) -> tuple[list[dict], list[int]]:
    records, lines = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            one = " (a pretty-printed object spans lines)" if line.strip() == "{" else ""
            raise DataError(f"{path}, line {number}: not a JSON object ({exc.msg}); expected "
                            f"{_EXPECTED}{one}") from None  # fmt: skip
        if not isinstance(record, dict):
            raise DataError(f"{path}, line {number}: a JSON {_kind(record)}, not an object; "
                            f"expected {_EXPECTED}")  # fmt: skip
        records.append(record)
        lines.append(number)
    return records, lines


def _kind(value: object) -> str:
    return {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def names(path: Path) -> list[str]:
    """The columns of the first row (a JSON Lines file's first line alone is read)."""
    with path.open("rb") as f:
        head = f.read(1 << 16).decode("utf-8", errors="replace").lstrip("\ufeff")
    if head.lstrip().startswith("["):
        records = read(path)[0]
        return records.columns
    first = next((ln for ln in head.splitlines() if ln.strip()), "")
    try:
        record = json.loads(first)
    except json.JSONDecodeError:
        return []
    return list(record) if isinstance(record, dict) else []
