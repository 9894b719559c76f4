"""evaluate: test split + models/model -> metrics/eval.json, confusion and attention plots.

The model's numbers stand beside a baseline fitted on the train split (Kneser-Ney n-gram
for next-state prediction, with its order chosen on validation; majority class for
classification), so `dvc metrics diff` shows both.
"""

from __future__ import annotations

import shutil
from collections import Counter

import numpy as np
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from attnlib.evaluate import (
    classify_report,
    kneser_ney_baseline,
    next_state_report,
    predict,
    top_confusion,
)
from attnlib.io import write_json_atomic
from attnlib.persistence import load_model
from attnlib.plots import attention_heatmap, confusion
from flows._data import load_data, read_split
from flows._params import (
    METRICS_DIR,
    MODEL_DIR,
    PLOTS_DIR,
    EvaluateParams,
    load_params,
    run_stage,
    section,
    task_of,
)

HEATMAP_MAX_STEPS = 32  # longer sequences are cut for a readable picture


@task(cache_policy=NO_CACHE)
def baseline(task_name: str, ep: EvaluateParams, vocab_size: int) -> dict:
    """The reference the model has to beat, fitted on train only."""
    train, val, test = (read_split(n) for n in ("train", "val", "test"))
    if task_name == "next_state":
        seqs = [f["ids"].to_list() for f in (train, val, test)]
        return {"kneser_ney": kneser_ney_baseline(*seqs, vocab_size, ep.ngram_orders)}
    majority = Counter(train["label_id"].to_list()).most_common(1)[0][0]
    acc = float(np.mean(np.asarray(test["label_id"].to_list()) == majority))
    return {"majority": {"accuracy": acc}}


@task(cache_policy=NO_CACHE)
def heatmaps(model, frame, data, n: int, task_name: str) -> list[str]:
    """Attention heatmaps (PNG) of the first ``n`` test sequences."""
    out_dir = PLOTS_DIR / "attention"
    shutil.rmtree(out_dir, ignore_errors=True)
    out_dir.mkdir(parents=True)
    if n == 0:
        return []
    sub = type(data)(data.x[:n], data.lengths[:n], data.y[:n], data.y_per_step)
    _, _, ws = predict(model, sub, batch_size=n)
    paths = []
    for i in range(min(n, len(sub))):
        toks = frame["tokens"][i].to_list()
        L = min(int(sub.lengths[i]), HEATMAP_MAX_STEPS)
        w = ws[0][i]
        sid = frame["id"][i]
        if task_name == "next_state":  # row t: attention when predicting token t+1
            img = attention_heatmap(
                w[:L, :L].numpy(),
                toks[:L],
                out_dir / f"{i:02d}.png",
                query_labels=[f"→{t}" for t in toks[1 : L + 1]],
                title=f"Attention, test sequence {sid}",
            )
        else:
            img = attention_heatmap(
                w[:L].numpy(), toks[:L], out_dir / f"{i:02d}.png", title=f"Attention, {sid}"
            )
        paths.append(str(img))
    return paths


@flow(name="evaluate")
def evaluate() -> None:
    params = load_params()
    task_name = task_of(params)
    ep = section(params, "evaluate", EvaluateParams)
    model, meta = load_model(MODEL_DIR)
    frame, test = load_data("test", task_name)
    if task_name == "next_state":
        names = meta.vocab.itos
        metrics, actual, pred = next_state_report(model, test)
        metrics["test_tokens"] = int(len(actual))
    else:
        names = list(meta.label_map)
        metrics, actual, pred = classify_report(model, test, len(names))
    metrics["test_sequences"] = len(test)
    report = {"model": metrics, **baseline(task_name, ep, len(meta.vocab))}
    matrix, labels, records = top_confusion(actual, pred, names, ep.confusion_top)
    confusion(matrix, labels, PLOTS_DIR / "confusion.png")
    write_json_atomic(PLOTS_DIR / "confusion.json", records)
    heatmaps(model, frame, test, ep.heatmaps, task_name)
    write_json_atomic(METRICS_DIR / "eval.json", report)
    log = get_run_logger()
    for name, m in report.items():
        log.info(
            "evaluate: %-10s %s",
            name,
            {k: round(v, 4) for k, v in m.items() if isinstance(v, float)},
        )


if __name__ == "__main__":
    run_stage(evaluate)
