"""Compressed files: ``.gz``, ``.bz2``, ``.xz``, and ``.zip`` or tar archives of one data set.

Data often comes compressed (``reviews.csv.gz``; a ``.zip`` from Kaggle or the UCR / UEA
archive's site). Such a file is read as the file inside it: unpacked into a temporary
directory under its own name (``reviews.csv``), whose extension and content then decide
the format as usual. An archive pair (``NAME_TRAIN.tsv.gz`` beside ``NAME_TEST.tsv.gz``,
or both inside one zip or tar) is unpacked together, so the test file is found. A zip holding
one set in several formats (the UCR / UEA site's: ``.ts``, ``.arff``, ``.txt``) is read
in the first of its formats. A zip or tar of a folder of text files is unpacked whole and
read as that folder. Which files of a zip or tar are read, and how they are unpacked
safely: :mod:`attnlib.datasets.unpack`. Messages name the compressed file, not the
temporary copy.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import logging
import lzma
import shutil
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from attnlib.charsets import UTF8
from attnlib.datasets.archive import archive_test_file, archive_train_file
from attnlib.datasets.unpack import PACKED, failure, is_tar, unpack
from attnlib.errors import DataError

OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}


def is_compressed(path: Path) -> bool:
    return path.suffix.lower() in PACKED


@contextlib.contextmanager
def unpacked(
    path: Path, pair: bool = False, encoding: str = UTF8
) -> Iterator[tuple[Path, dict[str, str]]]:
    """``path`` itself, or the file (or folder of texts) inside it unpacked to a temporary
    directory (with
    ``pair``, a train file's archive test file beside it too, compressed or not); with the
    names to show for the copies (``{temporary path: the user's path}``), which the
    readers' warnings use too."""
    partner = _partner(path) if pair and path.is_file() else None
    if partner is None and (not is_compressed(path) or not path.is_file()):
        yield path, {}
        return
    with tempfile.TemporaryDirectory(prefix="attnlib-unpacked-") as tmp:
        if path.suffix.lower() == ".zip" or is_tar(path):
            inner, names = unpack(path, Path(tmp), encoding)
        else:
            names = {}
            for given in filter(None, (path, partner)):
                out = Path(tmp) / (given.stem if is_compressed(given) else given.name)
                _decompress(given, out)
                names[str(out)] = str(given)
            inner = Path(tmp) / (path.stem if is_compressed(path) else path.name)
        with naming_warnings(names):
            yield inner, names


@contextlib.contextmanager
def naming_warnings(names: dict[str, str]) -> Iterator[None]:
    """The readers' log records name the user's files, not their temporary copies
    (``{copy: shown}``; none: nothing to rename)."""

    def rename(record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(copy in message for copy in names):
            record.msg, record.args = shown(message, names), ()
        return True

    loggers = [logging.getLogger(n) for n in list(logging.Logger.manager.loggerDict)
               if names and (n == "attnlib" or n.startswith("attnlib."))]  # fmt: skip
    for logger in loggers:
        logger.addFilter(rename)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(rename)


def shown(message: str, names: dict[str, str]) -> str:
    """``message`` with each temporary copy named as the compressed file it came from."""
    for copy, packed in names.items():
        message = message.replace(copy, packed)
    return message


def name(path: Path, names: dict[str, str]) -> str:
    """The file name to show for ``path``: a decompressed copy's compressed name
    (``Set_TEST.tsv.gz``); a zip member's own name."""
    packed = names.get(str(path))
    return Path(packed).name if packed and Path(packed).suffix.lower() in OPENERS else path.name


def train_file(path: Path) -> Path | None:
    """A test file's archive train file beside it when one of the two is compressed."""
    return _partner(path, archive_train_file)


def _partner(path: Path, find=archive_test_file) -> Path | None:
    """A train file's archive test file (``find``: or a test file's train file) beside it
    when one of the two is compressed (.gz, .bz2, .xz; a zip holds its pair inside):
    ``Set_TEST.tsv.gz`` or ``Set_TEST.tsv`` beside ``Set_TRAIN.tsv.gz``,
    ``Set_TEST.tsv.gz`` beside ``Set_TRAIN.tsv``."""
    if path.suffix.lower() == ".zip":
        return None
    packed = path.suffix if path.suffix.lower() in OPENERS else ""
    inner = path.parent / path.stem if packed else path  # Set_TRAIN.tsv.gz -> Set_TRAIN.tsv
    if not packed and find(inner, "") is not None:
        return None  # a plain partner beside a plain file wins (gunzip -k leaves both)
    for way in [packed, ""] if packed else list(OPENERS):  # compressed the same way, or not
        partner = find(inner, way)
        if partner is not None and (packed or way):
            return partner
    return None


def _decompress(given: Path, out: Path) -> None:
    """``given`` decompressed (or, not compressed, copied) to ``out``."""
    kind = given.suffix.lower()
    opener = OPENERS.get(kind, open)
    try:
        with opener(given, "rb") as src, out.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:  # BadGzipFile: OSError
        raise DataError(failure(given, kind, exc, out.parent)) from None
