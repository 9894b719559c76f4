"""Scoring a trained model on a split, and the baselines beside it.

Baselines are fitted on everything but test (train + validation: the model sees validation
too, for early stopping) and scored with the same metrics as the model.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch
from torch import nn

from attnlib.baselines import classic
from attnlib.baselines import forecast as fc
from attnlib.baselines.ngram import KneserNey, select_order
from attnlib.data import Batches, SequenceData
from attnlib.metrics import (
    classification_metrics,
    confusion_matrix,
    next_state_metrics,
    regression_metrics,
)
from attnlib.scaling import Standardizer
from attnlib.vocab import PAD_ID
from attnlib.windows import undo_delta


@torch.no_grad()
def predict(model: nn.Module, data: SequenceData, batch_size: int = 128):
    """Run ``model`` over ``data`` in order.

    Returns: (outputs, targets, attention), per-batch lists of CPU tensors.
    """
    model.eval()
    outs, ys, ws = [], [], []
    device = next(model.parameters()).device
    for b in Batches(data, batch_size):
        y, w = model(b.x.to(device), b.lengths.to(device), return_attention=True)
        outs.append(y.cpu())
        ys.append(b.y)
        ws.append(w.cpu())
    return outs, ys, ws


def next_state_report(model: nn.Module, data: SequenceData) -> tuple[dict, np.ndarray, np.ndarray]:
    """Metrics over every real position, plus flat (actual, predicted) id arrays."""
    logits, targets, _ = predict(model, data)
    metrics = next_state_metrics(logits, targets)
    actual = np.concatenate([t.reshape(-1).numpy() for t in targets])
    pred = np.concatenate([lg.argmax(-1).reshape(-1).numpy() for lg in logits])
    keep = actual != PAD_ID
    return metrics, actual[keep], pred[keep]


def classify_report(model: nn.Module, data: SequenceData, num_classes: int):
    """Accuracy and macro-F1, plus (actual, predicted) class-id arrays."""
    outputs, targets, _ = predict(model, data)
    scores = torch.cat(outputs)
    y = torch.cat(targets)
    pred = (scores > 0).long() if scores.ndim == 1 else scores.argmax(-1)
    metrics = classification_metrics(scores, y, num_classes)
    return metrics, y.numpy(), pred.numpy()


def forecast_report(
    model: nn.Module, data: SequenceData, target_scaler: Standardizer, insample: np.ndarray,
    season: int, *, target_index: list[int] | None = None, delta: int = 0,
) -> tuple[dict, np.ndarray, np.ndarray]:  # fmt: skip
    """Forecast metrics in the data's own units (scaling undone).

    Args:
        data: test windows, x (W, L, C), y (W, H, K) standardised.
        target_scaler: the targets' scaling statistics.
        insample: (T, K) raw training series of the targets (MASE's scale).
        season: MASE's season.
        target_index, delta: with ``delta`` > 0 the targets are residuals over the
            seasonal-naive forecast of that lag, read back from the inputs' channels
            ``target_index``.
    Returns:
        (metrics, actual (W, H, K), predicted (W, H, K)), both raw.
    """
    outputs, targets, _ = predict(model, data)
    pred, actual = torch.cat(outputs).numpy(), torch.cat(targets).numpy()
    if delta:
        x = data.x.numpy()
        pred = undo_delta(pred, x, target_index, delta)
        actual = undo_delta(actual, x, target_index, delta)
    pred, actual = target_scaler.inverse(pred), target_scaler.inverse(actual)
    return regression_metrics(actual, pred, insample, season), actual, pred


def forecast_baselines(
    series: np.ndarray, starts: np.ndarray, horizon: int, insample: np.ndarray, season: int
) -> dict:
    """Naive (the last value), seasonal naive and Holt-Winters, each window forecast from
    everything before it.

    Args:
        series: (N, K) raw target channels over the whole time axis.
        starts: (W,) step of each test window's first target.
        horizon: H. insample: (T, K) the train part (MASE). season: m.
    """
    out = {}
    actual = np.stack([series[t : t + horizon] for t in starts])  # (W, H, K)
    methods = (("naive", fc.seasonal_naive, 1), ("seasonal_naive", fc.seasonal_naive, season),
               ("holt_winters", fc.holt_winters, season))  # fmt: skip
    for name, fn, m in methods:
        pred = np.stack([fn(series[:t], horizon, m) for t in starts])
        out[name] = regression_metrics(actual, pred, insample, season)
    return out


def classify_baselines(
    fit_labels: list[int], test_labels: list[int], num_classes: int, *,
    fit_texts: list[str] | None = None, test_texts: list[str] | None = None,
    fit_series: list[np.ndarray] | None = None, test_series: list[np.ndarray] | None = None,
    seed: int = 0,
) -> dict:  # fmt: skip
    """Majority class, and TF-IDF + LinearSVC (texts) or 1-NN Euclidean (series).

    Returns: ``{name: {"accuracy", "macro_f1"}}``, scored like the model.
    """
    y = np.asarray(test_labels, dtype=np.int64)
    preds = {"majority": classic.majority(fit_labels, len(y))}
    if fit_texts is not None:
        preds["tfidf_svm"] = classic.tfidf_svm(fit_texts, fit_labels, test_texts, seed=seed)
    if fit_series is not None:
        preds["nn1_euclidean"] = classic.nn1_euclidean(fit_series, fit_labels, test_series)
    return {name: classification_metrics(p, y, num_classes) for name, p in preds.items()}


def kneser_ney_baseline(train, val, test, vocab_size: int, orders) -> dict:
    """Interpolated Kneser-Ney: order chosen on validation, fitted on train, scored on test."""
    order, val_ppl = select_order(train, val, vocab_size, orders=orders)
    lm = KneserNey(order).fit(train, vocab_size=vocab_size)
    out = lm.evaluate(test, vocab_size=vocab_size)
    out.pop("n_predictions", None)
    return {**out, "order": order, "val_perplexity": val_ppl[order]}


def top_confusion(actual: np.ndarray, pred: np.ndarray, names: list[str], top: int):
    """Confusion among the ``top`` most frequent actual classes; the rest is 'other'.

    Returns: (matrix (top+1, top+1), labels, records for a DVC confusion plot).
    """
    common = [c for c, _ in Counter(actual.tolist()).most_common(top)]
    index = {c: i for i, c in enumerate(common)}
    other = len(common)
    a = np.array([index.get(int(v), other) for v in actual])
    p = np.array([index.get(int(v), other) for v in pred])
    labels = [names[c] for c in common] + ["other"]
    matrix = confusion_matrix(p, a, len(labels))
    records = [
        {"actual": labels[i], "predicted": labels[j]}
        for i, j in zip(a.tolist(), p.tolist(), strict=True)
        if i != other
    ]
    return matrix, labels, records
