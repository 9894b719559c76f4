"""export: models/model -> export/ bundle (safetensors + JSON + ONNX + model card).

The ONNX graph, and the task's extra files (next-state: the streaming step graph), are
checked against eager PyTorch on test data; the largest differences go into
metrics/export.json.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from attnlib.card import model_card
from attnlib.data import Batches
from attnlib.export import export_onnx, parity_check
from attnlib.io import write_json_atomic, write_text_atomic
from attnlib.persistence import _swap_into_place, load_model, save_model
from attnlib.tasks import get_task
from flows._data import load_data
from flows._params import (
    EXPORT_DIR,
    METRICS_DIR,
    MODEL_DIR,
    ExportParams,
    load_params,
    run_stage,
    section,
    task_of,
)


@task(cache_policy=NO_CACHE)
def build_bundle(model, meta, test, ep: ExportParams, out: Path) -> dict:
    """Write the bundle into ``out`` and return the export metrics."""
    save_model(
        out, model, vocab=meta.vocab, label_map=meta.label_map, train_config=meta.train_config,
        metrics=meta.metrics, extra=meta.extra,
    )  # fmt: skip
    batches = list(Batches(test, 16))[: ep.parity_batches]
    onnx_path = export_onnx(model, out / "model.onnx", example=batches[0], opset=ep.opset)
    diff = parity_check(model, onnx_path, batches)
    extras = get_task(model.config.task).export_extras(model, out, test=test, opset=ep.opset)
    return {"onnx_max_abs_diff": diff, "onnx_bytes": onnx_path.stat().st_size, **extras}


@flow(name="export")
def export() -> None:
    params = load_params()
    ep = section(params, "export", ExportParams)
    model, meta = load_model(MODEL_DIR)
    frame, test = load_data("test", task_of(params))
    EXPORT_DIR.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".export-", dir=EXPORT_DIR.parent.resolve()))
    try:
        bundle = tmp / "bundle"
        metrics = build_bundle(model, meta, test, ep, bundle)
        eval_path = METRICS_DIR / "eval.json"
        eval_metrics = json.loads(eval_path.read_text()) if eval_path.exists() else {}
        data = {"source": params.get("ingest", {}).get("source"), "test sequences": len(test)}
        card = model_card(meta, data=data, eval_metrics=eval_metrics, export_metrics=metrics)
        write_text_atomic(bundle / "MODEL_CARD.md", card)
        _swap_into_place(bundle, EXPORT_DIR)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_json_atomic(METRICS_DIR / "export.json", metrics)
    get_run_logger().info(
        "export: %s (ONNX max abs diff %.2e)", EXPORT_DIR, metrics["onnx_max_abs_diff"]
    )


if __name__ == "__main__":
    run_stage(export)
