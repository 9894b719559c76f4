"""The UCR / UEA archives' layout: a set ships as ``NAME_TRAIN.ext`` and ``NAME_TEST.ext``
side by side. Given the train file, ingest reads the other as the set's test split."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from attnlib.errors import DataError

_TRAIN, _TEST = "_train", "_test"


def archive_test_file(path: Path, packed: str = "") -> Path | None:
    """``NAME_TEST.ext`` beside a ``NAME_TRAIN.ext`` (the suffixes in any case), or None when
    ``path`` is not a train file or has no test file beside it. ``packed`` (``.gz``): the
    test file's compression suffix, for a ``path`` that names a compressed file's content."""
    return _partner(path, _TRAIN, _TEST, packed)


def archive_train_file(path: Path, packed: str = "") -> Path | None:
    """``NAME_TRAIN.ext`` beside a ``NAME_TEST.ext``, or None (a test file given alone)."""
    return _partner(path, _TEST, _TRAIN, packed)


def _partner(path: Path, mine: str, other: str, packed: str) -> Path | None:
    if not path.stem.lower().endswith(mine) or not path.parent.is_dir():
        return None
    wanted = f"{path.stem[: -len(mine)]}{other}{path.suffix}{packed}".lower()
    found = sorted(p for p in path.parent.iterdir() if p.name.lower() == wanted and p.is_file())
    return found[0] if found else None


def join_archive_split(
    train: pl.DataFrame, test: pl.DataFrame, train_path: Path, test_path: Path
) -> pl.DataFrame:
    """The two files' rows as one frame with ``split`` train / test and ids prefixed by it.

    Raises:
        DataError: the train file has a split of its own, or the two files do not hold the
            same kind of rows (columns, channels).
    """
    if "split" in train.columns or "split" in test.columns:
        has = train_path if "split" in train.columns else test_path
        raise DataError(f"{has}: has a 'split' column, and the pair {train_path.name} / "
                        f"{test_path.name} is a split already; drop the column")  # fmt: skip
    if "label" in train.columns and "label" not in test.columns:
        raise DataError(f"{test_path}: no label column, where its train file "
                        f"{train_path.name} has one (the test split is scored against its "
                        "labels)")  # fmt: skip
    if test.schema != train.schema:
        raise DataError(f"{test_path}: columns {dict(test.schema)} differ from its train "
                        f"file's, {dict(train.schema)} ({train_path.name})")  # fmt: skip
    if "values" in train.columns:
        width = {len(f["values"][0][0]) for f in (train, test)}
        if len(width) > 1:
            raise DataError(f"{test_path}, line 1: {len(test['values'][0][0])} channel(s); "
                            f"its train file {train_path.name} has "
                            f"{len(train['values'][0][0])}")  # fmt: skip
    return pl.concat([_as_split(train, "train"), _as_split(test, "test")])


def _as_split(frame: pl.DataFrame, split: str) -> pl.DataFrame:
    """``frame`` as one part of a shipped split: its ids prefixed with ``split``."""
    return frame.with_columns(
        (pl.lit(f"{split}:") + pl.col("id")).alias("id"), pl.lit(split).alias("split")
    )
