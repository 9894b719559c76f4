"""Batch norm's running statistics recomputed for the weights a model ends an epoch with.

During training batch norm keeps an exponential average (momentum 0.1) of the statistics
of the last batches, taken while the weights moved. Where batches are not alike that
average is not the population's: batches bucketed by length put series of one length
together, and on JapaneseVowels (7-26 steps) the ALSTM-FCN ensembles scored .511 on test
in evaluation mode at seed 0 (`python bench/quality.py japanese_vowels --seeds 0` at
c78f26b) and .970-.978 over seeds 0-2 with the statistics recomputed (README, "Quality").
"Precise BN" (Wu & Johnson 2021, "Rethinking 'Batch' in BatchNorm") recomputes them: one
pass over the training data with the weights fixed, a cumulative average over large,
unbucketed batches (only the batch norm layers in training mode). :func:`attnlib.train.fit`
does this before every validation of a model with batch norm, so validation losses, the
kept checkpoint and the saved model use the statistics of their own weights; and it
trains such a model on shuffled batches that are not bucketed by length, so each batch's
statistics are a sample of the population's, as batch norm assumes.
"""

from __future__ import annotations

import torch
from torch import nn

from attnlib.data import Batches, SequenceData

BATCH = 256  # large batches: each one's statistics close to the population's


def batch_norms(model: nn.Module) -> list[nn.Module]:
    """The batch norm layers of ``model``."""
    return [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]


@torch.no_grad()
def recompute_batch_norm(model: nn.Module, data: SequenceData, device: torch.device | str = "cpu",
                         norms: list[nn.Module] | None = None) -> None:  # fmt: skip
    """Reset the running statistics of ``model``'s batch norm layers (``norms``, default
    all) and set them to the cumulative average over ``data`` in order; the weights, the
    momentum and the model's train / eval mode are as before."""
    norms = batch_norms(model) if norms is None else norms
    if not norms:
        return
    was_training = model.training
    model.eval()
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average: 1 / batches seen
        m.train()
    try:
        for batch in Batches(data, BATCH):
            batch = batch.to(device)
            model(batch.x, batch.lengths)
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        model.train(was_training)
