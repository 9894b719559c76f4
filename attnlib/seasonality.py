"""Rules about a forecasting series, read from its train part: the seasonal period and
whether to forecast its logarithm.

- :func:`find_season`: the autocorrelation (statsmodels' ``acf``) of the train series'
  level (less its straight-line trend where it drifts, :func:`level_drifts`), then of its
  differences; the period is the lag of the highest significant ACF peak (a local
  maximum above Bartlett's 95 % band and above ``PEAK_Z / sqrt(n)``, raised for many
  lags, after the ACF has been below zero), the shortest one when a multiple of it is
  about as high. ``None`` when the series is too short to test any lag.
- :func:`season_rule`: detection first, the time stamps' calendar guess only when
  detection is inconclusive (too short a train part to test that lag); 1 when nothing
  is significant.
- :func:`series_rules`: both, for the encode stage, on the train part of a long table.
- :func:`level_drifts`: whether the level wanders (KPSS, Kwiatkowski et al. 1992, rejects
  level stationarity at 5 % in a target channel): a trend or a random walk. Then the model
  reads each window relative to its last step (``local_level``), because absolute levels
  later in the series lie outside the range the model was trained on; a stationary cycle
  (lynx, sunspots) keeps its absolute level, which tells the phase of the cycle.
- :func:`wants_log`: log when every value is > 0 and the seasonal amplitude grows with
  the level (multiplicative seasonality, e.g. airline passengers): per full period of the
  train part, the level (mean of a centred moving average) against the amplitude (std of
  the series minus that average), correlated on a log-log scale.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl

# An ACF peak must also exceed PEAK_Z / sqrt(n): the highest of ~20 local maxima of noise
# is far above one lag's 95 % band (the 99th percentile of the highest peak of white noise,
# MA(3) noise and random walks of 110 steps, differenced, is 0.34 = 3.5 / sqrt(109)).
PEAK_Z = 3.5
NEAR_PEAK = 0.9  # a shorter period whose peak is >= this share of the highest wins (12 vs 24)
MIN_CYCLES = 3  # a lag is tested only when the train part holds this many of it
LOG_MIN_CORR = 0.6  # log(amplitude) ~ log(level): correlation ...
LOG_MIN_SLOPE = 0.5  # ... and elasticity (1 = amplitude proportional to the level)
LOG_MIN_PERIODS = 4  # full periods needed to judge
KPSS_ALPHA = 0.05  # level stationarity rejected below this p-value: the level drifts
KPSS_MIN_STEPS = 20  # shorter train parts are not judged (no drift assumed)


def find_season(y: np.ndarray, max_lag: int,
                drifts: bool | None = None) -> tuple[int | None, str]:  # fmt: skip
    """The seasonal period of ``y`` by autocorrelation, and the reading that showed it.

    Two readings of the series, in turn, until one shows a peak (:func:`acf_peak`): the
    level (less its straight-line trend where it drifts: ``drifts``,
    :func:`level_drifts`; None: tested here), then the differences. Differencing removes
    any trend, which would otherwise make every lag look alike, but it scales a cycle of
    period m by 2 sin(pi / m) (0.14 at m = 45) and turns white noise into an MA(1) with
    a lag-1 ACF of -0.5, so a long, noisy cycle drowns and the early dip lets the cycle's
    own slow decay at lags 2..5 pass for a peak (a sine of period 45, amplitude 8, noise
    1.5 over 580 steps: found in 9 of 40 series, bench/season_detection.py); the level
    keeps the cycle's whole amplitude. The level's strong cycle can in turn widen
    Bartlett's band past its own peak in a short series (six days of half-hourly solar
    output: 48 only from the differences). The level's stricter bar (:func:`acf_peak`)
    keeps a persistent series' wandering ACF, a random walk's included, from passing for
    a cycle.

    Args:
        y: (N,) or (N, K) train values (channels are averaged after standardising).
        max_lag: the longest period considered (the train part's length for the
            baselines, the model's lookback for the residual target).
    Returns:
        (period, reading): the period (>= 2), 1 when no lag has a significant peak, None
        when the series is too short to test a lag >= 2.
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 2:  # channels on one scale, then averaged
        y = ((y - y.mean(axis=0)) / np.where(y.std(axis=0) > 0, y.std(axis=0), 1.0)).mean(axis=1)
    top = testable(len(y), max_lag)
    if top < 2 or not np.isfinite(y).all() or np.ptp(y) == 0:
        return None, "the train part"
    if drifts is None:
        drifts = level_drifts(y)[0]
    first = ("the train part", y)
    if drifts:  # less its straight-line trend
        t = np.arange(len(y))
        first = ("the detrended train part", y - np.polyval(np.polyfit(t, y, 1), t))
    readings = [(*first, True), ("the differenced train part", np.diff(y), False)]
    for name, z, level in readings:
        found = acf_peak(z, top, level)
        if found > 1:
            return found, name
    return 1, " and ".join(name for name, _, _ in readings)


def acf_peak(z: np.ndarray, top: int, level: bool = False) -> int:
    """The lag (2..``top``) of ``z``'s highest significant ACF peak, the shortest one whose
    peak is about as high (a multiple of it); 1 for none.

    A peak must clear Bartlett's 95 % band and a floor that grows with the lags tested.
    Read off a level (``level``), it must clear that floor in units of Bartlett's standard
    error instead, summed over the lags before the ACF first reaches zero: a persistent
    series' ACF wanders far at long lags (AR(1) with 0.7, 1,000 steps: a false period in
    8 of 40 against the plain floor, 0 in 40 with this), while a cycle's later lags, which
    would inflate the full sum past its own peak, stay out of it.
    """
    from scipy.stats import norm
    from statsmodels.tsa.stattools import acf

    if z.std() == 0:
        return 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r, band = acf(z, nlags=top + 1, alpha=0.05, fft=True)  # (top + 2,), (top + 2, 2)
    # the highest of more lags' noise is higher: the floor grows with the lags tested
    # (a Bonferroni bound at 1 %; PEAK_Z covers the first few dozen)
    z_bar = max(PEAK_Z, float(norm.isf(0.01 / top)))
    if level:
        # the first lag at or below zero (none: 1, and the dip rule below admits no peak)
        memory = int(np.argmax(r[1:] <= 0)) + 1
        bar = z_bar * np.sqrt((1 + 2 * np.sum(r[1:memory] ** 2)) / len(z)) * np.ones_like(r)
    else:
        half = (band[:, 1] - band[:, 0]) / 2  # Bartlett's 95 % half-width, widening with lag
        bar = np.maximum(half, z_bar / np.sqrt(len(z)))
    # a cycle's ACF dips below zero within its period (half a cycle out of phase); a
    # smooth series' slow decay, bumped up at lag 2 by noise, does not
    peaks = [k for k in range(2, top + 1)
             if r[k] > r[k - 1] and r[k] >= r[k + 1] and r[k] > bar[k]
             and r[1:k].min() < 0]  # fmt: skip
    if not peaks:
        return 1
    best = max(r[k] for k in peaks)
    return min(k for k in peaks if r[k] >= NEAR_PEAK * best)


def testable(n: int, max_lag: int) -> int:
    """The longest lag a train part of ``n`` steps can test (:data:`MIN_CYCLES` of it)."""
    return min(max_lag, (n - 1) // MIN_CYCLES)


def season_rule(y: np.ndarray, max_lag: int, times: list[str] | None = None,
                drifts: bool | None = None) -> tuple[int, str]:  # fmt: skip
    """The period for the residual target, the baselines and MASE, and why (one line).

    Detection decides (``drifts`` as :func:`find_season` takes it), unless it is
    inconclusive: too short a series to test any lag, or no significant peak among the
    lags it could test while the time stamps' calendar period (monthly -> 12, ...) is
    longer than those.
    """
    from attnlib.baselines.forecast import guess_season

    (found, part), top = find_season(y, max_lag, drifts), testable(len(y), max_lag)
    guess = guess_season(times, default=1) if times else 1
    # noise moves a peak by a lag or two: 22..26 is an hourly file's 24 (a tenth of it;
    # none for quarters or weekdays, where a lag is a quarter or a seventh of the period)
    if found and found > 1 and guess > 1 and 0 < abs(found - guess) <= guess / 10:
        return guess, (f"season {guess}: the time column's period, an ACF peak at {found} "
                       f"beside it (lags 2..{top} of {part})")  # fmt: skip
    if found is not None and (found > 1 or guess <= top):
        why = "highest significant ACF peak" if found > 1 else "no significant ACF peak"
        return found, f"season {found}: {why} (lags 2..{top} of {part})"
    return guess, (f"season {guess}: from the time column (the train part's {len(y)} steps "
                   f"cannot test that lag)")  # fmt: skip


def calendar_within(season: int, lookback: int, times: list[str] | None) -> int:
    """The period the residual target can use when the series' own is longer than the
    lookback: the time column's calendar period when it fits in the lookback and divides
    that one, give or take a tenth of itself (an hourly file whose period is the week,
    168 or a lag beside it, has the day, 24), else 1. Not a second detection over the
    short lags: there a smooth series' noise peaks at lag 2 or 3."""
    from attnlib.baselines.forecast import guess_season

    guess = guess_season(times, default=1) if times else 1
    if not 1 < guess <= lookback:
        return 1
    off = min(season % guess, guess - season % guess)  # from the nearest multiple
    return guess if off <= guess / 10 else 1


def wants_log(y: np.ndarray, season: int) -> tuple[bool, str]:
    """Whether to forecast log1p(y): the seasonal amplitude grows with the level.

    Args:
        y: (N,) or (N, K) train values. season: the period (< 2: no amplitude to judge).
    Returns:
        (decision, one-line reason).
    """
    y = np.asarray(y, dtype=np.float64)
    if (y <= 0).any():
        return False, "log off: the series has values <= 0"
    y = y.mean(axis=1) if y.ndim == 2 else y
    if season < 2:
        return False, "log off: no seasonal period to measure an amplitude over"
    m = season
    if m % 2:
        kernel = np.full(m, 1.0 / m)
    else:  # the centred 2 x m moving average of classical decomposition
        kernel = np.full(m + 1, 1.0 / m)
        kernel[[0, -1]] = 0.5 / m
    trend = np.convolve(y, kernel, mode="valid")  # (N - len(kernel) + 1,)
    off = (len(y) - len(trend)) // 2
    detrended = y[off : off + len(trend)] - trend
    periods = len(trend) // m
    if periods < LOG_MIN_PERIODS:
        return False, f"log off: {periods} full period(s) of {m}, too few to judge"
    level = trend[: periods * m].reshape(periods, m).mean(axis=1)  # (P,)
    amp = detrended[: periods * m].reshape(periods, m).std(axis=1)  # (P,)
    if (amp <= 0).any() or np.ptp(np.log(level)) == 0:
        return False, "log off: no seasonal amplitude or no change of level"
    lx, ly = np.log(level), np.log(amp)
    corr = float(np.corrcoef(lx, ly)[0, 1])
    slope = float(np.polyfit(lx, ly, 1)[0])
    on = corr >= LOG_MIN_CORR and slope >= LOG_MIN_SLOPE
    return on, (f"log {'on' if on else 'off'}: seasonal amplitude vs level over {periods} "
                f"periods: corr {corr:.2f}, elasticity {slope:.2f}")  # fmt: skip


def level_drifts(y: np.ndarray) -> tuple[bool, str]:
    """Whether the level of any channel of ``y`` (N,) or (N, K) drifts: statsmodels' KPSS
    test of level stationarity rejects at :data:`KPSS_ALPHA`. Returns (decision, why)."""
    from statsmodels.tsa.stattools import kpss

    y = np.asarray(y, dtype=np.float64)
    y = y[:, None] if y.ndim == 1 else y
    if len(y) < KPSS_MIN_STEPS:
        return False, f"level: {len(y)} train steps, too few to test for drift"
    pvalues = []
    for col in y.T:
        if np.ptp(col) == 0 or not np.isfinite(col).all():
            pvalues.append(1.0)
            continue
        with warnings.catch_warnings():  # p is read off a table: a warning at its ends
            warnings.simplefilter("ignore")
            pvalues.append(float(kpss(col, regression="c", nlags="auto")[1]))
    p = min(pvalues)
    drifts = p < KPSS_ALPHA
    return drifts, (f"level {'drifts' if drifts else 'is stationary'}: KPSS p = {p:.2g} "
                    f"on the train part (level stationarity {'rejected' if drifts else 'kept'}"
                    f" at {KPSS_ALPHA:.0%})")  # fmt: skip


@dataclass(frozen=True)
class SeriesRules:
    """What the train part of a long table decides: period, log, and why (log lines)."""

    season: int
    log: bool
    reasons: tuple[str, ...]
    drifts: bool = False  # the level wanders (:func:`level_drifts`)
    within_lookback: int = 1  # the residual target's: season if it fits in the lookback,
    # else the calendar period inside it (calendar_within), else 1


def series_rules(
    raw: pl.DataFrame,
    *,
    lookback: int,
    horizon: int,
    val: float,
    test: float,
    log: bool | str = "auto",
    targets: tuple[str, ...] = (),
) -> SeriesRules:
    """The seasonal period and the log choice (``log="auto"``) from the train part only.

    Args:
        raw: a long table (``time`` and value columns), in time order.
        lookback, horizon, val, test: the window geometry and split shares (the train part
            is what :func:`attnlib.windows.assign_time_splits` would assign to train).
        log: True / False as given, or ``"auto"`` (:func:`wants_log`).
        targets: the target columns judged (() = every value column).
    """
    from attnlib.windows import train_part

    channels = list(targets) or [c for c in raw.columns if c not in ("time", "split", "id")]
    channels = [c for c in channels if c in raw.columns]
    values = raw.select(channels).to_numpy().astype(np.float64)  # (N, K)
    values = values[train_part(raw.height, val=val, test=test, lookback=lookback,
                               horizon=horizon)]  # fmt: skip
    times = raw["time"].cast(pl.String).to_list() if "time" in raw.columns else None
    # any period the train part holds 3 times, longer than the lookback too: the baselines
    # and MASE need the real one (a half-hourly file's day is 48); the residual target
    # needs one within the lookback (attnlib.tasks.forecast.delta_lag)
    drifts, drift_why = level_drifts(values)
    season, why = season_rule(values, len(values), times, drifts)
    within = season if season <= lookback else calendar_within(season, lookback, times)
    if log == "auto":
        on, log_why = wants_log(values, season)
    else:
        on, log_why = bool(log), f"log {'on' if log else 'off'}: as set"
    return SeriesRules(season, on, (why, log_why, drift_why), drifts, within)
