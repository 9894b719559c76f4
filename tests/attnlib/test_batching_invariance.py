"""Bucketing and packing are speed-ups only: they never change a loss or a gradient."""

import pytest
import torch

from attnlib.config import ModelConfig
from attnlib.data import Batch, Batches, SequenceData
from attnlib.models import build_model, loss_fn

V = 30


def data(n=48):
    g = torch.Generator().manual_seed(0)
    lengths = torch.randint(2, 40, (n,), generator=g).tolist()
    seqs = [torch.randint(2, V, (n_,), generator=g).tolist() for n_ in lengths]
    return SequenceData.next_state(seqs)


def padded_to(batch: Batch, T: int) -> Batch:
    """The same batch padded to T steps (as a reference pads to the longest in the data)."""
    x = torch.zeros(batch.x.shape[0], T, dtype=batch.x.dtype)
    y = torch.zeros(batch.y.shape[0], T, dtype=batch.y.dtype)
    x[:, : batch.x.shape[1]], y[:, : batch.y.shape[1]] = batch.x, batch.y
    return Batch(x, batch.lengths, y)


@pytest.mark.parametrize("name", ["lstm_attention"])
def test_same_loss_and_grads_with_and_without_packing_and_bucketing(name):
    d = data()
    cfg = ModelConfig(name=name, vocab_size=V, embedding_dim=8, hidden_dim=12, num_layers=2)
    model = build_model(cfg)
    lf = loss_fn(cfg)
    Tmax = int(d.lengths.max())
    for idx in Batches(d, 8, shuffle=True, bucket=True, seed=1).indices():
        b = d.batch(idx)  # cut to its own longest sequence
        losses, grads = [], []
        runs = [
            (packed, batch) for batch in (b, padded_to(b, Tmax)) for packed in (True, False, "auto")
        ]
        for packed, batch in runs:  # "auto": segmented by length on the CPU, the default
            model.encoder.packed = packed
            model.zero_grad()
            loss = lf(model(batch.x, batch.lengths), batch.y)
            loss.backward()
            losses.append(loss.item())
            grads.append(torch.cat([p.grad.flatten() for p in model.parameters()]))
        for loss, grad in zip(losses[1:], grads[1:], strict=True):
            assert loss == pytest.approx(losses[0], abs=1e-5)
            torch.testing.assert_close(grad, grads[0], atol=1e-5, rtol=0)


def test_epoch_loss_is_independent_of_bucketing():
    d = data()
    cfg = ModelConfig(vocab_size=V, embedding_dim=8, hidden_dim=12)
    model = build_model(cfg).eval()
    lf = loss_fn(cfg)

    def mean_loss(bucket):
        total = count = 0
        with torch.no_grad():
            for b in Batches(d, 8, shuffle=True, bucket=bucket, seed=4):
                n = int((b.y != 0).sum())
                total += lf(model(b.x, b.lengths), b.y).item() * n
                count += n
        return total / count

    assert mean_loss(True) == pytest.approx(mean_loss(False), abs=1e-5)
