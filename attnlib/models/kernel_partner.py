"""A series classifier's partner: logistic regression on random convolution-kernel features
(MiniRocket, Dempster et al. 2021), whose probabilities are mixed with the network's
(fitting and mixing: :mod:`attnlib.models.partner`).

On the UCR / UEA archives ROCKET-family features with a linear classifier are as accurate
as the best deep models, at a fraction of their cost, and they err where a network does
not; mixed in at the weight validation chooses, they steady the small sets where a
network's seed moves its test accuracy by points.

Features (:meth:`KernelPartner.features`), as MiniRocket computes them: the 84 kernels of
length 9 with three weights 2 and six -1, at dilations spaced exponentially from 1 to
about the series' length / 8 (:func:`plan`, from the train split's median length the
encode stage records as ``kernel_length``); with several channels each kernel sums a
random subset of them (MiniRocket's multivariate form). Each (kernel, dilation) gets
thresholds at quantiles of its output on a random training series, and a feature is the
proportion of the series' steps whose output exceeds one (PPV): 84 x 119 = 9,996 features,
standardised on the training split. Two changes for this package's padded batches: every
kernel pads its input with zeros ('same' length; MiniRocket pads every other one) and the
proportion runs over real steps only, so a series alone equals it padded. Series scaled
each by its own scale (``encode.normalize: series``) carry that scale as constant channels
(``level_channels``, :mod:`attnlib.scaling`); zero-sum kernels would see nothing of a
constant but the padding's edge, so those channels skip the kernels and join the features
(a current's amplitude tells a heater from a laptop). Standardised, a handful of columns
beside 9,996 would carry almost no weight under the regression's one L2 penalty, so the
block is scaled by ``level_weight``, chosen on validation from 0 (not read) and
sqrt(9,996 / level_channels): the weight that gives the scale block the summed prior
variance of the kernel block, the two kernels' traces equal (uniform multiple-kernel
combination of trace-normalised kernels); 0 keeps the partner as it is without them.

Shapes: B batch, T steps, C channels, K = 84 kernels, Q thresholds of one dilation, O
outputs (1 for binary, else the classes).
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
from torch import nn

from attnlib.config import ModelConfig
from attnlib.data import SequenceData
from attnlib.models.encoders import length_mask
from attnlib.models.partner import ROWS, RegressionPartner, install

WIDTH = 9  # kernel length
KERNELS = len(list(itertools.combinations(range(WIDTH), 3)))  # 84: where the three 2s sit
PER_KERNEL = 119  # features per kernel: 84 x 119 = 9,996, MiniRocket's 10,000 rounded down
MAX_DILATIONS = 32
PENALTIES = (0.01, 0.1, 1.0)  # scikit-learn's C on standardised features, tried on validation
GOLDEN = (math.sqrt(5) + 1) / 2  # thresholds at quantiles frac(k * golden ratio), MiniRocket's
BLOCK = 1 << 24  # elements of one comparison tensor (B, K, T, thresholds) at most


def plan(length: int) -> list[tuple[int, int]]:
    """(dilation, thresholds) pairs for series of about ``length`` steps: dilations
    floor(2 ** e) for 32 exponents e spread evenly over [0, log2((length - 1) / 8)], each
    distinct one with a share of :data:`PER_KERNEL` in proportion to how often it occurs."""
    top = math.log2(max((length - 1) / (WIDTH - 1), 1.0))
    points = np.floor(np.logspace(0, top, MAX_DILATIONS, base=2)).astype(int)
    dilations, counts = np.unique(points, return_counts=True)
    share = counts * PER_KERNEL // MAX_DILATIONS
    share[: PER_KERNEL - int(share.sum())] += 1  # the remainder to the shortest dilations
    return [(int(d), int(q)) for d, q in zip(dilations, share, strict=True) if q]


def _kernels() -> torch.Tensor:
    w = -torch.ones(KERNELS, WIDTH)
    for k, at in enumerate(itertools.combinations(range(WIDTH), 3)):
        w[k, list(at)] = 2.0
    return w  # (K, 9)


class KernelPartner(RegressionPartner):
    """(B, T, C) series and (B,) lengths -> (B,) binary or (B, K) logits of the regression.

    Buffers: ``channels`` (dilations, K, C - level_channels) which channels each kernel
    sums, ``thresholds`` (K, PER_KERNEL) in :func:`plan`'s order, ``center`` / ``scale``
    (K x PER_KERNEL + level_channels,) the training split's feature means and standard
    deviations; all set by :meth:`prepare`.
    """

    penalties = PENALTIES

    def __init__(self, cfg: ModelConfig):
        self.levels = cfg.level_channels  # the last input channels: constants, not convolved
        width = KERNELS * PER_KERNEL + self.levels
        super().__init__(cfg, width)
        self.plan = plan(cfg.kernel_length)
        self.register_buffer("kernels", _kernels(), persistent=False)
        series = cfg.input_dim - self.levels
        self.register_buffer("channels", torch.ones(len(self.plan), KERNELS, series))
        self.register_buffer("thresholds", torch.zeros(KERNELS, PER_KERNEL))
        self.register_buffer("center", torch.zeros(width))
        self.register_buffer("scale", torch.ones(width))
        if self.levels:  # a model without scale channels keeps the state it always had
            self.register_buffer("level_weight", torch.ones(()))

    def series(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, C) input -> (B, T, C - level_channels): the channels the kernels read."""
        return x[..., : x.shape[-1] - self.levels]

    def convolve(self, y: torch.Tensor, group: int) -> torch.Tensor:
        """(B, C, T) series, zero at padding -> (B, K, T) outputs of ``group``'s kernels."""
        d = self.plan[group][0]
        w = self.kernels.unsqueeze(1) * self.channels[group].unsqueeze(-1)  # (K, C, 9)
        pad = (WIDTH - 1) // 2 * d
        return nn.functional.conv1d(nn.functional.pad(y, (pad, pad)), w, dilation=d)

    def features(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, K x PER_KERNEL [+ level_channels]) standardised proportions of real steps above
        each threshold [and the series' scale channels, read at the first step]."""
        x = x.float()
        m = length_mask(lengths, x.shape[1]).to(x.dtype)  # (B, T)
        y = (self.series(x) * m.unsqueeze(-1)).transpose(1, 2)  # (B, C, T)
        n = lengths.to(x.dtype).clamp_min(1).view(-1, 1, 1)
        mask = m[:, None, :, None]  # (B, 1, T, 1)
        out, start = [], 0
        for g, (_, q) in enumerate(self.plan):
            z = self.convolve(y, g).unsqueeze(-1)  # (B, K, T, 1)
            step = q if torch.jit.is_tracing() else max(1, BLOCK // z[..., 0].numel())
            for a in range(start, start + q, step):  # (B, K, T, s) at a time
                b = self.thresholds[:, a : min(a + step, start + q)]  # (K, s)
                out.append(((z > b[:, None, :]).to(x.dtype) * mask).sum(2) / n)  # (B, K, s)
            start += q
        f = torch.cat(out, 2).flatten(1)  # (B, K x PER_KERNEL), kernel-major as thresholds
        if not self.levels:
            return (f - self.center) / self.scale
        f = torch.cat([f, x[:, 0, x.shape[-1] - self.levels :]], 1)  # step 0 is always real
        return (f - self.center) / self.scale * self.column_weights()

    def column_weights(self) -> torch.Tensor:
        """(K x PER_KERNEL + level_channels,): 1 for the kernel features, ``level_weight``
        for the scale channels."""
        ones = torch.ones_like(self.scale[: -self.levels])
        return torch.cat([ones, self.level_weight.expand(self.levels)])  # no in-place: ONNX

    def fit(self, train: SequenceData, val: SequenceData, nll) -> dict:
        """The regression's penalty (:meth:`sweep`, as every partner's) and, with scale
        channels, their ``level_weight`` (module docstring), both chosen on ``val``; the
        training features are made once."""
        if not self.levels or len(torch.unique(train.y)) < 2:  # the parent says why not
            return super().fit(train, val, nll)
        self.level_weight.fill_(1.0)
        x, best = self.prepare(train), None
        for weight in (0.0, math.sqrt(KERNELS * PER_KERNEL / self.levels)):
            self.level_weight.fill_(weight)  # forward, and so the validation loss, reads it
            loss, c, fitted = self.sweep(x * self.column_weights().double().numpy(), train,
                                         val, nll)  # fmt: skip
            if best is None or loss < best[0]:
                best = (loss, weight, c, fitted)
        loss, weight, c, fitted = best
        self.level_weight.fill_(weight)
        install(self, *fitted)
        return {"penalty": c, "level_weight": weight, "partner_val_loss": round(loss, 6)}

    def refit(self, both: SequenceData, first: dict) -> None:
        if self.levels:  # the first fit's weight of the scale channels (1: a report without)
            self.level_weight.fill_(float(first.get("level_weight", 1.0)))
        super().refit(both, first)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        z = self.features(x, lengths) @ self.weight + self.bias
        return z.squeeze(-1) if self.binary else z

    @torch.no_grad()
    def prepare(self, train: SequenceData) -> np.ndarray:
        """Channels, thresholds and standardisation from ``train``, drawn from a generator
        seeded by torch's seed (an ensemble's members differ; the network's draws do not
        move)."""
        gen = torch.Generator().manual_seed(torch.initial_seed())
        c = self.channels.shape[-1]
        top = math.log2(min(c, WIDTH) + 1)
        self.channels.zero_()
        for g, k in itertools.product(range(len(self.plan)), range(KERNELS)):
            take = min(c, max(1, int(2 ** (top * float(torch.rand(1, generator=gen))))))
            self.channels[g, k, torch.randperm(c, generator=gen)[:take]] = 1.0
        x, lengths, start = train.x.float(), train.lengths, 0
        for g, (_, q) in enumerate(self.plan):
            picks = torch.randint(len(train), (KERNELS,), generator=gen)  # a series per kernel
            m = length_mask(lengths[picks], x.shape[1]).to(x.dtype)
            z = self.convolve((self.series(x[picks]) * m.unsqueeze(-1)).transpose(1, 2), g)
            at = torch.tensor([(i * GOLDEN) % 1 for i in range(1, q + 1)])
            for k in range(KERNELS):  # kernel k on its own series, real steps only
                own = z[k, k, : int(lengths[picks[k]])]
                self.thresholds[k, start : start + q] = torch.quantile(own, at)
            start += q
        self.center.zero_()
        self.scale.fill_(1.0)
        raw = torch.from_numpy(self.matrix(train))  # float64, before standardising
        self.center.copy_(raw.mean(0))
        std = raw.std(0, unbiased=False)
        self.scale.copy_(torch.where(std > 1e-8, std, torch.ones_like(std)))
        z = (raw.float() - self.center) / self.scale
        return (z * self.column_weights() if self.levels else z).double().numpy()  # as features()

    def matrix(self, data: SequenceData) -> np.ndarray:
        dev = self.weight.device
        return torch.cat([self.features(data.x[i : i + ROWS].to(dev),
                                        data.lengths[i : i + ROWS].to(dev)).cpu()
                          for i in range(0, len(data), ROWS)]).double().numpy()  # fmt: skip


def kernel_partner(cfg: ModelConfig) -> KernelPartner | None:
    """The model's partner if its config asks for one (``kernel_partner``), else None."""
    return KernelPartner(cfg) if cfg.kernel_partner else None
