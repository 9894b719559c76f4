"""Batch scoring with an exported bundle (ONNX Runtime by default, eager PyTorch on request).

For next-state prediction every position of every sequence gets a row: the top-k next
states with their probabilities, the actual next token where there is one, and
(optionally) the attention weights over the steps it could see. The row after a
sequence's last token is the prediction of its unknown next state.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import torch

from attnlib.errors import DataError, ModelFileError
from attnlib.persistence import ModelMeta, load_model, read_meta
from attnlib.tokenize import retokenize
from attnlib.vocab import PAD_ID


class Predictor:
    """Scores padded batches with ONNX Runtime (``engine="onnx"``) or eager PyTorch."""

    def __init__(self, bundle: str | Path, engine: str = "onnx"):
        bundle = Path(bundle)
        self.meta: ModelMeta = read_meta(bundle)
        onnx_path = bundle / "model.onnx"
        if engine == "onnx" and onnx_path.is_file():
            from attnlib.export import OnnxPredictor

            self._onnx, self._model = OnnxPredictor(onnx_path), None
        elif engine in ("onnx", "torch"):
            self._onnx, (self._model, _) = None, load_model(bundle)
        else:
            raise ModelFileError(f"unknown engine '{engine}' (onnx or torch)")

    def __call__(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._onnx is not None:
            return self._onnx(x, lengths)
        with torch.no_grad():
            y, w = self._model(
                torch.from_numpy(x), torch.from_numpy(lengths), return_attention=True
            )
        return y.numpy(), w.numpy()


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(-1, keepdims=True)


def text_spec(meta: ModelMeta) -> dict | None:
    """How the encode stage tokenised text for this model (None: tokens as given)."""
    return ((meta.extra.get("data") or {}).get("input") or {}).get("text")


def predict_frame(
    predictor: Predictor,
    frame: pl.DataFrame,
    *,
    top_k: int = 5,
    attention: bool = False,
    batch_size: int = 64,
) -> pl.DataFrame:
    """Score a frame of sequences (``id``, ``tokens``) and return one row per prediction.

    Numeric input goes to :mod:`attnlib.predict_numeric`: a frame with ``values`` (series
    classification) or a long table with ``time`` (forecast of the steps after its end).
    """
    meta = predictor.meta
    frame = retokenize(frame, text_spec(meta))  # text: tokenised as the training text was
    if "tokens" not in frame.columns:
        from attnlib import predict_numeric

        if "values" in frame.columns:
            return predict_numeric.predict_series_frame(
                predictor, frame, top_k=top_k, attention=attention, batch_size=batch_size
            )
        if "time" in frame.columns:
            return predict_numeric.forecast_frame(predictor, frame, attention=attention)
    if meta.vocab is None:
        raise DataError("this bundle has no vocabulary: it scores numeric input, not tokens")
    task = meta.model_config.task
    tokens, seq_ids = frame["tokens"].to_list(), frame["id"].to_list()
    labels = frame["label"].to_list() if "label" in frame.columns else None
    ids = [meta.vocab.encode(t) for t in tokens]
    if any(len(s) == 0 for s in ids):
        row = next(i for i, s in enumerate(ids) if len(s) == 0)
        raise DataError(f"row {row + 1} (id {seq_ids[row]}): empty sequence")
    order = np.argsort([len(s) for s in ids], kind="stable")  # similar lengths batch together
    names = meta.vocab.itos if task == "next_state" else list(meta.label_map or [])
    k = min(top_k, len(names))
    rows: list[dict] = []
    batches = _score_batches(
        predictor, ids, order.tolist(), pad=PAD_ID, dtype=np.int64, batch_size=batch_size
    )
    for i, out, w, n in batches:
        if task == "next_state":
            probs = _softmax(out[:n])  # (n, V)
            for t in range(n):
                row = {"_order": i, "id": seq_ids[i], "step": t}
                has_next = t + 1 < n
                row["actual"] = tokens[i][t + 1] if has_next else None
                row["correct"] = bool(probs[t].argmax() == ids[i][t + 1]) if has_next else None
                rows.append(_scores(row, probs[t], names, k, w[t, : t + 1] if attention else None))
        else:
            row = {"_order": i, "id": seq_ids[i]}
            if labels is not None:
                row["actual"] = labels[i]
            rows.append(_scores(row, _class_probs(out), names, k, w[:n] if attention else None))
    keys = ["_order", "step"] if task == "next_state" else ["_order"]
    return pl.DataFrame(rows).sort(keys).drop("_order")


def _score_batches(predictor: Predictor, seqs: list, order, *, pad, dtype, batch_size: int):
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


def _class_probs(out: np.ndarray) -> np.ndarray:
    """Class probabilities from one binary logit or K logits."""
    if np.ndim(out) == 0:
        p1 = 1.0 / (1.0 + np.exp(-float(out)))
        return np.array([1.0 - p1, p1])
    return _softmax(out)


def _scores(row: dict, probs: np.ndarray, names, k: int, weights) -> dict:
    """Add the top-k predictions (and attention weights) to ``row``."""
    top = np.argsort(-probs, kind="stable")[:k]
    row["predicted"] = names[top[0]]
    row["top_k"] = [names[c] for c in top]
    row["probabilities"] = [float(probs[c]) for c in top]
    if weights is not None:
        row["attention"] = [float(v) for v in weights]
    return row
