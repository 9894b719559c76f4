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
from attnlib.plots import attention_heatmap, confusion, forecast
from attnlib.scaling import Standardizer
from attnlib.windows import windows_of
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


@task(cache_policy=NO_CACHE)
def sequence_baselines(task_name: str, ep: EvaluateParams, vocab_size: int, seed: int) -> dict:
    """Kneser-Ney (next_state) or the classification baselines, without the test split."""
    train, val, test = (read_split(n) for n in ("train", "val", "test"))
    if task_name == "next_state":
        seqs = [f["ids"].to_list() for f in (train, val, test)]
        return {"kneser_ney": kneser_ney_baseline(*seqs, vocab_size, ep.ngram_orders)}
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
    num_classes = int(max(fit["label_id"].max(), test["label_id"].max())) + 1
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


def evaluate_forecast(model, ep: EvaluateParams, meta: dict) -> tuple[dict, tuple]:
    """Model and baselines on the test windows, in the data's units; the forecast plot."""
    _, test = load_data("test", "forecast")
    frame = read_split("test")
    fc, inp = meta["forecast"], meta["input"]
    tidx = fc["target_index"]
    scaler = Standardizer.from_dict(inp["scaler"])
    target_scaler = scaler.select(tidx)
    encoded = pl.concat([read_split(n) for n in ("train", "val", "test")], how="vertical_relaxed")
    encoded = encoded.unique("step", keep="first").sort("step")
    series = scaler.inverse(np.asarray(encoded["x"].to_list()))[:, tidx]  # (N, K) raw
    insample = series[(encoded["split"] == "train").to_numpy()]
    season = ep.season or guess_season(encoded["time"].to_list(), default=1)
    metrics, actual, pred = forecast_report(
        model, test, target_scaler, insample, season, target_index=tidx,
        delta=int(fc.get("delta") or 0),
    )  # fmt: skip
    _, _, starts = windows_of(frame)
    report = {"model": {**metrics, "test_windows": len(test), "season": season}}
    report.update(forecast_baselines(series, starts, fc["horizon"], insample, season))
    t0 = int(starts[-1])
    history = series[max(0, t0 - 3 * fc["lookback"]) : t0, 0]
    forecast(history, actual[-1, :, 0], pred[-1, :, 0], PLOTS_DIR / "forecast.png",
             title=f"Forecast vs actual: {fc['targets'][0]}, last test window")  # fmt: skip
    times = encoded["time"].to_list()
    labels = [[times[t] for t in range(s - fc["lookback"], s)] for s in starts.tolist()]
    return report, (labels, [f"window at {times[s]}" for s in starts.tolist()], test)


def note(path, text: str) -> None:
    """A small PNG saying why a plot does not apply (DVC expects every declared plot)."""
    import matplotlib.pyplot as plt

    from attnlib.io import atomic_path

    fig, ax = plt.subplots(figsize=(4, 1))
    ax.axis("off")
    ax.text(0.5, 0.5, text, ha="center", va="center")
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


@flow(name="evaluate")
def evaluate() -> None:
    params = load_params()
    task_name = task_of(params)
    ep = section(params, "evaluate", EvaluateParams)
    model, saved = load_model(MODEL_DIR)
    meta = load_meta()
    if task_name == "forecast":
        report, (labels, ids, test) = evaluate_forecast(model, ep, meta)
        records: list[dict] = []
        note(PLOTS_DIR / "confusion.png", "forecast: no confusion matrix")
    else:
        frame, test = load_data("test", task_name)
        if task_name == "next_state":
            names = saved.vocab.itos
            metrics, actual, pred = next_state_report(model, test)
            metrics["test_tokens"] = int(len(actual))
        else:
            names = list(saved.label_map)
            metrics, actual, pred = classify_report(model, test, len(names))
        metrics["test_sequences"] = len(test)
        vocab_size = len(saved.vocab) if saved.vocab is not None else 0
        baselines = sequence_baselines(task_name, ep, vocab_size, seed_of(params))
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
