"""search: data/split/{train,val}.parquet -> search/best.yaml, trials.parquet, plots.

Reads train and val only (never test). The Optuna study lives in ``search.storage``
(default ``sqlite:///search/study.db``): a re-run continues it. ``--workers N`` runs N
processes on one study; machines sharing a PostgreSQL study (``--storage URL``) run the
same params and data, each with its own ``--first-worker`` (worker indices seed samplers).
"""

from __future__ import annotations

import argparse

import optuna
import polars as pl
import yaml
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from attnlib.auto import DataProfile, resolve_search
from attnlib.io import write_json_atomic, write_parquet_atomic, write_text_atomic
from attnlib.search import make_storage, study_name_for
from attnlib.search import tune as run_trials
from attnlib.search_report import best_params, history, save_figures, trials_frame
from attnlib.search_space import SearchConfig
from flows._data import load_data, load_meta, model_fields
from flows._params import BEST, SEARCH_DIR, load_params, model_and_train_configs, run_stage, task_of

TRIALS, STUDY_DB, SEARCH_PLOTS = (SEARCH_DIR / n for n in ("trials.parquet", "study.db", "plots"))
DEFAULT_STORAGE = f"sqlite:///{STUDY_DB}"


@task(cache_policy=NO_CACHE)
def write_outputs(study: optuna.Study | None, keys: list[str]) -> dict:
    """best.yaml, trials.parquet and the plots (empty ones when there is no study)."""
    best = best_params(study) if study else {}
    write_text_atomic(BEST, yaml.safe_dump(best, sort_keys=True) if best else "{}\n")
    trials = trials_frame(study, keys) if study else pl.DataFrame({"number": [], "state": []})
    write_parquet_atomic(TRIALS, trials)
    write_json_atomic(SEARCH_PLOTS / "history.json", history(study) if study else [])
    save_figures(study, SEARCH_PLOTS)
    return best


# Each trial trains a model, so the task carries the train stage's ``gpu`` tag: the tag's
# concurrency limit caps search and training alike.
tune = task(run_trials, name="tune", tags=["gpu"], cache_policy=NO_CACHE)


@flow(name="search")
def search(workers: int = 1, storage: str = "", first_worker: int = 0) -> dict:
    """Tune the ``train`` params on train/val (never test); return the best overrides."""
    params = load_params()
    cfg = SearchConfig.from_params(params.get("search"))
    if not STUDY_DB.exists():
        make_storage(DEFAULT_STORAGE, cfg)  # dvc.yaml tracks the file even for other storages
    task_name = task_of(params)
    train_data, val_data = load_data("train", task_name)[1], load_data("val", task_name)[1]
    fields = model_fields(load_meta(), task_name)
    # the same base configs as the train stage builds (best.yaml then overrides them)
    model, train_cfg = model_and_train_configs(params, None, train_data, **fields)
    profile = DataProfile.of_fields(task_name, train_data, fields)
    enabled, why = resolve_search(cfg.enabled, profile, cfg.epochs, train_cfg.batch_size)
    if not enabled or not cfg.space:
        get_run_logger().info("search: off (%s); train uses its own params",
                              why.why if why else "disabled, or an empty space")  # fmt: skip
        return write_outputs(None, [])
    name = study_name_for(cfg, model, train_cfg, train_data, val_data)
    study = tune(cfg, train_data, val_data, workers=workers, first_worker=first_worker,
                 model=model, train_config=train_cfg, study_name=name,
                 storage=storage or cfg.storage or DEFAULT_STORAGE)  # fmt: skip
    best = write_outputs(study, list(cfg.space))
    get_run_logger().info("search: study %s, %d trials, best %s", name, len(study.trials),
                          f"{study.best_value:.4f} {best}" if best else "none")  # fmt: skip
    return best


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.search", description=__doc__)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--storage", default="", help="SQLAlchemy URL (overrides search.storage)")
    parser.add_argument("--first-worker", type=int, default=0, help="index of this machine's "
                        "first worker; machines sharing a study need their own ranges")  # fmt: skip
    args = parser.parse_args()
    if args.workers < 1 or args.first_worker < 0:
        parser.error("--workers must be >= 1 and --first-worker >= 0")
    run_stage(lambda: search(args.workers, args.storage, args.first_worker))


if __name__ == "__main__":
    main()
