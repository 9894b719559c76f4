"""The export bundle: model (safetensors + JSON), ONNX graph, the task's extra files.

The calibration of ``models/calibration.json`` (temperature, set threshold and rule, or
interval widths) goes into the bundle's ``model.json`` as ``extra.trust``; the ONNX graph divides
the logits by the temperature and is checked against eager PyTorch (calibrated too) on
padded test batches, and so are the task's extra graphs (next-state: the streaming step).
"""

from __future__ import annotations

from pathlib import Path

from attnlib.data import Batches, SequenceData
from attnlib.export import export_onnx, parity_check
from attnlib.persistence import save_model
from attnlib.tasks import get_task
from attnlib.trust.checks import calibrated


def write_bundle(model, meta, test: SequenceData, out: Path, *, opset: int, parity_batches: int,
                 trust: dict, eval_metrics: dict, data: dict) -> dict:  # fmt: skip
    """Write the bundle into ``out``; return the export metrics (parity, sizes).

    Args:
        meta: the saved model's metadata (:func:`attnlib.persistence.load_model`).
        trust: the evaluate stage's calibration ({} when there is none).
        eval_metrics: ``metrics/eval.json`` (its test figures go into the bundle for
            ``attnlib info``); data: what the model card says of the data.
    """
    training_data = {**meta.extra.get("training_data", {}), **data}
    save_model(
        out, model, vocab=meta.vocab, label_map=meta.label_map, train_config=meta.train_config,
        metrics={**meta.metrics, "test": eval_metrics.get("model", {})},
        extra={**meta.extra, "training_data": training_data, "trust": trust},
    )  # fmt: skip
    batches, scored = list(Batches(test, 16))[:parity_batches], calibrated(model, trust)
    onnx_path = export_onnx(scored, out / "model.onnx", example=batches[0], opset=opset)
    diff = parity_check(scored, onnx_path, batches)
    extras = get_task(model.config.task).export_extras(model, out, test=test, opset=opset)
    return {"onnx_max_abs_diff": diff, "onnx_bytes": onnx_path.stat().st_size, **extras}
