"""Rotated validation folds: out-of-fold predictions for a refitted ensemble to calibrate on.

A refit (``train.refit``) keeps a model trained on train + val, so only the early-stopped
model it started from predicts the validation split out of sample, and temperature
scaling and the conformal threshold are fitted on those predictions. On the small series
sets that is a handful of items (ItalyPowerDemand: 14, every one right, which leaves the
temperature at 1 and the conformal quantile at the largest score). With ``train.ensemble``
N > 1 the members need not share that split: member 0 keeps the split stage's validation
split (it is exactly the model ``ensemble: 1`` trains) and member k >= 1 holds out fold k
of the training split instead, a stratified fold of the same size, training on the rest
and the validation split. Each early-stopped member then predicts its own fold out of
sample: N times the calibration items, for no extra training. Members beyond the folds
the training split holds keep fold 0. Each fold is scored by the members that held it out
(averaged as one ensemble), as the single validation split was by all of them.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from torch import nn

from attnlib.data import SequenceData
from attnlib.encode import to_sequence_data
from attnlib.ensemble import Ensemble
from attnlib.tasks import get_task

LABEL = "label_id"  # classify's label column: folds are stratified by it where present


def rotates(task: str, ensemble: int, refit: bool, nproc: int = 1) -> bool:
    """Whether the members of a run hold out rotated folds: a refitted ensemble of a task
    whose rows are independent sequences, trained in-process (DDP ranks read the split
    files and keep the split stage's validation split)."""
    return refit and ensemble > 1 and nproc <= 1 and get_task(task).rotates_folds


def fold_count(train: pl.DataFrame, val_size: int) -> int:
    """How many folds of ``val_size`` rows the training split holds (0 without a size)."""
    return len(train) // val_size if val_size else 0


def fold_ids(train: pl.DataFrame, val_size: int, seed: int) -> np.ndarray:
    """Each training row's fold (1 .. F; F = len(train) // val_size, each about val_size
    rows), stratified by ``label_id`` where the frame has it; seeded, so train and
    evaluate rebuild the same folds from the same frame."""
    folds = fold_count(train, val_size)
    out = np.zeros(len(train), dtype=np.int64)
    if folds < 1:
        return out
    rng = np.random.default_rng(seed)
    labels = train[LABEL].to_numpy() if LABEL in train.columns else np.zeros(len(train))
    start = 0  # each class deals on where the previous one stopped: fold sizes differ by <= 1
    for label in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == label))
        out[rows] = (start + np.arange(len(rows))) % folds + 1
        start = (start + len(rows)) % folds
    return out


def member_folds(train: pl.DataFrame, val: pl.DataFrame, members: int) -> list[int]:
    """The fold each member holds out: k for member k while the training split has it, else 0."""
    folds = fold_count(train, len(val))
    return [k if k <= folds else 0 for k in range(members)]


def fold_frames(train: pl.DataFrame, val: pl.DataFrame, fold: int,
                seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:  # fmt: skip
    """(training rows, held-out rows) of ``fold``: fold 0 is (train, val) as split; fold
    k >= 1 is (the rest of train + val, fold k of train)."""
    if fold == 0:
        return train, val
    ids = fold_ids(train, len(val), seed)
    held = pl.Series(ids == fold)
    return pl.concat([train.filter(~held), val], how="diagonal_relaxed"), train.filter(held)


Pair = tuple[SequenceData, SequenceData]


def member_data(task: str, train: pl.DataFrame, val: pl.DataFrame, members: int,
                seed: int) -> tuple[list[int], list[Pair]]:  # fmt: skip
    """The fold each member holds out and its (training, held-out) tensors; the frames
    are the usable rows of the train and val splits."""
    folds = member_folds(train, val, members)
    data = {}
    for fold in sorted(set(folds)):
        fit, held = fold_frames(train, val, fold, seed)
        data[fold] = (to_sequence_data(fit, task, source=f"train split (fold {fold})"),
                      to_sequence_data(held, task, source=f"held-out fold {fold}"))  # fmt: skip
    return folds, [data[f] for f in folds]


def calibration_sets(task: str, model: nn.Module, heldout: nn.Module | None, folds: list[int],
                     seed: int, train: pl.DataFrame,
                     val: pl.DataFrame) -> list[tuple[nn.Module, pl.DataFrame]]:  # fmt: skip
    """Per fold, the members that held it out, as they were before the refit (``heldout``;
    ``model`` where every refit was discarded), and the fold's rows: what evaluate
    calibrates on. [] when the members shared the validation split (``folds`` as train
    recorded them in ``model.json``'s ``extra.calibration_folds``)."""
    early = heldout if heldout is not None else model
    members = list(getattr(early, "members", ()))
    if not any(folds) or len(folds) != len(members):
        return []
    t = get_task(task)
    train, val = t.usable(train), t.usable(val)
    out = []
    for fold in sorted(set(folds)):
        chosen = [m for m, f in zip(members, folds, strict=True) if f == fold]
        held = chosen[0] if len(chosen) == 1 else Ensemble(chosen).eval()
        out.append((held, fold_frames(train, val, fold, seed)[1]))
    return out
