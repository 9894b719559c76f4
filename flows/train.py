"""train: train/val splits + search/best.yaml -> models/model, metrics/train.json, curves.

The training task is tagged ``gpu`` so a Prefect tag concurrency limit caps how many run at
once; the device is chosen automatically. A checkpoint is written to checkpoints/ after
every epoch; a re-run with the same params and data resumes from it.
``train.ensemble: N`` (> 1) trains N seeds as N ``gpu`` tasks (flows/_fit.py) and saves
their :class:`~attnlib.ensemble.Ensemble`. ``auto`` params are decided from the data.
"""

from __future__ import annotations

from prefect import flow, get_run_logger

from attnlib import fitting
from attnlib.auto import auto_metrics
from attnlib.folds import member_data as fold_data
from attnlib.folds import rotates
from attnlib.io import write_json_atomic
from attnlib.persistence import save_model
from attnlib.plots import learning_curve
from flows._data import data_spec, load_best, load_data, load_meta, model_fields, vocab_of
from flows._fit import fit_model
from flows._live import write_curves
from flows._params import (
    CHECKPOINTS,
    METRICS_DIR,
    MODEL_DIR,
    PLOTS_DIR,
    TrainParams,
    load_params,
    run_stage,
    section,
    split_path,
    task_of,
    train_params,
)


@flow(name="train-model")
def train() -> None:
    params = load_params()
    section(params, "train", TrainParams)  # a malformed key stops here, before any data
    task_name, meta = task_of(params), load_meta()
    vocab, labels = vocab_of(meta)
    train_frame, train_data = load_data("train", task_name)
    val_frame, val_data = load_data("val", task_name)
    model_cfg, train_cfg, run, auto = train_params(params, load_best(), train_data,
                                                   **model_fields(meta, task_name))  # fmt: skip
    for choice in auto:
        get_run_logger().info("train: auto %s", choice.line())
    key = fitting.fingerprint(model_cfg, train_cfg, [split_path("train"), split_path("val")])
    resume = fitting.prepare_checkpoints(CHECKPOINTS, key, run.resume)
    folds, member_data = [], None
    if rotates(task_name, train_cfg.ensemble, train_cfg.refit, run.nproc):
        folds, member_data = fold_data(task_name, train_frame, val_frame, train_cfg.ensemble,
                                       train_cfg.seed)  # fmt: skip
        get_run_logger().info("train: members hold out folds %s (0 = the validation split) "
                              "for out-of-fold calibration", folds)  # fmt: skip
    both = fitting.refit_data(task_name, train_cfg, train_frame, val_frame)
    model, hist, metrics, heldout = fit_model(model_cfg, train_cfg, train_data, val_data, resume,
                                              run.nproc, member_data, both)  # fmt: skip
    metrics.update(auto_metrics(auto, meta))
    save_model(
        MODEL_DIR, model, vocab=vocab, label_map=labels, heldout=heldout,
        train_config=fitting.saved_train_config(train_cfg),  # amp as used
        metrics={**metrics, "history": fitting.saved_history(hist)},  # one best epoch
        extra={"data": data_spec(meta, task_name),  # scaling stats, windows: what predict needs
               "calibration_folds": folds,  # evaluate rebuilds each member's fold
               "training_data": {name: fitting.split_size(frame) for name, frame
                                 in (("train", train_frame), ("val", val_frame))}},
    )  # fmt: skip
    write_json_atomic(METRICS_DIR / "train.json", metrics)
    write_curves(hist)
    learning_curve(hist.train_loss, hist.val_loss, PLOTS_DIR / "learning_curve.png")
    get_run_logger().info("train: best val loss %.4f -> %s", metrics["best_val_loss"], MODEL_DIR)


if __name__ == "__main__":
    run_stage(train)
