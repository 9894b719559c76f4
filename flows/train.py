"""train: train/val splits + search/best.yaml -> models/model, metrics/train.json, curves.

The training task is tagged ``gpu`` so a Prefect tag concurrency limit caps how many run at
once; the device is chosen automatically. A checkpoint is written to checkpoints/ after
every epoch; a re-run with the same params and data resumes from it.
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import SequenceData
from attnlib.distributed import train_on_ranks
from attnlib.fitting import build_and_fit, fingerprint, prepare_checkpoints, train_metrics
from attnlib.io import write_json_atomic
from attnlib.persistence import save_model
from attnlib.plots import learning_curve
from flows._data import data_spec, load_best, load_data, load_meta, model_fields, vocab_of
from flows._live import LiveLogger, write_curves
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


@task(tags=["gpu"], cache_policy=NO_CACHE)
def train_model(model_cfg: ModelConfig, train_cfg: TrainConfig, train: SequenceData,
                val: SequenceData, resume: bool, nproc: int = 1):  # fmt: skip
    """Fit the model (on the GPU when there is one); returns it with its history.

    With ``nproc`` > 1 torchrun runs ``nproc`` DistributedDataParallel ranks instead; the
    global batch is the same, so the result matches one process.
    """
    if nproc > 1:
        return train_on_ranks(model_cfg, train_cfg, split_path("train"), split_path("val"),
                              nproc, checkpoint_dir=CHECKPOINTS, resume=resume)  # fmt: skip
    model, hist = build_and_fit(model_cfg, train_cfg, train, val, callbacks=[LiveLogger(resume)],
                                checkpoint_dir=CHECKPOINTS, resume=resume)  # fmt: skip
    return model.cpu(), hist


@flow(name="train-model")
def train() -> None:
    params = load_params()
    task_name, meta = task_of(params), load_meta()
    vocab, labels = vocab_of(meta)
    model_cfg, train_cfg, run = train_params(params, load_best(), **model_fields(meta, task_name))
    _, train_data = load_data("train", task_name)
    _, val_data = load_data("val", task_name)
    key = fingerprint(model_cfg, train_cfg, [split_path("train"), split_path("val")])
    resume = prepare_checkpoints(CHECKPOINTS, key, run.resume)
    model, hist = train_model(model_cfg, train_cfg, train_data, val_data, resume, run.nproc)
    metrics = train_metrics(model_cfg, hist)
    save_model(
        MODEL_DIR, model, vocab=vocab, label_map=labels, train_config=train_cfg.model_dump(),
        metrics={**metrics, "history": hist.to_dict()},
        extra={"data": data_spec(meta, task_name)},  # scaling stats, windows: what predict needs
    )  # fmt: skip
    write_json_atomic(METRICS_DIR / "train.json", metrics)
    write_curves(hist)
    learning_curve(hist.train_loss, hist.val_loss, PLOTS_DIR / "learning_curve.png")
    get_run_logger().info("train: best val loss %.4f at epoch %d -> %s",
                          hist.best_val_loss, hist.best_epoch + 1, MODEL_DIR)  # fmt: skip


if __name__ == "__main__":
    run_stage(train)
