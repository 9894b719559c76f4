"""search: data/split/{train,val}.parquet -> search/best.yaml, trials.parquet, plots.

Reads train and val only (the test split is never opened). The Optuna study lives in
``search.storage`` (default ``sqlite:///search/study.db``): a re-run continues it and a
study that already holds its ``n_trials`` is not run again.

    python -m flows.search                       # one worker, as `dvc repro` runs it
    python -m flows.search --workers 2           # two processes on one study

Many machines share one study through PostgreSQL; run this on each, with its own
--first-worker (worker indices seed the samplers, so they must differ):

    python -m flows.search --storage postgresql+psycopg://user@host/db --workers 2
    python -m flows.search --storage postgresql+psycopg://user@host/db --workers 2 --first-worker 2

The study name carries a fingerprint of the space, the base params and the data, so every
machine must run the same params.yaml on the same data/split files.
"""

from __future__ import annotations

import argparse

import matplotlib.pyplot as plt
import optuna
import polars as pl
import yaml
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from attnlib.data import SequenceData
from attnlib.io import atomic_path, write_json_atomic, write_parquet_atomic, write_text_atomic
from attnlib.search import (
    best_params,
    history,
    history_figure,
    importance_figure,
    make_storage,
    open_study,
    run_search,
    run_workers,
    study_name_for,
    trials_frame,
)
from attnlib.search_space import SearchConfig
from flows._data import load_data, load_meta, model_fields
from flows._params import BEST, SEARCH_DIR, load_params, model_and_train_configs, run_stage, task_of

TRIALS = SEARCH_DIR / "trials.parquet"
STUDY_DB = SEARCH_DIR / "study.db"
SEARCH_PLOTS = SEARCH_DIR / "plots"
DEFAULT_STORAGE = f"sqlite:///{STUDY_DB}"


@task(cache_policy=NO_CACHE)
def load_train_val(task_name: str) -> tuple[SequenceData, SequenceData]:
    """Tensors of the train and val splits, as the train stage loads them (never test)."""
    return load_data("train", task_name)[1], load_data("val", task_name)[1]


@task(cache_policy=NO_CACHE)
def write_outputs(study: optuna.Study | None, keys: list[str]) -> dict:
    """best.yaml, trials.parquet and the plots (empty ones when there is no study)."""
    best = best_params(study) if study else {}
    write_text_atomic(BEST, yaml.safe_dump(best, sort_keys=True) if best else "{}\n")
    if study is not None:
        write_parquet_atomic(TRIALS, trials_frame(study, keys))
        write_json_atomic(SEARCH_PLOTS / "history.json", history(study))
    else:
        write_parquet_atomic(TRIALS, pl.DataFrame({"number": [], "state": []}))
        write_json_atomic(SEARCH_PLOTS / "history.json", [])
    for name, make in (("history.png", history_figure), ("importance.png", importance_figure)):
        fig = make(study)
        with atomic_path(SEARCH_PLOTS / name, suffix=".png") as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)
    return best


@task(tags=["gpu"], cache_policy=NO_CACHE)
def tune(cfg: SearchConfig, train_data, val_data, url: str, workers: int, first_worker: int,
         **kwargs) -> optuna.Study:  # fmt: skip
    """Run the study's trials. Each trains a model, so the task carries the train stage's
    ``gpu`` tag: the tag's concurrency limit caps search and training alike."""
    if workers > 1:
        run_workers(workers, cfg, train_data, val_data, first_worker=first_worker, **kwargs)
        return open_study(cfg, make_storage(url, cfg), kwargs["study_name"])
    return run_search(cfg, train_data, val_data, worker=first_worker, **kwargs)


@flow(name="search")
def search(workers: int = 1, storage: str = "", first_worker: int = 0) -> dict:
    """Tune the ``train`` params on train/val; return the best overrides."""
    logger = get_run_logger()
    params = load_params()
    cfg = SearchConfig.from_params(params.get("search"))
    url = storage or cfg.storage or DEFAULT_STORAGE
    if not STUDY_DB.exists():
        make_storage(DEFAULT_STORAGE, cfg)  # dvc.yaml tracks the file even for other storages
    if not cfg.enabled or not cfg.space:
        logger.info("search: disabled (or empty space); train uses its own params")
        return write_outputs(None, [])
    task_name = task_of(params)
    # the same base configs as the train stage builds (best.yaml then overrides them)
    model, train_cfg = model_and_train_configs(params, **model_fields(load_meta(), task_name))
    train_data, val_data = load_train_val(task_name)
    name = study_name_for(cfg, model, train_cfg, train_data, val_data)
    kwargs = dict(model=model, train_config=train_cfg, storage=url, study_name=name)
    study = tune(cfg, train_data, val_data, url, workers, first_worker, **kwargs)
    best = write_outputs(study, list(cfg.space))
    logger.info(
        "search: study %s, %d trials, best %s",
        name,
        len(study.trials),
        f"{study.best_value:.4f} {best}" if best else "none",
    )
    return best


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.search", description=__doc__)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--storage", default="", help="SQLAlchemy URL (overrides search.storage)")
    parser.add_argument(
        "--first-worker",
        type=int,
        default=0,
        help="index of this machine's first worker; each machine sharing a study needs its "
        "own range (machine 2 of 2 with --workers 2: --first-worker 2)",
    )
    args = parser.parse_args()
    if args.workers < 1 or args.first_worker < 0:
        parser.error("--workers must be >= 1 and --first-worker >= 0")
    run_stage(
        lambda: search(workers=args.workers, storage=args.storage, first_worker=args.first_worker)
    )


if __name__ == "__main__":
    main()
