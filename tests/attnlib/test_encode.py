import polars as pl
import pytest

from attnlib.encode import build_label_map, encode_frame, to_sequence_data
from attnlib.errors import DataError
from attnlib.vocab import UNK_ID, Vocabulary


def test_encode_tokens_and_labels():
    f = pl.DataFrame(
        {"id": ["a", "b"], "tokens": [["x", "y", "z"], ["y", "new"]], "label": ["p", "q"]}
    )
    vocab = Vocabulary.build([["x", "y", "z"]])
    out = encode_frame(f, vocab, build_label_map(f["label"]))
    assert out["ids"].to_list()[1] == [vocab.stoi["y"], UNK_ID]
    assert out["length"].to_list() == [3, 2] and out["label_id"].to_list() == [0, 1]
    data = to_sequence_data(out, "classify")
    assert data.y.tolist() == [0, 1] and data.lengths.tolist() == [3, 2]


def test_single_class_and_unknown_labels_are_errors():
    with pytest.raises(DataError, match="at least 2 classes"):
        build_label_map(pl.Series(["a", "a"]))
    f = pl.DataFrame({"tokens": [["x"]], "label": ["zzz"]})
    with pytest.raises(DataError, match="not in the label map"):
        encode_frame(f, Vocabulary(["x"]), ["a", "b"])


def test_empty_split_is_an_error():
    empty = pl.DataFrame(
        {"ids": [], "length": []}, schema={"ids": pl.List(pl.Int32), "length": pl.Int32}
    )
    with pytest.raises(DataError, match="test.parquet: the split is empty"):
        to_sequence_data(empty, "next_state", source="test.parquet")
