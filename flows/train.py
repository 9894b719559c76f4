"""train: train/val splits + search/best.yaml -> models/model, metrics/train.json, curves.

The training task is tagged ``gpu`` so a Prefect tag concurrency limit caps how many run at
once; the device is chosen automatically. A checkpoint is written to checkpoints/ after
every epoch; a re-run with the same params and data resumes from it.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import tempfile
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import Batches, SequenceData
from attnlib.distributed import run_torchrun
from attnlib.io import write_json_atomic
from attnlib.models import build_model, loss_fn
from attnlib.persistence import load_model, save_model
from attnlib.plots import learning_curve
from attnlib.train import History, fit, seed_everything
from flows._data import data_spec, load_best, load_data, load_meta, model_fields, vocab_of
from flows._params import (
    CHECKPOINTS,
    METRICS_DIR,
    MODEL_DIR,
    PLOTS_DIR,
    TrainParams,
    load_params,
    model_and_train_configs,
    run_stage,
    section,
    split_path,
    task_of,
)


def fingerprint(model_cfg: ModelConfig, train_cfg: TrainConfig) -> str:
    """Hash of everything a checkpoint depends on: configs and the training data."""
    h = hashlib.sha256()
    h.update(model_cfg.model_dump_json().encode())
    h.update(train_cfg.model_dump_json(exclude={"progress", "device"}).encode())
    for name in ("train", "val"):
        h.update(split_path(name).read_bytes())
    if model_cfg.input_init:  # the n-gram table and pretrained vectors the model starts from
        h.update(Path(model_cfg.input_init).read_bytes())
    return h.hexdigest()[:16]


def prepare_checkpoints(key: str, resume: bool) -> bool:
    """Keep checkpoints/ only if it belongs to this exact run; return whether to resume."""
    stamp = CHECKPOINTS / "fingerprint.json"
    if resume and stamp.exists() and json.loads(stamp.read_text()).get("key") == key:
        return True
    shutil.rmtree(CHECKPOINTS, ignore_errors=True)
    CHECKPOINTS.mkdir(parents=True)
    write_json_atomic(stamp, {"key": key})
    return False


class LiveLogger:
    """Per-epoch callback: the losses to the run log and to DVCLive (live DVC plots)."""

    def __init__(self, resume: bool):
        from dvclive import Live

        self.live = Live("dvclive", resume=resume, save_dvc_exp=False, dvcyaml=False)

    def __call__(self, epoch: int, logs: dict) -> None:
        get_run_logger().info(
            "epoch %d: train loss %.4f, val loss %.4f%s",
            epoch + 1, logs["train_loss"], logs["val_loss"], " (best)" if logs["improved"] else "",
        )  # fmt: skip
        self.live.step = epoch
        self.live.log_metric("train_loss", logs["train_loss"])
        self.live.log_metric("val_loss", logs["val_loss"])
        self.live.next_step()


def write_curves(hist: History) -> None:
    """Rewrite the DVCLive curves from the whole history.

    A resumed run logs only its remaining epochs (none, if the checkpoint already holds
    the finished run), and DVC removes the stage's outputs before it runs.
    """
    from dvclive import Live

    with Live("dvclive", resume=False, save_dvc_exp=False, dvcyaml=False) as live:
        for epoch, (tr, va) in enumerate(zip(hist.train_loss, hist.val_loss, strict=True)):
            live.step = epoch
            live.log_metric("train_loss", tr)
            live.log_metric("val_loss", va)
            live.next_step()


@task(tags=["gpu"], cache_policy=NO_CACHE)
def train_model(
    model_cfg: ModelConfig,
    train_cfg: TrainConfig,
    train: SequenceData,
    val: SequenceData,
    resume: bool,
    nproc: int = 1,
):
    """Fit the model (on the GPU when there is one); returns it with its history.

    With ``nproc`` > 1 torchrun runs ``nproc`` DistributedDataParallel ranks instead; the
    global batch is the same, so the result matches one process.
    """
    if nproc > 1:
        return train_distributed(model_cfg, train_cfg, resume, nproc)
    seed_everything(train_cfg.seed)
    model = build_model(model_cfg)
    batches = Batches(
        train, train_cfg.batch_size, shuffle=True, bucket=train_cfg.bucket, seed=train_cfg.seed
    )
    val_batches = Batches(val, 256)
    hist = fit(
        model,
        batches,
        val_batches,
        train_cfg,
        loss_fn=loss_fn(model_cfg),
        callbacks=[LiveLogger(resume)],
        checkpoint_dir=CHECKPOINTS,
        resume=resume,
    )
    return model.cpu(), hist


def train_distributed(model_cfg: ModelConfig, train_cfg: TrainConfig, resume: bool, nproc: int):
    """Train on ``nproc`` torchrun ranks (attnlib.distributed); rank 0 writes the model."""
    with tempfile.TemporaryDirectory(prefix=".ddp-", dir=".") as tmp:
        spec = {
            "train": str(split_path("train")),
            "val": str(split_path("val")),
            "task": model_cfg.task,
            "model": model_cfg.model_dump(),
            "train_config": train_cfg.model_dump(),
            "vocab": None,  # the stage saves the final model with its vocabulary below
            "out": f"{tmp}/model",
            "checkpoint_dir": str(CHECKPOINTS),
            "resume": resume,
        }
        hist = run_torchrun(spec, nproc)
        model, _ = load_model(f"{tmp}/model")
    return model, hist


def train_metrics(model_cfg: ModelConfig, hist: History) -> dict:
    out = {
        "best_val_loss": hist.best_val_loss,
        "best_epoch": hist.best_epoch + 1,
        "epochs_run": hist.epochs_run,
        "stopped_early": hist.stopped_early,
        "train_loss": hist.train_loss[hist.best_epoch],
        "seconds": round(hist.seconds, 2),
    }
    if model_cfg.task == "next_state":
        out["val_perplexity"] = math.exp(hist.best_val_loss)
    return out


@flow(name="train-model")
def train() -> None:
    params = load_params()
    task_name = task_of(params)
    meta = load_meta()
    vocab, labels = vocab_of(meta)
    model_cfg, train_cfg = model_and_train_configs(
        params, load_best(), **model_fields(meta, task_name)
    )
    _, train_data = load_data("train", task_name)
    _, val_data = load_data("val", task_name)
    resume = prepare_checkpoints(
        fingerprint(model_cfg, train_cfg), section(params, "train", TrainParams).resume
    )
    tp = section(params, "train", TrainParams)
    model, hist = train_model(model_cfg, train_cfg, train_data, val_data, resume, tp.nproc)
    metrics = train_metrics(model_cfg, hist)
    save_model(
        MODEL_DIR,
        model,
        vocab=vocab,
        label_map=labels,
        train_config=train_cfg.model_dump(),
        metrics={**metrics, "history": hist.to_dict()},
        extra={"data": data_spec(meta)},  # scaling stats, windows: what predict needs
    )
    write_json_atomic(METRICS_DIR / "train.json", metrics)
    write_curves(hist)
    learning_curve(hist.train_loss, hist.val_loss, PLOTS_DIR / "learning_curve.png")
    get_run_logger().info(
        "train: best val loss %.4f at epoch %d -> %s",
        hist.best_val_loss,
        hist.best_epoch + 1,
        MODEL_DIR,
    )


if __name__ == "__main__":
    run_stage(train)
