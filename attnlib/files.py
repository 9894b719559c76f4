"""Files a user names on the command line: outputs by extension, standard input, separators.

An output path is checked before any work: a directory, a missing parent that cannot be
made or an unwritable place is a :class:`DataError` (one line, exit code 2). A symbolic
link is written through (its target is replaced atomically, the link stays). The format
follows the extension: ``.parquet``, ``.csv`` (list columns as JSON arrays, so tokens
that contain spaces or commas read back exactly) or ``.jsonl``; anything else is refused.
"""

from __future__ import annotations

import codecs
import contextlib
import gzip
import io
import json
import os
import re
import sys
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import polars as pl

from attnlib import charsets
from attnlib.charsets import UTF8
from attnlib.errors import DataError
from attnlib.io import atomic_path

OUTPUT_FORMATS = {".parquet": "parquet", ".csv": "csv", ".jsonl": "jsonl"}
# standard input's temporary copy is named by --format (else by its content), so that a
# format given is not refused for an extension guessed from the content (the readers of
# long, wide and excel tell a Parquet file or a workbook by its first bytes)
STDIN_SUFFIX = {"seqlab_txt": ".txt", "seqlab_csv": ".txt", "ucr": ".txt", "csv": ".csv",
                "tsv": ".tsv", "parquet": ".parquet", "jsonl": ".jsonl", "ts": ".ts",
                "arff": ".arff", "long": ".txt", "wide": ".txt", "excel": ".txt"}  # fmt: skip
STDIN = "-"


def output_path(out: str | Path, source: str | Path | None = None) -> Path:
    """The real file to write for ``out``: a symbolic link resolves to its target.

    Raises:
        DataError: the extension is not one of :data:`OUTPUT_FORMATS`, ``out`` is a
            directory, or its directory is missing / not writable, or it is the file
            ``source`` (the input: writing there would replace the data with the result).
    """
    out = Path(out)
    real = Path(os.path.realpath(out))  # through every link; the link itself is kept
    if source is not None and real.exists() and Path(source).exists():
        if os.path.samefile(real, source):
            raise DataError(f"--out {out}: is the input file {source}; write to another file")
    if real.is_dir():
        raise DataError(f"--out {out}: is a directory; give a file name such as {out}/out.parquet")
    if out.suffix.lower() not in OUTPUT_FORMATS:
        known = ", ".join(OUTPUT_FORMATS)
        raise DataError(f"--out {out}: unknown output format '{out.suffix}' (use {known})")
    if real.exists() and not real.is_file():
        raise DataError(f"--out {out}: not a regular file (a device or pipe cannot be replaced)")
    parent = real.parent
    if parent.exists() and not parent.is_dir():
        raise DataError(f"--out {out}: {parent} is not a directory")
    existing = next(p for p in (parent, *parent.parents) if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise DataError(f"--out {out}: cannot write in {existing} (permission denied)")
    if real.exists() and not os.access(real, os.W_OK):
        raise DataError(f"--out {out}: file is not writable (permission denied)")
    return real


def write_table(frame: pl.DataFrame, out: str | Path) -> Path:
    """Write ``frame`` to ``out`` atomically in the format its extension names.

    Returns:
        The file written (the target when ``out`` is a symbolic link).
    """
    real = output_path(out)
    fmt = OUTPUT_FORMATS[Path(out).suffix.lower()]  # the name the user gave decides
    try:
        with atomic_path(real, suffix=f".{fmt}") as tmp:
            if fmt == "parquet":
                frame.write_parquet(tmp)
            elif fmt == "jsonl":
                frame.write_ndjson(tmp)
            else:
                frame.with_columns(
                    pl.col(c).map_elements(_json_list, return_dtype=pl.String)
                    for c, t in frame.schema.items()
                    if isinstance(t, pl.List)
                ).write_csv(tmp)
    except OSError as exc:  # permission, a missing place (/proc), a full or read-only disk
        raise DataError(f"--out {out}: cannot write ({_os_reason(exc)})") from None
    except pl.exceptions.ComputeError as exc:  # the parquet writer's OS errors (os error N)
        if "(os error" not in str(exc):
            raise
        raise DataError(f"--out {out}: cannot write ({_os_reason(exc)})") from None
    return real


def _os_reason(exc: Exception) -> str:
    """The OS's reason for ``exc`` (``No space left on device``), also for polars' errors,
    which carry it only in their text (``... (os error 28): path``)."""
    if getattr(exc, "strerror", None):
        return exc.strerror
    code = re.search(r"\(os error (\d+)\)", str(exc))
    return os.strerror(int(code.group(1))) if code else str(exc) or type(exc).__name__


def _json_list(values: pl.Series) -> str:
    return json.dumps(values.to_list(), ensure_ascii=False)


@contextlib.contextmanager
def input_path(source: str | Path, suffix: str = "", encoding: str = UTF8) -> Iterator[str]:
    """``source`` itself, or for ``-`` a temporary copy of standard input.

    Standard input has no extension, so its format comes from the content (``suffix``
    names one when the caller knows it, e.g. from ``--format``), read as text in
    ``encoding`` (:mod:`attnlib.charsets`).
    """
    if str(source) != STDIN:
        yield str(source)
        return
    data = sys.stdin.buffer.read()
    if not data.strip():
        raise DataError("standard input (-): empty")
    with tempfile.TemporaryDirectory(prefix="attnlib-stdin-") as tmp:
        if suffix and data[:2] == b"\x1f\x8b":  # gzip with --format: decompressed first
            suffix += ".gz"
        path = Path(tmp) / f"stdin{suffix or _sniff(data, encoding)}"
        try:  # a full disk; the directory goes with the context
            path.write_bytes(data)
        except OSError as exc:
            raise DataError(
                f"standard input (-): cannot copy it to {tmp} ({_os_reason(exc)})"
            ) from None
        yield str(path)


_TS_HEADER = re.compile(rb"(?:\s*[#%][^\n]*\n)*\s*@(?:problemname|timestamps|missing|univariate|"
                        rb"dimensions|equallength|serieslength|classlabel|targetlabel|data)\b",
                        re.IGNORECASE)  # fmt: skip
_DATA_LINE = re.compile(rb"^\s*@data\s*$", re.IGNORECASE | re.MULTILINE)
_ARFF_HEADER = re.compile(rb"(?:\s*%[^\n]*\n)*\s*@relation\b", re.IGNORECASE)


def _sniff(data: bytes, encoding: str = UTF8) -> str:
    """An extension for content without a name: Parquet's magic, JSON rows, a ``.ts`` or
    ARFF header (with its @data line), a header with tabs or commas, else one sequence per
    line."""
    if data[:4] == b"PAR1":
        return ".parquet"
    if data[:2] == b"\x1f\x8b":  # gzip: its first 64 KB decide the inner name (csv.gz, ...)
        with contextlib.suppress(OSError, EOFError, zlib.error):
            head = gzip.GzipFile(fileobj=io.BytesIO(data)).read(1 << 16)
            return _sniff(head, encoding) + ".gz"
    codec = charsets.head_codec(data[: 1 << 16], encoding)
    if codec != charsets.UTF8:  # UTF-16's NULs hide the structure; JSON is parsed as UTF-8
        data = data.decode(codec, errors="replace").encode()  # its BOM dropped by the codec
    data = data.removeprefix(codecs.BOM_UTF8)
    first = data.lstrip().split(b"\n", 1)[0]
    if _json_rows(data.lstrip(), first):
        return ".jsonl"
    if _TS_HEADER.match(data) and _DATA_LINE.search(data):  # comments, @key lines, @data
        return ".ts"
    if _ARFF_HEADER.match(data) and _DATA_LINE.search(data):  # comments, @relation, ..., @data
        return ".arff"
    lines = [ln for ln in data.lstrip().split(b"\n", 4)[:4] if ln.strip()][:3]
    cells = [ln.rstrip(b"\r").split(b";") for ln in lines]
    semicolons = (
        len(lines) >= 2
        and len({len(c) for c in cells}) == 1
        and len(cells[0]) > 1
        and all(f.strip() for c in cells for f in c)
    )  # fmt: skip  (no empty field)
    return ".tsv" if b"\t" in first else ".csv" if b"," in first or semicolons else ".txt"


def _json_rows(data: bytes, first: bytes) -> bool:
    """JSON Lines (a first line that is a JSON object, or opens one: ``{`` alone, ``{"``)
    or a JSON array of objects; ``--format`` overrides a wrong guess."""
    if data[:1] == b"[":
        return data[1:].lstrip()[:1] == b"{"
    if first.strip() == b"{" or first[:2] == b'{"':  # the reader names what is wrong
        return True
    try:
        return data[:1] == b"{" and isinstance(json.loads(first), dict)
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        return False


def split_tokens(text: str, sep: str | None) -> list[str]:
    """Tokens of one text field: split on ``sep``, or on whitespace when ``sep`` is None."""
    if sep is None:
        return text.split()
    return [t.strip() for t in text.split(sep) if t.strip()]


def describe_counts(frame) -> str:
    """How much a table holds, in its own unit: sequences, series, or series and steps."""
    n = frame.height
    if "tokens" in frame.columns:
        tokens = int(frame["tokens"].list.len().sum())
        return f"{n} sequence{'s' * (n != 1)}, {tokens} tokens"
    if "values" in frame.columns:
        steps = int(frame["values"].list.len().sum())
        return f"{n} series, {steps} time steps"
    channels = len([c for c in frame.columns if c not in ("time", "id", "split")])
    return f"1 series of {n} time steps, {channels} channel{'s' * (channels != 1)}"
