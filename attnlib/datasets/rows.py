"""Text tables to rows: a file's text (UTF-8 unless told), and a CSV / TSV as a frame of
strings.

Every row keeps the line it starts on, so a problem names its line, also when a quoted
field spans lines. A ``.csv`` whose header is one field by commas and several by
semicolons is Excel's CSV where the decimal mark is a comma: it is split by semicolons,
and in a column of numbers ``1,5`` reads as ``1.5``.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from pathlib import Path

import polars as pl

from attnlib import charsets, errors
from attnlib.charsets import UTF8
from attnlib.datasets.tables import looks_long
from attnlib.errors import DataError

log = logging.getLogger(__name__)

_FIELD_LIMIT = 2**31 - 1  # characters in one CSV field
# compressed data, told by its first bytes
_MAGIC = {b"\x1f\x8b": "gzip", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip"}
_SUFFIX = {"gzip": "NAME.csv.gz", "bzip2": "NAME.csv.bz2", "xz": "NAME.csv.xz",
           "zip": "NAME.zip, or NAME.xlsx for a spreadsheet; from standard input, "
                  "--format excel"}  # fmt: skip
# binary formats that are not read (a pickle is never unpickled: loading one runs its code)
_UNREAD = {b"\x93NUMPY": "a NumPy array (np.save)", b"ARROW1": "an Arrow / Feather file",
           b"FEA1": "a Feather (v1) file", b"\xff\xff\xff\xff": "an Arrow stream",
           b"\x89HDF\r\n\x1a\n": "an HDF5 file", **{b"\x80" + bytes([v]): "a Python pickle "
           "(to_pickle, pickle.dump; never unpickled: loading one runs its code)" for v in
           range(2, 6)}}  # fmt: skip
_SAVE = ("; save it as Parquet (pandas' to_parquet, polars' write_parquet) or CSV: series "
         "as a 'values' column of lists (time steps x channels) or one row per time step "
         "(README, File formats)")  # fmt: skip


def read_decoded(path: Path, encoding: str = UTF8) -> charsets.Decoded:
    """The file's text and how it was decoded (:mod:`attnlib.charsets`: ``encoding`` one
    name or several, a BOM wins); an empty file or bytes that do not decode are a
    DataError naming the line."""
    return decode_text(path, path.read_bytes(), encoding)


def decode_text(path: Path, data: bytes, encoding: str = UTF8) -> charsets.Decoded:
    """:func:`read_decoded` of bytes already read from ``path``. A fallback taken after
    lines above held non-ASCII text is a warning: it may have been the first encoding."""
    if unread := next((k for magic, k in _UNREAD.items() if data.startswith(magic)), None):
        raise DataError(f"{path}: {unread}, not a format attnlib reads{_SAVE}")
    if path.suffix.lower() == ".npz" and data.startswith(b"PK\x03\x04"):
        raise DataError(f"{path}: NumPy arrays (np.savez), not a format attnlib reads{_SAVE}")
    packed = next((kind for magic, kind in _MAGIC.items() if data.startswith(magic)), None)
    if data[:3] == b"BZh" and data[4:10] == b"1AY&SY":  # bzip2: its block header too
        packed = "bzip2"
    if packed is not None:
        raise DataError(f"{path}: holds {packed} data, not text; name it after what it is "
                        f"({_SUFFIX[packed]}) and it is read")  # fmt: skip
    try:
        decoded = charsets.decode(data, encoding)
    except charsets.Undecodable as exc:
        how = charsets.advice(exc.tried, exc.by_bom, exc.wide)
        raise DataError(f"{errors.where(path, row=exc.line)}{exc}; {how}") from None
    if not decoded.text.strip():
        raise DataError(f"{path}: file is empty")
    if decoded.garbled:
        name, line = decoded.garbled
        log.warning("%s: not %s at line %d, so read as %s; the lines above hold non-ASCII "
                    "text, garbled if it was %s (a file mixing encodings: convert it)", path,
                    charsets.shown(name), line, decoded.codec, charsets.shown(name))  # fmt: skip
    return decoded


def first_line(path: Path, encoding: str = UTF8) -> str:
    """The file's first line that holds something (no BOM; bad bytes replaced), read up to
    it, not the whole file; in the encoding its first 64 KiB say (:mod:`attnlib.charsets`)."""
    with path.open("rb") as f:
        codec = charsets.head_codec(f.read(1 << 16), encoding)
        f.seek(0)
        codec = "utf-8-sig" if codec == UTF8 else codec  # its BOM dropped, as UTF-16's is
        lines = io.TextIOWrapper(f, encoding=codec, errors="replace", newline=None)
        return next((line.rstrip("\n") for line in lines if line.strip()), "")


def unnamed_levels(header: list[str]) -> list[str]:
    """``header`` with the unnamed columns it starts with, two or more (``to_csv`` of a
    pandas index of several unnamed levels: ``,,a``), named as pandas reads them back:
    ``Unnamed: 0``, ``Unnamed: 1`` (:func:`attnlib.datasets.levels.index_levels`)."""
    lead = next((i for i, h in enumerate(header) if h.strip()), len(header))
    return [f"Unnamed: {i}" for i in range(lead)] + header[lead:] if lead > 1 else header


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
        header = unnamed_levels(header)
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
    return frame, lambda i: f"line {lines[i]}"


def field_separator(header: str, separator: str) -> str:
    """``;`` for a CSV split by semicolons (Excel's where the decimal mark is a comma): its
    header has two or more fields by semicolons and more than by commas (a name may hold
    a comma: ``date;Umsatz (EUR, netto);Menge``); else ``separator``."""
    fields = lambda sep: len(next(csv.reader([header], delimiter=sep), []))  # noqa: E731
    semicolons = fields(";")
    return ";" if separator == "," and semicolons >= 2 and semicolons > fields(",") else separator


# a number with a decimal comma (1,5  -0,25  3,1e-2  1.234,5: a point groups thousands)
_DECIMAL_COMMA = r"^\s*[+-]?(?:[1-9]\d{0,2}(?:\.\d{3})+|\d+)?,\d*(?:[eE][+-]?\d+)?\s*$"
_THOUSANDS = r"^\s*[+-]?[1-9]\d{0,2}(?:\.\d{3})+\s*$"  # 1.234 (not 0.125): thousands grouped
_PLAIN_NUMBER = r"^\s*[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$"


def decimal_commas(
    frame: pl.DataFrame, keep: tuple[str, ...] = (), source: object = None
) -> pl.DataFrame:
    """A semicolon-separated file's numbers written the European way as numbers are written
    with a point, in each column of numbers (any but ``keep``) that has a decimal comma:
    ``1,5`` is 1.5, and a point there groups thousands (``1.234,5`` is 1234.5, ``1.000``
    1000). A column without a decimal comma keeps its points as decimal points, with a
    warning when the file has decimal commas elsewhere and the column's points could be
    thousands (``1.000``; ``source`` names the file, none: no warning). Other columns
    (text, ids, labels) as they are."""
    numbers: dict[str, bool] = {}  # a column of numbers -> has a decimal comma
    for name in frame.columns:
        cells = frame[name].drop_nulls() if frame.schema[name] == pl.String else None
        if name in keep or cells is None or cells.len() == 0:
            continue
        commas = cells.str.contains(_DECIMAL_COMMA)
        if (commas | cells.str.contains(_PLAIN_NUMBER)).all():
            numbers[name] = bool(commas.any())
    if not any(numbers.values()):
        return frame
    doubtful = [n for n, comma in numbers.items() if not comma
                and frame[n].drop_nulls().str.contains(_THOUSANDS).any()]  # fmt: skip
    if doubtful and source is not None:
        log.warning("%s: column(s) %s: a point read as a decimal point ('1.000' is 1), though "
                    "other columns write numbers with a decimal comma; if it groups "
                    "thousands there, remove it in the file", source, doubtful[:5])  # fmt: skip
    fixed = []
    for name in (n for n, comma in numbers.items() if comma):
        cell = pl.col(name)
        grouped = cell.str.contains(_DECIMAL_COMMA) | cell.str.contains(_THOUSANDS)
        plain = pl.when(grouped).then(cell.str.replace_all(".", "", literal=True)).otherwise(cell)
        fixed.append(plain.str.replace(",", ".", literal=True).alias(name))
    return frame.with_columns(fixed)


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
