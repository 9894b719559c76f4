"""evaluate: test split + models/model -> metrics/eval.json and plots.

The model's numbers stand beside baselines fitted without the test split, so
`dvc metrics diff` shows both: Kneser-Ney n-grams (next_state); majority class and
TF-IDF + linear SVM (text) or 1-NN Euclidean (series) (classify); seasonal naive and
Holt-Winters (forecast). Plots: a confusion matrix (next_state, classify), forecast vs
actual (forecast) and attention heatmaps of a few test items.
"""

from __future__ import annotations

import shutil

import numpy as np
import polars as pl
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from attnlib.baselines.forecast import guess_season
from attnlib.data import SequenceData
from attnlib.evaluate import (
    classify_baselines,
    classify_report,
    forecast_baselines,
    forecast_report,
    kneser_ney_baseline,
    next_state_report,
    predict,
    top_confusion,
)
from attnlib.io import write_json_atomic
from attnlib.persistence import load_model
from attnlib.plots import attention_heatmap, confusion, forecast, note
from attnlib.scaling import Standardizer
from attnlib.windows import target_steps
from flows._data import load_data, load_meta, read_split
from flows._params import (
    METRICS_DIR,
    MODEL_DIR,
    PLOTS_DIR,
    EvaluateParams,
    load_params,
    run_stage,
    section,
    seed_of,
    task_of,
)

HEATMAP_MAX_STEPS = 32  # longer sequences are cut for a readable picture
Splits = tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]  # train, val, test frames


@task(cache_policy=NO_CACHE)
def ngram_baseline(splits: Splits, vocab_size: int, orders: list[int]) -> dict:
    """Kneser-Ney: order chosen on validation, fitted on train, scored on test."""
    seqs = [f["ids"].to_list() for f in splits]
    return {"kneser_ney": kneser_ney_baseline(*seqs, vocab_size, orders)}


@task(cache_policy=NO_CACHE)
def classifier_baselines(splits: Splits, num_classes: int, seed: int) -> dict:
    """Majority class and TF-IDF + SVM (text) or 1-NN (series), fitted on train + val."""
    train, val, test = splits
    fit = pl.concat([train, val], how="diagonal_relaxed")
    kw: dict = {"seed": seed}
    if "tokens" in fit.columns:
        kw["fit_texts"], kw["test_texts"] = (
            [" ".join(t) for t in f["tokens"].to_list()] for f in (fit, test)
        )
    else:
        kw["fit_series"], kw["test_series"] = (
            [np.asarray(v, dtype=np.float64) for v in f["values"].to_list()] for f in (fit, test)
        )
    return classify_baselines(
        fit["label_id"].to_list(), test["label_id"].to_list(), num_classes, **kw
    )


def _steps(frame: pl.DataFrame, i: int) -> list[str]:
    """Axis labels of test item ``i``: its tokens, or its step numbers."""
    if "tokens" in frame.columns:
        return frame["tokens"][i].to_list()
    return [str(t) for t in range(int(frame["length"][i]))]


def _pooled(labels: list[str], pool: int) -> list[str]:
    """Axis labels for the CNN model's pooled steps: ``first..last`` of each window."""
    return [f"{labels[k]}..{labels[min(k + pool, len(labels)) - 1]}"
            for k in range(0, len(labels), pool)]  # fmt: skip


@task(cache_policy=NO_CACHE)
def heatmaps(model, labels: list[list[str]], ids: list[str], data, n: int, task_name: str):
    """Attention heatmaps (PNG) of the first ``n`` test items."""
    out_dir = PLOTS_DIR / "attention"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    n = min(n, len(data))
    if n == 0:
        return []
    sub = type(data)(data.x[:n], data.lengths[:n], data.y[:n], data.y_per_step)
    _, _, ws = predict(model, sub, batch_size=n)
    paths = []
    cfg = model.config
    pool = cfg.cnn_pool if cfg.name == "cnn_bilstm_attention" else 1
    for i in range(n):
        length = int(sub.lengths[i])  # real steps (next_state: inputs, one fewer than tokens)
        toks = labels[i] if pool == 1 else _pooled(labels[i][:length], pool)
        steps = length if pool == 1 else -(-length // pool)
        w = ws[0][i]
        L = min(steps, HEATMAP_MAX_STEPS)
        path = out_dir / f"{i:02d}.png"
        if task_name == "next_state":  # row t: attention when predicting token t+1
            attention_heatmap(w[:L, :L].numpy(), toks[:L], path,
                              query_labels=[f"→{t}" for t in toks[1 : L + 1]],
                              title=f"Attention, test sequence {ids[i]}")  # fmt: skip
        else:
            w = w[-L:] if task_name == "forecast" else w[:L]  # forecast: the latest steps
            toks = toks[-L:] if task_name == "forecast" else toks[:L]
            attention_heatmap(w.numpy(), toks, path, title=f"Attention, {ids[i]}")
        paths.append(str(path))
    return paths


def evaluate_forecast(
    model, ep: EvaluateParams, meta: dict, splits: Splits, test: SequenceData
) -> tuple[dict, list[list[str]], list[str]]:
    """Model and baselines on the test windows, in the data's units; the forecast plot.

    Returns: (report, heatmap axis labels, heatmap item ids).
    """
    fc, inp = meta["forecast"], meta["input"]
    tidx = fc["target_index"]
    scaler = Standardizer.from_dict(inp["scaler"])
    target_scaler = scaler.select(tidx)
    encoded = pl.concat(splits, how="vertical_relaxed").unique("step", keep="first").sort("step")
    series = scaler.inverse(np.asarray(encoded["x"].to_list()))[:, tidx]  # (N, K) raw
    insample = series[(encoded["split"] == "train").to_numpy()]
    season = ep.season or fc.get("season") or guess_season(encoded["time"].to_list(), default=1)
    metrics, actual, pred = forecast_report(
        model, test, target_scaler, insample, season, target_index=tidx,
        delta=int(fc.get("delta") or 0),
    )  # fmt: skip
    starts = target_steps(splits[-1])
    report = {"model": {**metrics, "test_windows": len(test), "season": season}}
    report.update(forecast_baselines(series, starts, fc["horizon"], insample, season))
    t0 = int(starts[-1])
    history = series[max(0, t0 - 3 * fc["lookback"]) : t0, 0]
    forecast(history, actual[-1, :, 0], pred[-1, :, 0], PLOTS_DIR / "forecast.png",
             title=f"Forecast vs actual: {fc['targets'][0]}, last test window")  # fmt: skip
    times = encoded["time"].to_list()
    labels = [[times[t] for t in range(s - fc["lookback"], s)] for s in starts.tolist()]
    return report, labels, [f"window at {times[s]}" for s in starts.tolist()]


@flow(name="evaluate")
def evaluate() -> None:
    params = load_params()
    task_name = task_of(params)
    ep = section(params, "evaluate", EvaluateParams)
    model, saved = load_model(MODEL_DIR)
    meta = load_meta()
    frame, test = load_data("test", task_name)
    # next_state drops 1-token test sequences; they hold nothing to predict for n-grams either
    splits = (read_split("train"), read_split("val"), frame)
    if task_name == "forecast":
        report, labels, ids = evaluate_forecast(model, ep, meta, splits, test)
        records: list[dict] = []
        note(PLOTS_DIR / "confusion.png", "forecast: no confusion matrix")
    else:
        if task_name == "next_state":
            names = saved.vocab.itos
            metrics, actual, pred = next_state_report(model, test)
            metrics["test_tokens"] = int(len(actual))
            baselines = ngram_baseline(splits, len(saved.vocab), ep.ngram_orders)
        else:
            names = list(saved.label_map)
            metrics, actual, pred = classify_report(model, test, len(names))
            baselines = classifier_baselines(splits, len(names), seed_of(params))
        metrics["test_sequences"] = len(test)
        report = {"model": metrics, **baselines}
        matrix, cm_labels, records = top_confusion(actual, pred, names, ep.confusion_top)
        confusion(matrix, cm_labels, PLOTS_DIR / "confusion.png")
        note(PLOTS_DIR / "forecast.png", f"{task_name}: no forecast")
        labels = [_steps(frame, i) for i in range(min(ep.heatmaps, frame.height))]
        ids = frame["id"].to_list()[: len(labels)]
    write_json_atomic(PLOTS_DIR / "confusion.json", records)
    heatmaps(model, labels, ids, test, min(ep.heatmaps, len(labels)), task_name)
    write_json_atomic(METRICS_DIR / "eval.json", report)
    log = get_run_logger()
    for name, m in report.items():
        shown = {k: round(v, 4) for k, v in m.items() if isinstance(v, float)}
        log.info("evaluate: %-14s %s", name, shown)


if __name__ == "__main__":
    run_stage(evaluate)
