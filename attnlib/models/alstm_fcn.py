"""ALSTM-FCN: a fully convolutional arm beside a masked attention-LSTM arm.

Karim et al. 2017, "LSTM Fully Convolutional Networks for Time Series Classification", and
MALSTM-FCN (Karim et al. 2019) for multivariate input: three Conv1d blocks (128/k8,
256/k5, 128/k3, each batch norm + ReLU; squeeze-and-excitation after the first two when
the input has more than one channel), global average pooling, concatenated with the
attention context of an LSTM over the same series, then the task's output layer.

The task's own pooled head (:meth:`attnlib.tasks.base.Task.build_head`) does the
concatenation: it attends over ``[h_t; g]`` (LSTM output at step t, FCN features g, the
same at every step), so its context is ``sum_t a_t [h_t; g] = [c; g]`` (the weights sum
to 1) and its output layer reads the LSTM context and the FCN features side by side.

Variable-length series are padded, and padding must never count: every block zeroes the
padded steps before its convolution (so a series sees the same zeros batched as alone),
batch norm's training statistics and the SE / global averages run over real steps only.
The LSTM arm is the package's :class:`~attnlib.models.encoders.LSTMEncoder` and
:class:`~attnlib.models.attention.Attention` (padding gets weight exactly 0).
"""

from __future__ import annotations

import torch
from torch import nn

from attnlib.config import ModelConfig
from attnlib.models.encoders import LSTMEncoder, length_mask, relative_to_last
from attnlib.models.heads import shaped
from attnlib.models.kernel_partner import kernel_partner
from attnlib.models.linear_base import linear_base
from attnlib.tasks import get_task


def masked_mean(y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over time of y (B, C, T) at real steps (mask (B, 1, T) float) -> (B, C)."""
    return (y * mask).sum(-1) / mask.sum(-1)


class MaskedBatchNorm1d(nn.BatchNorm1d):
    """BatchNorm1d over (B, C, T) whose training statistics skip padded steps.

    Eval mode (and ONNX export) is plain batch norm with the running statistics, which
    were gathered from real steps only.
    """

    def forward(self, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(y)
        n = mask.sum()  # real steps in the batch
        mean = (y * mask).sum((0, 2)) / n  # (C,)
        var = (((y - mean[:, None]) * mask) ** 2).sum((0, 2)) / n  # (C,), biased
        with torch.no_grad():  # running_var takes the unbiased estimate, as nn.BatchNorm does
            self.num_batches_tracked += 1
            # momentum None: the cumulative average, as nn.BatchNorm (attnlib.models.precise_bn)
            m = self.momentum if self.momentum is not None else 1.0 / int(self.num_batches_tracked)
            self.running_mean.mul_(1 - m).add_(m * mean)
            self.running_var.mul_(1 - m).add_(m * var * n / (n - 1).clamp(min=1))
        y = (y - mean[:, None]) / torch.sqrt(var[:, None] + self.eps)
        return y * self.weight[:, None] + self.bias[:, None]  # (B, C, T)


class SqueezeExcite(nn.Module):
    """Channel gates from the masked time average: y * sigmoid(W2 relu(W1 mean_t y))."""

    def __init__(self, channels: int, reduction: int):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.gate = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels), nn.Sigmoid()
        )

    def forward(self, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return y * self.gate(masked_mean(y, mask)).unsqueeze(-1)  # (B, C, T)


class ConvBlock(nn.Module):
    """Zero padding -> Conv1d ('same' length) -> masked batch norm -> ReLU [-> SE]."""

    def __init__(self, c_in: int, c_out: int, kernel: int, se_reduction: int = 0):
        super().__init__()
        # explicit asymmetric 'same' padding: an even kernel needs one more step on the right
        self.pad = ((kernel - 1) // 2, kernel // 2)
        self.conv = nn.Conv1d(c_in, c_out, kernel)
        self.norm = MaskedBatchNorm1d(c_out)
        self.se = SqueezeExcite(c_out, se_reduction) if se_reduction else None

    def forward(self, y: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        y = nn.functional.pad(y * mask, self.pad)  # (B, C_in, T + k - 1), padding = 0
        y = torch.relu(self.norm(self.conv(y), mask))  # (B, C_out, T)
        return self.se(y, mask) if self.se is not None else y


class ALSTMFCN(nn.Module):
    """FCN arm + attention-LSTM arm -> concatenation -> the task's output layer.

    ``forward(x, lengths)`` takes x (B, T, C) float values and lengths (B,) and returns
    the task output (classify: the logit (B,) for two classes, logits (B, K) otherwise;
    forecast: (B, horizon, targets)); with ``return_attention=True`` also the attention
    weights over the LSTM arm's steps (B, T).
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = cfg = config
        se = cfg.se_reduction if cfg.input_dim > 1 else 0  # MALSTM-FCN: SE for multivariate
        channels = (cfg.input_dim, *cfg.fcn_filters)
        self.fcn = nn.ModuleList(
            ConvBlock(channels[i], channels[i + 1], cfg.fcn_kernels[i], se if i < 2 else 0)
            for i in range(3)
        )
        self.encoder = LSTMEncoder(
            in_dim=cfg.input_dim,
            hidden_dim=cfg.hidden_dim,
            num_layers=cfg.num_layers,
            bidirectional=cfg.bidirectional,
            dropout=cfg.dropout,
            locked_dropout=cfg.locked_dropout,
            weight_drop=cfg.weight_drop,
        )
        self.head = get_task(cfg.task).build_head(cfg, self.encoder.out_dim + cfg.fcn_filters[-1])
        self.linear_base = linear_base(cfg)  # forecast: a fixed ridge forecast under the head
        self.partner = kernel_partner(cfg)  # classify: a kernel-feature regression mixed in

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, return_attention: bool = False):
        base = self.linear_base(x) if self.linear_base is not None else None  # the level kept
        series = x  # what the partner reads
        if self.config.local_level:
            x = relative_to_last(x, lengths)
        mask = length_mask(lengths, x.shape[1])  # (B, T), True = real step
        m = mask.unsqueeze(1).to(x.dtype)  # (B, 1, T)
        y = x.transpose(1, 2)  # (B, C, T)
        for block in self.fcn:
            y = block(y, m)  # (B, F_i, T)
        pooled = masked_mean(y, m)  # (B, F_3)
        h, last = self.encoder(x * mask.unsqueeze(-1), lengths)  # (B, T, D), (B, D)
        g = pooled.unsqueeze(1).expand(-1, h.shape[1], -1)  # (B, T, F_3), padding masked below
        hg = torch.cat([h, g], dim=-1)  # (B, T, D + F_3)
        y, w = self.head(hg, torch.cat([last, pooled], dim=-1), mask)  # context [c; g]
        y = shaped(self.head, y)
        y = y if base is None else y + base
        if self.partner is not None:
            y = self.partner.combine(y, series, lengths)
        return (y, w) if return_attention else y
