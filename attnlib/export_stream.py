"""ONNX export of the streaming step of a next-state model, and a runner for it.

The graph is :meth:`attnlib.stream.StreamStep.forward`: inputs ``token`` (1,) int64,
``h`` and ``c`` (layers, 1, hidden) float32, ``cache`` (1, history, K) float32 and
``length`` (1,) int64 (how many cache rows are real; rows past it are ignored); outputs
``logits`` (1, V) and the next ``h``, ``c``, ``cache`` (1, length + 1, K) and ``length``.
A client keeps the four state tensors between calls and starts from zeros and an empty
cache (:func:`initial_state`). A model with a Kneser-Ney partner in use
(:mod:`attnlib.models.kn_partner`) adds the input ``recent`` (1, W) int64, its last W
tokens, newest last, -1 before the first, and the output ``recent_out``. Exported with the
legacy TorchScript exporter, as :mod:`attnlib.export` is, for the same reasons.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from attnlib.errors import ModelFileError
from attnlib.export import DEFAULT_OPSET
from attnlib.io import atomic_path
from attnlib.stream import StreamStep

STREAM_FILE = "stream.onnx"  # the step graph's name in an export bundle
INPUTS = ("token", "h", "c", "cache", "length")
OUTPUTS = ("logits", "h_out", "c_out", "cache_out", "length_out")
RECENT = ("recent",), ("recent_out",)  # a Kneser-Ney partner's context, in and out


def export_stream_onnx(model: nn.Module, path: str | Path, *, opset: int = DEFAULT_OPSET) -> Path:
    """Write the step graph of next-state ``model`` to ``path`` (atomically); returns it."""
    training = model.training
    step = StreamStep(model.eval()).cpu()
    h, c, cache = step.initial_state()
    token = torch.tensor([1])
    entry = step.advance(token, h, c)[0]  # a one-row example cache: the history axis is dynamic
    args = (token, h, c, entry.unsqueeze(1).detach(), torch.tensor([1]))
    extra_in, extra_out = RECENT if step.partner is not None else ((), ())
    if step.partner is not None:
        args = (*args, step.initial_recent())
    try:
        with atomic_path(path, suffix=".onnx") as tmp, warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export")
            warnings.filterwarnings("ignore", "The feature will be removed", DeprecationWarning)
            torch.onnx.export(
                step,
                args,
                str(tmp),
                dynamo=False,
                opset_version=opset,
                input_names=[*INPUTS, *extra_in],
                output_names=[*OUTPUTS, *extra_out],
                dynamic_axes={"cache": {1: "history"}, "cache_out": {1: "history_next"}},
            )
            onnx.checker.check_model(str(tmp))
    finally:
        model.train(training)
    return Path(path)


class OnnxStream:
    """Streams tokens through an exported step graph with ONNX Runtime, keeping the state.

    Args:
        path: the file :func:`export_stream_onnx` wrote.
        threads: intra-op threads (one step is small: 1 is usually fastest).
    """

    def __init__(self, path: str | Path, *, threads: int = 1):
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"{path}: no such ONNX file")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail / InvalidGraph types
            raise ModelFileError(f"{path}: not a loadable ONNX model ({exc})") from None
        names = tuple(i.name for i in self.session.get_inputs())
        if names not in (INPUTS, INPUTS + RECENT[0]):
            raise ModelFileError(f"{path}: expected inputs {INPUTS} (and {RECENT[0]} with a "
                                 f"Kneser-Ney partner), found {names}")  # fmt: skip
        shapes = {i.name: i.shape for i in self.session.get_inputs()}
        self._layers, self._hidden = shapes["h"][0], shapes["h"][2]
        self._width = shapes["cache"][2]
        self._recent = shapes["recent"][1] if "recent" in shapes else 0
        self._outputs = list(OUTPUTS) + (list(RECENT[1]) if self._recent else [])
        self.reset()

    def reset(self) -> None:
        """Forget the sequence so far."""
        self.h = np.zeros((self._layers, 1, self._hidden), dtype=np.float32)
        self.c = self.h.copy()
        self.cache = np.zeros((1, 0, self._width), dtype=np.float32)
        self.length = np.zeros(1, dtype=np.int64)
        self.recent = np.full((1, self._recent), -1, dtype=np.int64)

    def push(self, token_id: int) -> np.ndarray:
        """Append a token; return the logits (V,) of the state that follows it."""
        feed = {"token": np.array([token_id], dtype=np.int64), "h": self.h, "c": self.c,
                "cache": self.cache, "length": self.length}  # fmt: skip
        if self._recent:
            feed["recent"] = self.recent
        out = self.session.run(self._outputs, feed)
        logits, self.h, self.c, self.cache, self.length = out[:5]
        if self._recent:
            self.recent = out[5]
        return logits[0]


@torch.no_grad()
def stream_parity(model: nn.Module, onnx_path: str | Path, sequences: list[list[int]]) -> float:
    """Largest |eager streaming logits - ONNX streaming logits| over every step of
    ``sequences`` (each streamed from a fresh state)."""
    from attnlib.stream import StreamingPredictor

    eager, onnx_stream = StreamingPredictor(model), OnnxStream(onnx_path)
    worst = 0.0
    for seq in sequences:
        eager.reset()
        onnx_stream.reset()
        for token in seq:
            diff = np.abs(eager.push(token).numpy() - onnx_stream.push(token)).max()
            worst = max(worst, float(diff))
    return worst
