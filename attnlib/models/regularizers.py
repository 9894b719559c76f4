"""AWD-LSTM's regularisers (Merity, Keskar & Socher 2017, "Regularizing and Optimizing LSTM
Language Models"): embedding dropout and locked (variational) dropout.

Weight tying, the third, is one line in :class:`~attnlib.models.AttentionLSTM`
(``head.out.weight = input.weight``). Hand-written: torch has neither (``nn.Dropout1d``
drops channels of a (B, C, T) tensor, not the same units at every step of a (B, T, D) one).
"""

from __future__ import annotations

import torch
from torch import nn


class EmbeddingDropout(nn.Embedding):
    """An embedding that, in training, drops whole word *types* with probability ``p``.

    A dropped word's vector is zero wherever it occurs in the batch; the kept rows are
    scaled by ``1 / (1 - p)``. In eval mode it is a plain :class:`nn.Embedding` (same
    parameter name ``weight``, so checkpoints of either load into the other).
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, *, p: float, padding_idx: int):
        super().__init__(num_embeddings, embedding_dim, padding_idx=padding_idx)
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return super().forward(x)
        keep = word_type_keep(self.num_embeddings, self.p, self.weight.device)
        return nn.functional.embedding(x, self.weight * keep, self.padding_idx)  # (B, T, E)


def word_type_keep(num_embeddings: int, p: float, device: torch.device) -> torch.Tensor:
    """(V, 1) float32 scales, one draw per word type: 0 with probability ``p``, else
    ``1 / (1 - p)`` (in float32: bf16 would round 1 / 0.9 to 1.109)."""
    keep = torch.empty(num_embeddings, 1, device=device)
    return keep.bernoulli_(1 - p) / (1 - p)


class LockedDropout(nn.Module):
    """Dropout with one mask per sequence, shared by all its time steps: x (B, T, D).

    Standard dropout draws a fresh mask at every step, which an LSTM's recurrence smears
    into noise; the locked mask drops the same units for the whole sequence.
    """

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        mask = x.new_empty(x.shape[0], 1, x.shape[2]).bernoulli_(1 - self.p)  # (B, 1, D)
        return x * mask / (1 - self.p)
