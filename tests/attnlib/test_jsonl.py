"""JSON rows: JSON Lines (Hugging Face's ``to_json``, attnlib's own ``--out x.jsonl``) and a
JSON array of objects, read as typed tables; bad input names its line or row."""

from __future__ import annotations

import json
import re
import zipfile

import polars as pl
import pytest

from attnlib.datasets import read_and_describe, read_source
from attnlib.datasets.formats import header
from attnlib.errors import ConfigError, DataError


def lines(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_hugging_face_json_lines_read_as_a_table_of_texts(tmp_path):
    """``Dataset.to_json("train.json")``: one object per line, the class as its id."""
    path = lines(tmp_path / "train.json", [
        {"sentence": "a fine film", "label": 1, "idx": 0},
        {"sentence": "dull", "label": 0, "idx": 1},
    ])  # fmt: skip
    frame, how = read_and_describe(path, columns={"text": "sentence"})
    assert frame["text"].to_list() == ["a fine film", "dull"]
    assert frame["label"].to_list() == ["1", "0"]
    assert how.startswith(f"{path}: format auto -> jsonl (sequences in its 'text' column)")
    assert header(path) == ["sentence", "label", "idx"]


def test_a_json_array_of_objects_reads_the_same(tmp_path):
    path = tmp_path / "rows.json"
    path.write_text(json.dumps([{"text": "a b", "label": "x"}, {"text": "c", "label": "y"}]))
    frame = read_source(path)
    assert frame["tokens"].to_list() == [["a", "b"], ["c"]]
    assert frame["label"].to_list() == ["x", "y"]
    assert header(path) == ["text", "label"]


def test_series_and_long_tables_in_json_lines(tmp_path):
    series = lines(tmp_path / "s.jsonl", [
        {"id": "s1", "values": [[1, 2], [3, 4.5]], "label": "up"},
        {"id": "s2", "values": [[0, 1]], "label": "down"},
    ])  # fmt: skip
    frame = read_source(series)
    assert frame["values"].to_list() == [[[1.0, 2.0], [3.0, 4.5]], [[0.0, 1.0]]]
    long = lines(tmp_path / "l.ndjson", [{"date": f"2020-0{m}-01", "sales": m * 1.5}
                                         for m in range(1, 5)])  # fmt: skip
    frame, how = read_and_describe(long)
    assert "a long table, the time in column 'date'" in how
    assert frame["sales"].to_list() == [1.5, 3.0, 4.5, 6.0]


def test_attnlib_reads_back_the_json_lines_it_writes(tmp_path):
    from attnlib.files import write_table

    given = pl.DataFrame({"id": ["a", "b"], "tokens": [["D-major triad", "G"], ["E minor"]],
                          "label": ["x", "y"]})  # fmt: skip
    write_table(given, tmp_path / "out.jsonl")
    assert read_source(tmp_path / "out.jsonl").equals(given)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"text": "a"}\n\n{"text": "b",}\n',
         r"line 3: not a JSON object \(Expecting property name.*\); expected one JSON object "
         r"per line \(JSON Lines\), or a JSON array of objects$"),
        ('{"text": "a"}\n["b"]\n', r"line 2: a JSON array, not an object"),
        ('{\n  "text": "a"\n}\n{\n  "text": "b"\n}\n',
         r"line 1: not a JSON object .*\(a pretty-printed object spans lines\)$"),
        ('[{"text": "a"}, 3]', r"row 2: a JSON number, not an object"),
        ('[{"text": "a"},', r"line 1: not valid JSON \(Expecting value\)"),
        ('{"text": "a", "label": "x"}\n{"text": "b"}\n', r"line 2: missing label"),
        ('{"text": "a"}\n{"text": ""}\n', r"line 2: empty sequence"),
        ('{"text": "a", "x": 1}\n{"text": "b", "x": NaN}\n',
         r"line 2: NaN is not JSON \(write null for a missing value\)$"),
        ('{"text": "a", "v": [1, -Infinity]}\n', r"line 1: -Infinity is not JSON"),
        ('{"text": "a", "label": 1}\n{"text": "b", "label": true}\n',
         r"line 2: column 'label' holds true / false here and a number at line 1; a column "
         r"holds one kind of value \(numbers and text mix as text\)$"),
        ('{"text": "a b"}\n\n{"text": ["c", "d"]}\n',
         r"line 3: column 'text' holds a list here and text at line 1"),
        ('["a"]\n{"text": "b"}\n', r"line 1: a JSON array, not an object"),
    ],
)  # fmt: skip
def test_bad_json_rows_name_the_line_or_row(tmp_path, text, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}, {message}"):
        read_source(path)


def test_a_json_file_is_read_as_jsonl_only(tmp_path):
    path = lines(tmp_path / "x.jsonl", [{"text": "a"}])
    with pytest.raises(ConfigError, match=r"x\.jsonl: a JSON file; it is read with --format jsonl"):
        read_source(path, "csv")
    path.write_text("[]")
    with pytest.raises(DataError, match=r"x\.jsonl: no rows"):
        read_source(path)


def test_a_zip_of_one_json_file_reads_it(tmp_path):
    with zipfile.ZipFile(tmp_path / "set.zip", "w") as zf:
        zf.writestr("train.json", '{"text": "a b", "label": 1}\n{"text": "c", "label": 0}\n')
    assert read_source(tmp_path / "set.zip")["label"].to_list() == ["1", "0"]


def test_line_separators_inside_strings_read_back(tmp_path):
    """U+2028 and U+0085 may stand unescaped in a JSON string (polars writes them so)."""
    from attnlib.files import write_table

    given = pl.DataFrame({"id": ["a"], "text": ["x\u2028y\u0085z w"], "label": ["p"]})
    write_table(given, tmp_path / "o.jsonl")
    assert read_source(tmp_path / "o.jsonl")["text"].to_list() == ["x\u2028y\u0085z w"]


@pytest.mark.parametrize("orient", ["columns", "split", "index", "table"])
def test_pandas_other_layouts_say_how_to_write_rows(tmp_path, orient):
    import pandas as pd

    pd.DataFrame({"text": ["a", "b"], "label": [1, 0]}).to_json(tmp_path / "d.json",
                                                                 orient=orient)  # fmt: skip
    with pytest.raises(DataError, match=r"d\.json: one JSON object of pandas' to_json .*"
                                        r"to_json\(orient='records', lines=True\)$"):  # fmt: skip
        read_source(tmp_path / "d.json")


def test_stored_names_are_found_past_a_long_first_line(tmp_path):
    long = "word " * 20_000  # a first line over 64 KB
    path = lines(tmp_path / "d.jsonl", [{"sentence": long, "label": "a"}])
    assert header(path) == ["sentence", "label"]
    frame = read_source(path, columns={"text": "sentence"}, optional_columns=("text",))
    assert len(frame["tokens"][0]) == 20_000


def test_a_zip_of_a_json_lines_pair_keeps_its_split(tmp_path):
    with zipfile.ZipFile(tmp_path / "set.zip", "w") as zf:
        zf.writestr("X_TRAIN.jsonl", '{"text": "a", "label": 1}\n{"text": "b", "label": 0}\n')
        zf.writestr("X_TEST.jsonl", '{"text": "c", "label": 1}\n')
    frame = read_source(tmp_path / "set.zip", archive_split=True)
    assert frame["split"].to_list() == ["train", "train", "test"]


def test_a_column_left_unread_may_mix_kinds(tmp_path, caplog):
    """A clash matters where a layout reads the column (a named one too)."""
    import logging

    path = lines(tmp_path / "d.jsonl", [{"text": "a", "meta": [1], "flag": True},
                                        {"text": "b", "meta": "x", "flag": "n/a"}])  # fmt: skip
    with caplog.at_level(logging.WARNING):
        assert read_source(path)["tokens"].to_list() == [["a"], ["b"]]
    assert "['meta', 'flag'] not read" in caplog.text
    named = lines(tmp_path / "n.jsonl", [{"sentence": "a b"}, {"sentence": ["c"]}])
    with pytest.raises(DataError, match=r"n\.jsonl, line 2: column 'sentence' holds a list"):
        read_source(named, columns={"text": "sentence"})


def test_names_after_a_bom_and_blank_lines_and_nan_in_an_array(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_text('\ufeff\n\n{"sentence": "a", "label": 1}\n')
    assert header(path) == ["sentence", "label"]
    array = tmp_path / "a.json"
    array.write_text('[{"text": "a", "x": 1}, {"text": "b", "x": NaN}]')
    with pytest.raises(DataError, match=r"a\.json, row 2: NaN is not JSON \(write null"):
        read_source(array)


def test_quoted_constants_are_text_and_a_one_column_index_layout_is_named(tmp_path):
    import pandas as pd

    path = lines(tmp_path / "d.jsonl", [{"text": "NaN", "label": "-Infinity"}])
    assert read_source(path)["label"].to_list() == ["-Infinity"]
    pd.DataFrame({"text": ["a", "b"]}).to_json(tmp_path / "i.json", orient="index")
    with pytest.raises(DataError, match=r"i\.json: one JSON object of pandas' to_json"):
        read_source(tmp_path / "i.json")


@pytest.mark.filterwarnings("ignore:The default 'epoch' date format")  # as users' files are
def test_pandas_epoch_dates_a_wrapped_list_and_an_unread_clash(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=4, freq="MS"),
                          "sales": [1.0, 2.0, 3.0, 4.0]})  # fmt: skip
    frame.to_json(tmp_path / "ts.jsonl", orient="records", lines=True)  # epoch ms
    assert "1577836800000" in (tmp_path / "ts.jsonl").read_text()
    long = read_source(tmp_path / "ts.jsonl")
    assert [t[:10] for t in long["time"].to_list()[:2]] == ["2020-01-01", "2020-02-01"]
    (tmp_path / "w.json").write_text(json.dumps({"data": [{"text": "a"}, {"text": "b"}]},
                                                indent=2))  # fmt: skip
    with pytest.raises(DataError, match=r"w\.json: one JSON object whose 'data' holds the rows"):
        read_source(tmp_path / "w.json")
    one = tmp_path / "one.json"
    one.write_text(json.dumps({"text": "a b", "label": "x"}, indent=2))
    assert read_source(one)["tokens"].to_list() == [["a", "b"]]
    one.write_text('{\n  "text": "a b",\n  "x": NaN\n}\n')
    with pytest.raises(DataError, match=r"one\.json, row 1: NaN is not JSON"):
        read_source(one)
    clash = lines(tmp_path / "c.jsonl", [{"text": "a", "score": 1}, {"text": "b", "score": True}])
    with pytest.raises(DataError, match=r"column 'score' holds true / false .*; it is not read: "
                                        r"drop it$"):  # fmt: skip
        read_source(clash)
