"""Scoring a trained model on a split, and the baselines beside it."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch
from torch import nn

from attnlib.baselines.ngram import KneserNey, select_order
from attnlib.data import Batches, SequenceData
from attnlib.metrics import classification_metrics, confusion_matrix, next_state_metrics
from attnlib.vocab import PAD_ID


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
    outputs, targets, _ = predict(model, data)
    scores = torch.cat(outputs)
    y = torch.cat(targets)
    pred = (scores > 0).long() if scores.ndim == 1 else scores.argmax(-1)
    metrics = classification_metrics(scores, y, num_classes)
    return metrics, y.numpy(), pred.numpy()


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
