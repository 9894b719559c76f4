"""The data-aware `auto` rules: deterministic, driven by the data's shape, and logged."""

import torch

from attnlib.auto import (
    DataProfile,
    auto_metrics,
    resolve_search,
    resolve_train,
    resolve_val,
    val_share,
)
from attnlib.data import SequenceData

MODELS = ("lstm_attention", "bilstm_attention", "cnn_bilstm_attention", "alstm_fcn")
AUTO_TRAIN = {"name": "auto", "batch_size": "auto", "epochs": "auto", "patience": "auto",
              "select": "auto", "schedule": "auto", "refit": "auto", "ensemble": "auto",
              "embedding_dropout": "auto", "locked_dropout": "auto", "weight_drop": "auto",
              "label_smoothing": "auto",
              "lr": 0.003}  # fmt: skip


def profile(task="classify", kind="numeric", n=50, length=150, channels=1, targets=None):
    return DataProfile(task, kind, n, float(length), length, n_targets=targets or n,
                       channels=channels if kind == "numeric" else 0)  # fmt: skip


def test_profile_reads_the_data():
    x = torch.zeros(4, 7, 3)
    data = SequenceData(x, torch.tensor([7, 5, 3, 1]), torch.zeros(4, dtype=torch.long))
    p = DataProfile.of("classify", data, num_classes=2)
    assert (p.input_kind, p.n_train, p.max_length, p.channels) == ("numeric", 4, 7, 3)
    assert p.n_targets == 4  # one per sequence
    assert p.mean_length == 4.0
    tokens = SequenceData(torch.ones(2, 5, dtype=torch.long), torch.tensor([5, 2]), torch.zeros(2))
    assert DataProfile.of("classify", tokens, vocab_size=9).input_kind == "tokens"
    steps = SequenceData.next_state([[3, 4, 5, 6], [3, 4]])
    assert DataProfile.of("next_state", steps, vocab_size=7).n_targets == 3 + 1  # per step


def test_architecture_follows_task_and_input():
    def name(**kw):
        return resolve_train(profile(**kw), AUTO_TRAIN, MODELS)[0]["name"]

    assert name(task="next_state", kind="tokens") == "lstm_attention"
    assert name(task="classify", kind="tokens") == "bilstm_attention"
    assert name(task="classify", kind="numeric") == "alstm_fcn"
    assert name(task="forecast", kind="numeric") == "lstm_attention"
    # an unregistered model is never picked
    out, _ = resolve_train(profile(), AUTO_TRAIN, MODELS[:3])
    assert out["name"] == "cnn_bilstm_attention"


def test_small_data_gets_small_batches_many_epochs_and_a_refit():
    small, _ = resolve_train(profile(n=40), AUTO_TRAIN, MODELS)
    large, _ = resolve_train(profile(n=5000, kind="tokens"), AUTO_TRAIN, MODELS)
    assert small["batch_size"] == 8 and large["batch_size"] == 64
    # few sequences but many predicted steps: validation can steer, no refit
    lm, _ = resolve_train(profile(task="next_state", kind="tokens", n=280, targets=25000),
                          AUTO_TRAIN, MODELS)  # fmt: skip
    assert lm["refit"] is False and lm["batch_size"] == 16
    assert small["epochs"] > large["epochs"] >= 30
    assert small["patience"] == small["epochs"] // 5 and large["patience"] >= 5
    assert small["refit"] is True and large["refit"] is False
    steps = small["epochs"] * -(-40 // small["batch_size"])
    assert steps >= 2000


def test_small_classification_selects_on_training_loss_then_refits():
    def chosen(**kw):
        out, made = resolve_train(profile(**kw), AUTO_TRAIN, MODELS)
        why = {c.key: c.why for c in made}
        assert out["schedule"] == ("cosine" if out["select"] == "train" else "none")
        return out["select"], out["refit"], why["select"], why["refit"]

    small, why = chosen(n=40)[:2], chosen(n=40)[2]
    assert small == ("train", True) and "40 < 500" in why
    assert chosen(n=499, kind="tokens")[:2] == ("train", True)  # a rule on size, any input
    assert chosen(n=500)[:2] == ("val", False)
    # the other tasks keep validation early stopping however small their data
    # forecasting: early stopped on validation, then refitted on every window before the
    # test split
    assert chosen(task="forecast", n=100)[:2] == ("val", True)
    assert "every window before the test split" in chosen(task="forecast", n=100)[3]
    # select: train set by hand: the general rule (a refit) comes before the task's
    out, made = resolve_train(profile(task="forecast", n=100),
                              {**AUTO_TRAIN, "select": "train"}, MODELS)  # fmt: skip
    why = {c.key: c.why for c in made}
    assert out["refit"] is True and "training loss" in why["refit"]
    assert chosen(task="next_state", kind="tokens", n=40)[:2] == ("val", False)
    # set by hand: kept, and the refit follows what was set
    out, _ = resolve_train(profile(n=40), {**AUTO_TRAIN, "select": "val"}, MODELS)
    assert (out["select"], out["refit"]) == ("val", False)


def test_values_set_by_hand_are_kept_and_every_choice_is_explained():
    given = {**AUTO_TRAIN, "name": "bilstm_attention", "batch_size": 32}
    out, made = resolve_train(profile(n=40), given, MODELS)
    assert out["name"] == "bilstm_attention" and out["batch_size"] == 32
    assert out["lr"] == 0.003
    assert {c.key for c in made} == {
        "epochs",
        "patience",
        "select",
        "schedule",
        "refit",
        "ensemble",
        "embedding_dropout",
        "locked_dropout",
        "weight_drop",
        "label_smoothing",
    }
    assert all(c.why and c.line().startswith(c.key) for c in made)
    # the epoch budget follows the hand-set batch size: 40 / 32 -> 2 batches an epoch
    assert out["epochs"] == 1000


def test_rules_are_deterministic():
    a = resolve_train(profile(n=123), AUTO_TRAIN, MODELS)
    b = resolve_train(profile(n=123), AUTO_TRAIN, MODELS)
    assert a == b


def test_validation_share_grows_on_small_data():
    assert val_share(60).value == 0.2
    assert val_share(5000).value == 0.1
    assert val_share(144, sequences=False).value == 0.1  # one series: whole horizons
    assert resolve_val(0.3, 60) == (0.3, None)  # set by hand
    assert resolve_val("auto", 60)[0] == 0.2


def test_small_data_averages_several_members():
    def members(**kw):
        return resolve_train(profile(**kw), AUTO_TRAIN, MODELS)[0]["ensemble"]

    assert members(n=50) == 3  # a UCR-sized set
    assert members(n=5000, kind="tokens") == 3  # a few thousand questions
    assert members(n=60_000, kind="tokens") == 1  # enough data: one model
    # next-state: streaming keeps one model's state, however small the data
    assert members(task="next_state", kind="tokens", n=200, targets=10_000) == 1
    out, _ = resolve_train(profile(n=50), {**AUTO_TRAIN, "ensemble": 1}, MODELS)
    assert out["ensemble"] == 1  # set by hand


def test_token_classification_smooths_its_targets_and_nothing_else_does():
    def eps(**kw):
        out, made = resolve_train(profile(**kw), AUTO_TRAIN, MODELS)
        assert {c.key: c.why for c in made}["label_smoothing"]
        return out["label_smoothing"]

    assert eps(task="classify", kind="tokens", n=5000) == 0.1
    assert eps(task="classify", kind="numeric", n=50) == 0.0
    assert eps(task="next_state", kind="tokens", n=280, targets=25000) == 0.0
    assert eps(task="forecast", kind="numeric", n=100) == 0.0
    out, _ = resolve_train(profile(kind="tokens"), {**AUTO_TRAIN, "label_smoothing": 0.2},
                           MODELS)  # fmt: skip
    assert out["label_smoothing"] == 0.2  # set by hand


def test_language_models_get_awd_dropout_and_other_tasks_none():
    keys = ("embedding_dropout", "locked_dropout", "weight_drop")

    def rates(**kw):
        out, made = resolve_train(profile(**kw), AUTO_TRAIN, MODELS)
        why = {c.key: c.why for c in made}
        assert all(why[k] for k in keys)
        return tuple(out[k] for k in keys)

    emb, locked, weight = rates(task="next_state", kind="tokens", n=300, targets=25_000)
    assert 0 < emb < locked < 0.5 and 0 <= weight < 1
    assert rates(task="classify", kind="tokens", n=5000) == (0.0, 0.0, 0.0)
    assert rates(task="classify", kind="numeric") == (0.0, 0.0, 0.0)
    assert rates(task="forecast", kind="numeric") == (0.0, 0.0, 0.0)
    given = {**AUTO_TRAIN, "embedding_dropout": 0.0, "locked_dropout": 0.5}
    out, _ = resolve_train(profile(task="next_state", kind="tokens"), given, MODELS)
    assert (out["embedding_dropout"], out["locked_dropout"]) == (0.0, 0.5)  # set by hand


def test_regularised_training_gets_a_longer_budget_and_the_same_patience():
    lm = profile(task="next_state", kind="tokens", n=400, targets=60_000)  # 13 batches/epoch
    awd, made = resolve_train(lm, AUTO_TRAIN, MODELS)
    off = {**AUTO_TRAIN, "locked_dropout": 0.0, "weight_drop": 0.0}
    plain, _ = resolve_train(lm, off, MODELS)
    assert plain["epochs"] == 154 and awd["epochs"] == 3 * 154
    assert awd["patience"] == plain["patience"] == 30
    assert "x3" in {c.key: c.why for c in made}["epochs"]
    # a hand-set rate counts too, and the 1,000-epoch cap holds
    tiny = profile(task="next_state", kind="tokens", n=8, targets=600)
    assert resolve_train(tiny, off, MODELS)[0]["epochs"] == 1000
    assert resolve_train(tiny, {**off, "weight_drop": 0.2}, MODELS)[0]["epochs"] == 1000
    hand = resolve_train(lm, {**off, "weight_drop": 0.2}, MODELS)[0]
    assert hand["epochs"] == 3 * 154


def test_search_runs_only_where_validation_can_rank_trials():
    assert resolve_search("auto", profile(n=40), 6, 8)[0] is False
    assert resolve_search("auto", profile(n=5000), 6, 64)[0] is True  # 79 batches x 6
    assert resolve_search(True, profile(n=40), 6, 8) == (True, None)


def test_search_needs_trials_long_enough_to_rank_where_training_ends():
    # a corpus of 244 sequences with 20,000 predicted steps: 16 batches an epoch
    lm = profile(task="next_state", kind="tokens", n=244, targets=20_000)
    off, why = resolve_search("auto", lm, 6, 16)
    assert off is False and "96 optimiser steps" in why.why and "search.epochs" in why.why
    assert resolve_search("auto", lm, 12, 16)[0] is False  # 192 steps a trial
    assert resolve_search("auto", lm, 13, 16)[0] is True  # 208 steps a trial
    assert resolve_search(True, lm, 6, 16) == (True, None)  # set by hand


def test_auto_choices_reach_train_json():
    _, made = resolve_train(profile(n=40), AUTO_TRAIN, MODELS)
    meta = {"auto": [{"key": "split.val", "value": 0.2, "why": "small"}]}
    out = auto_metrics(made, meta)
    assert out["auto"]["split.val"] == 0.2 and out["auto"]["name"] == "alstm_fcn"
    assert set(out["auto_why"]) == set(out["auto"])
    assert auto_metrics([]) == {}


def test_a_whole_budget_of_long_series_is_capped_in_series_steps():
    # select: train runs every epoch: 80 series of 1,460 steps would take 200 epochs (23 M
    # series-steps); the cap keeps 8 M of them and says so
    out, made = resolve_train(profile(n=80, length=1460), AUTO_TRAIN, MODELS)
    why = {c.key: c.why for c in made}["epochs"]
    assert out["select"] == "train" and out["epochs"] == 8_000_000 // (80 * 1460) == 68
    assert out["patience"] == 68 // 5 and "8 M series-steps (80 series x 1460 steps" in why
    assert "min_steps" not in why and "cut" in {c.key: c.why for c in made}["patience"]
    # ... but never under train.min_steps optimiser steps (10 batches an epoch here), which
    # fit would raise it to anyway (attnlib.train.budget): train.json records what runs
    floor, _ = resolve_train(profile(n=80, length=1460), {**AUTO_TRAIN, "min_steps": 1000},
                             MODELS)  # fmt: skip
    assert floor["epochs"] == 100 and floor["patience"] == 20
    # a hand-set min_steps above the step rule's budget: nothing to cut, and none said
    high, made = resolve_train(profile(n=80, length=1460), {**AUTO_TRAIN, "min_steps": 5000},
                               MODELS)  # fmt: skip
    assert high["epochs"] == 200 and "cut" not in {c.key: c.why for c in made}["epochs"]
    from attnlib.config import TrainConfig
    from attnlib.train import budget

    runs = budget(TrainConfig(epochs=floor["epochs"], patience=floor["patience"], min_steps=1000),
                  10)  # fmt: skip
    assert runs == (floor["epochs"], floor["patience"])  # 68 epochs would have run 100
    # short series keep the step rule (GunPoint's shape: 40 x 150 over 400 epochs)
    assert resolve_train(profile(n=40, length=150), AUTO_TRAIN, MODELS)[0]["epochs"] == 400
    # validation early stopping ends a budget by itself: no cap
    val, _ = resolve_train(profile(n=80, length=1460), {**AUTO_TRAIN, "select": "val"}, MODELS)
    assert val["epochs"] == 200
    # the cap never goes under MIN_EPOCHS
    huge, _ = resolve_train(profile(n=400, length=20_000), AUTO_TRAIN, MODELS)
    assert huge["epochs"] == 10
