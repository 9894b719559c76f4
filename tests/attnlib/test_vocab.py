import json

import pytest

from attnlib.errors import DataError
from attnlib.vocab import PAD_ID, UNK_ID, Vocabulary

SEQS = [["a", "b", "a"], ["c", "a"], ["b", "d"]]


def test_special_ids_and_frequency_order():
    v = Vocabulary.build(SEQS)
    assert v.itos[:2] == ["<pad>", "<unk>"] and PAD_ID == 0 and UNK_ID == 1
    assert v.itos[2:] == ["a", "b", "c", "d"]  # by count, ties alphabetical


def test_unseen_tokens_map_to_unk_and_decode_round_trips():
    v = Vocabulary.build(SEQS)
    assert v.encode(["a", "zzz"]) == [2, UNK_ID]
    assert v.decode(v.encode(["b", "c"])) == ["b", "c"]


def test_min_freq_and_max_size():
    assert Vocabulary.build(SEQS, min_freq=2).itos[2:] == ["a", "b"]
    assert len(Vocabulary.build(SEQS, max_size=3)) == 3


def test_json_round_trip(tmp_path):
    v = Vocabulary.build(SEQS)
    v.save(tmp_path / "v.json")
    assert Vocabulary.load(tmp_path / "v.json") == v
    assert json.loads((tmp_path / "v.json").read_text())["tokens"][0] == "<pad>"


def test_bad_vocabulary_file_names_the_file(tmp_path):
    p = tmp_path / "v.json"
    p.write_text('{"tokens": ["a"]}')
    with pytest.raises(DataError, match=str(p)):
        Vocabulary.load(p)
    with pytest.raises(DataError, match="not found"):
        Vocabulary.load(tmp_path / "missing.json")
