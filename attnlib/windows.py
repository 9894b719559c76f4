"""Forecasting windows: a time split with no look-ahead, and windows cut when loading.

A series of N steps is split by time into train | val | test. Val and test are each a
whole number of horizons at the end (``round(fraction * N / horizon)``, at least one):
for a 144-month series with ``horizon=12`` and fractions 0.1, test is the last 12 months
and validation the 12 before, the classic set-up of the airline benchmarks.

A window is ``lookback`` input steps followed by ``horizon`` target steps. Rules, each
checked by :func:`check_windows`:

- a window's targets lie in one split only, and every input step comes before them;
- train windows lie wholly inside train (inputs and targets), stride 1;
- a val / test window's inputs are the ``lookback`` steps just before its targets, which
  may belong to earlier splits (the past is known when forecasting), never to a later
  one; its targets tile the split with stride ``horizon`` (each step scored once).

Split files hold the rows of their split plus, for val / test, the ``lookback`` rows of
context before it, flagged ``target = False``; windows are cut from them by
:func:`windows_of`, never stored.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from attnlib.errors import DataError
from attnlib.split import check_fractions

SPLIT_ORDER = ("train", "val", "test")


def _eval_steps(n: int, fraction: float, horizon: int) -> int:
    """Steps a val / test share of ``fraction`` holds: whole horizons, at least one."""
    return max(1, round(fraction * n / horizon)) * horizon if fraction > 0 else 0


def _train_steps(n: int, val: float, test: float, horizon: int) -> int:
    """Steps left to train in ``n`` after the val and test horizons (may be negative)."""
    return n - _eval_steps(n, val, horizon) - _eval_steps(n, test, horizon)


def assign_time_splits(n: int, *, val: float, test: float, lookback: int, horizon: int):
    """Split labels for N time steps: train, then val, then test (whole horizons each).

    Returns:
        (N,) array of ``"train"`` / ``"val"`` / ``"test"``.

    Raises:
        DataError: the series is too short for one train window and the eval horizons
            (the message says what would work: :func:`window_advice`).
    """
    check_fractions(val, test)
    n_test, n_val = _eval_steps(n, test, horizon), _eval_steps(n, val, horizon)
    n_train = n - n_val - n_test
    if train_windows(n_train, lookback, horizon) < 1:
        raise DataError(
            f"series of {n} steps: after {n_val} validation and {n_test} test steps, "
            f"{max(n_train, 0)} train steps are fewer than lookback + horizon = "
            f"{lookback + horizon} (encode.lookback={lookback}, encode.horizon={horizon}); "
            + window_advice(n, val=val, test=test, lookback=lookback, horizon=horizon)
        )
    return np.array(["train"] * n_train + ["val"] * n_val + ["test"] * n_test)


def train_part(n: int, *, val: float, test: float, lookback: int, horizon: int) -> np.ndarray:
    """(N,) True on the train part's steps (:func:`assign_time_splits`); on every step when
    the series is too short to split (encoding says so: the rules judge what there is)."""
    try:
        return assign_time_splits(n, val=val, test=test, lookback=lookback, horizon=horizon) == (
            "train")  # fmt: skip
    except DataError:
        return np.ones(n, dtype=bool)


def train_windows(n_train: int, lookback: int, horizon: int) -> int:
    """Windows (stride 1) that lie wholly inside ``n_train`` train steps (what
    :func:`window_starts` finds in a train file)."""
    return max(0, n_train - lookback - horizon + 1)


def enough_windows(n: int, *, val: float, test: float, lookback: int, horizon: int) -> bool:
    """Whether ``n`` steps leave at least as many train windows as lookback steps: fewer
    are too few to learn from (ShampooSales' 36 months at 9 + 9, lookback + horizon: one
    window, MASE 10.6 against the naive forecast's 3.1; at 8 + 7, eight, 0.98: README)."""
    n_train = _train_steps(n, val, test, horizon)
    return train_windows(n_train, lookback, horizon) >= lookback


def few_windows(n: int, *, val: float, test: float, lookback: int, horizon: int) -> str:
    """A warning when ``n`` steps fit the window but not :func:`enough_windows` ("" if
    they do)."""
    n_train = _train_steps(n, val, test, horizon)
    count = train_windows(n_train, lookback, horizon)
    if count < 1 or count >= lookback:
        return ""
    return (f"{count} train window(s) of {lookback} + {horizon} steps in {n_train} train "
            f"steps, fewer than the lookback's {lookback} steps: too few to learn from, so "
            f"the baselines in eval.json may forecast better; "
            + window_advice(n, val=val, test=test, lookback=lookback, horizon=horizon))  # fmt: skip


def window_advice(n: int, *, val: float, test: float, lookback: int, horizon: int) -> str:
    """What would give ``n`` steps enough train windows (:func:`enough_windows`): the rows
    from which this window always does (an eval split grows by a whole horizon at a time,
    so a few rows more can fail again: 18 + 3 at 45-49 rows, not 44), and the
    :func:`fitting_window` for ``n``. ``val + test`` is below 1 (checked by the caller)."""
    geometry = {"val": val, "test": test, "lookback": lookback, "horizon": horizon}
    # each eval split is at most fraction * m + a horizon: every m >= top has enough
    top = int((2 * lookback + 4 * horizon) / (1 - val - test)) + 2
    need = 1 + max(m for m in range(n - 1, max(n, top) + 1)
                   if m < n or not enough_windows(m, **geometry))  # fmt: skip
    windows = f"{lookback} train window{'s' if lookback != 1 else ''}"
    rows = f"it needs at least {need} rows for {windows}; "
    fits = fitting_window(n, **geometry)
    if not fits:
        return rows + (f"no window whose lookback is at least its horizon leaves enough train "
                       f"windows in {n} steps")  # fmt: skip
    return rows + f"a shorter window that leaves enough train windows: {fits}"


def fitting_window(n: int, *, val: float, test: float, lookback: int, horizon: int) -> str:
    """A window for a series of ``n`` steps as ``-S`` arguments ("" when none): the longest
    horizon up to ``horizon``, then the longest lookback up to ``lookback``, that leaves
    enough train windows (:func:`enough_windows`, an empirical floor: ShampooSales) with a
    lookback no shorter than the horizon (or than ``lookback``, if that is shorter). The
    eval splits are whole horizons, so a shorter horizon frees eval steps too: at 24 + 12,
    ShampooSales keeps 12 train steps; at 8 + 7, 22."""
    for h in range(horizon, 0, -1):
        n_train = _train_steps(n, val, test, h)
        lb = min(lookback, (n_train - h + 1) // 2)  # train_windows(n_train, lb, h) >= lb
        if lb >= max(1, min(lookback, h)):
            return (f"-S encode.horizon={h} " if h != horizon else "") + f"-S encode.lookback={lb}"
    return ""


def split_rows(frame: pl.DataFrame, name: str) -> pl.DataFrame:
    """The rows of split ``name`` (flag ``target``) plus, for val / test, their context.

    Args:
        frame: encoded rows in time order with ``step``, ``split`` and the window geometry
            (``lookback``, ``horizon``) columns.
        name: ``train``, ``val`` or ``test``.
    """
    lookback, horizon = int(frame["lookback"][0]), int(frame["horizon"][0])
    is_split = (frame["split"] == name).to_numpy()
    if not is_split.any():
        return frame.clear().with_columns(pl.lit(True).alias("target"))
    first = int(np.argmax(is_split))
    start = first if name == "train" else max(0, first - lookback)
    last = len(is_split) - int(np.argmax(is_split[::-1]))
    rows = frame.slice(start, last - start)
    stride = 1 if name == "train" else horizon
    return rows.with_columns(
        (pl.col("split") == name).alias("target"), pl.lit(stride, pl.Int32).alias("stride")
    )


def history_frame(train: pl.DataFrame, val: pl.DataFrame) -> pl.DataFrame:
    """Every step before the test split as one training frame with stride 1: the windows
    a refit learns from, those whose targets straddle the train / val boundary included
    (the val file's own windows tile it with stride ``horizon``, a few only)."""
    rows = pl.concat([train, val], how="diagonal_relaxed").unique("step", keep="first")
    return rows.sort("step").with_columns(
        pl.lit(True).alias("target"), pl.lit(1, pl.Int32).alias("stride")
    )


def window_starts(target: np.ndarray, lookback: int, horizon: int, stride: int) -> np.ndarray:
    """Row indices t where a window's targets [t, t+H) start, within one split file.

    Args:
        target: (R,) bool, True for the split's own rows (False: context before them).
    """
    first = int(np.argmax(target)) if target.any() else len(target)
    starts = np.arange(max(first, lookback), len(target) - horizon + 1, stride)
    ok = [bool(target[t : t + horizon].all()) for t in starts]
    return starts[np.asarray(ok, dtype=bool)] if len(starts) else starts


def windows_of(frame: pl.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cut the windows of one split file.

    Returns:
        x (W, L, C) inputs, y (W, H, K) targets, and starts (W,) the global ``step`` of
        each window's first target. Values are as stored (standardised); with a ``delta``
        lag m > 0, targets are residuals over the seasonal-naive forecast of lag m
        (``y[t+h] - y[t+h-m]`` within the season; :func:`undo_delta` adds it back).
    """
    L, H, starts = _window_rows(frame)
    x = np.asarray(frame["x"].to_list(), dtype=np.float32)  # (R, C)
    y = np.asarray(frame["y"].to_list(), dtype=np.float32)  # (R, K)
    xi = starts[:, None] + np.arange(-L, 0)[None, :]  # (W, L)
    yi = starts[:, None] + np.arange(H)[None, :]  # (W, H)
    targets = y[yi]
    lag = int(frame["delta"][0]) if "delta" in frame.columns else 0
    if lag:
        base = starts[:, None] + base_offsets(H, lag)[None, :]  # (W, H) rows of the base
        targets = targets - y[base]
    return x[xi], targets, frame["step"].to_numpy()[starts]


def target_steps(frame: pl.DataFrame) -> np.ndarray:
    """(W,) global ``step`` of each window's first target: :func:`windows_of`'s third
    result without building the windows."""
    return frame["step"].to_numpy()[_window_rows(frame)[2]]


def _window_rows(frame: pl.DataFrame) -> tuple[int, int, np.ndarray]:
    """Lookback L, horizon H and the (W,) rows of the first targets of a split's windows."""
    if frame.height == 0:
        raise DataError("the split is empty")
    L, H, S = (int(frame[c][0]) for c in ("lookback", "horizon", "stride"))
    starts = window_starts(frame["target"].to_numpy(), L, H, S)
    if len(starts) == 0:
        raise DataError(f"no window of lookback {L} + horizon {H} fits in {frame.height} rows")
    return L, H, starts


def base_offsets(horizon: int, lag: int) -> np.ndarray:
    """Offsets from a window's first target to each target's seasonal-naive base step.

    Target h is compared with the step ``lag`` before it, repeated across the horizon
    (``-lag + h % lag``, always an input step): lag 1 = the last input step.
    """
    return -lag + np.arange(horizon) % lag


def undo_delta(pred: np.ndarray, x: np.ndarray, target_index: list[int], lag: int) -> np.ndarray:
    """Predicted residuals (W, H, K) -> levels, from the windows' inputs x (W, L, C)."""
    L, H = x.shape[1], pred.shape[1]
    base = x[:, L + base_offsets(H, lag)][:, :, target_index]  # (W, H, K)
    return pred + base


def check_windows(parts: dict[str, pl.DataFrame]) -> None:
    """Raise DataError if any window breaks the rules in the module docstring."""
    rank = {name: i for i, name in enumerate(SPLIT_ORDER)}
    split_of = {}
    for df in parts.values():
        for step, s in zip(df["step"].to_list(), df["split"].to_list(), strict=True):
            split_of[step] = s
    for name, df in parts.items():
        L, H, rows = _window_rows(df)
        for t in df["step"].to_numpy()[rows].tolist():
            inputs, targets = range(t - L, t), range(t, t + H)
            if {split_of[i] for i in targets} != {name}:
                raise DataError(f"{name}: window at step {t} has targets outside '{name}'")
            for i in inputs:
                s = split_of[i]
                if rank[s] > rank[name] or (name == "train" and s != "train") or i >= t:
                    raise DataError(f"{name}: window at step {t} reads step {i} of '{s}'")
