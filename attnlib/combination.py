"""The forecast a forecasting model reports: the network combined with Holt-Winters.

A combination of forecasts from different methods is, on average, more accurate than
either (Bates and Granger 1969; the M3 and M4 competitions), because their errors are not
the same errors. The network and Holt-Winters' exponential smoothing are as different as
two methods get: one learns from every window of the past, the other fits three smoothing
constants to the history of one origin. The reported forecast is therefore
``(1 - w) × network + w × Holt-Winters``, with Holt-Winters fitted to each window's history
exactly as the evaluate stage's baseline is (:func:`attnlib.baselines.forecast.rolling` of
:func:`~attnlib.baselines.forecast.holt_winters`).

``evaluate.combine`` is 0 by default: the network alone. With ``auto``, the weight ``w``
is chosen on the validation windows, forecast
by the model before any refit (it never trained on them, though they chose its epoch, which
flatters it a little against Holt-Winters), from :data:`MIXES`, by the mean squared
error of the combination in each target's training spread. Estimated weights lose to equal
weights when they are estimated from little data (the "forecast combination puzzle": Stock
and Watson 2004; Smith and Wallis 2009): with fewer than :data:`MIN_WINDOWS` validation
windows, i.e. one or two horizons of a short series, ``w`` is 0.5; where Holt-Winters did
not fit every validation window, 0. A number in [0, 1] sets it. With a weight, the network
alone stays in ``eval.json`` as ``network``.

``auto`` is not the default because it did not bear out on the series it was not chosen
on: on the eight forecasting files first run after the rule was fixed, the combination's
test MASE was higher than the network's on seven (6 % on average; README, Forecasting).
"""

from __future__ import annotations

import numpy as np

MIXES = tuple(k / 10 for k in range(10))  # Holt-Winters' weights tried: 0, 0.1, ..., 0.9
MIN_WINDOWS = 3  # validation windows (disjoint horizons) needed to choose a weight
EQUAL = 0.5


def combine(network: np.ndarray, hw: np.ndarray, weight: float) -> np.ndarray:
    """``(1 - weight) × network + weight × hw``; the network alone at weight 0 and where
    Holt-Winters' forecast is not finite."""
    if weight == 0:
        return network
    return np.where(np.isfinite(hw), (1 - weight) * network + weight * hw, network)


def choose_weight(setting: float | str, network: np.ndarray, hw: np.ndarray | None,
                  actual: np.ndarray, scale: np.ndarray) -> tuple[float, str]:  # fmt: skip
    """Holt-Winters' weight and why (``evaluate.combine``).

    Args:
        setting: ``"auto"`` or a weight in [0, 1].
        network, hw, actual: (W, H, K) validation forecasts and truths, raw units (``hw``
            may be None when ``setting`` is a number: it is not read).
        scale: (K,) each target's spread on the training part (the losses' units).
    """
    if setting != "auto":
        return float(setting), f"combine {float(setting):g}: as set"
    if not np.isfinite(hw).all():
        return 0.0, "combine 0: Holt-Winters did not fit every validation window"
    windows = len(actual)
    if windows < MIN_WINDOWS:
        return EQUAL, (
            f"combine {EQUAL}: {windows} validation window(s) cannot choose a weight "
            f"(fewer than {MIN_WINDOWS}), equal weights"
        )
    scale = np.where(np.asarray(scale) > 0, scale, 1.0)
    losses = {w: float(np.mean(((combine(network, hw, w) - actual) / scale) ** 2)) for w in MIXES}
    best = min(MIXES, key=losses.get)
    return best, (
        f"combine {best:g}: the lowest validation MSE over {windows} windows "
        f"({losses[best]:.4g}; network alone {losses[0.0]:.4g})"
    )
