"""evaluate: test split + models/model -> metrics/eval.json and plots.

The task evaluates (:meth:`attnlib.tasks.base.Task.evaluate`): the model's numbers stand
beside baselines fitted without the test split, so `dvc metrics diff` shows both
(Kneser-Ney n-grams for next_state; majority class and TF-IDF + linear SVM or 1-NN for
classify; seasonal naive and Holt-Winters for forecast). Plots: a confusion matrix or
forecast vs actual, and attention heatmaps of a few test items. The trust checks
(calibration, conformal sets / intervals, faithfulness) are the tasks' report extensions;
what prediction needs of them goes to models/calibration.json (export bundles it).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from attnlib.evaluate import evaluate as evaluate_model
from attnlib.folds import calibration_sets
from attnlib.io import write_json_atomic
from attnlib.persistence import load_heldout, load_model
from attnlib.tasks import EvalContext, Evaluation, get_task
from attnlib.versus import sentence
from flows._data import load_data, load_meta, read_split
from flows._params import (
    CALIBRATION,
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


@task(cache_policy=NO_CACHE)
def score(task_name: str, ctx: EvalContext) -> Evaluation:
    """Model and baselines on the test split; the task's plots and attention heatmaps."""
    return evaluate_model(get_task(task_name), ctx)


@flow(name="evaluate")
def evaluate() -> None:
    params = load_params()
    task_name = task_of(params)
    model, saved = load_model(MODEL_DIR)
    frame, test = load_data("test", task_name)  # the rows with something to predict
    train, val, heldout = read_split("train"), read_split("val"), load_heldout(MODEL_DIR)
    folds = saved.extra.get("calibration_folds") or []  # the members' rotated folds
    ctx = EvalContext(
        model, saved, load_meta(), (train, val, frame), test,
        section(params, "evaluate", EvaluateParams), seed_of(params), PLOTS_DIR,
        heldout=heldout,  # a refit's early-stopped start: calibration
        out_of_fold=calibration_sets(task_name, model, heldout, folds,
                                     int(saved.train_config.get("seed", 0)), train, val),
    )  # fmt: skip
    result = score(task_name, ctx)
    write_json_atomic(PLOTS_DIR / "confusion.json", result.confusion)
    write_json_atomic(METRICS_DIR / "eval.json", result.report)
    write_json_atomic(CALIBRATION, result.outputs.get("saved", {}))
    log = get_run_logger()
    for name, m in result.report.items():
        if name == "versus":
            continue  # not a model's scores: its verdict is logged below
        shown = {k: round(v, 4) for k, v in m.items() if isinstance(v, float)}
        log.info("evaluate: %-14s %s", name, shown)
    if line := sentence(result.report):
        log.info("evaluate: %s", line)


if __name__ == "__main__":
    run_stage(evaluate)
