"""A model-agnostic trainer: ``fit(model, train, val, config, loss_fn=..., callbacks=...)``.

Adam or AdamW and an lr schedule (attnlib.optim), gradient clipping, early stopping on
validation loss (or training loss, ``select: train``) that restores the best weights, and
a checkpoint after every epoch holding everything a killed run needs to resume and finish
exactly as an uninterrupted one would: weights, optimiser, lr schedule, grad-scaler, RNG
states, epoch, best-so-far and history.
"""

from __future__ import annotations

import copy
import logging
import math
import os
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from torch import distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from attnlib.config import TrainConfig
from attnlib.data import Batch, Batches
from attnlib.errors import TrainingError
from attnlib.io import atomic_path
from attnlib.models.precise_bn import batch_norms, recompute_batch_norm
from attnlib.optim import Schedule, build_optimizer
from attnlib.precision import training_autocast
from attnlib.runtime import (  # noqa: F401  (re-exported)
    free_cores,
    progress,
    resolve_device,
    seed_everything,
    tune_threads,
)
from attnlib.vocab import PAD_ID

log = logging.getLogger(__name__)

Callback = Callable[[int, dict], None]  # (epoch, logs); may raise to stop (e.g. TrialPruned)
CHECKPOINT = "checkpoint.pt"


@dataclass
class History:
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    train_targets: list[int] = field(default_factory=list)  # per epoch, summed over DDP ranks
    best_epoch: int = -1  # 0-based
    best_val_loss: float = math.inf
    epochs_run: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    refit_epochs: int = 0  # > 0: the kept model was refitted on train + val this long
    refit_rejected: str = ""  # why a refit was discarded (attnlib.fitting.build_and_fit)
    linear_base: dict = field(default_factory=dict)  # fit_linear_base's / the partner's report
    # with a refit: the early-stopped model's weights, which never saw val (calibration)
    heldout_state: dict | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        out = asdict(replace(self, heldout_state=None))  # weights are no JSON
        del out["heldout_state"]
        return out


def count_targets(y: torch.Tensor, per_step: bool) -> int:
    """Number of real predictions in a batch (the weight of its mean loss)."""
    return int((y != PAD_ID).sum()) if per_step else int(y.numel())


@torch.no_grad()
def evaluate_loss(model: nn.Module, batches: Iterable[Batch], loss_fn, device=None) -> float:
    """Mean loss per real prediction over all batches (not a mean of batch means)."""
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    per_step = getattr(getattr(batches, "data", None), "y_per_step", False)
    for batch in batches:
        batch = batch.to(device)
        n = count_targets(batch.y, per_step)
        total += float(loss_fn(model(batch.x, batch.lengths), batch.y)) * n
        count += n
    model.train(was_training)
    return total / max(count, 1)


def _rng_state() -> dict:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": random.getstate(),
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
    }


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    random.setstate(tuple(x if not isinstance(x, list) else tuple(x) for x in state["python"]))
    name, keys, *rest = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), *rest))


def save_checkpoint(path: Path, payload: dict) -> None:
    """Write atomically: a kill mid-write leaves the previous checkpoint intact."""
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(payload, tmp)


def load_checkpoint(path: Path) -> dict:
    # weights_only: our own checkpoints hold only tensors and plain containers.
    return torch.load(path, map_location="cpu", weights_only=True)


def fit(
    model: nn.Module,
    train: Batches,
    val: Batches,
    config: TrainConfig,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    val_loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    callbacks: Iterable[Callback] = (),
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    max_epochs: int | None = None,
) -> History:
    """Train ``model`` in place; on return it holds the best weights: those of the lowest
    validation loss, or with ``config.select == "train"`` of the lowest training loss (the
    epoch's mean over its batches; validation is then only reported). Early stopping
    watches the same loss; ``best_val_loss`` is the validation loss of the kept epoch.

    Args:
        model: any module called as ``model(x, lengths)``.
        train, val: batch iterables; ``train`` is re-shuffled per epoch via ``set_epoch``.
        config: optimisation settings (lr, epochs, patience, ...).
        loss_fn: ``loss_fn(output, y)``, the mean over real predictions.
        val_loss_fn: the loss early stopping watches; default ``loss_fn`` (differs with
            label smoothing: train on the smoothed loss, select on the plain one).
        callbacks: called after every epoch with ``(epoch, logs)``.
        checkpoint_dir: where ``checkpoint.pt`` is written after every epoch.
        resume: continue from ``checkpoint_dir/checkpoint.pt`` if it exists.
        max_epochs: stop after this many epochs at most (the lr schedule still spans the
            whole budget, so a run cut here follows the same course).

    Returns:
        The :class:`History` of losses, best epoch and whether it stopped early.
    """
    device = resolve_device(config.device)
    norms = batch_norms(model)  # recomputed every epoch (attnlib.models.precise_bn)
    if norms and train.bucket:  # batch norm learns on batches alike: not one length each
        train = Batches(train.data, train.batch_size, shuffle=train.shuffle, seed=train.seed)
    rank, world = (dist.get_rank(), dist.get_world_size()) if _distributed() else (0, 1)
    if world > 1 and device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    model.to(device)
    net: nn.Module = model
    if world > 1:  # gradients are averaged across ranks; each rank trains on its batch slice
        train.shard(rank, world)
        # DDP copies rank 0's weights and buffers to every rank here; after that only batch
        # norm's running statistics change in training, so only a model with batch norm
        # broadcasts its buffers before each forward (not, say, an n-gram partner's tables)
        net = DistributedDataParallel(
            model,
            device_ids=[device.index] if device.type == "cuda" else None,
            broadcast_buffers=bool(norms),
        )
    is_main = rank == 0
    opt = build_optimizer(model, config)
    epochs, patience = budget(config, len(train))
    schedule = Schedule(opt, config, epochs * len(train), patience)
    use_amp = config.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    autocast, autocast_dtype = training_autocast(config.precision, device, config.amp)
    hist, best_state, bad, start = History(), None, 0, 0
    ckpt_path = Path(checkpoint_dir) / CHECKPOINT if checkpoint_dir else None
    if resume and ckpt_path and ckpt_path.exists():
        ck = load_checkpoint(ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optimizer"])
        if "schedule" in ck:  # checkpoints from before lr schedules ran at a constant lr
            schedule.load_state_dict(ck["schedule"])
        scaler.load_state_dict(ck["scaler"])
        best_state, bad, start = ck["best_state"], ck["bad_epochs"], ck["epoch"] + 1
        hist = History(**ck["history"])
        _set_rng_state(ck["rng"])
        log.info("resumed from %s at epoch %d", ckpt_path, start)
    per_step = getattr(train.data, "y_per_step", False)
    by_train = config.select == "train"  # the checkpoint at the lowest training loss
    if max_epochs is not None:
        epochs = min(epochs, max_epochs)
    done = hist.stopped_early or start >= epochs
    t0 = time.perf_counter() - hist.seconds
    for epoch in range(start, epochs if not done else start):
        train.set_epoch(epoch)
        model.train()
        total, count = 0.0, 0
        label = f"epoch {epoch + 1}/{epochs}"
        for batch in progress(train, label, config.progress and is_main):
            batch = batch.to(device)
            n = count_targets(batch.y, per_step)
            with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast):
                out = net(batch.x, batch.lengths)
                loss = loss_fn(out, batch.y) if n else (out * 0).sum()
            if not torch.isfinite(loss):
                raise TrainingError(
                    f"loss became {loss.item()} in epoch {epoch + 1}; the last good checkpoint "
                    f"({ckpt_path or 'none'}) is kept. Lower train.lr or check inputs for NaN/inf."
                )
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss * _rank_weight(n, world, device)).backward()
            if config.grad_clip > 0:
                scaler.unscale_(opt)
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            scaler.step(opt)
            scaler.update()
            schedule.after_batch()
            total, count = total + loss.item() * n, count + n
        if world > 1:  # the epoch's train loss over all ranks' batches
            sums = torch.tensor([total, count], dtype=torch.float64, device=device)
            dist.all_reduce(sums)
            total, count = float(sums[0]), int(sums[1])
        if norms:  # the statistics of this epoch's weights, not the last batches' average
            recompute_batch_norm(model, train.data, device, norms)
        val_loss = evaluate_loss(model, val, val_loss_fn or loss_fn, device)  # same on every rank
        if not math.isfinite(val_loss):
            raise TrainingError(f"validation loss became {val_loss} in epoch {epoch + 1}")
        schedule.after_epoch(val_loss)
        train_loss = total / max(count, 1)
        if by_train:
            watched = train_loss
            best = hist.train_loss[hist.best_epoch] if hist.best_epoch >= 0 else math.inf
        else:
            watched, best = val_loss, hist.best_val_loss
        improved = watched < best - config.min_delta
        if improved:
            hist.best_val_loss, hist.best_epoch, bad = val_loss, epoch, 0
            best_state = copy.deepcopy({k: v.detach().cpu() for k, v in model.state_dict().items()})
        else:
            bad += 1
        hist.train_loss.append(train_loss)
        hist.train_targets.append(count)
        hist.val_loss.append(val_loss)
        hist.epochs_run = epoch + 1
        hist.stopped_early = bad >= patience
        hist.seconds = time.perf_counter() - t0
        if ckpt_path and is_main:
            save_checkpoint(
                ckpt_path,
                {
                    "model": model.state_dict(),
                    "optimizer": opt.state_dict(),
                    "schedule": schedule.state_dict(),
                    "scaler": scaler.state_dict(),
                    "best_state": best_state,
                    "bad_epochs": bad,
                    "epoch": epoch,
                    "history": hist.to_dict(),
                    "rng": _rng_state(),
                },
            )
        logs = {
            "epoch": epoch,
            "train_loss": hist.train_loss[-1],
            "val_loss": val_loss,
            "best_val_loss": hist.best_val_loss,
            "improved": improved,
            "seconds": hist.seconds,
            "lr": schedule.lr,  # what the next epoch starts with
        }
        log.info(
            "epoch %d: train %.4f val %.4f%s",
            epoch + 1,
            logs["train_loss"],
            val_loss,
            " *" if improved else "",
        )
        for cb in callbacks if is_main else ():
            cb(epoch, logs)
        if hist.stopped_early:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    return hist


def budget(config: TrainConfig, batches_per_epoch: int) -> tuple[int, int]:
    """Epochs and patience for this data: both scaled up alike when an epoch is short.

    With 50 training series and batches of 16 an epoch is 4 optimizer steps, and 25 epochs
    with a patience of 4 stop long before an LSTM has learnt anything. ``min_steps`` asks
    for at least that many steps: ``epochs`` becomes ``ceil(min_steps / batches_per_epoch)``
    and ``patience`` grows by the same ratio (rounded up), so early stopping still waits
    the same share of the run. (A whole factor would double a budget that is one batch
    short, as an ensemble member holding out a slightly larger fold is.)
    """
    batches = max(batches_per_epoch, 1)
    if not config.min_steps or config.epochs * batches >= config.min_steps:
        return config.epochs, config.patience
    epochs = math.ceil(config.min_steps / batches)
    patience = math.ceil(config.patience * epochs / config.epochs)
    log.info("%d batches per epoch: %d epochs, patience %d (train.min_steps %d)",
             batches_per_epoch, epochs, patience, config.min_steps)  # fmt: skip
    return epochs, patience


def _rank_weight(n: int, world: int, device: torch.device) -> float:
    """Scale a rank's mean loss so DDP's gradient average is the global batch's mean.

    DDP averages the ranks' gradients; a rank whose slice holds ``n`` of the global
    batch's ``N`` targets contributes ``n * world / N`` of its mean, so sequences of any
    length give exactly the gradient one process would compute (``n = 0``: nothing).
    """
    if world == 1:
        return 1.0
    total = torch.tensor([n], dtype=torch.float64, device=device)
    dist.all_reduce(total)
    return n * world / max(float(total.item()), 1.0)


def _distributed() -> bool:
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
