"""A long table of many series (an id beside the time, with a label or times that repeat):
one series per id, to classify."""

import datetime as dt
import logging

import numpy as np
import polars as pl
import pytest

from attnlib.datasets import panel, read_and_describe, read_source
from attnlib.encoding import kind_of
from attnlib.errors import ConfigError, DataError

# two series, rows ordered by time, then id (a query's ORDER BY step); b's steps 9, 10, 11
# sort wrongly as text
ROWS = ("id,step,value,label\nb,10,2.0,run\na,0,5.0,walk\nb,9,1.0,run\na,1,6.0,walk\n"
        "b,11,3.0,run\n")  # fmt: skip


def table(folder, text: str, name: str = "p.csv"):
    """A CSV file of ``text`` in ``folder``."""
    (path := folder / name).write_text(text, encoding="utf-8")
    return path


def test_each_id_is_one_series_in_time_order(tmp_path):
    frame, how = read_and_describe(table(tmp_path, ROWS))
    assert kind_of(frame) == "series"
    assert frame["id"].to_list() == ["b", "a"]  # the order ids first appear in
    assert frame["values"].to_list() == [[[1.0], [2.0], [3.0]], [[5.0], [6.0]]]  # 9, 10, 11
    assert frame["label"].to_list() == ["run", "walk"]
    assert how.endswith("; 2 series, one per id")


def test_a_parquet_panel_with_dates_channels_and_shuffled_rows(tmp_path):
    rng = np.random.default_rng(0)
    days = [dt.date(2024, 1, d) for d in (1, 2, 3, 4)]
    table = pl.DataFrame({
        "ID": [7.0] * 4 + [9.0] * 3,  # pandas' floats: 7.0 is the id '7', as a label's 1.0
        "date": days + days[:3],
        "x": np.arange(7.0), "y": -np.arange(7.0),
        "__index_level_0__": np.arange(7),  # pandas' saved index: no channel
        "Label": [1.0] * 4 + [2.0] * 3,
    })  # fmt: skip
    shuffled = table[rng.permutation(7).tolist()]
    shuffled.write_parquet(tmp_path / "p.parquet")
    frame = read_source(tmp_path / "p.parquet")
    assert frame["id"].to_list() == [f"{i:.0f}" for i in shuffled["ID"].unique(maintain_order=True)]
    by_id = dict(zip(frame["id"], frame["values"].to_list(), strict=True))
    assert by_id["7"] == [[0.0, -0.0], [1.0, -1.0], [2.0, -2.0], [3.0, -3.0]]  # by date
    assert by_id["9"] == [[4.0, -4.0], [5.0, -5.0], [6.0, -6.0]]
    assert dict(zip(frame["id"], frame["label"], strict=True)) == {"7": "1", "9": "2"}
    shuffled.with_columns(pl.col("ID").cast(pl.Int64)).write_parquet(tmp_path / "i.parquet")
    assert read_source(tmp_path / "i.parquet")["id"].equals(frame["id"])  # whole numbers too


@pytest.mark.parametrize(
    "text",
    [
        "id,step,value\na,0,1.0\na,1,2.0\na,2,3.0\n",  # the id does not change
        "id,step,value\na,0,1.0\nb,1,2.0\nc,2,3.0\n",  # a row id
        "ID,step,value\nr1,0,1.0\nr2,1,2.0\nr3,2,3.0\n",  # a row id in another case
        "date,id,load\n2024-01-01,A,1.0\n2024-01-02,A,2.0\n2024-01-03,B,3.0\n",  # a meter swap
        "id,step,value,label\n1,0,0.5,0\n2,1,0.7,0\n3,2,9.0,1\n",  # row ids, a row's flag
    ],
)
def test_a_long_table_of_one_timeline_still_forecasts(tmp_path, text):
    frame = read_source(table(tmp_path, text, "one.csv"))
    assert kind_of(frame) == "long" and frame.height == 3
    assert frame.columns[1:] in (["value"], ["load"], ["value", "label"])


def test_one_labelled_recording_is_one_series_to_classify(tmp_path):
    one = "id,step,x,label\nwalk01,0,0.5,walking\nwalk01,1,0.25,walking\n"
    frame = read_source(table(tmp_path, one, "one.csv"))
    assert frame["values"].to_list() == [[[0.5], [0.25]]] and frame["label"].to_list() == [
        "walking"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (ROWS.replace("a,1,6.0,walk", "a,1,6.0,run"),
         r"line 5: label 'run' differs from 'walk' at line 3, the same id's first row"),
        (ROWS.replace("a,1,6.0,walk", "a,0,6.0,walk"),
         r"line 5: step '0' repeats line 3 for id 'a'"),
        (ROWS.replace("a,1,6.0,walk", "a,1,6.0,"), r"line 5: label missing differs from 'walk'"),
        (ROWS.replace("b,9,1.0,run", ",9,1.0,run"), r"line 4: missing id in 'id'"),
        (ROWS.replace("b,9,1.0,run", "b,x,1.0,run"), r"line 4: step 'x' is not a number like"),
        (ROWS.replace("b,9,1.0,run", "b,9,1e39,run"), r"line 4: column 'value': value '1e39' is"),
        (ROWS.replace("b,9,1.0,run", "b,10.0,1.0,run"), r"line 4: step '10.0' repeats line 2"),
    ],
)  # fmt: skip
def test_a_panel_that_does_not_hold_together_names_the_row(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        read_source(table(tmp_path, text))


def test_labels_one_and_one_point_zero_are_one_class(tmp_path):
    frame = read_source(table(tmp_path, ROWS.replace("run", "1").replace(
        "b,11,3.0,1", "b,11,3.0,1.0")))  # fmt: skip
    assert frame["label"].to_list() == ["1", "walk"]


def test_many_series_on_one_clock_without_labels_are_series_for_a_classifier(tmp_path):
    text = "".join(f"{s},{t},{t * 0.5}\n" for s in ("p", "q") for t in range(3))
    path = table(tmp_path, "id,time,v\n" + text)
    with panel.for_classifier():  # attnlib predict with a series classifier
        frame = read_source(path)
    assert kind_of(frame) == "series" and "label" not in frame.columns
    assert kind_of(read_source(path)) == "long"  # else: series to forecast together


def test_a_named_label_column_is_a_panels_class_and_a_single_series_has_none(tmp_path):
    path = table(tmp_path, ROWS.replace("label", "activity"))
    frame = read_source(path, columns={"label": "activity"})
    assert frame["label"].to_list() == ["run", "walk"]
    one = table(tmp_path, "step,value,activity\n0,1.0,2\n1,2.0,3\n2,3.0,4\n", "one.csv")
    with pytest.raises(
        ConfigError, match="reads as a long table of one series .* id column, 'id' or"
    ):
        read_source(one, columns={"label": "activity"})


def test_a_series_column_under_another_name_is_named_by_ingest_id_column(tmp_path):
    path = table(tmp_path, ROWS.replace("id,step", "subject,tick"))
    plain = read_source(table(tmp_path, ROWS, "plain.csv"))
    with pytest.raises(DataError, match="'subject': 'b' is not a number; .*id_column"):
        read_source(path)  # read as a wide table: the hint names the key
    with pytest.raises(DataError, match="'subject': 'b' is not a number; .* ingest.id_column"):
        read_source(path, columns={"time": "tick"})
    frame, how = read_and_describe(path, columns={"time": "tick", "id": "subject"})
    assert frame.equals(plain)
    assert how.endswith("2 series, one per id; the time in column 'tick', the id in 'subject'")
    assert "a time column 'tick'" in how  # the read line names the columns as the file does
    clash = table(tmp_path, "ID,subject,step,v\n1,a,0,1.0\n2,a,1,2.0\n", "clash.csv")
    with pytest.raises(DataError, match="--id-column names 'subject' as the id, but column 'ID'"):
        read_source(clash, columns={"id": "subject"})


@pytest.mark.parametrize(("text", "why"), [
    ("subject,t,x\na,0,1\nb,1,2\nc,2,3\n", "no id is on more than one row"),
    ("subject,t,x\na,0,1\na,1,2\na,2,3\n", "it has no label and its times do not repeat"),
])  # fmt: skip
def test_a_named_id_of_a_table_of_one_series_is_refused(tmp_path, text, why):
    with pytest.raises(ConfigError, match=f"names 'subject', but the file reads as a long table "
                                          f"of one series to forecast \\({why}"):  # fmt: skip
        read_source(table(tmp_path, text), columns={"id": "subject"})
    timeline = table(tmp_path, "id,t,v,cls\np,0,1,a\np,1,2,a\nq,2,3,b\nq,3,4,b\n", "l.csv")
    with pytest.raises(DataError, match="'cls': 'a' is not a number; .*its ids change along one "
                                        "timeline"):  # fmt: skip
        read_source(timeline)
    no_time = table(tmp_path, "subject,x,label\na,1,p\na,2,p\n", "n.csv")  # what is missing
    with pytest.raises(DataError, match="a long table needs a time column"):
        read_source(no_time, "long", columns={"id": "subject"})


def test_a_parquet_panel_reads_its_named_id(tmp_path):
    frame = read_source(table(tmp_path, ROWS, "plain.csv"))
    named = pl.read_csv(table(tmp_path, ROWS)).rename({"id": "unit", "label": "state"})
    named.write_parquet(tmp_path / "p.parquet")
    out = read_source(tmp_path / "p.parquet", columns={"id": "unit", "label": "state"})
    assert out.equals(frame)


def test_a_column_of_words_gets_advice_only_where_it_helps(tmp_path):
    with pytest.raises(
        DataError,
        match=r"'site': 'ab' is not a number; every column but the "
        r"time is a value: .*\('id', or .*\('label', or",
    ):
        read_source(table(tmp_path, "date,site,w\n2020-01-01,,1\n2020-01-02,ab,2\n"
                                    "2020-01-03,cd,3\n"))  # fmt: skip
    with pytest.raises(DataError, match="column 'v': empty cell$"):  # numbers, some missing
        read_source(table(tmp_path, "date,v,w\n2020-01-01,,1\n2020-01-02,,2\n"
                                    "2020-01-03,1,3\n", "v.csv"))  # fmt: skip
    with pytest.raises(DataError, match="column 'site': 's' is not a number$"):  # has an id
        read_source(table(tmp_path, "id,t,x,site,label\na,0,1,s,q\na,1,2,s,q\n", "s.csv"))
    with pytest.raises(DataError, match="no value column beside column 'subject' and column "
                                        "'tick'"):  # fmt: skip
        read_source(table(tmp_path, "subject,tick,label\na,0,x\na,1,x\n", "n.csv"),
                    columns={"id": "subject", "time": "tick"})  # fmt: skip


def test_a_panels_time_column_can_be_named(tmp_path):
    frame = read_source(table(tmp_path, ROWS.replace("step", "tick")), columns={"time": "tick"})
    assert frame.equals(read_source(table(tmp_path, ROWS, "plain.csv")))


def test_a_train_file_of_a_panel_takes_its_test_file_as_the_test_split(tmp_path):
    table(tmp_path, ROWS, "Gait_TRAIN.csv")
    table(tmp_path, ROWS.replace("b,", "c,"), "Gait_TEST.csv")
    frame = read_source(tmp_path / "Gait_TRAIN.csv", archive_split=True)
    assert frame["id"].to_list() == ["train:b", "train:a", "test:c", "test:a"]
    assert frame["split"].to_list() == ["train", "train", "test", "test"]


def test_a_too_long_series_is_named_by_its_id_not_a_line(tmp_path):
    with pytest.raises(DataError, match=r"p\.csv, the rows of id 'b': sequence 'b' has 3 time"):
        read_source(table(tmp_path, ROWS), max_length=2)


def test_a_reader_for_a_classifier_takes_one_unlabelled_recording_as_its_series(tmp_path):
    path = table(tmp_path, "id,step,x\nwalk01,0,0.5\nwalk01,1,0.25\n", "new.csv")
    assert kind_of(read_source(path)) == "long"  # alone: one series to forecast
    with panel.for_classifier():
        frame = read_source(path)
    assert frame["id"].to_list() == ["walk01"] and frame["values"].to_list() == [[[0.5], [0.25]]]
    assert kind_of(read_source(path)) == "long"  # only while reading for the classifier


def test_an_empty_table_read_as_a_panel_has_no_rows():
    empty = pl.DataFrame(schema={"id": pl.String, "step": pl.Int64, "x": pl.Float64})
    with pytest.raises(DataError, match=r"^frame: no rows$"):
        panel.read_panel(empty, "frame", lambda i: f"row {i + 1}")


def _multiindex(names=(None, None)):
    """sktime's ``pd-multiindex`` panel with a class column: 3 series (ids 0-2) of 4 steps
    in 2 channels, its index levels ``names``."""
    import pandas as pd

    index = pd.MultiIndex.from_product([[0, 1, 2], [0, 1, 2, 3]], names=list(names))
    values = np.arange(24.0).reshape(12, 2)
    return pd.DataFrame({"dim_0": values[:, 0], "dim_1": values[:, 1],
                         "label": ["a"] * 4 + ["b"] * 8}, index=index)  # fmt: skip


def _three_series(frame, how=""):
    assert kind_of(frame) == "series" and frame["id"].to_list() == ["0", "1", "2"]
    assert frame["values"].to_list()[1] == [[8.0, 9.0], [10.0, 11.0], [12.0, 13.0], [14.0, 15.0]]
    assert frame["label"].to_list() == ["a", "b", "b"]
    assert "; 3 series, one per id" in how


def test_pandas_two_level_index_is_the_id_and_the_time(tmp_path, caplog):
    """sktime's pd-multiindex panel saved by pandas reads as 3 series of 4 steps, not as 12
    rows of a wide table: Parquet by its metadata (levels named or not), a CSV whose first
    two columns are unnamed (to_csv's ``,,``, or ``Unnamed: 0,Unnamed: 1`` read back)."""
    import pandas as pd

    _multiindex().to_parquet(tmp_path / "u.parquet")
    _multiindex(("instances", "timepoints")).to_parquet(tmp_path / "n.parquet")
    _multiindex().to_csv(tmp_path / "u.csv")
    assert (tmp_path / "u.csv").read_text().startswith(",,dim_0,dim_1,label\n")
    pd.read_csv(tmp_path / "u.csv").to_csv(tmp_path / "again.csv", index=False)
    with caplog.at_level(logging.INFO):
        for name in ("u.parquet", "n.parquet", "u.csv", "again.csv"):
            _three_series(*read_and_describe(tmp_path / name))
    assert "two-level index ['instances', 'timepoints']: 'instances' the series id" in caplog.text
    _, how = read_and_describe(tmp_path / "u.csv")
    assert "pandas' two-level index in its first two columns" in how
    named = tmp_path / "n.csv"  # a CSV does not say which columns were the index
    _multiindex(("instances", "timepoints")).to_csv(named)
    with pytest.raises(DataError, match="timepoints '0' repeats line 2 .*ingest.id_column"):
        read_source(named)
    _three_series(*read_and_describe(named, columns={"id": "instances"}))


def test_a_two_level_index_beside_an_id_or_a_time_level_first_is_no_series_id(tmp_path):
    import pandas as pd

    stores = pd.DataFrame({"sales": [1.0, 2, 3, 4]}, index=pd.MultiIndex.from_arrays(
        [["s", "t", "s", "t"], pd.to_datetime(["2024-01-01"] * 2 + ["2024-01-02"] * 2)],
        names=["store", "date"]))  # fmt: skip
    stores.to_parquet(tmp_path / "stores.parquet")  # the time is the second level: store, id
    out = read_source(tmp_path / "stores.parquet")
    assert out.columns == ["time", "sales_s", "sales_t"] and out["sales_t"].to_list() == [2, 4]
    months = pd.DataFrame({"v": np.arange(24.0)}, index=pd.MultiIndex.from_product(
        [[2000, 2001], range(1, 13)], names=["year", "month"]))  # fmt: skip
    months.to_parquet(tmp_path / "months.parquet")  # a year and its month: one time
    assert read_source(tmp_path / "months.parquet")["time"][13] == "2001-02"
    ided = _multiindex().assign(id=lambda f: f.index.get_level_values(0) + 10)
    ided.to_parquet(tmp_path / "ided.parquet")  # its own id column: the index is no id
    with pytest.raises(DataError, match=r"a time column .*found \['dim_0', 'dim_1', 'label', 'id', "
                                        "'__index_level_0__'"):  # fmt: skip
        read_source(tmp_path / "ided.parquet")
    from tests.attnlib.test_wide_tables import ucr_frame

    wide = ucr_frame(rows=4)  # pandas' 0, ..., N beside the index: a wide table's rows
    wide.index = pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1), ("b", 2)])
    wide.to_parquet(tmp_path / "w.parquet")
    wide.to_csv(tmp_path / "w.csv")
    wide.rename(columns={"0": "Label"}).to_parquet(tmp_path / "l.parquet")  # the class beside
    wide.rename(columns={"0": "target"}).to_csv(tmp_path / "t.csv")  # under other names
    for name in ("w.parquet", "w.csv", "l.parquet"):
        out = read_source(tmp_path / name)
        assert out["values"].list.len().to_list() == [5] * 4 and out["label"][1] == "2"
    with pytest.raises(DataError, match="column 'target' reads as a time step of a wide table"):
        read_source(tmp_path / "t.csv")  # as without the index
    dated = pd.DataFrame({"date": pd.date_range("2024-01-01", periods=3), "x": [1.0, 2, 3]},
                         index=pd.MultiIndex.from_arrays([["a"] * 3, [0, 1, 2]]))  # fmt: skip
    dated.to_csv(tmp_path / "d.csv")  # a time column: the unnamed levels are no values
    assert read_source(tmp_path / "d.csv").columns == ["time", "x"]
    (tmp_path / "s.csv").write_text(",,text,label\n1,2,hello world,pos\n3,4,bye now,neg\n")
    assert read_source(tmp_path / "s.csv")["label"].to_list() == ["pos", "neg"]  # sequences
    steps = tmp_path / "u.csv"  # pandas' name for an unnamed column that is not first: a step
    steps.write_text("label,Unnamed: 1,b,c\nx,1,2,3\ny,4,5,6\n")
    assert read_source(steps)["values"].to_list()[1] == [[4.0], [5.0], [6.0]]
    assert rows_header(",,a,,b") == ["Unnamed: 0", "Unnamed: 1", "a", "", "b"]


def rows_header(line):
    from attnlib.datasets.rows import unnamed_levels

    return unnamed_levels(line.split(","))


def test_reset_index_and_stack_levels_read_as_id_and_time(tmp_path, caplog):
    """reset_index() names unnamed levels level_0, level_1; a frame's stack() puts the time
    first: both read as their series, not as a wide table or a clock turned on its side."""
    import pandas as pd

    flat = _multiindex().reset_index()
    assert list(flat.columns[:2]) == ["level_0", "level_1"]
    flat.to_csv(tmp_path / "r.csv", index=False)
    flat.to_parquet(tmp_path / "r.parquet")
    for name in ("r.csv", "r.parquet"):
        _three_series(*read_and_describe(tmp_path / name))
    days = pd.DataFrame(np.arange(12.0).reshape(4, 3), columns=["A", "B", "C"],
                        index=pd.date_range("2020-01-01", periods=4))  # fmt: skip
    days.stack().to_frame("y").to_csv(tmp_path / "s.csv")  # (date, column), unnamed
    days.stack().to_frame("y").to_parquet(tmp_path / "s.parquet")
    for name in ("s.csv", "s.parquet"):
        out = read_source(tmp_path / name)
        assert out.columns == ["time", "y_A", "y_B", "y_C"] and out["y_B"].to_list() == [
            1.0, 4.0, 7.0, 10.0]  # fmt: skip
    wide = pd.DataFrame(np.arange(36.0).reshape(12, 3), index=_multiindex().index)
    wide["label"] = ["a"] * 4 + ["b"] * 8
    wide.to_csv(tmp_path / "g.csv")  # channels under pandas' 0, 1, 2: read as a wide table
    with caplog.at_level(logging.WARNING):
        assert read_source(tmp_path / "g.csv").height == 12
    assert "give ingest.id_column=Unnamed: 0 and ingest.time_column=Unnamed: 1" in caplog.text
    named = read_source(tmp_path / "g.csv", columns={"id": "Unnamed: 0", "time": "Unnamed: 1"})
    assert named["values"].to_list()[2][3] == [33.0, 34.0, 35.0] and named.height == 3


def test_dates_that_are_ids_are_not_taken_for_a_stacked_frames_time(tmp_path):
    """A panel of daily profiles (the id a date, the step an hour) stays one series a day;
    only a second level of names (a frame's columns) makes the dates the time."""
    import pandas as pd

    days = pd.date_range("2024-01-01", periods=3).strftime("%Y-%m-%d")
    profiles = pd.DataFrame({"load": np.arange(12.0), "label": ["wd"] * 8 + ["we"] * 4},
                            index=pd.MultiIndex.from_product([days, range(4)]))  # fmt: skip
    for save, name in ((profiles.to_csv, "p.csv"), (profiles.to_parquet, "p.parquet")):
        save(tmp_path / name)
        out = read_source(tmp_path / name)
        assert out["id"].to_list() == list(days) and out["values"].list.len().to_list() == [4] * 3


def test_an_unlabelled_test_file_beside_a_labelled_train_file_is_named(tmp_path):
    _multiindex().to_csv(tmp_path / "P_TRAIN.csv")
    _multiindex().drop(columns="label").to_csv(tmp_path / "P_TEST.csv")
    with pytest.raises(DataError, match=r"P_TEST.csv: no label column, where its train file "
                                        r"P_TRAIN.csv has one"):  # fmt: skip
        read_source(tmp_path / "P_TRAIN.csv", archive_split=True)
    _multiindex()[["dim_1", "dim_0", "label"]].to_csv(tmp_path / "P_TEST.csv")  # swapped
    swapped = read_source(tmp_path / "P_TRAIN.csv", archive_split=True)
    _multiindex().to_csv(tmp_path / "P_TEST.csv")  # the same columns: joined
    joined = read_source(tmp_path / "P_TRAIN.csv", archive_split=True)
    assert joined.height == 6 and swapped.equals(joined)  # channels matched by name
    assert joined["values"].to_list()[3][0] == [0.0, 1.0]  # the test file's first step
    _multiindex().rename(columns={"dim_1": "dim_2"}).to_csv(tmp_path / "P_TEST.csv")
    with pytest.raises(DataError, match=r"P_TEST.csv: its train file P_TRAIN.csv has channels "
                       r"dim_0, dim_1 \(value columns, matched by name\); this file's are "
                       r"dim_0, dim_2: missing 'dim_1'; not the train file's 'dim_2'"):  # fmt: skip
        read_source(tmp_path / "P_TRAIN.csv", archive_split=True)


def test_durations_are_times_in_their_order(tmp_path):
    """pandas' Timedelta text (a CSV) and Duration columns (Parquet) order a shuffled panel
    by the time they say, not by the file's order."""
    import pandas as pd

    rows = [(i, pd.Timedelta(minutes=30 * t), float(10 * i + t), "ab"[i % 2])
            for i in range(3) for t in (0, 1, 96, 480)]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["id", "elapsed", "x", "label"])
    frame = frame.sample(frac=1, random_state=0)
    frame.to_csv(tmp_path / "d.csv", index=False)  # 0 days 00:30:00, 10 days (before 2 as text)
    frame.to_parquet(tmp_path / "d.parquet")
    for name in ("d.csv", "d.parquet"):
        out = read_source(tmp_path / name, columns={"time": "elapsed"})
        assert out["values"].to_list()[out["id"].to_list().index("2")] == [
            [20.0], [21.0], [116.0], [500.0]]  # fmt: skip


def test_index_levels_that_are_a_tables_rows_or_a_month_stay_so(tmp_path, caplog):
    """Levels that cannot be series and steps (a label that changes within the first, a
    first level that never repeats) keep a wide table's reading; whole years and months
    are one monthly time; pandas' Unnamed: 0 is no value wherever it stands."""
    import pandas as pd

    rng = np.random.default_rng(0)
    train, test = (pd.DataFrame(rng.normal(size=(5, 4)), columns=["a1", "a2", "a3", "a4"])
                   for _ in range(2))  # fmt: skip
    train["label"], test["label"] = list("ababa"), list("babab")
    pd.concat({"train": train, "test": test}).to_parquet(tmp_path / "splits.parquet")
    pd.concat({"train": train, "test": test}).to_csv(tmp_path / "splits.csv")
    once = train.set_index(pd.MultiIndex.from_arrays([list("vwxyz"), [1] * 5]))
    once.to_parquet(tmp_path / "once.parquet")  # one row a first-level value
    dropped = "pandas' unnamed index of several levels dropped: the rows of a wide"
    with caplog.at_level(logging.WARNING):
        for name in ("splits.parquet", "splits.csv", "once.parquet"):
            caplog.clear()
            out = read_source(tmp_path / name)
            assert dropped in caplog.text, name
            if name == "once.parquet":
                assert out["values"].list.len().to_list() == [4] * 5
            else:
                assert out["label"].to_list()[:2] == ["a", "b"]
    sales = pd.Series(np.arange(24.0), index=pd.date_range("2018-01-01", periods=24, freq="MS"))
    months = sales.groupby([sales.index.year, sales.index.month]).sum().to_frame("sales")
    months.to_parquet(tmp_path / "ym.parquet")
    months.to_csv(tmp_path / "ym.csv")
    for name in ("ym.parquet", "ym.csv"):
        out = read_source(tmp_path / name)
        assert out.columns == ["time", "sales"] and out["time"][13] == "2019-02"
    pd.DataFrame({"date": ["2020-01-01", "2020-01-02", "2020-01-03"], "sales": [1.0, 2, 3]}
                 ).to_csv(tmp_path / "b0.csv")  # fmt: skip
    pd.read_csv(tmp_path / "b0.csv").set_index("date").to_csv(tmp_path / "b.csv")
    assert (tmp_path / "b.csv").read_text().startswith("date,Unnamed: 0,sales")
    assert read_source(tmp_path / "b.csv").columns == ["time", "sales"]


def test_a_frame_given_in_python_reads_as_its_file_does(tmp_path):
    """Model.predict's frames: durations as times, reset_index()'s levels as id and step."""
    import pandas as pd

    flat = pl.from_pandas(_multiindex().drop(columns="label").reset_index())
    with panel.for_classifier():
        out = panel.as_series(flat, "f")
        assert out["id"].to_list() == ["0", "1", "2"] and out["values"].list.len()[0] == 4
        spans = pl.from_pandas(pd.DataFrame({"id": ["a"] * 3, "time": pd.to_timedelta(
            ["2min", "0min", "1min"]), "x": [3.0, 1, 2]}))  # fmt: skip
        assert panel.as_series(spans, "f")["values"].to_list() == [[[1.0], [2.0], [3.0]]]


def test_reset_index_of_a_wide_table_keeps_its_rows(tmp_path, caplog):
    import pandas as pd

    from tests.attnlib.test_wide_tables import ucr_frame

    wide = ucr_frame(rows=4)
    wide.index = pd.MultiIndex.from_tuples([("a", 1), ("a", 2), ("b", 1), ("b", 2)])
    wide.reset_index().to_csv(tmp_path / "r.csv", index=False)  # level_0, level_1, 0, ..., 5
    with caplog.at_level(logging.WARNING):
        out = read_source(tmp_path / "r.csv")
    assert out["values"].list.len().to_list() == [5] * 4 and out["label"][1] == "2"
    assert "give ingest.id_column=level_0 and ingest.time_column=level_1" in caplog.text


def test_years_with_a_label_are_series_of_their_months(tmp_path):
    import pandas as pd

    index = pd.MultiIndex.from_product([[2000, 2001, 2002], range(1, 13)])
    years = pd.DataFrame({"rain": np.arange(36.0), "label": ["wet"] * 12 + ["dry"] * 24},
                         index=index)  # fmt: skip
    years.to_parquet(tmp_path / "y.parquet")
    out = read_source(tmp_path / "y.parquet")
    assert out["id"].to_list() == ["2000", "2001", "2002"] and out["label"][0] == "wet"


def test_one_bad_row_of_a_panel_is_named_not_read_as_a_wide_table(tmp_path):
    """A stray label or a repeated step is an error at its line, as without the index;
    ids in 1000-9999 beside steps 1-12 are no calendar."""
    import pandas as pd

    panel_ = pd.DataFrame({"x": np.arange(24.0), "y": 1.0, "z": 2.0, "label": "a"},
                          index=pd.MultiIndex.from_product([range(4), range(6)]))  # fmt: skip
    stray = panel_.copy()
    stray.iloc[2, 3] = "b"
    stray.to_parquet(tmp_path / "stray.parquet")
    with pytest.raises(DataError, match=r"row 3: label 'b' differs from 'a' at row 1"):
        read_source(tmp_path / "stray.parquet")
    pd.concat([panel_, panel_.iloc[[3]]]).to_parquet(tmp_path / "twice.parquet")
    with pytest.raises(DataError, match=r"row 25: time '3' repeats row 4 for id '0'"):
        read_source(tmp_path / "twice.parquet")
    visits = pd.DataFrame({"x": np.arange(25.0)}, index=pd.MultiIndex.from_product(
        [range(1001, 1006), range(1, 6)]))  # fmt: skip
    visits.to_parquet(tmp_path / "visits.parquet")  # patients 1001-1005, visits 1-5
    assert read_source(tmp_path / "visits.parquet").columns[:3] == ["time", "x_1001", "x_1002"]
    visits.assign(label=np.repeat(list("ababa"), 5)).to_parquet(tmp_path / "labelled.parquet")
    assert read_source(tmp_path / "labelled.parquet")["id"].to_list()[0] == "1001"


def test_a_pairs_channels_named_like_an_index_are_still_channels(tmp_path):
    (tmp_path / "X_TRAIN.csv").write_text("id,time,index,x,label\na,0,10,1,p\na,1,11,2,p\n")
    (tmp_path / "X_TEST.csv").write_text("id,time,x,index,label\nc,0,1,10,p\nc,1,2,11,p\n")
    out = read_source(tmp_path / "X_TRAIN.csv", archive_split=True)
    assert out["values"].to_list() == [[[10.0, 1.0], [11.0, 2.0]]] * 2  # by name


def test_a_stacked_pairs_test_file_has_its_train_files_names(tmp_path):
    """A stacked table's channels are the names in its kind column: a test file with other
    names is refused, not joined by place."""
    rows = "".join(f"{i},{t},{k},{i + t},{'ab'[i % 2]}\n" for i in range(2) for t in range(3)
                   for k in ("acc", "gyr"))  # fmt: skip
    (tmp_path / "S_TRAIN.csv").write_text("id,time,kind,value,label\n" + rows)
    (tmp_path / "S_TEST.csv").write_text("id,time,kind,value,label\n" + rows.replace("gyr", "mag"))
    with pytest.raises(DataError, match=r"S_TEST.csv: its train file S_TRAIN.csv has channels "
                       r"acc, gyr .*: missing 'gyr'; not the train file's 'mag'"):  # fmt: skip
        read_source(tmp_path / "S_TRAIN.csv", archive_split=True)


def test_a_forecasters_own_columns_are_never_taken_for_index_levels():
    frame = pl.DataFrame({"level_0": [1.0, 1, 2, 2], "level_1": [5.0, 6, 5, 7]})
    with panel.for_forecaster(("level_0", "level_1")):
        assert panel.as_series(frame, "f").equals(frame)
