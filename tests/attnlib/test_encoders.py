"""The encoder's CPU segments: a speed-up only, never a change in outputs or gradients."""

import warnings

import pytest
import torch

from attnlib.models.encoders import LSTMEncoder, reverse_within_length, segment_plan


def test_segment_plan_covers_time_with_shrinking_row_counts():
    lengths = [390, 200, 150, 120, *([100] * 20), *([60] * 40)]
    plan = segment_plan(lengths)
    assert plan[0][0] == 0 and plan[-1][1] == 390 and len(plan) > 1
    for (_, end, rows), (start, _, next_rows) in zip(plan, plan[1:], strict=False):
        assert end == start and next_rows < rows
    for start, _, rows in plan:
        assert rows == sum(n > start for n in lengths)


def test_segment_plan_keeps_a_bucketed_batch_whole():
    assert segment_plan([12] * 60 + [11] * 4) == [(0, 12, 64)]


@pytest.mark.parametrize("bidirectional", [False, True])
def test_auto_segments_match_padded_and_packed(bidirectional):
    g = torch.Generator().manual_seed(0)
    lengths = torch.cat([torch.randint(20, 40, (30,), generator=g), torch.tensor([300, 180, 90])])
    lengths = lengths[torch.randperm(len(lengths), generator=g)]  # unsorted: auto sorts
    x = torch.randn(len(lengths), int(lengths.max()) + 5, 6, generator=g)
    enc = LSTMEncoder(
        in_dim=6, hidden_dim=8, num_layers=2, bidirectional=bidirectional, dropout=0.3
    )
    assert len(segment_plan(sorted(lengths.tolist(), reverse=True))) > 1
    results = []
    for packed in ("auto", False, True):
        enc.packed = packed
        enc.zero_grad()
        xi = x.clone().requires_grad_(True)
        torch.manual_seed(1)  # the same dropout masks in every mode
        out, last = enc(xi, lengths)
        (out.sum() + 2 * last.sum()).backward()
        grads = [p.grad.clone() for p in enc.parameters()]
        results.append((out.detach(), last.detach(), xi.grad, grads))
    for other in results[1:]:
        for a, b in zip(results[0][:3], other[:3], strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
        for a, b in zip(results[0][3], other[3], strict=True):  # sums over 300 steps
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_reverse_within_length_flips_full_rows_and_traces_for_any_lengths():
    x = torch.arange(2 * 4, dtype=torch.float32).view(2, 4, 1)
    full, ragged = torch.tensor([4, 4]), torch.tensor([4, 2])
    expected = torch.tensor([[3.0, 2, 1, 0], [5, 4, 6, 7]]).unsqueeze(-1)  # padding stays put
    assert torch.equal(reverse_within_length(x, full), x.flip(1))
    assert torch.equal(reverse_within_length(x, ragged), expected)
    # traced on a batch without padding (as an ONNX export may be), it still reverses
    # within each length: the flip shortcut is not baked into the trace
    with warnings.catch_warnings():  # torch.jit.trace is deprecated; the ONNX export uses it
        warnings.simplefilter("ignore", DeprecationWarning)
        traced = torch.jit.trace(reverse_within_length, (x, full))
    assert torch.equal(traced(x, ragged), expected)
