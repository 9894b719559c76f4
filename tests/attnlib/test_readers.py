"""User-file readers: SeqLab CSV, UCR, long tables, numeric Parquet, format detection."""

import logging

import numpy as np
import polars as pl
import pytest

from attnlib.datasets import BUILTINS, detect_format, read_and_describe, read_source
from attnlib.errors import DataError


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


# -- seqlab_csv -----------------------------------------------------------------------------


def test_seqlab_csv_joins_features_and_splits_on_separator_rows(tmp_path):
    path = write(tmp_path / "s.csv", "pitch\tdur\nC4\tq\nE4\th\n>*\nG4\tq\n>*\n")
    frame = read_source(path)  # auto: the '>' rows say seqlab_csv
    assert frame["id"].to_list() == ["seq1", "seq2"]
    assert frame["tokens"].to_list() == [["C4|q", "E4|h"], ["G4|q"]]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a\tb\nx\ty\nz\n", r"s\.csv, line 3: 1 field\(s\), the header has 2"),
        ("a\tb\nx\ty\n>*\n>*\nz\tw\n", r"s\.csv, line 4: empty sequence"),
        ("a\tb\nx\t \n", r"s\.csv, line 2: empty feature value"),
    ],
)
def test_seqlab_csv_malformed_rows_name_the_line(tmp_path, text, message):
    path = write(tmp_path / "s.csv", text)
    with pytest.raises(DataError, match=message):
        read_source(path, "seqlab_csv")


# -- ucr ------------------------------------------------------------------------------------


def test_ucr_label_first_then_values(tmp_path):
    path = write(tmp_path / "u.tsv", "1.0\t0.5\t-0.25\t1\n2\t0.125\t0.375\tNaN\n")
    frame = read_source(path, "ucr")
    assert frame.columns == ["id", "values", "label"]
    assert frame["label"].to_list() == ["1", "2"]
    assert frame["values"].to_list() == [[[0.5], [-0.25], [1.0]], [[0.125], [0.375]]]  # NaN tail
    assert frame["values"].dtype == pl.List(pl.List(pl.Float32))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1,0.5,0.7\n2,0.1,abc\n", r"u\.csv, line 2: value 'abc' is not a number"),
        ("1,0.5,0.7\n2\n", r"u\.csv, line 2: a label and at least one value"),
    ],
)
def test_ucr_malformed_rows_name_the_line(tmp_path, text, message):
    path = write(tmp_path / "u.csv", text)
    with pytest.raises(DataError, match=message):
        read_source(path, "ucr")


# -- long -----------------------------------------------------------------------------------


def test_long_table_keeps_time_and_numeric_channels(tmp_path):
    path = write(tmp_path / "l.csv", "month,load,temp\n2020-01,1.5,3\n2020-02,2.5,4\n")
    frame = read_source(path)  # auto: a time column and no text
    assert frame.schema == {"time": pl.String, "load": pl.Float64, "temp": pl.Float64}
    assert frame["load"].to_list() == [1.5, 2.5]


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_pandas_saved_index_beside_a_long_tables_time_is_no_channel(tmp_path, suffix, caplog):
    import pandas as pd

    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=5).astype(str),
                          "load": np.arange(5.0)}, index=[5, 3, 9, 1, 0])  # fmt: skip
    # to_parquet: __index_level_0__, or the index's name (its metadata says it is the index)
    for name in (None, "row") if suffix == ".parquet" else (None,):
        path = tmp_path / f"l{name}{suffix}"
        frame.index.name = name
        frame.to_csv(path) if suffix == ".csv" else frame.to_parquet(path)  # the index too
        with caplog.at_level(logging.INFO):
            out = read_source(path)
        assert out.columns == ["time", "load"] and out["load"].to_list() == [0.0, 1, 2, 3, 4]
        assert "pandas' saved index, not a value" in caplog.text
        caplog.clear()
    path = tmp_path / "levels.csv"  # a named column is a value wherever it is
    path.write_text("level_0,date,level_1\n1,2020-01-01,2\n3,2020-01-02,4\n")
    assert read_source(path).columns == ["time", "level_0", "level_1"]


def test_long_table_with_a_quarter_column(tmp_path):
    path = write(tmp_path / "q.csv", "quarter,gdp,income\n1970-Q4,1.5,3\n1971-Q1,2.5,4\n")
    frame = read_source(path)
    assert frame.columns == ["time", "gdp", "income"] and frame["time"][0] == "1970-Q4"
    back = write(tmp_path / "b.csv", "quarter,gdp\n1971-Q1,1\n1970-Q4,2\n")
    with pytest.raises(DataError, match=r"b\.csv, line 3: time goes backwards"):
        read_source(back)


def test_a_date_column_is_the_time_before_an_hour_of_the_day(tmp_path):
    path = write(tmp_path / "h.csv", "hour,date,load\n0,2024-01-01 00:00,5\n1,2024-01-01 01:00,6\n")
    frame = read_source(path)
    assert frame["time"].to_list() == ["2024-01-01 00:00", "2024-01-01 01:00"]
    assert frame.columns == ["time", "hour", "load"]  # the hour is a value channel


@pytest.mark.parametrize("name", ["t", "step", "time_idx"])
def test_a_step_index_is_a_time_column(tmp_path, name):
    path = write(tmp_path / "s.csv", f"{name},value\n0,1.5\n1,2.5\n2,0.5\n")
    frame = read_source(path)
    assert frame.columns == ["time", "value"] and frame["time"].to_list() == ["0", "1", "2"]


def test_a_date_beats_a_step_index(tmp_path):
    path = write(tmp_path / "d.csv", "step,date,v\n0,2024-01-01,5\n1,2024-01-02,6\n")
    frame = read_source(path)
    assert frame["time"].to_list() == ["2024-01-01", "2024-01-02"] and "step" in frame.columns


def test_a_table_of_numbers_without_a_known_time_column_says_what_would_do(tmp_path):
    path = write(tmp_path / "n.csv", "when,gdp\n1970,1.5\n1971,2.5\n")
    with pytest.raises(
        DataError,
        match=r"n\.csv: needs a 'tokens' or 'text' column .*"
        r"forecasting a time column named one of .*quarter",
    ):
        read_source(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("date,v\n2020-01-01,1\n2020-01-02,x\n", r"l\.csv, line 3: column 'v': 'x' is not"),
        (
            "date,v\n2020-01-01,1\n2020-01-01,2\n",
            r"l\.csv, line 3: date '2020-01-01' repeats line 2 \(one row per time step; a table "
            r"of many series names each row's series in an id column \('id', or the one "
            r"ingest.id_column / --id-column names\)\)",
        ),
        ("date,v\n2020-01-01,1\n2020-01-02,\n", r"l\.csv, line 3: column 'v': empty cell$"),
        ("date,v\n2020-01-02,1\n2020-01-01,2\n", r"l\.csv, line 3: time goes backwards"),
        ("when,v\n1,2\n", r"l\.csv: a long table needs a time column"),
    ],
)
def test_long_malformed_rows_name_the_line(tmp_path, text, message):
    path = write(tmp_path / "l.csv", text)
    with pytest.raises(DataError, match=message):
        read_source(path, "long")


# -- parquet with numeric series --------------------------------------------------------------


def test_parquet_values_one_or_many_channels(tmp_path):
    path = tmp_path / "v.parquet"
    pl.DataFrame({"values": [[1.0, 2.0], [3.0]], "label": ["a", "b"]}).write_parquet(path)
    frame = read_source(path)
    assert frame["values"].to_list() == [[[1.0], [2.0]], [[3.0]]]
    pl.DataFrame({"values": [[[1.0, 2.0]], [[3.0]]]}).write_parquet(path)
    with pytest.raises(DataError, match=r"v\.parquet, row 2: 1 channels, row 1 has 2"):
        read_source(path)


@pytest.mark.parametrize("shape", [(3, 4), (3, 4, 2)])
def test_parquet_values_from_a_numpy_array_are_read_as_lists(tmp_path, shape):
    # a column built from a 2-D / 3-D array is a fixed-size Array, not a List
    x = np.random.default_rng(0).normal(size=shape)
    path = tmp_path / "a.parquet"
    pl.DataFrame({"values": x, "label": ["a", "b", "a"]}).write_parquet(path)
    assert isinstance(pl.read_parquet(path).schema["values"], pl.Array)
    values = np.asarray(read_source(path)["values"].to_list())
    np.testing.assert_allclose(values, x.reshape(3, 4, -1).astype(np.float32))


def test_parquet_tokens_from_a_numpy_array_are_read_as_lists(tmp_path):
    path = tmp_path / "t.parquet"
    pl.DataFrame({"tokens": np.array([["a", "b"], ["c", "a"]])}).write_parquet(path)
    assert read_source(path)["tokens"].to_list() == [["a", "b"], ["c", "a"]]


# -- auto -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        ("a.txt", "A B C\nB C\n", "seqlab_txt"),
        ("a.txt", "1 0.5 0.25 0.125\n", "ucr"),
        ("a.tsv", "2\t0.5\t1.5\n", "ucr"),
        ("a.csv", "text,label\nhi there,x\n", "csv"),
        ("a.tsv", "tokens\tlabel\na b\tx\n", "tsv"),
        ("a.csv", "f1\tf2\na\tb\n>\nc\td\n", "seqlab_csv"),
        ("a.csv", "date,value\n2020-01-01,3\n", "long"),
        ("Set_TRAIN", "1,5,3,2\n2,4,4,1\n", "ucr"),  # the 2015 archive: no extension
        ("a.dat", "1 0.5 0.25 0.125\n", "ucr"),
    ],
)
def test_auto_decides_from_extension_and_content(tmp_path, name, text, fmt):
    path = write(tmp_path / name, text)
    assert detect_format(path, text)[0] == fmt


def test_auto_logs_what_it_decided(tmp_path, caplog):
    path = write(tmp_path / "a.txt", "1 0.5 0.25\n2 0.1 0.2\n")
    with caplog.at_level(logging.INFO, logger="attnlib.datasets"):
        read_source(path)
    assert "format auto -> ucr" in caplog.text


def test_read_and_describe_says_how_it_read_the_file_once(tmp_path, monkeypatch):
    from attnlib.datasets import read_and_describe, rows

    path = write(tmp_path / "a.csv", "date,value\n2020-01-01,3\n")
    reads, read_decoded = [], rows.read_decoded
    monkeypatch.setattr(rows, "read_decoded", lambda p, e: reads.append(p) or read_decoded(p, e))
    frame, how = read_and_describe(path)
    assert frame.columns == ["time", "value"] and reads == [path]  # detected and read at once
    assert how == f"{path}: format auto -> long (a time column 'date' and no tokens / text)"
    assert read_and_describe(path, "long")[1] == f"{path} as long"
    pl.DataFrame({"text": ["a b"]}).write_parquet(tmp_path / "t.parquet")
    how = read_and_describe(tmp_path / "t.parquet")[1]
    assert (
        how == f"{tmp_path / 't.parquet'}: format auto -> parquet (sequences in its 'text' column)"
    )
    _, how = read_and_describe(tmp_path / "t.parquet", "parquet")
    assert how == f"{tmp_path / 't.parquet'} as parquet (sequences in its 'text' column)"
    _, how = read_and_describe("builtin:airline")
    assert how == f"built-in data set builtin:airline ({BUILTINS['airline'].size})"


def test_a_stray_word_above_numeric_rows_is_not_read_as_tokens(tmp_path):
    path = write(tmp_path / "gun.txt", "GunPoint\n1 -0.64 -0.65 -0.66\n2 -0.77 -0.78 -0.79\n")
    with pytest.raises(DataError, match=r"gun\.txt, line 1: 'GunPoint' is not a number, but the"):
        read_source(path)
    assert read_source(path, "seqlab_txt").height == 3  # said so: tokens it is
    plain = write(tmp_path / "seqs.txt", "C G Am F\nG D Em C\n")
    assert read_source(plain).height == 2


WORDS = "walk\t0.5\t0.25\t0.125\nrun\t1.5\t1.25\t1.0\nwalk\t0.4\t0.3\t0.2\n"


@pytest.mark.parametrize(
    ("name", "text", "second"),
    [
        ("a.tsv", WORDS, [1.5, 1.25, 1.0]),
        ("a.csv", WORDS.replace("\t", ","), [1.5, 1.25, 1.0]),
        ("a.txt", WORDS.replace("\t", "  "), [1.5, 1.25, 1.0]),  # the archive's .txt: spaces
        ("a.csv", "walk,5,3,2\nrun,4,4,1\nwalk,1,2,3\n", [4.0, 4.0, 1.0]),  # whole numbers
        ("Set_TRAIN", WORDS, [1.5, 1.25, 1.0]),  # no extension
    ],
)
def test_a_ucr_file_whose_classes_are_words_is_read_as_ucr(tmp_path, name, text, second):
    path = write(tmp_path / name, text)
    assert detect_format(path, text)[0] == "ucr"
    frame = read_source(path)
    assert frame["label"].to_list() == ["walk", "run", "walk"]
    assert frame["values"][1].to_list() == [[v] for v in second]


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        ("a.csv", "label,0.1,0.2,0.3\nwalk,1,2,3\nrun,4,5,6\n", "wide"),  # a header: no repeat
        ("a.txt", "walk 5 3 2\nrun 4 4 1\nwalk 1 2 3\n", "seqlab_txt"),  # whole: tokens
        ("a.csv", "2020-01-01,5,3,2\n2020-01-01,4,4,1\n", "wide"),  # a date is no class
        ("a.txt", "walk 0.5 0.2 0.1\nrun\nwalk 0.1 0.2 0.3\n", "seqlab_txt"),  # not every row
    ],
)
def test_rows_that_only_look_like_word_classes_are_not_ucr(tmp_path, name, text, fmt):
    path = write(tmp_path / name, text)
    assert detect_format(path, text)[0] == fmt


def test_word_classes_quoted_repeated_headers_and_titles(tmp_path):
    quoted = write(tmp_path / "q.csv", '"walk",0.5,0.25,0.1\n"run",1.5,1.25,1.0\n"walk",1,2,3\n')
    assert read_source(quoted)["label"].to_list() == ["walk", "run", "walk"]  # R's write.table
    for header in ("country,2019,2020,2021", "country,2000,2005,2010"):
        years = f"{header}\nFrance,1.2,1.3,1.4\nSpain,2.2,2.3,2.4\n"
        twice = write(tmp_path / "cat.csv", years + years)  # two files concatenated
        assert detect_format(twice, years + years)[0] != "ucr"
    counts = "country,2019,2020,2021\nFrance,12,13,14\nSpain,22,23,24\n"  # whole numbers
    joined = counts + counts.replace("2019,2020,2021", "2022,2023,2024")
    assert detect_format(write(tmp_path / "c.csv", joined), joined)[0] != "ucr"
    rows = "walk,0.5,0.25,0.1\nrun,1.5,1.25,1.0\nwalk,1,2,3\n"
    joined = rows + rows.replace("walk,0.5", "walk,0.6")
    assert detect_format(write(tmp_path / "j.csv", joined), joined)[0] == "ucr"  # no header
    repeated = "walk,0.5,0.25,0.1\nrun,1.5,1.25,1.0\nwalk,0.5,0.25,0.1\n"  # line 1 again
    assert detect_format(write(tmp_path / "r.csv", repeated), repeated)[0] != "ucr"
    text = "Gait\nwalk 0.1 0.2 0.3\nrun 0.4 0.5 0.6\nwalk 0.7 0.8 0.9\n"
    with pytest.raises(DataError, match=r"line 1: 'Gait' is not a number, but the lines after"):
        read_source(write(tmp_path / "title.txt", text))


# -- an archive's TRAIN / TEST pair ---------------------------------------------------------


def ucr_rows(labels) -> str:
    return "".join(f"{y}\t{0.1 * i:.1f}\t{0.2 * i:.1f}\t0.5\n" for i, y in enumerate(labels))


def test_a_train_file_with_its_test_file_beside_it_reads_as_the_archive_split(tmp_path):
    train = write(tmp_path / "Set_TRAIN.tsv", ucr_rows([1, 2, 1]))
    write(tmp_path / "Set_TEST.tsv", ucr_rows([2, 1]))
    assert "split" not in read_source(train).columns  # predicting reads the file given
    frame = read_source(train, archive_split=True)
    assert frame["split"].to_list() == ["train"] * 3 + ["test"] * 2
    assert frame["label"].to_list() == ["1", "2", "1", "2", "1"]
    assert frame["id"].n_unique() == 5  # both files number their lines from 1
    second = [step[0] for step in frame["values"][4].to_list()]  # the test file's 2nd row
    assert second == pytest.approx([0.1, 0.2, 0.5])


def test_an_archive_pair_without_extensions_reads_as_ucr_with_its_split(tmp_path):
    train = write(tmp_path / "Set_TRAIN", ucr_rows([1, 2, 1]).replace("\t", ","))
    write(tmp_path / "Set_TEST", ucr_rows([2, 1]).replace("\t", ","))
    frame = read_source(train, archive_split=True)
    assert frame["split"].to_list() == ["train"] * 3 + ["test"] * 2
    with pytest.raises(DataError, match="cannot tell the format from the extension"):
        read_source(write(tmp_path / "notes", "a b c\n"))


def test_the_pair_takes_the_train_files_format_and_lower_case_names(tmp_path):
    train = write(tmp_path / "qs_train.csv", "text,label\nwho is it,HUM\nhow far,NUM\n")
    write(tmp_path / "qs_test.csv", "text,label\nwhere is it,LOC\n")
    frame = read_source(train, archive_split=True)
    assert frame.filter(pl.col("split") == "test")["tokens"].to_list() == [["where", "is", "it"]]


def test_a_file_without_a_test_file_beside_it_is_read_alone(tmp_path):
    (tmp_path / "other").mkdir()
    write(tmp_path / "other" / "Set_TEST.tsv", ucr_rows([1]))  # another folder: not its pair
    frame = read_source(write(tmp_path / "Set_TRAIN.tsv", ucr_rows([1, 2])), archive_split=True)
    assert "split" not in frame.columns and frame.height == 2
    test = read_source(tmp_path / "other" / "Set_TEST.tsv", archive_split=True)
    assert "split" not in test.columns


@pytest.mark.parametrize(
    ("train", "test", "message"),
    [  # a split column of its own, a test file without labels or unlike the train file,
       # a bad test row
        ("text,label,split\na b,X,train\n", "text,label\nc,Y\n", r"q_TRAIN\.csv: has a 'split' "
         r"column, and the pair q_TRAIN\.csv / q_TEST\.csv is a split already"),
        ("text,label\na b,X\n", "text\nc d\n", r"q_TEST\.csv: no label column, where its "
         r"train file q_TRAIN\.csv has one"),
        ("text,label\na b,X\n", "tokens,label\nc d,Y\n", r"q_TEST\.csv: columns .* differ "
         r"from its train file's"),
        ("text,label\na b,X\n", "text,label\nc,Y\n,Z\n", r"q_TEST\.csv, line 3"),
    ],
)  # fmt: skip
def test_a_pair_that_does_not_fit_together_names_the_file(tmp_path, train, test, message):
    write(tmp_path / "q_TEST.csv", test)
    with pytest.raises(DataError, match=message):
        read_source(write(tmp_path / "q_TRAIN.csv", train), archive_split=True)


# -- .ts (the UEA / UCR archives' format) ---------------------------------------------------

TS_HEADER = "#a comment\n@problemName Toy\n@univariate false\n@dimensions 2\n"


def test_ts_reads_channels_labels_and_drops_end_padding(tmp_path):
    path = write(tmp_path / "toy.ts", TS_HEADER + "%# another comment\n"
                 "@classLabel\ttrue up down\n@data\n"
                 "1.0,2.0,3.0:4.0,5.0,6.0:up\n\n0.5,?,?:1.5,?,?:down\n")  # fmt: skip
    frame, how = read_and_describe(path)  # auto: the extension
    assert how.endswith("format auto -> ts (the .ts extension: the UEA / UCR archives' header "
                        "and @data lines)")  # fmt: skip
    assert frame["label"].to_list() == ["up", "down"]
    assert frame["values"].to_list() == [[[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]], [[0.5, 1.5]]]
    unlabelled = write(tmp_path / "u.ts", "@classLabel false\n@data\n1,2,3\n")
    assert "label" not in read_source(unlabelled).columns


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "@classLabel true up down\n@data\n1,2:3,4:left\n",
            r"line 7: values, then ':' and "
            r"one of @classLabel's \['down', 'up'\] expected; got '1,2:3,4:left'",
        ),
        ("@classLabel true\n@data\n1,2:3,4:\n", r"line 7: values, then ':' and a label"),
        ("@classLabel true\n@data\n1,2,3\n", r"line 7: values, then ':' and a label"),
        ("@classLabel true up\n@data\n?,?:3,4:up\n", r"line 7: channel 1: no values"),
        ("@dimensions two\n", r"line 5: @dimensions must be a positive whole number"),
        ("@targetLabel true\n@data\n", r"line 5: @targetLabel \(regression targets\)"),
        ("@classLabel true up\n@data\n1,2:3,4:up\n1,2:up\n", r"line 8: 1 channel\(s\)"),
        ("@classLabel true up\n@data\n1,2:3,x:up\n", r"line 7: channel 2: value 'x'"),
        ("@classLabel true up\n@data\n1,2:3,4,5:up\n", r"line 7: the channels have different"),
        ("@timeStamps true\n@data\n", r"line 5: time-stamped values are not read"),
        ("@classLabel true up\n", r"toy\.ts: no @data line"),
        ("1,2:3,4:up\n", r"line 5: a header line"),
    ],
)
def test_ts_problems_name_the_line(tmp_path, body, message):
    path = write(tmp_path / "toy.ts", TS_HEADER + body)
    with pytest.raises(DataError, match=message):
        read_source(path)


def test_the_cli_names_every_format():
    from attnlib.cli_input import FORMATS_HELP
    from attnlib.datasets import FORMATS

    assert FORMATS_HELP.split(", ") == ["auto", *FORMATS]


def test_a_too_long_ts_series_names_its_own_line(tmp_path):
    path = write(tmp_path / "toy.ts", TS_HEADER + "@classLabel true a\n@data\n"
                 "1,2:3,4:a\n1,2,3:4,5,6:a\n")  # fmt: skip
    with pytest.raises(DataError, match=r"toy\.ts, line 8: sequence 'line8' has 3 time steps"):
        read_source(path, max_length=2)


def test_the_pair_is_found_in_any_case_and_must_agree_on_channels(tmp_path):
    one = "@classLabel true a\n@data\n1,2:a\n"
    write(tmp_path / "m_Test.ts", one)
    frame = read_source(write(tmp_path / "m_Train.ts", one), archive_split=True)
    assert frame["split"].to_list() == ["train", "test"]
    write(tmp_path / "w_TEST.ts", one)
    two = "@classLabel true a\n@data\n1,2:3,4:a\n"
    with pytest.raises(DataError, match=r"w_TEST\.ts, line 1: 1 channel\(s\); its train file"):
        read_source(write(tmp_path / "w_TRAIN.ts", two), archive_split=True)


def test_a_long_table_or_a_test_file_is_read_alone_with_a_warning(tmp_path, caplog):
    table = "date,y\n2020-01-01,1\n2020-01-02,2\n2020-01-03,3\n"
    write(tmp_path / "s_TEST.csv", table)
    with caplog.at_level(logging.WARNING):
        frame = read_source(write(tmp_path / "s_TRAIN.csv", table), archive_split=True)
    assert frame.height == 3 and "s_TEST.csv beside it is not read" in caplog.text
    write(tmp_path / "u_TRAIN.tsv", ucr_rows([1, 2]))
    with caplog.at_level(logging.WARNING):
        frame = read_source(write(tmp_path / "u_TEST.tsv", ucr_rows([2])), archive_split=True)
    assert frame.height == 1 and "give u_TRAIN.tsv instead" in caplog.text


@pytest.mark.parametrize(
    "name, fmt, text, message",
    [
        ("a.csv", "auto", "text\tlabel\nhi there\tpos\n", r"'text\\tlabel', split by tabs, not "
         "commas: read it as TSV"),
        ("a.tsv", "auto", "text;label\nhi there;pos\n", "split by semicolons, not tabs: read it "
         "as CSV"),
        ("a.tsv", "auto", "text,label\nhi,pos\n", "split by commas, not tabs: read it as CSV"),
        ("a.csv", "auto", "date\tv\n2020-01-01\t1\n", "tabs, not commas: read it as a long "
         "table \\(--format long\\)"),
        ("a.tsv", "auto", "date,v\n2020-01-01,1\n", "commas, not tabs: read it as a long"),
        ("a.csv", "auto", "date\ttext\n1\thi there\n", "tabs, not commas: read it as TSV"),
    ],
)  # fmt: skip
def test_a_file_split_by_another_character_says_so(tmp_path, name, fmt, text, message):
    """Read with the wrong separator, a table is one column named after the whole header:
    the error says which separator the header has, not that a column is missing."""
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(DataError, match=f"{name}, line 1: the header is one column, .*{message}"):
        read_source(path, fmt)
    if "long" in message:  # the advice works
        assert read_source(path, "long").columns == ["time", "v"]
    elif "as TSV" in message:
        assert read_source(path, "tsv")["tokens"].to_list() == [["hi", "there"]]


def test_known_column_names_are_read_in_any_case(tmp_path):
    path = write(tmp_path / "t.csv", "ID,Text,Label\nq1,hi there,x\nq2,bye now,y\n")
    frame = read_source(path)
    assert frame["id"].to_list() == ["q1", "q2"]
    assert frame["label"].to_list() == ["x", "y"]
    assert frame["tokens"].to_list() == [["hi", "there"], ["bye", "now"]]
    both = write(tmp_path / "b.csv", "text,label,Label\nhi,x,y\n")
    assert read_source(both)["label"].to_list() == ["x"]  # the exact name wins


def test_a_long_tables_channel_names_are_kept_as_written(tmp_path):
    path = write(tmp_path / "l.csv", "date,Values,Label\n2020-01-01,1,2\n2020-01-02,3,4\n")
    assert read_source(path).columns == ["time", "Values", "Label"]
    frame = {"date": ["2020-01-01", "2020-01-02"], "Tokens": [1.0, 2.0], "cost": [3.0, 4.0]}
    pl.DataFrame(frame).write_parquet(tmp_path / "l.parquet")
    assert read_source(tmp_path / "l.parquet").columns == ["time", "Tokens", "cost"]


def test_a_variant_of_a_data_column_beside_the_exact_one_is_left_alone(tmp_path):
    path = write(tmp_path / "t.csv", "text,Tokens,label\nhello there world,3,x\n")
    assert read_source(path)["tokens"].to_list() == [["hello", "there", "world"]]
    frame = {"values": [[1.0, 2.0, 3.0]], "label": ["x"], "Text": ["a caption"]}
    pl.DataFrame(frame).write_parquet(tmp_path / "v.parquet")
    assert read_source(tmp_path / "v.parquet")["values"][0].to_list() == [[1.0], [2.0], [3.0]]


@pytest.mark.parametrize(
    ("name", "text", "fmt"),
    [
        ("a.txt", "0\t1\t2\t3\n4\t5\t6\t7\n", "seqlab_txt"),  # whole numbers: tokens
        ("s.csv", "1\t2\t3\nC\tq\tx\n>*\nD\th\ty\n>*\n", "seqlab_csv"),  # numeric header
    ],
)
def test_numbers_in_seqlab_files_stay_seqlab(tmp_path, name, text, fmt):
    path = write(tmp_path / name, text)
    assert detect_format(path, text)[0] == fmt


def test_values_in_channels_by_time_layout_are_pointed_out(tmp_path, caplog):
    # aeon / sktime hold multivariate series as (cases, channels, time)
    x = np.random.default_rng(0).normal(size=(3, 2, 9))
    path = tmp_path / "c.parquet"
    pl.DataFrame({"values": x}).write_parquet(path)
    with caplog.at_level(logging.WARNING):
        frame = read_source(path)
    assert frame["values"].list.len().to_list() == [2, 2, 2]  # read as told: time x channels
    assert "fewer time steps than channels (9)" in caplog.text
    assert "np.swapaxes(X, 1, 2)" in caplog.text
    ragged = [x[0].tolist(), x[1, :, :5].tolist()]  # two channels, 9 then 5 steps
    pl.DataFrame({"values": ragged}).write_parquet(path)
    with pytest.raises(DataError, match=r"row 2: 5 channels, row 1 has 9; if these are .*"):
        read_source(path)


def test_an_empty_parquet_values_table_is_an_error_not_a_crash(tmp_path):
    frame = pl.DataFrame({"values": [[1.0, 2.0]], "label": ["a"]}).head(0)
    frame.write_parquet(tmp_path / "e.parquet")
    with pytest.raises(DataError, match=r"e\.parquet: no rows"):
        read_source(tmp_path / "e.parquet")


@pytest.mark.parametrize(
    ("table", "why"),
    [
        ({"values": [[1.0, 2.0]], "label": ["a"]}, "series in its 'values' column"),
        ({"date": ["2020-01-01", "2020-01-02"], "v": [1.0, 2.0]},
         "a long table, the time in column 'date'"),
        ({"label": ["a"], "t0": [1.0], "t1": [2.0], "t2": [3.0]},
         "a wide table: numeric columns, one per time step, and no tokens / values / time"),
    ],
)  # fmt: skip
def test_a_parquet_files_read_line_says_which_layout_its_columns_decided(tmp_path, table, why):
    from attnlib.datasets import read_and_describe

    pl.DataFrame(table).write_parquet(tmp_path / "p.parquet")
    assert read_and_describe(tmp_path / "p.parquet")[1].endswith(f"-> parquet ({why})")


def test_binary_formats_that_are_not_read_are_named(tmp_path):
    """np.save, np.savez, pickles and Feather files say what they are and how to save the
    data instead (a pickle is never loaded: that would run its code)."""
    import pandas as pd

    np.save(tmp_path / "X.npy", np.zeros((3, 4, 5)))
    np.savez(tmp_path / "d.npz", X=np.zeros(3), y=np.zeros(3))
    pd.DataFrame({"a": [1.0]}).to_pickle(tmp_path / "f.pkl")
    pd.DataFrame({"a": [1.0]}).to_feather(tmp_path / "f.feather")
    import warnings

    import pyarrow as pa
    import pyarrow.feather as feather

    with warnings.catch_warnings():  # pyarrow deprecates writing version 1; users have them
        warnings.simplefilter("ignore", DeprecationWarning)
        feather.write_feather(pa.table({"a": [1.0]}), tmp_path / "v1.feather", version=1)
    with pa.ipc.new_stream(tmp_path / "s.arrows", pa.schema([("a", pa.float64())])) as out:
        out.write_table(pa.table({"a": [1.0]}))
    (tmp_path / "x.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))  # HDF5's signature
    for name, what in (("X.npy", "a NumPy array"), ("d.npz", "NumPy arrays"), ("x.h5", "an HDF5"),
                       ("f.pkl", "a Python pickle"), ("f.feather", "an Arrow / Feather"),
                       ("v1.feather", "a Feather"), ("s.arrows", "an Arrow stream")):  # fmt: skip
        with pytest.raises(DataError, match=f"{name}: {what}.*save it as Parquet"):
            read_source(tmp_path / name)


def test_a_tables_ids_are_kept_as_written(tmp_path):
    """Predictions carry a table of sequences' ids back as the file has them (1.0 stays)."""
    path = write(tmp_path / "t.csv", "id,text,label\n1.0,a b,x\n1.1,c d,y\n")
    assert read_source(path)["id"].to_list() == ["1.0", "1.1"]
    # numbers in JSON: 3 is written 3, though the column is float beside 2.5
    path = write(tmp_path / "t.jsonl", '{"id": 2.5, "values": [1, 2], "label": "a"}\n'
                                       '{"id": 3, "values": [1, 3], "label": "b"}\n')  # fmt: skip
    assert read_source(path)["id"].to_list() == ["2.5", "3"]


def test_a_column_named_level_1_in_a_table_of_sequences_is_named_unread(tmp_path, caplog):
    path = write(tmp_path / "l.csv", "id,text,level_1\n1,a b,easy\n2,c d,hard\n")
    with caplog.at_level(logging.WARNING):
        read_source(path)
    assert "column(s) ['level_1'] not read" in caplog.text
