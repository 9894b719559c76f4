"""build_and_fit and the refit on train + validation that small data gets."""

from dataclasses import replace

import pytest
import torch

import attnlib.fitting as F
from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import SequenceData
from attnlib.fitting import build_and_fit, train_metrics

V = 12
CFG = ModelConfig(vocab_size=V, embedding_dim=8, hidden_dim=8, num_layers=1)


def data(seed, n):
    g = torch.Generator().manual_seed(seed)
    seqs = [[2 + (i + j) % (V - 2) for j in range(int(torch.randint(3, 12, (1,), generator=g)))]
            for i in range(n)]  # fmt: skip
    return SequenceData.next_state(seqs)


def tc(**kw):
    return TrainConfig(**{"batch_size": 8, "lr": 1e-2, "epochs": 6, "patience": 2,
                          "progress": False, **kw})  # fmt: skip


def test_concat_pads_to_the_longer_and_keeps_targets_aligned():
    a, b = data(1, 5), data(2, 3)
    both = SequenceData.concat(a, b)
    assert len(both) == 8 and both.y_per_step
    T = max(a.x.shape[1], b.x.shape[1])
    assert both.x.shape[1] == both.y.shape[1] == T
    assert torch.equal(both.x[:5, : a.x.shape[1]], a.x) and torch.equal(both.lengths[5:], b.lengths)
    assert (both.x[:5, a.x.shape[1] :] == 0).all()  # padding, never a token
    series = SequenceData(torch.ones(2, 4, 3), torch.tensor([4, 2]), torch.tensor([0, 1]))
    short = SequenceData(torch.ones(1, 2, 3), torch.tensor([2]), torch.tensor([1]))
    mixed = SequenceData.concat(short, series)
    assert mixed.x.shape == (3, 4, 3) and mixed.y.tolist() == [1, 0, 1]


def test_refit_trains_on_train_and_val_for_the_chosen_epochs(monkeypatch):
    train, val = data(1, 40), data(2, 16)
    seen = []
    real_fit = F.fit

    def spy(model, batches, val_batches, config, **kw):
        seen.append((len(batches.data), config.patience))
        return real_fit(model, batches, val_batches, config, **kw)

    monkeypatch.setattr(F, "fit", spy)
    plain, hist = build_and_fit(CFG, tc(), train, val)
    refitted, hist_r = build_and_fit(CFG, tc(refit=True), train, val)
    assert seen[0] == (40, 2) and seen[2][0] == 40 + 16  # the refit sees train + val
    assert hist_r.refit_epochs == hist_r.best_epoch + 1 == hist.best_epoch + 1
    assert train_metrics(CFG, hist_r)["refit_epochs"] == hist_r.refit_epochs
    assert "refit_epochs" not in train_metrics(CFG, hist)
    pairs = zip(plain.state_dict().values(), refitted.state_dict().values(), strict=True)
    assert any(
        not torch.equal(p, q) for p, q in pairs
    )  # a new model trained on more data, not the early-stopped one


def test_a_refit_trains_on_the_tasks_refit_data_where_given(monkeypatch):
    train, val, history = data(1, 40), data(2, 16), data(3, 70)
    seen = []
    real_fit = F.fit

    def spy(model, batches, val_batches, config, **kw):
        seen.append(len(batches.data))
        return real_fit(model, batches, val_batches, config, **kw)

    monkeypatch.setattr(F, "fit", spy)
    _, hist = build_and_fit(CFG, tc(refit=True), train, val, refit_data=history)
    assert seen == [40, 70] and hist.refit_epochs == hist.best_epoch + 1
    # the guard judges both models on that data: a guard no refit passes says so
    judged = []
    real_loss = F.evaluate_loss

    def loss_spy(model, batches, loss):
        judged.append(len(batches.data))
        return real_loss(model, batches, loss)

    monkeypatch.setattr(F, "evaluate_loss", loss_spy)
    monkeypatch.setattr(F, "REFIT_MARGIN", -1e9)
    _, hist = build_and_fit(CFG, tc(refit=True), train, val, refit_data=history)
    assert judged == [70, 70] and "refit data" in hist.refit_rejected


def test_refit_is_deterministic():
    train, val = data(1, 40), data(2, 16)
    a, _ = build_and_fit(CFG, tc(refit=True), train, val)
    b, _ = build_and_fit(CFG, tc(refit=True), train, val)
    for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q)


def test_refit_keeps_the_early_stopped_model_for_calibration():
    import json

    from attnlib.ensemble import heldout_model

    train, val = data(1, 40), data(2, 16)
    plain, hist = build_and_fit(CFG, tc(), train, val)
    refitted, hist_r = build_and_fit(CFG, tc(refit=True), train, val)
    assert hist.heldout_state is None and heldout_model(CFG, [hist]) is None
    start = heldout_model(CFG, [hist_r])  # the model early stopping kept, before the refit
    for p, q in zip(plain.state_dict().values(), start.state_dict().values(), strict=True):
        assert torch.equal(p, q)
    assert not start.training
    assert "heldout_state" not in hist_r.to_dict()  # train.json and model.json stay JSON
    json.dumps(hist_r.to_dict())
    both = heldout_model(CFG, [hist_r, hist_r])
    assert len(both) == 2  # an ensemble's members, in order
    assert heldout_model(CFG, [hist_r, hist]) is None  # a member's weights unknown: none
    mixed = heldout_model(CFG, [hist_r, hist], [refitted, plain])  # a refit discarded
    for p, q in zip(plain.state_dict().values(), mixed.members[1].state_dict().values(),
                    strict=True):  # fmt: skip
        assert torch.equal(p, q)  # that member is its own early-stopped model
    lost = replace(hist_r, heldout_state=None)  # refitted, its start lost (DDP)
    assert heldout_model(CFG, [hist_r, lost], [refitted, refitted]) is None
    # an ensemble's val loss is the early-stopped members' (out of sample), as one model's
    from attnlib.data import Batches
    from attnlib.ensemble import Ensemble, ensemble_metrics
    from attnlib.models import loss_fn
    from attnlib.train import evaluate_loss

    fitted = ensemble_metrics(CFG, Ensemble([refitted, refitted]), [hist_r, hist_r], val, both)
    held = evaluate_loss(plain, Batches(val, 256), loss_fn(CFG), "cpu")
    assert fitted["best_val_loss"] == pytest.approx(held, rel=1e-5)
    assert hist_r.best_val_loss == pytest.approx(held, rel=1e-5)  # a single model's, alike


def test_a_refit_that_fits_train_worse_is_discarded(monkeypatch):
    from attnlib.models import build_model

    train, val = data(1, 40), data(2, 16)
    plain, _ = build_and_fit(CFG, tc(), train, val)
    monkeypatch.setattr(F, "refit", lambda *a: build_model(CFG))  # untrained: a failed refit
    kept, hist = build_and_fit(CFG, tc(refit=True), train, val)
    for p, q in zip(plain.state_dict().values(), kept.state_dict().values(), strict=True):
        assert torch.equal(p, q)  # the early-stopped model, not the refit
    assert hist.refit_epochs == 0 and hist.heldout_state is None  # calibrated on val as usual
    note = train_metrics(CFG, hist)["refit_rejected"]
    assert note.startswith("the refit's loss on the training split") and "kept" in note


def test_select_train_refits_for_the_same_budget_at_the_lowest_training_loss(monkeypatch):
    train, val = data(1, 40), data(2, 16)
    runs = []
    real_fit = F.fit

    def spy(model, batches, val_batches, config, **kw):
        hist = real_fit(model, batches, val_batches, config, **kw)
        runs.append((len(batches.data), config.select, kw.get("max_epochs"), hist))
        return hist

    monkeypatch.setattr(F, "fit", spy)
    first, hist = build_and_fit(CFG, tc(select="train", refit=True, epochs=8, patience=8),
                                train, val)  # fmt: skip
    (n1, sel1, _, h1), (n2, sel2, cap, h2) = runs
    assert (n1, n2) == (40, 40 + 16) and sel1 == sel2 == "train"
    # the first fit ran its whole budget (its training loss was watched, not val's) and
    # the refit got that many epochs, keeping its lowest training loss, not its last epoch
    assert cap == h1.epochs_run == hist.refit_epochs == 8
    assert h2.best_epoch == min(range(h2.epochs_run), key=h2.train_loss.__getitem__)
    assert hist.heldout_state is not None  # the first fit's model calibrates
