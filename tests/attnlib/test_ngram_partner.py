"""The token classifier's n-gram partner: a TF-IDF logistic regression, mixed in on validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnlib.auto import DataProfile, resolve_train
from attnlib.config import ModelConfig
from attnlib.data import Batches, SequenceData
from attnlib.export import export_onnx, parity_check
from attnlib.models import build_model
from attnlib.models.ngram_partner import PENALTIES, partner_fields
from attnlib.models.partner import MIXES, fit_partner, mix_partner, refit_partner, set_mix
from attnlib.persistence import load_model, save_model
from tests.partners import assert_alone_equals_padded, assert_scorer_reads_the_mixed_model

TINY = dict(embedding_dim=8, hidden_dim=8, cnn_channels=8)
V = 40  # ids 2..39 are tokens


def _cfg(classes: int = 2, **kw) -> ModelConfig:
    return ModelConfig(
        **{
            "name": "bilstm_attention",
            "task": "classify",
            "vocab_size": V,
            "num_classes": classes,
            "linear_base": True,
            **TINY,
            **kw,
        }
    )


def _bigram_task(n: int, seed: int) -> SequenceData:
    """Label 1 iff the bigram (5, 6) occurs; tokens 5 and 6 occur alone in both classes."""
    g = torch.Generator().manual_seed(seed)
    seqs, labels = [], []
    for k in range(n):
        s = torch.randint(7, V, (int(torch.randint(4, 12, (1,), generator=g)),), generator=g)
        s = s.tolist()
        i = int(torch.randint(0, len(s) - 1, (1,), generator=g))
        s[i : i + 2] = [5, 6] if k % 2 else [6, 5]  # both tokens, in the other order
        seqs.append(s)
        labels.append(k % 2)
    return SequenceData.classify_tokens(seqs, np.array(labels))


@pytest.mark.parametrize(("classes", "order"), [(2, 2), (3, 2), (3, 4)])
def test_the_partner_is_scikit_learns_tfidf_logistic_regression(classes, order):
    """On sequences without a repeated n-gram (and no hashed n-gram shared), its logits are
    those of TfidfVectorizer(ngram_range=(1, order)) + LogisticRegression at the chosen C."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    g = np.random.default_rng(0)
    seqs = [list(g.choice(np.arange(2, V), size=g.integers(1, 9), replace=False))
            for _ in range(160)]  # fmt: skip
    y = np.array([int(s[0] % classes) for s in seqs])
    train = SequenceData.classify_tokens(seqs[:120], y[:120])
    val = SequenceData.classify_tokens(seqs[120:], y[120:])
    sizes = {} if order == 2 else {"ngram_order": order, "ngram_buckets": 2**20}
    model = build_model(_cfg(classes=classes, vocab_size=50_000, **sizes))  # 2**18+ rows
    info = fit_partner(model, train, val)
    assert info["penalty"] in PENALTIES
    partner = model.partner
    grams, real = partner.grams(train.x, train.lengths)
    distinct = {tuple(s[i : i + k]) for s in seqs[:120]
                for k in range(1, order + 1) for i in range(len(s) - k + 1)}  # fmt: skip
    assert len(set(grams[real].tolist())) == len(distinct)  # none shared a row

    text = lambda ss: [" ".join(f"w{t}" for t in s) for s in ss]  # noqa: E731
    vec = TfidfVectorizer(ngram_range=(1, order), token_pattern=r"\S+", lowercase=False)
    ref = LogisticRegression(C=info["penalty"], max_iter=2000)
    ref.fit(vec.fit_transform(text(seqs[:120])), y[:120])
    expected = ref.decision_function(vec.transform(text(seqs[120:])))
    got = partner(val.x, val.lengths).numpy()
    assert np.abs(got - expected).max() < 1e-4


def test_the_report_gives_the_fits_wall_time(monkeypatch):
    """``partner_seconds`` is the clock from the start of the fit to its end."""
    from types import SimpleNamespace

    import attnlib.models.partner as module

    ticks = iter([100.0, 102.5])  # a function of that name; the fit reads the clock twice
    monkeypatch.setattr(module, "time", SimpleNamespace(perf_counter=lambda: next(ticks)))
    train, val = _bigram_task(60, seed=13), _bigram_task(20, seed=14)
    assert fit_partner(build_model(_cfg()), train, val)["partner_seconds"] == 2.5


def test_mixing_is_chosen_on_validation_and_helps_where_the_network_cannot():
    train, val = _bigram_task(200, seed=1), _bigram_task(80, seed=2)
    torch.manual_seed(0)
    model = build_model(_cfg())  # untrained: the network is a coin
    fit_partner(model, train, val)
    model.eval()
    alone = model(val.x, val.lengths)
    assert ((model.partner(val.x, val.lengths) > 0).long() == val.y).float().mean() > 0.95
    info = mix_partner(model, val)
    assert info["mix"] == max(MIXES) and info["mixed_val_loss"] < info["network_val_loss"]
    mixed = model(val.x, val.lengths)
    assert ((mixed > 0).long() == val.y).float().mean() > 0.95
    assert not torch.equal(mixed, alone)
    model.train()  # training sees the network alone: the partner is fitted, not trained
    torch.nn.Module.eval(model.encoder), torch.nn.Module.eval(model.head)  # no dropout
    assert torch.equal(model(val.x, val.lengths), alone)


def test_weight_zero_leaves_the_network_exactly():
    train, val = _bigram_task(60, seed=3), _bigram_task(20, seed=4)
    model = build_model(_cfg(classes=3))
    model.eval()
    before = model(val.x, val.lengths)
    fit_partner(model, train, val)
    set_mix(model.partner, 0.0)
    assert torch.equal(model(val.x, val.lengths), before)


def test_two_of_three_classes_in_training_still_separate_them():
    """scikit-learn fits one logit then; it must land in the second class's column."""
    train, val = _bigram_task(200, seed=11), _bigram_task(80, seed=12)
    model = build_model(_cfg(classes=3))
    fit_partner(model, train, val)
    z = model.partner(val.x, val.lengths)  # (N, 3); class 2 never seen
    assert (z.argmax(1) == val.y).float().mean() > 0.95 and (z[:, 2] == -30).all()


def test_one_class_in_training_leaves_the_partner_unused():
    seqs = [[5, 6, 7], [8, 9], [10, 11, 12, 13]]
    one = SequenceData.classify_tokens(seqs, np.zeros(3, dtype=np.int64))
    model = build_model(_cfg())
    assert fit_partner(model, one, one)["penalty"] is None
    assert mix_partner(model, one) == {} and not model.partner.active


CHARS = {"ngram_order": 5, "ngram_buckets": 4096}  # the partner of character tokens


@pytest.mark.parametrize("sizes", [{}, CHARS])
def test_a_sequence_alone_equals_it_padded_beside_longer_ones(sizes):
    train, val = _bigram_task(60, seed=5), _bigram_task(30, seed=6)
    model = assert_alone_equals_padded(build_model(_cfg(**sizes)), train, val, atol=1e-6)
    assert_scorer_reads_the_mixed_model(model, val)
    two = torch.tensor([[5, 6, 0, 0, 0, 0]])  # shorter than the order, alone and padded
    assert torch.allclose(model(two[:, :2], torch.tensor([2])), model(two, torch.tensor([2])))


@pytest.mark.parametrize("sizes", [{}, CHARS])
def test_saved_and_exported_models_keep_the_mixed_partner(tmp_path, sizes):
    train, val = _bigram_task(60, seed=7), _bigram_task(30, seed=8)
    model = build_model(_cfg(classes=2, **sizes))
    fit_partner(model, train, val)
    set_mix(model.partner, 0.3)
    model.eval()
    save_model(tmp_path / "m", model, label_map=["a", "b"])
    loaded, _ = load_model(tmp_path / "m")
    assert loaded.partner.active and float(loaded.partner.mix) == pytest.approx(0.3)
    assert torch.equal(loaded(val.x, val.lengths), model(val.x, val.lengths))
    example = next(iter(Batches(val, batch_size=4)))
    path = export_onnx(model, tmp_path / "model.onnx", example=example)
    assert parity_check(model, path, Batches(val, batch_size=7)) <= 1e-4


@pytest.mark.parametrize("refit", [False, True])
def test_build_and_fit_trains_the_network_alone_and_a_refit_keeps_the_partners_choices(refit):
    from attnlib.config import TrainConfig
    from attnlib.fitting import build_and_fit

    train, val = _bigram_task(120, seed=9), _bigram_task(40, seed=10)
    cfg = _cfg()
    tc = TrainConfig(batch_size=16, lr=1e-2, epochs=2, patience=2, refit=refit, progress=False)
    model, hist = build_and_fit(cfg, tc, train, val)
    report = hist.linear_base
    assert report["penalty"] in PENALTIES and report["mix"] in MIXES
    assert float(model.partner.mix) == pytest.approx(report["mix"])
    assert hist.best_val_loss == report["mixed_val_loss"] <= report["network_val_loss"]
    fresh = build_model(cfg)  # the partner as fitted before training: never trained
    if refit:  # the kept refit: the first fit's penalty, on train + val
        assert hist.refit_epochs and not hist.refit_rejected
        refit_partner(fresh, SequenceData.concat(train, val), report)
    else:
        fit_partner(fresh, train, val)
    assert torch.equal(model.partner.weight, fresh.partner.weight)
    assert torch.equal(model.partner.idf, fresh.partner.idf)


def test_character_tokens_get_higher_orders_and_rows_from_the_data():
    assert partner_fields([["a", "b", "c"]], chars=False) == {}  # words: from the vocabulary
    # ab, bc, abc: 3 distinct, rows a power of two >= 6
    assert partner_fields([["a", "b", "c"], ["a", "b"]], chars=True) == {
        "ngram_order": 5, "ngram_buckets": 8}  # fmt: skip
    many = [[chr(97 + i), chr(97 + j), "x", "y", "z"] for i in range(26) for j in range(26)]
    assert partner_fields(many, chars=True)["ngram_buckets"] == 8192  # 676 * 4 + 81 = 2,785


def test_auto_gives_classifiers_a_partner_and_forecasts_a_base():
    for task, kind, on in (("classify", "tokens", True), ("classify", "numeric", True),
                           ("next_state", "tokens", True)):  # fmt: skip
        p = DataProfile(task, kind, n_train=600, mean_length=12.0, max_length=30, n_targets=600)
        out, made = resolve_train(p, {"linear_base": "auto"}, ("bilstm_attention",))
        assert out["linear_base"] is on and made[0].why


def test_a_next_state_model_gets_a_kneser_ney_partner_not_an_n_gram_regression():
    cfg = ModelConfig(name="lstm_attention", task="next_state", vocab_size=V, linear_base=True)
    assert type(build_model(cfg).partner).__name__ == "KneserNeyPartner"
    assert not cfg.ngram_partner and cfg.kn_partner


@pytest.mark.parametrize(
    ("metrics", "sizes", "says"),
    [
        ({"members": [{"linear_base": {"mix": 0.4}}, {"linear_base": {"mix": 0.5}}]}, {},
         "TF-IDF logistic regression on unigrams and bigrams, at the weight validation chose "
         "(0.4, 0.5; per member): the attention weights explain the network's share only."),
        ({"linear_base": {"mix": 0.6}}, CHARS, "regression on 1- to 5-grams of characters, "
         "at the weight validation chose (0.6): the attention weights explain the network's "
         "share only."),
        ({"linear_base": {"mix": 0.0}}, {}, "No n-gram partner: validation gave it weight 0."),
    ],
)  # fmt: skip
def test_the_model_card_says_how_much_of_a_prediction_the_partner_makes(metrics, sizes, says):
    from attnlib.card import model_card
    from attnlib.persistence import ModelMeta

    card = model_card(ModelMeta(_cfg(**sizes), metrics=metrics), data={}, eval_metrics={},
                      export_metrics={})  # fmt: skip
    model_line = card.split("## Model\n", 1)[1].splitlines()[0]
    assert model_line.endswith(says)
