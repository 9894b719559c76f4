"""ALSTM-FCN: padding invariance (masked pooling and batch norm included), shapes, refusals."""

import pytest
import torch
from torch import nn

from attnlib.config import ModelConfig
from attnlib.errors import ConfigError
from attnlib.models import build_model, loss_fn
from attnlib.models.alstm_fcn import ALSTMFCN, MaskedBatchNorm1d, SqueezeExcite


def tiny(channels=3, task="classify", **kw):
    cfg = dict(
        name="alstm_fcn",
        task=task,
        input_kind="numeric",
        input_dim=channels,
        hidden_dim=6,
        num_layers=1,
        num_classes=3,
        horizon=2,
        fcn_filters=(8, 12, 8),
        se_reduction=4,
    )
    cfg.update(kw)
    return build_model(ModelConfig(**cfg))


def warm_up_running_stats(model, channels):
    """A few training-mode passes so eval-mode batch norm uses non-trivial statistics."""
    model.train()
    with torch.no_grad():
        for _ in range(3):
            model(3 + 2 * torch.randn(5, 9, channels), torch.tensor([9, 4, 7, 2, 9]))
    model.eval()


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("task,classes", [("classify", 2), ("classify", 4), ("forecast", 2)])
@pytest.mark.parametrize("query", ["learned", "last"])
@pytest.mark.parametrize("packed", [True, False])
def test_padding_invariance(channels, task, classes, query, packed):
    torch.manual_seed(0)
    model = tiny(channels, task, num_classes=classes, query=query)
    warm_up_running_stats(model, channels)
    model.encoder.packed = packed
    lengths = torch.tensor([6, 1, 3, 9])
    x = torch.randn(4, 11, channels)  # padded beyond the longest, too
    for i, n in enumerate(lengths.tolist()):
        x[i, n:] = 77.0  # garbage in the padding must not matter
    with torch.no_grad():
        y, w = model(x, lengths, return_attention=True)
        for i, n in enumerate(lengths.tolist()):
            yi, wi = model(x[i : i + 1, :n], lengths[i : i + 1], return_attention=True)
            torch.testing.assert_close(y[i], yi[0], atol=1e-5, rtol=0)
            torch.testing.assert_close(w[i, :n], wi[0], atol=1e-5, rtol=0)
            assert (w[i, n:] == 0).all(), "padding must get exactly zero weight"


def test_masked_batch_norm_trains_on_real_steps_only():
    torch.manual_seed(0)
    y = torch.randn(3, 4, 6)  # (B, C, T)
    lengths = torch.tensor([6, 2, 4])
    mask = (torch.arange(6) < lengths[:, None]).float().unsqueeze(1)  # (B, 1, T)
    ours, ref = MaskedBatchNorm1d(4), nn.BatchNorm1d(4)
    real = torch.cat([y[i, :, :n] for i, n in enumerate(lengths.tolist())], dim=1)  # (C, 12)
    got = ours(y * mask + 50 * (1 - mask), mask)  # padding garbage must not move the stats
    want = ref(real.T.unsqueeze(-1)).squeeze(-1).T  # every real step as one batch row
    got_real = torch.cat([got[i, :, :n] for i, n in enumerate(lengths.tolist())], dim=1)
    torch.testing.assert_close(got_real, want, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.running_mean, ref.running_mean)
    torch.testing.assert_close(ours.running_var, ref.running_var)


def test_architecture_follows_the_papers():
    model = build_model(
        ModelConfig(name="alstm_fcn", task="classify", input_kind="numeric", input_dim=3)
    )
    convs = [(b.conv.out_channels, b.conv.kernel_size[0]) for b in model.fcn]
    assert convs == [(128, 8), (256, 5), (128, 3)]
    assert [isinstance(b.se, SqueezeExcite) for b in model.fcn] == [True, True, False]
    univariate = tiny(channels=1)
    assert all(b.se is None for b in univariate.fcn)  # LSTM-FCN: no SE on one channel
    assert model.head.mlp[-1].in_features == model.encoder.out_dim + 128  # both arms side by side


def test_even_kernel_keeps_length_and_output_shapes():
    model = tiny(channels=2, num_classes=5, fcn_kernels=(8, 4, 3)).eval()
    x, lengths = torch.randn(2, 7, 2), torch.tensor([7, 5])
    y, w = model(x, lengths, return_attention=True)
    assert y.shape == (2, 5) and w.shape == (2, 7)
    torch.testing.assert_close(w.sum(-1), torch.ones(2))
    assert tiny(channels=2, num_classes=2).eval()(x, lengths).shape == (2,)
    assert tiny(channels=2, task="forecast", horizon=3, num_targets=2).eval()(x, lengths).shape == (
        2,
        3,
        2,
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"task": "classify", "input_kind": "tokens", "vocab_size": 9},
        {"task": "next_state", "input_kind": "tokens", "vocab_size": 9},
    ],
)
def test_refused_for_tokens_and_next_state(extra):
    with pytest.raises(ConfigError, match="alstm_fcn.*numeric series"):
        build_model({"name": "alstm_fcn", **extra})


def test_overfits_one_small_batch():
    torch.manual_seed(1)
    model = tiny(channels=2, num_classes=3, hidden_dim=16)
    assert isinstance(model, ALSTMFCN)
    model.train()
    lengths = torch.tensor([8, 5, 7, 3, 8, 6])
    x = torch.randn(6, 8, 2)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    loss = loss_fn(model.config)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = loss(model(x, lengths), y).item()
    for _ in range(150):
        opt.zero_grad()
        out = loss(model(x, lengths), y)
        out.backward()
        opt.step()
    assert out.item() < 0.1 * first, (first, out.item())
