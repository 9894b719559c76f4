"""The split stage's task, called with ``.fn()``: forecasting context rows and leak checks."""

import numpy as np
import polars as pl
import pytest

from attnlib.datasets.series import series_frame
from attnlib.encode import EncodeOptions, encode_dataset
from attnlib.errors import DataError
from attnlib.tasks.forecast import delta_lag
from flows.split import partition


def test_forecast_partition_adds_context_and_checks_windows():
    raw = pl.DataFrame({"time": [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(96)],
                        "v": np.arange(96.0)})  # fmt: skip
    frame, _ = encode_dataset(raw, "forecast", EncodeOptions(lookback=12, horizon=6))
    parts = partition.fn(frame, "forecast")
    assert parts["train"]["target"].all()
    assert parts["test"].height == 12 + 12  # 2 horizons of targets + 12 steps of context
    assert parts["test"].filter(~pl.col("target"))["split"].to_list() == ["val"] * 12


def test_numeric_series_partition_checks_for_leaks():
    values = [np.full((5, 1), float(i)) for i in range(30)]
    raw = series_frame([f"s{i}" for i in range(30)], values, ["a", "b"] * 15)
    frame, _ = encode_dataset(raw, "classify", EncodeOptions(val=0.2, test=0.2))
    parts = partition.fn(frame, "classify")
    assert sum(p.height for p in parts.values()) == 30
    leaked = frame.with_columns(pl.lit("train").alias("split"))
    leaked = pl.concat([leaked, leaked.head(1).with_columns(pl.lit("test").alias("split")),
                        leaked.head(1).with_columns(pl.lit("val").alias("split"))])  # fmt: skip
    with pytest.raises(DataError, match="is in both 'train' and"):
        partition.fn(leaked, "classify")


def test_text_with_conflicting_duplicate_labels_encodes_and_splits():
    # 40 texts, each 3 times; every 4th text's last copy has the other label (real data:
    # retweets, shared names). Each group lands whole in one split: nothing to leak.
    rows = [(f"t{g}c{c}", f"word{g} w{g % 5} text",
             ("pos" if g % 2 else "neg") if g % 4 or c < 2 else ("neg" if g % 2 else "pos"))
            for g in range(40) for c in range(3)]  # fmt: skip
    raw = pl.DataFrame(rows, schema=["id", "text", "label"], orient="row").with_columns(
        pl.col("text").str.split(" ").alias("tokens")
    )
    frame, meta = encode_dataset(raw.drop("text"), "classify", EncodeOptions(val=0.2, test=0.2))
    parts = partition.fn(frame, "classify")
    assert sum(p.height for p in parts.values()) == 120
    assert meta["split_counts"] == {
        "conflicting_groups": 10, "conflicting_rows": 30, "dropped_train_copies": 0
    }  # fmt: skip


def test_delta_season_is_the_detected_period_within_the_lookback():
    assert delta_lag("season", 12, lookback=24)[0] == 12
    assert delta_lag("season", 12, lookback=6)[0] == 1  # a season longer than the input
    assert delta_lag(3, 12, lookback=6) == (3, "delta 3: as set")
    # no period: the last value when the level drifts, else plain levels
    assert delta_lag("season", 1, lookback=24, drifts=True)[0] == 1
    lag, why = delta_lag("season", 1, lookback=24, drifts=False)
    assert lag == 0 and "stationary" in why
    assert delta_lag("season", 12, lookback=24, drifts=False)[0] == 12  # a cycle is kept
