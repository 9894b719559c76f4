"""Compressed files: ``.gz``, ``.bz2``, ``.xz``, and ``.zip`` or tar archives of one data set.

Data often comes compressed (``reviews.csv.gz``; a ``.zip`` from Kaggle or the UCR / UEA
archive's site). Such a file is read as the file inside it: unpacked into a temporary
directory under its own name (``reviews.csv``), whose extension and content then decide
the format as usual. An archive pair (``NAME_TRAIN.tsv.gz`` beside ``NAME_TEST.tsv.gz``,
or both inside one zip) is unpacked together, so the test file is found. A zip holding
one set in several formats (the UCR / UEA site's: ``.ts``, ``.arff``, ``.txt``) is read
in the first of :data:`PREFERRED`. A zip or tar of a folder of text files (no file of a
data format in it; :mod:`attnlib.datasets.folders`) is unpacked whole and read as that
folder. Anything else in an archive of more than one file is an error listing them.
Messages name the compressed file, not the temporary copy.
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import logging
import lzma
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from attnlib.datasets.archive import archive_test_file, archive_train_file
from attnlib.datasets.folders import DATA_SUFFIXES
from attnlib.errors import DataError

OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
TARS = (".tar", ".tgz", ".tar.gz", ".tar.bz2", ".tar.xz")
SUFFIXES = (*OPENERS, ".zip", ".tar", ".tgz")
PREFERRED = (".ts", ".arff", ".tsv", ".csv", ".parquet", ".txt")  # one set in several formats
_NOT_DATA = (".md", ".pdf", ".html", ".json", ".yaml", ".yml", ".jpg", ".png")  # docs


def is_compressed(path: Path) -> bool:
    return path.suffix.lower() in SUFFIXES


def is_tar(path: Path) -> bool:
    return path.name.lower().endswith(TARS)


@contextlib.contextmanager
def unpacked(path: Path, pair: bool = False) -> Iterator[tuple[Path, dict[str, str]]]:
    """``path`` itself, or the file inside it unpacked to a temporary directory (with
    ``pair``, a train file's archive test file beside it too, compressed or not); with the
    names to show for the copies (``{temporary path: the user's path}``), which the
    readers' warnings use too."""
    partner = _partner(path) if pair and path.is_file() else None
    if partner is None and (not is_compressed(path) or not path.is_file()):
        yield path, {}
        return
    with tempfile.TemporaryDirectory(prefix="attnlib-unpacked-") as tmp:
        if path.suffix.lower() == ".zip" or is_tar(path):
            inner, names = _unpack(path, Path(tmp))
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
        raise DataError(f"{given}: not a readable {kind} file ({exc})") from None


def _unpack(path: Path, tmp: Path) -> tuple[Path, dict[str, str]]:
    """The data file a zip or tar holds (the train file of a pair) unpacked into ``tmp``;
    or, for a folder of text files, the whole tree and its top folder."""
    kind = "zip" if path.suffix.lower() == ".zip" else "tar"
    try:
        with zipfile.ZipFile(path) if kind == "zip" else tarfile.open(path) as archive:
            files = _files(archive)
            data = [name for name in files if _is_data(name)]
            if not data:  # a zip of one .json (JSON rows, not notes) is its data
                data = [n for n in files if _is_data(n, docs=()) and n.lower().endswith(".json")]
            chosen = _choose(path, kind, data)
            if chosen is None:
                return _tree(path, archive, tmp / "tree")
            names = {}
            for member in chosen:
                out = tmp / PurePosixPath(member).name
                with _open(archive, files[member]) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                names[str(out)] = f"{path} ({member})"
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, NotImplementedError,
            zlib.error, lzma.LZMAError, RuntimeError) as exc:  # fmt: skip
        why = "a file in it is encrypted" if isinstance(exc, RuntimeError) else str(exc)
        raise DataError(f"{path}: not a readable {kind} file ({why}); unpack it and give the "
                        "file or folder inside") from None  # fmt: skip
    return tmp / PurePosixPath(chosen[0]).name, names


def _files(archive: zipfile.ZipFile | tarfile.TarFile) -> dict[str, object]:
    """The archive's files (not folders, links or devices) by their names in it."""
    if isinstance(archive, zipfile.ZipFile):
        return {m.filename: m for m in archive.infolist() if not m.is_dir()}
    return {m.name: m for m in archive.getmembers() if m.isfile()}


def _open(archive: zipfile.ZipFile | tarfile.TarFile, member):
    if isinstance(archive, zipfile.ZipFile):
        return archive.open(member)
    return archive.extractfile(member)


def _tree(path: Path, archive, out: Path) -> tuple[Path, dict[str, str]]:
    """A folder of text files unpacked whole to ``out``; its top folder when it has one
    (``aclImdb/``), named in messages as a path into the archive (``aclImdb_v1.tar.gz/aclImdb``)."""
    if isinstance(archive, zipfile.ZipFile):
        archive.extractall(out)  # zipfile drops ".." and leading "/" from member names
    elif hasattr(tarfile, "data_filter"):  # Python 3.10.12, 3.11.4 and later
        archive.extractall(out, filter="data")  # nothing outside out, no special files
    else:
        raise DataError(f"{path}: a tar of a folder is unpacked safely by Python 3.10.12 / "
                        "3.11.4 or later; unpack it and give the folder")  # fmt: skip
    visible = [e for e in out.iterdir() if not e.name.startswith((".", "__MACOSX"))]
    if len(visible) == 1 and visible[0].is_dir():
        return visible[0], {str(visible[0]): f"{path}/{visible[0].name}"}
    return out, {str(out): str(path)}


def _is_data(name: str, docs: tuple[str, ...] = _NOT_DATA) -> bool:
    name = PurePosixPath(name)
    return ("__MACOSX" not in name.parts
            and not name.name.startswith(".") and not name.name.lower().startswith("readme")
            and name.suffix.lower() not in docs)  # fmt: skip


def _choose(path: Path, kind: str, members: list[str]) -> list[str] | None:
    """One file, or one archive pair (train first) in the first format of
    :data:`PREFERRED` the archive has; None for a folder of text files (two or more files,
    none of a data format); else a DataError listing what it holds."""
    if len(members) == 1:
        return members
    if not members:
        raise DataError(f"{path}: the {kind} holds no data file (only folders, notes or "
                        "hidden files)")  # fmt: skip
    by_suffix: dict[str, list[str]] = {}
    for m in members:
        by_suffix.setdefault(PurePosixPath(m).suffix.lower(), []).append(m)
    for suffix in PREFERRED:
        pair = sorted(by_suffix.get(suffix, []), key=lambda m: not _stem(m).endswith("_train"))
        stems = [_stem(m) for m in pair]
        if (
            len(pair) == 2
            and stems[0].endswith("_train")
            and stems[1] == (f"{stems[0][: -len('_train')]}_test")
        ):
            return pair
    if not set(by_suffix) & set(DATA_SUFFIXES):
        return None
    raise DataError(f"{path}: a {kind} of {len(members)} data files ({', '.join(members[:6])}"
                    f"{', ...' if len(members) > 6 else ''}); attnlib reads an archive of one "
                    "file, of one NAME_TRAIN / NAME_TEST pair or of a folder of text files: "
                    "unpack it and give the file you mean")  # fmt: skip


def _stem(member: str) -> str:
    return PurePosixPath(member).stem.lower()
