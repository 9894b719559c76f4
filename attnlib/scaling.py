"""Per-channel standardisation fitted on the train split only, with a JSON round-trip.

The statistics travel with the data (``data/vocab.json``) and the model (``model.json``
``extra.data``), so prediction and export apply exactly what training saw.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from attnlib.errors import DataError

MIN_STD = 1e-8  # a constant channel is centred, not divided by ~0


@dataclass(frozen=True)
class Standardizer:
    """``(x - mean) / std`` per channel; ``log`` first applies ``log1p`` (positive series).

    Args:
        mean, std: (C,) statistics of the (transformed) train values.
        log: apply ``log1p`` before standardising (multiplicative seasonality, growth).
    """

    mean: tuple[float, ...]
    std: tuple[float, ...]
    log: bool = False

    @classmethod
    def fit(cls, arrays: Iterable[np.ndarray], *, log: bool = False) -> Standardizer:
        """Statistics over every time step of ``arrays`` (each (T, C)), per channel."""
        stacked = [np.asarray(a, dtype=np.float64) for a in arrays]
        if not stacked:
            raise DataError("cannot fit scaling statistics: the train split is empty")
        x = np.concatenate(stacked, axis=0)  # (sum T, C)
        if log:
            if (x <= -1).any():
                raise DataError("log scaling needs values > -1 (found smaller ones in train)")
            x = np.log1p(x)
        std = x.std(axis=0)
        std = np.where(std < MIN_STD, 1.0, std)
        return cls(tuple(float(v) for v in x.mean(axis=0)), tuple(float(v) for v in std), log)

    def transform(self, x: np.ndarray) -> np.ndarray:
        """(..., C) raw -> standardised float32."""
        x = np.asarray(x, dtype=np.float64)
        if x.shape[-1] != len(self.mean):
            raise DataError(f"expected {len(self.mean)} channel(s), got {x.shape[-1]}")
        if self.log:
            x = np.log1p(x)
        return ((x - np.asarray(self.mean)) / np.asarray(self.std)).astype(np.float32)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        """(..., C) standardised -> raw float64."""
        x = np.asarray(z, dtype=np.float64) * np.asarray(self.std) + np.asarray(self.mean)
        return np.expm1(x) if self.log else x

    def select(self, channels: list[int]) -> Standardizer:
        """The statistics of some channels only (e.g. the forecast targets)."""
        return Standardizer(tuple(self.mean[c] for c in channels),
                            tuple(self.std[c] for c in channels), self.log)  # fmt: skip

    def to_dict(self) -> dict:
        return {"mean": list(self.mean), "std": list(self.std), "log": self.log}

    @classmethod
    def from_dict(cls, data: dict, *, source: object = "scaler") -> Standardizer:
        try:
            mean, std = [float(v) for v in data["mean"]], [float(v) for v in data["std"]]
        except (KeyError, TypeError, ValueError):
            raise DataError(f"{source}: expected scaling statistics {{mean, std}}") from None
        if len(mean) != len(std) or not mean:
            raise DataError(f"{source}: mean and std must be equally long, non-empty lists")
        return cls(tuple(mean), tuple(std), bool(data.get("log", False)))
