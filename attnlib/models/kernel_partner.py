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
proportion runs over real steps only, so a series alone equals it padded.

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
from attnlib.models.partner import ROWS, RegressionPartner

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

    Buffers: ``channels`` (dilations, K, C) which channels each kernel sums, ``thresholds``
    (K, PER_KERNEL) in :func:`plan`'s order, ``center`` / ``scale`` (K x PER_KERNEL,) the
    training split's feature means and standard deviations; all set by :meth:`prepare`.
    """

    penalties = PENALTIES

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg, KERNELS * PER_KERNEL)
        self.plan = plan(cfg.kernel_length)
        self.register_buffer("kernels", _kernels(), persistent=False)
        self.register_buffer("channels", torch.ones(len(self.plan), KERNELS, cfg.input_dim))
        self.register_buffer("thresholds", torch.zeros(KERNELS, PER_KERNEL))
        self.register_buffer("center", torch.zeros(KERNELS * PER_KERNEL))
        self.register_buffer("scale", torch.ones(KERNELS * PER_KERNEL))

    def convolve(self, y: torch.Tensor, group: int) -> torch.Tensor:
        """(B, C, T) series, zero at padding -> (B, K, T) outputs of ``group``'s kernels."""
        d = self.plan[group][0]
        w = self.kernels.unsqueeze(1) * self.channels[group].unsqueeze(-1)  # (K, C, 9)
        pad = (WIDTH - 1) // 2 * d
        return nn.functional.conv1d(nn.functional.pad(y, (pad, pad)), w, dilation=d)

    def features(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """(B, K x PER_KERNEL) standardised proportions of real steps above each threshold."""
        x = x.float()
        m = length_mask(lengths, x.shape[1]).to(x.dtype)  # (B, T)
        y = (x * m.unsqueeze(-1)).transpose(1, 2)  # (B, C, T)
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
        return (f - self.center) / self.scale

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
            z = self.convolve((x[picks] * m.unsqueeze(-1)).transpose(1, 2), g)  # (K, K, T)
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
        return ((raw.float() - self.center) / self.scale).double().numpy()  # as features()

    def matrix(self, data: SequenceData) -> np.ndarray:
        dev = self.weight.device
        return torch.cat([self.features(data.x[i : i + ROWS].to(dev),
                                        data.lengths[i : i + ROWS].to(dev)).cpu()
                          for i in range(0, len(data), ROWS)]).double().numpy()  # fmt: skip


def kernel_partner(cfg: ModelConfig) -> KernelPartner | None:
    """The model's partner if its config asks for one (``kernel_partner``), else None."""
    return KernelPartner(cfg) if cfg.kernel_partner else None
