"""Attention scorers and the masked softmax that keeps padding out.

Every scorer maps a query ``q`` (B, Q, D) and keys ``h`` (B, T, D) to scores (B, Q, T);
:class:`Attention` turns them into weights over the *valid* steps only and a context
vector ``c = sum_i alpha_i h_i``. Padding (and, for next-state, the future) gets -inf
before the softmax, so its weight is exactly 0.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim where ``mask`` is True; exactly 0 elsewhere.

    Args:
        scores: (..., T) raw scores.
        mask: bool, broadcastable to ``scores``; True = may be attended to.
            Every row must have at least one True (a length-1 sequence has one).
    """
    scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1)


class AdditiveScorer(nn.Module):
    """Bahdanau: ``v^T tanh(W_q q + W_k h)``."""

    def __init__(self, dim: int, attn_dim: int):
        super().__init__()
        self.w_q = nn.Linear(dim, attn_dim, bias=False)
        self.w_k = nn.Linear(dim, attn_dim)
        self.v = nn.Linear(attn_dim, 1, bias=False)

    def forward(self, q: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        e = torch.tanh(self.w_q(q).unsqueeze(2) + self.w_k(h).unsqueeze(1))  # (B, Q, T, A)
        return self.v(e).squeeze(-1)  # (B, Q, T)


class DotScorer(nn.Module):
    """Luong dot: ``q . h``."""

    def __init__(self, dim: int, attn_dim: int):
        super().__init__()

    def forward(self, q: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return q @ h.transpose(1, 2)  # (B, Q, T)


class ScaledDotScorer(nn.Module):
    """Transformer-style: ``q . h / sqrt(D)``."""

    def __init__(self, dim: int, attn_dim: int):
        super().__init__()
        self.scale = 1.0 / math.sqrt(dim)

    def forward(self, q: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return (q @ h.transpose(1, 2)) * self.scale  # (B, Q, T)


class GeneralScorer(nn.Module):
    """Luong general: ``q^T W h``."""

    def __init__(self, dim: int, attn_dim: int):
        super().__init__()
        self.w = nn.Linear(dim, dim, bias=False)

    def forward(self, q: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.w(q) @ h.transpose(1, 2)  # (B, Q, T)


SCORERS: dict[str, type[nn.Module]] = {
    "additive": AdditiveScorer,
    "dot": DotScorer,
    "general": GeneralScorer,
    "scaled_dot": ScaledDotScorer,
}


class Attention(nn.Module):
    """Scores, masked softmax and context in one module.

    Args:
        dim: size of query and key vectors (D).
        scorer: one of :data:`SCORERS`.
        attn_dim: hidden size of the additive scorer (ignored by the others).
    """

    def __init__(self, dim: int, scorer: str = "additive", attn_dim: int | None = None):
        super().__init__()
        self.scorer = SCORERS[scorer](dim, attn_dim or dim)

    def forward(
        self, q: torch.Tensor, h: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: q (B, Q, D); h (B, T, D); mask bool (B, Q or 1, T), True = attend.

        Returns: context (B, Q, D) and weights (B, Q, T), each row summing to 1 over
        the allowed steps and exactly 0 elsewhere.
        """
        weights = masked_softmax(self.scorer(q, h), mask)  # (B, Q, T)
        return weights @ h, weights
