"""Spreadsheets: ``.xlsx``, ``.xlsm``, ``.xls`` and ``.ods``, read with fastexcel.

The first sheet is read, the first row that holds something its header (empty rows and
columns around the table are skipped). Cells keep their types (numbers, dates, text), as
a Parquet file's columns do, every row typed, and the table is read as a Parquet one is:
sequences in a ``tokens`` / ``text`` column, series in ``values``, a long table with a
time column, or a wide one. A column with no header is named as pandas' ``read_excel``
names it (``Unnamed: 0``: the index ``to_excel`` writes first is read as it would be
from a CSV). A column of whole numbers is read as integers (a spreadsheet stores every
number as a float); a column that mixes types (numbers and a text ``n/a``) is read as
the text its cells show, as a CSV's would be. Rows are numbered from the header, row 1
(the sheet's own numbers when the table starts in row 1). A workbook of several sheets
reads its first, with a warning naming the others.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import polars as pl

from attnlib.errors import DataError

log = logging.getLogger(__name__)

SUFFIXES = (".xlsx", ".xlsm", ".xls", ".ods")
_GENERATED = re.compile(r"__UNNAMED__(\d+)")  # fastexcel's name for a column with no header


def read(path: Path) -> pl.DataFrame:
    """The first sheet of the workbook in ``path`` as a typed frame."""
    import fastexcel  # imported here: only a spreadsheet needs it

    try:
        workbook = fastexcel.read_excel(str(path))
        frame = workbook.load_sheet(0, schema_sample_rows=None).to_polars()  # every row typed
        frame = _as_written(frame, workbook)
    except Exception as exc:  # noqa: BLE001  (calamine raises its own types: say the file)
        raise DataError(f"{path}: not a readable spreadsheet "
                        f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                        ) from None  # fmt: skip
    sheets = workbook.sheet_names
    if len(sheets) > 1:
        log.warning("%s: read its first sheet, '%s'; the other %d (%s) are not read (save the "
                    "one you mean as its own file, or move it first)", path, sheets[0],
                    len(sheets) - 1, ", ".join(sheets[1:4]))  # fmt: skip
    if frame.height == 0:
        raise DataError(f"{path}: no rows below the header of sheet '{sheets[0]}'")
    names = {c: f"Unnamed: {m[1]}" for c in frame.columns if (m := _GENERATED.fullmatch(c))}
    return _whole(frame.rename(names) if names else frame)


def _as_written(frame: pl.DataFrame, workbook) -> pl.DataFrame:
    """Columns that mix types (numbers and a text ``n/a``) as the text each cell shows:
    fastexcel types a column by most of its cells and empties the others, and an emptied
    cell would be reported as missing, not as what it holds."""
    if not any(kind != pl.String and frame[c].null_count() for c, kind in frame.schema.items()):
        return frame  # no typed column has an empty cell: none was emptied
    text = workbook.load_sheet(0, dtypes="string").to_polars()
    mixed = [c for c, kind in frame.schema.items() if kind != pl.String and c in text.columns
             and bool((frame[c].is_null() & text[c].is_not_null()).any())]  # fmt: skip
    return frame.with_columns(text[c] for c in mixed) if mixed else frame


def _whole(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns of whole numbers as integers: a spreadsheet stores every number as a float,
    and a class 1 must read as ``1``, not ``1.0``."""
    whole = [c for c, kind in frame.schema.items() if kind == pl.Float64
             and bool(((s := frame[c].drop_nulls()) == s.round()).all())
             and s.abs().max() is not None and s.abs().max() < 2**53]  # fmt: skip
    return frame.with_columns(pl.col(whole).cast(pl.Int64)) if whole else frame


def names(path: Path) -> list[str]:
    """The first sheet's column names (its header row alone is read)."""
    import fastexcel

    try:
        return fastexcel.read_excel(str(path)).load_sheet(0, n_rows=0).to_polars().columns
    except Exception:  # noqa: BLE001  (the read proper says what is wrong)
        return []


def by_row(i: int) -> str:
    """Row i of the frame as the sheet numbers it (the header is row 1)."""
    return f"row {i + 2}"
