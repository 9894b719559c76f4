"""Batch scoring: rows come back in input order whatever the batch size."""

import numpy as np
import polars as pl
import pytest
import torch
from polars.testing import assert_frame_equal

import attnlib
from attnlib.config import ModelConfig
from attnlib.models import build_model
from attnlib.persistence import save_model
from attnlib.predict import Predictor, predict_frame
from attnlib.scaling import Standardizer
from attnlib.vocab import Vocabulary

TINY = dict(name="lstm_attention", embedding_dim=8, hidden_dim=8)
IDS, LABELS = [f"s{i}" for i in range(9)], ["x", "y", "z"] * 3
LENGTHS = [2 + i % 4 for i in range(9)]
TOKENS = pl.DataFrame({"id": IDS, "tokens": [list("abcdq"[:n]) for n in LENGTHS]})
VALUES = [np.random.default_rng(i).normal(size=(n, 2)).tolist() for i, n in enumerate(LENGTHS)]
SERIES = pl.DataFrame({"id": IDS, "values": VALUES, "label": LABELS})
SCALER = Standardizer.fit([np.asarray(v) for v in VALUES])
CASES = {
    "next_state": (ModelConfig(task="next_state", vocab_size=6, **TINY), TOKENS),
    "classify_tokens": (
        ModelConfig(task="classify", vocab_size=6, num_classes=3, **TINY),
        TOKENS.with_columns(label=pl.Series(LABELS)),
    ),
    "classify_series": (
        ModelConfig(task="classify", input_kind="numeric", input_dim=2, num_classes=3, **TINY),
        SERIES,
    ),
}


def bundle(path, cfg: ModelConfig) -> Predictor:
    torch.manual_seed(0)
    tokens = cfg.input_kind == "tokens"
    save_model(
        path,
        build_model(cfg).eval(),
        vocab=Vocabulary(list("abcd")) if tokens else None,
        label_map=["x", "y", "z"],
        extra=None if tokens else {"data": {"input": {"scaler": SCALER.to_dict()}}},
    )
    return Predictor(path, engine="torch")


@pytest.mark.parametrize("case", CASES)
def test_rows_follow_the_input_whatever_the_batch_size(tmp_path, case):
    cfg, frame = CASES[case]
    predictor = bundle(tmp_path / "m", cfg)
    one = predict_frame(predictor, frame, attention=True, batch_size=1)
    assert_frame_equal(one, predict_frame(predictor, frame, attention=True, batch_size=4))
    if case == "next_state":  # one row per step, the attention over the steps seen
        assert one["id"].to_list() == [IDS[i] for i, n in enumerate(LENGTHS) for _ in range(n)]
        assert one["step"].to_list() == [t for n in LENGTHS for t in range(n)]
        assert [len(a) for a in one["attention"]] == [t + 1 for n in LENGTHS for t in range(n)]
    else:  # one row per sequence, the attention over all its steps
        assert one["id"].to_list() == IDS and one["actual"].to_list() == LABELS
        assert [len(a) for a in one["attention"]] == LENGTHS


def test_text_is_tokenised_as_in_training(tmp_path):
    cfg = ModelConfig(task="classify", vocab_size=6, num_classes=3, **TINY)
    torch.manual_seed(0)
    spec = {"input": {"kind": "tokens", "text": {"tokenizer": "word", "lowercase": True}}}
    save_model(tmp_path / "m", build_model(cfg).eval(), vocab=Vocabulary(["where", "is", "?", "x"]),
               label_map=["x", "y", "z"], extra={"data": spec})  # fmt: skip
    predictor = Predictor(tmp_path / "m", engine="torch")
    text = pl.DataFrame({"id": ["q"], "tokens": [["Where", "is?"]], "text": ["Where is?"]})
    as_tokens = pl.DataFrame({"id": ["q"], "tokens": [["where", "is", "?"]]})
    got, want = predict_frame(predictor, text), predict_frame(predictor, as_tokens)
    assert_frame_equal(got, want)
    raw = predict_frame(predictor, text.drop("text"))  # symbols: not re-tokenised
    assert raw["probabilities"].to_list() != want["probabilities"].to_list()


def test_predict_sets_writes_each_rows_conformal_set(tmp_path):
    """`attnlib predict --sets`: at a threshold of 0 the nonempty rule (and a bundle older
    than the rule) keeps only the top class (it scores 0) and the exact rule none (every
    score is > 0), at 2 every class; no threshold (too few calibration items) keeps every
    class; a bundle without one fails with a clear message."""
    from typer.testing import CliRunner

    from attnlib.cli import app

    cfg, frame = CASES["classify_tokens"]
    frame.write_parquet(tmp_path / "in.parquet")
    plain = bundle(tmp_path / "m", cfg)
    out = tmp_path / "out.parquet"
    args = ["predict", str(tmp_path / "m"), str(tmp_path / "in.parquet"), "-o", str(out)]
    failed = CliRunner().invoke(app, [*args, "--sets"])
    assert failed.exit_code == 2 and "set threshold" in failed.output
    cases = (
        ({"set_threshold": 0.0}, lambda m, p: m == [p]),  # older bundle: top label kept
        ({"set_threshold": 0.0, "set_rule": "nonempty"}, lambda m, p: m == [p]),
        ({"set_threshold": 0.0, "set_rule": "exact"}, lambda m, p: m == []),  # U * p > 0
        ({"set_threshold": 2.0, "set_rule": "exact"}, lambda m, p: len(m) == 3 and m[0] == p),
        ({"set_threshold": None, "set_rule": "exact"}, lambda m, p: len(m) == 3),
    )
    for trust, check in cases:
        save_model(tmp_path / "m", plain._model, vocab=plain.meta.vocab, label_map=["x", "y", "z"],
                   extra={"trust": {"alpha": 0.1, **trust}})  # fmt: skip
        result = CliRunner().invoke(app, [*args, "--sets", "--engine", "torch"])
        assert result.exit_code == 0, result.output
        rows = pl.read_parquet(out)
        assert rows.height == 9
        members, predicted = rows["set_members"].to_list(), rows["predicted"].to_list()
        assert all(check(m, p) for m, p in zip(members, predicted, strict=True))


@pytest.mark.parametrize("case", ["classify_tokens", "next_state"])
def test_predict_exact_sets_draw_each_rows_u_from_its_id(tmp_path, case):
    """Under the exact rule a row's set depends on its own U, hashed from its key (the id;
    next-state: id and step): rebuilt here from the written probabilities, and unlike the
    sets one shared U would give."""
    from typer.testing import CliRunner

    from attnlib.cli import app
    from attnlib.trust.conformal import key_uniform

    cfg, frame = CASES[case]
    frame.write_parquet(tmp_path / "in.parquet")
    plain = bundle(tmp_path / "m", cfg)
    out = tmp_path / "out.parquet"
    threshold = 0.55
    save_model(tmp_path / "m", plain._model, vocab=plain.meta.vocab, label_map=plain.meta.label_map,
               extra={"trust": {"alpha": 0.1, "set_threshold": threshold,
                                "set_rule": "exact"}})  # fmt: skip
    args = ["predict", str(tmp_path / "m"), str(tmp_path / "in.parquet"), "-o", str(out)]
    result = CliRunner().invoke(app, [*args, "--sets", "--engine", "torch", "--top-k", "99"])
    assert result.exit_code == 0, result.output
    rows = pl.read_parquet(out)

    def expected(u):  # APS: mass ranked above + U x own mass <= threshold, top first
        p = np.asarray(rows["probabilities"].to_list())  # (N, K), every label, falling
        scores = np.cumsum(p, axis=1) - p + u[:, None] * p
        names = rows["top_k"].to_list()
        return [[n for n, s in zip(ns, row, strict=True) if s <= threshold + 1e-12]
                for ns, row in zip(names, scores, strict=True)]  # fmt: skip

    ids = [str(i) for i in rows["id"].to_list()]
    keys = ids if case != "next_state" else [
        f"{i}\x1f{t}" for i, t in zip(ids, rows["step"].to_list(), strict=True)]  # fmt: skip
    own = expected(key_uniform(keys))
    assert rows["set_members"].to_list() == own
    assert own != expected(np.full(rows.height, key_uniform([""])[0]))


def test_a_per_series_scaler_is_applied_to_each_row_as_in_training(tmp_path):
    """A bundle trained on per-series scaled input (3 channels per raw one) scales each row
    by its own statistics: the probabilities equal the network's on the row scaled by hand,
    and a row multiplied by 1000 keeps its values channels and moves its level channels."""
    scaler = Standardizer.fit([np.asarray(v) for v in VALUES], per_series=True)
    cfg = ModelConfig(task="classify", input_kind="numeric", input_dim=6, num_classes=3, **TINY)
    torch.manual_seed(0)
    save_model(tmp_path / "m", build_model(cfg).eval(), label_map=["x", "y", "z"],
               extra={"data": {"input": {"scaler": scaler.to_dict()}}})  # fmt: skip
    predictor = Predictor(tmp_path / "m", engine="torch")
    got = predict_frame(predictor, SERIES)
    for i, row in enumerate(got.iter_rows(named=True)):
        x = scaler.transform(np.asarray(VALUES[i]))[None]
        out, _ = predictor(x, np.array([LENGTHS[i]]))
        probs = np.sort(np.exp(out[0] - out[0].max()) / np.exp(out[0] - out[0].max()).sum())
        np.testing.assert_allclose(row["probabilities"], probs[::-1], rtol=1e-5)
    facts = attnlib.load(tmp_path / "m", engine="torch").info()
    assert facts["input"].endswith("2 channel(s), each series scaled by its own")
    big = scaler.transform(np.asarray(VALUES[0]) * 1000)
    small = scaler.transform(np.asarray(VALUES[0]))
    np.testing.assert_allclose(big[:, :2], small[:, :2], atol=1e-5)
    assert (np.abs(big[:, 2:4] - small[:, 2:4]) > 1).all()
