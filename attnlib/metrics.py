"""Evaluation metrics: pure functions on torch tensors or numpy arrays, returning floats.

Argument order follows each field's habit: classification functions take
``(prediction, target)`` like torch losses; regression functions take
``(y_true, y_pred)`` like scikit-learn and the forecasting literature (MAPE and MASE
are not symmetric, so the order matters there). Every input may also be a list of
per-batch arrays, which is concatenated along the first axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from attnlib.vocab import PAD_ID


def _np(a, dtype=None) -> np.ndarray:
    """A numpy array from a tensor, an array, or a list of per-batch arrays (concatenated)."""
    if isinstance(a, (list, tuple)) and a and isinstance(a[0], (torch.Tensor, np.ndarray)):
        return np.concatenate([_np(p, dtype) for p in a], axis=0)
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu()
        a = (
            a.float()
            if a.is_floating_point() and a.dtype not in (torch.float32, torch.float64)
            else a
        )
        a = a.numpy()
    return np.asarray(a, dtype=dtype)


def _predict(scores: np.ndarray, y: np.ndarray, threshold: float) -> np.ndarray:
    """Class predictions: argmax over the last axis, threshold for one score per sample."""
    if scores.ndim == y.ndim + 1:
        return scores.argmax(-1)
    if scores.dtype.kind in "iub":  # already class ids
        return scores.astype(np.int64)
    return (scores > threshold).astype(np.int64)


# ---------------------------------------------------------------- classification


def accuracy(
    logits_or_probs, y, *, threshold: float = 0.0, ignore_index: int | None = None
) -> float:
    """Fraction of correct predictions, in [0, 1].

    Args:
        logits_or_probs: (N, K) scores (argmax is the prediction); or (N,) one binary
            score per sample, predicted 1 when ``> threshold`` (0 for logits, use 0.5
            for probabilities); or (N,) integer class ids. Extra leading dims allowed.
        y: (N,) integer targets (same leading dims).
        threshold: decision threshold for one-score-per-sample input.
        ignore_index: targets equal to this are left out (e.g. PAD_ID).
    Returns:
        correct / counted, or nan when nothing is counted.
    """
    y = _np(y)
    pred = _predict(_np(logits_or_probs), y, threshold)
    keep = np.ones_like(y, dtype=bool) if ignore_index is None else y != ignore_index
    n = int(keep.sum())
    return float((pred[keep] == y[keep]).sum() / n) if n else math.nan


def top_k_accuracy(logits, y, k: int = 5, *, ignore_index: int | None = None) -> float:
    """Fraction of targets among the k highest scores, in [0, 1].

    Ties are broken as a stable descending sort would (lower class id first), so
    ``top_k_accuracy(logits, y, 1) == accuracy(logits, y)`` always.

    Args:
        logits: (..., V) scores. y: (...) integer targets.
        k: how many top classes count as a hit (clipped to V).
        ignore_index: targets equal to this are left out.
    Returns:
        hits / counted, or nan when nothing is counted.
    """
    s = _np(logits)
    y = _np(y).astype(np.int64)
    s, y = s.reshape(-1, s.shape[-1]), y.reshape(-1)  # (N, V), (N,)
    if ignore_index is not None:
        s, y = s[y != ignore_index], y[y != ignore_index]
    if len(y) == 0:
        return math.nan
    target = np.take_along_axis(s, y[:, None], axis=1)  # (N, 1)
    ids = np.arange(s.shape[1])[None, :]
    rank = (s > target).sum(1) + ((s == target) & (ids < y[:, None])).sum(1)  # 0 = top
    return float((rank < k).mean())


def confusion_matrix(pred, y, num_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class) pairs.

    Args:
        pred: (N,) predicted class ids. y: (N,) true class ids, both in [0, num_classes).
        num_classes: K.
    Returns:
        (K, K) int64 array; row = true class, column = predicted class (sklearn's layout).
    """
    pred, y = _np(pred).astype(np.int64).ravel(), _np(y).astype(np.int64).ravel()
    for name, a in (("pred", pred), ("y", y)):
        if a.size and (a.min() < 0 or a.max() >= num_classes):
            raise ValueError(f"{name} holds a class id outside [0, {num_classes})")
    counts = np.bincount(y * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def macro_f1(pred, y, num_classes: int) -> float:
    """Unweighted mean over classes of ``F1_c = 2 TP / (2 TP + FP + FN)``, in [0, 1].

    Classes that neither occur in ``y`` nor are ever predicted have no defined F1 and
    are left out of the mean (as scikit-learn does when ``labels`` is not given).

    Args:
        pred: (N,) predicted class ids. y: (N,) true class ids. num_classes: K.
    """
    cm = confusion_matrix(pred, y, num_classes)
    tp = np.diag(cm).astype(np.float64)
    denom = cm.sum(0) + cm.sum(1)  # (2 TP + FP + FN) per class
    present = denom > 0
    return float((2 * tp[present] / denom[present]).mean()) if present.any() else math.nan


def classification_metrics(logits, y, num_classes: int | None = None) -> dict[str, float]:
    """Accuracy and macro-F1 of a classifier.

    Args:
        logits: (N,) one logit per sample (binary: class 1 when > 0) or (N, K) logits.
        y: (N,) integer targets.
        num_classes: K; default 2 for binary input, else ``logits.shape[-1]``.
    Returns:
        ``{"accuracy", "macro_f1"}``, both in [0, 1].
    """
    s, y = _np(logits), _np(y).astype(np.int64)
    pred = _predict(s, y, 0.0)
    k = num_classes or (s.shape[-1] if s.ndim == y.ndim + 1 else 2)
    return {"accuracy": accuracy(pred, y), "macro_f1": macro_f1(pred, y, k)}


# ---------------------------------------------------------------- next-state / language model


def perplexity(nll_sum: float, count: int) -> float:
    """``exp(nll_sum / count)``: exp of the mean negative log-likelihood (nats) per token."""
    return math.exp(nll_sum / count) if count else math.nan


def nll_sum(logits, targets, *, ignore_index: int | None = PAD_ID) -> tuple[float, int]:
    """Summed cross-entropy in nats over the counted targets, and their number.

    Args:
        logits: (..., V). targets: (...) integer ids; ``ignore_index`` ones are skipped.
    """
    lg = torch.as_tensor(logits).detach().double()  # float64: no drift over many tokens
    t = torch.as_tensor(targets).long().to(lg.device)
    lg, t = lg.reshape(-1, lg.shape[-1]), t.reshape(-1)  # (N, V), (N,)
    ign = -100 if ignore_index is None else ignore_index
    total = torch.nn.functional.cross_entropy(lg, t, ignore_index=ign, reduction="sum")
    return float(total), int((t != ign).sum())


def next_state_metrics(
    logits, targets, *, top_k: int = 5, ignore_index: int | None = PAD_ID
) -> dict[str, float]:
    """Accuracy, top-k accuracy, mean NLL and perplexity of next-token predictions.

    Args:
        logits: (N, V) or (B, T, V) scores, or a list of such per-batch tensors (padded
            batches of different lengths need not be concatenated first).
        targets: matching (N,) / (B, T) ids, or a list; ``ignore_index`` (PAD_ID by
            default) marks positions with no real token to predict.
        top_k: k of the top-k accuracy (``evaluate.top_k``); it names the key.
    Returns:
        ``{"accuracy", "top{k}_accuracy"}`` in [0, 1] (``top5_accuracy`` for k = 5),
        ``"nll"`` = mean NLL in nats per real token, ``"perplexity"`` = exp(nll).
    """
    top_key = f"top{top_k}_accuracy"
    pairs = (
        list(zip(logits, targets, strict=True))
        if isinstance(logits, Sequence)
        else [(logits, targets)]
    )
    n = correct = topk = 0.0
    nll = 0.0
    for lg, t in pairs:
        s, c = nll_sum(lg, t, ignore_index=ignore_index)
        if c == 0:
            continue
        nll, n = nll + s, n + c
        # per-batch means weighted back into counts, so batches of any size combine exactly
        correct += accuracy(lg, t, ignore_index=ignore_index) * c
        topk += top_k_accuracy(lg, t, top_k, ignore_index=ignore_index) * c
    if n == 0:
        return dict.fromkeys(("accuracy", top_key, "perplexity", "nll"), math.nan)
    return {
        "accuracy": correct / n,
        top_key: topk / n,
        "perplexity": perplexity(nll, int(n)),
        "nll": nll / n,
    }


# ---------------------------------------------------------------- regression / forecasting


def mae(y, pred) -> float:
    """Mean absolute error ``mean |y - pred|``, in the units of y."""
    y, p = _np(y, np.float64), _np(pred, np.float64)
    return float(np.abs(y - p).mean())


def rmse(y, pred) -> float:
    """Root mean squared error ``sqrt(mean (y - pred)^2)``, in the units of y."""
    y, p = _np(y, np.float64), _np(pred, np.float64)
    return float(np.sqrt(((y - p) ** 2).mean()))


def mape(y, pred) -> float:
    """Mean absolute percentage error ``100 * mean |y - pred| / |y|``, in %.

    Entries with ``y == 0`` (where it is undefined) are left out; nan if all are zero.
    """
    y, p = _np(y, np.float64), _np(pred, np.float64)
    keep = y != 0
    return float(100 * (np.abs(y - p)[keep] / np.abs(y[keep])).mean()) if keep.any() else math.nan


def smape(y, pred) -> float:
    """Symmetric MAPE ``100 * mean 2 |y - pred| / (|y| + |pred|)``, in % (0..200).

    An entry where both y and pred are 0 is a perfect forecast and counts as 0.
    """
    y, p = _np(y, np.float64), _np(pred, np.float64)
    denom = np.abs(y) + np.abs(p)
    ratio = np.divide(2 * np.abs(y - p), denom, out=np.zeros_like(denom), where=denom > 0)
    return float(100 * ratio.mean())


def mase(y, pred, insample_train_series, season: int = 1) -> float:
    """Mean absolute scaled error (Hyndman & Koehler 2006), unitless.

    ``MAE(y, pred) / mean_t |s_t - s_{t-m}|`` where s is the training series and m the
    season: below 1 beats the in-sample seasonal naive forecast. With several target
    channels each channel gets its own MAE and scale and the per-channel MASEs are
    averaged, so a channel of large units does not drown the others.

    Args:
        y, pred: true and predicted values of equal shapes; with a (T, K) training
            series, K > 1, the last axis holds the K channels.
        insample_train_series: (T,) or (T, K) training series, time first.
        season: m >= 1 (1 = naive "last value" forecast).
    Returns:
        the mean over channels; nan when a channel's naive in-sample error is 0 (a
        constant series).
    """
    s = _np(insample_train_series, np.float64)
    if season < 1 or len(s) <= season:
        raise ValueError(f"mase needs season >= 1 and a training series longer than {season}")
    if s.ndim == 1 or s.shape[1] == 1:  # one channel: y and pred may have any shape
        scale = float(np.abs(s[season:] - s[:-season]).mean())
        return mae(y, pred) / scale if scale > 0 else math.nan
    y, p = _np(y, np.float64), _np(pred, np.float64)
    if y.shape[-1] != s.shape[1]:
        raise ValueError(f"mase: y has {y.shape[-1]} channels on its last axis, the "
                         f"training series {s.shape[1]}")  # fmt: skip
    scale = np.abs(s[season:] - s[:-season]).mean(0)  # (K,)
    err = np.abs(y - p).reshape(-1, s.shape[1]).mean(0)  # (K,) MAE per channel
    return float((err / scale).mean()) if (scale > 0).all() else math.nan


def regression_metrics(y, pred, insample_train_series=None, season: int = 1) -> dict[str, float]:
    """MAE, RMSE (units of y), MAPE and sMAPE (%), and MASE when a training series is given.

    Args:
        y, pred: true and predicted values, e.g. (B, horizon, targets).
        insample_train_series: optional (T,) / (T, K) training series for MASE.
        season: MASE season.
    """
    out = {
        "mae": mae(y, pred),
        "rmse": rmse(y, pred),
        "mape": mape(y, pred),
        "smape": smape(y, pred),
    }
    if insample_train_series is not None:
        out["mase"] = mase(y, pred, insample_train_series, season)
    return out
