"""What the tasks' batch prediction shares: raw rows in padded batches through a
predictor (ONNX Runtime or eager PyTorch, :class:`attnlib.predict.Predictor`), class
probabilities and the top-k columns of a prediction row."""

from __future__ import annotations

import numpy as np
import polars as pl

from attnlib.errors import DataError
from attnlib.scaling import Standardizer


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def token_ids(meta, frame: pl.DataFrame) -> tuple[list, list, list[list[int]], list[int]]:
    """A token frame's (tokens, ids of the rows, token ids, order by length).

    Raises:
        DataError: the bundle scores numeric input, or a sequence is empty.
    """
    if meta.vocab is None:
        raise DataError("this bundle has no vocabulary: it scores numeric input, not tokens")
    if "tokens" not in frame.columns:
        raise DataError(
            f"this model scores token sequences (a 'tokens' column), got {frame.columns}"
        )
    tokens, seq_ids = frame["tokens"].to_list(), frame["id"].to_list()
    ids = [meta.vocab.encode(t) for t in tokens]
    if any(len(s) == 0 for s in ids):
        row = next(i for i, s in enumerate(ids) if len(s) == 0)
        raise DataError(f"row {row + 1} (id {seq_ids[row]}): empty sequence")
    order = np.argsort([len(s) for s in ids], kind="stable")  # similar lengths batch together
    return tokens, seq_ids, ids, order.tolist()


def bundle_scaler(predictor) -> tuple[dict, Standardizer]:
    """The bundle's data spec (``extra.data``) and its input scaling statistics."""
    data = predictor.meta.extra.get("data") or {}
    scaler = (data.get("input") or {}).get("scaler")
    if scaler is None:
        raise DataError("this bundle has no scaling statistics (extra.data.input.scaler)")
    return data, Standardizer.from_dict(scaler, source="model.json extra.data")


def score_batches(predictor, seqs: list, order, *, pad, dtype, batch_size: int):
    """Score ``seqs`` in padded batches of ``batch_size``, taken in ``order``.

    Args:
        seqs: token-id lists (T_i,) or numeric arrays (T_i, C), padded after with ``pad``.
        order: indices into ``seqs`` (a list or range).
    Yields:
        (i, out, weights, n) per sequence: its index, its model output and attention
        weights (padded steps included) and its length n.
    """
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        lengths = np.array([len(seqs[i]) for i in idx], dtype=np.int64)
        shape = (len(idx), lengths.max(), *np.shape(seqs[idx[0]])[1:])  # (B, T) or (B, T, C)
        x = np.full(shape, pad, dtype=dtype)
        for j, i in enumerate(idx):
            x[j, : lengths[j]] = seqs[i]
        out, w = predictor(x, lengths)
        for j, i in enumerate(idx):
            yield i, out[j], w[j], int(lengths[j])


def class_probs(out: np.ndarray) -> np.ndarray:
    """Class probabilities from one binary logit or K logits."""
    if np.ndim(out) == 0:
        p1 = 1.0 / (1.0 + np.exp(-float(out)))
        return np.array([1.0 - p1, p1])
    return softmax(out)


def top_k_columns(row: dict, probs: np.ndarray, names, k: int, weights, sets, key) -> dict:
    """Add the top-k predictions (and attention weights) to ``row``; with ``sets`` (a
    :class:`~attnlib.trust.checks.SavedSets`, or None), also the row's conformal set
    (``set_members``); ``key`` names the row (an exact rule draws its U from it)."""
    top = np.argsort(-probs, kind="stable")[:k]
    row["predicted"] = names[top[0]]
    row["top_k"] = [names[c] for c in top]
    row["probabilities"] = [float(probs[c]) for c in top]
    if weights is not None:
        row["attention"] = [float(v) for v in weights]
    if sets is not None:
        row["set_members"] = sets.members(probs, names, key)
    return row
