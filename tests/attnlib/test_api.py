"""The Python API: attnlib.load(bundle).predict(sequences), wrong-kind and unknown tokens."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import torch

import attnlib
from attnlib.config import ModelConfig
from attnlib.errors import DataError
from attnlib.models import build_model
from attnlib.persistence import save_model
from attnlib.scaling import Standardizer
from attnlib.vocab import Vocabulary

TINY = dict(name="lstm_attention", embedding_dim=8, hidden_dim=8)
TOKENS = ["C", "G", "Am", "F", "D-major triad"]


def token_bundle(path, task="next_state"):
    torch.manual_seed(0)
    extra = {"num_classes": 2} if task == "classify" else {}
    cfg = ModelConfig(task=task, vocab_size=len(TOKENS) + 2, **extra, **TINY)
    save_model(path, build_model(cfg).eval(), vocab=Vocabulary(TOKENS),
               label_map=["neg", "pos"] if task == "classify" else None,
               metrics={"best_epoch": 3, "test": {"accuracy": 0.25}},
               extra={"data": {"input": {"kind": "tokens", "max_length": 512}}, "training_data":
                      {"source": "chords.txt", "train": "8 sequences"}})  # fmt: skip
    return path


def series_bundle(path):
    torch.manual_seed(0)
    cfg = ModelConfig(task="classify", input_kind="numeric", input_dim=2, num_classes=2, **TINY)
    scaler = Standardizer.fit([np.random.default_rng(0).normal(size=(5, 2))])
    save_model(path, build_model(cfg).eval(), label_map=["a", "b"],
               extra={"data": {"input": {"scaler": scaler.to_dict()}}})  # fmt: skip
    return path


def test_load_and_predict_token_lists(tmp_path):
    model = attnlib.load(token_bundle(tmp_path / "m"), engine="torch")
    every = model.predict([["C", "G", "Am"], ["F", "C"]], top_k=2, attention=True)
    assert every["id"].to_list() == ["seq1"] * 3 + ["seq2"] * 2
    assert every["step"].to_list() == [0, 1, 2, 0, 1]
    last = model.predict([["C", "G", "Am"], ["F", "C"]], top_k=2, last=True)
    assert last["id"].to_list() == ["seq1", "seq2"] and last["step"].to_list() == [2, 1]
    assert last["actual"].to_list() == [None, None]  # the unknown next state
    assert last["top_k"].to_list() == every.filter(pl.col("actual").is_null())["top_k"].to_list()
    assert [len(a) for a in every["attention"]] == [1, 2, 3, 1, 2]


def test_unknown_tokens_warn_with_their_share_or_fail_when_strict(tmp_path):
    model = attnlib.load(token_bundle(tmp_path / "m"), engine="torch")
    said = []
    model.predict([["C", "Bb", "Eb", "F"]], warn=said.append)
    assert len(said) == 1 and said[0].startswith("50% of the tokens are unknown")
    assert "'Bb'" in said[0]
    model.predict([["C", "G"]], warn=said.append)
    assert len(said) == 1  # all known: nothing said
    with pytest.raises(DataError, match="50% of the tokens are unknown"):
        model.predict([["C", "Bb", "Eb", "F"]], strict=True)


def test_wrong_kind_of_input_is_named(tmp_path):
    tokens = attnlib.load(token_bundle(tmp_path / "t"), engine="torch")
    series = pl.DataFrame({"id": ["s"], "values": [[[0.1, 0.2], [0.3, 0.4]]]})
    with pytest.raises(DataError, match=r"this model takes token sequences \(.*\); the input "
                       "holds numeric series, one a row"):  # fmt: skip
        tokens.predict(series)
    numeric = attnlib.load(series_bundle(tmp_path / "s"), engine="torch")
    with pytest.raises(DataError, match=r"this model takes numeric series, one a row \(.*\); "
                       "the input holds token sequences"):  # fmt: skip
        numeric.predict(pl.DataFrame({"id": ["x"], "tokens": [["C"]]}))
    long = pl.DataFrame({"time": [1, 2, 3], "a": [0.1, 0.2, 0.3], "b": [1.0, 2.0, 3.0]})
    with pytest.raises(DataError, match=r"the input holds one time-indexed table \(a time"):
        numeric.predict(long)  # a series classifier reads one series a row, not a long table
    with pytest.raises(DataError, match=r"the input holds one time-indexed table"):
        numeric.predict(pl.DataFrame({"x": [1.0]}))  # columns of values, no time: the same
    with pytest.raises(DataError, match=r"holds no tokens, series or numbers \(\['id', 'x'\]"):
        tokens.predict(pl.DataFrame({"id": ["a"], "x": ["b"]}))
    out = numeric.predict([np.zeros((4, 2)), np.ones((3, 2))])
    assert out["predicted"].is_in(["a", "b"]).all() and out.height == 2
    panel = pl.DataFrame(
        {
            "id": ["p", "q", "p", "q", "p"],
            "time": [0, 0, 1, 1, 2],
            "a": [0.0, 1.0, 0.0, 1.0, 0.0],
            "b": [0.0, 1.0, 0.0, 1.0, 0.0],
        }
    )
    by_id = numeric.predict(panel)  # a long table of two series, as a file of it is read
    assert by_id["id"].to_list() == ["p", "q"]
    as_lists = numeric.predict([np.zeros((3, 2)), np.ones((2, 2))])
    assert by_id["probabilities"].to_list() == as_lists["probabilities"].to_list()


def test_info_tells_task_input_vocabulary_and_labels(tmp_path):
    facts = attnlib.load(token_bundle(tmp_path / "c", "classify"), engine="torch").info()
    assert facts["task"] == "classify" and facts["input"] == "token sequences"
    assert facts["vocab_size"] == 7 and facts["vocab_sample"] == TOKENS
    assert facts["labels"] == ["neg", "pos"]
    assert facts["test_metrics"] == {"accuracy": 0.25} and facts["metrics"] == {"best_epoch": 3}
    assert facts["data"] == {"source": "chords.txt", "train": "8 sequences"}
    assert facts["max_length"] == 512
    assert attnlib.load(token_bundle(tmp_path / "n"), engine="torch").info()["labels"] is None


def test_the_readme_example_runs(tmp_path, monkeypatch, capsys):
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    code = re.search(r"\*\*From Python\*\*:\s*```python\n(.*?)```", readme, re.S).group(1)
    assert len([line for line in code.splitlines() if line.strip()]) == 5  # five lines of code
    token_bundle(tmp_path / "export")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert "seq1" in printed and printed.strip().endswith("7")  # the vocabulary size


def test_a_sequence_longer_than_training_saw_is_cut_as_training_cut_it(tmp_path):
    model = attnlib.load(token_bundle(tmp_path / "m"), engine="torch")  # max_length 512
    said = []
    long = (["C", "G", "Am", "F"] * 200)[:700]
    out = model.predict([long, ["C", "G"]], last=True, warn=said.append)
    assert said == ["1 sequence(s) longer than this model's max_length 512 (longest 700): "
                    "scored on their last 512 tokens"]  # fmt: skip
    assert out["step"].to_list() == [699, 1]  # counted from the sequence's start
    whole = model.predict([long[-512:]], last=True)
    assert out["top_k"][0].to_list() == whole["top_k"][0].to_list()
