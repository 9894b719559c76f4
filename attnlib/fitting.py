"""Build a model from its config and fit it, as the train stage and each DDP rank do;
whether a checkpoint directory belongs to this run; the numbers of ``train.json``."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable
from pathlib import Path

from torch import nn

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import Batches, SequenceData
from attnlib.io import write_json_atomic
from attnlib.models import build_model, loss_fn
from attnlib.tasks import get_task
from attnlib.train import Callback, History, fit, seed_everything

VAL_BATCH = 256  # evaluation only: the loss is a per-target mean, whatever the batch size


def build_and_fit(
    model_cfg: ModelConfig, train_cfg: TrainConfig, train: SequenceData, val: SequenceData, *,
    callbacks: Iterable[Callback] = (), checkpoint_dir: str | Path | None = None,
    resume: bool = False,
) -> tuple[nn.Module, History]:  # fmt: skip
    """A seeded new model fitted on ``train`` (length-bucketed, shuffled batches), early
    stopped on ``val``; returns it (holding its best weights) and its history."""
    seed_everything(train_cfg.seed)  # the same initial weights on every DDP rank too
    model = build_model(model_cfg)
    batches = Batches(
        train, train_cfg.batch_size, shuffle=True, bucket=train_cfg.bucket, seed=train_cfg.seed
    )
    hist = fit(
        model, batches, Batches(val, VAL_BATCH), train_cfg, loss_fn=loss_fn(model_cfg, train_cfg),
        callbacks=callbacks, checkpoint_dir=checkpoint_dir, resume=resume,
    )  # fmt: skip
    return model, hist


def fingerprint(model_cfg: ModelConfig, train_cfg: TrainConfig, files: Iterable[Path]) -> str:
    """Hash of everything a checkpoint depends on: configs, the training data files and the
    file the word input layer starts from (n-gram table, pretrained vectors)."""
    h = hashlib.sha256()
    h.update(model_cfg.model_dump_json().encode())
    h.update(train_cfg.model_dump_json(exclude={"progress", "device"}).encode())
    for path in [*files, *([model_cfg.input_init] if model_cfg.input_init else [])]:
        h.update(Path(path).read_bytes())
    return h.hexdigest()[:16]


def prepare_checkpoints(directory: Path, key: str, resume: bool) -> bool:
    """Keep ``directory`` only if it belongs to the run ``key``; return whether to resume."""
    stamp = directory / "fingerprint.json"
    if resume and stamp.exists() and json.loads(stamp.read_text()).get("key") == key:
        return True
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    write_json_atomic(stamp, {"key": key})
    return False


def train_metrics(model_cfg: ModelConfig, hist: History) -> dict:
    """``metrics/train.json``: the best epoch's losses, the run's length, the task's own."""
    out = {
        "best_val_loss": hist.best_val_loss,
        "best_epoch": hist.best_epoch + 1,
        "epochs_run": hist.epochs_run,
        "stopped_early": hist.stopped_early,
        "train_loss": hist.train_loss[hist.best_epoch],
        "seconds": round(hist.seconds, 2),
    }
    return {**out, **get_task(model_cfg.task).train_metrics(hist)}
