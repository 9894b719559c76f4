"""A long table of many series (an id that repeats): one series per id, to classify."""

import datetime as dt

import numpy as np
import polars as pl
import pytest

from attnlib.datasets import read_and_describe, read_source
from attnlib.encoding import kind_of
from attnlib.errors import ConfigError, DataError

# two series, rows ordered by time, then id (a query's ORDER BY step)
ROWS = "id,step,value,label\nb,0,1.0,run\na,0,5.0,walk\nb,1,2.0,run\na,1,6.0,walk\nb,2,3.0,run\n"


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_each_id_is_one_series_in_time_order(tmp_path):
    frame, how = read_and_describe(write(tmp_path / "p.csv", ROWS))
    assert kind_of(frame) == "series"
    assert frame["id"].to_list() == ["b", "a"]  # the order ids first appear in
    assert frame["values"].to_list() == [[[1.0], [2.0], [3.0]], [[5.0], [6.0]]]
    assert frame["label"].to_list() == ["run", "walk"]
    assert "2 series: its ids repeat, one series per id" in how


def test_a_parquet_panel_with_dates_channels_and_shuffled_rows(tmp_path):
    rng = np.random.default_rng(0)
    days = [dt.date(2024, 1, d) for d in (1, 2, 3, 4)]
    table = pl.DataFrame({
        "ID": [7] * 4 + [9] * 3,
        "date": days + days[:3],
        "x": np.arange(7.0), "y": -np.arange(7.0),
        "Label": [1.0] * 4 + [2.0] * 3,
    })  # fmt: skip
    shuffled = table[rng.permutation(7).tolist()]
    shuffled.write_parquet(tmp_path / "p.parquet")
    frame = read_source(tmp_path / "p.parquet")
    assert frame["id"].to_list() == [str(i) for i in shuffled["ID"].unique(maintain_order=True)]
    by_id = dict(zip(frame["id"], frame["values"].to_list(), strict=True))
    assert by_id["7"] == [[0.0, -0.0], [1.0, -1.0], [2.0, -2.0], [3.0, -3.0]]  # by date
    assert by_id["9"] == [[4.0, -4.0], [5.0, -5.0], [6.0, -6.0]]
    assert dict(zip(frame["id"], frame["label"], strict=True)) == {"7": "1", "9": "2"}


def test_a_long_table_of_one_series_still_forecasts(tmp_path):
    one = "id,step,value\na,0,1.0\na,1,2.0\na,2,3.0\n"  # the id does not change
    assert kind_of(read_source(write(tmp_path / "one.csv", one))) == "long"
    unique = "id,step,value\na,0,1.0\nb,1,2.0\nc,2,3.0\n"  # a row id, not a series id
    assert kind_of(read_source(write(tmp_path / "rows.csv", unique))) == "long"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ROWS.replace("a,1,6.0,walk", "a,1,6.0,run"),
         r"line 5: label 'run' differs from 'walk' at line 3, the same id's first row"),
        (ROWS.replace("a,1,6.0,walk", "a,0,6.0,walk"),
         r"line 5: step '0' repeats line 3 for id 'a'"),
        (ROWS.replace("b,1,2.0,run", "b,1,,run"), r"line 4: column 'value': empty cell"),
        (ROWS.replace("a,1,6.0,walk", "a,1,6.0,"), r"line 5: label missing differs from 'walk'"),
        (ROWS.replace("b,1,2.0,run", ",1,2.0,run"), r"line 4: missing id in 'id'"),
    ],
)  # fmt: skip
def test_a_panel_that_does_not_hold_together_names_the_row(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_source(write(tmp_path / "p.csv", text))


def test_a_named_label_column_is_a_panels_class_and_a_single_series_has_none(tmp_path):
    path = write(tmp_path / "p.csv", ROWS.replace("label", "activity"))
    frame = read_source(path, columns={"label": "activity"})
    assert frame["label"].to_list() == ["run", "walk"]
    one = write(tmp_path / "one.csv", "step,value,activity\n0,1.0,2\n1,2.0,3\n2,3.0,4\n")
    with pytest.raises(ConfigError, match="reads as a long table"):
        read_source(one, columns={"label": "activity"})


def test_a_train_file_of_a_panel_takes_its_test_file_as_the_test_split(tmp_path):
    write(tmp_path / "Gait_TRAIN.csv", ROWS)
    write(tmp_path / "Gait_TEST.csv", ROWS.replace("b,", "c,"))
    frame = read_source(tmp_path / "Gait_TRAIN.csv", archive_split=True)
    assert frame["split"].to_list() == ["train", "train", "test", "test"]
    assert frame["id"].n_unique() == 4
