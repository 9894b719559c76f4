"""Split conformal prediction: class sets (APS / RAPS) and forecast intervals.

Sets: the adaptive prediction sets of Romano et al. (2020), optionally randomised (U seeded
in evaluate, hashed from the row's key in prediction: :func:`key_uniform`), with the RAPS
rank penalty of Angelopoulos et al. (2021). The score of label y is the probability mass
of the labels ranked above it, plus its own times U (U ~ Uniform(0, 1) when randomised;
otherwise U = 1/2, its mean), plus ``lam * max(0, rank(y) - k_reg)``.
Counting the own mass at a fixed 1/2 keeps the sets deterministic (a row always gets the
same set) and keeps the score continuous: with U = 1 every score of a 2-class model's
second label is exactly 1, so a model less accurate than 1 - alpha gets both labels in
every set (coverage 1, nothing learnt). Any fixed score function keeps the guarantee.
The threshold is the ceil((n+1)(1-alpha))/n empirical quantile of the calibration
scores; a test set holds every label whose score is at or below it, so the test label is
in its set with probability >= 1 - alpha (marginally, over exchangeable calibration and test items).
Unless ``allow_empty``, the top label scores 0 (in calibration and test alike), so no set
is empty and the guarantee still holds, but a model more accurate than 1 - alpha then
covers at its accuracy. ``evaluate.sets: exact`` (the default) is APS as published:
randomised and allowed to be empty, so coverage is 1 - alpha up to 1/(n+1) whatever the
accuracy (Romano et al. 2020, Theorem 2). Prediction draws each row's U from a hash of its
key (:func:`key_uniform`), so a row always gets the same set.

Intervals: per horizon step (and channel), the same quantile of the absolute calibration
residuals is the half-width of ``point +- width``.

Hand-written: the scores are a few lines of numpy and MAPIE would add a scikit-learn
estimator wrapper the models do not have.
"""

from __future__ import annotations

import hashlib
import math
from typing import NamedTuple

import numpy as np

from attnlib.errors import DataError


def conformal_quantile(scores: np.ndarray, alpha: float, axis: int = 0) -> np.ndarray | float:
    """The ceil((n+1)(1-alpha))/n empirical quantile of ``scores`` along ``axis``.

    Returns inf where n is too small for the level (n < 1/alpha - 1): no finite
    threshold then guarantees the coverage.
    """
    if not 0.0 < alpha < 1.0:
        raise DataError(f"conformal: alpha must be in (0, 1), got {alpha}")
    s = np.asarray(scores, dtype=np.float64)
    n = s.shape[axis]
    if n == 0:
        raise DataError("conformal: the calibration set is empty")
    rank = math.ceil((n + 1) * (1 - alpha))  # 1-based rank of the threshold among n scores
    if rank > n:
        shape = np.delete(np.array(s.shape), axis)
        return np.full(tuple(shape), np.inf) if len(shape) else math.inf
    q = np.sort(s, axis=axis).take(rank - 1, axis=axis)
    return float(q) if np.ndim(q) == 0 else q


def key_uniform(keys) -> np.ndarray:
    """One U in [0, 1) per key (N,), from the key's BLAKE2b hash: independent of the model
    and the probabilities, as the randomised score needs, yet the same on every call."""
    digest = (hashlib.blake2b(str(k).encode(), digest_size=8).digest() for k in keys)
    return np.array([int.from_bytes(d, "big") / 2.0**64 for d in digest], dtype=np.float64)


# evaluate.sets: each rule's :func:`conformal_sets` options, for evaluate and prediction alike
SET_RULES = {
    "exact": {"randomized": True, "allow_empty": True},  # APS as published: coverage 1 - alpha
    "nonempty": {"randomized": False, "allow_empty": False},  # the top label always in
}

OWN_MASS = 0.5  # U of the deterministic score: the mean of the randomised one's


def _label_scores(probs: np.ndarray, u: np.ndarray | None, lam: float, k_reg: int,
                  top_free: bool) -> np.ndarray:  # fmt: skip
    """APS / RAPS score of every label of every item: (N, K); ``u`` (N,) the randomised
    scores' draws, None = the deterministic score (U = :data:`OWN_MASS`). With ``top_free``
    the top label scores 0, so every set holds it (coverage >= 1 - alpha and >= the accuracy)."""
    order = np.argsort(-probs, axis=1, kind="stable")  # (N, K) labels by falling probability
    sorted_p = np.take_along_axis(probs, order, axis=1)
    above = np.cumsum(sorted_p, axis=1) - sorted_p  # mass strictly above each rank
    own = (OWN_MASS if u is None else u[:, None]) * sorted_p
    ranks = np.arange(1, probs.shape[1] + 1)[None, :]  # 1-based
    s_sorted = above + own + lam * np.maximum(ranks - k_reg, 0)
    if top_free:
        s_sorted[:, 0] = 0.0
    out = np.empty_like(s_sorted)
    np.put_along_axis(out, order, s_sorted, axis=1)
    return out


def _true_label_scores(probs: np.ndarray, y: np.ndarray, u: np.ndarray | None, lam: float,
                       k_reg: int, top_free: bool) -> np.ndarray:  # fmt: skip
    """:func:`_label_scores` of the true labels only (N,), without sorting: a label ranks
    above y when its probability is higher, or equal with a lower index (the stable order)."""
    idx = np.arange(probs.shape[1])[None, :]
    py = probs[np.arange(len(y)), y][:, None]  # (N, 1)
    above = (probs > py) | ((probs == py) & (idx < y[:, None]))  # (N, K)
    rank = above.sum(1) + 1  # 1-based
    own = (OWN_MASS if u is None else u) * py[:, 0]
    s = (probs * above).sum(1) + own + lam * np.maximum(rank - k_reg, 0)
    return np.where(top_free & (rank == 1), 0.0, s)


def _checked(probs, labels=None) -> tuple[np.ndarray, np.ndarray | None]:
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or not np.isfinite(p).all():
        raise DataError(f"conformal: expected finite probabilities (N, K), got shape {p.shape}")
    if labels is None:
        return p, None
    y = np.asarray(labels, dtype=np.int64)
    if y.shape != (len(p),):
        raise DataError(f"conformal: expected labels ({len(p)},), got {y.shape}")
    return p, y


class SetResult(NamedTuple):
    threshold: float  # the calibrated score threshold (inf: every set is every label)
    sets: np.ndarray  # (M, K) bool, True = label in the set
    n_calibration: int


def conformal_sets(
    probs_cal, y_cal, probs_test, alpha: float = 0.1, *, randomized: bool = False,
    lam: float = 0.0, k_reg: int = 1, seed: int = 0, allow_empty: bool = False,
) -> SetResult:  # fmt: skip
    """Split-conformal prediction sets (APS; RAPS when ``lam`` > 0).

    Args:
        probs_cal: (N, K) calibrated probabilities of the calibration split (validation).
        y_cal: (N,) its true class ids.
        probs_test: (M, K) probabilities to build sets for.
        alpha: miscoverage: sets hold the true label with probability >= 1 - alpha.
        randomized: randomised APS (smaller sets; with ``allow_empty``, coverage exact up
            to 1/(n+1)); the calibration and test U drawn from ``seed``.
        lam, k_reg: RAPS penalty ``lam`` per rank beyond ``k_reg``.
        allow_empty: plain APS, whose sets may be empty (a confident model's surest items
            get none). By default the top label scores 0 in calibration and test alike, so
            every set holds it and coverage stays >= 1 - alpha; a model more accurate than
            1 - alpha then gets singletons and covers at its accuracy.
    Returns:
        (threshold, sets (M, K) bool, n_calibration).
    """
    p_cal, y = _checked(probs_cal, y_cal)
    p_test, _ = _checked(probs_test)
    rng = np.random.default_rng(seed)
    u_cal = rng.uniform(size=len(p_cal)) if randomized else None
    u_test = rng.uniform(size=len(p_test)) if randomized else None
    cal = _true_label_scores(p_cal, y, u_cal, lam, k_reg, not allow_empty)  # (N,)
    q = conformal_quantile(cal, alpha)
    return SetResult(float(q), sets_at(p_test, q, u_test, allow_empty=allow_empty, lam=lam,
                                       k_reg=k_reg), len(y))  # fmt: skip


def sets_at(probs: np.ndarray, threshold: float, u: np.ndarray | None = None, *,
            allow_empty: bool = False, lam: float = 0.0, k_reg: int = 1) -> np.ndarray:  # fmt: skip
    """(M, K) bool: the labels of ``probs`` (M, K) whose score is within ``threshold``, the
    calibrated quantile; ``u`` (M,): the randomised rule's draws (None: the deterministic
    score); ``allow_empty``, ``lam``, ``k_reg`` as in :func:`conformal_sets`."""
    return _label_scores(probs, u, lam, k_reg, not allow_empty) <= threshold + 1e-12


def set_report(sets: np.ndarray, labels, *, alpha: float, threshold: float, n_cal: int) -> dict:
    """Coverage, mean set size and the share of empty sets of ``sets`` (M, K) for ``labels``."""
    s = np.asarray(sets, dtype=bool)
    y = np.asarray(labels, dtype=np.int64)
    return {
        "alpha": alpha,
        "coverage": float(s[np.arange(len(y)), y].mean()),
        "mean_set_size": float(s.sum(1).mean()),
        "empty_sets": float((s.sum(1) == 0).mean()),
        "threshold": None if math.isinf(threshold) else threshold,
        "n_calibration": n_cal,
        "n_test": len(y),
    }


class IntervalResult(NamedTuple):
    width: np.ndarray  # (H[, C]) half-width per step (inf: too few calibration windows)
    lower: np.ndarray  # (M, H[, C])
    upper: np.ndarray  # (M, H[, C])
    n_calibration: int


def conformal_intervals(pred_cal, actual_cal, pred_test, alpha: float = 0.1) -> IntervalResult:
    """Per-horizon-step conformal intervals from absolute calibration residuals.

    Args:
        pred_cal, actual_cal: (N, H[, C]) forecasts and truths of the calibration windows,
            in the units the intervals should have (raw, scaling undone).
        pred_test: (M, H[, C]) point forecasts to put intervals around.
        alpha: each step's interval covers with probability >= 1 - alpha.
    Returns:
        (width (H[, C]), lower, upper (M, H[, C]), n_calibration).
    """
    p, a, t = (np.asarray(v, dtype=np.float64) for v in (pred_cal, actual_cal, pred_test))
    if p.shape != a.shape or p.shape[1:] != t.shape[1:] or p.ndim not in (2, 3):
        raise DataError(
            f"conformal intervals: expected forecasts and truths (N, H[, C]) and test "
            f"forecasts (M, H[, C]) of the same steps, got {p.shape}, {a.shape}, {t.shape}"
        )
    width = np.asarray(conformal_quantile(np.abs(a - p), alpha, axis=0))  # (H[, C])
    return IntervalResult(width, t - width, t + width, len(p))


def interval_report(lower, upper, actual, *, alpha: float, n_cal: int) -> dict:
    """Coverage and mean width overall and per horizon step (channels pooled)."""
    lo, hi, y = (np.asarray(v, dtype=np.float64) for v in (lower, upper, actual))
    inside = (y >= lo) & (y <= hi)  # (M, H[, C])
    width = hi - lo
    axes = (0,) + tuple(range(2, inside.ndim))  # everything but the step axis
    finite = bool(np.isfinite(width).all())
    return {
        "alpha": alpha,
        "coverage": float(inside.mean()),
        "mean_width": float(width.mean()) if finite else None,
        "coverage_per_step": inside.mean(axis=axes).tolist(),
        "mean_width_per_step": width.mean(axis=axes).tolist() if finite else None,
        "n_calibration": n_cal,
        "n_test": len(y),
        "too_few_calibration": not finite,
    }


def evaluate_sets(probs_cal, y_cal, probs_test, y_test, alpha: float = 0.1,
                  **kw) -> tuple[dict, np.ndarray]:  # fmt: skip
    """Entry point for a task's evaluate: sets on the test split and their report.

    Args:
        probs_cal, y_cal: (N, K) calibrated validation probabilities and (N,) labels.
        probs_test, y_test: the same for test. kw: see :func:`conformal_sets`.
    Returns:
        (``{"alpha", "coverage", "mean_set_size", "empty_sets", "threshold", ...}``,
        sets (M, K) bool).
    """
    res = conformal_sets(probs_cal, y_cal, probs_test, alpha, **kw)
    rep = set_report(res.sets, y_test, alpha=alpha, threshold=res.threshold,
                     n_cal=res.n_calibration)  # fmt: skip
    return rep, res.sets


def evaluate_intervals(pred_cal, actual_cal, pred_test, actual_test,
                       alpha: float = 0.1) -> tuple[dict, IntervalResult]:  # fmt: skip
    """Entry point for a forecast evaluate: per-step intervals on test and their report.

    Args: (N, H[, C]) validation forecasts / truths, (M, H[, C]) test forecasts / truths,
        all in raw units. Returns: (``{"coverage", "mean_width", "coverage_per_step",
        "mean_width_per_step", "too_few_calibration", ...}``, the intervals).
    """
    res = conformal_intervals(pred_cal, actual_cal, pred_test, alpha)
    rep = interval_report(res.lower, res.upper, actual_test, alpha=alpha, n_cal=res.n_calibration)
    return rep, res


def set_members(sets: np.ndarray, probs: np.ndarray, names: list[str]) -> list[list[str]]:
    """Each row's set as label names, most probable first (``attnlib predict --sets``).

    Args: sets (M, K) bool, probs (M, K) the probabilities the sets were built from,
        names (K,) the class / state names.
    """
    order = np.argsort(-np.asarray(probs), axis=1, kind="stable")  # (M, K)
    return [[names[k] for k in row if s[k]] for s, row in zip(sets, order, strict=True)]
