"""Forecasting windows: time split, context rows, and no window crossing a boundary."""

import re

import numpy as np
import polars as pl
import pytest

from attnlib.encode import EncodeOptions, encode_dataset, to_sequence_data
from attnlib.errors import DataError
from attnlib.windows import (
    assign_time_splits,
    check_windows,
    history_frame,
    split_rows,
    target_steps,
    train_windows,
    undo_delta,
    window_starts,
    windows_of,
)


def long_frame(n: int, channels: int = 2) -> pl.DataFrame:
    t = np.arange(n, dtype=float)
    data = {"time": [f"{2000 + i // 12}-{i % 12 + 1:02d}" for i in range(n)]}
    for c in range(channels):
        data[f"c{c}"] = 100 + t * (c + 1) + 10 * np.sin(2 * np.pi * t / 12)
    return pl.DataFrame(data)


def parts_of(n=144, lookback=24, horizon=12, val=0.1, test=0.1, channels=2, targets=(),
             delta=1):  # fmt: skip
    opt = EncodeOptions(val=val, test=test, lookback=lookback, horizon=horizon, targets=targets,
                        delta=delta)  # fmt: skip
    frame, meta = encode_dataset(long_frame(n, channels), "forecast", opt)
    return {s: split_rows(frame, s) for s in ("train", "val", "test")}, meta


def test_val_and_test_are_whole_horizons_at_the_end():
    split = assign_time_splits(144, val=0.1, test=0.1, lookback=24, horizon=12)
    assert (split[-12:] == "test").all() and (split[-24:-12] == "val").all()
    assert (split[:120] == "train").all()
    split = assign_time_splits(526, val=0.1, test=0.1, lookback=24, horizon=12)
    assert (split == "test").sum() == 48 and (split == "val").sum() == 48


def test_too_short_a_series_is_an_error():
    with pytest.raises(DataError, match="fewer than lookback \\+ horizon"):
        assign_time_splits(40, val=0.1, test=0.1, lookback=24, horizon=12)


def suggested(message: str, lookback: int, horizon: int) -> tuple[int, int]:
    """The (lookback, horizon) a too-short error's ``-S encode.*=N`` arguments name."""
    args = dict(re.findall(r"-S encode\.(\w+)=(\d+)", message))
    return int(args.get("lookback", lookback)), int(args.get("horizon", horizon))


def enough(n: int, lookback: int, horizon: int, val=0.1, test=0.1) -> bool:
    """Whether a window leaves at least as many train windows as lookback steps."""
    try:
        split = assign_time_splits(n, val=val, test=test, lookback=lookback, horizon=horizon)
    except DataError:
        return False
    return train_windows(int((split == "train").sum()), lookback, horizon) >= lookback


@pytest.mark.parametrize(
    ("lookback", "horizon", "val", "test"),
    [(24, 12, 0.1, 0.1), (4, 24, 0.1, 0.1), (48, 7, 0.1, 0.1), (24, 12, 0.0, 0.2),
     (4, 24, 0.2, 0.0), (12, 6, 0.45, 0.45), (2, 2, 0.45, 0.45), (18, 3, 0.1, 0.1)],
)  # fmt: skip
def test_too_short_a_series_names_the_rows_and_the_longest_window_that_learns(
    lookback, horizon, val, test
):
    checked = 0
    for n in range(2, 4 * (lookback + horizon)):
        try:
            assign_time_splits(n, val=val, test=test, lookback=lookback, horizon=horizon)
            continue
        except DataError as e:
            message = str(e)
        checked += 1
        need = int(re.search(r"needs at least (\d+) rows", message)[1])
        assert enough(need, lookback, horizon, val, test), message
        # from need rows on, every longer series has enough; need - 1 (>= n) has not
        assert not enough(need - 1, lookback, horizon, val, test), message
        longer = range(need, need + 3 * (lookback + horizon))
        assert all(enough(m, lookback, horizon, val, test) for m in longer), message
        if "no window whose lookback" in message:  # none with lookback >= min(its horizon, ours)
            assert not any(enough(n, k, h, val, test) for h in range(1, horizon + 1)
                           for k in range(min(lookback, h), lookback + 1)), message  # fmt: skip
            continue
        lb, h = suggested(message, lookback, horizon)
        assert 1 <= h <= horizon and min(lookback, h) <= lb <= lookback, message
        assert enough(n, lb, h, val, test), message
        if lb < lookback:  # the longest lookback up to the given one at that horizon
            assert not enough(n, lb + 1, h, val, test), message
        for longer in range(h + 1, horizon + 1):  # no longer horizon has a long enough one
            lookbacks = range(min(lookback, longer), lookback + 1)
            assert not any(enough(n, k, longer, val, test) for k in lookbacks), message
    assert checked > 0


def test_a_monthly_series_of_three_years_is_told_horizon_7():
    with pytest.raises(DataError) as e:
        assign_time_splits(36, val=0.1, test=0.1, lookback=24, horizon=12)
    # 7 val + 7 test steps leave 22 for train: 8 windows of 8 + 7 (at 9 + 9: one window)
    assert suggested(str(e.value), 24, 12) == (8, 7)


def test_fractions_that_leave_no_train_part_are_an_error():
    with pytest.raises(DataError, match="sum below 1"):
        assign_time_splits(100, val=0.5, test=0.5, lookback=4, horizon=2)


def test_too_few_train_windows_is_a_warning_naming_a_window_with_enough():
    _, meta = parts_of(n=36, lookback=9, horizon=9, channels=1)
    (warning,) = meta["warnings"]
    assert warning.startswith("1 train window(s) of 9 + 9 steps in 18 train steps")
    assert suggested(warning, 9, 9) == (8, 7)
    assert "it needs at least 44 rows for 9 train windows" in warning  # 26 train: 9 windows
    _, meta = parts_of(n=36, lookback=8, horizon=7, channels=1)
    assert "warnings" not in meta


@pytest.mark.parametrize(
    ("n", "lookback", "horizon", "val", "test"),
    [(144, 24, 12, 0.1, 0.1), (300, 10, 5, 0.2, 0.15), (100, 3, 1, 0.1, 0.3), (60, 7, 4, 0.3, 0.3)],
)
def test_windows_never_cross_split_boundaries(n, lookback, horizon, val, test):
    """Every window's targets lie in its own split and every input step comes before
    them; train windows lie wholly in train; no window reads a later split."""
    parts, _ = parts_of(n, lookback, horizon, val, test)
    check_windows(parts)  # raises on any violation
    split_of = {}
    for df in parts.values():
        split_of.update(zip(df["step"].to_list(), df["split"].to_list(), strict=True))
    order = {"train": 0, "val": 1, "test": 2}
    scored = []
    for name, df in parts.items():
        _, _, starts = windows_of(df)
        assert len(starts) > 0
        for t in starts.tolist():
            inputs, targets = range(t - lookback, t), range(t, t + horizon)
            assert {split_of[i] for i in targets} == {name}
            assert max(inputs) < min(targets)
            assert all(order[split_of[i]] <= order[name] for i in inputs)
            if name == "train":
                assert {split_of[i] for i in inputs} == {"train"}
            else:
                scored.extend(targets)
    assert len(scored) == len(set(scored))  # val / test steps are scored once each


def test_a_leaking_window_is_caught():
    parts, _ = parts_of()
    train = parts["train"]
    # pretend the first validation row were a train target: a train window would read val
    first_val = parts["val"].filter(pl.col("target")).head(1)
    bad = pl.concat([train, first_val.with_columns(pl.lit(1, pl.Int32).alias("stride"))])
    with pytest.raises(DataError, match="train: window at step"):
        check_windows({**parts, "train": bad})


@pytest.mark.parametrize("delta", [0, 1, 12])
def test_window_shapes_and_values(delta):
    parts, meta = parts_of(channels=2, targets=("c1",), delta=delta)
    x, y, starts = windows_of(parts["test"])
    assert x.shape == (1, 24, 2) and y.shape == (1, 12, 1)
    assert starts.tolist() == [132]
    for part in parts.values():  # the steps alone, without building windows
        assert target_steps(part).tolist() == windows_of(part)[2].tolist()
    full = pl.concat(list(parts.values())).unique("step").sort("step")
    xs = np.asarray(full["x"].to_list())
    assert np.allclose(x[0], xs[108:132])
    if delta == 1:  # changes from the last input step
        assert np.allclose(y[0, :, 0], xs[132:144, 1] - xs[131, 1])
    if delta == 12:  # residuals over the same month a year before
        assert np.allclose(y[0, :, 0], xs[132:144, 1] - xs[120:132, 1])
    if delta:  # undo_delta gives the levels back
        y = undo_delta(y, x, meta["forecast"]["target_index"], delta)
    assert np.allclose(y[0, :, 0], xs[132:144, 1])
    data = to_sequence_data(parts["train"], "forecast")
    assert tuple(data.y.shape) == (120 - 24 - 12 + 1, 12, 1)
    assert meta["model_fields"] == {"input_kind": "numeric", "input_dim": 2, "horizon": 12,
                                    "num_targets": 1, "local_level": False,
                                    "lookback": 24}  # fmt: skip
    assert "tokens" not in meta  # numeric data has no vocabulary


def test_scaling_uses_train_statistics_only():
    parts, meta = parts_of(channels=1)
    raw = long_frame(144, 1)["c0"].to_numpy()
    assert meta["input"]["scaler"]["mean"][0] == pytest.approx(raw[:120].mean())
    assert meta["input"]["scaler"]["std"][0] == pytest.approx(raw[:120].std())


def test_window_starts_respect_context_and_stride():
    target = np.array([False] * 3 + [True] * 7)
    assert window_starts(target, lookback=3, horizon=2, stride=2).tolist() == [3, 5, 7]
    assert window_starts(np.ones(6, bool), lookback=2, horizon=2, stride=1).tolist() == [2, 3, 4]


@pytest.mark.parametrize(
    ("n", "lookback", "horizon", "delta"),
    [(144, 24, 12, 1), (309, 24, 12, 11), (150, 13, 5, 12), (100, 3, 1, 1)],
)
def test_a_refits_history_is_every_stride_1_window_before_the_test_split(n, lookback, horizon,
                                                                         delta):  # fmt: skip
    """The train file's windows, then those whose targets reach into val, then val's own,
    at stride 1; none reads or predicts a test step."""
    parts, _ = parts_of(n, lookback, horizon, delta=delta)
    frame = history_frame(parts["train"], parts["val"])
    x, y, starts = windows_of(frame)
    test_first = int(parts["test"].filter(pl.col("target"))["step"].min())
    assert starts.tolist() == list(range(lookback, test_first - horizon + 1))
    assert frame["step"].to_list() == list(range(test_first))  # each step once, in order
    train_x, train_y, train_starts = windows_of(parts["train"])
    n_val = len(windows_of(parts["val"])[2])
    # horizon 1: val's stride is 1 already; longer: more windows than the two files hold
    assert (
        len(starts) == len(train_starts) + n_val
        if horizon == 1
        else len(starts) > len(train_starts) + n_val
    )
    k = len(train_starts)  # the train file's windows come first, unchanged
    assert np.array_equal(x[:k], train_x) and np.array_equal(y[:k], train_y)
    val_x, val_y, val_starts = windows_of(parts["val"])
    at = np.searchsorted(starts, val_starts)  # the val file's windows are among them
    assert np.array_equal(x[at], val_x) and np.array_equal(y[at], val_y)
