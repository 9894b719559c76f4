"""Trainer behaviour: early stopping, best-weight restore, exact resume, NaN guard."""

import subprocess
import sys

import pytest
import torch

import attnlib.train as T
from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import Batches, SequenceData
from attnlib.errors import TrainingError
from attnlib.models import build_model, loss_fn
from attnlib.train import CHECKPOINT, budget, evaluate_loss, fit, seed_everything

V = 12


def data(seed, n=40):
    g = torch.Generator().manual_seed(seed)
    seqs = [
        [2 + (i + j) % (V - 2) for j in range(int(torch.randint(3, 12, (1,), generator=g)))]
        for i in range(n)
    ]
    return SequenceData.next_state(seqs)


def setup(seed=0, **train_kw):
    seed_everything(seed)
    cfg = ModelConfig(vocab_size=V, embedding_dim=8, hidden_dim=8, dropout=0.2, num_layers=2)
    model = build_model(cfg)
    tc = TrainConfig(**{"batch_size": 8, "lr": 1e-2, "seed": seed, "progress": False, **train_kw})
    train = Batches(data(1), tc.batch_size, shuffle=True, bucket=True, seed=seed)
    val = Batches(data(2, 16), tc.batch_size)
    return model, train, val, tc, loss_fn(cfg)


def test_loss_decreases_and_best_weights_are_restored():
    model, train, val, tc, lf = setup(epochs=6, patience=10)
    hist = fit(model, train, val, tc, loss_fn=lf)
    assert hist.epochs_run == 6 and hist.val_loss[-1] < hist.val_loss[0]
    assert evaluate_loss(model, val, lf) == pytest.approx(min(hist.val_loss), abs=1e-6)


def test_early_stopping_after_patience_epochs():
    # lr 0 never improves after epoch 0: stop after exactly 1 + patience epochs.
    model, train, val, tc, lf = setup(epochs=20, patience=3, lr=1e-9, min_delta=1.0)
    hist = fit(model, train, val, tc, loss_fn=lf)
    assert hist.stopped_early and hist.epochs_run == 4 and hist.best_epoch == 0


@pytest.mark.parametrize(
    ("epochs", "patience", "min_steps", "batches", "expected"),
    [
        (5, 2, 100, 4, (25, 10)),  # 20 steps -> x5
        (5, 2, 101, 4, (26, 11)),  # rounds up to whole epochs, patience by the same ratio
        (100, 20, 1000, 9, (112, 23)),  # one batch short: a few epochs more, not twice as many
        (5, 2, 100, 20, (5, 2)),  # already 100 steps
        (5, 2, 0, 1, (5, 2)),  # off
    ],
)
def test_min_steps_scales_epochs_and_patience_alike(epochs, patience, min_steps, batches, expected):
    tc = TrainConfig(epochs=epochs, patience=patience, min_steps=min_steps)
    assert budget(tc, batches) == expected


def test_small_data_trains_for_min_steps():
    # 40 sequences in batches of 8: 5 steps per epoch; 2 epochs and min_steps 30 -> 6 epochs
    model, train, val, tc, lf = setup(epochs=2, patience=10, min_steps=30)
    assert len(train) == 5
    assert fit(model, train, val, tc, loss_fn=lf).epochs_run == 6


def test_early_stopping_restores_best_not_last(monkeypatch):
    # scripted validation: best at epoch 1, then 3 worse epochs -> stop; weights of epoch 1
    val_losses = iter([1.0, 0.5, 0.9, 0.8, 0.7, 0.6])
    monkeypatch.setattr(T, "evaluate_loss", lambda *a, **k: next(val_losses))
    model, train, val, tc, lf = setup(epochs=6, patience=3)
    seen = {}

    def keep(epoch, logs):
        seen[epoch] = {k: v.clone() for k, v in model.state_dict().items()}

    hist = fit(model, train, val, tc, loss_fn=lf, callbacks=[keep])
    assert (hist.best_epoch, hist.epochs_run, hist.stopped_early) == (1, 5, True)
    assert not torch.equal(seen[1]["head.out.weight"], seen[4]["head.out.weight"])
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, seen[1][k], atol=0, rtol=0)


def test_select_train_keeps_the_lowest_training_loss_whatever_validation_says(monkeypatch):
    # validation only gets worse: select val stops after patience with epoch 0's weights;
    # select train runs on, keeps the epoch of the lowest training loss, reports its val loss
    monkeypatch.setattr(T, "evaluate_loss", lambda *a, **k: 1.0 + len(losses))
    losses = []
    model, train, val, tc, lf = setup(epochs=8, patience=3, select="val")
    hist = fit(model, train, val, tc, loss_fn=lf, callbacks=[lambda e, g: losses.append(e)])
    assert (hist.best_epoch, hist.epochs_run, hist.stopped_early) == (0, 4, True)
    losses.clear()
    model, train, val, tc, lf = setup(epochs=8, patience=3, select="train")
    seen = {}

    def keep(epoch, logs):
        seen[epoch] = {k: v.clone() for k, v in model.state_dict().items()}
        losses.append(epoch)

    hist = fit(model, train, val, tc, loss_fn=lf, callbacks=[keep])
    best = min(range(hist.epochs_run), key=hist.train_loss.__getitem__)
    assert hist.epochs_run == 8 and not hist.stopped_early and best > 0
    assert hist.best_epoch == best and hist.best_val_loss == hist.val_loss[best]
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, seen[best][k], atol=0, rtol=0)


def test_max_epochs_cuts_the_run_but_not_the_schedule():
    model, train, val, tc, lf = setup(epochs=6, patience=10, schedule="cosine")
    lrs = []
    hist = fit(model, train, val, tc, loss_fn=lf, max_epochs=3,
               callbacks=[lambda e, logs: lrs.append(logs["lr"])])  # fmt: skip
    model, train, val, tc, lf = setup(epochs=6, patience=10, schedule="cosine")
    full = []
    fit(model, train, val, tc, loss_fn=lf, callbacks=[lambda e, logs: full.append(logs["lr"])])
    assert hist.epochs_run == 3 and lrs == full[:3]


@pytest.mark.parametrize(
    "recipe",
    [
        {},
        {"schedule": "cosine", "optimizer": "adamw", "weight_decay": 0.1},
        {"schedule": "onecycle"},
        # min_delta 10: no epoch after the first improves, so the lr halves after epoch 3
        {"schedule": "plateau", "patience": 3, "min_delta": 10.0},
        {"schedule": "cosine", "select": "train"},
    ],
    ids=["constant", "cosine-adamw", "onecycle", "plateau", "select-train"],
)
def test_resume_matches_uninterrupted(tmp_path, recipe):
    # the schedule spans the 4 epochs: the 2-epoch first half must run with tc's curve too,
    # so it is interrupted by a callback rather than by a shorter config
    kw = {"epochs": 4, "patience": 10, **recipe}
    model, train, val, tc, lf = setup(**kw)
    lrs = []
    first = fit(
        model, train, val, tc, loss_fn=lf, callbacks=[lambda e, logs: lrs.append(logs["lr"])]
    )
    straight = {k: v.clone() for k, v in model.state_dict().items()}
    if recipe:
        assert len(set(lrs)) > 1, "the schedule must move the lr for the test to mean anything"

    class Killed(Exception):
        pass

    def kill_after_2(epoch, logs):
        if epoch == 1:
            raise Killed

    model, train, val, tc, lf = setup(**kw)
    with pytest.raises(Killed):
        fit(model, train, val, tc, loss_fn=lf, checkpoint_dir=tmp_path, callbacks=[kill_after_2])
    torch.manual_seed(12345)  # a fresh process would have other RNG state: resume restores it
    model, train, val, tc, lf = setup(**kw)
    resumed = []
    hist = fit(model, train, val, tc, loss_fn=lf, checkpoint_dir=tmp_path, resume=True,
               callbacks=[lambda e, logs: resumed.append(logs["lr"])])  # fmt: skip
    assert hist.epochs_run == 4 and len(hist.val_loss) == 4
    assert resumed == lrs[2:]
    assert hist.train_loss == first.train_loss and hist.val_loss == first.val_loss
    for k, v in model.state_dict().items():
        torch.testing.assert_close(v, straight[k], atol=0, rtol=0)


def test_lr_follows_the_cosine_curve_per_batch():
    from attnlib.optim import cosine_with_warmup

    model, train, val, tc, lf = setup(epochs=3, patience=10, schedule="cosine", warmup=0.2)
    steps = len(train)  # 5 batches per epoch, 15 steps, 3 of warm-up
    seen = []
    fit(model, train, val, tc, loss_fn=lf, callbacks=[lambda e, logs: seen.append(logs["lr"])])
    want = [tc.lr * cosine_with_warmup((e + 1) * steps, 3 * steps, 3) for e in range(3)]
    assert seen[:2] == pytest.approx(want[:2]) and seen[2] == 0.0


def test_early_stopping_watches_val_loss_fn(monkeypatch):
    model, train, val, tc, lf = setup(epochs=2, patience=10)
    used = []
    monkeypatch.setattr(T, "evaluate_loss", lambda m, b, f, d=None: used.append(f) or 1.0)
    plain = loss_fn(model.config)
    fit(model, train, val, tc, loss_fn=lf, val_loss_fn=plain)
    assert used == [plain, plain]


def test_checkpoint_loads_without_unpickling_code(tmp_path):
    model, train, val, tc, lf = setup(epochs=1)
    fit(model, train, val, tc, loss_fn=lf, checkpoint_dir=tmp_path)
    torch.load(tmp_path / CHECKPOINT, weights_only=True)  # raises if anything but plain data


def test_nan_loss_stops_with_clear_error(tmp_path):
    model, train, val, tc, lf = setup(epochs=3)

    def bad_loss(out, y):
        return lf(out, y) * float("nan")

    with pytest.raises(TrainingError, match="loss became nan in epoch 1"):
        fit(model, train, val, tc, loss_fn=bad_loss, checkpoint_dir=tmp_path)


def _train_in_fresh_process(seed: int, env: dict) -> str:
    """SHA-256 of every trained weight, from a new interpreter (fresh RNG and allocator state)."""
    code = (
        "import sys, hashlib; sys.path.insert(0, 'tests/attnlib'); from test_train import *;"
        f"m, tr, va, tc, lf = setup(seed={seed}, epochs=2); fit(m, tr, va, tc, loss_fn=lf);"
        "h = hashlib.sha256();"
        "[h.update(v.detach().numpy().tobytes()) for v in m.state_dict().values()];"
        "print(h.hexdigest())"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    return run.stdout.strip()


def test_same_seed_same_weights_across_processes(one_thread_env):
    first, second, other_seed = (_train_in_fresh_process(s, one_thread_env) for s in (0, 0, 1))
    assert len(first) == 64 and first == second
    assert other_seed != first
