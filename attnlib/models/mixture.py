"""Logits of a mixture of class distributions: what an ensemble and a linear partner return.

A mixture's probability is a weighted mean of its parts'; its logits are the log of that
mean, which softmax (or, for one binary logit, sigmoid) maps back to it, so code that reads
logits keeps working. The exported graph uses only ops every ONNX runtime has (``maximum``,
``where``, ``log1p``, ``exp``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


def log_sigmoid(z: torch.Tensor) -> torch.Tensor:
    """log(sigmoid(z)) without overflow for large |z|, from ops every ONNX runtime has."""
    return torch.clamp(z, max=0) - torch.log1p(torch.exp(-z.abs()))


def mixture_logits(outputs: Sequence[torch.Tensor], log_weights: torch.Tensor,
                   binary: bool) -> torch.Tensor:  # fmt: skip
    """The logits whose softmax (sigmoid if ``binary``) is ``sum_k w_k p_k``.

    Args:
        outputs: the N parts' logits, each (..., K), or (...) one logit per row if binary
            (a sequence, or a tensor stacked on its first dimension).
        log_weights: (N,) log of the parts' weights, which sum to 1 (a weight 0 is ``-inf``).
    Returns:
        (..., K) log of the mixed probability; binary (...): the logit of it.
    """
    weights = log_weights.unbind(0)
    if binary:  # logit(p) = log p - log(1 - p)
        pos = [lw + log_sigmoid(z) for lw, z in zip(weights, outputs, strict=True)]
        neg = [lw + log_sigmoid(-z) for lw, z in zip(weights, outputs, strict=True)]
        return _logsumexp(pos) - _logsumexp(neg)
    return _logsumexp([lw + z.log_softmax(-1) for lw, z in zip(weights, outputs, strict=True)])


def _logsumexp(parts: list[torch.Tensor]) -> torch.Tensor:
    """The elementwise log of the sum of exp over a few parts, folded pairwise: stacking a
    next-state model's (B, T, V) outputs for ``torch.logsumexp(·, 0)`` copies them and was
    slower than ``logaddexp`` on them (``bench/evaluate_cost.py``). ONNX has no
    ``logaddexp``: the exported graph gets the same sum from maximum, exp and log1p (the
    export's parity check compares the two)."""
    exporting = torch.onnx.is_in_onnx_export()
    out, *rest = parts
    for part in rest:
        if exporting:
            hi = torch.maximum(out, part)
            both_gone = hi == float("-inf")  # then -inf, as logaddexp gives (not nan)
            out = torch.where(both_gone, hi, hi + torch.log1p(torch.exp(-(out - part).abs())))
        else:
            out = torch.logaddexp(out, part)
    return out
