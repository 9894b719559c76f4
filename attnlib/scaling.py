"""Per-channel standardisation fitted on the train split only, with a JSON round-trip.

The statistics travel with the data (``data/vocab.json``) and the model (``model.json``
``extra.data``), so prediction and export apply exactly what training saw.

Series whose scales differ by orders of magnitude (PLAID's appliance currents: a
standard deviation of 3e-5 for one recording, 96 for another) lose their shapes under
one global standardisation: the small ones become flat lines near the mean. There each
series is standardised by its own mean and deviation (``per_series``, the UCR archive's
convention) and its scale is kept beside it as extra constant channels: the log of its
deviation and its signed-log level (:func:`level_features`), themselves standardised
over the train series.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from attnlib.errors import DataError

MIN_STD = 1e-8  # a constant channel is centred, not divided by ~0
# per series: a deviation under this share of the series' own level (|mean|, at least the
# reference) is rounding, not signal: the series is constant there
CONSTANT = 1e-9
LEVEL_FLOOR = 1e-6  # per series: deviations are floored at this share of the reference
LEVEL_CLIP = 10.0  # per series: standardised level channels are clipped to +-this


@dataclass(frozen=True)
class Standardizer:
    """``(x - mean) / std`` per channel; ``log`` first applies ``log1p`` (positive series).

    Args:
        mean, std: (C,) statistics of the (transformed) train values; per series, (2C,)
            statistics of the train series' level channels.
        log: apply ``log1p`` before standardising (multiplicative seasonality, growth).
        reference: per series only, (C,): the train series' median deviation per channel.
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    log: bool = False
    # per_series: the (C,) reference deviations of the level channels (the train series'
    # median deviation per channel); mean / std are then the 2C level channels' statistics
    reference: tuple[float, ...] = ()

    @property
    def per_series(self) -> bool:
        return bool(self.reference)

    @property
    def channels(self) -> int:
        """C, the raw input's channels."""
        return len(self.reference) if self.per_series else len(self.mean)

    @property
    def features(self) -> int:
        """The model's input channels: C, or 3C per series (values, log deviation, level)."""
        return 3 * self.channels if self.per_series else self.channels

    @classmethod
    def fit(cls, arrays: Iterable[np.ndarray], *, log: bool = False,
            per_series: bool = False) -> Standardizer:  # fmt: skip
        """Statistics over every time step of ``arrays`` (each (T, C)), per channel; with
        ``per_series``, of the train series' level channels (module docstring)."""
        stacked = [logged(np.asarray(a, dtype=np.float64), log) for a in arrays]
        if not stacked:
            raise DataError("cannot fit scaling statistics: the train split is empty")
        if per_series:
            reference = np.median(np.stack([a.std(axis=0) for a in stacked]), axis=0)
            reference = np.where(reference > 0, reference, 1.0)  # every series constant
            x = np.stack([level_features(a, reference) for a in stacked])  # (N, 2C)
        else:
            reference, x = (), np.concatenate(stacked, axis=0)  # (sum T, C)
        std = x.std(axis=0)
        std = np.where(std < MIN_STD, 1.0, std)
        return cls(tuple(float(v) for v in x.mean(axis=0)), tuple(float(v) for v in std), log,
                   tuple(float(v) for v in reference))  # fmt: skip

    def transform(self, x: np.ndarray) -> np.ndarray:
        """(..., C) raw -> standardised float32; per series, one (T, C) series -> (T, 3C)."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape[-1] != self.channels:
            raise DataError(f"expected {self.channels} channel(s), got {x.shape[-1]}")
        x = logged(x, self.log)
        if not self.per_series:
            return ((x - np.asarray(self.mean)) / np.asarray(self.std)).astype(np.float32)
        if x.ndim != 2:
            raise ValueError(f"per-series scaling takes one (T, C) series, got {x.shape}")
        reference = np.asarray(self.reference)
        mean, scale, flat = moments(x, reference)  # once a row: this is predict's path
        values = np.where(flat, 0.0, (x - mean) / np.where(scale > 0, scale, 1.0))
        level = (_levels(mean, scale, flat, reference) - self.mean) / self.std
        level = np.clip(level, -LEVEL_CLIP, LEVEL_CLIP)
        return np.concatenate([values, np.broadcast_to(level, (len(x), len(level)))],
                              axis=1).astype(np.float32)  # fmt: skip

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """(..., C) standardised -> raw float64."""
        if self.per_series:
            raise ValueError("per-series scaling has no inverse (each series has its own)")
        x = np.asarray(z, dtype=np.float64) * np.asarray(self.std) + np.asarray(self.mean)
        return np.expm1(x) if self.log else x

    def select(self, channels: list[int]) -> Standardizer:
        """The statistics of some channels only (e.g. the forecast targets)."""
        if self.per_series:
            raise ValueError("per-series scaling selects no channels (forecasts scale globally)")
        return Standardizer(tuple(self.mean[c] for c in channels),
                            tuple(self.std[c] for c in channels), self.log)  # fmt: skip

    def to_dict(self) -> dict:
        out = {"mean": list(self.mean), "std": list(self.std), "log": self.log}
        return {**out, "reference": list(self.reference)} if self.per_series else out

    @classmethod
    def from_dict(cls, data: dict, *, source: object = "scaler") -> Standardizer:
        try:
            mean, std = [float(v) for v in data["mean"]], [float(v) for v in data["std"]]
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{source}: expected scaling statistics {{mean, std}}") from None
        try:
            reference = tuple(float(v) for v in data.get("reference") or ())
        except (TypeError, ValueError):
            raise DataError(f"{source}: reference must be a list of numbers") from None
        if len(mean) != len(std) or not mean:
            raise DataError(f"{source}: mean and std must be equally long, non-empty lists")
        if any(not v > 0 for v in reference):
            raise DataError(f"{source}: reference deviations must be > 0, got {list(reference)}")
        if reference and len(mean) != 2 * len(reference):
            raise DataError(f"{source}: per-series scaling needs 2 level statistics per "
                            f"reference channel, got {len(mean)} for {len(reference)}")  # fmt: skip
        return cls(tuple(mean), tuple(std), bool(data.get("log", False)), reference)


def moments(x: np.ndarray, reference: np.ndarray | float) -> tuple[np.ndarray, ...]:
    """A (T, C) series' (C,) mean, deviation and whether it is constant per channel: its
    deviation at most CONSTANT of its own level (|mean|, at least ``reference``), rounding
    and nothing else."""
    mean, scale = x.mean(axis=0), x.std(axis=0)
    return mean, scale, scale <= CONSTANT * np.maximum(np.abs(mean), reference)


def level_features(x: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """A (T, C) series' (2C,) scale: the log of its deviation per channel (floored at
    LEVEL_FLOOR of the reference; a constant channel's is the floor) and its mean as a
    signed log in units of the reference."""
    return _levels(*moments(x, reference), reference)


def _levels(mean, scale, flat, reference) -> np.ndarray:
    scale = np.maximum(np.where(flat, 0.0, scale), LEVEL_FLOOR * reference)
    return np.concatenate([np.log(scale / reference), np.arcsinh(mean / reference)])


def scales_spread(arrays: Iterable[np.ndarray]) -> float:
    """How far the series' scales spread: the largest, over channels, ratio of the 90th to
    the 10th percentile of the deviations of the series that are not constant there (1
    for z-normalised series; 1 for a channel with fewer than 2 such series)."""
    spread = 1.0
    stats = [moments(np.asarray(a, dtype=np.float64), 0.0) for a in arrays]
    sd = np.stack([scale for _, scale, _ in stats])  # (N, C)
    varies = ~np.stack([flat for _, _, flat in stats])  # (N, C): rounding of a constant
    for c in range(sd.shape[1]):
        kept = sd[varies[:, c], c]
        if len(kept) >= 2:
            spread = max(spread, float(np.percentile(kept, 90) / np.percentile(kept, 10)))
    return spread


def logged(x: np.ndarray, log: bool) -> np.ndarray:
    """``log1p(x)`` if ``log`` (encode.log), checked: values must be > -1."""
    if not log:
        return x
    if (x <= -1).any():
        raise DataError(f"encode.log: log1p scaling needs values > -1, found {x.min():g}")
    return np.log1p(x)
