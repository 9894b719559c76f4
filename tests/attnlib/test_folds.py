"""Rotated validation folds (attnlib.folds): stratified, disjoint, seeded; fold 0 is the
split stage's own; only a refitted ensemble of independent sequences rotates."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from attnlib.folds import fold_frames, fold_ids, member_folds, rotates


def frames(n_train: int = 53, n_val: int = 14, minority: float = 0.3):
    rng = np.random.default_rng(1)
    labels = (rng.random(n_train + n_val) < minority).astype(np.int64)
    frame = pl.DataFrame({"id": [f"s{i}" for i in range(n_train + n_val)], "label_id": labels})
    return frame.head(n_train), frame.tail(n_val)


def test_folds_are_stratified_disjoint_and_about_the_validation_size():
    train, val = frames()
    ids = fold_ids(train, len(val), seed=0)
    assert sorted(set(ids.tolist())) == [1, 2, 3]  # 53 // 14 folds, every row in one
    sizes = np.bincount(ids)[1:]
    assert sizes.max() - sizes.min() <= 1 and sizes.sum() == len(train)
    labels = train["label_id"].to_numpy()
    for label in (0, 1):  # each class dealt evenly over the folds
        per_fold = np.bincount(ids[labels == label], minlength=4)[1:]
        assert per_fold.max() - per_fold.min() <= 1


def test_folds_are_seeded():
    train, val = frames()
    np.testing.assert_array_equal(fold_ids(train, 14, 3), fold_ids(train, 14, 3))
    assert not np.array_equal(fold_ids(train, 14, 3), fold_ids(train, 14, 4))


def test_fold_frames_hold_out_their_fold_and_train_on_the_rest_and_val():
    train, val = frames()
    assert fold_frames(train, val, 0, seed=0) == (train, val)  # the split as it is
    held_out = set()
    for fold in (1, 2, 3):
        fit, held = fold_frames(train, val, fold, seed=0)
        fit_ids, held_ids = set(fit["id"]), set(held["id"])
        assert not fit_ids & held_ids
        assert fit_ids | held_ids == set(train["id"]) | set(val["id"])
        assert held_ids <= set(train["id"]) and set(val["id"]) <= fit_ids
        held_out |= held_ids
    assert held_out == set(train["id"])  # the folds tile the training split


def test_members_beyond_the_folds_keep_the_validation_split():
    train, val = frames(n_train=30, n_val=14)  # 2 folds
    assert member_folds(train, val, 3) == [0, 1, 2]
    assert member_folds(train, val, 5) == [0, 1, 2, 0, 0]
    assert member_folds(train, val.head(0), 3) == [0, 0, 0]  # no validation split to size by


@pytest.mark.parametrize(
    ("task", "ensemble", "refit", "nproc", "expected"),
    [
        ("classify", 3, True, 1, True),
        ("classify", 1, True, 1, False),  # one model: nothing to rotate
        ("classify", 3, False, 1, False),  # validation chose the checkpoint: it stays shared
        ("classify", 3, True, 2, False),  # DDP ranks read the split files
        ("forecast", 3, True, 1, False),  # one series: folds would cut it in time
        ("next_state", 3, True, 1, False),
    ],
)
def test_which_runs_rotate(task, ensemble, refit, nproc, expected):
    assert rotates(task, ensemble, refit, nproc) is expected


@pytest.mark.parametrize("refit_kept", [True, False])
def test_evaluate_calibrates_each_fold_on_the_members_that_held_it_out(refit_kept):
    """Member k's early-stopped model predicts fold k; where every refit was discarded
    the saved ensemble is those members, and it still must not score val with members that
    trained on it."""
    import torch

    from attnlib.config import ModelConfig
    from attnlib.ensemble import Ensemble
    from attnlib.folds import calibration_sets
    from attnlib.models import build_model
    from attnlib.persistence import ModelMeta
    from attnlib.tasks import EvalContext, get_task

    cfg = ModelConfig(task="classify", input_kind="numeric", input_dim=1, hidden_dim=4,
                      num_classes=2)  # fmt: skip
    torch.manual_seed(0)
    early = Ensemble([build_model(cfg) for _ in range(3)])
    model = Ensemble([build_model(cfg) for _ in range(3)]) if refit_kept else early
    heldout = early if refit_kept else None
    train, val = frames()
    sets = calibration_sets("classify", model, heldout, [0, 1, 2], 5, train, val)
    assert [m for m, _ in sets] == list(early.members)
    for fold, (_, rows) in enumerate(sets):
        assert rows.equals(fold_frames(train, val, fold, seed=5)[1])
    assert calibration_sets("classify", model, heldout, [0, 0, 0], 5, train, val) == []
    assert calibration_sets("classify", model, heldout, [0, 1], 5, train, val) == []

    ctx = EvalContext(model, ModelMeta(cfg), {}, (train, val, val), None, None,
                      heldout=heldout, out_of_fold=sets)  # fmt: skip
    assert ctx.calibration_sets(get_task("classify")) == sets
    assert ctx.noting_fit({"conformal": {}})["conformal"]["fitted_on"].startswith(
        "out-of-fold: val and 2 training folds"
    )
    shared = EvalContext(model, ModelMeta(cfg), {}, (train, val, val), None, None,
                         heldout=heldout)  # fmt: skip
    [(calibrator, rows)] = shared.calibration_sets(get_task("classify"))
    assert calibrator is (early if refit_kept else model) and rows.equals(val)
