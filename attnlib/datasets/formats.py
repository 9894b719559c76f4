"""Reading one user file by format: detecting the format, the per-format readers.
:func:`attnlib.datasets.read_and_describe` is the entry point."""

from __future__ import annotations

import contextlib
import csv
import io
import logging
from collections.abc import Callable
from pathlib import Path

import polars as pl

from attnlib import charsets
from attnlib.charsets import UTF8
from attnlib.datasets import (
    excel,
    jsonl,
    levels,
    number_rows,
    panel,
    roles,
    rows,
    series,
    tables,
    typed,
    wide,
)
from attnlib.datasets.arff_format import read_arff
from attnlib.datasets.times import dates
from attnlib.datasets.ts_format import read_ts
from attnlib.datasets.typed import by_row
from attnlib.errors import ConfigError, DataError

log = logging.getLogger(__name__)

FORMATS = ("seqlab_txt", "seqlab_csv", "csv", "tsv", "parquet", "excel", "jsonl", "ucr", "ts",
           "arff", "long", "wide")  # fmt: skip
_EXTENSIONS = {".txt": "seqlab_txt", ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet",
               ".ts": "ts", ".arff": "arff"}  # fmt: skip
# the extensions of tables and series (a .txt may be any text)
DATA_SUFFIXES = (*(s for s in _EXTENSIONS if s != ".txt"), *excel.SUFFIXES, *jsonl.SUFFIXES)


def read_file(
    path: Path,
    fmt: str,
    sep: str | None,
    max_length: int | None,
    columns: dict[str, str] | None = None,
    encoding: str = UTF8,
) -> tuple[pl.DataFrame, str, str]:
    """One user file: the frame, the format it was read as, and how (for the log).
    ``columns`` (``{role: column}``, checked) names columns that hold a role under
    another name (:mod:`attnlib.datasets.roles`); errors name them as the file does.
    ``encoding``: a text file's (CSV, JSON ...; Parquet and spreadsheets hold theirs)."""
    columns = columns or {}
    roles.check_format(columns, fmt, path)
    try:
        frame, fmt, how = _read_file(path, fmt, sep, max_length, columns, encoding)
    except DataError as exc:
        if not columns or isinstance(exc, roles.NamingError):
            raise
        raise DataError(roles.named_back(str(exc), columns)) from None
    roles.check_frame(frame, columns, path, panel.read_as_panel(frame, how))
    how = roles.named_back(how, columns)  # "a time column 'tick'", as the file names it
    return frame, fmt, f"{how}; {roles.describe(columns)}" if columns else how


def _read_file(
    path: Path, fmt: str, sep: str | None, max_length: int | None, columns: dict[str, str],
    encoding: str,
) -> tuple[pl.DataFrame, str, str]:  # fmt: skip
    if not path.is_file():
        raise DataError(f"{path}: {'not a file' if path.exists() else 'file not found'}")
    is_parquet = path.suffix.lower() == ".parquet"
    if fmt == "wide" and (is_parquet or _parquet_magic(path)):
        raw, index = typed.named_parquet(path, columns)
        frame = wide.read_wide(tables.with_known_names(raw), path, by_row, index)
        where, how = by_row, f"{path} as wide"
    elif fmt == "long" and (is_parquet or _parquet_magic(path)):
        raw, index = typed.named_parquet(path, columns)
        long = typed.long_frame(raw, index, path)
        (frame, note), where = panel.read_table(long, path, by_row, columns), by_row
        how = f"{path} as long{note}"
    elif (kind := _typed_kind(path)) and fmt not in (kind, "auto"):
        what = "a spreadsheet" if kind == "excel" else "a JSON file"
        raise ConfigError(f"{path}: {what}; it is read with --format {kind} (or auto), its "
                          "layout (sequences, long, wide) told by its columns")  # fmt: skip
    elif fmt == "excel" or (fmt == "auto" and kind == "excel"):
        raw = roles.rename(excel.read(path), columns, path)
        frame, why = typed.read_typed(raw, [], path, columns, excel.by_row)
        where, how, fmt = excel.by_row, _typed_how(path, fmt, "excel", why, columns), "excel"
    elif fmt == "jsonl" or (fmt == "auto" and kind == "jsonl"):
        raw, where, note = jsonl.read(path, tuple(columns.values()), encoding)
        frame, why = typed.read_typed(roles.rename(raw, columns, path), [], path, columns, where)
        how, fmt = _typed_how(path, fmt, "jsonl", why, columns) + note, "jsonl"
    elif fmt == "parquet" or (fmt == "auto" and is_parquet):
        frame, why = typed.read_parquet(path, columns)
        where, how, fmt = by_row, _typed_how(path, fmt, "parquet", why, columns), "parquet"
    else:
        decoded = rows.read_decoded(path, encoding)
        data, note = decoded.text, charsets.described([decoded], encoding)
        how = f"{path} as {fmt}"
        if fmt == "auto":
            fmt, why = detect_format(path, data, columns)
            how = f"{path}: format auto -> {fmt} ({why})"
            log.info("%s", roles.named_back(how, columns))
            roles.check_format(columns, fmt, path)
        frame, where, fields, many = _read_text(path, data, fmt, sep or None, columns)
        how += many
        if fields == ";":
            how += "; fields split by semicolons (a number may have a decimal comma)"
        how += note
    if panel.read_as_panel(frame, how):  # a series is many rows, named by its id
        where = panel.by_id(frame)
    if encoding != UTF8 and (fmt == "excel" or fmt in ("parquet", "long", "wide") and
                             _parquet_magic(path)):  # fmt: skip
        log.info("%s: a %s file holds its own text encoding; %s is not used", path,
                 "spreadsheet" if fmt == "excel" else "Parquet", encoding)  # fmt: skip
    typed.check_max_length(frame, path, where, max_length)
    return frame, fmt, how


def _typed_kind(path: Path) -> str:
    """``excel`` or ``jsonl`` for a file whose extension says its cells have types."""
    suffix = path.suffix.lower()
    return "excel" if suffix in excel.SUFFIXES else "jsonl" if suffix in jsonl.SUFFIXES else ""


def _typed_how(path: Path, fmt: str, kind: str, why: str, columns: dict[str, str]) -> str:
    """The read line of a typed table (Parquet, a spreadsheet, JSON), logged with its
    columns as the file names them: how its columns decided the layout."""
    how = f"{path}{': format auto ->' if fmt == 'auto' else ' as'} {kind} ({why})"
    log.info("%s", roles.named_back(how, columns))
    return how


def _read_text(
    path: Path,
    data: str,
    fmt: str,
    token_sep: str | None = None,
    columns: dict[str, str] | None = None,
) -> tuple[pl.DataFrame, Callable, str | None, str]:
    """The frame read from a text file, ``where(i)`` naming row i's line, the field
    separator of a table (None for the other formats), and what a long table of many
    series read as, for the read line (:func:`attnlib.datasets.panel.read_table`)."""
    by_line = lambda i: f"line {i + 1}"  # noqa: E731
    if fmt == "seqlab_txt":
        return tables.read_seqlab_txt(path, data, token_sep), by_line, None, ""
    if fmt == "seqlab_csv":
        return tables.read_seqlab_csv(path, data), lambda i: f"sequence {i + 1}", None, ""
    if fmt == "ucr":
        return series.read_ucr(path, data), by_line, None, ""
    if fmt in ("ts", "arff"):  # header lines come first: a row's line is in its id, line<N>
        frame = (read_ts if fmt == "ts" else read_arff)(path, data)
        return frame, lambda i: f"line {frame['id'][i].removeprefix('line')}", None, ""
    first = _first_line(data)
    tabs = "\t" in first and fmt in ("long", "wide")  # its reader takes tabs or commas
    sep = "\t" if fmt == "tsv" or tabs else rows.field_separator(first, ",")  # or Excel's ;
    table, where = rows.read_rows(path, data, sep)  # all strings: ids such as "007" stay
    table = roles.rename(table, columns or {}, path)
    if sep == ";" and fmt in ("long", "wide"):  # values only: ids, labels, tokens keep commas
        time = series.time_column(table.columns) if fmt == "long" else None
        keep = (*tables.META_COLUMNS, *filter(None, [time]))
        table = rows.decimal_commas(table, keep=keep, source=path)
    if fmt == "long":  # its columns' names are channel names, kept as they are
        renamed, _ = levels.with_index_levels(table, [], path, panel.forecaster())
        if renamed is not table:
            table = renamed
        elif (
            table.columns[:1] in ([""], ["Unnamed: 0"])
            and series.time_column(table.columns) is None
        ):
            table = table.rename({table.columns[0]: "date"})  # pandas' index: to_csv's dates
        frame, many = panel.read_table(table, path, where, columns or {})
        return frame, where, sep, many
    table = tables.with_known_names(table)
    if fmt == "wide":
        return wide.read_wide(table, path, where), where, sep, ""
    return tables.normalise_table(table, path, where, token_sep), where, sep, ""


def _dated_rows(header: list[str], cells: list[str]) -> bool:
    """A text table whose unnamed first column (pandas' index, ``to_csv``) holds a date."""
    return (header[:1] in ([""], ["Unnamed: 0"]) and typed.no_other_role(header) and bool(cells)
            and dates(pl.Series([cells[0]])))  # fmt: skip


def _parquet_magic(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"PAR1"


def header(path: Path, fmt: str = "auto", encoding: str = UTF8) -> list[str]:
    """A table's column names, read cheaply (Parquet's schema, a spreadsheet's first row,
    a JSON Lines file's first object, a CSV / TSV's first line); [] for a file read as
    another format, a first line of numbers (a UCR row), or a file that does not read (the
    read proper says why)."""
    suffix = path.suffix.lower()
    try:
        if fmt == "parquet" or (fmt in ("auto", "long", "wide") and (
                suffix == ".parquet" or _parquet_magic(path))):  # fmt: skip
            return list(pl.read_parquet_schema(path))
        if fmt == "excel" or (fmt == "auto" and _typed_kind(path) == "excel"):
            return excel.names(path)
        if fmt == "jsonl" or (fmt == "auto" and _typed_kind(path) == "jsonl"):
            return jsonl.names(path, encoding)
        if fmt not in roles.TABLE_FORMATS or (fmt == "auto" and suffix not in (".csv", ".tsv")):
            return []
        first = rows.first_line(path, encoding)
    except (DataError, OSError, ValueError):
        return []
    names = _fields(first, "\t" if "\t" in first else rows.field_separator(first, ","))
    return [] if all(series.is_number(n) for n in names) else names


def _first_line(data: str) -> str:
    """The first line that holds something (read up to it, not the whole text)."""
    return next((ln.rstrip("\n") for ln in io.StringIO(data, newline=None) if ln.strip()), "")


def detect_format(path: Path, data: str, columns: dict[str, str] | None = None) -> tuple[str, str]:
    """Decide a text file's format from its extension and content; ``columns``
    (``{role: column}``) names columns that hold a role under another name.

    Returns:
        ``(format, reason)``.

    Raises:
        DataError: the extension is unknown.
    """
    ext = path.suffix.lower()
    if ext == ".ts":
        return "ts", "the .ts extension: the UEA / UCR archives' header and @data lines"
    if ext == ".arff":
        return "arff", "the .arff extension: @attribute lines (one per step, or relational), @data"
    first = _first_line(data)
    lines = [ln for ln in data.splitlines() if ln.strip()]
    fields = [f for f in first.replace(",", " ").split() if f]
    numeric = len(fields) >= 3 and all(series.is_number(f) for f in fields)
    if ext == ".txt":
        return number_rows.txt_format(path, first, fields, numeric, lines)
    if ext in _EXTENSIONS and any(ln.startswith(tables.SEQLAB_SEPARATOR) for ln in lines[1:]):
        return "seqlab_csv", "rows starting with '>' separate sequences"
    sep = "\t" if ext == ".tsv" else rows.field_separator(first, ",")
    header = _fields(first, sep)
    if sep == ";" and all(series.is_number(h.replace(",", ".")) for h in header):
        raise DataError(f"{path}, line 1: numbers split by semicolons and no header; a table "
                        "split by semicolons needs a header of names (a UCR file separates "
                        "its values by tabs, spaces or commas)")  # fmt: skip
    header = rows.unnamed_levels(header)  # as the table is read: Unnamed: 0, Unnamed: 1
    with contextlib.suppress(roles.NamingError):  # raised when the table is read (a UCR
        header = roles.renamed(header, columns, path) if columns else header  # file: none)
    header = tables.known_names(header)
    cells = _fields(next(iter(lines[1:2]), ""), sep)
    if sep == ";" and cells:  # a decimal comma is a number (for the wide check)
        one_row = pl.DataFrame({str(i): [c] for i, c in enumerate(cells)})
        cells = list(rows.decimal_commas(one_row).row(0))
    if ext in _EXTENSIONS and levels.pair(header, None) and levels.index_levels(
            header, None, _head(path, lines, sep)):  # fmt: skip
        return "long", "pandas' two-level index in its first two columns"
    if ext in _EXTENSIONS and _dated_rows(header, cells):
        return "long", "an unnamed first column of dates (pandas' index): the time"
    if numeric and wide.pandas_header(header):
        return "wide", "a header 0, 1, ..., N (pandas' names): label in 0, then values"
    if numeric and not number_rows.numbers_header(fields, lines):
        where = "" if ext in _EXTENSIONS else f"no known extension ('{ext or 'none'}'), "
        return "ucr", f"{where}the lines are rows of numbers: label, then values"
    if number_rows.word_classes(lines, decimals=False):
        return "ucr", number_rows.WORD_CLASSES
    if ext not in _EXTENSIONS:  # (the UCR archive's 2015 files, Coffee_TRAIN, are above)
        known = ", ".join(sorted((".txt", *DATA_SUFFIXES)))
        raise DataError(f"{path}: cannot tell the format from the extension (known: {known}; "
                        "any of them in a .gz, .bz2, .xz, .zip or tar; or a folder of text "
                        "files)")  # fmt: skip
    if tables.looks_long(header):
        lowered = [h.lower() for h in header]
        return "long", f"a time column '{series.time_column(lowered)}' and no tokens / text"
    if wide.looks_wide(header, cells):
        return "wide", "numeric columns, one per time step, and no tokens / text / time column"
    return _EXTENSIONS[ext], f"a {ext} table with a header"


def _head(path: Path, lines: list[str], sep: str) -> pl.DataFrame | None:
    """The table's first 200 rows, as text, for decisions on its values (pandas' index
    levels); None when they do not read (the read proper says why)."""
    with contextlib.suppress(DataError):
        return rows.read_rows(path, "\n".join(lines[:201]) + "\n", sep)[0]
    return None


def _fields(line: str, sep: str) -> list[str]:
    """One CSV / TSV line's fields, quotes read as a CSV reader reads them (R's and pandas'
    quoted headers), stripped."""
    return [f.strip() for f in next(csv.reader([line], delimiter=sep), [])]
