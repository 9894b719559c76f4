"""Metrics against hand-computed values on tiny arrays."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from attnlib import metrics as M
from attnlib.vocab import PAD_ID


@pytest.mark.parametrize("V", [3, 7, 10, 50])
def test_perplexity_of_uniform_model_is_vocab_size(V):
    torch.manual_seed(0)
    logits = torch.zeros(4, 6, V)  # every token equally likely
    targets = torch.randint(1, V, (4, 6))
    targets[0, 3:] = PAD_ID
    out = M.next_state_metrics(logits, targets)
    # exp(log V) is V up to float64 rounding of log/exp (1 ulp-level), nothing more
    assert out["perplexity"] == pytest.approx(V, rel=1e-13)
    assert out["nll"] == pytest.approx(math.log(V), rel=1e-13)


def test_perplexity_helper():
    assert M.perplexity(2 * math.log(3.0), 2) == pytest.approx(3.0, rel=1e-15)
    assert math.isnan(M.perplexity(0.0, 0))


def test_next_state_ignores_pad_targets_and_combines_batches():
    torch.manual_seed(1)
    V = 6
    a_logits, b_logits = torch.randn(2, 5, V), torch.randn(3, 2, V)
    a_t, b_t = torch.randint(1, V, (2, 5)), torch.randint(1, V, (3, 2))
    a_t[1, 2:] = PAD_ID
    b_t[2, 1:] = PAD_ID
    a_logits[a_t == PAD_ID] = torch.tensor([1e4] + [0.0] * (V - 1))  # padding: junk, must not count
    got = M.next_state_metrics([a_logits, b_logits], [a_t, b_t])

    # the same metrics from only the real positions, flattened by hand
    real_logits = torch.cat([a_logits[a_t != PAD_ID], b_logits[b_t != PAD_ID]])  # (N, V)
    real_t = torch.cat([a_t[a_t != PAD_ID], b_t[b_t != PAD_ID]])  # (N,)
    want = M.next_state_metrics(real_logits, real_t, ignore_index=None)
    assert got == pytest.approx(want, rel=1e-12)
    nll = torch.nn.functional.cross_entropy(real_logits.double(), real_t).item()
    assert got["nll"] == pytest.approx(nll, rel=1e-12)
    assert got["perplexity"] == pytest.approx(math.exp(nll), rel=1e-12)
    assert got["accuracy"] == pytest.approx(
        (real_logits.argmax(-1) == real_t).float().mean().item()
    )


def test_accuracy_multiclass_binary_and_ignore_index():
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert M.accuracy(logits, np.array([0, 1, 1])) == pytest.approx(2 / 3)
    binary = torch.tensor([-1.0, 2.0, 0.5, -0.2])  # predicted [0, 1, 1, 0]
    assert M.accuracy(binary, torch.tensor([0, 1, 0, 0])) == pytest.approx(3 / 4)
    probs = np.array([0.2, 0.9, 0.6, 0.4])  # threshold 0.5 -> [0, 1, 1, 0]
    assert M.accuracy(probs, [0, 1, 0, 0], threshold=0.5) == pytest.approx(3 / 4)
    # row 2 has no target: rows 0 (wrong) and 1 (right) count
    assert M.accuracy(logits, np.array([1, 1, PAD_ID]), ignore_index=PAD_ID) == 0.5
    assert math.isnan(M.accuracy(logits, np.array([0, 0, 0]), ignore_index=0))


def test_top_k_accuracy():
    logits = np.array([[0.1, 0.5, 0.3, 0.2], [0.4, 0.3, 0.2, 0.1]])
    # row 0: top-2 = {1, 2} holds 2; row 1: top-2 = {0, 1} misses 3
    assert M.top_k_accuracy(logits, np.array([2, 3]), k=2) == 0.5
    assert M.top_k_accuracy(logits, np.array([2, 3]), k=4) == 1.0
    assert M.top_k_accuracy(logits, np.array([2, 3]), k=10) == 1.0
    assert M.top_k_accuracy(logits, np.array([2, 0]), k=2, ignore_index=2) == 1.0
    ties = np.zeros((2, 3))  # stable tie-break: class 0 wins, as argmax does
    y = np.array([0, 1])
    assert M.top_k_accuracy(ties, y, k=1) == M.accuracy(ties, y) == 0.5
    assert M.top_k_accuracy(ties, y, k=2) == 1.0


def test_next_state_top_k_follows_the_param_and_names_the_key():
    # targets ranked 1st, 3rd, 4th and 6th of 6: top-3 hits 2 of 4, top-5 hits 3 of 4
    logits = torch.tensor([[6.0, 5, 4, 3, 2, 1]] * 4)
    targets = torch.tensor([0, 2, 3, 5])
    three = M.next_state_metrics(logits, targets, top_k=3, ignore_index=None)
    five = M.next_state_metrics(logits, targets, ignore_index=None)
    assert "top5_accuracy" not in three and three["top3_accuracy"] == 0.5
    assert "top3_accuracy" not in five and five["top5_accuracy"] == 0.75
    assert three["accuracy"] == five["accuracy"] == 0.25


def test_mase_averages_the_per_channel_mase():
    # channel 0 moves by 1 a step, channel 1 by 1000: one pooled scale would let channel 1
    # swamp channel 0's error; each channel is scaled by its own naive error instead
    train = np.stack([np.arange(10.0), 1000 * np.arange(10.0)], axis=1)  # (T, K=2)
    y = np.zeros((3, 4, 2))  # (W, H, K)
    pred = y + np.array([2.0, 500.0])  # MAE 2 and 500: MASE 2 and 0.5
    per_channel = [M.mase(y[..., k], pred[..., k], train[:, k]) for k in range(2)]
    assert per_channel == pytest.approx([2.0, 0.5])
    assert M.mase(y, pred, train) == pytest.approx(1.25)
    assert M.regression_metrics(y, pred, train)["mase"] == pytest.approx(1.25)
    assert M.mase(y[..., 0], pred[..., 0], train[:, :1]) == pytest.approx(2.0)  # (T, 1)
    with pytest.raises(ValueError, match="channels"):
        M.mase(y, pred, train[:, :1].repeat(3, axis=1))


def test_confusion_matrix_and_macro_f1():
    pred, y = np.array([0, 1, 1, 2]), np.array([0, 1, 2, 2])
    cm = M.confusion_matrix(pred, y, 3)
    assert cm.dtype.kind == "i"
    np.testing.assert_array_equal(cm, [[1, 0, 0], [0, 1, 0], [0, 1, 1]])
    # F1: class 0 = 1; class 1: 2*1/(2+1+0) = 2/3; class 2: 2*1/(2+0+1) = 2/3
    assert M.macro_f1(pred, y, 3) == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    # class 3 never occurs nor is predicted: left out of the mean
    assert M.macro_f1(pred, y, 4) == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    with pytest.raises(ValueError):
        M.confusion_matrix(np.array([3]), np.array([0]), 3)


def test_classification_metrics_binary_and_multiclass():
    binary = M.classification_metrics(
        torch.tensor([-1.0, 2.0, 0.5, -0.2]), torch.tensor([0, 1, 0, 0])
    )
    # pred [0, 1, 1, 0]: class 0 F1 = 2*2/(4+0+1) = 0.8, class 1 F1 = 2*1/(2+1+0) = 2/3
    assert binary == pytest.approx({"accuracy": 0.75, "macro_f1": (0.8 + 2 / 3) / 2})
    multi = M.classification_metrics(
        np.array([[3.0, 0, 0], [0, 3.0, 0], [0, 3.0, 0], [0, 0, 3.0]]), np.array([0, 1, 2, 2])
    )
    assert multi == pytest.approx({"accuracy": 0.75, "macro_f1": (1 + 2 / 3 + 2 / 3) / 3})


def test_regression_metrics_by_hand():
    y, p = np.array([1.0, 2.0, 4.0]), np.array([2.0, 2.0, 2.0])  # errors 1, 0, 2
    assert M.mae(y, p) == pytest.approx(1.0)
    assert M.rmse(y, p) == pytest.approx(math.sqrt(5 / 3))
    assert M.mape(y, p) == pytest.approx(100 * (1 / 1 + 0 + 2 / 4) / 3)  # 50 %
    assert M.smape(y, p) == pytest.approx(100 * (2 * 1 / 3 + 0 + 2 * 2 / 6) / 3)
    train = np.array([1.0, 3.0, 2.0, 5.0])  # naive |diffs| 2, 1, 3 -> 2; season 2: 1, 2 -> 1.5
    assert M.mase(y, p, train) == pytest.approx(0.5)
    assert M.mase(y, p, train, season=2) == pytest.approx(1 / 1.5)
    out = M.regression_metrics(torch.tensor(y), torch.tensor(p), train)
    assert set(out) == {"mae", "rmse", "mape", "smape", "mase"}
    assert out["mase"] == pytest.approx(0.5)
    assert "mase" not in M.regression_metrics(y, p)


def test_regression_edge_cases():
    assert M.mape([0.0, 2.0], [1.0, 1.0]) == pytest.approx(50.0)  # y == 0 left out
    assert math.isnan(M.mape([0.0], [1.0]))
    assert M.smape([0.0, 1.0], [0.0, 1.0]) == 0.0  # 0/0 is a perfect forecast
    assert M.smape([1.0], [-1.0]) == pytest.approx(200.0)
    assert math.isnan(M.mase([1.0], [2.0], [3.0, 3.0, 3.0]))  # constant series: no scale
    with pytest.raises(ValueError):
        M.mase([1.0], [2.0], [3.0], season=1)
    # (B, H, K) forecasts with a (T, K) training series
    y3 = np.ones((2, 2, 3))
    assert M.mase(y3, y3 + 1, np.arange(12.0).reshape(4, 3)) == pytest.approx(1 / 3)
