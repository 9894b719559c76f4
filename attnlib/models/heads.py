"""Task heads on top of the encoder outputs. Each returns (prediction, attention weights)."""

from __future__ import annotations

import torch
from torch import nn

from attnlib.models.attention import Attention


class NextStateHead(nn.Module):
    """SeqLab's documented head: ``y_t = W_o tanh(W [c_t; h_t])`` at every position.

    Attention is causal: position t attends over steps 0..t only, so the prediction of
    token t+1 never sees it.
    """

    def __init__(self, dim: int, vocab_size: int, scorer: str, dropout: float):
        super().__init__()
        self.attention = Attention(dim, scorer)
        self.combine = nn.Linear(2 * dim, dim)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(dim, vocab_size)

    def forward(self, h: torch.Tensor, last: torch.Tensor, mask: torch.Tensor):
        T = h.shape[1]
        causal = torch.ones(T, T, dtype=torch.bool, device=h.device).tril()  # (T, T)
        allowed = causal.unsqueeze(0) & mask.unsqueeze(1)  # (B, T, T)
        c, w = self.attention(h, h, allowed)  # (B, T, D), (B, T, T)
        z = torch.tanh(self.combine(torch.cat([c, h], dim=-1)))  # (B, T, D)
        return self.out(self.dropout(z)), w  # logits (B, T, V)


class PooledHead(nn.Module):
    """One attention query per sequence (learned vector or last hidden state) -> an MLP.

    Used for classification (out_dim = 1 for binary, K otherwise) and regression
    (out_dim = horizon * targets). ``shape`` is the task's output shape per item, which
    the model gives the output: None keeps (B, out_dim); ``()`` squeezes one output to
    (B,); ``(H, K)`` views it as (B, H, K).
    """

    def __init__(
        self, dim: int, out_dim: int, scorer: str, query: str, dropout: float, hidden=0,
        shape: tuple[int, ...] | None = None,
    ):  # fmt: skip
        super().__init__()
        self.shape = shape
        self.attention = Attention(dim, scorer)
        self.query = query
        self.learned_q = nn.Parameter(torch.randn(dim) / dim**0.5) if query == "learned" else None
        self.dropout = nn.Dropout(dropout)
        layers: list[nn.Module] = []
        if hidden:
            layers += [nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(dropout)]
        layers.append(nn.Linear(hidden or dim, out_dim))
        self.mlp = nn.Sequential(*layers)

    def forward(self, h: torch.Tensor, last: torch.Tensor, mask: torch.Tensor):
        B = h.shape[0]
        q = self.learned_q.expand(B, 1, -1) if self.learned_q is not None else last.unsqueeze(1)
        c, w = self.attention(q, h, mask.unsqueeze(1))  # (B, 1, D), (B, 1, T)
        return self.mlp(self.dropout(c.squeeze(1))), w.squeeze(1)  # (B, out), (B, T)

    def zero_output(self) -> None:
        """Zero the last layer, so the head outputs 0 until it trains (a model that starts
        from a fixed forecast beneath it: attnlib.models.linear_base)."""
        with torch.no_grad():
            self.mlp[-1].weight.zero_()
            self.mlp[-1].bias.zero_()


def shaped(head: nn.Module, y: torch.Tensor) -> torch.Tensor:
    """A head's output given the per-item shape the task built it with (``head.shape``):
    ``()`` squeezes to (B,), a tuple views (B, *shape), none leaves it as it is."""
    shape = getattr(head, "shape", None)
    if shape == ():
        return y.squeeze(-1)  # (B,)
    return y if shape is None else y.view(-1, *shape)  # (B, *shape)
