"""Build a model from its config and fit it, as the train stage and each DDP rank do;
whether a checkpoint directory belongs to this run; the numbers of ``train.json`` and
what the saved model records about its training (``attnlib info`` shows it)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from torch import nn

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import Batches, SequenceData
from attnlib.io import write_json_atomic
from attnlib.models import build_model, loss_fn, plain_loss_fn
from attnlib.models.linear_base import fit_linear_base, refit_linear_base
from attnlib.models.partner import fit_partner, mix_again, mix_partner, refit_partner
from attnlib.runtime import resolve_device
from attnlib.tasks import get_task
from attnlib.train import Callback, History, evaluate_loss, fit, seed_everything

if TYPE_CHECKING:
    import polars as pl

VAL_BATCH = 256  # evaluation only: the loss is a per-target mean, whatever the batch size
# A refit is kept only if it fits the training split (seen by both models) about as well as
# the early-stopped model: loss <= SLACK x its loss + MARGIN. A new run cut at a fixed epoch
# count can land in a loss spike: on GunPoint refits ended at training losses of 0.037-2.3
# against the early-stopped models' 0.00007-0.0034 (bench/results/refit_gunpoint.json).
# Where the task gives its own refit data (forecasts: every window before the test split)
# both are judged on that, which the early-stopped model saw all but the validation-side
# windows of: a check against loss spikes that leans towards the refit (on the training
# split alone a forecast's refit, which also learnt the later windows, was discarded for
# most sunspots members).
REFIT_SLACK, REFIT_MARGIN = 1.1, 0.01


def build_and_fit(
    model_cfg: ModelConfig, train_cfg: TrainConfig, train: SequenceData, val: SequenceData, *,
    callbacks: Iterable[Callback] = (), checkpoint_dir: str | Path | None = None,
    resume: bool = False, refit_data: SequenceData | None = None,
) -> tuple[nn.Module, History]:  # fmt: skip
    """A seeded new model fitted on ``train`` (length-bucketed, shuffled batches), early
    stopped on ``val``; returns it (holding its best weights) and its history.

    With ``train_cfg.refit`` a new model is then trained on train + val for the early-stopped
    epoch count and returned instead, unless it fits train (or ``refit_data``) worse (see
    REFIT_SLACK; the history says why in ``refit_rejected``); the history keeps the
    early-stopped weights in ``heldout_state`` for calibration. ``refit_data``: what the
    refit trains on (:func:`refit_data`; None: train then val)."""
    seed_everything(train_cfg.seed)  # the same initial weights on every DDP rank too
    model = build_model(model_cfg)
    # at most one applies: a forecast's base (the network starts from it) or a token
    # classifier's n-gram partner (mixed in after training)
    base = {**fit_linear_base(model, train, val), **fit_partner(model, train, val)}
    batches = Batches(
        train, train_cfg.batch_size, shuffle=True, bucket=train_cfg.bucket, seed=train_cfg.seed
    )
    plain = plain_loss_fn(model_cfg, train_cfg)  # early stopping and the refit guard
    hist = fit(
        model, batches, Batches(val, VAL_BATCH), train_cfg, loss_fn=loss_fn(model_cfg, train_cfg),
        val_loss_fn=plain, callbacks=callbacks, checkpoint_dir=checkpoint_dir, resume=resume,
    )  # fmt: skip
    # select: train (a few series) chose nothing on val, nor does the partner's weight
    hist.linear_base = {**base, **mix_partner(model, val, equal=train_cfg.select == "train")}
    if hist.linear_base.get("mix"):  # the model's own validation loss, as an ensemble's is
        hist.best_val_loss = hist.linear_base["mixed_val_loss"]
    if train_cfg.refit:
        # select: train chose nothing on val: the refit gets the same budget (as far as
        # the first fit ran) and is again kept at its lowest training loss
        by_train = train_cfg.select == "train"
        epochs = hist.epochs_run if by_train else hist.best_epoch + 1
        refitted = refit(model_cfg, train_cfg, train, val, epochs, refit_data,
                         hist.linear_base)  # the first fit's base decisions, kept  # fmt: skip
        judged, name = (
            (train, "training split") if refit_data is None else (refit_data, "refit data")
        )
        before, after = (
            evaluate_loss(m, Batches(judged, VAL_BATCH), plain) for m in (model, refitted)
        )
        if after > REFIT_SLACK * before + REFIT_MARGIN:
            hist.refit_rejected = (f"the refit's loss on the {name} ({after:.4g}) is "
                                   f"worse than the early-stopped model's ({before:.4g}): kept "
                                   "the early-stopped model")  # fmt: skip
            return model, hist
        # kept for calibration: its validation predictions are out of sample, the refit's not
        hist.heldout_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        model, hist.refit_epochs = refitted, epochs
    return model, hist


def refit_data(task: str, train_cfg: TrainConfig, train: pl.DataFrame,
               val: pl.DataFrame) -> SequenceData | None:  # fmt: skip
    """What a refit trains on, from the usable rows of the train and val splits
    (:meth:`attnlib.tasks.base.Task.refit_data`); None without a refit, or where the task
    refits on the two splits' tensors."""
    return get_task(task).refit_data(train, val) if train_cfg.refit else None


class _Enough(Exception):
    """Raised by refit's callback after its epoch count: fit keeps the last weights."""


def refit(model_cfg: ModelConfig, train_cfg: TrainConfig, train: SequenceData,
          val: SequenceData, epochs: int, both: SequenceData | None = None,
          base: dict | None = None) -> nn.Module:  # fmt: skip
    """A new seeded model trained on train + val (``both``; None: their tensors one after
    the other) for ``epochs`` epochs, the count the first fit chose; no early stopping (val
    is now seen). Kept: the last weights (``select: val``: the count was the choice), or
    those of the lowest training loss (``select: train``, as in the first fit). A
    forecast's linear base keeps the first fit's decision and penalty, a classifier's n-gram
    partner its penalty and weight (``base``: the first fit's report), fitted on ``both``.

    Same optimiser, schedule and epoch budget as the first fit, cut after ``epochs``, so
    the learning rate follows the same course; val still reports a (now in-sample) loss.
    """
    seed_everything(train_cfg.seed)
    model = build_model(model_cfg)
    both = both if both is not None else SequenceData.concat(train, val)
    refit_linear_base(model, both, (base or {}).get("penalty"))  # the first fit's choice
    refit_partner(model, both, base or {})  # its weight is set once the network is trained
    batches = Batches(
        both, train_cfg.batch_size, shuffle=True, bucket=train_cfg.bucket, seed=train_cfg.seed
    )
    cfg = train_cfg.model_copy(update={"patience": train_cfg.epochs})  # never stops early
    val_b, loss = Batches(val, VAL_BATCH), loss_fn(model_cfg, train_cfg)
    if train_cfg.select == "train":
        fit(model, batches, val_b, cfg, loss_fn=loss, max_epochs=epochs)
        return mix_again(model, base or {})

    def stop(epoch: int, logs: dict) -> None:
        if epoch + 1 >= epochs:
            raise _Enough

    try:
        fit(model, batches, val_b, cfg, loss_fn=loss, callbacks=[stop])
    except _Enough:
        pass
    return mix_again(model, base or {})


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
    if hist.refit_epochs:
        out["refit_epochs"] = hist.refit_epochs  # on train + val, after early stopping
    if hist.refit_rejected:
        out["refit_rejected"] = hist.refit_rejected
    if hist.linear_base:  # a forecast's base (its val_mse) or a classifier's n-gram partner
        out["linear_base"] = hist.linear_base
    return {**out, **get_task(model_cfg.task).train_metrics(hist)}


def amp_used(train_cfg: TrainConfig) -> bool:
    """Whether training ran in mixed precision (asked for, and on a CUDA device)."""
    return bool(train_cfg.amp) and resolve_device(train_cfg.device).type == "cuda"


def saved_train_config(train_cfg: TrainConfig) -> dict:
    """The train config as the model records it: ``amp`` as actually used."""
    return {**train_cfg.model_dump(), "amp": amp_used(train_cfg)}


def saved_history(hist: History) -> dict:
    """The history as the model records it, without a second best epoch (``train.json``'s
    1-based ``best_epoch`` is the one)."""
    return {k: v for k, v in hist.to_dict().items() if k != "best_epoch"}


def split_size(frame) -> str:
    """A split's size in its own unit."""
    if "length" in frame.columns:  # sequences (token or numeric)
        return f"{frame.height} sequences, {int(frame['length'].sum())} steps"
    return f"{frame.height} time steps"  # one long series (forecast)
