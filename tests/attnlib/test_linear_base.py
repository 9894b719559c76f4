"""A forecast's linear base: the ridge fit, the model's start, fixed in training, ONNX."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attnlib.auto import DataProfile, resolve_train
from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import Batches, SequenceData
from attnlib.errors import ConfigError
from attnlib.export import export_onnx, parity_check
from attnlib.fitting import build_and_fit, train_metrics
from attnlib.models import build_model
from attnlib.models.linear_base import (
    PENALTIES,
    backtest,
    fit_linear_base,
    refit_linear_base,
    ridge,
    rolling_origins,
)

L, H = 8, 3
TINY = dict(embedding_dim=8, hidden_dim=8)


def _cfg(**kw) -> ModelConfig:
    base = dict(name="lstm_attention", task="forecast", input_kind="numeric", input_dim=2,
                horizon=H, lookback=L, linear_base=True, **TINY)  # fmt: skip
    return ModelConfig(**{**base, **kw})


def _ar_windows(n: int, seed: int, noise: float = 0.05) -> SequenceData:
    """Windows of an AR(2) series (channel 0) beside noise (channel 1); targets: the next H
    values of channel 0, each a fixed linear function of the window plus noise."""
    g = np.random.default_rng(seed)
    s = np.zeros(n + L + H + 50)
    for t in range(2, len(s)):
        s[t] = 1.6 * s[t - 1] - 0.8 * s[t - 2] + g.normal()  # a damped cycle
    s = s[50:]
    x = np.stack([s, g.normal(size=len(s))], axis=1).astype(np.float32)  # (N, 2)
    wins = [x[i : i + L] for i in range(n)]
    y = np.stack([x[i + L : i + L + H, :1] for i in range(n)])  # (n, H, 1)
    y = y + noise * g.normal(size=y.shape).astype(np.float32)
    return SequenceData.numeric(wins, y.astype(np.float32))


def test_ridge_recovers_a_linear_map():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(500, 6, generator=g, dtype=torch.float64)
    w_true = torch.randn(6, 2, generator=g, dtype=torch.float64)
    w, b = ridge(x, x @ w_true + 3.0, penalty=1e-6)
    assert torch.allclose(w, w_true, atol=1e-6)
    assert torch.allclose(b, torch.full((2,), 3.0, dtype=torch.float64))


def test_model_starts_as_the_ridge_forecast_with_the_penalty_validation_picks():
    train, val = _ar_windows(300, seed=1), _ar_windows(60, seed=2)
    torch.manual_seed(0)
    model = build_model(_cfg()).eval()
    info = fit_linear_base(model, train, val)
    xt, yt = train.x.double().flatten(1), train.y.double().flatten(1)
    xv, yv = val.x.double().flatten(1), val.y.double().flatten(1)
    scores = backtest(xt, yt, xv, yv, horizon=H)
    # an AR(2) process: the window predicts the targets, so the backtest keeps a base
    assert info["backtest_mse"] == min(scores[p] for p in PENALTIES) < info["no_base_mse"]
    assert info["no_base_mse"] == scores[None]
    mses = {}
    for p in PENALTIES:
        w, b = ridge(xt, yt, p)
        mses[p] = float(((xv @ w + b - yv) ** 2).mean())
    assert info["penalty"] == min(mses, key=mses.get)
    assert info["val_mse"] == pytest.approx(mses[info["penalty"]])
    w, b = ridge(xt, yt, info["penalty"])
    with torch.no_grad():
        out = model(val.x, val.lengths)  # (W, H, 1): the head's output layer starts at zero
    assert torch.allclose(out.double().flatten(1), xv @ w + b, atol=1e-4)
    # an AR(2) process: the linear forecast is near the noise floor one step ahead
    assert float(((out[:, 0, 0] - val.y[:, 0, 0]) ** 2).mean()) < 1.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_no_base_where_the_windows_relation_to_the_targets_does_not_last(seed):
    """The targets follow the window's last value, then its negative from the middle of the
    training windows on: the earlier fits forecast the later windows with the wrong sign
    and a fit on all of them cancels out, so no penalty beats zero over the backtest, the
    term stays zero and the network starts as built (its output layer not zeroed)."""
    g = np.random.default_rng(seed)
    x = g.normal(size=(120, L, 2)).astype(np.float32)
    sign = np.where(np.arange(120) < 50, 1.0, -1.0)[:, None, None]
    y = (sign * x[:, -1:, :1] + 0.1 * g.normal(size=(120, H, 1))).astype(np.float32)
    train = SequenceData.numeric(list(x[:100]), y[:100])
    val = SequenceData.numeric(list(x[100:]), y[100:])
    torch.manual_seed(0)
    model = build_model(_cfg())
    info = fit_linear_base(model, train, val)
    assert info["penalty"] is None
    assert info["backtest_mse"] >= info["no_base_mse"]  # the best penalty's
    assert not model.linear_base.linear.weight.any() and not model.linear_base.linear.bias.any()
    assert model.head.mlp[-1].weight.abs().sum() > 0


@pytest.mark.parametrize(("windows", "horizon"), [(55, 12), (41, 12), (300, 3), (20, 1)])
def test_rolling_origins_fit_only_on_targets_before_the_windows_they_score(windows, horizon):
    folds = rolling_origins(windows, horizon)
    assert folds, "a series this long has at least one origin"
    for fit, score in folds:
        assert fit.start == 0 and fit.stop >= 8
        # window j's targets are steps j + lookback .. j + lookback + horizon - 1
        assert (fit.stop - 1) + horizon <= score.start < score.stop <= windows
    starts = [score.start for _, score in folds]
    assert starts == sorted(starts) and folds[-1][1].stop == windows


def test_the_base_is_fixed_while_the_network_trains_and_train_json_reports_it():
    train, val = _ar_windows(120, seed=3), _ar_windows(30, seed=4)
    cfg = _cfg()
    t_cfg = TrainConfig(epochs=3, batch_size=16, lr=0.01, patience=3, seed=0)
    torch.manual_seed(0)
    fresh = build_model(cfg)
    fit_linear_base(fresh, train, val)
    model, hist = build_and_fit(cfg, t_cfg, train, val)
    assert torch.equal(model.linear_base.linear.weight, fresh.linear_base.linear.weight)
    assert not any(p.requires_grad for p in model.linear_base.parameters())
    assert model.head.mlp[-1].weight.abs().sum() > 0  # the network's part has trained
    metrics = train_metrics(cfg, hist)
    assert set(metrics["linear_base"]) == {
        "penalty",
        "val_mse",
        "backtest_penalty",
        "backtest_mse",
        "no_base_mse",
    }
    assert metrics["linear_base"]["penalty"] in PENALTIES


def test_the_base_reads_the_level_that_local_level_hides_from_the_network():
    train, val = _ar_windows(100, seed=5), _ar_windows(20, seed=6)
    torch.manual_seed(0)
    model = build_model(_cfg(local_level=True)).eval()
    fit_linear_base(model, train, val)
    torch.nn.init.normal_(model.head.mlp[-1].weight)  # a network part that is not zero
    x, lengths = val.x, val.lengths
    with torch.no_grad():
        shift = model(x + 1.0, lengths) - model(x, lengths)
        base_shift = model.linear_base(x + 1.0) - model.linear_base(x)
    assert base_shift.abs().max() > 1e-3  # the base sees the level
    assert torch.allclose(shift, base_shift, atol=1e-5)  # the network does not


def test_onnx_export_keeps_the_base(tmp_path):
    train, val = _ar_windows(100, seed=7), _ar_windows(20, seed=8)
    torch.manual_seed(0)
    model = build_model(_cfg())
    assert fit_linear_base(model, train, val)["penalty"] in PENALTIES  # a base is kept
    torch.nn.init.normal_(model.head.mlp[-1].weight)
    example = next(iter(Batches(val, batch_size=4)))
    path = export_onnx(model, tmp_path / "model.onnx", example=example)
    assert parity_check(model, path, Batches(val, batch_size=7)) <= 1e-4


def test_linear_base_needs_a_forecast_window():
    with pytest.raises(ValueError, match="linear_base.*task forecast"):
        _cfg(task="classify", horizon=1, lookback=0)
    with pytest.raises(ValueError, match="re-run the encode stage"):
        _cfg(lookback=0)


def test_auto_turns_it_on_and_classifiers_and_next_state_models_get_a_partner_instead():
    from attnlib.config import ModelConfig
    from attnlib.models import build_model

    for task, kind, on in (("forecast", "numeric", True), ("classify", "numeric", True),
                           ("next_state", "tokens", True)):  # fmt: skip
        p = DataProfile(task, kind, n_train=200, mean_length=24.0, max_length=24, n_targets=200)
        out, made = resolve_train(p, {"linear_base": "auto"}, ("lstm_attention",))
        assert out["linear_base"] is on
        assert [c.key for c in made] == ["linear_base"] and made[0].why
    series = build_model(ModelConfig(name="alstm_fcn", task="classify", input_kind="numeric",
                                     input_dim=1,
                                     linear_base=True, kernel_length=24))  # fmt: skip
    assert series.linear_base is None and series.partner is not None
    chords = build_model(ModelConfig(task="next_state", vocab_size=9, linear_base=True))
    assert chords.linear_base is None and chords.partner is not None


def test_a_config_without_a_window_length_is_refused_by_name():
    from attnlib.config import train_configs

    with pytest.raises(ConfigError, match="'train'.*linear_base.*re-run the encode stage"):
        fields = {"input_kind": "numeric", "input_dim": 1, "horizon": 2}  # no lookback
        train_configs({"linear_base": True}, task="forecast", seed=0, data_fields=fields)


def test_an_ensembles_train_json_reports_its_members_base():
    from attnlib.ensemble import Ensemble, ensemble_metrics
    from attnlib.train import History

    train, val = _ar_windows(60, seed=9), _ar_windows(20, seed=10)
    cfg = _cfg()
    members, hists = [], []
    for k in range(2):
        torch.manual_seed(k)
        m = build_model(cfg)
        hists.append(History(best_val_loss=1.0, best_epoch=0, train_loss=[1.0],
                             linear_base=fit_linear_base(m, train, val)))  # fmt: skip
        members.append(m)
    metrics = ensemble_metrics(cfg, Ensemble(members), hists, val)
    assert metrics["linear_base"] == hists[0].linear_base
    assert all(m["linear_base"] == hists[0].linear_base for m in metrics["members"])


def test_a_refits_base_keeps_the_decision_and_penalty_and_fits_the_whole_history():
    train, val = _ar_windows(200, seed=7), _ar_windows(40, seed=8)
    history = SequenceData.concat(train, _ar_windows(60, seed=9))
    torch.manual_seed(0)
    first, refitted = build_model(_cfg()), build_model(_cfg())
    info = fit_linear_base(first, train, val)
    refit_linear_base(refitted, history, info["penalty"])
    w, b = ridge(history.x.double().flatten(1), history.y.double().flatten(1), info["penalty"])
    lin = refitted.linear_base.linear
    assert torch.allclose(lin.weight.double(), w.T, atol=1e-5)
    assert torch.allclose(lin.bias.double(), b, atol=1e-5)
    assert not torch.allclose(lin.weight, first.linear_base.linear.weight, atol=1e-5)

    assert torch.equal(refitted.head.mlp[-1].weight, torch.zeros_like(refitted.head.mlp[-1].weight))
    untouched = build_model(_cfg())  # no base kept by the first fit: left as built
    state = {k: v.clone() for k, v in untouched.state_dict().items()}
    refit_linear_base(untouched, history, None)
    assert all(torch.equal(v, untouched.state_dict()[k]) for k, v in state.items())
