"""train: train/val splits + search/best.yaml -> models/model, metrics/train.json, curves.

The training task is tagged ``gpu`` so a Prefect tag concurrency limit caps how many run at
once; the device is chosen automatically. A checkpoint is written to checkpoints/ after
every epoch; a re-run with the same params and data resumes from it.
``train.ensemble: N`` (> 1) trains N seeds as N ``gpu`` tasks (flows/_fit.py) and saves
their :class:`~attnlib.ensemble.Ensemble`. ``auto`` params are decided from the data.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from attnlib.auto import auto_metrics
from attnlib.ensemble import Ensemble, ensemble_metrics
from attnlib.fitting import fingerprint, prepare_checkpoints, train_metrics
from attnlib.io import write_json_atomic
from attnlib.persistence import save_model
from attnlib.plots import learning_curve
from flows._data import data_spec, load_best, load_data, load_meta, model_fields, vocab_of
from flows._fit import train_members, train_model
from flows._live import write_curves
from flows._params import (
    CHECKPOINTS,
    METRICS_DIR,
    MODEL_DIR,
    PLOTS_DIR,
    load_params,
    run_stage,
    split_path,
    task_of,
    train_params,
)


@flow(name="train-model")
def train() -> None:
    params = load_params()
    task_name, meta = task_of(params), load_meta()
    vocab, labels = vocab_of(meta)
    _, train_data = load_data("train", task_name)
    _, val_data = load_data("val", task_name)
    model_cfg, train_cfg, run, auto = train_params(params, load_best(), train_data,
                                                   **model_fields(meta, task_name))  # fmt: skip
    for choice in auto:
        get_run_logger().info("train: auto %s", choice.line())
    key = fingerprint(model_cfg, train_cfg, [split_path("train"), split_path("val")])
    resume = prepare_checkpoints(CHECKPOINTS, key, run.resume)
    if train_cfg.ensemble > 1:
        fitted = train_members(model_cfg, train_cfg, train_data, val_data, resume, run.nproc)
        model, hists = Ensemble([m for m, _ in fitted]), [h for _, h in fitted]
        hist, metrics = hists[0], ensemble_metrics(model_cfg, model, hists, val_data)
    else:
        model, hist = train_model(model_cfg, train_cfg, train_data, val_data, resume, run.nproc)
        metrics = train_metrics(model_cfg, hist)
    metrics.update(auto_metrics(auto, meta))
    save_model(
        MODEL_DIR, model, vocab=vocab, label_map=labels, train_config=train_cfg.model_dump(),
        metrics={**metrics, "history": hist.to_dict()},
        extra={"data": data_spec(meta, task_name)},  # scaling stats, windows: what predict needs
    )  # fmt: skip
    write_json_atomic(METRICS_DIR / "train.json", metrics)
    write_curves(hist)
    learning_curve(hist.train_loss, hist.val_loss, PLOTS_DIR / "learning_curve.png")
    members = f" ({train_cfg.ensemble} members averaged)" if train_cfg.ensemble > 1 else ""
    get_run_logger().info("train: best val loss %.4f%s -> %s",
                          metrics["best_val_loss"], members, MODEL_DIR)  # fmt: skip


if __name__ == "__main__":
    run_stage(train)
