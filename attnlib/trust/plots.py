"""Trust pictures (PNG, Agg, written atomically): the reliability diagram and a forecast with
its conformal band. Same look as :mod:`attnlib.plots`."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from attnlib.plots import _save  # noqa: E402  (the same PNG writer)
from attnlib.trust.calibration import ece, reliability_bins, to_probs  # noqa: E402


def reliability_diagram(logits, labels, temperature: float, path,
                        title: str = "Reliability (test split)") -> Path:  # fmt: skip
    """Accuracy against mean confidence per confidence bin, before and after temperature
    scaling, the diagonal = perfect calibration; ECE in the legend.

    Args:
        logits: (N, K) or (N,) binary test logits; labels (N,) class ids.
        temperature: the fitted T.
    """
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.8), sharey=True)
    panels = ((axes[0], 1.0, "before"), (axes[1], temperature, f"after (T = {temperature:.2f})"))
    for ax, t, name in panels:
        probs = to_probs(logits, t)
        b = reliability_bins(probs, labels)
        edges = b["edges"]
        width = np.diff(edges)
        ok = b["count"] > 0
        ax.bar(edges[:-1][ok], b["accuracy"][ok], width=width[ok], align="edge",
               edgecolor="black", lw=0.5, label="accuracy")  # fmt: skip
        ax.bar(edges[:-1][ok], (b["confidence"] - b["accuracy"])[ok], bottom=b["accuracy"][ok],
               width=width[ok], align="edge", color="tab:red", alpha=0.3, label="gap")  # fmt: skip
        ax.plot([0, 1], [0, 1], "k--", lw=1)
        ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", title=name)
        ax.legend(title=f"ECE {ece(probs, labels):.3f}", loc="upper left", fontsize=8)
    axes[0].set_ylabel("accuracy")
    fig.suptitle(title)
    return _save(fig, path)


def forecast_band(history, actual, predicted, lower, upper, path, *, alpha: float,
                  title: str = "Forecast vs actual") -> Path:  # fmt: skip
    """The input window, then actual, predicted and the conformal (1 - alpha) band; 1-D each."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    h = np.arange(len(history))
    f = np.arange(len(history), len(history) + len(actual))
    ax.plot(h, history, color="grey", label="history")
    lo, hi = np.asarray(lower, dtype=float), np.asarray(upper, dtype=float)
    if np.isfinite(lo).all() and np.isfinite(hi).all():
        ax.fill_between(f, lo, hi, color="tab:orange", alpha=0.25,
                        label=f"{1 - alpha:.0%} conformal interval")  # fmt: skip
    ax.plot(f, actual, "o-", label="actual")
    ax.plot(f, predicted, "s--", label="predicted")
    ax.set(xlabel="step", ylabel="value", title=title)
    ax.legend()
    return _save(fig, path)
