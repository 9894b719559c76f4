"""A mixture's logits are the log of the weighted mean of its parts' probabilities, in
eager code and in the form the ONNX export traces."""

import math

import pytest
import torch

from attnlib.models.mixture import mixture_logits


def reference(outputs, log_weights, binary):
    lw = log_weights.view(-1, *([1] * (outputs.dim() - 1)))
    if binary:
        p = (lw.exp() * torch.sigmoid(outputs)).sum(0)
        return torch.log(p) - torch.log1p(-p)
    return torch.log((lw.exp() * outputs.softmax(-1)).sum(0))


@pytest.mark.parametrize("exporting", [False, True])
@pytest.mark.parametrize("parts", [1, 2, 3])
def test_mixture_is_the_log_of_the_weighted_mean(monkeypatch, exporting, parts):
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: exporting)
    g = torch.Generator().manual_seed(parts)
    outputs = torch.randn(parts, 4, 5, 7, generator=g, dtype=torch.float64) * 3
    log_weights = torch.rand(parts, generator=g, dtype=torch.float64).softmax(0).log()
    got = mixture_logits(outputs, log_weights, binary=False)
    assert torch.allclose(got.softmax(-1), reference(outputs, log_weights, False).exp(),
                          atol=1e-12)  # fmt: skip
    binary = mixture_logits(outputs[..., 0], log_weights, binary=True)
    assert torch.allclose(binary, reference(outputs[..., 0], log_weights, True), atol=1e-9)


@pytest.mark.parametrize("exporting", [False, True])
def test_a_class_every_part_rules_out_stays_impossible(monkeypatch, exporting):
    """-inf in every part gives -inf (probability 0), not nan."""
    monkeypatch.setattr(torch.onnx, "is_in_onnx_export", lambda: exporting)
    outputs = torch.tensor([[0.0, -math.inf, 1.0], [2.0, -math.inf, 0.0]])
    got = mixture_logits(outputs, torch.tensor([0.5, 0.5]).log(), binary=False)
    assert not torch.isnan(got).any()
    assert got[1] == -math.inf
    assert torch.allclose(got.softmax(-1).sum(), torch.tensor(1.0))
