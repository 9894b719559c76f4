import bz2

import pytest

from attnlib.errors import DataError
from attnlib.vectors import input_tensors, read_vectors

GLOVE = "the 0.1 0.2\ndenver 1.0 2.0\nwalk 3.0 4.0\n"


def _file(tmp_path, text=GLOVE, name="vec.txt.bz2"):
    path = tmp_path / name
    path.write_bytes(bz2.compress(text.encode()))
    return path


def test_only_vocabulary_words_are_read_and_case_falls_back_to_lower(tmp_path):
    vec, found, _ = read_vectors(_file(tmp_path), ["<pad>", "<unk>", "Denver", "walk", "zq"])
    assert found.tolist() == [False, False, True, True, False]
    assert vec[2].tolist() == [1.0, 2.0] and vec[4].tolist() == [0.0, 0.0]


def test_a_ragged_line_is_an_error_naming_it(tmp_path):
    path = _file(tmp_path, GLOVE + "walk 1.0\n")
    with pytest.raises(DataError, match="line 4: 1 values, expected 2"):
        read_vectors(path, ["<pad>", "<unk>", "walk"])


def test_auto_uses_vectors_when_they_cover_the_vocabulary(tmp_path, monkeypatch):
    import attnlib.vectors as v

    monkeypatch.setattr(v, "vectors_path", lambda spec: _file(tmp_path))
    covered = ["<pad>", "<unk>", "the", "denver", "walk", "walked"]  # 3 of 4
    tensors, fields, why, _ = input_tensors(covered, text=True, labelled=True,
                                         subwords="auto", vectors="auto")  # fmt: skip
    assert fields["vectors_dim"] == 2 and "ngrams" in tensors and fields["subword_rows"] > 1
    assert tensors["found"].tolist() == [False, False, True, True, True, False]
    sparse = ["<pad>", "<unk>", "the", "qq", "zz", "xx"]  # 1 of 4: not English enough
    tensors, fields, why, _ = input_tensors(sparse, text=True, labelled=True,
                                         subwords="auto", vectors="auto")  # fmt: skip
    assert tensors == {} and fields == {} and "covers 25%" in why[0]
    assert why[1].startswith("subwords off: no char")  # nothing shared between the words


def test_auto_is_off_for_symbols_and_next_state(tmp_path):
    symbols = ["<pad>", "<unk>", "C4", "E4"]
    tensors, fields, _, _ = input_tensors(symbols, text=False, labelled=True,
                                       subwords="auto", vectors="auto")  # fmt: skip
    assert tensors == {} and fields == {}
    tensors, _, _, _ = input_tensors(["<pad>", "<unk>", "a"], text=True, labelled=False,
                                  subwords="auto", vectors="auto")  # fmt: skip
    assert tensors == {}


def test_a_missing_vectors_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="word vectors file not found"):
        input_tensors(["<pad>", "<unk>", "a"], text=True, labelled=True,
                      subwords=False, vectors=str(tmp_path / "none.txt"))  # fmt: skip


def test_the_most_frequent_pretrained_words_join_the_vocabulary(tmp_path):
    import polars as pl

    from attnlib.encode import encode_frame
    from attnlib.vectors import extend_vocabulary
    from attnlib.vocab import Vocabulary

    path = _file(tmp_path)
    itos = ["<pad>", "<unk>", "walk", "walked"]
    vec, found, added = read_vectors(path, itos, extra=2)  # lines 1-2: the, denver
    assert added == ["the", "denver"] and found.tolist() == [False, False, True, False, True, True]
    assert vec[5].tolist() == [1.0, 2.0]
    tensors, fields, _, added = input_tensors(itos, text=True, labelled=True, subwords=True,
                                              vectors=str(path), extra=2)  # fmt: skip
    assert tensors["vectors"].shape == (6, 2) and tensors["ngrams"].shape[0] == 6
    assert tensors["ngrams"][4:].sum() == 0  # added words: no n-grams, their vector only
    frame = pl.DataFrame({"tokens": [["walk", "denver"]], "label": ["a"]})
    meta = {"tokens": itos, "labels": ["a", "b"]}
    frame = extend_vocabulary(encode_frame(frame, Vocabulary(itos[2:]), ["a", "b"]), meta, added)
    assert meta["tokens"][4:] == ["the", "denver"] and frame["ids"][0].to_list() == [2, 5]
