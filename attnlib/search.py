"""Hyper-parameter search: a resumable, prunable, shareable Optuna study.

- The objective is suggest -> build -> fit on the train split, reporting the validation
  loss after every epoch so the pruner can stop hopeless trials. It sees train and val only.
- The study lives in an RDB storage (a SQLite file, or PostgreSQL for many workers). A
  re-run continues it; a trial killed mid-way stops sending heartbeats, is marked FAIL once
  its grace period has passed and is queued once more with the same parameters.
- The budget is exact: the study ends with ``n_trials`` COMPLETE + PRUNED trials however
  many workers share it (see :func:`run_search`).
- The study's name carries a fingerprint of everything that makes its trials comparable
  (space, epochs, base configs, data), so changing any of them starts a fresh study.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import multiprocessing as mp
import os
import random
import time
import warnings

import numpy as np
import optuna
import torch
from optuna.storages import RDBStorage
from optuna.trial import TrialState

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import Batches, SequenceData
from attnlib.errors import TrainingError
from attnlib.models import build_model, loss_fn, plain_loss_fn
from attnlib.models.linear_base import fit_linear_base
from attnlib.processes import exit_with_parent, stop_processes
from attnlib.search_report import (  # noqa: F401  (re-exported)
    best_params,
    history,
    history_figure,
    importance_figure,
    importances,
    trials_frame,
)
from attnlib.search_space import SearchConfig, apply_overrides, check_space, suggest
from attnlib.study import (  # noqa: F401  (re-exported)
    make_pruner,
    make_sampler,
    make_storage,
    open_study,
    study_name_for,
)
from attnlib.train import fit, seed_everything

log = logging.getLogger(__name__)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
# A trial in one of these states will (or did) become COMPLETE / PRUNED unless it dies.
CLAIMED = (*FINISHED, TrialState.RUNNING, TrialState.WAITING)
VAL_BATCH = 128  # evaluation only: the loss is a per-target mean, whatever the batch size
POLL_SECONDS = 1.0  # how often a worker waiting on others' trials looks again


class _BudgetTaken(Exception):
    """Earlier trials already claim the whole budget; this trial is dropped (state FAIL)."""


def _count(storage: RDBStorage, study_id: int, states, before: int | None = None) -> int:
    trials = storage.get_all_trials(study_id, deepcopy=False, states=states)
    return sum(1 for t in trials if before is None or t.number < before)


def _objective(
    trial: optuna.Trial,
    *,
    config: SearchConfig,
    model: ModelConfig,
    train_config: TrainConfig,
    train_data: SequenceData,
    val_data: SequenceData,
    storage: RDBStorage,
    worker: int,
) -> float:
    # Trial numbers are assigned under a lock, so "claimed trials numbered below mine" is
    # the same answer for every worker: at most n_trials trials ever get past this line.
    claimed = _count(storage, trial.study._study_id, CLAIMED, before=trial.number)
    if claimed >= config.n_trials:
        trial.set_user_attr("surplus", True)
        raise _BudgetTaken(
            f"dropped, not an error: {claimed} earlier trials already claim the budget of "
            f"{config.n_trials}"
        )
    trial.set_user_attr("worker", worker)
    overrides = suggest(trial, config.space)
    m_cfg, t_cfg = apply_overrides(model, train_config, overrides)
    # a trial's budget and patience are the search's own (min_steps scaling is for the final
    # fit); a trial stopped by its patience is complete, valued at its best epoch (of the
    # validation loss: what the study ranks, whatever the final fit's train.select)
    t_cfg = t_cfg.model_copy(
        update={
            "epochs": config.epochs,
            "patience": config.patience or config.epochs,
            "progress": False,
            "min_steps": 0,
            "select": "val",
        }
    )
    epochs_run = 0

    def report(epoch: int, logs: dict) -> None:
        nonlocal epochs_run
        epochs_run = epoch + 1
        trial.report(logs["val_loss"], epoch + 1)  # step = epochs trained (the resource)
        if trial.should_prune():
            raise optuna.TrialPruned(f"epoch {epoch + 1}: val_loss {logs['val_loss']:.4f}")

    t0 = time.perf_counter()
    seed_everything(t_cfg.seed)
    net = build_model(m_cfg)
    fit_linear_base(net, train_data, val_data)  # forecasts; a classifier's n-gram partner is
    # fitted and mixed by the train stage only: trials rank the network alone
    train_b = Batches(
        train_data, t_cfg.batch_size, shuffle=True, bucket=t_cfg.bucket, seed=t_cfg.seed
    )
    val_b = Batches(val_data, VAL_BATCH, bucket=True)
    try:
        hist = fit(
            net,
            train_b,
            val_b,
            t_cfg,
            loss_fn=loss_fn(m_cfg, t_cfg),
            val_loss_fn=plain_loss_fn(m_cfg, t_cfg),
            callbacks=[report],
        )
    except TrainingError as exc:  # diverged (NaN / inf loss): a hopeless setting, not a bug
        trial.set_user_attr("error", str(exc))
        raise optuna.TrialPruned(f"diverged: {exc}") from None
    finally:
        trial.set_user_attr("epochs", epochs_run)
        trial.set_user_attr("seconds", round(time.perf_counter() - t0, 3))
        del net, train_b, val_b
        gc.collect()  # free the model before the next trial
    return hist.best_val_loss


def _trial_seed(seed: int, worker: int, n_trials_in_study: int) -> int:
    # Different per worker (no duplicate proposals) and per resumption (a re-run does not
    # replay the random start-up trials it already ran), yet reproducible.
    ss = np.random.SeedSequence([seed % 2**32, worker, n_trials_in_study])
    return int(ss.generate_state(1)[0])


def run_search(
    config: SearchConfig,
    train_data: SequenceData,
    val_data: SequenceData,
    *,
    model: ModelConfig,
    train_config: TrainConfig,
    storage: str,
    worker: int = 0,
    study_name: str | None = None,
) -> optuna.Study:
    """Run trials in this process until the study holds ``n_trials`` finished trials.

    Safe to run in many processes (or on many machines) against one storage. Before each
    trial a worker fails stale trials (whose retries are queued), then counts: it stops when
    ``n_trials`` trials are COMPLETE or PRUNED, waits while running trials could still fill
    the budget, and otherwise starts one. Inside, a trial that finds ``n_trials`` claimed
    trials numbered below it is dropped before it trains (state FAIL, user attr
    ``surplus``), so concurrent starts never overshoot.

    Args:
        config: the ``search`` section.
        train_data, val_data: the splits to fit and score on (never the test split).
        model, train_config: base configs; each trial overrides the keys of ``config.space``.
        storage: SQLAlchemy URL of the study storage.
        worker: index of this worker; seeds its sampler differently from the others'.
        study_name: defaults to :func:`study_name_for` of the arguments.

    Returns:
        The study (loaded from ``storage``).
    """
    check_space(config.space, model, train_config)
    name = study_name or study_name_for(config, model, train_config, train_data, val_data)
    rdb = make_storage(storage, config)
    study = open_study(config, rdb, name, seed=train_config.seed + worker)
    start = time.monotonic()
    with _trial_progress(config.n_trials, train_config.progress) as advance:
        _search_loop(study, rdb, config, start, advance, model=model, train_config=train_config,
                     train_data=train_data, val_data=val_data, worker=worker)  # fmt: skip
    return study


@contextlib.contextmanager
def _trial_progress(total: int, enabled: bool):
    """Yield ``advance(finished)``: a progress bar of finished trials on a terminal."""
    if not enabled:
        yield lambda finished: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("search trials", total=total)
        yield lambda finished: bar.update(task, completed=min(finished, total))


def _search_loop(study, rdb, config, start, advance, *, model, train_config, train_data,
                 val_data, worker) -> None:  # fmt: skip
    waiting = False
    while True:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        trials = rdb.get_all_trials(study._study_id, deepcopy=False)
        finished = sum(t.state in FINISHED for t in trials)
        advance(finished)
        running = sum(t.state == TrialState.RUNNING for t in trials)
        if finished >= config.n_trials:
            break
        if config.timeout and time.monotonic() - start >= config.timeout:
            log.info("search: timeout after %d of %d trials", finished, config.n_trials)
            break
        if finished + running >= config.n_trials:
            if not waiting:
                log.info("search: waiting for %d running trial(s) to finish", running)
            waiting = True
            time.sleep(POLL_SECONDS)
            continue
        waiting = False
        study.sampler = make_sampler(config, _trial_seed(train_config.seed, worker, len(trials)))
        study.optimize(
            lambda trial: _objective(
                trial,
                config=config,
                model=model,
                train_config=train_config,
                train_data=train_data,
                val_data=val_data,
                storage=rdb,
                worker=worker,
            ),
            n_trials=1,
            catch=(_BudgetTaken,),
        )


def _worker_main(kwargs: dict, threads: int) -> None:
    exit_with_parent()  # a killed search stage leaves no worker running trials
    torch.set_num_threads(threads)
    kwargs["train_config"] = kwargs["train_config"].model_copy(update={"progress": False})
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    run_search(**kwargs)


def run_workers(
    n: int,
    config: SearchConfig,
    train_data: SequenceData,
    val_data: SequenceData,
    *,
    model: ModelConfig,
    train_config: TrainConfig,
    storage: str,
    study_name: str | None = None,
    first_worker: int = 0,
) -> str:
    """Run ``n`` worker processes on one study; return the study's name.

    The study (and the storage's schema) is created here first: workers that create an
    empty schema concurrently race. Each worker gets ``cpu_count // n`` torch threads.
    Workers are numbered ``first_worker .. first_worker + n - 1``; give each machine
    sharing a study its own range so that no two workers share a sampler seed.
    """
    check_space(config.space, model, train_config)
    name = study_name or study_name_for(config, model, train_config, train_data, val_data)
    open_study(config, make_storage(storage, config), name)
    threads = max(1, (os.cpu_count() or 1) // n)
    ctx = mp.get_context("spawn")  # fork would copy torch's thread pools and locks
    procs = []
    common = dict(config=config, train_data=train_data, val_data=val_data, model=model,
                  train_config=train_config, storage=storage, study_name=name)  # fmt: skip
    try:
        for worker in range(first_worker, first_worker + n):
            kwargs = {**common, "worker": worker}
            p = ctx.Process(target=_worker_main, args=(kwargs, threads), name=f"search-{worker}")
            procs.append(p)  # before it starts: a signal just after start() still finds it
            p.start()
            time.sleep(random.uniform(0.1, 0.3))  # stagger the first trials' creation
        for p in procs:
            p.join()
    except BaseException:  # SIGTERM (raised by Prefect), Ctrl-C: the workers stop too, rather
        stop_processes(procs)  # than keep this process waiting for their trials at exit
        raise
    bad = [f"{p.name} (exit code {p.exitcode})" for p in procs if p.exitcode != 0]
    if bad:
        raise RuntimeError(f"search workers failed: {', '.join(bad)}")
    return name


def tune(config: SearchConfig, train_data: SequenceData, val_data: SequenceData, *,
         workers: int = 1, first_worker: int = 0, **kwargs) -> optuna.Study:  # fmt: skip
    """Run the study's trials: in this process (``workers`` = 1, :func:`run_search`) or in
    ``workers`` processes (:func:`run_workers`); returns the study.

    ``kwargs``: ``model``, ``train_config``, ``storage`` (URL) and ``study_name``.
    """
    if workers > 1:
        name = run_workers(workers, config, train_data, val_data, first_worker=first_worker,
                           **kwargs)  # fmt: skip
        return open_study(config, make_storage(kwargs["storage"], config), name)
    return run_search(config, train_data, val_data, worker=first_worker, **kwargs)
