"""A forecast's linear base: ridge regression on the input window, under the network.

LSTNet's "highway" (Lai et al. 2018, "Modeling Long- and Short-Term Temporal Patterns with
Deep Neural Networks") adds a linear autoregressive term to the network's forecast: a
neural output is insensitive to the scale of its input, a linear term is not, and on the
short series forecasting meets (a few hundred windows) a linear model of the window is a
strong forecaster of its own (DLinear, Zeng et al. 2023). Here the term is fitted first,
in closed form: ridge regression of the targets on the ``lookback`` x ``channels`` window
values of the training windows. Whether to have the term at all is decided by a
rolling-origin backtest (:func:`backtest`; Tashman 2000) over the training windows and the
validation windows: the validation windows alone are one or a few horizons of a short
series, too few to decide on (on the lynx series the one validation window preferred a
base that made the test MAE 1.5x the one without). Where no penalty's linear forecast
beats the targets' own zero (the seasonal naive or the last value, for residual targets)
over the backtest, the term stays zero and the network starts from scratch. A kept term's
penalty is the one of :data:`PENALTIES` with the lowest validation MSE: the backtest's
early origins fit on half the windows and favour heavy penalties, which on the airline
series raised the test MAPE from 2.23 to 2.93 (means of 3 seeds, README).
A kept base is then fixed (no gradient), and the head's output layer
starts at zero, so training starts from the linear forecast and the network learns what
it leaves; validation early stopping still picks the epoch. The term reads the window as
encoded (standardised), before ``local_level`` takes the level away from the network, so
the linear forecast keeps it. A refit (``train.refit``) keeps the decision and the penalty
and fits the term on every window before the test split.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from attnlib.config import ModelConfig
from attnlib.data import SequenceData

PENALTIES = (1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)  # ridge penalties tried
ORIGINS = 4  # rolling origins inside the training windows (the validation windows add one)
MIN_FIT = 8  # an origin needs at least this many training windows before it


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
    """The model's linear base if its config asks for one (``linear_base`` with numeric
    input: a forecast's; a classifier's is its n-gram or kernel partner, a next-state
    model's its Kneser-Ney partner), else None."""
    partner = cfg.ngram_partner or cfg.kernel_partner or cfg.kn_partner
    return LinearBase(cfg) if cfg.linear_base and not partner else None


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


def rolling_origins(windows: int, horizon: int) -> list[tuple[slice, slice]]:
    """(fit, score) slices of ``windows`` time-ordered, step-apart training windows: the
    second half is cut into :data:`ORIGINS` blocks, each scored by a fit on the windows whose
    targets all lie before the block's first target (``horizon - 1`` windows left out)."""
    edges = [windows // 2 + (windows - windows // 2) * k // ORIGINS for k in range(ORIGINS + 1)]
    out = []
    for start, end in itertools.pairwise(edges):
        fit_end = start - horizon + 1  # window j's targets end at step j + lookback + H - 1
        if end > start and fit_end >= MIN_FIT:
            out.append((slice(0, fit_end), slice(start, end)))
    return out


def _window_mse(x: torch.Tensor, y: torch.Tensor, fit=None) -> torch.Tensor:
    """(W,) squared error per window of the ridge ``fit`` (weights, bias), or of a zero
    forecast of the targets without one (no base)."""
    pred = x @ fit[0] + fit[1] if fit is not None else torch.zeros_like(y)
    return ((pred - y) ** 2).mean(1)


def backtest(xt, yt, xv, yv, horizon: int, fits=None) -> dict[float | None, float]:
    """Mean squared error per window of each candidate over the rolling origins of the
    training windows and the validation windows (fitted on every training window): each
    penalty of :data:`PENALTIES`, and None, no base (a zero forecast of the targets).

    ``fits``: the ridge fits on every training window per penalty, if already made."""
    fits = fits or {p: ridge(xt, yt, p) for p in PENALTIES}
    folds = [(xt[s], yt[s], {p: ridge(xt[f], yt[f], p) for p in PENALTIES})
             for f, s in rolling_origins(len(xt), horizon)]  # fmt: skip
    folds.append((xv, yv, fits))
    return {k: float(torch.cat([_window_mse(sx, sy, fs.get(k)) for sx, sy, fs in folds]).mean())
            for k in (None, *PENALTIES)}  # fmt: skip


def fit_linear_base(model: nn.Module, train: SequenceData, val: SequenceData) -> dict:
    """Fit ``model``'s linear base on the training windows (whether at all: :func:`backtest`;
    its penalty: the validation windows), fix it, and zero the head's output layer, so the
    model starts as the linear forecast. Where the backtest finds no penalty better than no
    base, the term stays zero and the head is left as built. A refit sets its base with
    :func:`refit_linear_base`.

    Returns ``{"penalty", "val_mse", "backtest_penalty", "backtest_mse", "no_base_mse"}``:
    ``penalty`` the kept term's (None: the backtest kept none), ``val_mse`` its forecast's
    MSE on validation, ``backtest_mse`` that of the backtest's best penalty
    (``backtest_penalty``), ``no_base_mse`` a zero forecast's; MSEs in the standardised
    target units, the units of the training loss. For level targets (``delta`` 0) the zero
    forecast is the train part's mean, which the scaling took from every training step, the
    scored blocks included: an edge to no base, not measured. A model built without the
    term (``linear_base`` false) is left as it is and gets ``{}``.
    """
    base = getattr(model, "linear_base", None)
    if base is None:
        return {}
    xt, yt = _design(train, base.steps)
    xv, yv = _design(val, base.steps)
    fits = {p: ridge(xt, yt, p) for p in PENALTIES}  # on every training window
    scores = backtest(xt, yt, xv, yv, horizon=base.shape[0], fits=fits)
    best = min(PENALTIES, key=scores.get)
    info = {"backtest_penalty": best, "backtest_mse": scores[best], "no_base_mse": scores[None]}
    if scores[best] >= scores[None]:  # no linear forecast beats none: a tie keeps none
        return {"penalty": None, "val_mse": float(_window_mse(xv, yv).mean()), **info}
    val_mse = {p: float(_window_mse(xv, yv, fit).mean()) for p, fit in fits.items()}
    penalty = min(PENALTIES, key=val_mse.get)
    _install(model, *fits[penalty])
    return {"penalty": penalty, "val_mse": val_mse[penalty], **info}


def refit_linear_base(model: nn.Module, history: SequenceData, penalty: float | None) -> None:
    """A refit's base: the first fit's decision and ``penalty`` (None: no base, the model
    is left as built), the ridge fitted on ``history``, every window before the test split.
    The penalty is absolute, so over more windows it regularises a little less."""
    base = getattr(model, "linear_base", None)
    if base is not None and penalty is not None:
        _install(model, *ridge(*_design(history, base.steps), penalty))


def _install(model: nn.Module, w: torch.Tensor, b: torch.Tensor) -> None:
    """Fix the base at the ridge fit (weights (F, O), bias (O,)) and zero the head's output
    layer, so the model starts as the linear forecast."""
    base = model.linear_base
    with torch.no_grad():
        base.linear.weight.copy_(w.T.to(base.linear.weight.dtype))
        base.linear.bias.copy_(b.to(base.linear.bias.dtype))
    model.head.zero_output()  # the forecast head (PooledHead) adds nothing until it trains
