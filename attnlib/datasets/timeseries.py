"""Built-in numeric data sets bundled in sktime and statsmodels (no download).

Classification (read with sktime's own loader, keeping each archive's train / test split
in a ``split`` column): GunPoint, ItalyPowerDemand, BasicMotions (6 channels) and
JapaneseVowels (12 channels, lengths 7-29). Forecasting: the airline passengers series
(sktime) and Mauna Loa CO2 (statsmodels, weekly readings averaged per month, the few
empty months filled by linear interpolation).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from attnlib.datasets.series import series_frame
from attnlib.errors import DataError

UCR_SETS = {  # our name -> the UCR / UEA archive's name
    "gunpoint": "GunPoint",
    "italy_power_demand": "ItalyPowerDemand",
    "basic_motions": "BasicMotions",
    "japanese_vowels": "JapaneseVowels",
}


def _import_sktime():
    try:
        from sktime.datasets import load_UCR_UEA_dataset
    except ImportError as exc:  # pragma: no cover - a broken install
        raise DataError(f"built-in series data needs sktime (run `make install`): {exc}") from None
    return load_UCR_UEA_dataset


def load_ucr(name: str) -> pl.DataFrame:
    """One of :data:`UCR_SETS`, train then test rows, as a numeric-series frame.

    Returns:
        ``id`` (``train0001`` / ``test0001``), ``values`` (time x channels), ``label``
        and ``split``.
    """
    load = _import_sktime()
    ids, values, labels, split = [], [], [], []
    for part in ("train", "test"):
        # nested_univ keeps unequal lengths (JapaneseVowels) as they are
        X, y = load(UCR_SETS[name], split=part, return_X_y=True, return_type="nested_univ")
        for i in range(len(X)):
            row = X.iloc[i]
            arr = np.stack([np.asarray(row.iloc[c], dtype=np.float32) for c in range(X.shape[1])],
                           axis=1)  # (T, C)  # fmt: skip
            ids.append(f"{part}{i + 1:04d}")
            values.append(arr)
            labels.append(str(y[i]))
            split.append(part)
    return series_frame(ids, values, labels, split)


def load_airline() -> pl.DataFrame:
    """Monthly international airline passengers, 1949-01 .. 1960-12 (144 months)."""
    from sktime.datasets import load_airline as sk_airline

    y = sk_airline()
    return pl.DataFrame(
        {"time": [str(p) for p in y.index], "passengers": np.asarray(y.values, dtype=float)}
    )


def load_co2() -> pl.DataFrame:
    """Mauna Loa atmospheric CO2 (ppm), monthly means 1958-03 .. 2001-12 (526 months)."""
    import statsmodels.api as sm

    weekly = sm.datasets.co2.load_pandas().data
    monthly = weekly.resample("MS").mean().interpolate()
    return pl.DataFrame(
        {
            "time": [t.strftime("%Y-%m") for t in monthly.index],
            "co2": np.asarray(monthly["co2"].values, dtype=float),
        }
    )
