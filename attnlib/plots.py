"""PNG pictures: learning curves, confusion matrix, attention heatmaps, forecast vs actual,
and a text note standing in for a plot that does not apply.

All written atomically with the non-interactive Agg backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from attnlib.io import atomic_path  # noqa: E402


def _save(fig, path: str | Path) -> Path:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def learning_curve(train_loss: Sequence[float], val_loss: Sequence[float], path) -> Path:
    """Train and validation loss per epoch, the best epoch marked."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    epochs = np.arange(1, len(train_loss) + 1)
    ax.plot(epochs, train_loss, "o-", label="train")
    ax.plot(epochs, val_loss, "s-", label="validation")
    best = int(np.argmin(val_loss)) + 1
    ax.axvline(best, color="grey", ls="--", lw=1, label=f"best epoch ({best})")
    ax.set(xlabel="epoch", ylabel="loss", title="Learning curves")
    ax.legend()
    return _save(fig, path)


def confusion(matrix: np.ndarray, labels: Sequence[str], path, title="Confusion matrix") -> Path:
    """Row-normalised confusion matrix (rows = actual, columns = predicted)."""
    m = np.asarray(matrix, dtype=float)
    norm = m / np.maximum(m.sum(1, keepdims=True), 1)
    n = len(labels)
    fig, ax = plt.subplots(figsize=(2 + 0.45 * n, 1.5 + 0.45 * n))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(n), labels, fontsize=7)
    ax.set(xlabel="predicted", ylabel="actual", title=title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    return _save(fig, path)


def attention_heatmap(
    weights: np.ndarray,
    tokens: Sequence[str],
    path,
    *,
    query_labels: Sequence[str] | None = None,
    title: str = "Attention",
) -> Path:
    """Heatmap of attention weights: (Q, T) rows = query steps, columns = attended tokens.

    A 1-D vector (pooled attention) is drawn as a single row.
    """
    w = np.atleast_2d(np.asarray(weights, dtype=float))
    Q, T = w.shape
    fig, ax = plt.subplots(figsize=(2 + 0.3 * T, 1.2 + 0.3 * Q))
    im = ax.imshow(w, cmap="viridis", vmin=0, vmax=max(float(w.max()), 1e-9), aspect="auto")
    ax.set_xticks(range(T), tokens[:T], rotation=90, fontsize=6)
    ax.set_yticks(range(Q), (query_labels or [str(i) for i in range(Q)])[:Q], fontsize=6)
    ax.set(xlabel="attended step", ylabel="query step" if Q > 1 else "", title=title)
    fig.colorbar(im, ax=ax, fraction=0.046)
    return _save(fig, path)


def forecast(history: np.ndarray, actual: np.ndarray, predicted: np.ndarray, path,
             title: str = "Forecast vs actual") -> Path:  # fmt: skip
    """The input window, then actual and predicted values over the horizon."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    h = np.arange(len(history))
    f = np.arange(len(history), len(history) + len(actual))
    ax.plot(h, history, color="grey", label="history")
    ax.plot(f, actual, "o-", label="actual")
    ax.plot(f, predicted, "s--", label="predicted")
    ax.set(xlabel="step", ylabel="value", title=title)
    ax.legend()
    return _save(fig, path)


def note(path, text: str) -> Path:
    """A small picture holding only ``text``, e.g. why a declared plot does not apply."""
    fig, ax = plt.subplots(figsize=(4, 1))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    return _save(fig, path)
