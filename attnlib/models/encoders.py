"""Input layers and the (Bi)LSTM encoder over packed, padded or segmented sequences.

Shapes: B batch, T padded length, E input size, H hidden size per direction,
D = H * directions. ``lengths`` (B,) holds each sequence's real length (>= 1).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from attnlib.models.regularizers import LockedDropout

# The cost model of "auto" segments, in row-steps (one sequence, one time step): a step of a
# segment with fewer than SEGMENT_MIN_ROWS active rows costs as much as one with that many
# (small matmuls are no cheaper), and each segment (one oneDNN call) costs SEGMENT_COST more.
# Fitted by timing training batches on 2 cores.
SEGMENT_MIN_ROWS = 16
SEGMENT_COST = 128
MAX_CUTS = 48  # candidate cuts considered (quantiles of the lengths): bounds the planning time


def length_mask(lengths: torch.Tensor, T: int) -> torch.Tensor:
    """(B, T) bool, True = real step."""
    return torch.arange(T, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


def relative_to_last(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Values (B, T, C) minus each sequence's last real step (``local_level``), padding
    left at 0: the model reads a window's shape, not its level."""
    lengths = lengths.to(x.device)
    idx = (lengths - 1).clamp(min=0).view(-1, 1, 1).expand(-1, 1, x.shape[2])  # (B, 1, C)
    last = x.gather(1, idx)  # (B, 1, C): a gather exports to ONNX as one op
    return (x - last) * length_mask(lengths, x.shape[1]).unsqueeze(-1)


def reverse_within_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each sequence's real steps, leaving padding at the end. Its own inverse."""
    B, T = x.shape[:2]
    # No padding (most length-bucketed batches): a plain flip gives the same values without a
    # gather and its scatter-add backward. Not when tracing (ONNX): the test is data-dependent.
    if not torch.jit.is_tracing() and bool((lengths == T).all()):
        return x.flip(1)
    t = torch.arange(T, device=x.device).unsqueeze(0).expand(B, T)
    lens = lengths.to(x.device).unsqueeze(1)
    idx = torch.where(t < lens, lens - 1 - t, t)  # (B, T)
    return x.gather(1, idx.unsqueeze(-1).expand_as(x))


def segment_plan(lengths: list[int]) -> list[tuple[int, int, int]]:
    """Cut time into segments that each run as one LSTM call over the rows still active.

    Row i is active in a segment starting at step t0 while ``lengths[i] > t0``; within a
    segment every active row runs every step (the steps past its end are padding). The
    cut minimises the cost model above by dynamic programming over the distinct lengths.

    Args:
        lengths: real lengths, sorted in descending order (active rows come first).
    Returns:
        ``[(t0, t1, rows), ...]`` covering ``0 .. max(lengths)``; one segment when padding
        is too little to be worth another call.
    """
    points = [0, *sorted(set(lengths))]  # candidate cuts, ascending
    if len(points) > MAX_CUTS + 1:  # keep 0, the longest and evenly spaced ones between
        points = [points[round(k * (len(points) - 1) / MAX_CUTS)] for k in range(MAX_CUTS + 1)]
    active = [sum(1 for n in lengths if n > t) for t in points]
    cost, prev = [0.0] + [math.inf] * (len(points) - 1), [0] * len(points)
    for j in range(1, len(points)):
        for i in range(j):
            c = cost[i] + max(active[i], SEGMENT_MIN_ROWS) * (points[j] - points[i]) + SEGMENT_COST
            if c < cost[j]:
                cost[j], prev[j] = c, i
    segments, j = [], len(points) - 1
    while j:
        segments.append((points[prev[j]], points[j], active[prev[j]]))
        j = prev[j]
    return segments[::-1]


def run_segments(lstm: nn.LSTM, x: torch.Tensor, segments: list[tuple[int, int, int]]):
    """Run ``lstm`` over x (B, T, E), rows sorted by length, one call per segment.

    Each segment starts from the states the previous one ended in, for the rows still
    active; a row's steps are computed exactly as in one call over the whole tensor.
    Returns (B, T, H); steps past a row's length hold padding garbage or zeros.
    """
    B, T = x.shape[:2]
    outs, state = [], None
    for t0, t1, rows in segments:
        if state is not None:
            state = (state[0][:, :rows].contiguous(), state[1][:, :rows].contiguous())
        y, state = lstm(x[:rows, t0:t1], state)  # (rows, t1 - t0, H)
        outs.append(nn.functional.pad(y, (0, 0, 0, 0, 0, B - rows)))
    out = torch.cat(outs, dim=1)  # (B, max length, H)
    return nn.functional.pad(out, (0, 0, 0, T - out.shape[1]))


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
    length*, so padding never precedes real steps in either direction, and real steps
    get exactly the same outputs however the batch is run (``packed``):

    - ``True``: each layer runs over a PackedSequence; padding costs nothing.
    - ``False``: over the padded tensor (ONNX export; traceable).
    - ``"auto"`` (the default): packed on GPUs (cuDNN packs well). On the CPU, padded but
      cut in time into a few segments (:func:`segment_plan`) that each run over the rows
      still active: oneDNN's fused LSTM is 3-4x faster per step than the packed path
      (separate small ops per time step), and the segments keep most of the padding of
      long-tailed batches out of it. A length-bucketed batch is usually one segment.

    Args:
        in_dim: E. hidden_dim: H. num_layers: L. bidirectional: two directions per layer.
        dropout: applied between layers.
        locked_dropout: if > 0, locked (variational) dropout at this rate between layers
            instead of ``dropout`` (AWD-LSTM's hidden-to-hidden dropout).
        weight_drop: if > 0, in training, DropConnect on every hidden-to-hidden matrix
            (AWD-LSTM's WeightDrop): one mask per batch, shared by all its steps, so the
            fused LSTM kernels still run; eval uses the plain weights.
    """

    def __init__(
        self,
        *,
        in_dim: int,
        hidden_dim: int,
        num_layers: int,
        bidirectional: bool,
        dropout: float,
        locked_dropout: float = 0.0,
        weight_drop: float = 0.0,
    ):
        super().__init__()
        self.weight_drop = weight_drop
        dirs = 2 if bidirectional else 1
        self.layers = nn.ModuleList(
            nn.ModuleList(
                nn.LSTM(in_dim if i == 0 else hidden_dim * dirs, hidden_dim, batch_first=True)
                for _ in range(dirs)
            )
            for i in range(num_layers)
        )
        self.dropout = LockedDropout(locked_dropout) if locked_dropout else nn.Dropout(dropout)
        self.out_dim = hidden_dim * dirs
        self.packed: bool | str = "auto"  # True | False | "auto" (see the class docstring)

    def _plan(self, x: torch.Tensor, lengths: torch.Tensor):
        """How this batch runs: "packed", None (padded) or a list of segments (auto, CPU)."""
        if self.packed == "auto":
            if x.device.type != "cpu":
                return "packed"
            return segment_plan(sorted(lengths.tolist(), reverse=True))
        return "packed" if self.packed else None

    def _run(self, lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor, plan) -> torch.Tensor:
        if plan is None or (plan != "packed" and len(plan) == 1 and plan[0][1] == x.shape[1]):
            return lstm(x)[0]
        if plan != "packed":
            return run_segments(lstm, x, plan)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = lstm(packed)
        return pad_packed_sequence(out, batch_first=True, total_length=x.shape[1])[0]

    def forward(
        self, x: torch.Tensor, lengths: torch.Tensor, _dropped: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Args: x (B, T, E); lengths (B,). (``_dropped``: W_hh already dropped, internal.)

        Returns: outputs (B, T, D), zero on padding; last (B, D): the forward direction's
        state at the last real step, with the backward direction's state at step 0.
        """
        if self.training and self.weight_drop and not _dropped:  # again, with W_hh dropped
            dropped = {
                name: nn.functional.dropout(w, self.weight_drop)
                for name, w in self.named_parameters()
                if ".weight_hh_" in name
            }
            return torch.func.functional_call(self, dropped, (x, lengths), {"_dropped": True})
        plan = self._plan(x, lengths)
        order = undo = None
        if isinstance(plan, list) and len(plan) > 1 and bool((lengths[1:] > lengths[:-1]).any()):
            order = torch.argsort(lengths, descending=True, stable=True)  # segments need it
            undo = torch.argsort(order)
            x, lengths = x[order], lengths[order]
        mask = length_mask(lengths, x.shape[1]).unsqueeze(-1)  # (B, T, 1)
        for i, directions in enumerate(self.layers):
            if i > 0:  # dropout drawn in the batch's own order, as every other mode draws it
                x = self.dropout(x) if order is None else self.dropout(x[undo])[order]
            outs = [self._run(directions[0], x, lengths, plan)]
            if len(directions) == 2:
                rev = reverse_within_length(x, lengths)
                back = self._run(directions[1], rev, lengths, plan)
                outs.append(reverse_within_length(back, lengths))
            x = torch.cat(outs, dim=-1) * mask  # (B, T, D)
        last_idx = (lengths.to(x.device) - 1).view(-1, 1, 1).expand(-1, 1, x.shape[-1])
        last = x.gather(1, last_idx).squeeze(1)  # (B, D), forward half correct
        if len(self.layers[0]) == 2:
            H = x.shape[-1] // 2
            last = torch.cat([last[:, :H], x[:, 0, H:]], dim=-1)
        if undo is not None:
            x, last = x[undo], last[undo]
        return x, last
