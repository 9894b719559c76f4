"""Forecasting baselines: seasonal naive and Holt-Winters exponential smoothing (statsmodels).

Both forecast ``horizon`` steps from the history before a window's first target (a
rolling origin: every test window is forecast from everything before it), one target
channel at a time.
"""

from __future__ import annotations

import warnings

import numpy as np

from attnlib.windows import base_offsets


def seasonal_naive(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """``y[t + h] = y[t + h - k m]``: the last observed season repeated.

    Args:
        history: (T,) or (T, K) values before the forecast origin.
        horizon: H steps to forecast. season: m >= 1 (1 = the last value).
    Returns:
        (H,) or (H, K) forecasts.
    """
    history = np.asarray(history, dtype=np.float64)
    m = max(1, min(season, len(history)))
    return history[len(history) + base_offsets(horizon, m)]


def holt_winters(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """Additive-trend exponential smoothing, with a season when history holds two of them.

    The seasonal component is multiplicative for a positive series, else additive; the
    parameters are fitted by statsmodels' maximum likelihood on ``history`` alone.

    Args:
        history: (T,) or (T, K); each channel is fitted on its own.
        horizon: H. season: m (< 2 or too little history: no seasonal component).
    Returns:
        (H,) or (H, K) forecasts.
    """
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    history = np.asarray(history, dtype=np.float64)
    if history.ndim == 2:
        return np.stack([holt_winters(history[:, k], horizon, season)
                         for k in range(history.shape[1])], axis=1)  # fmt: skip
    seasonal = season >= 2 and len(history) >= 2 * season
    kind = "mul" if seasonal and (history > 0).all() else "add"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on short series
        model = ExponentialSmoothing(
            history,
            trend="add",
            seasonal=kind if seasonal else None,
            seasonal_periods=season if seasonal else None,
            initialization_method="estimated",
        ).fit()
    return np.asarray(model.forecast(horizon), dtype=np.float64)


def rolling(fn, series: np.ndarray, starts, horizon: int, season: int) -> np.ndarray:
    """(W, H, K): ``fn``'s forecast (:func:`seasonal_naive`, :func:`holt_winters`) of each
    window whose first target is at a step of ``starts``, fitted on everything before it."""
    return np.stack([np.asarray(fn(series[:t], horizon, season)) for t in np.asarray(starts)])


def guess_season(times: list[str], default: int = 1) -> int:
    """The seasonal period implied by the spacing of time stamps.

    Monthly -> 12, quarterly -> 4, weekly -> 52, daily -> 7, hourly -> 24, half-hourly
    -> 48; anything else (or unparseable times) -> ``default``.
    """
    import polars as pl

    from attnlib.datasets.times import parse_times

    parsed = parse_times(pl.Series(times)) if len(times) >= 3 else None
    if parsed is None or parsed.dtype.is_numeric():
        return default
    days = float(parsed.diff().drop_nulls().dt.total_seconds().median()) / 86400
    for lo, hi, m in ((27, 32, 12), (88, 93, 4), (6.5, 7.5, 52), (0.9, 1.1, 7),
                      (1 / 24 - 0.005, 1 / 24 + 0.005, 24),
                      (1 / 48 - 0.002, 1 / 48 + 0.002, 48)):  # fmt: skip
        if lo <= days <= hi:
            return m
    return default
