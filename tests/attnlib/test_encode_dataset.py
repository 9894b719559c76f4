"""encode_dataset: every task and input kind, train-only statistics, shipped splits kept."""

import numpy as np
import polars as pl
import pytest

from attnlib.datasets.series import series_frame
from attnlib.encode import EncodeOptions, encode_dataset, to_sequence_data
from attnlib.errors import DataError


def series(n=40, length=12, channels=2, split=None):
    rng = np.random.default_rng(0)
    values = [rng.normal(i % 2 * 5, 1, size=(length - i % 3, channels)) for i in range(n)]
    return series_frame([f"s{i}" for i in range(n)], values,
                        ["a" if i % 2 else "b" for i in range(n)], split)  # fmt: skip


def test_numeric_classification_scales_with_train_statistics_only():
    frame, meta = encode_dataset(series(), "classify", EncodeOptions(val=0.2, test=0.2))
    train = frame.filter(pl.col("split") == "train")
    raw = np.concatenate([np.asarray(v) for v in train["values"].to_list()])
    assert meta["input"]["scaler"]["mean"] == pytest.approx(raw.mean(0).tolist(), rel=1e-5)
    median = int(train["x"].list.len().median())  # the kernel partner's dilations
    assert meta["model_fields"] == {"input_kind": "numeric", "input_dim": 2,
                                    "kernel_length": median}  # fmt: skip
    assert "tokens" not in meta  # numeric data has no vocabulary
    assert meta["labels"] == ["a", "b"]
    x = np.concatenate([np.asarray(v) for v in train["x"].to_list()])
    assert np.allclose(x.mean(0), 0, atol=1e-5) and np.allclose(x.std(0), 1, atol=1e-4)
    data = to_sequence_data(train, "classify")
    assert data.x.shape[2] == 2 and data.lengths.max() == 12 and data.lengths.min() == 10
    # stratified: both classes in every split
    assert frame.group_by("split").agg(pl.col("label").n_unique())["label"].min() == 2


def test_a_shipped_split_is_kept():
    split = ["test" if i >= 30 else "train" for i in range(40)]
    frame, _ = encode_dataset(series(split=split), "classify", EncodeOptions(val=0.2))
    assert (frame["split"][30:] == "test").all()
    assert set(frame["split"][:30]) == {"train", "val"}


def test_tokens_classification_and_next_state():
    base = [["a", "b"], ["b", "c", "d"], ["c"], ["d", "a"]] * 5
    raw = pl.DataFrame({"tokens": [s + ["e"] * (i // 4) for i, s in enumerate(base)],  # distinct
                        "label": ["x", "y"] * 10, "id": [str(i) for i in range(20)]})  # fmt: skip
    frame, meta = encode_dataset(raw, "classify", EncodeOptions(val=0.25, test=0.25))
    assert meta["tokens"][:2] == ["<pad>", "<unk>"] and meta["labels"] == ["x", "y"]
    assert {"ids", "length", "label_id", "split"} <= set(frame.columns)
    opt = EncodeOptions(val=0.25, test=0.25)  # 4 distinct sequences: one each for val, test
    frame, meta = encode_dataset(raw.drop("label"), "next_state", opt)
    assert meta["labels"] is None and meta["model_fields"] == {"input_kind": "tokens"}


@pytest.mark.parametrize(
    ("task", "raw", "message"),
    [
        ("forecast", pl.DataFrame({"tokens": [["a"]]}), "task 'forecast' needs a long table"),
        ("next_state", series(), "task 'next_state' needs token sequences"),
        ("classify", pl.DataFrame({"time": ["1"], "v": [1.0]}), "needs token sequences or"),
        ("classify", pl.DataFrame({"tokens": [["a"]]}), "needs a 'label' column"),
    ],
)
def test_data_that_does_not_fit_the_task(task, raw, message):
    with pytest.raises(DataError, match=message):
        encode_dataset(raw, task, EncodeOptions(), source="data/raw.parquet")


def test_forecast_delta_is_the_period_within_the_lookback_and_is_logged():
    from datetime import datetime, timedelta

    # hourly: a day inside a week; the week is the series' period, the target's is the day
    t = np.arange(24 * 7 * 6)
    y = 10 + 3 * np.sin(2 * np.pi * t / 24) - 4 * ((t // 24) % 7 >= 5)
    y = y + np.random.default_rng(0).normal(0, 0.5, len(t))
    times = [(datetime(2024, 1, 1) + timedelta(hours=int(i))).strftime("%Y-%m-%d %H:%M") for i in t]
    raw = pl.DataFrame({"time": times, "load": y})
    options = EncodeOptions(lookback=24, horizon=12, delta="season", log=False)
    frame, meta = encode_dataset(raw, "forecast", options)
    assert meta["forecast"]["season"] == 168  # the baselines' period: the week
    assert meta["forecast"]["delta"] == 24 == frame["delta"][0]
    assert any(r.startswith("delta 24:") for r in meta["rules"])  # the encode log's lines


def test_forecast_targets_and_delta_are_checked():
    raw = pl.DataFrame({"time": [str(i) for i in range(60)], "v": np.arange(60.0)})
    with pytest.raises(DataError, match=r"target column\(s\) \['w'\] not among \['v'\]"):
        encode_dataset(raw, "forecast", EncodeOptions(lookback=8, horizon=4, targets=("w",)))
    with pytest.raises(DataError, match="encode.delta 9 must lie in 0..lookback"):
        encode_dataset(raw, "forecast", EncodeOptions(lookback=8, horizon=4, delta=9))
    size = raw.with_columns(size=pl.lit(3.0))  # constant: an input, not a target by default
    _, meta = encode_dataset(size, "forecast", EncodeOptions(lookback=8, horizon=4))
    assert meta["forecast"]["targets"] == ["v"] and meta["input"]["channels"] == ["v", "size"]
    _, meta = encode_dataset(size, "forecast", EncodeOptions(lookback=8, horizon=4,
                                                             targets=("v", "size")))  # fmt: skip
    assert meta["forecast"]["targets"] == ["v", "size"]  # named: as given
    promo = raw.with_columns(promo=pl.Series([0.0] * 50 + [1.0] * 10))  # changes in test only
    _, meta = encode_dataset(promo, "forecast", EncodeOptions(lookback=8, horizon=4))
    assert meta["forecast"]["targets"] == ["v"]  # judged on the train part


def spread_frame(n=40, length=16):
    """Two classes told apart by shape, each series at its own scale (10^-3 to 10^3)."""
    t = np.arange(length)[:, None]
    values = [10.0 ** (i % 7 - 3) * (np.sin(t / 2) if i % 2 else np.sign(np.sin(t / 2)))
              for i in range(n)]  # fmt: skip
    return series_frame([f"s{i}" for i in range(n)], values,
                        ["sine" if i % 2 else "square" for i in range(n)], None)  # fmt: skip


def test_series_whose_scales_spread_are_standardised_each_by_its_own():
    frame, meta = encode_dataset(spread_frame(), "classify", EncodeOptions(val=0.2, test=0.2))
    choice = {c["key"]: c for c in meta["auto"]}["encode.normalize"]
    assert choice["value"] == "series" and "spread" in choice["why"]
    assert meta["input"]["channels"] == 1 and meta["model_fields"]["input_dim"] == 3
    assert meta["model_fields"]["level_channels"] == 2  # the kernel partner reads them as is
    assert len(meta["input"]["scaler"]["reference"]) == 1
    x = [np.asarray(v) for v in frame["x"].to_list()]
    assert all(a.shape == (16, 3) for a in x)
    # every series' values at the same scale, whatever its own: the shapes are comparable
    assert np.allclose([a[:, 0].std() for a in x], 1, atol=1e-4)
    # by hand, the global rule flattens the small series to a line
    opt = EncodeOptions(val=0.2, test=0.2, normalize="global")
    by_hand, flat = encode_dataset(spread_frame(), "classify", opt)
    assert flat["model_fields"]["input_dim"] == 1 and "reference" not in flat["input"]["scaler"]
    assert "level_channels" not in flat["model_fields"]
    small = by_hand.filter(pl.col("id") == "s0")["x"].to_list()[0]  # amplitude 10^-3
    assert np.std(small) < 1e-5
    assert "encode.normalize" not in {c["key"] for c in flat.get("auto", [])}


def test_series_at_one_scale_keep_one_global_standardisation():
    _, meta = encode_dataset(series(), "classify", EncodeOptions(val=0.2, test=0.2))
    choice = {c["key"]: c for c in meta["auto"]}["encode.normalize"]
    assert choice["value"] == "global" and "under 1000x" in choice["why"]
    _, forced = encode_dataset(series(), "classify",
                               EncodeOptions(val=0.2, test=0.2, normalize="series"))  # fmt: skip
    assert forced["model_fields"]["input_dim"] == 6
    assert forced["model_fields"]["level_channels"] == 4
    with pytest.raises(DataError, match="encode.normalize: expected auto, global or series"):
        encode_dataset(series(), "classify", EncodeOptions(val=0.2, normalize="each"))
    tokens = pl.DataFrame({"id": ["a", "b"], "tokens": [["x", "y"], ["y", "z"]]})
    with pytest.raises(DataError, match="this data holds tokens: set it to auto or global"):
        encode_dataset(tokens, "next_state", EncodeOptions(normalize="series"))
