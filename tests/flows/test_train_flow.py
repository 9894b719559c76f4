"""train: the final fit trains with the loss the search's trials trained with (train.loss)."""

from __future__ import annotations

import sys

import numpy as np
import optuna
import pytest
from prefect.logging import disable_run_logger
from torch import nn

import attnlib.distributed
import attnlib.fitting
import attnlib.models
import attnlib.search
import flows._fit
from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import SequenceData
from attnlib.errors import ConfigError
from attnlib.search import run_search
from attnlib.search_space import SearchConfig
from flows._params import model_and_train_configs

optuna.logging.set_verbosity(optuna.logging.WARNING)


def windows(n: int, seed: int) -> SequenceData:
    """``n`` forecast windows: 6 steps of 2 channels -> 2 steps of 1 target."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6, 2)).astype(np.float32)
    return SequenceData.numeric(list(x), x[:, -2:, :1].copy())


def _caller() -> str:
    """The module that asked for the loss: the search, or who called the shared fit."""
    frame = sys._getframe(2)  # 0: here, 1: the spy, 2: who asked for the loss
    while frame.f_globals["__name__"] == "attnlib.fitting":
        frame = frame.f_back
    return frame.f_globals["__name__"]


@pytest.fixture
def calls(monkeypatch) -> list[tuple[str, str, object]]:
    """Every loss the search, the flow and a DDP rank build: (caller, train.loss, loss)."""
    made = []
    for module in (attnlib.search, attnlib.fitting):  # the train flow and DDP fit via fitting

        def spy(config, train=None):
            fn = attnlib.models.loss_fn(config, train)
            made.append((_caller(), train.loss if train else "(default)", fn))
            return fn

        monkeypatch.setattr(module, "loss_fn", spy)
    return made


def test_train_loss_is_a_param_of_the_train_section():
    params = {"task": "forecast", "train": {"loss": "huber"}}
    _, train_cfg = model_and_train_configs(params, input_kind="numeric", input_dim=2)
    assert train_cfg.loss == "huber"
    _, default = model_and_train_configs({"task": "forecast"}, input_kind="numeric", input_dim=2)
    assert default.loss == "mse"  # the final fit's loss before the param existed
    with pytest.raises(ConfigError, match="train.loss"):
        model_and_train_configs({"train": {"loss": "l1"}}, vocab_size=5)


@pytest.mark.parametrize("loss", ["huber", "mse"])
def test_search_and_train_fit_with_the_loss_of_train_loss(loss, calls, tmp_path, monkeypatch):
    model_cfg = ModelConfig(task="forecast", input_kind="numeric", input_dim=2, horizon=2,
                            embedding_dim=8, hidden_dim=8)  # fmt: skip
    train_cfg = TrainConfig(loss=loss, epochs=1, progress=False)
    train, val = windows(16, 0), windows(8, 1)
    monkeypatch.chdir(tmp_path)  # DVCLive and checkpoints of the flow's fit
    cfg = SearchConfig.from_params({"n_trials": 1, "epochs": 1, "pruner": "none", "space": {}})
    run_search(cfg, train, val, model=model_cfg, train_config=train_cfg,
               storage=f"sqlite:///{tmp_path / 'study.db'}")  # fmt: skip
    with disable_run_logger():  # the task's body, outside a flow run
        flows._fit.train_model.fn(model_cfg, train_cfg, train, val, resume=False)
    monkeypatch.setattr(
        attnlib.distributed, "read_split", lambda path, task: (None, {"t": train}.get(path, val))
    )
    attnlib.distributed.train_from_spec({
        "train": "t", "val": "v", "task": "forecast", "model": model_cfg.model_dump(),
        "train_config": train_cfg.model_dump(), "out": str(tmp_path / "ddp"),
        "history": str(tmp_path / "ddp.json"),
    })  # fmt: skip
    want = nn.functional.huber_loss if loss == "huber" else nn.functional.mse_loss
    # each builds the training loss and the (plain) validation loss: distinct callers, in order
    assert list(dict.fromkeys((caller, arg) for caller, arg, _ in calls)) == [
        ("attnlib.search", loss), ("flows._fit", loss), ("attnlib.distributed", loss)
    ]  # fmt: skip
    assert all(fn is want for _, _, fn in calls)


def test_a_forecast_loss_for_another_task_is_a_config_error():
    model_cfg = ModelConfig(vocab_size=5)
    assert attnlib.models.loss_fn(model_cfg, TrainConfig()) is not None  # the default
    with pytest.raises(ConfigError, match="train.loss"):
        attnlib.models.loss_fn(model_cfg, TrainConfig(loss="huber"))
    classify = ModelConfig(task="classify", vocab_size=5, num_classes=3)
    with pytest.raises(ConfigError, match="task 'classify'"):
        attnlib.models.loss_fn(classify, TrainConfig(loss="huber"))
