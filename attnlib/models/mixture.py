"""Logits of a mixture of class distributions: what an ensemble and a linear partner return.

A mixture's probability is a weighted mean of its parts'; its logits are the log of that
mean, which softmax (or, for one binary logit, sigmoid) maps back to it, so code that reads
logits keeps working. Only ops every ONNX runtime has (``logsumexp``, ``log1p``, ``exp``).
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
        return torch.logsumexp(lw + log_sigmoid(outputs), 0) - torch.logsumexp(
            lw + log_sigmoid(-outputs), 0
        )
    return torch.logsumexp(lw + outputs.log_softmax(-1), 0)
