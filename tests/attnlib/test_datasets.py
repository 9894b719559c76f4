"""Readers for user files, the built-in registry, and the bach_chorales data set."""

import polars as pl
import pytest

from attnlib.datasets import BUILTINS, load_builtin, read_source
from attnlib.datasets.chorales import (
    _pool_context,
    drop_duplicate_sequences,
    load_bach_chorales,
)
from attnlib.errors import ConfigError, DataError


def write(path, content: bytes | str):
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


# -- seqlab_txt -------------------------------------------------------------------------


def test_txt_one_sequence_per_line(tmp_path):
    path = write(tmp_path / "seqs.txt", "a b  c\nd\te\r\nf\n")
    frame = read_source(path)
    assert frame.schema == {"id": pl.String, "tokens": pl.List(pl.String)}
    assert frame["id"].to_list() == ["line1", "line2", "line3"]
    assert frame["tokens"].to_list() == [["a", "b", "c"], ["d", "e"], ["f"]]


def test_txt_limit_keeps_the_first_sequences(tmp_path):
    path = write(tmp_path / "seqs.txt", "a b\nc d\ne f\n")
    assert read_source(path, limit=2)["id"].to_list() == ["line1", "line2"]


def test_txt_blank_line_is_an_empty_sequence(tmp_path):
    path = write(tmp_path / "seqs.txt", "a b\n   \nc\n")
    with pytest.raises(DataError, match=r"seqs\.txt, line 2: empty sequence"):
        read_source(path)


def test_txt_bad_utf8_names_the_line(tmp_path):
    path = write(tmp_path / "seqs.txt", b"a b\nc d\ne \xff f\n")
    with pytest.raises(DataError, match=r"seqs\.txt, line 3: not valid UTF-8"):
        read_source(path)


@pytest.mark.parametrize("content", [b"", b"\n \n"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path / "seqs.txt", content)
    with pytest.raises(DataError, match=r"seqs\.txt: file is empty"):
        read_source(path)


def test_missing_file_or_directory(tmp_path):
    with pytest.raises(DataError, match=r"nope\.csv: file not found"):
        read_source(tmp_path / "nope.csv")
    (tmp_path / "dir.txt").mkdir()  # a folder reads as one text per file: it has none
    with pytest.raises(DataError, match=r"dir\.txt: no files to read"):
        read_source(tmp_path / "dir.txt")


def test_unknown_extension_and_format(tmp_path):
    path = write(tmp_path / "seqs.xml", "<seqs/>")
    with pytest.raises(DataError, match=r"seqs\.xml: cannot tell the format.*\.jsonl.*\.parquet"):
        read_source(path)
    with pytest.raises(ConfigError, match="unknown format 'xml'"):
        read_source(path, fmt="xml")
    # An explicit format overrides the extension.
    write(tmp_path / "seqs.dat", "x y\n")
    assert read_source(tmp_path / "seqs.dat", fmt="seqlab_txt")["tokens"].to_list() == [["x", "y"]]


# -- csv / tsv ----------------------------------------------------------------------------


def test_csv_text_id_and_label(tmp_path):
    path = write(tmp_path / "d.csv", "\ufeffid,text,label\n007,a b c,pos\n8, d  e ,neg\n")
    frame = read_source(path)
    assert frame.schema == {"id": pl.String, "tokens": pl.List(pl.String), "text": pl.String,
                            "label": pl.String}  # fmt: skip
    assert frame.to_dicts() == [  # the text is kept for the encode stage's tokeniser
        {"id": "007", "tokens": ["a", "b", "c"], "text": "a b c", "label": "pos"},  # id: a string
        {"id": "8", "tokens": ["d", "e"], "text": " d  e ", "label": "neg"},
    ]


def test_tsv_tokens_column_without_id(tmp_path):
    path = write(tmp_path / "d.tsv", "tokens\textra\nx y\t1\nz\t2\n")
    frame = read_source(path)
    assert frame.columns == ["id", "tokens"]
    assert frame["id"].to_list() == ["row1", "row2"]
    assert frame["tokens"].to_list() == [["x", "y"], ["z"]]


def test_csv_empty_sequence_names_the_line(tmp_path):
    path = write(tmp_path / "d.csv", "id,text\na,x y\nb,\nc,z\n")
    with pytest.raises(DataError, match=r"d\.csv, line 3: empty sequence"):
        read_source(path)


def test_csv_missing_column(tmp_path):
    path = write(tmp_path / "d.csv", "id,words\na,x y\n")
    with pytest.raises(DataError, match=r"d\.csv: needs a 'tokens' or 'text' column.*words"):
        read_source(path)


def test_csv_duplicate_id_and_missing_label(tmp_path):
    path = write(tmp_path / "d.csv", "id,text\na,x\nb,y\na,z\n")
    with pytest.raises(DataError, match=r"d\.csv, line 4: id 'a' already used at line 2"):
        read_source(path)
    path = write(tmp_path / "e.csv", "text,label\nx,1\ny,\n")
    with pytest.raises(DataError, match=r"e\.csv, line 3: missing label"):
        read_source(path)


def test_csv_header_only_and_bad_utf8(tmp_path):
    with pytest.raises(DataError, match=r"h\.csv: no rows"):
        read_source(write(tmp_path / "h.csv", "id,text\n"))
    with pytest.raises(DataError, match=r"u\.csv, line 2: not valid UTF-8"):
        read_source(write(tmp_path / "u.csv", b"id,text\na,\xc3\x28\n"))


# -- parquet ------------------------------------------------------------------------------


def test_parquet_list_tokens(tmp_path):
    path = tmp_path / "d.parquet"
    pl.DataFrame({"id": [1, 2], "tokens": [["a", "b"], ["c"]], "label": ["x", "y"]}).write_parquet(
        path
    )
    frame = read_source(path)
    assert frame["id"].to_list() == ["1", "2"]
    assert frame["tokens"].to_list() == [["a", "b"], ["c"]]
    assert frame["label"].to_list() == ["x", "y"]


def test_parquet_bad_rows_name_the_row(tmp_path):
    path = tmp_path / "d.parquet"
    pl.DataFrame({"tokens": [["a"], [], ["b"]]}).write_parquet(path)
    with pytest.raises(DataError, match=r"d\.parquet, row 2: empty sequence"):
        read_source(path)
    pl.DataFrame({"tokens": [["a"], ["b"], ["c", None]]}).write_parquet(path)
    with pytest.raises(DataError, match=r"d\.parquet, row 3: missing or empty token"):
        read_source(path)


def test_not_a_parquet_file(tmp_path):
    path = write(tmp_path / "d.parquet", "id,text\n")
    with pytest.raises(DataError, match=r"d\.parquet: not a readable Parquet file"):
        read_source(path)


# -- built-ins ----------------------------------------------------------------------------


def test_unknown_builtin_lists_the_known_ones():
    assert BUILTINS["bach_chorales"].task == "next_state"
    with pytest.raises(DataError, match="unknown built-in data set 'nope'.*bach_chorales"):
        read_source("builtin:nope")
    with pytest.raises(DataError, match="bach_chorales"):
        load_builtin("nope")
    with pytest.raises(ConfigError, match="limit"):
        load_builtin("bach_chorales", limit=0)


def test_drop_duplicate_sequences_keeps_the_first():
    frame = pl.DataFrame({"id": ["a", "b", "c", "d"], "tokens": [["x"], ["y"], ["x"], ["x", "y"]]})
    kept, dropped = drop_duplicate_sequences(frame)
    assert kept["id"].to_list() == ["a", "b", "d"]
    assert dropped == ["c"]


def test_bach_chorales_small():
    frame = read_source("builtin:bach_chorales", limit=3, workers=2)
    assert frame.schema == {"id": pl.String, "tokens": pl.List(pl.String)}
    assert frame["id"].to_list() == ["bwv269", "bwv347", "bwv153.1"]  # Riemenschneider 1-3
    lengths = frame["tokens"].list.len().to_list()
    assert all(n > 20 for n in lengths)
    assert frame["tokens"][0][0] == "G-major triad"
    # Parallel parsing keeps the order and the result of parsing in this process.
    assert load_bach_chorales(limit=3, workers=1).equals(frame)
    # A bare built-in name works as a source too.
    assert read_source("bach_chorales", limit=1, workers=1).equals(frame.head(1))


def test_bach_chorales_spawns_workers_when_threads_are_running():
    # Forking a threaded process can deadlock, so the loader must switch to spawn.
    import threading

    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, daemon=True)
    thread.start()
    try:
        assert _pool_context().get_start_method() == "spawn"
        frame = load_bach_chorales(limit=2, workers=2)
    finally:
        stop.set()
        thread.join()
    assert frame["id"].to_list() == ["bwv269", "bwv347"]
