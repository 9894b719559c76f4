"""export: models/model -> export/ bundle (safetensors + JSON + ONNX + model card + report).

The bundle (:mod:`attnlib.bundle`) carries the evaluate stage's calibration; its ONNX
graphs are checked against eager PyTorch on test data, and the largest differences go into
metrics/export.json. export/report.html is the project's report.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from attnlib.bundle import write_bundle
from attnlib.card import model_card
from attnlib.charsets import UTF8
from attnlib.datasets import gaps
from attnlib.io import write_json_atomic, write_text_atomic
from attnlib.persistence import _swap_into_place, load_model
from attnlib.report_project import build_report
from flows._data import load_data
from flows._params import (
    CALIBRATION,
    EXPORT_DIR,
    METRICS_DIR,
    MODEL_DIR,
    ExportParams,
    IngestParams,
    load_params,
    run_stage,
    section,
    task_of,
)

build_bundle = task(write_bundle, name="build_bundle", cache_policy=NO_CACHE)


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
        eval_metrics = json.loads((METRICS_DIR / "eval.json").read_text())  # a dependency
        ing = section(params, "ingest", IngestParams)
        data = {"source": ing.source, "test sequences": len(test)}
        if named := {role: name for role, name in ing.columns().items() if name}:
            data["columns"] = named  # predict and explain read new files with these names
        if ing.encoding != UTF8:
            data["encoding"] = ing.encoding  # and decode them so
        inputs = (meta.extra.get("data") or {}).get("input") or {}
        if filled := gaps.described(inputs.get("gaps_filled")):
            data["missing values"] = filled
        metrics = build_bundle(model, meta, test, bundle, opset=ep.opset, trust=trust,
                               parity_batches=ep.parity_batches, eval_metrics=eval_metrics,
                               data=data)  # fmt: skip
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
