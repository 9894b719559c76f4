"""Readers for token-sequence files: SeqLab TXT / CSV, CSV / TSV / Parquet tables.

Each returns a polars DataFrame with ``id: str``, ``tokens: list<str>`` and, when the
file has one, ``label: str`` (and ``split: str`` when a table ships its own split). A
Parquet file may instead hold a numeric ``values`` column (one series per row, see
:mod:`attnlib.datasets.series`).

Every problem is a :class:`~attnlib.errors.DataError` naming the file and the line
(text formats; line 1 of a CSV is its header) or row (Parquet). A token ``<pad>`` is one:
that name is the padding the model masks out (``<unk>`` is read as the unknown token).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from attnlib import errors
from attnlib.errors import DataError
from attnlib.files import split_tokens
from attnlib.vocab import PAD

log = logging.getLogger(__name__)

# a long table's time column (forecasting): the column with the first of these names
# (the last eight: a step index, as simulations, pytorch-forecasting's time_idx and sktime's
# timepoints / time_index write it)
TIME_NAMES = ("time", "date", "datetime", "timestamp", "ds", "period", "year", "quarter",
              "month", "week", "day", "hour", "minute", "time_idx", "timepoints", "time_index",
              "timestep", "step", "t", "index")  # fmt: skip
WHOLE_TIMES = TIME_NAMES[:5]  # a whole time, not a part of one (a year, a month)


def looks_long(header: list[str]) -> bool:
    """A long table's header: a time column (:data:`TIME_NAMES`, case-blind) and no
    tokens / text column (what ``detect_format`` and the separator check go by)."""
    names = {name.strip().lower() for name in header}
    return not {"tokens", "text"} & names and bool(names & set(TIME_NAMES))


# pandas' index saved as a column: to_csv's "Unnamed: 0" (once read back), to_parquet's
# "__index_level_0__", reset_index's "index" / "level_0"; also "" as column 1 (to_csv)
UNNAMED_INDEX = ("Unnamed: 0", "__index_level_0__")  # pandas' unnamed index, saved
SAVED_INDEX = (*UNNAMED_INDEX, "index", "level_0")
RESET_LEVELS = ["level_0", "level_1"]  # reset_index()'s names for two unnamed levels
SEQLAB_SEPARATOR = ">"  # a SeqLab CSV row starting with ">" ends a sequence
FEATURE_JOIN = "|"  # several SeqLab CSV features make one state token "f1|f2|..."
_JSON_LIST = re.compile(r'^\s*\[\s*["\]]')  # how a JSON list of strings opens: ["a" or []
RESERVED = f"the token '{PAD}' is reserved for padding; rename it"


def read_seqlab_txt(path: Path, text: str, sep: str | None = None) -> pl.DataFrame:
    """SeqLab TXT: one sequence per line, ids ``line<N>``; tokens separated by whitespace,
    or by ``sep`` (tokens that hold spaces: ``D-major triad|G-major triad``)."""
    ids, tokens = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        toks = split_tokens(line, sep)
        if not toks:
            raise DataError(f"{errors.where(path, row=number)}empty sequence")
        if PAD in toks:
            raise DataError(f"{errors.where(path, row=number)}{RESERVED}")
        ids.append(f"line{number}")
        tokens.append(toks)
    return pl.DataFrame(
        {"id": ids, "tokens": tokens}, schema={"id": pl.String, "tokens": pl.List(pl.String)}
    )


def read_seqlab_csv(path: Path, text: str) -> pl.DataFrame:
    """SeqLab CSV: tab-separated features with a header; a ``>...`` row ends a sequence.

    One row is one event; its features joined by ``|`` make the state token (a single
    feature is the token itself). Sequences are named ``seq<N>`` (1-based).
    """
    lines = text.splitlines()
    header = lines[0].split("\t")
    if not any(h.strip() for h in header) or header[0].startswith(SEQLAB_SEPARATOR):
        raise DataError(
            f"{errors.where(path, row=1)}expected a tab-separated header of feature names"
        )
    sequences: list[list[str]] = [[]]
    for number, line in enumerate(lines[1:], start=2):
        if line.startswith(SEQLAB_SEPARATOR):
            if not sequences[-1]:
                raise DataError(
                    f"{errors.where(path, row=number)}empty sequence (two separators in a row)"
                )
            sequences.append([])
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            raise DataError(
                f"{errors.where(path, row=number)}"
                f"{len(fields)} field(s), the header has {len(header)}"
            )
        if any(not f.strip() for f in fields):
            raise DataError(f"{errors.where(path, row=number)}empty feature value")
        sequences[-1].append(FEATURE_JOIN.join(f.strip() for f in fields))
        if sequences[-1][-1] == PAD:
            raise DataError(f"{errors.where(path, row=number)}{RESERVED}")
    if not sequences[-1]:
        sequences.pop()  # a trailing separator
    if not sequences:
        raise DataError(f"{path}: no events below the header")
    return pl.DataFrame(
        {"id": [f"seq{i + 1}" for i in range(len(sequences))], "tokens": sequences},
        schema={"id": pl.String, "tokens": pl.List(pl.String)},
    )


META_COLUMNS = ("id", "label", "split")
DATA_COLUMNS = ("tokens", "text", "values")  # the column that says what a row holds


def known_names(names: list[str]) -> list[str]:
    """``names`` with ``Label``, ``ID``, ``Split`` as ``label``, ``id``, ``split`` unless
    the exact name is there too or two variants would collide; and one ``Text``, ``Tokens``
    or ``Values`` as ``text``, ``tokens`` or ``values`` only when the table has no such
    column under its exact name and no time column (a long table's channels keep theirs)."""
    out = list(names)
    lowered = [n.strip().lower() for n in names]
    data = [i for i, n in enumerate(lowered) if n in DATA_COLUMNS]
    for known in META_COLUMNS:
        found = [i for i, n in enumerate(lowered) if n == known]
        if known not in names and len(found) == 1:
            out[found[0]] = known
    exact = any(n in DATA_COLUMNS for n in names)
    if len(data) == 1 and not exact and not set(lowered) & set(TIME_NAMES):
        out[data[0]] = lowered[data[0]]
    return out


def with_known_names(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its columns renamed by :func:`known_names`."""
    names = known_names(frame.columns)
    renamed = dict(zip(frame.columns, names, strict=True))
    return frame if names == frame.columns else frame.rename(renamed)


def normalise_table(frame: pl.DataFrame, path: Path, where, sep: str | None = None) -> pl.DataFrame:
    """Validate a table and bring it to ``id, tokens[, text][, label][, split]``.

    ``where(i)`` names row i in messages (``line 3``, ``row 2``). A text ``tokens`` or
    ``text`` column is split on whitespace, or on ``sep`` when given; a ``tokens`` cell
    written as a JSON array (``["D-major triad", "G-major triad"]``, as ``attnlib`` writes
    CSV) is read as that list: when at least half the cells open like one (``["`` or
    ``[]``), every cell must be a JSON list of strings, so one bad cell is an error at its
    line, not a column silently split on whitespace (``[CLS] a b`` text stays text). A
    ``text`` column split on whitespace is also kept as ``text`` for the encode stage's
    tokeniser (not with ``sep``: the separator decides).
    """
    if frame.height == 0:
        raise DataError(f"{path}: no rows")
    column = "tokens" if "tokens" in frame.columns else "text" if "text" in frame.columns else ""
    if not column:
        raise DataError(
            f"{path}: needs a 'tokens' or 'text' column (sequences to classify or continue), "
            f"or for forecasting a time column named one of {', '.join(TIME_NAMES)}; found "
            f"{frame.columns}{naming_hint(frame)}"
        )
    tokens = as_lists(frame[column])
    if isinstance(tokens.dtype, pl.Categorical | pl.Enum):  # pandas' category dtype
        tokens = tokens.cast(pl.String)
    text = None  # a text column is kept for the encode stage's tokeniser (attnlib.tokenize)
    if tokens.dtype == pl.String and column == "text" and sep is None:
        text = tokens.alias("text")
    if tokens.dtype == pl.String and column == "tokens" and json_lists(tokens):
        tokens = _decode_json_lists(tokens, path, where)
    elif tokens.dtype == pl.String and sep is not None:
        tokens = tokens.map_elements(lambda t: split_tokens(t, sep), pl.List(pl.String))
    elif tokens.dtype == pl.String:
        tokens = tokens.str.extract_all(r"\S+")
    elif isinstance(tokens.dtype, pl.List) and not tokens.dtype.inner.is_nested():
        tokens = as_text(tokens, path, column, pl.List(pl.String))
    else:
        raise DataError(
            f"{path}: column '{column}' must hold text or a list of strings, not {tokens.dtype}"
        )
    empty = tokens.is_null() | (tokens.list.len() == 0)
    blank = tokens.list.eval(pl.element().is_null() | (pl.element() == "")).list.any()
    fail_first(empty, path, where, f"empty sequence in column '{column}'")
    fail_first(blank.fill_null(False), path, where, f"missing or empty token in '{column}'")
    if text is None:  # tokens as given (text is tokenised at encode: '<pad>' is read apart)
        fail_first(tokens.list.contains(PAD).fill_null(False), path, where, RESERVED)
    _warn_unread(frame.columns, column, path)
    return pl.DataFrame([ids_column(frame, path, where), tokens.alias("tokens"),
                         *([text] if text is not None else []),
                         *optional_columns(frame, path, where)])  # fmt: skip


def json_lists(column: pl.Series, share: float = 0.5) -> bool:
    """At least ``share`` of the non-null cells open like a JSON list of strings."""
    opens = column.drop_nulls().str.contains(_JSON_LIST.pattern)
    return len(opens) > 0 and int(opens.sum()) >= share * len(opens)


# a whole cell that is a JSON list of strings, checked without Python: JSON's own escapes
# only (no raw control characters; \uD800-\uDFFF, surrogates, go to Python), JSON's spaces
_WS = r"[ \t\r\n]*"
_ESCAPE = r'\\["\\/bfnrt]|\\u(?:[0-9a-ce-fA-CE-F][0-9a-fA-F]{3}|[dD][0-7][0-9a-fA-F]{2})'
_STRING = rf'"(?:[^"\\\x00-\x1f]|{_ESCAPE})*"'
_JSON_STRINGS = rf"^{_WS}\[{_WS}(?:{_STRING}{_WS}(?:,{_WS}{_STRING}{_WS})*)?\]{_WS}$"


def _decode_json_lists(column: pl.Series, path: Path, where) -> pl.Series:
    """Each cell's JSON list of strings (null stays null); any other cell is a DataError at
    its row. Cells are checked by :data:`_JSON_STRINGS` and decoded by polars; only where
    one does not match does Python's json read them (to find it, or to accept a list the
    pattern missed). (polars' ``json_decode`` alone reads ``["x", 1]`` as ``["x", "1"]``.)"""
    if column.str.contains(_JSON_STRINGS).fill_null(True).all():
        with contextlib.suppress(pl.exceptions.ComputeError):  # else Python says where
            return column.str.json_decode(pl.List(pl.String))
    out = []
    for i, cell in enumerate(column.to_list()):
        try:
            value = json.loads(cell) if cell is not None else None
        except json.JSONDecodeError:
            value = ""  # not a list: the error below
        if cell is not None and not (
            isinstance(value, list) and all(isinstance(t, str) for t in value)
        ):
            shown = cell if len(cell) <= 80 else cell[:77] + "..."
            raise DataError(
                f"{path}, {where(i)}: a 'tokens' cell must be a JSON list of strings "
                '(["a", "b"]) like the others in this column (or every cell text split on '
                f"whitespace); got {shown}"
            )
        out.append(value)
    return pl.Series(column.name, out, dtype=pl.List(pl.String))


def ids_column(frame: pl.DataFrame, path: Path, where) -> pl.Series:
    """The ``id`` column (unique, no nulls), or ``row<N>`` when the table has none."""
    if "id" not in frame.columns:
        return pl.Series("id", [f"row{i + 1}" for i in range(frame.height)], dtype=pl.String)
    # as written, for the predictions to carry back; a float column's whole numbers (a JSON
    # or Parquet file's 3 beside 2.5 or a missing id) as whole numbers: 3, not 3.0
    column = frame["id"]
    ids = id_text(column, path) if column.dtype.is_float() else as_text(column, path, "id")
    fail_first(ids.is_null(), path, where, "missing id")
    repeated = ~ids.is_first_distinct()
    if repeated.any():
        second = repeated.arg_true()[0]
        first = (ids == ids[second]).arg_true()[0]
        raise DataError(
            f"{path}, {where(second)}: id '{ids[second]}' already used at {where(first)}"
        )
    return ids.alias("id")


_ID_NAME = re.compile(r"(^|[_ .-])(id|ID|Id)$|[a-z]Id$")  # review_id, reviewId, ID


def _warn_unread(columns: list[str], data: str, path: Path) -> None:
    """Say which columns a table of sequences leaves unread (a class under another name
    would be lost without a word)."""
    unread = [c for c in columns if c not in (*DATA_COLUMNS, *META_COLUMNS, *SAVED_INDEX)
              and not unnamed(c)]  # fmt: skip
    if unread:
        ids = [c for c in unread if "id" not in columns and _ID_NAME.search(c.strip())]
        hint = "" if "label" in columns else (" (a class under another name: "
                                              "ingest.label_column / --label-column)")  # fmt: skip
        hint += (
            f" (ids under another name, as in '{ids[0]}': ingest.id_column / --id-column)"
            if ids
            else ""
        )
        log.warning("%s: column(s) %s not read: a table of sequences reads its '%s' column, "
                    "id, label and split%s", path, unread[:8], data, hint)  # fmt: skip


def optional_columns(frame: pl.DataFrame, path: Path, where) -> list[pl.Series]:
    """``label`` (no nulls) and ``split`` (train / test only) when the table has them."""
    out = []
    if "label" in frame.columns:
        labels = as_text(frame["label"], path, "label")
        fail_first(labels.is_null(), path, where, "missing label")
        out.append(labels.alias("label"))
    if "split" in frame.columns:
        split = as_text(frame["split"], path, "split")
        fail_first(~split.is_in(["train", "test"]).fill_null(False), path, where,
                   "column 'split' must be 'train' or 'test'")  # fmt: skip
        out.append(split.alias("split"))
    return out


def as_lists(column: pl.Series) -> pl.Series:
    """A fixed-size array column (polars' ``Array``, Parquet's fixed_size_list: what a
    column built from a 2-D or 3-D numpy array becomes) as the same values in lists."""

    def lists(dtype):
        return pl.List(lists(dtype.inner)) if isinstance(dtype, pl.Array | pl.List) else dtype

    nested, dtype = False, column.dtype
    while isinstance(dtype, pl.Array | pl.List):
        nested, dtype = nested or isinstance(dtype, pl.Array), dtype.inner
    return column.cast(lists(column.dtype)) if nested else column


def as_text(values: pl.Series, path: Path, column: str, dtype=pl.String) -> pl.Series:
    """``values`` cast to ``dtype`` (text); a column that holds something else is a DataError."""
    if values.dtype.is_nested() and not isinstance(dtype, pl.List):
        raise DataError(f"{path}: column '{column}' must hold text or numbers, not {values.dtype}")
    try:
        return values.cast(dtype)
    except pl.exceptions.PolarsError as exc:
        raise DataError(
            f"{path}: column '{column}' does not convert to text ({str(exc).splitlines()[0]})"
        ) from None


def id_text(values: pl.Series, path: object, column: str = "id") -> pl.Series:
    """Ids as text, as read: a number with no fraction as a whole number (``7.0``, as pandas
    writes an id column with a gap, is the id ``7``, in a CSV or a typed column; ``007``
    stays), a NaN as a missing id."""
    if not values.dtype.is_float():
        text = as_text(values, path, column)
        return text.str.replace(r"^(-?\d+)\.0+$", "$1") if text.dtype == pl.String else text
    whole = values.is_finite() & (values.abs() < 2**53) & (values == values.round())
    ints = values.cast(pl.Int64, strict=False).cast(pl.String)
    text = pl.when(values.is_nan()).then(None).when(whole).then(ints)
    return pl.select(text.otherwise(as_text(values, path, column))).to_series().alias(values.name)


def unnamed_run(columns: Sequence[str]) -> list[str]:
    """The columns ``to_csv`` wrote for pandas' unnamed index: the leading run of unnamed
    columns (``""``) and pandas' names for them once read back (``Unnamed: 0``, ...; ours
    for two or more: :func:`attnlib.datasets.rows.unnamed_levels`)."""
    return list(itertools.takewhile(lambda c: c == "" or _UNNAMED.fullmatch(c), columns))


def unnamed(name: str) -> bool:
    """A name pandas gives a column it saved for an unnamed index level (or none):
    ``to_csv``'s ``Unnamed: 0``, ``to_parquet``'s ``__index_level_0__``."""
    return name == "" or bool(_UNNAMED.fullmatch(name) or _LEVEL.fullmatch(name))


_UNNAMED = re.compile(r"Unnamed: \d+")
_LEVEL = re.compile(r"__index_level_\d+__")


def fail_first(bad: pl.Series, path: Path, where, message: str) -> None:
    """Raise a DataError at the first True of ``bad``."""
    if bad.any():
        raise DataError(f"{path}, {where(bad.arg_true()[0])}: {message}")


def naming_hint(frame: pl.DataFrame) -> str:
    """How to name the columns of a table none of whose names says what it holds, and the
    column of text with the most words (in its first 1,000 rows), if one has two or more
    on average."""
    head = frame.head(1000)
    words = {c: head[c].cast(pl.String, strict=False).str.count_matches(r"\S+").mean()
             for c in head.columns if head[c].dtype in (pl.String, pl.Categorical)}  # fmt: skip
    best = max(words, key=lambda c: words[c] or 0, default=None)
    guess = f": '{best}' holds the most words" if best and (words[best] or 0) >= 2 else ""
    return ("; name a column that holds them under another name with ingest.text_column, "
            f"label_column or time_column (--text-column, ...){guess}")  # fmt: skip
