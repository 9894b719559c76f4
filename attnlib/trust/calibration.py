"""Temperature scaling (Guo et al. 2017) and the calibration metrics: ECE, Brier score, NLL.

One scalar T > 0 divides the logits; it is fitted on validation logits by minimising the
negative log-likelihood (Newton's method on 1 / T, in which the NLL is convex; no
optimiser object, whose first use costs a second of imports). The weights never change,
so accuracy does not either. Logits are flat: (N, K) for K classes, or (N,) single binary
logits, read as the 2-class softmax over [0, z] (= sigmoid(z / T)). Callers flatten
per-position outputs (next-state) and drop padding first.

ECE is hand-written (15 equal-width bins on the top-label confidence): torchmetrics' binary
variant bins the positive-class probability instead, which is not the top-label ECE.

The binned ECE of a finite test split is biased upwards: a perfectly calibrated model
scores above 0 through the bins' sampling noise alone (Kumar et al. 2019, "Verified
Uncertainty Calibration"; Roelofs et al. 2022, "Mitigating Bias in Calibration Error
Estimation"). :func:`ece_floor` measures that noise for the split at hand: the mean ECE when
the labels are drawn from the predicted probabilities themselves, i.e. the figure a
perfectly calibrated model with the same confidences would show on the same number of items.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from attnlib.errors import DataError
from attnlib.metrics import accuracy

ECE_BINS = 15
T_RANGE = (0.05, 20.0)  # a temperature outside this says the logits are broken, not calibrated


def _tensors(logits, labels) -> tuple[torch.Tensor, torch.Tensor]:
    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    y = torch.as_tensor(np.asarray(labels), dtype=torch.int64)
    if z.ndim not in (1, 2) or y.ndim != 1 or len(z) != len(y):
        raise DataError(
            f"calibration: expected logits (N,) or (N, K) and labels (N,), "
            f"got {tuple(z.shape)} and {tuple(y.shape)}"
        )
    if len(y) == 0:
        raise DataError("calibration: no predictions to calibrate (empty split)")
    if not torch.isfinite(z).all():
        raise DataError("calibration: logits hold NaN or inf")
    K = 2 if z.ndim == 1 else z.shape[1]
    if int(y.min()) < 0 or int(y.max()) >= K:
        raise DataError(f"calibration: labels must be class ids in [0, {K}), got {int(y.max())}")
    return z, y


def _as_2class(z: torch.Tensor) -> torch.Tensor:
    """(N,) binary logits -> (N, 2) logits [0, z]; (N, K) unchanged."""
    return torch.stack([torch.zeros_like(z), z], dim=1) if z.ndim == 1 else z


def to_probs(logits, temperature: float = 1.0) -> np.ndarray:
    """Class probabilities (N, K) of ``logits / temperature``; binary (N,) logits give (N, 2)."""
    z = torch.as_tensor(np.asarray(logits), dtype=torch.float64)
    return torch.softmax(_as_2class(z) / temperature, dim=1).numpy()


def fit_temperature(logits, labels, *, max_iter: int = 100) -> float:
    """The temperature T > 0 that minimises the NLL of ``labels`` under ``softmax(logits / T)``.

    Args:
        logits: (N, K) multi-class or (N,) binary logits of the validation split.
        labels: (N,) true class ids.
    Returns:
        T (> 1 softens an over-confident model, < 1 sharpens an under-confident one);
        1 when every validation item is classified right (no finite optimum then).
    """
    z, y = _tensors(logits, labels)
    z2 = _as_2class(z)  # (N, K)
    zy = z2[torch.arange(len(y)), y]  # (N,) the true class's logit
    if bool((z2.argmax(1) == y).all()):
        # every validation item right: the NLL falls without end as T -> 0, so there is no
        # finite optimum, and sharpening to the bound makes every future error near-certain
        return 1.0
    b = 1.0  # b = 1 / T: the NLL is convex in b, so Newton's method converges in a few steps

    def nll_grad_curv(b: float):
        bz = b * z2
        lse = torch.logsumexp(bz, dim=1, keepdim=True)  # (N, 1)
        p = torch.exp(bz - lse)  # (N, K) softmax(b z)
        mean = (p * z2).sum(1)  # (N,) E_p[z]
        nll = (lse[:, 0] - b * zy).mean()
        return float(nll), float((mean - zy).mean()), float(((p * z2 * z2).sum(1) - mean**2).mean())

    f, g, h = nll_grad_curv(b)
    for _ in range(max_iter):
        if not h > 0:  # all logits equal: any temperature gives the same NLL
            break
        step = g / h
        while b - step <= 0:
            step /= 2  # stay positive
        while True:  # damped: never increase the NLL (the trial point's values are kept)
            trial = nll_grad_curv(b - step)
            if trial[0] <= f + 1e-12 or abs(step) <= 1e-9 * b:
                break
            step /= 2
        if abs(step) <= 1e-9 * b:
            break
        b -= step
        f, g, h = trial
    t = 1.0 / b
    if not math.isfinite(t):
        return 1.0
    return min(max(t, T_RANGE[0]), T_RANGE[1])


def ece(probs: np.ndarray, labels: np.ndarray, n_bins: int = ECE_BINS) -> float:
    """Expected calibration error: sum over equal-width confidence bins of
    (bin share) * |accuracy - mean confidence|, on the top-label confidence."""
    return _binned_gap(*_top_label(probs, labels), n_bins)


# label draws behind ece_floor; over 20 seeds, 500 items' floor moved by 0.0007 (mean) and
# 0.0011 (p90), less on more items
FLOOR_DRAWS = 200


def ece_floor(probs: np.ndarray, n_bins: int = ECE_BINS, *, draws: int = FLOOR_DRAWS,
              seed: int = 0) -> dict:  # fmt: skip
    """The ECE a perfectly calibrated model would show on these items: each item's top label
    drawn right with probability its confidence (the top-label ECE reads nothing else of a
    label), the ECE computed as for the real labels, over ``draws`` seeded draws.

    Args:
        probs: (N, K) predicted class probabilities (rows sum to 1).
    Returns:
        ``{"mean", "p90"}``: the mean and the 90th percentile of those ECEs. A measured ECE
        below ``p90`` is within the noise of a split of this size.
    """
    conf = np.asarray(probs, dtype=np.float64).max(1)  # (N,)
    rng = np.random.default_rng(seed)
    eces = np.array([_binned_gap(conf, rng.random(len(conf)) < conf, n_bins)
                     for _ in range(draws)])  # fmt: skip
    return {"mean": float(eces.mean()), "p90": float(np.quantile(eces, 0.9))}


def reliability_bins(probs: np.ndarray, labels: np.ndarray, n_bins: int = ECE_BINS) -> dict:
    """Per equal-width bin of top-label confidence: count, mean confidence, accuracy.

    Returns: ``{"edges" (n_bins+1,), "count", "confidence", "accuracy" (n_bins,)}``;
    empty bins hold NaN confidence and accuracy.
    """
    return _bins(*_top_label(probs, labels), n_bins)


def _top_label(probs: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) top-label confidences and (N,) whether each top label is the true one."""
    p = np.asarray(probs, dtype=np.float64)
    return p.max(1), p.argmax(1) == np.asarray(labels)


def _binned_gap(conf: np.ndarray, correct: np.ndarray, n_bins: int) -> float:
    """ECE from top-label confidences (N,) and whether each top label is right (N,)."""
    bins = _bins(conf, correct, n_bins)
    gap = np.abs(bins["accuracy"] - bins["confidence"])
    return float(np.nansum(bins["count"] / len(conf) * gap))


def _bins(conf: np.ndarray, correct: np.ndarray, n_bins: int) -> dict:
    correct = np.asarray(correct, dtype=np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # bins are (lo, hi]; a confidence of exactly 0 cannot occur for a top label
    idx = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, n_bins - 1)
    count = np.bincount(idx, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(idx, conf, minlength=n_bins) / count
        accuracy = np.bincount(idx, correct, minlength=n_bins) / count
    return {"edges": edges, "count": count, "confidence": confidence, "accuracy": accuracy}


def brier(probs: np.ndarray, labels: np.ndarray) -> float:
    """Multi-class Brier score: mean over items of sum over classes of (p - one-hot)^2."""
    p = np.asarray(probs, dtype=np.float64)
    onehot = np.eye(p.shape[1])[np.asarray(labels)]
    return float(((p - onehot) ** 2).sum(1).mean())


def nll(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels (probabilities floored at 1e-12)."""
    p = np.asarray(probs, dtype=np.float64)
    return float(-np.log(np.maximum(p[np.arange(len(p)), np.asarray(labels)], 1e-12)).mean())


def scores(probs: np.ndarray, labels: np.ndarray) -> dict:
    """ECE (15 bins), Brier score and NLL of ``probs`` (N, K) against ``labels`` (N,)."""
    return {"ece": ece(probs, labels), "brier": brier(probs, labels), "nll": nll(probs, labels)}


def calibration_report(logits_test, y_test, temperature: float) -> dict:
    """Test calibration before and after temperature scaling.

    Args:
        logits_test: (N, K) or (N,) binary test logits (next-state: real positions only).
        y_test: (N,) true class ids.
        temperature: T fitted on validation with :func:`fit_temperature`.
    Returns:
        ``{"temperature", "n", "ece_before", "ece_after", "brier_before", "brier_after",
        "nll_before", "nll_after", "ece_floor_after", "ece_floor_p90_after"}`` (flat, so
        ``dvc exp show`` has a column each); the floor is :func:`ece_floor` of the
        calibrated probabilities: the ECE that test-split noise alone gives them.
    """
    z, y = _tensors(logits_test, y_test)
    labels = y.numpy()
    out: dict = {"temperature": float(temperature), "n": len(labels)}
    for when, t in (("before", 1.0), ("after", temperature)):
        probs = to_probs(z, t)
        out.update({f"{k}_{when}": v for k, v in scores(probs, labels).items()})
    floor = ece_floor(probs)  # of the calibrated probabilities, the last ones scored
    out.update(ece_floor_after=floor["mean"], ece_floor_p90_after=floor["p90"])
    return out


class TemperatureScaled(torch.nn.Module):
    """``model`` with its logits divided by a fixed temperature; attention unchanged.

    A drop-in for export and predict: it keeps ``config`` and ``encoder`` visible, so
    ``export_onnx(TemperatureScaled(model, T), ...)`` writes the division into the ONNX graph
    (T is a buffer, i.e. a graph constant) and ``parity_check`` compares calibrated outputs.
    Only for classify and next_state (logits); a forecast has nothing to scale.
    """

    def __init__(self, model: torch.nn.Module, temperature: float):
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.model = model
        self.config = model.config
        if hasattr(model, "encoder"):  # an Ensemble has one per member
            self.__dict__["encoder"] = model.encoder  # visible, not a second submodule
        self.register_buffer("temperature", torch.tensor(float(temperature)))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, return_attention: bool = False):
        y, w = self.model(x, lengths, return_attention=True)
        y = y / self.temperature  # (B,) | (B, K) | (B, T, V) logits
        return (y, w) if return_attention else y


def calibrate(val_logits, val_y, test_logits, test_y) -> dict:
    """Entry point for a task's evaluate: fit T on validation, report test before / after.

    A temperature carries over only between predictions that are alike, so the report
    also holds ``accuracy_fitted_on``: the accuracy of the predictions T was fitted on (to
    set beside the model's test accuracy; after a refit those come from the model the
    refit started from, see ``fitted_on``). Where it is lower, T leaves the test
    predictions under-confident.

    Args: (N, K) or (N,) binary logits and (N,) labels of validation, then of test
        (next-state: real positions only, flattened). Returns: :func:`calibration_report`
        and ``accuracy_fitted_on``.
    """
    out = calibration_report(test_logits, test_y, fit_temperature(val_logits, val_y))
    out["accuracy_fitted_on"] = accuracy(val_logits, val_y)
    return out


def real_positions(outputs, targets, pad: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Flatten per-position logits to the flat arrays the functions here take.

    Args:
        outputs: per-batch logits (B, T, V) (a list of tensors / arrays, or one).
        targets: the matching (B, T) target ids; ``pad`` marks positions with no target.
    Returns:
        (logits (N, V), labels (N,)) of the positions that have a target, in order.
    """
    outs = outputs if isinstance(outputs, list | tuple) else [outputs]
    tgts = targets if isinstance(targets, list | tuple) else [targets]
    zs, ys = [], []
    for z, y in zip(outs, tgts, strict=True):
        z, y = np.asarray(z), np.asarray(y)
        keep = y != pad  # (B, T)
        zs.append(z[keep])  # (n, V)
        ys.append(y[keep])
    return np.concatenate(zs), np.concatenate(ys)
