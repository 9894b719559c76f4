"""export: models/model -> export/ bundle (safetensors + JSON + ONNX + model card + report).

The temperature, set threshold or interval widths of models/calibration.json go into the
bundle (model.json extra.trust); the ONNX graph divides the logits by the temperature and
is checked against eager PyTorch (calibrated too) on padded test batches; the largest
difference goes into metrics/export.json. export/report.html is the project's report.
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
from attnlib.report_project import build_report
from attnlib.trust.checks import calibrated
from flows._data import load_data
from flows._params import (
    CALIBRATION,
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
def build_bundle(model, meta, test, ep: ExportParams, out: Path, trust: dict) -> dict:
    """Write the bundle into ``out`` and return the export metrics."""
    save_model(
        out, model, vocab=meta.vocab, label_map=meta.label_map, train_config=meta.train_config,
        metrics=meta.metrics, extra={**meta.extra, "trust": trust},
    )  # fmt: skip
    batches, scored = list(Batches(test, 16))[: ep.parity_batches], calibrated(model, trust)
    onnx_path = export_onnx(scored, out / "model.onnx", example=batches[0], opset=ep.opset)
    diff = parity_check(scored, onnx_path, batches)
    return {"onnx_max_abs_diff": diff, "onnx_bytes": onnx_path.stat().st_size}


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
        trust = json.loads(CALIBRATION.read_text()) if CALIBRATION.exists() else {}
        metrics = build_bundle(model, meta, test, ep, bundle, trust)
        eval_metrics = json.loads((METRICS_DIR / "eval.json").read_text())  # a dependency
        data = {"source": params.get("ingest", {}).get("source"), "test sequences": len(test)}
        card = model_card(meta, data=data, eval_metrics=eval_metrics, export_metrics=metrics)
        write_text_atomic(bundle / "MODEL_CARD.md", card)
        _swap_into_place(bundle, EXPORT_DIR)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    write_json_atomic(METRICS_DIR / "export.json", metrics)
    write_text_atomic(EXPORT_DIR / "report.html", build_report("."))  # reads card and metrics
    get_run_logger().info(
        "export: %s (ONNX max abs diff %.2e)", EXPORT_DIR, metrics["onnx_max_abs_diff"]
    )


if __name__ == "__main__":
    run_stage(export)
