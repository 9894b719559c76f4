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


def assert_scorer_reads_the_mixed_model(model: nn.Module, data: SequenceData) -> None:
    """The faithfulness scorer, which mixes the partner in itself after picking the step it
    reads, gives the whole model's distribution and attention there; the partner stays
    mixed afterwards."""
    from attnlib.trust.faithfulness import scorer

    assert model.partner.active
    out, w = scorer(model).forward(data.x, data.lengths)
    with torch.no_grad():
        full, att = model(data.x, data.lengths, return_attention=True)
    if att.dim() == 3:  # per step: the prediction after the last real step
        rows, last = torch.arange(len(data.x)), data.lengths - 1
        full, att = full[rows, last], att[rows, last]
    if full.dim() == 1:  # one binary logit
        full = torch.stack([torch.zeros_like(full), full], dim=1)
    torch.testing.assert_close(out.log_softmax(-1), full.log_softmax(-1), atol=1e-5, rtol=0)
    torch.testing.assert_close(w, att)
    assert model.partner.active
