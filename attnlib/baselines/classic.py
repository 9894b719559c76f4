"""Classification baselines: majority class, TF-IDF + linear SVM (text), 1-NN Euclidean (series).

Each takes the fitting data and the test data and returns predicted class ids, so the
caller scores them with the same metrics as the model.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np


def majority(train_labels: Sequence[int], n_test: int) -> np.ndarray:
    """The most frequent training class (the smallest id on ties) for every test item."""
    counts = Counter(int(v) for v in train_labels)
    best = min(counts, key=lambda c: (-counts[c], c))
    return np.full(n_test, best, dtype=np.int64)


def tfidf_svm(
    train_texts: Sequence[str], train_labels: Sequence[int], test_texts: Sequence[str],
    *, C: float = 1.0, seed: int = 0,
) -> np.ndarray:  # fmt: skip
    """TF-IDF of word 1-2-grams and character 2-5-grams (sublinear tf) + LinearSVC.

    Args:
        train_texts, test_texts: documents, tokens joined by spaces.
        train_labels: class ids. C: SVM regularisation. seed: the solver's seed.
    Returns:
        (N_test,) predicted class ids.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    features = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True,
                        token_pattern=r"\S+", lowercase=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                        lowercase=True),
    )  # fmt: skip
    model = make_pipeline(features, LinearSVC(C=C, random_state=seed))
    model.fit(list(train_texts), np.asarray(train_labels))
    return np.asarray(model.predict(list(test_texts)), dtype=np.int64)


def resample(series: np.ndarray, length: int) -> np.ndarray:
    """(T, C) -> (length, C) by linear interpolation along time (equal lengths for 1-NN)."""
    series = np.asarray(series, dtype=np.float64)
    if len(series) == length:
        return series
    src = np.linspace(0.0, 1.0, len(series))
    dst = np.linspace(0.0, 1.0, length)
    return np.stack([np.interp(dst, src, series[:, c]) for c in range(series.shape[1])], axis=1)


def nn1_euclidean(
    train_series: Sequence[np.ndarray], train_labels: Sequence[int],
    test_series: Sequence[np.ndarray],
) -> np.ndarray:  # fmt: skip
    """1-nearest-neighbour with Euclidean distance over every step and channel.

    Series of unequal length are first resampled to the longest length of either set.

    Args:
        train_series, test_series: arrays of shape (T_i, C).
        train_labels: class ids of the training series.
    Returns:
        (N_test,) the class id of each test series' nearest training series.
    """
    length = max(len(s) for s in (*train_series, *test_series))
    a = np.stack([resample(s, length).ravel() for s in train_series])  # (N, T*C)
    b = np.stack([resample(s, length).ravel() for s in test_series])  # (M, T*C)
    d = (b**2).sum(1)[:, None] - 2 * b @ a.T + (a**2).sum(1)[None, :]  # (M, N) squared
    return np.asarray(train_labels, dtype=np.int64)[d.argmin(1)]
