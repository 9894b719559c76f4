"""A stacked long table (tsfresh's kind / value, pandas' melt, tidyr's pivot_longer): one
row per time step and channel, unstacked into a column per name, then read as any long
table."""

import numpy as np
import pandas as pd
import polars as pl
import pytest

from attnlib.datasets import panel, read_and_describe, read_source, stacked
from attnlib.errors import DataError
from tests.attnlib.test_panel import table

# two recordings of two channels, as a query returns them: kinds interleaved, times and ids
# out of order
ROWS = ("id,time,kind,value,label\nb,1,y,8,q\na,0,x,1,p\nb,0,x,5,q\na,1,y,4,p\na,0,y,2,p\n"
        "b,0,y,6,q\na,1,x,3,p\nb,1,x,7,q\n")  # fmt: skip


def test_a_tsfresh_stacked_table_is_series_with_a_channel_per_kind(tmp_path):
    frame, how = read_and_describe(table(tmp_path, ROWS))
    assert frame["id"].to_list() == ["b", "a"] and frame["label"].to_list() == ["q", "p"]
    # the channels in their names' order, x then y, whatever the order of the rows
    assert frame["values"].to_list() == [[[5.0, 6.0], [7.0, 8.0]], [[1.0, 2.0], [3.0, 4.0]]]
    assert "; stacked, a column per name in 'kind'; 2 series, one per id" in how
    with panel.for_classifier():  # what attnlib predict / Model.predict read
        given = panel.as_series(pl.read_csv(table(tmp_path, ROWS)).drop("label"), "f")
    assert given["values"].to_list() == frame["values"].to_list()


def test_pandas_melt_of_a_forecasting_frame_reads_as_the_frame(tmp_path):
    rng = np.random.default_rng(0)
    wide = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=6).astype(str),
                         "load": rng.normal(size=6), "temp": rng.normal(size=6)})  # fmt: skip
    wide.to_csv(tmp_path / "wide.csv", index=False)
    wide.melt(id_vars="date").to_csv(tmp_path / "melted.csv")  # with pandas' row numbers
    assert (tmp_path / "melted.csv").read_text().startswith(",date,variable,value\n")
    assert read_source(tmp_path / "melted.csv").equals(read_source(tmp_path / "wide.csv"))
    by_store = wide.melt(id_vars="date", var_name="name").assign(id="s1")
    pd.concat([by_store, by_store.assign(id="s2")]).to_parquet(tmp_path / "clock.parquet")
    out = read_source(tmp_path / "clock.parquet")  # two stores on one clock: a column each
    assert out.columns == ["time", "load_s1", "load_s2", "temp_s1", "temp_s2"]


@pytest.mark.parametrize(("text", "message"), [
    ("id,time,kind,value\na,0,x,1\na,0,y,2\na,1,x,3\n", r"line 4: the time step on this "
     r"line has no row for 'y' in column 'kind' \(a stacked table needs every name"),
    ("id,time,kind,value\na,0,x,1\na,0,x,2\na,1,y,4\n", r"line 3: 'x' in column 'kind' "
     r"repeats at time '0' of id 'a' .*; the step begins line 2"),
    ("time,variable,value,x\n0,y,1,0\n0,x,2,0\n", r"line 3: name 'x' in column 'variable' is "
     r"also a column"),
    ("id,time,kind,value\na,0,x,1\na,0,y,2\na,1,x,3\na,1,y,1e300\n", r"line 5: column "
     r"'value': value '1e300' is too large"),
    ("id,time,kind,value\na,0,x,1\na,0,y,2\na,1,x,3\n,1,y,4\n", r"line 5: missing id"),
    ("time,variable,value\n0,x,1\n0,y,\n", r"line 3: column 'value': empty cell"),
    ("id,time,kind,value,label\na,0,x,1,p\na,0,y,2,q\n", r"line 3: column 'label' differs "
     r"within a time step .*; the step begins line 2"),
    ("case,t,dim_id,value\n0,0,d0,1\n0,0,d1,2\n1,0,d0,3\n1,0,d1,4\n", r"line 4: column "
     r"'case' differs within a time step .*ingest.id_column"),
])  # fmt: skip
def test_a_stacked_table_that_does_not_hold_together_names_its_line(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_source(table(tmp_path, text))


def test_channels_are_in_one_order_for_every_file(tmp_path):
    """A train file and a test file (or a file to predict) shuffled differently have the
    same channels in the same place: the names sorted as people do, dim_2 before dim_10."""
    rng = np.random.default_rng(0)
    rows = [("a", t, f"dim_{k}", 100 * k + t) for t in range(2) for k in (10, 2, 1)]
    text = "id,time,kind,value,label\n" + "".join(f"{i},{t},{k},{v},p\n" for i, t, k, v in rows)
    lines = text.splitlines(keepends=True)
    other = lines[:1] + [lines[1:][j] for j in rng.permutation(len(rows))]
    first = read_source(table(tmp_path, text, "a.csv"))
    assert first["values"].to_list() == [[[100.0, 200.0, 1000.0], [101.0, 201.0, 1001.0]]]
    assert read_source(table(tmp_path, "".join(other), "b.csv")).equals(first)


def test_only_repeated_steps_make_a_table_stacked(tmp_path):
    once = pl.DataFrame({"id": ["a", "b"], "time": [0, 0], "name": ["ann", "bob"],
                         "value": [1.0, 2.0]})  # fmt: skip
    assert stacked.kind_column(once) is None  # one row a step: 'name' is no channel's
    assert stacked.kind_column(once.with_columns(pl.lit("a").alias("id"))) == "name"
    sktime = ("case,t,dim_id,value\n0,0,d0,1\n0,0,d1,2\n1,0,d0,3\n1,0,d1,4\n0,1,d0,5\n"
              "0,1,d1,6\n1,1,d0,7\n1,1,d1,8\n")  # fmt: skip
    out = read_source(table(tmp_path, sktime), columns={"id": "case"})  # sktime's long layout
    assert out.columns == ["time", "d0_0", "d0_1", "d1_0", "d1_1"]
    assert out["d1_1"].to_list() == [4.0, 8.0]


def test_a_frame_given_in_python_names_the_rows_of_the_file_it_came_from():
    frame = pl.DataFrame({"id": ["a", "a", "b", "b", "a", "a"], "time": [0, 0, 0, 0, 1, 1],
                          "kind": ["x", "y"] * 3, "value": [1.0, 2, 1, 2, 3, 4],
                          "label": ["p", "p", "q", "q", "Z", "Z"]})  # fmt: skip
    with panel.for_classifier(), pytest.raises(DataError, match=r"row 5: label 'Z' differs "
                                                                r"from 'p' at row 1"):  # fmt: skip
        panel.as_series(frame, "f")


def test_one_name_a_value_in_any_case_and_the_kind_in_pandas_index(tmp_path):
    one = "time,variable,Value\n0,load,1\n1,load,2\n2,load,3\n"  # melt of one column
    assert read_source(table(tmp_path, one)).columns == ["time", "load"]
    frame = pl.read_csv(table(tmp_path, ROWS)).to_pandas().set_index(["id", "time", "kind"])
    frame.to_parquet(tmp_path / "i.parquet")  # the kind saved as an index level: kept
    assert read_source(tmp_path / "i.parquet").equals(read_source(table(tmp_path, ROWS)))
    tie = "time,kind,value\n0,x01,1\n0,x1,2\n1,x01,3\n1,x1,4\n"  # one order, not by chance
    flipped = "time,kind,value\n0,x1,2\n0,x01,1\n1,x1,4\n1,x01,3\n"
    for name, text in (("tie.csv", tie), ("flipped.csv", flipped)):
        assert read_source(table(tmp_path, text, name)).columns == ["time", "x01", "x1"]
    wide = pd.DataFrame({"time": [0, 1, 2], "north": [1.0, 2, 3], "south": [4.0, 5, 6]})
    melted = wide.melt(id_vars="time").set_index(["time", "variable"])  # the kind in the index
    melted.to_csv(tmp_path / "m.csv")
    melted.to_parquet(tmp_path / "m.parquet")
    assert read_source(tmp_path / "m.parquet").equals(read_source(tmp_path / "m.csv"))
    assert read_source(tmp_path / "m.csv").columns == ["time", "north", "south"]


def test_a_stacked_pair_whose_files_differ_by_pandas_index_is_joined(tmp_path):
    frame = pl.read_csv(table(tmp_path, ROWS)).to_pandas()
    frame.to_parquet(tmp_path / "s_TRAIN.parquet", index=False)
    frame[frame["id"] == "a"].to_parquet(tmp_path / "s_TEST.parquet")  # its index saved too
    both = read_source(tmp_path / "s_TRAIN.parquet", archive_split=True)
    assert both["split"].to_list() == ["train", "train", "test"]
