"""ONNX export of ``forward(x, lengths) -> (output, attention)``, an ONNX Runtime predictor,
and a parity check against eager PyTorch.

The legacy TorchScript exporter (``dynamo=False``) is used on purpose: in torch 2.13 it
exports all three models in well under a second with dynamic batch *and* time axes,
while the torch.export-based exporter takes seconds per model and specialises the time
axis of the bidirectional models to the example's length.

Export runs the encoder on the padded tensor (``encoder.packed = False``, which gives
the same results as packed sequences on real steps and zeros on padding) because
PackedSequence has no ONNX form.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from torch import nn

from attnlib.data import Batch
from attnlib.errors import ModelFileError
from attnlib.io import atomic_path
from attnlib.models.encoders import LSTMEncoder
from attnlib.tasks import get_task
from attnlib.train import free_cores

INPUTS = ("x", "lengths")
OUTPUTS = ("output", "attention")
DEFAULT_OPSET = 17


class _WithAttention(nn.Module):
    """The signature ONNX sees: ``(x, lengths) -> (output, attention)``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, lengths: torch.Tensor):
        return self.model(x, lengths, return_attention=True)


@contextlib.contextmanager
def _export_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode and unpacked encoders for the duration; both restored afterwards.

    Every :class:`LSTMEncoder` inside is switched (an ensemble holds one per member).
    """
    encoders = [m for m in model.modules() if isinstance(m, LSTMEncoder)]
    packed, training = [e.packed for e in encoders], model.training
    model.eval()
    for encoder in encoders:
        encoder.packed = False
    try:
        yield
    finally:
        model.train(training)
        for encoder, was in zip(encoders, packed, strict=True):
            encoder.packed = was


def _dynamic_axes(model: nn.Module) -> dict[str, dict[int, str]]:
    axes = {"x": {0: "batch", 1: "time"}, "lengths": {0: "batch"}}
    return axes | get_task(model.config.task).onnx_axes(model.config)


def export_onnx(
    model: nn.Module, path: str | Path, *, example: Batch | tuple, opset: int = DEFAULT_OPSET
) -> Path:
    """Export ``model`` to an ONNX file with dynamic batch and time axes, atomically.

    Graph inputs: ``x`` (batch, time) int64 token ids or (batch, time, C) float32 values;
    ``lengths`` (batch,) int64. Outputs: ``output`` (the task output, as ``forward``
    returns it) and ``attention`` (the attention weights).

    Args:
        model: an :class:`~attnlib.models.AttentionLSTM` (train/eval mode and
            ``encoder.packed`` are restored afterwards).
        path: the ``.onnx`` file to write.
        example: a :class:`Batch` or an ``(x, lengths, ...)`` tuple to trace with; any
            batch size and length work later.
        opset: ONNX opset version (>= 17).
    Returns:
        ``path`` as a Path.
    """
    x, lengths = example[0], example[1]
    device = next(model.parameters()).device
    args = (x.to(device), lengths.to(device).long())
    with _export_mode(model), atomic_path(path, suffix=".onnx") as tmp, warnings.catch_warnings():
        # chosen on purpose (see module docstring), no need to warn each time
        warnings.filterwarnings("ignore", message=".*legacy TorchScript-based ONNX export")
        # h0/c0 are not inputs, so ONNX's LSTM starts from zeros at any batch size: harmless
        warnings.filterwarnings("ignore", message=".*batch_size other than 1.*LSTM")
        # nn.LSTM's own shape checks become trace constants: fixed by the model, harmless
        warnings.filterwarnings(
            "ignore", category=torch.jit.TracerWarning, module=r"torch\.nn\.modules\.rnn"
        )
        warnings.filterwarnings("ignore", "The feature will be removed", DeprecationWarning)
        # an asymmetric F.pad (ALSTM-FCN's even kernels) traces through a reversed Slice,
        # which constant folding skips: a note about graph size, not about results
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
        torch.onnx.export(
            _WithAttention(model),
            args,
            str(tmp),
            dynamo=False,
            opset_version=opset,
            input_names=list(INPUTS),
            output_names=list(OUTPUTS),
            dynamic_axes=_dynamic_axes(model),
        )
        onnx.checker.check_model(str(tmp))
    return Path(path)


class OnnxPredictor:
    """Run an exported model with ONNX Runtime on the CPU.

    Args:
        path: the ``.onnx`` file from :func:`export_onnx`.
        threads: intra-op threads; default: the cores other processes leave free
            (:func:`~attnlib.train.free_cores`), at most 4 (small recurrent graphs gain
            little beyond that, and threads waiting on a busy core slow every call).
    """

    def __init__(self, path: str | Path, *, threads: int | None = None):
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"{path}: no such ONNX file")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or free_cores(4)
        opts.inter_op_num_threads = 1  # the graph is a chain: no parallel branches to run
        try:
            self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail / InvalidGraph types
            raise ModelFileError(f"{path}: not a loadable ONNX model ({exc})") from None
        types = {i.name: i.type for i in self.session.get_inputs()}
        if set(types) != set(INPUTS):
            raise ModelFileError(f"{path}: expected inputs {INPUTS}, found {tuple(types)}")
        self.path = path
        self.x_dtype = np.int64 if types["x"] == "tensor(int64)" else np.float32

    def __call__(self, x: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Args: x (B, T) token ids or (B, T, C) values, padded; lengths (B,), 1..T.

        Returns: (output, attention) as numpy arrays, shaped as the model's ``forward``.
        """
        x = np.ascontiguousarray(x, dtype=self.x_dtype)
        lengths = np.ascontiguousarray(lengths, dtype=np.int64)
        if lengths.shape != (x.shape[0],):
            raise ValueError(f"lengths has shape {lengths.shape}, expected ({x.shape[0]},)")
        if lengths.size and (lengths.min() < 1 or lengths.max() > x.shape[1]):
            raise ValueError(f"lengths must lie in 1..{x.shape[1]} (the padded length)")
        output, attention = self.session.run(list(OUTPUTS), {"x": x, "lengths": lengths})
        return output, attention


def _max_abs_diff(ref: np.ndarray, got: np.ndarray) -> float:
    """max |ref - got|; inf on a shape mismatch or a NaN on one side only."""
    if ref.shape != got.shape:
        return float("inf")
    both_nan = np.isnan(ref) & np.isnan(got)
    diff = np.where(both_nan, 0.0, np.abs(ref.astype(np.float64) - got))
    return float(np.nan_to_num(diff, nan=np.inf).max(initial=0.0))


@torch.no_grad()
def parity_check(
    model: nn.Module,
    onnx_path: str | Path | OnnxPredictor,
    batches: Iterable[Batch | tuple],
    *,
    max_batches: int | None = None,
) -> float:
    """Largest absolute difference between eager PyTorch and ONNX Runtime outputs.

    The eager model runs as it is configured (``encoder.packed``), so with
    ``packed=True`` this also checks that the unpacked export matches the packed path.

    Args:
        model: the eager model (train/eval mode restored afterwards).
        onnx_path: the exported file, or an :class:`OnnxPredictor` for it.
        batches: :class:`Batch` es or ``(x, lengths, ...)`` tuples, ideally padded
            with varied lengths.
        max_batches: stop after this many batches.
    Returns:
        max |eager - onnx| over outputs and attention weights of all batches
        (inf on a shape mismatch or NaN on one side only).
    """
    predictor = onnx_path if isinstance(onnx_path, OnnxPredictor) else OnnxPredictor(onnx_path)
    device = next(model.parameters()).device
    training = model.training
    model.eval()
    worst, seen = 0.0, 0
    try:
        for batch in batches:
            if max_batches is not None and seen >= max_batches:
                break
            x, lengths = batch[0], batch[1]
            ref = model(x.to(device), lengths.to(device), return_attention=True)
            got = predictor(x.cpu().numpy(), lengths.cpu().numpy())
            for r, g in zip(ref, got, strict=True):
                worst = max(worst, _max_abs_diff(r.float().cpu().numpy(), g))
            seen += 1
    finally:
        model.train(training)
    if seen == 0:
        raise ValueError("parity_check got no batches to compare")
    return worst
