"""Model behaviour: padding invariance, causality, shapes, the next-state head, overfitting."""

import pytest
import torch

from attnlib.config import ModelConfig
from attnlib.errors import ConfigError
from attnlib.models import build_model, loss_fn
from attnlib.models.attention import masked_softmax

SCORERS = ["additive", "dot", "general", "scaled_dot"]
V, C = 13, 3


def tiny(name, task, scorer="additive", query="learned", **kw):
    kind = "numeric" if task == "forecast" else "tokens"
    cfg = dict(
        name=name,
        task=task,
        input_kind=kind,
        vocab_size=V,
        input_dim=C,
        embedding_dim=8,
        hidden_dim=6,
        num_layers=2,
        attention=scorer,
        query=query,
        num_classes=3,
        horizon=2,
        cnn_channels=5,
    )
    cfg.update(kw)
    return build_model(ModelConfig(**cfg)).eval()


CASES = [
    (name, task, scorer, query)
    for name in ["lstm_attention", "bilstm_attention", "cnn_bilstm_attention"]
    for task in ["next_state", "classify", "forecast"]
    if not (task == "next_state" and name != "lstm_attention")
    for scorer in SCORERS
    for query in (["learned"] if task == "next_state" else ["learned", "last"])
]


def batch_for(model, lengths, T, pad_value):
    if model.config.input_kind == "tokens":
        x = torch.randint(2, V, (len(lengths), T))
    else:
        x = torch.randn(len(lengths), T, C)
    for i, n in enumerate(lengths.tolist()):
        x[i, n:] = pad_value  # garbage in the padding must not matter
    return x


@pytest.mark.parametrize("name,task,scorer,query", CASES)
@pytest.mark.parametrize("packed", [True, False])
def test_padding_invariance(name, task, scorer, query, packed):
    model = tiny(name, task, scorer, query)
    model.encoder.packed = packed
    lengths = torch.tensor([6, 1, 3, 9])
    pad = 0 if model.config.input_kind == "tokens" else 77.0
    x = batch_for(model, lengths, 11, pad)  # padded beyond the longest, too
    with torch.no_grad():
        y, w = model(x, lengths, return_attention=True)
        for i, n in enumerate(lengths.tolist()):
            yi, wi = model(x[i : i + 1, :n], lengths[i : i + 1], return_attention=True)
            if task == "next_state":
                torch.testing.assert_close(y[i, :n], yi[0], atol=1e-5, rtol=0)
                torch.testing.assert_close(w[i, :n, :n], wi[0], atol=1e-5, rtol=0)
                assert (w[i, :n, n:] == 0).all()
                torch.testing.assert_close(w[i, :n].sum(-1), torch.ones(n))
            else:
                torch.testing.assert_close(y[i], yi[0], atol=1e-5, rtol=0)
                k = wi.shape[-1]  # encoder steps (fewer than n after the CNN's pooling)
                torch.testing.assert_close(w[i, :k], wi[0], atol=1e-5, rtol=0)
                assert (w[i, k:] == 0).all(), "padding must get exactly zero weight"
                torch.testing.assert_close(w[i].sum(), torch.tensor(1.0))


@pytest.mark.parametrize("scorer", SCORERS)
def test_next_state_is_causal(scorer):
    model = tiny("lstm_attention", "next_state", scorer)
    x = torch.randint(2, V, (1, 10))
    lengths = torch.tensor([10])
    with torch.no_grad():
        base, w = model(x, lengths, return_attention=True)
        assert (w[0].triu(1) == 0).all(), "position t must not attend to steps after t"
        for t in range(9):
            changed = x.clone()
            changed[0, t + 1 :] = (changed[0, t + 1 :] + 1 - 2) % (V - 2) + 2
            out = model(changed, lengths)
            torch.testing.assert_close(out[0, : t + 1], base[0, : t + 1], atol=0, rtol=0)
            assert not torch.allclose(out[0, t + 1], base[0, t + 1])


def test_next_state_head_uses_context_and_current_output():
    model = tiny("lstm_attention", "next_state")
    D = model.encoder.out_dim
    assert model.head.combine.in_features == 2 * D  # tanh(W [c; h_t])
    assert model.head.out.out_features == V


def test_bidirectional_next_state_is_rejected():
    with pytest.raises(ValueError, match="would see the future"):
        ModelConfig(name="bilstm_attention", task="next_state", vocab_size=V)


def test_output_shapes():
    lengths = torch.tensor([4, 2])
    assert tiny("bilstm_attention", "classify", num_classes=2)(
        batch_for(tiny("bilstm_attention", "classify"), lengths, 4, 0), lengths
    ).shape == (2,)
    m = tiny("bilstm_attention", "classify", num_classes=5)
    assert m(batch_for(m, lengths, 4, 0), lengths).shape == (2, 5)
    m = tiny("cnn_bilstm_attention", "forecast", horizon=3, num_targets=2)
    y, w = m(batch_for(m, lengths, 4, 0.0), lengths, return_attention=True)
    assert y.shape == (2, 3, 2) and w.shape == (2, 2)  # 4 steps pooled by 2
    m = tiny("lstm_attention", "next_state")
    y, w = m(batch_for(m, lengths, 4, 0), lengths, return_attention=True)
    assert y.shape == (2, 4, V) and w.shape == (2, 4, 4)


def test_masked_softmax_exact_zero_and_length_one():
    scores = torch.randn(2, 1, 4)
    mask = torch.tensor([[[True, False, False, False]], [[True, True, True, False]]])
    w = masked_softmax(scores, mask)
    assert w[0, 0, 0] == 1.0 and (w[0, 0, 1:] == 0).all()
    assert w[1, 0, 3] == 0 and torch.isclose(w[1].sum(), torch.tensor(1.0))


def test_unknown_names_are_config_errors():
    with pytest.raises(ConfigError, match="model.attention"):
        build_model({"name": "lstm_attention", "attention": "cosine", "vocab_size": V})
    with pytest.raises(ConfigError, match="model.name"):
        build_model({"name": "transformer", "vocab_size": V})


@pytest.mark.parametrize(
    "name,task",
    [
        ("lstm_attention", "next_state"),
        ("lstm_attention", "classify"),
        ("bilstm_attention", "classify"),
        ("cnn_bilstm_attention", "classify"),
        ("bilstm_attention", "forecast"),
        ("cnn_bilstm_attention", "forecast"),
    ],
)
def test_overfits_one_small_batch(name, task):
    torch.manual_seed(1)
    model = tiny(name, task, num_layers=1, hidden_dim=32, embedding_dim=16, num_classes=3)
    model.train()
    lengths = torch.tensor([8, 5, 7, 3, 8, 6])
    x = batch_for(model, lengths, 8, 0 if task != "forecast" else 0.0)
    if task == "next_state":
        y = torch.randint(2, V, (6, 8))
        y[torch.arange(8) >= lengths.unsqueeze(1)] = 0
    elif task == "classify":
        y = torch.tensor([0, 1, 2, 0, 1, 2])
    else:
        y = torch.randn(6, 2, 1)
    loss = loss_fn(model.config)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = loss(model(x, lengths), y).item()
    for _ in range(300):
        opt.zero_grad()
        out = loss(model(x, lengths), y)
        out.backward()
        opt.step()
    assert out.item() < 0.1 * first, (first, out.item())


@pytest.mark.parametrize("name", ["lstm_attention", "cnn_bilstm_attention", "alstm_fcn"])
def test_local_level_reads_shape_not_level(name):
    """``local_level``: a window shifted by a constant per channel gives the same forecast;
    without it the forecast moves; padding is still invisible (the last *real* step)."""
    extra = {"fcn_filters": (4, 6, 4), "se_reduction": 2} if name == "alstm_fcn" else {}
    torch.manual_seed(0)
    model = tiny(name, "forecast", local_level=True, **extra)
    torch.manual_seed(0)
    plain = tiny(name, "forecast", **extra)
    lengths = torch.tensor([7, 3, 5])
    x = batch_for(model, lengths, 9, 55.0)
    shift = torch.tensor([100.0, -3.0, 0.5])  # per channel
    shifted = x + shift
    with torch.no_grad():
        y = model(x, lengths)
        torch.testing.assert_close(model(shifted, lengths), y, atol=1e-4, rtol=0)
        assert not torch.allclose(plain(shifted, lengths), plain(x, lengths), atol=1e-3)
        for i, n in enumerate(lengths.tolist()):
            alone = model(x[i : i + 1, :n], lengths[i : i + 1])
            torch.testing.assert_close(y[i], alone[0], atol=1e-5, rtol=0)


def test_local_level_needs_numeric_input():
    with pytest.raises(ValueError, match="local_level"):
        ModelConfig(task="classify", vocab_size=V, local_level=True)
