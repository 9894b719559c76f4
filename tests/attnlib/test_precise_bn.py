"""Precise batch norm (attnlib.models.precise_bn): running statistics recomputed for the
weights at hand, and a batch-norm model trained on batches that mix lengths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import Batches, SequenceData
from attnlib.models import build_model, loss_fn
from attnlib.models.alstm_fcn import MaskedBatchNorm1d
from attnlib.models.precise_bn import batch_norms, recompute_batch_norm
from attnlib.train import fit, seed_everything


def two_length_groups(n: int = 32, seed: int = 0) -> SequenceData:
    """Short series around 3, long ones around -2: bucketed batches differ in their statistics."""
    rng = np.random.default_rng(seed)
    series, labels = [], []
    for i in range(n):
        short = i % 2 == 0
        length, level = (5, 3.0) if short else (20, -2.0)
        series.append((level + rng.standard_normal((length, 2))).astype(np.float32))
        labels.append(int(rng.random() < 0.5))
    return SequenceData.numeric(series, np.asarray(labels))


def alstm_fcn(seed: int = 0):
    seed_everything(seed)
    cfg = ModelConfig(name="alstm_fcn", task="classify", input_kind="numeric", input_dim=2,
                      hidden_dim=4, num_classes=2, fcn_filters=(4, 6, 4))  # fmt: skip
    return build_model(cfg), cfg


def test_momentum_none_averages_the_batches_cumulatively():
    norm = MaskedBatchNorm1d(1, momentum=None).train()
    ones = torch.ones(1, 1, 4)
    for level in (1.0, 3.0, 8.0):
        norm(torch.full((1, 1, 4), level), ones)
    assert float(norm.running_mean) == pytest.approx(4.0)  # (1 + 3 + 8) / 3, not an EMA
    assert int(norm.num_batches_tracked) == 3


def test_recomputed_statistics_are_the_datas_and_leave_the_model_as_it_was():
    model, _ = alstm_fcn()
    data = two_length_groups()
    model.train()  # stale statistics: a few batches of another distribution
    with torch.no_grad():
        for _ in range(3):
            model(5 + 4 * torch.randn(8, 20, 2), torch.full((8,), 20))
    model.eval()
    momenta = [m.momentum for m in batch_norms(model)]
    recompute_batch_norm(model, data)  # one batch of 32 (<= 256): the data's own statistics
    assert not model.training and [m.momentum for m in batch_norms(model)] == momenta
    with torch.no_grad():
        evaluated = model(data.x, data.lengths)
        for m in batch_norms(model):  # batch norm alone on the whole data as one batch
            m.train()
            m.momentum = 0.0  # do not move the statistics
        batch = model(data.x, data.lengths)
    # equal up to running_var's unbiased n / (n - 1) over 400 real steps
    torch.testing.assert_close(evaluated, batch, atol=2e-3, rtol=1e-3)


def test_a_model_without_batch_norm_is_left_alone():
    model = build_model(ModelConfig(vocab_size=9, embedding_dim=4, hidden_dim=4))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    recompute_batch_norm(model, SequenceData.next_state([[2, 3, 4], [5, 6]]))
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("with_batch_norm", [True, False])
def test_fit_mixes_lengths_and_keeps_the_statistics_of_the_kept_weights(with_batch_norm):
    data = two_length_groups()
    if with_batch_norm:
        model, cfg = alstm_fcn()
    else:
        seed_everything(0)
        cfg = ModelConfig(task="classify", input_kind="numeric", input_dim=2, hidden_dim=4,
                          num_classes=2)  # fmt: skip
        model = build_model(cfg)
    seen = []  # the lengths of every training batch
    model.register_forward_pre_hook(
        lambda m, args: seen.append(set(args[1].tolist())) if m.training else None
    )
    tc = TrainConfig(epochs=3, patience=5, batch_size=8, lr=1e-2, progress=False)
    train = Batches(data, 8, shuffle=True, bucket=True, seed=0)
    fit(model, train, Batches(data, 64), tc, loss_fn=loss_fn(cfg))
    mixed = sum(len(lengths) > 1 for lengths in seen)
    assert (mixed > 0) == with_batch_norm  # buckets hold one length; shuffled batches mix
    if with_batch_norm:  # the saved statistics are those of the weights fit kept
        kept = [m.running_mean.clone() for m in batch_norms(model)]
        recompute_batch_norm(model, data)
        for a, m in zip(kept, batch_norms(model), strict=True):
            torch.testing.assert_close(a, m.running_mean)
