"""A folder of text files, one item per file: the layout text corpora often ship in
(scikit-learn's ``load_files``, the Large Movie Review set, the BBC news set):

- ``DIR/CLASS/FILE``: each sub-folder is a class, each file in it one text;
- ``DIR/train/CLASS/FILE`` and ``DIR/test/CLASS/FILE``: the same, with the set's own split;
- ``DIR/FILE`` (or ``DIR/train/FILE`` and ``DIR/test/FILE``): texts without classes (a
  corpus to continue, files to predict).

A file is read whole as UTF-8; its id is its path in the folder (``train/pos/0_9.txt``).
Hidden files and folders are skipped. What the layout leaves out (a README beside the
class folders, a class folder in one split only, a folder inside a class folder) is not
read, and a warning names it: a class with no test items could not be scored, and the
Large Movie Review set's ``train/unsup`` (unlabelled reviews) is no class.
"""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath

import polars as pl

from attnlib.datasets import formats, roles, rows, tables
from attnlib.errors import ConfigError, DataError

log = logging.getLogger(__name__)

SPLITS = ("train", "test")
# files of a format read on their own: a folder of them is not a folder of texts
DATA_SUFFIXES = (".csv", ".tsv", ".parquet", ".ts", ".arff", ".xlsx", ".xlsm", ".xls", ".ods",
                 ".jsonl", ".ndjson", ".json", ".gz", ".bz2", ".xz", ".zip", ".tar", ".tgz",
                 ".npy", ".npz")  # fmt: skip


def read_folder(
    path: Path, fmt: str, sep: str | None, max_length: int | None, columns: dict[str, str]
) -> tuple[pl.DataFrame, str]:
    """The folder's texts as a table of sequences (``id, tokens[, text][, label][, split]``)
    and the read line. A folder has no named columns: ``columns`` is a ConfigError."""
    roles.check_format(columns, "a folder of text files", path)
    if fmt != "auto":
        raise ConfigError(f"{path}: a folder; it is read by its layout (a sub-folder per "
                          f"class, train/ and test/ for a split), not as {fmt}: leave the "
                          "format auto")  # fmt: skip
    folders, files = _entries(path)
    parts = {s: next((f for f in folders if f.name.lower() == s), None) for s in SPLITS}
    if all(parts.values()):
        _not_read(path, [e for e in folders + files if e not in parts.values()],
                  "beside train/ and test/")  # fmt: skip
        items = {s: _part(path, folder) for s, folder in parts.items()}
        labelled = {s: any(label is not None for _, label in got) for s, got in items.items()}
        if labelled["train"] != labelled["test"]:
            with_classes = "train" if labelled["train"] else "test"
            raise DataError(f"{path}: {with_classes}/ holds class folders and "
                            f"{'test' if with_classes == 'train' else 'train'}/ does not; "
                            "give both the same layout")  # fmt: skip
        if labelled["train"]:
            items = _shared_classes(path, items)
        found = [(file, label, s) for s, got in items.items() for file, label in got]
    else:
        found = [(file, label, None) for file, label in _part(path, path)]
    if not found:
        raise DataError(f"{path}: no files to read (expected one text per file, in a "
                        "sub-folder per class)")  # fmt: skip
    names = [file.relative_to(path).as_posix() for file, _, _ in found]
    if data := [n for n in names if PurePosixPath(n).suffix.lower() in DATA_SUFFIXES]:
        raise DataError(f"{path}: {', '.join(data[:3])}{' ...' if len(data) > 3 else ''} "
                        "not a text: a folder is read as one text per file; give a data "
                        "file itself (or join such files into one)")  # fmt: skip
    frame = pl.DataFrame({"id": names, "text": [rows.read_utf8(f).strip() for f, _, _ in found]})
    if found[0][1] is not None:
        frame = frame.with_columns(label=pl.Series([label for _, label, _ in found]))
    if found[0][2] is not None:
        frame = frame.with_columns(split=pl.Series([s for _, _, s in found]))
    where = lambda i: f"file {names[i]}"  # noqa: E731
    frame = tables.normalise_table(frame, path, where, sep)
    formats.check_max_length(frame, path, where, max_length)
    return frame, _how(path, frame)


def _entries(folder: Path) -> tuple[list[Path], list[Path]]:
    """The folder's visible sub-folders and files, sorted by name."""
    entries = sorted(e for e in folder.iterdir() if not e.name.startswith((".", "__MACOSX")))
    return [e for e in entries if e.is_dir()], [e for e in entries if e.is_file()]


def _part(root: Path, folder: Path) -> list[tuple[Path, str | None]]:
    """(file, class) of a folder of class folders, or (file, None) of a folder of files."""
    folders, files = _entries(folder)
    classes = {}
    for sub in folders:
        inner, texts = _entries(sub)
        _not_read(root, inner, f"inside the class folder {sub.name}/ (one level of class "
                               "folders is read)")  # fmt: skip
        if texts:
            classes[sub.name] = texts
        else:
            _not_read(root, [sub], "no files in it")
    if not classes:
        return [(f, None) for f in files]
    _not_read(root, files, "beside the class folders")
    return [(f, name) for name, texts in classes.items() for f in texts]


def _shared_classes(path: Path, items: dict[str, list]) -> dict[str, list]:
    """Each split's items of the classes both splits have folders for."""
    classes = {s: {label for _, label in got} for s, got in items.items()}
    shared = classes["train"] & classes["test"]
    if not shared:
        raise DataError(f"{path}: train/ and test/ have no class folder of the same name "
                        f"(train: {sorted(classes['train'])[:8]}, test: "
                        f"{sorted(classes['test'])[:8]})")  # fmt: skip
    for s, other in zip(SPLITS, reversed(SPLITS), strict=True):
        alone = [path / s / c for c in sorted(classes[s] - shared)]
        _not_read(path, alone, f"a class with no folder in {other}/")
    return {s: [(f, c) for f, c in got if c in shared] for s, got in items.items()}


def _not_read(root: Path, entries: list[Path], why: str) -> None:
    if entries:
        shown = [e.relative_to(root).as_posix() + ("/" if e.is_dir() else "") for e in entries]
        more = f" and {len(shown) - 5} more" if len(shown) > 5 else ""
        log.warning("%s: %s%s not read: %s", root, ", ".join(shown[:5]), more, why)


def _how(path: Path, frame: pl.DataFrame) -> str:
    """The read line: how many texts, classes and splits the layout gave."""
    what = f"{frame.height} text files"
    if "label" in frame.columns:
        what += f" in {frame['label'].n_unique()} class folders"
    if "split" in frame.columns:
        test = int((frame["split"] == "test").sum())
        what += f", train/ {frame.height - test} and test/ {test} (the set's own split)"
    return f"{path}: a folder of {what}"
