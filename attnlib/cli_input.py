"""How the ``attnlib`` commands that read a data file take it: the options (format, token
separator, text encoding, column names) and the read itself, of a file, a folder or
standard input; for a trained model's commands, with the names and encoding its training
files had."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from attnlib import charsets
from attnlib.errors import ConfigError, DataError

FORMATS_HELP = (
    "auto, seqlab_txt, seqlab_csv, csv, tsv, parquet, excel, jsonl, ucr, ts, arff, long, wide"
)
INPUT_HELP = (
    "sequences: a Parquet, CSV, TSV, JSON, TXT, UCR, .ts, .arff or spreadsheet file (or one "
    "in a .gz, .bz2, .xz, .zip or tar), or a folder of text files (one per file, a "
    "sub-folder per class; or a .zip or tar of one); - reads standard input"
)
InputArg = Annotated[str, typer.Argument(help=INPUT_HELP)]
FormatOption = Annotated[str, typer.Option(help=f"input format: {FORMATS_HELP}")]
SepOption = Annotated[
    str,
    typer.Option(help="token separator of text input (default: whitespace); '|' lets tokens "
                 "hold spaces: 'D-major triad|G-major triad'"),
]  # fmt: skip

EncodingOption = Annotated[
    str,
    typer.Option(help="text encoding of the input (ingest.encoding): a Python codec name such "
                 "as cp1252 or latin-1, or several tried in order, utf-8/cp1252 (default: "
                 "utf-8; a model's commands: utf-8, else its training files' encoding)"),
]  # fmt: skip


def _column(role: str, what: str):
    """The option naming a table's column for ``role`` (as ``ingest.<role>_column`` does)."""
    return Annotated[str, typer.Option(f"--{role}-column", help=f"{what} (ingest.{role}_column)")]


TextColumn = _column("text", "the table's column of text or tokens, when not named 'text'")
LabelColumn = _column("label", "the table's column of classes, when not named 'label'")
TimeColumn = _column("time", "a long table's time column, when its name is not a time name")
IdColumn = _column("id", "the column naming each row's sequence or series, when not named 'id'")
# attnlib.datasets.gaps.MODES (not imported: the command starts without the readers)
MissingOption = Annotated[
    Literal["interpolate", "error"],
    typer.Option(help="a missing value inside a series to classify: interpolate (linearly, "
                 "logged) or error (ingest.missing)"),
]  # fmt: skip
OutOption = Annotated[
    Path,
    typer.Option(
        "--out", "-o", help="file to write: .parquet, .csv (lists as JSON arrays) or .jsonl"
    ),
]


def columns(text: str, label: str, time: str, id: str = "") -> dict[str, str]:
    return {"text": text, "label": label, "time": time, "id": id}


def for_model(given: dict[str, str], encoding: str, model) -> dict:
    """How to read a file for ``model``: its training names (``ingest.text_column`` ...)
    where the file has them, and its training files' encoding, unless the command line
    gives others (which win)."""
    given = {role: name for role, name in given.items() if name}
    stored = {role: name for role, name in model.columns.items() if role not in given}
    return {"columns": {**stored, **given}, "optional_columns": tuple(stored),
            "encoding": encoding or model.encoding}  # fmt: skip


def read_input(source: str, format: str, sep: str, *, encoding: str, **kwargs):
    """Read a file (or ``-``: standard input) with the format it was given or detected."""
    from attnlib.datasets import read_and_describe
    from attnlib.datasets.compressed import naming_warnings, shown
    from attnlib.files import STDIN_SUFFIX, input_path

    with input_path(source, STDIN_SUFFIX.get(format, ""), encoding) as path:
        names = {} if path == source else {path: "standard input"}
        with naming_warnings(names):
            try:
                frame, how = read_and_describe(path, format, sep=sep or None, encoding=encoding,
                                               **kwargs)  # fmt: skip
            except (DataError, ConfigError) as exc:  # standard input, not its temporary copy
                if not names:
                    raise
                raise type(exc)(shown(str(exc), names)) from None
    return frame, shown(how, names)


def stdin_lines(encoding: str):
    """Standard input's lines as they come, decoded (:func:`attnlib.charsets.lines`)."""
    return charsets.lines(sys.stdin.buffer, encoding, "standard input")
