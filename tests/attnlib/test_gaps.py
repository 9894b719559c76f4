"""Missing values inside a numeric series to classify: filled by linear interpolation in
every format that holds series (or refused under ``ingest.missing: error``), told once per
file; a gap in a series to forecast, or a whole channel missing, is still refused."""

from __future__ import annotations

import logging

import numpy as np
import polars as pl
import pytest

from attnlib.datasets import gaps, read_source
from attnlib.errors import ConfigError, DataError

ARFF = ("@relation Toy\n@attribute t1 numeric\n@attribute t2 numeric\n@attribute t3 numeric\n"
        "@attribute t4 numeric\n@attribute c {1,2}\n@data\n")  # fmt: skip
TS = "@problemName Toy\n@univariate true\n@equalLength false\n@classLabel true 1 2\n@data\n"
# each file's first series is 1, ?, 4, 5 (filled: 1, 2.5, 4, 5) and its second ?, 2, 3 (2, 2, 3)
FILES = {
    "u.tsv": ("1\t1\tNaN\t4\t5\n2\tNaN\t2\t3\tNaN\n", "line 1, step 2"),
    "u.ts": (TS + "1,?,4,5:1\n?,2,3,?:2\n", "line 6: channel 1, step 2"),
    "u.arff": (ARFF + "1,?,4,5,1\n?,2,3,?,2\n", "line 8, step 2"),
    "w.csv": ("id,t1,t2,t3,t4,label\na,1,,4,5,1\nb,,2,3,,2\n", "line 2, column 't2'"),
    "p.csv": ("id,time,v,label\na,0,1,1\na,1,,1\na,2,4,1\na,3,5,1\nb,1,2,2\nb,2,3,2\n"
              "b,0,,2\n", "the rows of id 'a', step 2, column 'v'"),
    "s.csv": ("id,time,kind,value,label\n" + "".join(
        f"{i},{t},v,{v},{c}\n" for i, c, row in (("a", 1, "1,,4,5"), ("b", 2, ",2,3"))
        for t, v in enumerate(row.split(","))), "the rows of id 'a', step 2, column 'v'"),
}  # fmt: skip
FILLED = [[[1.0], [2.5], [4.0], [5.0]], [[2.0], [2.0], [3.0]]]


def write(tmp_path, name, text):
    (path := tmp_path / name).write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("name", FILES)
def test_a_gap_inside_a_series_is_filled_linearly_in_every_format(tmp_path, name, caplog):
    path = write(tmp_path, name, FILES[name][0])
    with caplog.at_level(logging.WARNING):
        frame = read_source(path)
    assert frame["values"].to_list() == FILLED  # the ends: padding (UCR, .ts, ARFF, wide)
    assert frame["label"].to_list() == ["1", "2"]  # or the first known value
    told = [r.getMessage() for r in caplog.records if r.name == gaps.__name__]
    assert told == [f"{path}: 2 missing value(s) in 2 series filled by linear interpolation "
                    f"(the first: {path}, {FILES[name][1]})"]  # fmt: skip


@pytest.mark.parametrize("name", FILES)
def test_ingest_missing_error_refuses_the_first_gap_at_its_place(tmp_path, name):
    path = write(tmp_path, name, FILES[name][0])
    with pytest.raises(DataError) as err:
        read_source(path, missing="error")
    said = str(err.value)
    assert "ingest.missing: interpolate fills such gaps" in said
    if name in ("p.csv", "s.csv"):  # a long table: refused as read, at the file's line
        column = "value" if name == "s.csv" else "v"
        assert said.startswith(f"{path}, line 3: column '{column}': empty cell")
    else:
        assert said == (f"{path}, {FILES[name][1]}: missing value inside the series; "
                        "ingest.missing: interpolate fills such gaps")  # fmt: skip


def test_parquet_value_lists_fill_nulls_and_nan_per_channel(tmp_path, caplog):
    series = [[[1.0, 10.0], [None, float("nan")], [3.0, 30.0]], [[0.5, None], [0.5, 7.0]]]
    pl.DataFrame({"id": ["a", "b"], "values": series, "label": ["x", "y"]}).write_parquet(
        path := tmp_path / "v.parquet"
    )
    with caplog.at_level(logging.WARNING):
        frame = read_source(path)
    assert frame["values"].to_list() == [[[1.0, 10.0], [2.0, 20.0], [3.0, 30.0]],
                                         [[0.5, 7.0], [0.5, 7.0]]]  # fmt: skip
    assert "3 missing value(s) in 2 series" in caplog.text
    assert f"(the first: {path}, row 1: 'values', step 2, channel 1)" in caplog.text
    with pytest.raises(DataError, match=r"row 1: 'values', step 2, channel 1: missing value"):
        read_source(path, missing="error")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.tsv", "1\t1\tinf\t3\n", r"line 1, step 2: infinite value"),
        ("a.arff", ARFF + "1,inf,3,4,1\n", r"line 8, step 2: infinite value"),
        ("i.csv", "id,time,v,label\na,0,1,1\na,1,inf,1\nb,0,2,2\n",
         r"line 3: column 'v': 'inf' is not a number"),
        ("p.csv", "id,time,v,w,label\na,0,1,,1\na,1,2,,1\nb,0,1,2,2\n",
         r"the rows of id 'a', column 'w': no value at any step \(nothing to interpolate"),
        ("f.csv", "time,v\n1,1\n2,\n3,3\n", r"line 3: column 'v': empty cell$"),
        ("c.csv", "id,time,v\na,1,1\nb,1,2\na,2,\nb,2,3\n", r"line 4: column 'v': empty cell$"),
        ("k.csv", "id,time,kind,value\na,1,x,1\na,1,y,2\nb,1,x,3\nb,1,y,\n",
         r"line 5: column 'value': empty cell$"),  # stacked by id, no label: to forecast
    ],
)  # fmt: skip
def test_what_cannot_be_filled_is_still_refused(tmp_path, name, text, message):
    """An infinite value; a channel with nothing known; a gap in a series to forecast (one
    table, or series on one clock: its targets would be scored against made-up values)."""
    with pytest.raises(DataError, match=message):
        read_source(write(tmp_path, name, text))


def test_a_series_is_counted_once_and_a_long_tables_end_takes_its_last_value(tmp_path, caplog):
    """Readers that fill a series channel by channel (.ts, ARFF) count it once; a long table
    has no padding, so its end after the last known value is that value; a NaN written as
    text is a missing value, not a word."""
    two = ("@problemName Toy\n@univariate false\n@dimensions 2\n@classLabel true 1 2\n"
           "@data\n1,?,3:4,?,6:1\n1,2,3:4,5,6:2\n")  # fmt: skip
    with caplog.at_level(logging.WARNING):
        frame = read_source(write(tmp_path, "m.ts", two))
    assert frame["values"][0].to_list() == [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    assert "2 missing value(s) in 1 series" in caplog.text
    end = "id,time,v,label\na,0,1,1\na,1,3,1\na,2,,1\nb,0,1,2\nb,1,NaN,2\nb,2,2,2\n"
    frame = read_source(write(tmp_path, "e.csv", end))
    assert frame["values"].to_list() == [[[1.0], [3.0], [3.0]], [[1.0], [1.5], [2.0]]]
    with pytest.raises(DataError, match=r"line 6: column 'v': missing value \('NaN'\); ingest"):
        read_source(write(tmp_path, "n.csv", end.replace("a,2,,1", "a,2,4,1")), missing="error")


def test_an_empty_field_is_a_gap_and_a_channels_own_end_is_no_padding(tmp_path):
    """Between two commas or tabs of a UCR row an empty field is a missing value (it once
    vanished, the row one step shorter); padding ends a .ts series only after the last step
    any of its channels knows."""
    frame = read_source(write(tmp_path, "e.csv", "1,1,,3,4\n2,1,2,3,\n"), "ucr")
    assert frame["values"].to_list() == [[[1.0], [2.0], [3.0], [4.0]], [[1.0], [2.0], [3.0]]]
    mixed = read_source(write(tmp_path, "x.tsv", "1\t0.5 1.5\t2.5\n2, 1 ,2\t\n"), "ucr")
    assert mixed["values"].to_list() == [[[0.5], [1.5], [2.5]], [[1.0], [2.0]]]  # as before
    with pytest.raises(DataError, match=r"line 2: missing label \(the first field\)"):
        read_source(write(tmp_path, "l.tsv", "1\t1\t2\n\t3\t4\n"), "ucr")
    two = ("@problemName Toy\n@univariate false\n@dimensions 2\n@classLabel true 1 2\n"
           "@data\n1,2,3:4,5,?:1\n1,2,?:4,5,?:2\n")  # fmt: skip
    frame = read_source(write(tmp_path, "c.ts", two))
    assert frame["values"].to_list() == [[[1.0, 4.0], [2.0, 5.0], [3.0, 5.0]],
                                         [[1.0, 4.0], [2.0, 5.0]]]  # fmt: skip


def test_a_frame_of_value_lists_given_to_a_model_is_filled(tmp_path):
    import attnlib
    from tests.attnlib.test_channel_names import bundle

    model = attnlib.load(bundle(tmp_path / "m"), engine="torch")
    steps = [[0.5, 20.0], [None, float("nan")], [1.5, 40.0]]
    gap = pl.DataFrame({"id": ["a"], "values": [steps]})
    whole = pl.DataFrame({"id": ["a"], "values": [[[0.5, 20.0], [1.0, 30.0], [1.5, 40.0]]]})
    warned = []
    got = model.predict(gap, warn=warned.append, source="f")["probabilities"].to_list()
    assert got == model.predict(whole)["probabilities"].to_list()
    with pytest.raises(DataError, match=r"^f, row 2: no series \(a null or empty 'values'\)"):
        model.predict(pl.concat([gap, pl.DataFrame({"id": ["b"], "values": [None]},
                                                   schema=gap.schema)]), source="f",
                      warn=warned.append)  # refused: tells of no filling  # fmt: skip
    assert np.isfinite(got).all() and warned == [
        "f: 2 missing value(s) in 1 series filled by linear interpolation (the first: f, "
        "row 1, step 2, channel 1)"
    ]


def test_filled_interpolates_each_channel_and_keeps_shape_and_dtype():
    values = np.array([[np.nan, 1.0], [2.0, np.nan], [np.nan, np.nan], [8.0, 4.0],
                       [np.nan, 5.0]], dtype=np.float32)  # fmt: skip
    out = gaps.filled(values, "s: ")
    np.testing.assert_array_equal(out, [[2, 1], [2, 2], [5, 3], [8, 4], [8, 5]])
    assert out.dtype == np.float32 and np.isnan(values[0, 0])  # the input is left as it was
    complete = np.ones((3, 2))
    assert gaps.filled(complete, "s: ") is complete  # nothing missing: nothing copied
    with (
        gaps.reading("error", "f"),
        pytest.raises(
            DataError, match=r"^s, step 1, channel 1: missing value inside the series; ingest"
        ),
    ):
        gaps.filled(values, "s: ")
    with pytest.raises(ConfigError, match=r"ingest.missing': 'zero' is not one of interpolate"):
        read_source("builtin:gunpoint", missing="zero")


def test_a_model_fills_the_gaps_of_what_it_scores(tmp_path):
    """``Model.predict`` on arrays with a NaN scores them as the same arrays filled (a NaN
    once gave NaN probabilities and the first class), and says so."""
    import attnlib
    from tests.attnlib.test_channel_names import bundle

    model = attnlib.load(bundle(tmp_path / "m"), engine="torch")
    x = np.random.default_rng(0).normal(size=(6, 2))
    gap = x.copy()
    gap[2, 1] = np.nan
    x[2, 1] = (x[1, 1] + x[3, 1]) / 2
    warned = []
    scored = model.predict([gap], warn=warned.append, source="new.npy")
    assert scored["probabilities"].to_list() == model.predict([x])["probabilities"].to_list()
    assert warned == ["new.npy: 1 missing value(s) in 1 series filled by linear interpolation "
                      "(the first: new.npy, sequence 1, step 3, channel 2)"]  # fmt: skip
    gap[2, 1] = np.inf
    with pytest.raises(DataError, match=r"^new.npy, sequence 1, step 3, channel 2: infinite"):
        model.predict([gap], source="new.npy")
    with pytest.raises(DataError, match=r"^the input: expected 2 channel\(s\), got 1$"):
        model.predict([np.array([[1.0], [np.nan], [3.0]])], warn=warned.append)
    assert len(warned) == 1  # a refused input tells of no filling


def test_what_was_filled_is_kept_for_the_report_and_the_model_card(tmp_path):
    """A recording of the reads (the ingest stage's) round-trips through Parquet metadata
    (and refuses one that is not its shape); the project report's data section says it, and
    the sentence the export puts on the model card."""
    import json

    from attnlib.io import write_parquet_atomic
    from attnlib.report_project import data_section

    with gaps.recording() as filled:
        read_source(write(tmp_path, "u.tsv", FILES["u.tsv"][0]))
        read_source(write(tmp_path, "w.csv", FILES["w.csv"][0]))
    assert filled == {"values": 4, "series": 4, "first": f"{tmp_path / 'u.tsv'}, line 1, step 2"}
    write_parquet_atomic(tmp_path / "raw.parquet", pl.DataFrame({"a": [1]}), gaps.metadata(filled))
    assert gaps.read(tmp_path / "raw.parquet") == filled
    assert gaps.metadata({"values": 0, "series": 0, "first": ""}) == {}
    assert gaps.described(filled) == (
        f"4 missing value(s) in 4 series filled by linear interpolation (the first: "
        f"{tmp_path / 'u.tsv'}, line 1, step 2)"
    )
    bad = {gaps.KEY: json.dumps({"values": "4"})}
    write_parquet_atomic(tmp_path / "bad.parquet", pl.DataFrame({"a": [1]}), bad)
    with pytest.raises(DataError, match=r"bad.parquet: metadata attnlib.gaps_filled is not"):
        gaps.read(tmp_path / "bad.parquet")
    (tmp_path / "data").mkdir()
    vocab = {"task": "classify", "input": {"kind": "series", "channels": 1, "gaps_filled": filled}}
    (tmp_path / "data/vocab.json").write_text(json.dumps(vocab))
    facts = data_section(tmp_path).facts
    assert facts["missing values"] == "4 in 4 series, filled by linear interpolation"
