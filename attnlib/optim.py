"""The optimiser and learning-rate schedule :func:`attnlib.train.fit` uses.

``train.optimizer``: ``adam`` (weight decay added to the gradient, as L2) or ``adamw``
(decay applied to the weights directly, decoupled from the adaptive step; Loshchilov &
Hutter 2019). ``train.schedule``:

- ``none``: constant ``lr``.
- ``onecycle``: torch's ``OneCycleLR`` over the whole run (Smith 2018): up from lr/25 to
  ``lr`` over the first ``warmup`` share of the steps, then cosine down to lr/25e4;
  Adam's beta1 cycles inversely. Stepped per batch.
- ``cosine``: linear warm-up from 0 to ``lr`` over the first ``warmup`` share of the
  steps, then cosine decay to 0 at the last step (Loshchilov & Hutter 2017). Per batch.
- ``plateau``: ``ReduceLROnPlateau`` on the validation loss: halve ``lr`` after
  ``max(1, patience // 2)`` epochs (half the early-stopping patience) without an
  improvement of ``min_delta``. Per epoch.

The schedule spans ``epochs x batches per epoch`` steps (after ``train.min_steps``
scaling); early stopping may end the run before the curve does. Its state goes into the
training checkpoint, so a resumed run continues the same curve.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR, OneCycleLR, ReduceLROnPlateau

from attnlib.config import TrainConfig


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Adam or AdamW over ``model``'s parameters (fused kernels where torch has them)."""
    cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return cls(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay, fused=_fused(model)
    )


def cosine_with_warmup(step: int, total: int, warmup: int) -> float:
    """The ``cosine`` schedule's lr factor after ``step`` optimiser steps (0-based)."""
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


class Schedule:
    """The configured lr schedule; ``fit`` calls :meth:`after_batch` and :meth:`after_epoch`.

    Args:
        optimizer: from :func:`build_optimizer`.
        config: ``schedule``, ``warmup``, ``lr``, ``patience``, ``min_delta``.
        total_steps: optimiser steps the whole run would take (epochs x batches).
        patience: early stopping's patience in epochs (after min_steps scaling).
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        config: TrainConfig,
        total_steps: int,
        patience: int | None = None,
    ):
        self.kind = config.schedule
        self.total = max(1, total_steps)
        self.sched = None
        if self.kind == "onecycle":
            # OneCycleLR divides by its warm-up length in steps, which must be >= 1 step
            pct = min(0.5, max(config.warmup, 2.0 / self.total))
            self.sched = OneCycleLR(
                optimizer, max_lr=config.lr, total_steps=self.total, pct_start=pct
            )
        elif self.kind == "cosine":
            warm = round(config.warmup * self.total)
            self.sched = LambdaLR(optimizer, lambda s: cosine_with_warmup(s, self.total, warm))
        elif self.kind == "plateau":
            self.sched = ReduceLROnPlateau(
                optimizer,
                mode="min",
                factor=0.5,
                patience=max(1, (patience or config.patience) // 2),
                threshold=config.min_delta,
                threshold_mode="abs",
            )
        self.optimizer = optimizer

    def after_batch(self) -> None:
        if self.kind in ("onecycle", "cosine") and self.sched.last_epoch < self.total:
            self.sched.step()

    def after_epoch(self, val_loss: float) -> None:
        if self.kind == "plateau":
            self.sched.step(val_loss)

    @property
    def lr(self) -> float:
        """The learning rate the next step will use (of the first parameter group)."""
        return float(self.optimizer.param_groups[0]["lr"])

    def state_dict(self) -> dict:
        return self.sched.state_dict() if self.sched is not None else {}

    def load_state_dict(self, state: dict) -> None:
        if self.sched is not None:
            self.sched.load_state_dict(state)


def _fused(model: nn.Module) -> bool | None:
    """Fused Adam (one vectorised kernel for all of a tensor's updates) where torch has it.

    The default for-loop Adam makes ~8 passes over every parameter per step; with a
    20,000-word embedding that was half of a CPU training step here. Same update, to
    rounding.
    """
    params = list(model.parameters())
    ok = all(p.device.type in ("cpu", "cuda") and p.dtype.is_floating_point for p in params)
    return True if ok and params else None
