"""Output files by extension, through links, refused in one line; stdin; token separators."""

from __future__ import annotations

import io
import json
import os

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from attnlib.datasets import read_source
from attnlib.errors import DataError
from attnlib.files import input_path, output_path, write_table

CHORDS = [["D-major triad", "G-major triad", "A-major triad"], ["E-minor triad", "C, odd"]]
FRAME = pl.DataFrame(
    {"id": ["a", "b"], "tokens": CHORDS, "p": [[0.5, 0.25, 0.25], [1.0, 0.0]]},
    schema={"id": pl.String, "tokens": pl.List(pl.String), "p": pl.List(pl.Float64)},
)


def test_a_symbolic_link_is_kept_and_its_target_written(tmp_path):
    target = tmp_path / "real" / "preds.parquet"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.parquet"
    link.symlink_to(target)
    assert write_table(FRAME, link) == target
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert_frame_equal(pl.read_parquet(target), FRAME)


@pytest.mark.parametrize("ext", [".csv", ".jsonl", ".parquet"])
def test_list_columns_round_trip_in_every_format(tmp_path, ext):
    out = tmp_path / f"p{ext}"
    write_table(FRAME, out)
    if ext == ".csv":
        back = pl.read_csv(out).with_columns(
            pl.col("tokens").str.json_decode(pl.List(pl.String)),
            pl.col("p").str.json_decode(pl.List(pl.Float64)),
        )
        assert json.loads(pl.read_csv(out)["tokens"][0]) == CHORDS[0]
    elif ext == ".jsonl":
        back = pl.read_ndjson(out, schema=FRAME.schema)
    else:
        back = pl.read_parquet(out)
    assert_frame_equal(back, FRAME)


def test_a_csv_written_by_us_reads_back_as_the_same_tokens(tmp_path):
    out = tmp_path / "seqs.csv"
    write_table(FRAME.select("id", "tokens"), out)
    assert read_source(out)["tokens"].to_list() == CHORDS


@pytest.mark.parametrize(
    "name, message",
    [
        ("p.json", "unknown output format '.json'"),
        ("p.txt", "unknown output format '.txt'"),
        ("adir.parquet", "is a directory"),
        ("ro/p.parquet", "permission denied"),
    ],
)
def test_bad_outputs_are_refused_before_anything_is_written(tmp_path, name, message):
    (tmp_path / "adir.parquet").mkdir()
    (tmp_path / "ro").mkdir(mode=0o500)
    if os.geteuid() == 0 and name.startswith("ro/"):
        pytest.skip("root may write anywhere")
    with pytest.raises(DataError, match=message):
        write_table(FRAME, tmp_path / name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir.parquet", "ro"]


def test_a_device_behind_a_link_is_not_replaced(tmp_path):
    link = tmp_path / "null.csv"
    link.symlink_to("/dev/null")
    with pytest.raises(DataError, match="not a regular file"):
        output_path(link)
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


def test_tokens_with_spaces_round_trip_through_the_separator(tmp_path):
    txt = tmp_path / "chords.txt"
    txt.write_text("\n".join("|".join(seq) for seq in CHORDS) + "\n")
    assert read_source(txt, sep="|")["tokens"].to_list() == CHORDS
    assert read_source(txt)["tokens"][0].to_list()[:2] == ["D-major", "triad|G-major"]
    csv = tmp_path / "chords.csv"
    pl.DataFrame({"tokens": ["|".join(s) for s in CHORDS]}).write_csv(csv)
    assert read_source(csv, sep="|")["tokens"].to_list() == CHORDS


def test_dash_reads_standard_input(monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(b"a b c\nc d\n"))
    monkeypatch.setattr("sys.stdin", stdin)
    with input_path("-") as path:
        assert read_source(path)["tokens"].to_list() == [["a", "b", "c"], ["c", "d"]]
    assert not os.path.exists(path)  # the spooled copy is gone


def test_a_ts_file_on_standard_input_is_read_as_ts(monkeypatch):
    ts = b"# a comment, with a comma\n@classLabel true a b\n@data\n1,2,3:a\n"
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(ts)))
    with input_path("-") as path:
        frame = read_source(path)
    assert frame["values"].to_list() == [[[1.0], [2.0], [3.0]]] and frame["label"][0] == "a"


def test_text_whose_lines_start_with_at_is_not_taken_for_ts(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"@user great day\n@bob hi\n")))
    with input_path("-") as path:
        assert read_source(path)["tokens"].to_list() == [["@user", "great", "day"], ["@bob", "hi"]]


def test_empty_standard_input_is_one_error(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"")))
    with pytest.raises(DataError, match="standard input"), input_path("-"):
        pass
