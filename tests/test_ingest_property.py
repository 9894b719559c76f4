"""Property: ``attnlib ingest`` on random malformed CSV / TSV / TXT / Parquet input.

Whatever the file holds, the command either exits 0 with a valid Parquet table in the
normalised schema, or exits 2 with one ``error:`` line naming the file and writes
nothing (no output, no temporary file left beside it). Never a traceback.
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from attnlib.cli import app
from attnlib.datasets import FORMATS

# 60 fixed examples per test in the suite (~5 s); ATTNLIB_FUZZ_EXAMPLES=2000 explores anew.
FUZZ = int(os.environ.get("ATTNLIB_FUZZ_EXAMPLES", "0"))
SETTINGS = settings(
    max_examples=FUZZ or 60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=not FUZZ,
)
FORMAT = st.one_of(st.just("auto"), st.just("auto"), st.sampled_from(FORMATS))
NAMES = ["tokens", "text", "id", "label", "split", "values", "time", "date", "v", "x", ""]

# Fields that trip readers: quotes, separators, line breaks, numbers that are not finite
# (or overflow float32), blanks, a separator row of SeqLab CSV, non-ASCII.
FIELD = st.one_of(
    st.sampled_from(["", " ", '"', '""', "a b", "a,b", "a\tb", "x\ny", "nan", "NaN", "inf",
                     "-inf", "1e39", "1.5", "0", "-3", "2020-01", "2020-01-01", ">*", "train",
                     "test", "valid", "ß ü", "\x00", "\r"]),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8),
)  # fmt: skip


WORD = st.sampled_from(["a", "b", "c", "C4|q", "ß", "1", "x"])
LABEL = st.sampled_from(["a", "b", "1", "2.0"])
NUMBER = st.one_of(st.integers(-5, 5).map(str), st.floats(-1e3, 1e3).map(repr))


def _table_text(header: list[str], rows: list[list[str]], sep: str, quote: bool) -> str:
    """Rows joined as they are (a field may break the line or the quoting) or quoted."""
    if not quote:
        return "\n".join(sep.join(r) for r in [header, *rows]) + "\n"
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep, lineterminator="\n").writerows([header, *rows])
    return buf.getvalue()


def _field(draw, name: str, i: int) -> str:
    """A plausible value of column ``name`` in data row ``i``."""
    if name in ("tokens", "text"):
        return " ".join(draw(st.lists(WORD, min_size=1, max_size=4)))
    if name == "id":
        return f"r{draw(st.integers(0, 3)) if draw(st.booleans()) else i}"
    if name == "label":
        return draw(LABEL)
    if name == "split":
        return draw(st.sampled_from(["train", "test"]))
    if name in ("time", "date"):
        return f"2020-{i + 1:02d}"
    return draw(NUMBER)


def _damage(draw, data: bytes) -> bytes:
    """Most often nothing; else cut the bytes, insert invalid UTF-8 / NUL / a BOM, or junk."""
    how = draw(st.sampled_from(["none"] * 5 + ["cut", "insert", "junk"]))
    if how == "cut":
        return data[: draw(st.integers(0, len(data)))]
    if how == "insert":
        at = draw(st.integers(0, len(data)))
        junk = draw(st.sampled_from([b"\xff\xfe", b"\xe9", b"\xef\xbb\xbf", b"\x00", b"\n\n"]))
        return data[:at] + junk + data[at:]
    if how == "junk":
        return draw(st.binary(max_size=40))
    return data


@st.composite
def delimited(draw) -> tuple[str, bytes]:
    """A CSV / TSV near a valid one: plausible columns and values, then some mistakes."""
    sep, ext = draw(st.sampled_from([(",", ".csv"), ("\t", ".tsv")]))
    header = draw(
        st.one_of(
            st.sampled_from([["tokens"], ["text", "label"], ["id", "tokens", "label"],
                             ["tokens", "label", "split"], ["date", "v"], ["time", "v", "x"]]),
            st.lists(st.sampled_from(NAMES), max_size=4),
        )
    )  # fmt: skip
    height = draw(st.integers(1, 5)) if draw(st.integers(0, 7)) else 0
    rows = [[_field(draw, h, i) for h in header] for i in range(height)]
    for _ in range(draw(st.integers(0, 2))):  # mistakes: a wrong value, a field too many / few
        if rows and header:
            row = draw(st.sampled_from(rows))
            how = draw(st.sampled_from(["value", "value", "drop", "add"]))
            if how == "value" and row:
                row[draw(st.integers(0, len(row) - 1))] = draw(FIELD)
            elif how == "drop" and row:
                row.pop()
            else:
                row.append(draw(FIELD))
    data = _table_text(header, rows, sep, draw(st.booleans())).encode()
    return ext, _damage(draw, data)


@st.composite
def text_lines(draw) -> tuple[str, bytes]:
    """A TXT of token lines, or a UCR-like file of numbers; blank lines, odd fields, junk."""
    ext = draw(st.sampled_from([".txt", ".txt", ".csv", ".tsv", ".dat"]))
    if draw(st.booleans()):  # UCR: a label, then values (floats that may be NaN / inf / huge)
        value = st.one_of(NUMBER, st.sampled_from(["1.5", "nan", "NaN", "inf", "1e39", "x"]))
        line = st.tuples(LABEL, st.lists(value, min_size=0, max_size=4)).map(
            lambda t: [t[0], *t[1]]
        )
    else:
        line = st.lists(st.one_of(WORD, WORD, FIELD), min_size=0, max_size=5)
    lines = draw(st.lists(line, min_size=1, max_size=6))
    sep = draw(st.sampled_from([" ", ",", "\t"]))
    data = "\n".join(sep.join(fields) for fields in lines).encode()
    return ext, _damage(draw, data)


COLUMN_VALUES = {
    "str": st.one_of(st.none(), FIELD),
    "int": st.one_of(st.none(), st.integers(-5, 5)),
    "float": st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    "bool": st.one_of(st.none(), st.booleans()),
    "list_str": st.one_of(st.none(), st.lists(st.one_of(st.none(), FIELD), max_size=4)),
    "list_int": st.lists(st.integers(-(2**40), 2**40), max_size=3),
    "list_float": st.one_of(
        st.none(), st.lists(st.one_of(st.none(), st.floats(width=32)), max_size=4)
    ),
    "list_list_float": st.one_of(
        st.none(),
        st.lists(
            st.one_of(st.none(), st.lists(st.floats(-1e3, 1e3, width=32), max_size=3)),
            max_size=3,
        ),
    ),
    "list_list_str": st.lists(st.lists(FIELD, max_size=2), max_size=2),
    "struct": st.fixed_dictionaries({"a": st.integers(0, 3)}),
    "binary": st.one_of(st.none(), st.binary(max_size=4)),
}
GOOD_VALUES = {  # the type each column should have, with valid values
    "tokens": st.lists(WORD, min_size=1, max_size=4),
    "text": st.lists(WORD, min_size=1, max_size=4).map(" ".join),
    "values": st.lists(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=2), min_size=1,
                       max_size=4),
    "label": LABEL,
    "split": st.sampled_from(["train", "test"]),
    "v": st.floats(-1e3, 1e3),
    "x": st.floats(-1e3, 1e3),
}  # fmt: skip


@st.composite
def parquet_tables(draw) -> tuple[str, bytes]:
    """A Parquet file near a valid one: some columns of the wrong type, nulls, NaN, damage."""
    names = draw(
        st.one_of(
            st.sampled_from([["tokens"], ["text", "label"], ["id", "tokens", "label", "split"],
                             ["values", "label"], ["id", "values"], ["time", "v", "x"]]),
            st.lists(st.sampled_from(NAMES[:-1]), max_size=4, unique=True),
        )
    )  # fmt: skip
    height = draw(st.integers(1, 4)) if draw(st.integers(0, 7)) else 0
    columns = {}
    for name in names:
        good = name in GOOD_VALUES and draw(st.integers(0, 3)) > 0
        if good:
            values = draw(st.lists(GOOD_VALUES[name], min_size=height, max_size=height))
        elif name in ("id", "time") and draw(st.booleans()):
            values = [f"{name}{i}" for i in range(height)]
        else:
            kind = draw(st.sampled_from(sorted(COLUMN_VALUES)))
            values = draw(st.lists(COLUMN_VALUES[kind], min_size=height, max_size=height))
        try:
            column = pl.Series(name, values, strict=False)
            if column.dtype == pl.String and draw(st.booleans()):
                column = column.cast(pl.Categorical)  # as pandas writes a category column
        except Exception:  # polars cannot build it: leave the column out
            continue
        columns[name] = column
    buf = io.BytesIO()
    pl.DataFrame(columns).write_parquet(buf)
    return ".parquet", _damage(draw, buf.getvalue())


runner = CliRunner()


def check_ingest(ext: str, data: bytes, fmt: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / f"input{ext}"
        src.write_bytes(data)
        outdir = Path(tmp) / "out"
        outdir.mkdir()
        out = outdir / "raw.parquet"
        result = runner.invoke(app, ["ingest", str(src), "--out", str(out), "--format", fmt])
        exc = result.exception
        assert exc is None or isinstance(exc, SystemExit), (
            f"crash on {data[:400]!r} ({fmt}): {exc!r}\n{result.output}"
        )
        assert "Traceback" not in result.output
        if result.exit_code == 0:
            frame = pl.read_parquet(out)
            check_schema(frame)
            assert sorted(p.name for p in outdir.iterdir()) == ["raw.parquet"]
        else:
            assert result.exit_code == 2, result.output
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
            assert str(src) in lines[0] or f"format '{fmt}'" in lines[0], lines[0]  # names it
            assert result.stdout == ""
            assert list(outdir.iterdir()) == [], "something was written"


def check_schema(frame: pl.DataFrame) -> None:
    """The normalised schemas of attnlib.datasets, with nothing missing or non-finite."""
    assert frame.height > 0
    if "tokens" in frame.columns:
        assert frame.schema["tokens"] == pl.List(pl.String)
        assert frame["tokens"].null_count() == 0
        assert frame["tokens"].list.len().min() > 0
        assert all(t for seq in frame["tokens"].to_list() for t in seq)
    elif "id" not in frame.columns:  # a long table: time, then one column per channel
        assert frame.schema["time"] == pl.String and frame["time"].is_unique().all()
        for c in frame.columns[1:]:
            assert frame.schema[c] == pl.Float64
            assert frame[c].is_finite().all()
    else:
        assert frame.schema["values"] == pl.List(pl.List(pl.Float32))
        for series in frame["values"].to_list():
            assert series and all(
                step and all(v is not None and math.isfinite(v) for v in step) for step in series
            )
    if "id" in frame.columns:
        assert frame["id"].null_count() == 0 and frame["id"].is_unique().all()
    for c in ("label", "split"):
        if c in frame.columns:
            assert frame.schema[c] == pl.String and frame[c].null_count() == 0


@pytest.mark.filterwarnings("ignore")
@SETTINGS
@given(delimited(), FORMAT)
def test_random_csv_and_tsv(case, fmt):
    check_ingest(*case, fmt)


@pytest.mark.filterwarnings("ignore")
@SETTINGS
@given(text_lines(), FORMAT)
def test_random_text_files(case, fmt):
    check_ingest(*case, fmt)


@pytest.mark.filterwarnings("ignore")
@SETTINGS
@given(parquet_tables(), st.sampled_from(["auto", "parquet"]))
def test_random_parquet(case, fmt):
    check_ingest(*case, fmt)
