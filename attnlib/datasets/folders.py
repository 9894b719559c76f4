"""A folder of text files, one item per file: the layout text corpora often ship in
(scikit-learn's ``load_files``, the Large Movie Review set, the BBC news set):

- ``DIR/CLASS/FILE``: each sub-folder is a class, each file in it one text;
- ``DIR/train/CLASS/FILE`` and ``DIR/test/CLASS/FILE`` (or ``training/``, ``testing/``,
  ``NAME-train/``, ``NAME-test/``): the same, with the set's own split;
- ``DIR/FILE`` (or ``DIR/train/FILE`` and ``DIR/test/FILE``): texts without classes (a
  corpus to continue, files to predict).

A file is read whole as UTF-8 (or the ``encoding`` given); its id is its path in the folder
(``train/pos/0_9.txt``).
Hidden files and a file browser's (``Thumbs.db``) are skipped. What the layout leaves out
(a README or licence, a file beside the class folders, a class folder in one split only,
a folder inside a class folder) is not read, and a warning names it: a class with no test
items could not be scored, and the Large Movie Review set's ``train/unsup`` (unlabelled
reviews) is no class. Folders that hold nothing but one folder (``bbc-fulltext/bbc``)
are gone through. ``limit`` takes the first files of each class in turn.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath

import polars as pl

from attnlib import charsets
from attnlib.charsets import UTF8, is_binary
from attnlib.datasets import roles, rows, tables, typed
from attnlib.datasets.unpack import DATA_SUFFIXES, is_hidden, is_notes_name
from attnlib.errors import ConfigError, DataError, listed

log = logging.getLogger(__name__)

SPLITS = ("train", "test")
_SPLIT_NAMES = {"train": ("train", "training"), "test": ("test", "testing")}
# folders of texts without a class (the Large Movie Review set's train/unsup)
_UNLABELLED = ("unsup", "unsupervised", "unlabeled", "unlabelled")
Item = tuple[Path, str | None, str | None]  # a file, its class, its split


def read_folder(
    path: Path, fmt: str, sep: str | None, max_length: int | None, columns: dict[str, str],
    limit: int | None = None, encoding: str = UTF8,
) -> tuple[pl.DataFrame, str]:  # fmt: skip
    """The folder's texts as a table of sequences (``id, tokens[, text][, label][, split]``)
    and the read line; each file is decoded as ``encoding``. A folder has no named columns:
    ``columns`` is a ConfigError."""
    roles.check_format(columns, "a folder of text files", path)
    if fmt != "auto":
        raise ConfigError(f"{path}: a folder; it is read by its layout (a sub-folder per "
                          f"class, train/ and test/ for a split), not as {fmt}: leave the "
                          "format auto")  # fmt: skip
    path = _inner(path)
    found, parts = _items(path)
    names = [_name(path, file, strict=False) for file, _, _ in found]
    if data := [n for n in names if PurePosixPath(n).suffix.lower() in DATA_SUFFIXES]:
        are = "is not a text" if len(data) == 1 else "are not texts"
        raise DataError(f"{path}: {', '.join(data[:3])}{' ...' if len(data) > 3 else ''} "
                        f"{are}: a folder is read as one text per file; give a data file "
                        "itself (or join such files into one)")  # fmt: skip
    found = _head(found, limit)
    names = [_name(path, file) for file, _, _ in found]
    texts = [_text(path, f, n, encoding) for (f, _, _), n in zip(found, names, strict=True)]
    decoded = charsets.described(texts, encoding)
    frame = pl.DataFrame({"id": names, "text": [t.text.strip() for t in texts]})
    del texts  # the frame holds the text now: not a second copy while it is tokenised
    if found[0][1] is not None:
        frame = frame.with_columns(label=pl.Series([label for _, label, _ in found]))
    if found[0][2] is not None:
        frame = frame.with_columns(split=pl.Series([s for _, _, s in found]))
    where = lambda i: f"file {names[i]}"  # noqa: E731
    frame = tables.normalise_table(frame, path, where, sep)
    typed.check_max_length(frame, path, where, max_length)
    return frame, _how(path, frame, parts) + decoded


def _items(path: Path) -> tuple[list[Item], dict[str, Path]]:
    """Every file the layout reads, by split, class and name; the split folders."""
    folders, files = _entries(path)
    parts = _splits(folders)
    beside: list[Path] = []  # files beside class folders, not read
    missing = [s for s, f in parts.items() if f is None]
    if len(missing) == 1:
        given = parts[SPLITS[SPLITS.index(missing[0]) - 1]]
        if _entries(given)[0]:  # train/pos/...: a split with no partner
            raise DataError(f"{path}: {given.name}/ holds class folders but there is no "
                            f"{missing[0]}/ beside it; add {missing[0]}/ (the set's own "
                            "split), or move the class folders up into the folder")  # fmt: skip
    if missing:  # no split (or a class named train or test in a folder of class folders)
        found, parts = [(file, label, None) for file, label in _part(path, path, beside)], {}
    else:
        _not_read(path, [e for e in folders + files if e not in parts.values()],
                  f"beside {parts['train'].name}/ and {parts['test'].name}/")  # fmt: skip
        items = {s: _part(path, folder, beside) for s, folder in parts.items()}
        labelled = {s: any(label is not None for _, label in got) for s, got in items.items()}
        if labelled["train"] != labelled["test"]:
            with_classes, other = ("train", "test") if labelled["train"] else ("test", "train")
            raise DataError(f"{path}: {parts[with_classes].name}/ holds class folders with "
                            f"files and {parts[other].name}/ does not; give both the same "
                            f"layout (or give {parts['train'].name}/ to ingest and "
                            f"{parts['test'].name}/ to attnlib predict)")  # fmt: skip
        if labelled["train"]:
            items = _shared_classes(path, items, parts)
        found = [(file, label, s) for s, got in items.items() for file, label in got]
    if not found:
        raise DataError(f"{path}: no files to read (expected one text per file, in a "
                        "sub-folder per class)")  # fmt: skip
    if len(classes := {label for _, label, _ in found}) == 1 and None not in classes and beside:
        shown = ", ".join(_name(path, f, strict=False) for f in beside[:3])
        raise DataError(f"{path}: only the class folder '{classes.pop()}' holds texts, and the "
                        f"files beside it ({shown}{' ...' if len(beside) > 3 else ''}) are not "
                        "read; this is not a folder of texts in class folders")  # fmt: skip
    return found, parts


def _inner(path: Path) -> Path:
    """``path``, or the one folder it wraps (``bbc-fulltext/bbc``: nothing else in it but
    notes), as deep as such wrapping goes."""
    while True:
        folders, files = _entries(path)
        if len(folders) != 1 or any(not is_notes_name(f.name) for f in files):
            return path
        if any(_splits(folders).values()):
            return path  # train/ alone: the error says test/ is missing
        if not _entries(folders[0])[0]:  # one class folder, or a flat folder: read here
            return path
        path = folders[0]


def _splits(folders: list[Path]) -> dict[str, Path | None]:
    """The split folders: ``train/`` and ``test/`` (either case), or a pair named like
    ``20news-bydate-train/`` and ``20news-bydate-test/``; None for one not there."""
    parts = {s: next((f for f in folders if f.name.lower() in _SPLIT_NAMES[s]), None)
             for s in SPLITS}  # fmt: skip
    if any(parts.values()):
        return parts
    if len(folders) == 2:  # the only two folders: no class folder beside them is dropped
        train, test = sorted(folders, key=lambda f: not f.name.lower().endswith("train"))
        stem = train.name[:-5]
        if (train.name.lower().endswith("train") and stem[-1:] in ("-", "_", ".", " ")
                and test.name.lower() == f"{stem}test".lower()):  # fmt: skip
            return {"train": train, "test": test}
    return parts


def _entries(folder: Path) -> tuple[list[Path], list[Path]]:
    """The folder's sub-folders and files, sorted by name; not hidden or a file browser's."""
    entries = sorted(e for e in folder.iterdir() if not is_hidden(e.name))
    return [e for e in entries if e.is_dir()], [e for e in entries if e.is_file()]


def _part(root: Path, folder: Path, beside: list[Path]) -> list[tuple[Path, str | None]]:
    """(file, class) of a folder of class folders, or (file, None) of a folder of files;
    the files beside class folders (not read) are added to ``beside``."""
    folders, files = _texts(root, folder)
    classes = {}
    for sub in folders:
        inner, texts = _texts(root, sub)
        _not_read(root, inner, f"inside the class folder {_name(root, sub)}/ (one level of "
                               "class folders is read)")  # fmt: skip
        if texts and sub.name.lower() in _UNLABELLED:
            _not_read(root, [sub], "texts without a class")
        elif texts:
            classes[sub.name] = texts
        else:
            _not_read(root, [sub], "no files directly in it")
    if not classes:
        return [(f, None) for f in files]
    _not_read(root, files, "beside the class folders")
    beside.extend(files)
    return [(f, name) for name, texts in classes.items() for f in texts]


def _texts(root: Path, folder: Path) -> tuple[list[Path], list[Path]]:
    """The folder's sub-folders and files, less the notes (a README, a licence), named."""
    folders, files = _entries(folder)
    notes = [f for f in files if is_notes_name(f.name)]
    _not_read(root, notes, "a note, not a text")
    return folders, [f for f in files if f not in notes]


def _text(root: Path, file: Path, name: str, encoding: str):
    """A file's text; a DataError for binary data (an image, a sound)."""
    data = file.read_bytes()  # read once: checked, then decoded
    if is_binary(data[:1024], encoding):
        raise DataError(f"{root}, file {name}: not a text ({charsets.BINARY}); a folder is "
                        "read as one text per file")  # fmt: skip
    return rows.decode_text(file, data, encoding)


def _shared_classes(path: Path, items: dict[str, list], parts: dict[str, Path]) -> dict:
    """Each split's items of the classes both splits have folders for."""
    classes = {s: {label for _, label in got} for s, got in items.items()}
    shared = classes["train"] & classes["test"]
    if not shared:
        raise DataError(f"{path}: {parts['train'].name}/ and {parts['test'].name}/ have no "
                        f"class folder of the same name (train: {sorted(classes['train'])[:8]}, "
                        f"test: {sorted(classes['test'])[:8]})")  # fmt: skip
    for s, other in zip(SPLITS, reversed(SPLITS), strict=True):
        alone = [parts[s] / c for c in sorted(classes[s] - shared)]
        _not_read(path, alone, f"a class with no folder in {parts[other].name}/")
    return {s: [(f, c) for f, c in got if c in shared] for s, got in items.items()}


def _head(found: list[Item], limit: int | None) -> list[Item]:
    """The first ``limit`` files of each split, taken from its classes in turn (the first
    file of each class, then the second ...), in the folder's order."""
    if limit is None:
        return found
    seen: dict[tuple, int] = {}
    rank = []
    for _, label, split in found:
        rank.append(seen.get((split, label), 0))
        seen[(split, label)] = rank[-1] + 1
    keep = set()
    for split in dict.fromkeys(s for _, _, s in found):
        mine = sorted((r, i) for i, r in enumerate(rank) if found[i][2] == split)
        keep.update(i for _, i in mine[:limit])
    return [item for i, item in enumerate(found) if i in keep]


def _name(root: Path, entry: Path, strict: bool = True) -> str:
    """``entry``'s path in the folder; for a name that is not UTF-8 a DataError, or (not
    ``strict``: a file named in a warning) the name with its bad bytes replaced."""
    name = entry.relative_to(root).as_posix()
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        shown = name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        if not strict:
            return shown
        raise DataError(f"{root}: the file name '{shown}' is not UTF-8; rename it") from None
    return name


def _not_read(root: Path, entries: list[Path], why: str) -> None:
    if entries:
        shown = [_name(root, e, strict=False) + ("/" if e.is_dir() else "") for e in entries]
        log.warning("%s: %s not read: %s", root, listed(shown), why)


def _how(path: Path, frame: pl.DataFrame, parts: dict[str, Path]) -> str:
    """The read line: how many texts, classes and splits the layout gave."""
    plural = lambda n, what: f"{n} {what}{'' if n == 1 else 's'}"  # noqa: E731
    what = plural(frame.height, "text file")
    if "label" in frame.columns:
        what += f" in {plural(frame['label'].n_unique(), 'class folder')}"
    if "split" in frame.columns:
        test = int((frame["split"] == "test").sum())
        what += (f", {parts['train'].name}/ {frame.height - test} and {parts['test'].name}/ "
                 f"{test} (the set's own split)")  # fmt: skip
    return f"{path}: a folder of {what}"
