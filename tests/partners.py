"""What the partner tests share: a model with its partner fitted and mixed in."""

from __future__ import annotations

import torch
from torch import nn

from attnlib.data import SequenceData
from attnlib.models.partner import fit_partner, set_mix


def assert_alone_equals_padded(model: nn.Module, train: SequenceData, val: SequenceData,
                               atol: float) -> nn.Module:  # fmt: skip
    """Fit ``model``'s partner on ``train``, mix it in at 0.5 and check every sequence of
    ``val`` alone against its row of the padded batch (a next-state model's: its real
    steps); returns the model (eval mode)."""
    fit_partner(model, train, val)
    set_mix(model.partner, 0.5)
    model.eval()
    batch = model(val.x, val.lengths)
    for i in range(len(val)):
        n = int(val.lengths[i])
        alone = model(val.x[i : i + 1, :n], val.lengths[i : i + 1])
        row = batch[i : i + 1, :n] if batch.dim() == 3 else batch[i : i + 1]  # per step: n
        assert torch.allclose(alone, row, atol=atol)
    return model
