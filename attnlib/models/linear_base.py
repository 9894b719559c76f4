"""A forecast's linear base: ridge regression on the input window, under the network.

LSTNet's "highway" (Lai et al. 2018, "Modeling Long- and Short-Term Temporal Patterns with
Deep Neural Networks") adds a linear autoregressive term to the network's forecast: a
neural output is insensitive to the scale of its input, a linear term is not, and on the
short series forecasting meets (a few hundred windows) a linear model of the window is a
strong forecaster of its own (DLinear, Zeng et al. 2023). Here the term is fitted first,
in closed form: ridge regression of the targets on the ``lookback`` x ``channels`` window
values of the training windows, its penalty the one of :data:`PENALTIES` with the lowest
validation MSE. It is then fixed (no gradient), and the head's output layer starts at
zero, so training starts from the linear forecast and the network learns what it leaves;
validation early stopping still picks the epoch. The term reads the window as encoded
(standardised), before ``local_level`` takes the level away from the network, so the
linear forecast keeps it.
"""

from __future__ import annotations

import torch
from torch import nn

from attnlib.config import ModelConfig
from attnlib.data import SequenceData

PENALTIES = (1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)  # ridge penalties tried on validation


class LinearBase(nn.Module):
    """(B, lookback, C) window -> (B, horizon, targets) linear forecast."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.steps, self.shape = cfg.lookback, (cfg.horizon, cfg.num_targets)
        self.linear = nn.Linear(cfg.lookback * cfg.input_dim, cfg.horizon * cfg.num_targets)
        nn.init.zeros_(self.linear.weight)  # unfitted, it adds nothing
        nn.init.zeros_(self.linear.bias)
        self.linear.requires_grad_(False)  # fitted by fit_linear_base, never by the optimiser

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x[:, -self.steps :, :].flatten(1)).view(-1, *self.shape)


def linear_base(cfg: ModelConfig) -> LinearBase | None:
    """The model's linear base if its config asks for one (``linear_base``), else None."""
    return LinearBase(cfg) if cfg.linear_base else None


def _design(data: SequenceData, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(W, steps * C) window values and (W, horizon * targets) targets, float64."""
    x = data.x.to(torch.float64)
    return x[:, -steps:, :].flatten(1), data.y.to(torch.float64).flatten(1)


def ridge(x: torch.Tensor, y: torch.Tensor, penalty: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Ridge regression with an unpenalised intercept: (weights (F, O), bias (O,))."""
    mx, my = x.mean(0), y.mean(0)
    xc = x - mx
    gram = xc.T @ xc + penalty * torch.eye(x.shape[1], dtype=x.dtype)
    w = torch.linalg.solve(gram, xc.T @ (y - my))
    return w, my - mx @ w


def fit_linear_base(model: nn.Module, train: SequenceData, val: SequenceData) -> dict:
    """Fit ``model``'s linear base on the training windows (penalty chosen on validation),
    fix it, and zero the head's output layer, so the model starts as the linear forecast.

    A model without a base is left as it is. Returns ``{"penalty", "val_mse"}`` (the base's
    validation MSE in the standardised target units, the units of the training loss), or
    ``{}`` without a base.
    """
    base = getattr(model, "linear_base", None)
    if base is None:
        return {}
    xt, yt = _design(train, base.steps)
    xv, yv = _design(val, base.steps)
    best = None
    for penalty in PENALTIES:
        w, b = ridge(xt, yt, penalty)
        mse = float(((xv @ w + b - yv) ** 2).mean())
        if best is None or mse < best[0]:
            best = (mse, penalty, w, b)
    mse, penalty, w, b = best
    with torch.no_grad():
        base.linear.weight.copy_(w.T.to(base.linear.weight.dtype))
        base.linear.bias.copy_(b.to(base.linear.bias.dtype))
    model.head.zero_output()  # the forecast head (PooledHead) adds nothing until it trains
    return {"penalty": penalty, "val_mse": mse}
