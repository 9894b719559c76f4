"""Zip and tar archives: which of their files are the data, unpacked safely.

An archive of a ``NAME_TRAIN`` / ``NAME_TEST`` pair unpacks the pair (the UCR / UEA
site's zips hold a set in several formats: the first of :data:`PREFERRED` is taken). An
archive of a folder of text files (``aclImdb_v1.tar.gz``, a zip of class folders: two or
more sub-folders of texts, below the one top folder if there is one, and no file of a
data format among them) unpacks whole and reads as that folder
(:mod:`attnlib.datasets.folders`); so does one sub-folder of texts when no single table
lies beside it. Else an archive of one data file unpacks that file (``train.csv`` beside
``images/`` or ``docs/``). Anything else is an error listing what it holds. Notes (a
README, a licence; ``.md``, ``.pdf`` ... when choosing one data file) and hidden files
and folders do not count as data.

Unpacking is safe: a tar's members go through Python's ``data`` filter (nothing outside
the temporary folder, no devices) and its links are not unpacked; zipfile drops ``..``
and a leading ``/`` from a zip's names. An archive whose files would not fit the free
space of the temporary folder is refused before anything is unpacked.
"""

from __future__ import annotations

import errno
import logging
import lzma
import re
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from attnlib.charsets import BINARY, UTF8, is_binary
from attnlib.datasets import formats
from attnlib.errors import DataError

log = logging.getLogger(__name__)

PACKED = (".gz", ".bz2", ".xz", ".zip", ".tar", ".tgz")  # compressed files and archives
TARS = (".tar", ".tgz", ".tar.gz", ".tar.bz2", ".tar.xz")
DATA_SUFFIXES = (*formats.DATA_SUFFIXES, *PACKED)  # a file of these is data, not a text
# one set in several formats: the first of these is read
PREFERRED = (".ts", ".arff", ".tsv", ".csv", ".parquet", ".jsonl", ".ndjson", ".json", ".txt")
_DOCS = (".md", ".pdf", ".html", ".json", ".yaml", ".yml", ".jpg", ".png")
# a licence: LICENSE, License.txt, LICENSE-MIT, COPYING-2.0 (a tag in capitals or digits;
# license-plate-story.txt is a text)
_LICENCE = re.compile(r"(?i:licen[cs]e|copying)([-_.][A-Z0-9][A-Z0-9.\-]*)?(?i:\.(txt|md|rst))?")
JUNK = ("thumbs.db", "desktop.ini")  # written by file browsers


def unpack(path: Path, tmp: Path, encoding: str = UTF8) -> tuple[Path, dict[str, str]]:
    """The data file a zip or tar holds (the train file of a pair) unpacked into ``tmp``,
    or its folder of text files (in ``encoding``: UTF-16's are not binary); with the
    names to show for them in messages."""
    kind = "zip" if path.suffix.lower() == ".zip" else "tar"
    try:
        with zipfile.ZipFile(path) if kind == "zip" else tarfile.open(path) as archive:
            files = _files(archive)
            texts = [name for name in files if not is_note(name, docs=())]  # as folders do
            data = [name for name in texts if not is_note(name)]
            if not data:  # a zip of one .json (JSON rows, not notes) is its data
                data = [n for n in texts if n.lower().endswith(".json")]
            chosen = _choose(path, kind, data, texts)
            if chosen is None and (binary := _binary(archive, files, texts, encoding)):
                if len(data) != 1:  # images or sounds in class folders: not texts
                    raise DataError(f"{path}: {binary} is not a text ({BINARY}); attnlib "
                                    "reads texts, tables and series")  # fmt: skip
                chosen = data  # train.csv beside images/: the table is the data
            _check_space(path, tmp, [files[n] for n in chosen or files])
            if chosen is None:
                return _tree(path, archive, tmp / "tree")
            names = {}
            for member in chosen:
                out = tmp / PurePosixPath(member).name
                with _open(archive, files[member]) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                names[str(out)] = f"{path} ({member})"
    except getattr(tarfile, "FilterError", ()) as exc:  # Python 3.10.12, 3.11.4 and later
        raise DataError(f"{path}: '{exc.tarinfo.name}' would be unpacked outside the archive's "
                        "folder, or is not a plain file; attnlib unpacks only inside it (unpack "
                        "it yourself if you trust it)") from None  # fmt: skip
    except (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, NotImplementedError,
            zlib.error, lzma.LZMAError, RuntimeError) as exc:  # fmt: skip
        raise DataError(failure(path, kind, exc, tmp)) from None
    return tmp / PurePosixPath(chosen[0]).name, names


def is_tar(path: Path) -> bool:
    return path.name.lower().endswith(TARS)


def is_note(name: str, docs: tuple[str, ...] = _DOCS) -> bool:
    """A file people read (a README, a licence; ``docs``, when choosing the one data file
    of an archive) or one no one wrote (:func:`is_hidden`): not data."""
    path = PurePosixPath(name)
    return is_hidden(name) or is_notes_name(path.name) or path.suffix.lower() in docs


def is_hidden(name: str) -> bool:
    """Hidden, a file browser's (``Thumbs.db``) or macOS's ``__MACOSX`` copies."""
    path = PurePosixPath(name)
    return ("__MACOSX" in path.parts or any(p.startswith(".") for p in path.parts)
            or path.name.lower() in JUNK)  # fmt: skip


def is_notes_name(name: str) -> bool:
    """A README (``README``, ``README.en.md``, ``readme.txt``) or a licence."""
    return name.lower().startswith("readme") or bool(_LICENCE.fullmatch(name))


def failure(path: Path, kind: str, exc: Exception, tmp: Path) -> str:
    """What went wrong unpacking ``path`` (a ``kind`` file), in one line without the
    temporary folder's name: a full disk, or why it does not read."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return (f"{path}: no space left in {tempfile.gettempdir()} to unpack it; set TMPDIR "
                "to a folder on a larger disk")  # fmt: skip
    if isinstance(exc, RuntimeError):
        why = "a file in it is encrypted"
    elif isinstance(exc, tarfile.ReadError):
        packed = path.suffix.lower() not in (".zip", ".tar")  # compressed: .gz, .tgz ...
        why = "not a tar archive" + ("; a compressed table is named like NAME.csv.gz"
                                     if packed else "")  # fmt: skip
    else:
        why = (str(exc).splitlines() or [type(exc).__name__])[0].replace(str(tmp), "...")
    inside = "file or folder" if kind in ("zip", "tar") else "file"
    return f"{path}: not a readable {kind} file ({why}); unpack it and give the {inside} inside"


def _files(archive: zipfile.ZipFile | tarfile.TarFile) -> dict[str, object]:
    """The archive's files (not folders, links or devices) by their names in it."""
    if isinstance(archive, zipfile.ZipFile):
        return {m.filename: m for m in archive.infolist() if not m.is_dir()}
    return {m.name: m for m in archive.getmembers() if m.isfile()}


def _open(archive: zipfile.ZipFile | tarfile.TarFile, member):
    if isinstance(archive, zipfile.ZipFile):
        return archive.open(member)
    return archive.extractfile(member)


def _check_space(path: Path, tmp: Path, members: list) -> None:
    """A DataError when the members' unpacked sizes exceed the temporary folder's free
    space (as the archive states them)."""
    sizes = (getattr(m, "file_size", None) or getattr(m, "size", 0) for m in members)
    size = sum(-(-s // 4096) * 4096 for s in sizes)  # a file takes whole 4 KiB blocks
    free = shutil.disk_usage(tmp).free
    if size > free:
        raise DataError(f"{path}: unpacks to {size / 1e9:.1f} GB, more than the "
                        f"{free / 1e9:.1f} GB free in {tempfile.gettempdir()}; set TMPDIR to "
                        "a folder on a larger disk, or unpack it yourself")  # fmt: skip


def _binary(archive, files: dict, members: list[str], encoding: str) -> str | None:
    """The first of the first files in class folders that is binary (an image, a sound),
    or None: a folder of texts is not unpacked for nothing."""
    for name in _nested(members)[:3]:
        with _open(archive, files[name]) as f:
            if is_binary(f.read(1024), encoding):
                return name
    return None


def _tree(path: Path, archive, out: Path) -> tuple[Path, dict[str, str]]:
    """A folder of text files unpacked whole to ``out``; its top folder when it has one
    (``aclImdb/``), named in messages as a path into the archive
    (``aclImdb_v1.tar.gz/aclImdb``), files beside it named in a warning."""
    if isinstance(archive, zipfile.ZipFile):
        archive.extractall(out)
    elif hasattr(tarfile, "data_filter"):
        plain = [m for m in archive.getmembers() if m.isfile() or m.isdir()]
        if links := [m.name for m in archive.getmembers() if m.issym() or m.islnk()]:
            log.warning("%s: %d link(s) not unpacked, not read (%s)", path, len(links),
                        ", ".join(links[:3]))  # fmt: skip
        archive.extractall(out, members=plain, filter="data")
    else:
        raise DataError(f"{path}: a tar of a folder is unpacked safely by Python 3.10.12 / "
                        "3.11.4 or later; unpack it and give the folder")  # fmt: skip
    # the top folder as unpacked (a leading "/" or ".." is gone): the one folder here,
    # itself holding folders (a class folder alone is left to the folder reader)
    entries = [e for e in out.iterdir() if not is_note(e.name, ())]
    folders = [e for e in entries if e.is_dir()]
    if len(folders) != 1 or not any(e.is_dir() for e in folders[0].iterdir()):
        return out, {str(out): str(path)}
    top = folders[0]
    if beside := [e.name for e in entries if e != top]:
        log.warning("%s: %s%s not read: beside the top folder %s/", path,
                    ", ".join(beside[:5]), " ..." if len(beside) > 5 else "",
                    top.name)  # fmt: skip
    return top, {str(top): f"{path}/{top.name}"}


def _choose(path: Path, kind: str, data: list[str], texts: list[str]) -> list[str] | None:
    """One archive pair (train first) in the first format of :data:`PREFERRED` the archive
    has; else None for a folder of text files (``texts``: the files that are not hidden,
    a README or a licence); else the one data file; else a DataError listing them."""
    by_suffix: dict[str, list[str]] = {}
    for m in data:
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
    nested = set(_nested(texts))  # a table among class folders is no table beside them
    tables = [m for m in data if PurePosixPath(m).suffix.lower() in DATA_SUFFIXES
              and m not in nested]  # fmt: skip
    if _folder_of_texts(texts) and (len(tables) != 1 or _class_folders(texts) >= 2):
        return None
    if len(tables) == 1 or len(data) == 1:  # a table beside a folder of docs or images
        return tables or data
    if not data:
        raise DataError(f"{path}: the {kind} holds no data file (only folders, notes or "
                        "hidden files)")  # fmt: skip
    raise DataError(f"{path}: a {kind} of {len(data)} data files ({', '.join(data[:6])}"
                    f"{', ...' if len(data) > 6 else ''}); attnlib reads an archive of one "
                    "file, of one NAME_TRAIN / NAME_TEST pair or of a folder of text files in "
                    "class folders: unpack it and give the file you mean")  # fmt: skip


def _folder_of_texts(members: list[str]) -> bool:
    """Some files lie in sub-folders (class folders, train/ and test/), below the top
    folder if there is one, and none among them is of a data format (one beside the
    class folders, ``train/labels.csv``, is left to the folder reader, which names it)."""
    nested = _nested(members)
    parents = {_parts(m)[:-1] for m in nested}

    def among_texts(member: str) -> bool:
        folder = _parts(member)[:-1]
        return not any(len(p) > len(folder) and p[: len(folder)] == folder for p in parents)

    return bool(nested) and not any(PurePosixPath(m).suffix.lower() in DATA_SUFFIXES
                                    and among_texts(m) for m in nested)  # fmt: skip


def _parts(member: str) -> tuple[str, ...]:
    """A member's path as it is unpacked (no leading "/", "." or "..")."""
    return tuple(p for p in PurePosixPath(member).parts if p not in ("/", ".", ".."))


def _top(members: list[str]) -> str | None:
    """The one folder that holds every file in a sub-folder (``aclImdb``), if there is one."""
    tops = {parts[0] for m in members if len(parts := _parts(m)) > 1}
    return tops.pop() if len(tops) == 1 else None


def _nested(members: list[str]) -> list[str]:
    """The members in sub-folders below the top folder (if there is one)."""
    top = _top(members)
    return [m for m in members if len(p := _parts(m)) > 1
            and (top is None or (p[0] == top and len(p) > 2))]  # fmt: skip


def _class_folders(members: list[str]) -> int:
    """How many folders hold the members in sub-folders."""
    return len({_parts(m)[:-1] for m in _nested(members)})


def _stem(member: str) -> str:
    return PurePosixPath(member).stem.lower()
