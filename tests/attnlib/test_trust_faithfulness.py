"""Faithfulness checks: dropping steps, the model adapter, erasure and integrated gradients."""

import numpy as np
import pytest
import torch

from attnlib.config import ModelConfig
from attnlib.models import build_model
from attnlib.trust.faithfulness import Scorer, drop_steps, faithfulness_report, scorer

FILLER = range(2, 12)  # ids 0 / 1 are <pad> / <unk>
KEYS = (12, 13, 14)  # the one token that fixes the label: class = KEYS.index(key)


def _key_token_data(n, seed):
    """Sequences of 6-14 filler tokens holding exactly one key token; label = which key."""
    g = np.random.default_rng(seed)
    lengths = g.integers(6, 15, size=n)
    x = np.zeros((n, lengths.max()), dtype=np.int64)
    y = g.integers(0, len(KEYS), size=n)
    for i, L in enumerate(lengths):
        x[i, :L] = g.choice(list(FILLER), size=L)
        x[i, g.integers(0, L)] = KEYS[y[i]]
    return torch.from_numpy(x), torch.from_numpy(lengths), torch.from_numpy(y)


@pytest.fixture(scope="module")
def key_model():
    """A tiny classifier trained for a few seconds until it reads the key token."""
    torch.manual_seed(0)
    cfg = ModelConfig(task="classify", vocab_size=15, embedding_dim=16, hidden_dim=24,
                      attention="general", num_classes=len(KEYS))  # fmt: skip
    model = build_model(cfg)
    x, lengths, y = _key_token_data(1500, seed=0)
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    g = torch.Generator().manual_seed(0)
    for _ in range(250):
        idx = torch.randint(0, len(x), (64,), generator=g)
        L = lengths[idx]
        loss = torch.nn.functional.cross_entropy(model(x[idx, : int(L.max())], L), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    xt, lt, yt = _key_token_data(300, seed=1)
    with torch.no_grad():
        acc = (model(xt, lt).argmax(-1) == yt).float().mean().item()
    assert acc > 0.95, f"the fixture model did not learn the key token (accuracy {acc:.2f})"
    return model, (xt, lt)


def test_drop_steps_removes_exactly_the_marked_steps():
    x = torch.tensor([[5, 6, 7, 8], [9, 10, 0, 0]])
    lengths = torch.tensor([4, 2])
    drop = torch.tensor([[False, True, False, True], [True, False, True, True]])  # pads too
    out, new = drop_steps(x, lengths, drop)
    assert new.tolist() == [2, 1]
    assert out.tolist() == [[5, 7], [10, 0]]
    values = torch.arange(24, dtype=torch.float32).view(2, 4, 3)
    out, new = drop_steps(values, lengths, drop)
    assert torch.equal(out[0], values[0, [0, 2]]) and torch.equal(out[1, 0], values[1, 1])
    assert (out[1, 1] == 0).all()


def test_attention_erasure_flips_far_more_than_random_or_least_attended(key_model):
    model, (x, lengths) = key_model
    rep = faithfulness_report(scorer(model), x, lengths, n_items=200, seed=0)
    k1 = rep["erasure"]["k1"]
    # without its key token an item's class is a guess among 3: about half the decisions flip
    assert k1["top"]["flip_rate"] > 0.4
    assert k1["random"]["flip_rate"] < 0.25
    assert k1["top"]["flip_rate"] > 3 * k1["random"]["flip_rate"]
    # the wrong ranking would fail here: the least attended steps are filler
    assert k1["bottom"]["flip_rate"] < 0.05 < k1["top"]["flip_rate"]
    for k in ("k1", "k10pct", "k20pct"):
        e = rep["erasure"][k]
        assert e["top"]["comprehensiveness"] > e["random"]["comprehensiveness"]
        assert e["bottom"]["comprehensiveness"] < e["top"]["comprehensiveness"]
        # keeping only the top-k keeps the key: sufficient, unlike k random steps
        assert rep["sufficiency"][k]["top"] < rep["sufficiency"][k]["random"]
    assert rep["attention_beats_random"] and rep["p_value"] < 1e-6
    assert rep["verdict"] == "yes"
    assert rep["verdict_line"].startswith(
        "attention top-k erasure hurts more than random: yes, by +"
    )
    assert rep["n_items"] == 200
    assert rep["ig_spearman"] > 0.1 and rep["ig_items"] > 50  # IG agrees, if loosely


def test_a_misleading_attention_gets_a_no(key_model):
    """The same model, but its attention reported backwards: top-k erasure now removes filler."""
    model, (x, lengths) = key_model
    honest = scorer(model)

    def backwards(xb, lb):
        logits, w = honest.forward(xb, lb)
        real = torch.arange(w.shape[1])[None, :] < lb[:, None]
        return logits, torch.where(real, 1 - w, 0.0)

    rep = faithfulness_report(Scorer(backwards, honest.layer), x, lengths, n_items=120,
                              seed=1, ig_steps=0)  # fmt: skip
    assert not rep["attention_beats_random"]
    assert rep["verdict"] == "no"
    assert rep["verdict_line"].startswith("attention top-k erasure hurts more than random: no")
    assert rep["ig_spearman"] is None


def test_subsample_is_seeded_and_skips_one_step_items(key_model):
    model, (x, lengths) = key_model
    lengths = lengths.clone()
    lengths[:50] = 1
    a = faithfulness_report(scorer(model), x, lengths, n_items=40, seed=3, ig_steps=0)
    b = faithfulness_report(scorer(model), x, lengths, n_items=40, seed=3, ig_steps=0)
    assert a == b and a["n_items"] == 40


def test_scorer_adapts_binary_and_next_state_models():
    torch.manual_seed(0)
    x = torch.tensor([[3, 4, 5, 0], [6, 7, 8, 9]])
    lengths = torch.tensor([3, 4])
    binary = build_model(ModelConfig(task="classify", vocab_size=10, embedding_dim=8,
                                     hidden_dim=8, num_classes=2))  # fmt: skip
    logits, w = scorer(binary).forward(x, lengths)
    assert logits.shape == (2, 2) and (logits[:, 0] == 0).all()
    torch.testing.assert_close(logits[:, 1], binary(x, lengths))
    ns = build_model(ModelConfig(task="next_state", vocab_size=10, embedding_dim=8, hidden_dim=8))
    logits, w = scorer(ns).forward(x, lengths)
    full, full_w = ns(x, lengths, return_attention=True)
    torch.testing.assert_close(logits[0], full[0, 2])  # after the last real token
    torch.testing.assert_close(w[1], full_w[1, 3])
    assert w.shape == (2, 4) and w[0, 3].item() == 0.0  # padding gets no attention
    rep = faithfulness_report(scorer(ns), x, lengths, n_items=2, ig_steps=4)
    assert rep["n_items"] == 2 and set(rep["erasure"]) == {"k1", "k10pct", "k20pct"}


@pytest.mark.parametrize("name", ["bilstm_attention", "cnn_bilstm_attention", "alstm_fcn"])
def test_numeric_series_and_the_cnn_front_end(name):
    """Numeric input takes integrated gradients on the values; the CNN's pooled attention is
    spread back over the input steps it covers, so erasure ranks input steps."""
    torch.manual_seed(0)
    cfg = ModelConfig(name=name, task="classify", input_kind="numeric", input_dim=2,
                      embedding_dim=8, hidden_dim=8, num_classes=3, cnn_channels=8)  # fmt: skip
    model = build_model(cfg)
    x = torch.randn(30, 11, 2)
    lengths = torch.randint(2, 12, (30,))
    sc = scorer(model)
    assert sc.layer is None
    logits, w = sc.forward(x, lengths)
    assert logits.shape == (30, 3) and w.shape == (30, 11)
    if name == "cnn_bilstm_attention":  # pool 2: steps 2j and 2j+1 share window j's weight
        _, pooled = model(x, lengths, return_attention=True)
        torch.testing.assert_close(w[:, 0], pooled[:, 0] / 2)
        torch.testing.assert_close(w[:, 1], pooled[:, 0] / 2)
    rep = faithfulness_report(sc, x, lengths, n_items=20, ig_steps=4)
    assert rep["n_items"] == 20 and rep["ig_items"] > 0


def test_no_erasable_item_is_reported_not_checked(key_model):
    """Texts of one token each (names as words) leave attention nothing to rank: the
    report says so, and evaluation goes on (it used to stop with a DataError)."""
    model, (x, _) = key_model
    rep = faithfulness_report(scorer(model), x[:5], torch.ones(5, dtype=torch.long))
    assert rep["n_items"] == 0 and rep["verdict"] == "n/a"
    assert "one step long" in rep["verdict_line"]


def test_scorer_refuses_a_model_without_class_logits():
    cfg = ModelConfig(task="forecast", input_kind="numeric", input_dim=1, embedding_dim=4,
                      hidden_dim=4, horizon=3)  # fmt: skip
    with pytest.raises(ValueError, match="class logits"):
        scorer(build_model(cfg)).forward(torch.randn(2, 5, 1), torch.tensor([5, 3]))
