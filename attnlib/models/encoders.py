"""Input layers and the (Bi)LSTM encoder over packed sequences.

Shapes: B batch, T padded length, E input size, H hidden size per direction,
D = H * directions. ``lengths`` (B,) holds each sequence's real length (>= 1).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def length_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B, T) bool, True = real step."""
    return torch.arange(T, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence's real steps, leaving padding at the end. Its own inverse."""
    B, T = x.shape[:2]
    t = torch.arange(T, device=x.device).unsqueeze(0).expand(B, T)
    lens = lengths.to(x.device).unsqueeze(1)
    idx = torch.where(t < lens, lens - 1 - t, t)  # (B, T)
    return x.gather(1, idx.unsqueeze(-1).expand_as(x))


class ConvFrontEnd(nn.Module):
    """Conv1d + ReLU + MaxPool1d over time, padding kept out of every real window.

    Padded steps are zeroed before the convolution (so a sequence sees the same zero
    padding whether batched or alone) and after the ReLU (so, with outputs >= 0, a pool
    window that straddles the end has the same max). Lengths become ceil(len / pool).
    """

    def __init__(self, in_dim: int, channels: int, kernel: int, pool: int):
        super().__init__()
        self.conv = nn.Conv1d(in_dim, channels, kernel, padding=kernel // 2)
        self.pool = pool

    def forward(self, x: torch.Tensor, lengths: torch.Tensor):
        T = x.shape[1]
        mask = length_mask(lengths, T).unsqueeze(-1)  # (B, T, 1)
        y = self.conv((x * mask).transpose(1, 2))[..., :T]  # (B, C, T)
        y = torch.relu(y) * mask.transpose(1, 2)
        if self.pool > 1:
            y = nn.functional.max_pool1d(y, self.pool, ceil_mode=True)  # (B, C, ceil(T/p))
            lengths = torch.div(lengths + self.pool - 1, self.pool, rounding_mode="floor")
        return y.transpose(1, 2), lengths  # (B, T', C)


class LSTMEncoder(nn.Module):
    """Stacked (Bi)LSTM, one module per layer and direction.

    The backward direction runs a forward LSTM over each sequence reversed *within its
    length*, so padding never precedes real steps in either direction. With ``packed``
    (the default) each layer runs over a PackedSequence and padding costs nothing; with
    ``packed=False`` (ONNX export) it runs over the padded tensor and, thanks to the
    reversal, real steps still get exactly the same outputs.

    Args:
        in_dim: E. hidden_dim: H. num_layers: L. bidirectional: two directions per layer.
        dropout: applied between layers.
    """

    def __init__(
        self, *, in_dim: int, hidden_dim: int, num_layers: int, bidirectional: bool, dropout: float
    ):
        super().__init__()
        dirs = 2 if bidirectional else 1
        self.layers = nn.ModuleList(
            nn.ModuleList(
                nn.LSTM(in_dim if i == 0 else hidden_dim * dirs, hidden_dim, batch_first=True)
                for _ in range(dirs)
            )
            for i in range(num_layers)
        )
        self.dropout = nn.Dropout(dropout)
        self.out_dim = hidden_dim * dirs
        self.packed = True

    def _run(self, lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        if not self.packed:
            return lstm(x)[0]
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = lstm(packed)
        return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: x (B, T, E); lengths (B,).

        Returns: outputs (B, T, D), zero on padding; last (B, D): the forward direction's
        state at the last real step, with the backward direction's state at step 0.
        """
        mask = length_mask(lengths, x.shape[1]).unsqueeze(-1)  # (B, T, 1)
        for i, directions in enumerate(self.layers):
            if i > 0:
                x = self.dropout(x)
            outs = [self._run(directions[0], x, lengths)]
            if len(directions) == 2:
                rev = reverse_within_length(x, lengths)
                outs.append(reverse_within_length(self._run(directions[1], rev, lengths), lengths))
            x = torch.cat(outs, dim=-1) * mask  # (B, T, D)
        last_idx = (lengths.to(x.device) - 1).view(-1, 1, 1).expand(-1, 1, x.shape[-1])
        last = x.gather(1, last_idx).squeeze(1)  # (B, D), forward half correct
        if len(self.layers[0]) == 2:
            H = x.shape[-1] // 2
            last = torch.cat([last[:, :H], x[:, 0, H:]], dim=-1)
        return x, last
