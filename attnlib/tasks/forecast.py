"""Forecasting: the next ``horizon`` steps of a numeric series from a ``lookback`` window.

Data: one long table (a time column and value columns), split by time with no
look-ahead (:mod:`attnlib.windows`); windows are cut when loading. Targets are the
standardised target channels, optionally residuals over the seasonal-naive forecast of
lag ``delta``. Model: a pooled head with an MLP, output (B, horizon, targets), MSE (or
Huber). The seasonal period (``delta``, baselines, MASE) and the log choice come from the
train part (:mod:`attnlib.seasonality`). Evaluation in the data's own units: MAE, RMSE,
MAPE, sMAPE and MASE beside naive, seasonal naive and Holt-Winters; a forecast-vs-actual
plot of the last test window.
"""

from __future__ import annotations

import logging

import numpy as np
import polars as pl
import torch
from torch import nn

from attnlib import combination, windows
from attnlib.baselines.forecast import guess_season, holt_winters, rolling, seasonal_naive
from attnlib.data import SequenceData
from attnlib.encoding import check_nonempty
from attnlib.errors import DataError
from attnlib.metrics import regression_metrics
from attnlib.models.heads import PooledHead
from attnlib.scaling import Standardizer
from attnlib.scoring import bundle_scaler
from attnlib.seasonality import series_rules
from attnlib.split import SPLITS
from attnlib.tasks import FORECAST
from attnlib.tasks.base import (
    CardNotes,
    EvalContext,
    Evaluation,
    Task,
    refuse_label_smoothing,
)

log = logging.getLogger(__name__)


def _varying(raw: pl.DataFrame, channels: list[str], opt) -> list[str]:
    """The channels that change in the train part (all rows when too short to split)."""
    part = windows.train_part(raw.height, val=opt.val, test=opt.test, lookback=opt.lookback,
                              horizon=opt.horizon)  # fmt: skip
    train = raw.filter(pl.Series(part))
    return [c for c in channels if train[c].n_unique() > 1]


class Forecast(Task):
    name = FORECAST
    accepts = ("long",)
    needs = "a long table (a time column and value columns)"
    # MASE (Hyndman and Koehler 2006): scale-free like MAPE, but defined where the series
    # crosses zero (quarterly growth rates scored MAPEs of about 1e9 %) and comparable across
    # target channels
    headline = "mase"
    unused_model_fields = frozenset({"num_classes"})

    def encode(self, raw, kind, opt, *, source):
        channels = [c for c in raw.columns if c not in ("time", "split", "id")]
        # by default every channel that changes in the train part: a constant one (a series'
        # attribute on one clock, say) is no forecast and has no MASE scale
        varying = channels if opt.targets else _varying(raw, channels, opt)
        targets = list(opt.targets) or varying or channels
        if not opt.targets and len(varying) < len(channels):
            log.info("%s: constant column(s) %s are inputs, not targets", source,
                     [c for c in channels if c not in varying])  # fmt: skip
        missing = [t for t in targets if t not in channels]
        if missing:
            raise DataError(f"{source}: target column(s) {missing} not among {channels}")
        rules = series_rules(raw, lookback=opt.lookback, horizon=opt.horizon, val=opt.val,
                             test=opt.test, log=opt.log, targets=tuple(targets))  # fmt: skip
        delta, delta_why = delta_lag(opt.delta, rules.within_lookback, opt.lookback,
                                     rules.drifts, opt.local_level)  # fmt: skip
        if not 0 <= delta <= opt.lookback:
            raise DataError(f"encode.delta {delta} must lie in 0..lookback ({opt.lookback})")
        local, local_why = local_level(opt.local_level, rules.drifts, delta)
        split = windows.assign_time_splits(
            raw.height, val=opt.val, test=opt.test, lookback=opt.lookback, horizon=opt.horizon
        )
        values = raw.select(channels).to_numpy().astype(np.float64)  # (N, C)
        scaler = Standardizer.fit([values[split == "train"]], log=rules.log)
        tidx = [channels.index(t) for t in targets]
        x = scaler.transform(values)  # (N, C)
        frame = pl.DataFrame({
            "step": pl.Series(np.arange(raw.height), dtype=pl.Int32),
            "time": raw["time"].cast(pl.String),
            "x": pl.Series(x.tolist(), dtype=pl.List(pl.Float32)),
            "y": pl.Series(x[:, tidx].tolist(), dtype=pl.List(pl.Float32)),
            "split": split,
        }).with_columns(pl.lit(opt.lookback, pl.Int32).alias("lookback"),
                        pl.lit(opt.horizon, pl.Int32).alias("horizon"),
                        pl.lit(delta, pl.Int32).alias("delta"))  # fmt: skip
        reasons = [*rules.reasons, delta_why, local_why]  # logged by the encode stage
        few = windows.few_windows(raw.height, val=opt.val, test=opt.test,
                                  lookback=opt.lookback, horizon=opt.horizon)  # fmt: skip
        meta = {
            "task": self.name,
            "labels": None,
            "input": {"kind": kind, "channels": channels, "scaler": scaler.to_dict()},
            "forecast": {"lookback": opt.lookback, "horizon": opt.horizon, "targets": targets,
                         "target_index": tidx, "delta": delta, "season": rules.season,
                         "rules": reasons},
            "model_fields": {"input_kind": "numeric", "input_dim": len(channels),
                             "horizon": opt.horizon, "num_targets": len(targets),
                             "local_level": local, "lookback": opt.lookback},
            "rules": reasons,
            **({"warnings": [few]} if few else {}),
        }  # fmt: skip
        return frame, meta

    def split(self, frame, *, source):
        """Time steps; val / test files carry the ``lookback`` steps of context before them."""
        if "lookback" not in frame.columns:
            raise DataError(f"{source}: not encoded for forecasting; re-run the encode stage")
        parts = {name: windows.split_rows(frame, name) for name in SPLITS}
        check_nonempty(parts, source)
        windows.check_windows(parts)
        return parts

    def tensors(self, frame, *, source) -> SequenceData:
        if "y" not in frame.columns:
            raise DataError(f"{source}: not a forecasting split (no 'y' column)")
        try:
            x, y, _ = windows.windows_of(frame)
        except DataError as exc:
            raise DataError(f"{source}: {exc}") from None
        return SequenceData.numeric(list(x), y)  # x (W, L, C), y (W, H, K)

    def refit_data(self, train, val) -> SequenceData:
        """Every window before the test split, stride 1 (:func:`attnlib.windows.history_frame`)."""
        return self.tensors(windows.history_frame(train, val), source="train + val splits")

    def data_spec(self, meta: dict) -> dict:
        return {k: meta[k] for k in ("task", "input", "forecast") if k in meta}

    def default_model(self, profile, known):
        return "lstm_attention", "forecasting from a window of the past"

    def default_linear_base(self, profile) -> tuple[bool, str]:
        return True, (
            "a ridge forecast from the window (LSTNet's linear term), fitted first and "
            "kept where it beats no base over a rolling-origin backtest; the network "
            "learns what it leaves (README, Forecasting)"
        )

    def default_refit(self, profile) -> tuple[bool, str]:
        return True, (
            "after validation early stopping, refitted for the epoch count it chose on every "
            "window before the test split, whose last span is the one nearest the test "
            "(better on 6 of 11 series, worse on 3: README)"
        )

    def build_head(self, cfg, dim: int) -> nn.Module:
        out = cfg.horizon * cfg.num_targets  # viewed as (B, horizon, targets)
        return PooledHead(dim, out, cfg.attention, cfg.query, cfg.dropout, hidden=dim,
                          shape=(cfg.horizon, cfg.num_targets))  # fmt: skip

    def loss(self, cfg, train=None):
        refuse_label_smoothing(self.name, train)
        huber = train is not None and train.loss == "huber"  # train.loss: mse | huber
        return nn.functional.huber_loss if huber else nn.functional.mse_loss

    def onnx_axes(self, cfg) -> dict:
        steps = "steps" if cfg.name == "cnn_bilstm_attention" else "time"
        return {"output": {0: "batch"}, "attention": {0: "batch", 1: steps}}

    def score(self, ctx: EvalContext) -> Evaluation:
        """Model and baselines on the test windows, in the data's units; the forecast plot.

        The model's forecast is the network's, combined with Holt-Winters' at the weight
        ``evaluate.combine`` gives (:mod:`attnlib.combination`; 0 by default: the network
        alone); with a weight, ``network`` scores the network alone."""
        from attnlib.plots import forecast

        fc, inp = ctx.meta["forecast"], ctx.meta["input"]
        tidx, H = fc["target_index"], fc["horizon"]
        scaler = Standardizer.from_dict(inp["scaler"])
        encoded = pl.concat(ctx.splits, how="vertical_relaxed").unique("step", keep="first")
        encoded = encoded.sort("step")
        series = scaler.inverse(np.asarray(encoded["x"].to_list()))[:, tidx]  # (N, K) raw
        insample = series[(encoded["split"] == "train").to_numpy()]
        # the period encode found; older encoded data: the time column's
        season = ctx.options.season or fc.get("season")
        season = season or guess_season(encoded["time"].to_list(), default=1)
        delta, target_scaler = int(fc.get("delta") or 0), scaler.select(tidx)
        val = self.tensors(ctx.splits[1], source="validation split")
        act_val, net_val = raw_forecasts(ctx.calibrator, val, target_scaler, tidx, delta)
        setting = ctx.options.combine  # 0, the default: the network alone, no fits for it
        val_starts = windows.target_steps(ctx.splits[1])
        hw_val = (rolling(holt_winters, series, val_starts, H, season)
                  if setting == "auto" or setting > 0 else None)  # fmt: skip
        weight, why = combination.choose_weight(setting, net_val, hw_val, act_val,
                                                insample.std(axis=0))  # fmt: skip
        starts = windows.target_steps(ctx.splits[-1])
        # the shortest history Holt-Winters was fitted on here: predict needs as much
        shortest = int(np.concatenate([val_starts, starts]).min()) if weight else 0
        actual, net = raw_forecasts(ctx.model, ctx.test, target_scaler, tidx, delta)
        hw = rolling(holt_winters, series, starts, H, season)  # the baseline's, too
        pred = combination.combine(net, hw, weight)
        metrics = regression_metrics(actual, pred, insample, season)
        report = {"model": {**metrics, "test_windows": len(ctx.test), "season": season,
                            "holt_winters_weight": weight, "combine_rule": why}}  # fmt: skip
        if weight:
            report["network"] = regression_metrics(actual, net, insample, season)
        report.update(baselines(series, starts, H, insample, season, hw))
        t0 = int(starts[-1])
        history = series[max(0, t0 - 3 * fc["lookback"]) : t0, 0]
        forecast(history, actual[-1, :, 0], pred[-1, :, 0], ctx.task_plots / "forecast.png",
                 title=f"Forecast vs actual: {fc['targets'][0]}, last test window")  # fmt: skip
        times = encoded["time"].to_list()
        labels = [[times[t] for t in range(s - fc["lookback"], s)] for s in starts.tolist()]
        ids = [f"window at {times[s]}" for s in starts.tolist()]
        val_pred = combination.combine(net_val, hw_val, weight)
        return Evaluation(
            report,
            [],
            labels,
            ids,
            outputs={"actual": actual, "predicted": pred, "history": history,
                     "val": (val_pred, act_val),
                     "combine": {"holt_winters_weight": weight, "season": int(season),
                                 "holt_winters_history": shortest}},
        )  # fmt: skip

    def trust(self, ctx: EvalContext, result: Evaluation) -> dict:
        """Per-step conformal intervals (validation windows = calibration set, forecast as
        the test windows are: the pre-refit model combined) and the forecast plot with its
        band."""
        from attnlib.trust.checks import interval_checks

        fc = ctx.meta["forecast"]
        out = result.outputs
        pred_val, act_val = out["val"]
        entries, out["saved"] = interval_checks(
            pred_val, act_val, out["predicted"], out["actual"], out["history"],
            alpha=ctx.options.alpha, plots=ctx.task_plots,
            title=f"Forecast vs actual: {fc['targets'][0]}, last test window",
        )  # fmt: skip
        out["saved"].update(out["combine"])  # prediction combines as evaluate did
        return ctx.noting_fit(entries)

    def heatmap(self, w, labels, steps, path, item):
        from attnlib.plots import attention_heatmap

        # the latest steps: the ones next to the forecast
        attention_heatmap(w[-steps:], labels[-steps:], path, title=f"Attention, {item}")

    def predict(self, predictor, frame, *, top_k, attention, batch_size, sets=False):
        """Forecast the ``horizon`` steps after the end of a long table (``time`` +
        channels): one row per step ahead, ``step`` (1..H), then one column per target,
        and ``<target>_lower`` / ``<target>_upper`` (the conformal interval at the bundle's
        alpha) when the bundle has its widths. A bundle with a Holt-Winters weight combines
        as evaluate did, Holt-Winters fitted on every row of ``frame``, which must hold at
        least the shortest history evaluate fitted it on (``holt_winters_history``)."""
        data, scaler = bundle_scaler(predictor)
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
            out = windows.undo_delta(out, x, fc["target_index"], int(fc["delta"]))
        pred = scaler.select(fc["target_index"]).inverse(out[0])  # (H, K)
        if weight := predictor.trust.get("holt_winters_weight"):  # as evaluate combined
            targets = frame.select(fc["targets"]).to_numpy().astype(np.float64)  # (T, K)
            bad = ~np.isfinite(targets)
            if bad.any():
                row, k = np.argwhere(bad)[0]
                raise DataError(
                    f"column '{fc['targets'][k]}', row {row + 1}: {targets[row, k]} is not a "
                    "number; the forecast combines the network with Holt-Winters fitted on "
                    "every row given (evaluate.combine), so every value must be finite"
                )
            need = int(predictor.trust.get("holt_winters_history") or 0)
            if len(targets) < need:
                raise DataError(
                    f"{len(targets)} rows: the forecast combines the network with Holt-Winters "
                    f"(weight {float(weight):g}, evaluate.combine), which evaluate fitted on at "
                    f"least {need} steps of history; give the series from its start, not only "
                    f"its last {L} steps"
                )
            hw = holt_winters(targets, H, int(predictor.trust.get("season") or 1))  # (H, K)
            pred = combination.combine(pred, hw, float(weight))
        cols = {"step": list(range(1, H + 1))}
        width = predictor.trust.get("half_width")  # (H, K); NaN: too few calibration windows
        for k, t in enumerate(fc["targets"]):
            cols[t] = pred[:, k]
            if width is not None:
                w = np.asarray(width, dtype=np.float64)[:, k]  # (H,)
                cols[f"{t}_lower"], cols[f"{t}_upper"] = pred[:, k] - w, pred[:, k] + w
        result = pl.DataFrame(cols)
        if attention:
            weights = [float(v) for v in w[0]]
            result = result.with_columns(pl.Series("attention", [weights] * H))
        return result

    def card(self, cfg) -> CardNotes:
        return CardNotes(
            attention=".",
            intended_use="Forecast the next `horizon` steps of a numeric series from a "
            "`lookback` window.",
            limits=(
                "The reported forecast is the network's, combined with Holt-Winters' at the "
                "metrics' `holt_winters_weight` (`evaluate.combine`; 0 by default, the "
                "network alone; with a weight `network` scores the network alone). "
                "`model.onnx` is the network alone; `attnlib predict` combines, fitting "
                "Holt-Winters on the rows it is given.",
            ),
        )


def delta_lag(
    delta: int | str, season: int, lookback: int, drifts: bool = True, local: bool | str = False
) -> tuple[int, str]:
    """``encode.delta`` as a lag, and why.

    ``season``: the series' period when it fits in ``lookback``, else the time column's
    calendar period inside it (``SeriesRules.within_lookback``, attnlib.seasonality).
    Without one, 1 (residuals over the last value) when the level
    drifts (``drifts``: KPSS), else 0: a stationary series is forecast in levels, because
    differencing it only adds the last value's noise to every target (Box and Jenkins:
    difference only what is not stationary). On quarterly US growth rates (5 channels, no
    season, stationary) the test MAE went from 3.30 to 2.22 (means of 3 seeds, README).
    ``local``: ``encode.local_level`` as set; ``True`` needs residual targets, so then 1.
    """
    if delta != "season":
        return int(delta), f"delta {int(delta)}: as set"
    if 1 < season <= lookback:
        return season, f"delta {season}: residuals over the seasonal naive of period {season}"
    if drifts:
        return (
            1,
            "delta 1: no period within the lookback, the level drifts: residuals over "
            "the last value",
        )
    if local is True:
        return 1, (
            "delta 1: no period within the lookback, the level is stationary, but "
            "local_level is set, which needs residuals: residuals over the last value"
        )
    return 0, "delta 0: no period within the lookback, the level is stationary: levels"


def local_level(setting: bool | str, drifts: bool, delta: int) -> tuple[bool, str]:
    """``encode.local_level``: whether the model reads windows relative to their last step.

    ``auto``: when the level drifts and the targets are residuals (``delta`` > 0), which
    carry no level; with plain levels (``delta`` 0) the model must see the level itself.
    """
    if setting == "auto":
        if not drifts:
            return False, "local_level off: the level is stationary"
        if delta == 0:
            return False, "local_level off: delta 0: the targets are levels"
        return True, "local_level on: the level drifts and the targets are residuals"
    if setting and delta == 0:
        raise DataError(
            "encode.local_level true needs residual targets: the model would not "
            "see the level it must forecast; set encode.delta to 1 or another lag > 0"
        )
    return bool(setting), f"local_level {'on' if setting else 'off'}: as set"


def baselines(series: np.ndarray, starts: np.ndarray, horizon: int, insample: np.ndarray,
              season: int, hw: np.ndarray | None = None) -> dict:  # fmt: skip
    """Naive (the last value), seasonal naive and Holt-Winters, each window forecast from
    everything before it.

    Args:
        series: (N, K) raw target channels over the whole time axis.
        starts: (W,) step of each test window's first target.
        horizon: H. insample: (T, K) the train part (MASE). season: m.
        hw: (W, H, K) Holt-Winters' forecasts of these windows when already fitted.
    """
    out = {}
    actual = np.stack([series[t : t + horizon] for t in starts])  # (W, H, K)
    methods = (("naive", seasonal_naive, 1), ("seasonal_naive", seasonal_naive, season),
               ("holt_winters", holt_winters, season))  # fmt: skip
    for name, fn, m in methods:
        if name == "holt_winters" and hw is not None:
            pred = hw
        else:
            pred = rolling(fn, series, starts, horizon, m)
        out[name] = regression_metrics(actual, pred, insample, season)
    return out


def raw_forecasts(model, data: SequenceData, target_scaler: Standardizer, tidx, delta: int):
    """``model``'s forecasts of ``data``'s windows and their truths in the data's own units.

    Returns: (actual (W, H, K), predicted (W, H, K)), scaling and ``delta`` undone.
    """
    from attnlib.evaluate import predict

    outputs, targets, _ = predict(model, data)
    pred, actual = torch.cat(outputs).numpy(), torch.cat(targets).numpy()
    if delta:  # residuals over the seasonal-naive forecast, read back from the inputs
        x = data.x.numpy()
        pred = windows.undo_delta(pred, x, tidx, delta)
        actual = windows.undo_delta(actual, x, tidx, delta)
    return target_scaler.inverse(actual), target_scaler.inverse(pred)


TASK = Forecast()
TASK.extend_report(TASK.trust)
