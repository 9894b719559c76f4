"""Text tables to rows: a file's UTF-8 text, and a CSV / TSV as a frame of strings.

Every row keeps the line it starts on, so a problem names its line, also when a quoted
field spans lines. A ``.csv`` whose header is one field by commas and several by
semicolons is Excel's CSV where the decimal mark is a comma: it is split by semicolons,
and in a column of numbers ``1,5`` reads as ``1.5``.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from pathlib import Path

import polars as pl

from attnlib import errors
from attnlib.datasets.tables import looks_long
from attnlib.errors import DataError

_FIELD_LIMIT = 2**31 - 1  # characters in one CSV field


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
        raise DataError(f"{errors.where(path, row=line)}not valid UTF-8 ({exc.reason}); save "
                        "it as UTF-8 (a spreadsheet's 'CSV UTF-8'), or convert it: iconv -f "
                        "cp1252 -t utf-8 FILE > NEW") from None  # fmt: skip


def read_rows(path: Path, text: str, separator: str) -> tuple[pl.DataFrame, Callable]:
    """A CSV / TSV with a header as a frame of strings, and ``where(i)`` naming row i's line.

    Read with the :mod:`csv` module so that every problem names its line, also when a
    quoted field spans lines: a row with more or fewer fields than the header, a quote
    left open, a repeated column name. An empty field is null; a blank line is a row of
    nulls (so it is reported as what it lacks, at its line).
    """
    kind = "TSV" if separator == "\t" else "CSV"
    if csv.field_size_limit() < _FIELD_LIMIT:  # default 128 KiB: a long text is no error
        csv.field_size_limit(_FIELD_LIMIT)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator, strict=True)
    rows: list[list[str]] = []
    lines: list[int] = []  # the line each data row starts on
    start = 1
    try:
        header = next(reader, [])
        if not any(h.strip() for h in header):
            raise DataError(f"{errors.where(path, row=1)}expected a header of column names")
        repeated = next((h for i, h in enumerate(header) if h in header[:i]), None)
        if repeated is not None:
            raise DataError(
                f"{errors.where(path, row=1)}column '{repeated}' appears twice in the header"
            )
        if len(header) == 1:  # a file split by another character reads as one column
            _other_separator(path, header[0], separator)
        start = reader.line_num + 1
        for fields in reader:
            if fields and len(fields) != len(header):
                raise DataError(
                    f"{errors.where(path, row=start)}"
                    f"{len(fields)} field(s), the header has {len(header)}"
                )
            rows.append(fields or [""] * len(header))
            lines.append(start)
            start = reader.line_num + 1
    except csv.Error as exc:  # a quote left open is reported where its row starts
        raise DataError(
            f"{errors.where(path, row=start)}not a readable {kind} row ({exc})"
        ) from None
    columns = zip(*rows, strict=True) if rows else ([] for _ in header)
    frame = pl.DataFrame(
        {h: [f if f else None for f in col] for h, col in zip(header, columns, strict=True)},
        schema={h: pl.String for h in header},
    )
    frame = decimal_commas(frame) if separator == ";" else frame
    return frame, lambda i: f"line {lines[i]}"


def field_separator(header: str, separator: str) -> str:
    """``;`` for a CSV whose header is one field split by commas and several split by
    semicolons (Excel's CSV where the decimal mark is a comma); else ``separator``."""
    fields = lambda sep: next(csv.reader([header], delimiter=sep), [])  # noqa: E731
    return ";" if separator == "," and len(fields(",")) == 1 and len(fields(";")) > 1 else separator


# a number with a decimal comma (1,5  -0,25  3,1e-2), and one without a decimal mark or with a point
_DECIMAL_COMMA = r"^\s*[+-]?(?:\d+,\d*|,\d+)(?:[eE][+-]?\d+)?\s*$"
_PLAIN_NUMBER = r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$"


def decimal_commas(frame: pl.DataFrame) -> pl.DataFrame:
    """A semicolon-separated file's numbers written with a decimal comma (``1,5``) with a
    point (``1.5``), in each column whose every cell is a number and one at least has a
    comma; other columns (text, tokens) as they are."""
    fixed = []
    for name in frame.columns:
        cells = frame[name].drop_nulls()
        commas = cells.str.contains(_DECIMAL_COMMA)
        if commas.any() and (commas | cells.str.contains(_PLAIN_NUMBER)).all():
            fixed.append(pl.col(name).str.replace(",", ".", literal=True))
    return frame.with_columns(fixed) if fixed else frame


def _other_separator(path: Path, header: str, separator: str) -> None:
    """Raise a DataError when a one-column header is split by tabs, commas or semicolons
    (Excel's CSV where the decimal mark is a comma) rather than by ``separator``."""
    names = {"\t": "tabs", ",": "commas", ";": "semicolons"}
    other = next((c for c in names if c != separator and c in header), None)
    if other is None:
        return
    if other != ";" and looks_long(header.split(other)):  # its reader takes either one
        fix = "read it as a long table (--format long)"
    elif other == "\t":
        fix = "read it as TSV (--format tsv, or name it .tsv)"
    else:  # commas, or semicolons (read by the CSV reader)
        fix = "read it as CSV (--format csv, or name it .csv)"
    shown = header.replace("\t", "\\t")
    raise DataError(
        f"{errors.where(path, row=1)}the header is one column, '{shown}', split by "
        f"{names[other]}, not {names[separator]}: {fix}"
    )
