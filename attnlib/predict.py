"""Batch scoring with an exported bundle (ONNX Runtime by default, eager PyTorch on request).

The rows and columns are the task's (:meth:`attnlib.tasks.base.Task.predict`). For
next-state prediction every position of every sequence gets a row: the top-k next states
with their probabilities, the actual next token where there is one, and (optionally) the
attention weights over the steps it could see; the row after a sequence's last token is
the prediction of its unknown next state. Classification gives one row per sequence
(tokens or numeric series), forecasting one row per step after the end of a long table.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import torch

from attnlib.errors import ConfigError, ModelFileError
from attnlib.persistence import ModelMeta, load_model, read_meta
from attnlib.tasks import get_task
from attnlib.tokenize import retokenize


class Predictor:
    """Scores padded batches with ONNX Runtime (``engine="onnx"``) or eager PyTorch."""

    def __init__(self, bundle: str | Path, engine: str = "onnx"):
        self.bundle = bundle = Path(bundle)
        self.meta: ModelMeta = read_meta(bundle)
        onnx_path = bundle / "model.onnx"
        if engine == "onnx" and onnx_path.is_file():
            from attnlib.export import OnnxPredictor

            self._onnx, self._model = OnnxPredictor(onnx_path), None
        elif engine in ("onnx", "torch"):
            from attnlib.trust.checks import calibrated

            # the ONNX graph divides by the temperature itself; eager PyTorch does it here
            self._onnx, self._model = None, calibrated(load_model(bundle)[0], self.trust)
        else:
            raise ModelFileError(f"unknown engine '{engine}' (onnx or torch)")

    @property
    def trust(self) -> dict:
        """What evaluate fitted for prediction: ``temperature``, ``set_threshold`` and
        ``set_rule`` (classes)
        or ``half_width`` (forecast), ``alpha``; empty for a bundle without them."""
        return self.meta.extra.get("trust") or {}

    def __call__(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._onnx is not None:
            return self._onnx(x, lengths)
        with torch.no_grad():
            y, w = self._model(
                torch.from_numpy(x), torch.from_numpy(lengths), return_attention=True
            )
        return y.numpy(), w.numpy()

    def stream(self):
        """A :class:`~attnlib.stream.StreamingPredictor` of this next-state model (eager)."""
        from attnlib.stream import StreamingPredictor

        model = self._model if self._model is not None else load_model(self.bundle)[0]
        if len(getattr(model, "members", ())) > 1:
            raise ConfigError(f"{self.bundle}: streaming keeps one model's state, and this "
                              "model is an ensemble; train it with train.ensemble: 1")  # fmt: skip
        return StreamingPredictor(model)


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
    sets: bool = False,
) -> pl.DataFrame:
    """Score a frame of raw input (as :func:`attnlib.datasets.read_source` returns it).

    Args:
        sets: add each row's conformal prediction set (``set_members``, most probable
            first) at the bundle's ``alpha``; a ModelFileError when it has no threshold.
    Returns: the task's prediction rows (see the module docstring).
    """
    if sets and "set_threshold" not in predictor.trust:
        raise ModelFileError(
            "this bundle has no conformal set threshold (model.json extra.trust.set_threshold); "
            "re-run evaluate and export, or drop --sets"
        )
    frame = retokenize(frame, text_spec(predictor.meta))  # text: as the training text was
    task = get_task(predictor.meta.model_config.task)
    more = {"sets": True} if sets else {}  # a task without sets keeps its signature
    return task.predict(predictor, frame, top_k=top_k, attention=attention,
                        batch_size=batch_size, **more)  # fmt: skip
