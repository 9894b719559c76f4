"""The next-state model's Kneser-Ney partner: the baseline's model, mixed in on validation."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch

from attnlib.auto import DataProfile, resolve_train
from attnlib.baselines.ngram import KneserNey, select_order
from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import Batches, SequenceData
from attnlib.export import export_onnx, parity_check
from attnlib.export_stream import OnnxStream, export_stream_onnx
from attnlib.fitting import build_and_fit
from attnlib.models import build_model
from attnlib.models.partner import MIXES, fit_partner, mix_partner, set_mix
from attnlib.persistence import load_model, save_model
from attnlib.stream import StreamingPredictor
from attnlib.vocab import Vocabulary
from tests.partners import assert_alone_equals_padded, assert_scorer_reads_the_mixed_model

kn = importlib.import_module("attnlib.models.kn_partner")  # the package exports the function
V = 14  # ids 2..13 are tokens


def _cfg(**kw) -> ModelConfig:
    sizes = {"vocab_size": V, "embedding_dim": 8, "hidden_dim": 8}
    return ModelConfig(name="lstm_attention", task="next_state", linear_base=True, **sizes, **kw)


def _corpus(n: int, seed: int) -> list[list[int]]:
    """Sequences where the next token is fixed by the two before it, with noise (a
    trigram source: an order-3 model knows it, a bigram one does not)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        s = [int(t) for t in rng.integers(2, V, 2)]
        for _ in range(int(rng.integers(0, 14))):
            nxt = (s[-1] + 2 * s[-2]) % (V - 2) + 2
            s.append(nxt if rng.random() < 0.85 else int(rng.integers(2, V)))
        out.append(s)
    return out


def _data(seqs: list[list[int]]) -> SequenceData:
    return SequenceData.next_state(seqs)


@pytest.mark.parametrize("order", [None, 1, 2, 4])
def test_the_partner_is_the_baselines_kneser_ney_at_every_position(monkeypatch, order):
    train, val = _corpus(200, 0), _corpus(40, 1)
    if order is not None:
        monkeypatch.setattr(kn, "ORDERS", (order,))
    model = build_model(_cfg())
    report = fit_partner(model, _data(train), _data(val))
    chosen = select_order(train, val, V, orders=kn.ORDERS)[0]
    assert report["order"] == chosen == (order or 3)  # a trigram source: 3 on validation
    lm = KneserNey(chosen).fit(train, V)
    data = _data(val)
    got = model.partner(data.x, data.lengths).exp()
    for i, s in enumerate(val):
        for t in range(len(s) - 1):  # position t predicts s[t + 1] from s[: t + 1]
            np.testing.assert_allclose(got[i, t].numpy(), lm.prob_dist(s[: t + 1]), atol=1e-6)
    assert report["partner_val_loss"] == pytest.approx(
        np.log(lm.evaluate(val)["perplexity"]), abs=1e-6
    )


def test_orders_whose_table_would_pass_the_cap_are_not_tried(monkeypatch):
    train, val = _corpus(200, 0), _corpus(40, 1)
    positions = sum(len(s) for s in train)
    assert kn.most_rows(3, positions, V) == 1 + (V + 1) + (V + 1) ** 2  # every pair fits
    assert kn.most_rows(4, positions, V) == kn.most_rows(3, positions, V) + positions
    monkeypatch.setattr(kn, "MAX_CELLS", kn.most_rows(3, positions, V) * V)  # 3 fits, 4 not
    monkeypatch.setattr(kn, "ORDERS", (2, 4))
    assert fit_partner(build_model(_cfg()), _data(train), _data(val))["order"] == 2
    monkeypatch.setattr(kn, "MAX_CELLS", V)  # one row: only the unigram model is tried
    monkeypatch.setattr(kn, "ORDERS", (1, 2, 3))
    model = build_model(_cfg())
    assert fit_partner(model, _data(train), _data(val))["order"] == 1
    assert model.partner.table.shape == (1, V)


def test_mixing_is_chosen_on_validation_and_the_mixed_model_is_a_distribution():
    train, val = _data(_corpus(200, 0)), _data(_corpus(40, 1))
    torch.manual_seed(0)
    model = build_model(_cfg())  # untrained: the partner knows the source, the network not
    fit_partner(model, train, val)
    report = mix_partner(model, val)
    assert report["mix"] == max(MIXES) and model.partner.active
    assert report["mixed_val_loss"] < report["network_val_loss"]
    model.eval()
    probs = model(val.x, val.lengths).softmax(-1)
    torch.testing.assert_close(probs.sum(-1), torch.ones(probs.shape[:2]))
    set_mix(model.partner, 0.0)
    alone = model(val.x, val.lengths)
    set_mix(model.partner, report["mix"])
    with torch.no_grad():
        net = alone.log_softmax(-1).exp()
        kn_p = model.partner(val.x, val.lengths).exp()
    w = report["mix"]
    torch.testing.assert_close(probs, (1 - w) * net + w * kn_p, atol=1e-5, rtol=0)


def test_a_sequence_alone_equals_it_padded_beside_longer_ones():
    train, val = _data(_corpus(100, 2)), _data(_corpus(30, 3))
    model = assert_alone_equals_padded(build_model(_cfg()), train, val, atol=1e-5)
    assert_scorer_reads_the_mixed_model(model, val)  # faithfulness: mixed after the last step


def test_saved_loaded_exported_and_streamed_models_keep_the_mixed_partner(tmp_path):
    train, val = _data(_corpus(200, 4)), _data(_corpus(20, 5))
    model = build_model(_cfg())
    fit_partner(model, train, val)
    set_mix(model.partner, 0.3)
    model.eval()
    vocab = Vocabulary(["<pad>", "<unk>", *[f"t{i}" for i in range(2, V)]])
    save_model(tmp_path / "m", model, vocab=vocab)
    loaded, _ = load_model(tmp_path / "m")  # a new model's tables have one row: resized
    assert loaded.partner.keys.shape == model.partner.keys.shape and loaded.partner.active
    full = model(val.x, val.lengths)
    assert torch.equal(loaded(val.x, val.lengths), full)
    path = export_onnx(model, tmp_path / "model.onnx", example=next(iter(Batches(val, 4))))
    assert parity_check(model, path, Batches(val, batch_size=7)) <= 1e-4
    stream_path = export_stream_onnx(model, tmp_path / "stream.onnx")
    eager, onnx_stream = StreamingPredictor(loaded), OnnxStream(stream_path)
    for i in range(5):
        eager.reset()
        onnx_stream.reset()
        for t, token in enumerate(val.x[i, : int(val.lengths[i])].tolist()):
            logits = eager.push(token)  # logits of a mixture: compare as log-probabilities
            torch.testing.assert_close(
                logits.log_softmax(-1), full[i, t].log_softmax(-1), atol=1e-5, rtol=0
            )
            np.testing.assert_allclose(onnx_stream.push(token), logits.numpy(), atol=1e-5)


def test_build_and_fit_reports_the_order_and_weight_and_the_card_names_them():
    from attnlib.card import model_card
    from attnlib.persistence import ModelMeta

    train, val = _data(_corpus(120, 6)), _data(_corpus(40, 7))
    cfg = _cfg()
    tc = TrainConfig(batch_size=16, lr=1e-2, epochs=2, patience=2, progress=False)
    model, hist = build_and_fit(cfg, tc, train, val)
    report = hist.linear_base
    assert report["order"] == 3 and report["mix"] in MIXES and report["mix"] > 0
    assert float(model.partner.mix) == pytest.approx(report["mix"])
    assert hist.best_val_loss == report["mixed_val_loss"] <= report["network_val_loss"]
    card = model_card(ModelMeta(cfg, metrics={"linear_base": report}), data={},
                      eval_metrics={}, export_metrics={})  # fmt: skip
    assert (
        f"next-state probabilities are mixed with those of a Kneser-Ney 3-gram model of "
        f"the training split, at the weight validation chose ({report['mix']:g})"
    ) in card


def test_auto_gives_next_state_models_the_partner():
    p = DataProfile("next_state", "tokens", n_train=600, mean_length=12.0, max_length=30,
                    n_targets=6000)  # fmt: skip
    out, made = resolve_train(p, {"linear_base": "auto"}, ("lstm_attention",))
    assert out["linear_base"] is True and "Kneser-Ney" in made[0].why
