"""Logits of a mixture of class distributions: what an ensemble and a linear partner return.

A mixture's probability is a weighted mean of its parts'; its logits are the log of that
mean, which softmax (or, for one binary logit, sigmoid) maps back to it, so code that reads
logits keeps working. The exported graph uses only ops every ONNX runtime has (``maximum``,
``log1p``, ``exp``).
"""

from __future__ import annotations

import torch


def log_sigmoid(z: torch.Tensor) -> torch.Tensor:
    """log(sigmoid(z)) without overflow for large |z|, from ops every ONNX runtime has."""
    return torch.clamp(z, max=0) - torch.log1p(torch.exp(-z.abs()))


def mixture_logits(outputs: torch.Tensor, log_weights: torch.Tensor, binary: bool) -> torch.Tensor:
    """The logits whose softmax (sigmoid if ``binary``) is ``sum_k w_k p_k``.

    Args:
        outputs: (N, ..., K) the parts' logits stacked, or (N, ...) one logit per row if binary.
        log_weights: (N,) log of the parts' weights, which sum to 1 (a weight 0 is ``-inf``).
    Returns:
        (..., K) log of the mixed probability; binary (...): the logit of it.
    """
    lw = log_weights.view(-1, *([1] * (outputs.dim() - 1)))  # broadcast over the rest
    if binary:  # logit(p) = log p - log(1 - p)
        return _logsumexp0(lw + log_sigmoid(outputs)) - _logsumexp0(lw + log_sigmoid(-outputs))
    return _logsumexp0(lw + outputs.log_softmax(-1))


def _logsumexp0(t: torch.Tensor) -> torch.Tensor:
    """``torch.logsumexp(t, 0)`` for a few parts, folded pairwise elementwise: a reduction
    over a short leading dimension of a large tensor ran 3-4x slower than ``logaddexp``
    (a next-state model's (2, B, T, V) mixture, most of its partner's cost in evaluate).
    ONNX has no ``logaddexp``: the exported graph gets the same sum from maximum, exp and
    log1p (the export's parity check compares the two)."""
    out = t[0]
    for part in t[1:]:
        if not torch.onnx.is_in_onnx_export():
            out = torch.logaddexp(out, part)
            continue
        hi = torch.maximum(out, part)
        both_gone = hi == float("-inf")  # then -inf, as logaddexp gives (not nan)
        out = torch.where(both_gone, hi, hi + torch.log1p(torch.exp(-(out - part).abs())))
    return out
