"""Batch scoring of numeric input: series classification and forecasting.

The bundle's ``model.json`` carries what training saw (``extra.data``: the scaling
statistics fitted on the train split, the window geometry and the target columns), so
raw user data is prepared exactly as the training data was.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from attnlib.errors import DataError
from attnlib.scaling import Standardizer
from attnlib.windows import undo_delta


def _spec(predictor) -> tuple[dict, Standardizer]:
    data = predictor.meta.extra.get("data") or {}
    scaler = (data.get("input") or {}).get("scaler")
    if scaler is None:
        raise DataError("this bundle has no scaling statistics (extra.data.input.scaler)")
    return data, Standardizer.from_dict(scaler, source="model.json extra.data")


def predict_series_frame(
    predictor, frame: pl.DataFrame, *, top_k: int = 5, attention: bool = False, batch_size=64
) -> pl.DataFrame:
    """Classify each numeric series of ``frame`` (``id``, ``values`` (T, C)[, ``label``]).

    Returns:
        One row per series: ``id``, [``actual``], ``predicted``, ``top_k``,
        ``probabilities`` (and ``attention`` over its steps).
    """
    from attnlib.predict import _class_probs, _score_batches, _scores

    _, scaler = _spec(predictor)
    names = list(predictor.meta.label_map or [])
    k = min(top_k, len(names))
    series = [scaler.transform(np.asarray(v, dtype=np.float64)) for v in frame["values"].to_list()]
    labels = frame["label"].to_list() if "label" in frame.columns else None
    rows = []
    batches = _score_batches(
        predictor, series, range(len(series)), pad=0.0, dtype=np.float32, batch_size=batch_size
    )
    for i, out, w, n in batches:
        row = {"id": frame["id"][i]}
        if labels is not None:
            row["actual"] = labels[i]
        rows.append(_scores(row, _class_probs(out), names, k, w[:n] if attention else None))
    return pl.DataFrame(rows)


def forecast_frame(predictor, frame: pl.DataFrame, *, attention: bool = False) -> pl.DataFrame:
    """Forecast the ``horizon`` steps after the end of a long table (``time`` + channels).

    Returns:
        One row per step ahead: ``step`` (1..H), then one column per target.
    """
    data, scaler = _spec(predictor)
    fc, channels = data.get("forecast") or {}, (data.get("input") or {}).get("channels") or []
    missing = [c for c in channels if c not in frame.columns]
    if missing:
        raise DataError(f"the model was trained on columns {channels}; missing {missing}")
    L, H = int(fc["lookback"]), int(fc["horizon"])
    if frame.height < L:
        raise DataError(f"forecasting needs the last {L} steps (lookback); got {frame.height}")
    x = scaler.transform(frame.select(channels).tail(L).to_numpy())[None]  # (1, L, C)
    out, w = predictor(x.astype(np.float32), np.array([L], dtype=np.int64))  # (1, H, K)
    if fc.get("delta"):  # the model predicts residuals over a seasonal-naive forecast
        out = undo_delta(out, x, fc["target_index"], int(fc["delta"]))
    pred = scaler.select(fc["target_index"]).inverse(out[0])  # (H, K)
    result = pl.DataFrame({"step": list(range(1, H + 1)),
                           **{t: pred[:, k] for k, t in enumerate(fc["targets"])}})  # fmt: skip
    if attention:
        weights = [float(v) for v in w[0]]
        result = result.with_columns(pl.Series("attention", [weights] * H))
    return result
