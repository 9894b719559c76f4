"""Scoring a trained model on a split: what every task's evaluation shares.

:func:`evaluate` runs the task's own evaluation (:meth:`attnlib.tasks.base.Task.evaluate`:
model metrics, baselines, plots) and draws the attention heatmaps of a few test items.
Every baseline is fitted on train + validation (the model sees validation too, for early
stopping) and scored on test with the same metrics as the model; a baseline's own
hyper-parameter (the Kneser-Ney order) is chosen on validation first, fitted on train.
"""

from __future__ import annotations

import shutil
from collections import Counter
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from attnlib.data import Batches, SequenceData
from attnlib.io import write_json_atomic
from attnlib.metrics import confusion_matrix
from attnlib.plots import confusion
from attnlib.tasks.base import Evaluation

if TYPE_CHECKING:
    import polars as pl

    from attnlib.tasks import EvalContext, Task

HEATMAP_MAX_STEPS = 32  # longer sequences are cut for a readable picture


def evaluate(task: Task, ctx: EvalContext) -> Evaluation:
    """The task's evaluation of ``ctx.model`` on ``ctx.test``, and its attention heatmaps."""
    shutil.rmtree(ctx.task_plots, ignore_errors=True)  # only this task's pictures: none stale
    result = task.evaluate(ctx)
    heatmaps(task, ctx, result.heatmap_labels, result.heatmap_ids)
    return result


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


def categorical(ctx: EvalContext, name: str, report: dict, actual, pred, names) -> Evaluation:
    """The evaluation of a task that predicts classes (``names``): a confusion plot among the
    most frequent, heatmaps of the first test sequences.

    Args:
        report: model metrics and baselines; actual, pred: class ids, flat.
    """
    top = ctx.options.confusion_top
    matrix, cm_labels, records = top_confusion(actual, pred, names, top)
    confusion(matrix, cm_labels, ctx.task_plots / "confusion.png")
    frame = ctx.splits[-1]
    labels = [_steps(frame, i) for i in range(min(ctx.options.heatmaps, frame.height))]
    return Evaluation(report, records, labels, frame["id"].to_list()[: len(labels)],
                      outputs={"actual": actual, "predicted": pred})  # fmt: skip


def _steps(frame: pl.DataFrame, i: int) -> list[str]:
    """Axis labels of test item ``i``: its tokens, or its step numbers."""
    if "tokens" in frame.columns:
        return frame["tokens"][i].to_list()
    return [str(t) for t in range(int(frame["length"][i]))]


def _pooled(labels: list[str], pool: int) -> list[str]:
    """Axis labels for the CNN model's pooled steps: ``first..last`` of each window."""
    return [f"{labels[k]}..{labels[min(k + pool, len(labels)) - 1]}"
            for k in range(0, len(labels), pool)]  # fmt: skip


def heatmaps(task: Task, ctx: EvalContext, labels: list[list[str]], ids: list[str]) -> list[str]:
    """Attention heatmaps (``plots/attention/NN.png``) of the first ``evaluate.heatmaps`` test
    items; ``labels``: each item's axis labels (one per input step), ``ids``: its name."""
    out_dir = ctx.plots / "attention"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    n, data = min(ctx.options.heatmaps, len(labels), len(ctx.test)), ctx.test
    if n == 0:
        return []
    sub = type(data)(data.x[:n], data.lengths[:n], data.y[:n], data.y_per_step)
    _, _, ws = predict(ctx.model, sub, batch_size=n)
    cfg = ctx.model.config
    pool = cfg.cnn_pool if cfg.name == "cnn_bilstm_attention" else 1
    paths, examples = [], []
    for i in range(n):
        length = int(sub.lengths[i])  # real steps (next_state: inputs, one fewer than tokens)
        toks = labels[i] if pool == 1 else _pooled(labels[i][:length], pool)
        steps = length if pool == 1 else -(-length // pool)
        path = out_dir / f"{i:02d}.png"
        w, shown = ws[0][i].numpy(), min(steps, HEATMAP_MAX_STEPS)
        task.heatmap(w, toks, shown, path, ids[i])
        paths.append(str(path))
        # the report's hover examples: one weight per step (per-step attention: the last row)
        row = w[steps - 1, :steps] if w.ndim == 2 else w[:steps]
        examples.append(
            {
                "id": str(ids[i]),
                "tokens": [str(t) for t in toks[:steps]],
                "weights": [float(v) for v in row],
                "caption": f"test item {ids[i]}",
            }
        )
    write_json_atomic(out_dir / "examples.json", examples)
    return paths
