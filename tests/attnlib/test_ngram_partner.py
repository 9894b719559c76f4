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
from attnlib.models.ngram_partner import (
    MIXES,
    PENALTIES,
    fit_partner,
    mix_partner,
    refit_partner,
    set_mix,
)
from attnlib.persistence import load_model, save_model

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


@pytest.mark.parametrize("classes", [2, 3])
def test_the_partner_is_scikit_learns_tfidf_logistic_regression(classes):
    """On sequences without a repeated n-gram (and no hashed bigram shared), its logits are
    those of TfidfVectorizer(ngram_range=(1, 2)) + LogisticRegression at the chosen C."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    g = np.random.default_rng(0)
    seqs = [list(g.choice(np.arange(2, V), size=g.integers(1, 9), replace=False))
            for _ in range(160)]  # fmt: skip
    y = np.array([int(s[0] % classes) for s in seqs])
    train = SequenceData.classify_tokens(seqs[:120], y[:120])
    val = SequenceData.classify_tokens(seqs[120:], y[120:])
    model = build_model(_cfg(classes=classes, vocab_size=50_000))  # 2**18 rows: none shared
    info = fit_partner(model, train, val)
    assert info["penalty"] in PENALTIES
    partner = model.partner
    grams, real = partner.grams(train.x, train.lengths)
    pairs = {(a, b) for s in seqs[:120] for a, b in zip(s, s[1:], strict=False)}
    assert len(set(grams[real].tolist())) == len({t for s in seqs[:120] for t in s}) + len(pairs)

    text = lambda ss: [" ".join(f"w{t}" for t in s) for s in ss]  # noqa: E731
    vec = TfidfVectorizer(ngram_range=(1, 2), token_pattern=r"\S+", lowercase=False)
    ref = LogisticRegression(C=info["penalty"], max_iter=2000)
    ref.fit(vec.fit_transform(text(seqs[:120])), y[:120])
    expected = ref.decision_function(vec.transform(text(seqs[120:])))
    got = partner(val.x, val.lengths).numpy()
    assert np.abs(got - expected).max() < 1e-4


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


def test_a_sequence_alone_equals_it_padded_beside_longer_ones():
    train, val = _bigram_task(60, seed=5), _bigram_task(30, seed=6)
    model = build_model(_cfg())
    fit_partner(model, train, val)
    set_mix(model.partner, 0.5)
    model.eval()
    batch = model(val.x, val.lengths)
    for i in range(len(val)):
        n = int(val.lengths[i])
        alone = model(val.x[i : i + 1, :n], val.lengths[i : i + 1])
        assert torch.allclose(alone, batch[i : i + 1], atol=1e-6)


def test_saved_and_exported_models_keep_the_mixed_partner(tmp_path):
    train, val = _bigram_task(60, seed=7), _bigram_task(30, seed=8)
    model = build_model(_cfg(classes=2))
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
    assert report["partner_seconds"] >= 0  # the fit's wall time, in train.json
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


def test_auto_gives_token_classifiers_the_partner_and_other_tasks_none():
    for task, kind, on in (("classify", "tokens", True), ("classify", "numeric", False),
                           ("next_state", "tokens", False)):  # fmt: skip
        p = DataProfile(task, kind, n_train=600, mean_length=12.0, max_length=30, n_targets=600)
        out, made = resolve_train(p, {"linear_base": "auto"}, ("bilstm_attention",))
        assert out["linear_base"] is on and made[0].why


def test_a_next_state_model_refuses_it_by_name():
    with pytest.raises(ValueError, match="linear_base.*task classify with token input"):
        ModelConfig(name="lstm_attention", task="next_state", vocab_size=V, linear_base=True)


@pytest.mark.parametrize(
    ("metrics", "says"),
    [
        ({"members": [{"linear_base": {"mix": 0.4}}, {"linear_base": {"mix": 0.5}}]},
         "TF-IDF logistic regression on unigrams and bigrams, at the weight validation chose "
         "(0.4, 0.5; per member): the attention weights explain the network's share only."),
        ({"members": [{"linear_base": {"mix": 0.4, "char_ngrams": True}},
                      {"linear_base": {"mix": 0.5, "char_ngrams": False}}]},
         "TF-IDF logistic regression on unigrams, bigrams and (on 1 of 2 members) the words' "
         "character 3-5-grams, at the weight validation chose (0.4, 0.5; per member): the "
         "attention weights explain the network's share only."),
        ({"linear_base": {"mix": 0.3, "char_ngrams": True}},
         "TF-IDF logistic regression on unigrams, bigrams and the words' character 3-5-grams, "
         "at the weight validation chose (0.3): the attention weights explain the network's "
         "share only."),
        ({"linear_base": {"mix": 0.0}}, "No n-gram partner: validation gave it weight 0."),
    ],
)  # fmt: skip
def test_the_model_card_says_how_much_of_a_prediction_the_partner_makes(metrics, says):
    from attnlib.card import model_card
    from attnlib.persistence import ModelMeta

    card = model_card(ModelMeta(_cfg(), metrics=metrics), data={}, eval_metrics={},
                      export_metrics={})  # fmt: skip
    model_line = card.split("## Model\n", 1)[1].splitlines()[0]
    assert model_line.endswith(says)


# -- the words' character n-grams (a second feature block where the input has the table) --


def _suffix_vocabulary(seed: int = 0) -> tuple[list[str], list[int], list[int], list[int]]:
    """Vocabulary ``<pad> <unk>``, fillers, then stem+"ing" / stem+"ed" pairs; returns it with
    the filler ids and the key words' ids of the training stems and of the others."""
    g = np.random.default_rng(seed)
    letters = list("bcdfklmnprstvz")
    word = lambda n: "".join(g.choice(letters, n))  # noqa: E731
    fillers = [word(6) + "o" for _ in range(20)]
    stems = list(dict.fromkeys(word(4) for _ in range(80)))[:60]
    itos = ["<pad>", "<unk>", *fillers] + [s + end for s in stems for end in ("ing", "ed")]
    keys = list(range(2 + len(fillers), len(itos)))
    return itos, list(range(2, 2 + len(fillers))), keys[:80], keys[80:]  # 40 stems / 20


def _suffix_task(keys: list[int], fillers: list[int], n: int, seed: int) -> SequenceData:
    """Label 1 iff the sequence's key word ends in "ing" (even offsets in ``keys``)."""
    g = np.random.default_rng(seed)
    seqs, labels = [], []
    for _ in range(n):
        k = int(g.integers(len(keys)))
        s = list(g.choice(fillers, int(g.integers(2, 6))))
        s.insert(int(g.integers(len(s) + 1)), keys[k])
        seqs.append([int(t) for t in s])
        labels.append(int(k % 2 == 0))
    return SequenceData.classify_tokens(seqs, np.array(labels))


def _char_model(itos: list[str], classes: int = 2):
    from attnlib.models.subword import ngram_table, pad_table

    table = pad_table(ngram_table(itos))
    cfg = _cfg(classes=classes, vocab_size=len(itos), subword_rows=int(table.max()) + 1,
               subword_width=table.shape[1])  # fmt: skip
    model = build_model(cfg)
    model.input.ngrams.copy_(table)  # what the encode stage's file gives it
    return model


@pytest.fixture
def suffixes():
    """Train on 40 stems, validate on 20 others: their words are in the vocabulary, never
    in training (unigram idf 0), but share "ing>" / "ed>" with the training words."""
    itos, fillers, seen, unseen = _suffix_vocabulary()
    train = _suffix_task(seen, fillers, 240, seed=1)
    val = _suffix_task(unseen, fillers, 80, seed=2)
    return itos, train, val


def test_char_ngrams_are_kept_where_validation_prefers_them(suffixes):
    itos, train, val = suffixes
    words_only = build_model(_cfg(vocab_size=len(itos)))  # no char table: unigrams, bigrams
    alone = fit_partner(words_only, train, val)
    model = _char_model(itos)
    info = fit_partner(model, train, val)
    assert alone["char_ngrams"] is False and info["char_ngrams"] is True
    assert info["partner_val_loss"] < alone["partner_val_loss"] - 0.2
    table = model.input.ngrams
    right = lambda m, t: ((m.partner(val.x, val.lengths, t) > 0).long() == val.y).float().mean()  # noqa: E731
    assert right(model, table) > 0.95 and right(words_only, None) < 0.75
    char_rows = model.partner.idf[model.partner.vocab + model.partner.buckets :]
    assert char_rows.any()  # ... and the mixed model predicts with them
    set_mix(model.partner, 0.9)
    model.eval()
    assert ((model(val.x, val.lengths) > 0).long() == val.y).float().mean() > 0.95


def test_a_refit_keeps_the_feature_set(suffixes):
    itos, train, val = suffixes
    both = SequenceData.concat(train, val)
    for chars in (False, True):
        model = _char_model(itos)
        refit_partner(model, both, {"penalty": 8.0, "char_ngrams": chars, "mix": 0.5})
        char_rows = model.partner.idf[model.partner.vocab + model.partner.buckets :]
        assert bool(char_rows.any()) is chars and float(model.partner.mix) == 0.5


def test_with_char_ngrams_a_sequence_alone_equals_it_padded_and_onnx_agrees(suffixes, tmp_path):
    itos, train, val = suffixes
    model = _char_model(itos, classes=3)
    fit_partner(model, train, val)
    set_mix(model.partner, 0.5)
    model.eval()
    batch = model(val.x, val.lengths)
    for i in range(0, len(val), 7):
        n = int(val.lengths[i])
        alone = model(val.x[i : i + 1, :n], val.lengths[i : i + 1])
        assert torch.allclose(alone, batch[i : i + 1], atol=1e-6)
    save_model(tmp_path / "m", model, label_map=["a", "b", "c"])
    loaded, _ = load_model(tmp_path / "m")
    assert torch.equal(loaded(val.x, val.lengths), batch)
    example = next(iter(Batches(val, batch_size=4)))
    path = export_onnx(model, tmp_path / "model.onnx", example=example)
    assert parity_check(model, path, Batches(val, batch_size=7)) <= 1e-4
