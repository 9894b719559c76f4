"""The train stage's Prefect tasks: one fit (tagged ``gpu``), or the members of an ensemble.

``train.ensemble: N`` (> 1) trains N members with seeds seed .. seed + N - 1, one ``gpu``
task each in its own worker process (a process owns its RNG, so members run in parallel
as far as the tag limit allows and each is the model its seed trains alone: exactly, at the
same torch thread count; members side by side split the cores), with checkpoints in
checkpoints/member-<k>/. Up to twice as many members as cores run at once: 3 members on 2
cores take about 1.5 member-times instead of 2 (a pool of 2 leaves one core idle while the
third member trains alone; README, "Quality", Time). The pool is a :class:`MemberPool`: its
workers end with the stage (a member's failure or a SIGTERM stops the others; a killed
stage leaves no member training; with ``nproc`` > 1 a member's torchrun ranks end with
the member: ``attnlib.processes.stop_with_owner``).
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import SequenceData
from attnlib.distributed import train_on_ranks
from attnlib.ensemble import Ensemble, ensemble_metrics, heldout_model, member_configs
from attnlib.fitting import build_and_fit, train_metrics
from flows._live import LiveLogger
from flows._params import CHECKPOINTS, split_path
from flows._pool import MemberPool, results


@task(tags=["gpu"], cache_policy=NO_CACHE)
def train_model(model_cfg: ModelConfig, train_cfg: TrainConfig, train: SequenceData,
                val: SequenceData, resume: bool, nproc: int = 1,
                checkpoint_dir: Path = CHECKPOINTS, live: bool = True,
                threads: int = 0, refit_data: SequenceData | None = None):  # fmt: skip
    """Fit the model (on the GPU when there is one); returns it with its history.

    With ``nproc`` > 1 torchrun runs ``nproc`` DistributedDataParallel ranks instead; the
    global batch is the same, so the result matches one process. ``live``: log the epochs
    to DVCLive (one ensemble member does). ``threads`` (> 0): torch's CPU threads in this
    process (members running side by side share the cores instead of oversubscribing them).
    ``refit_data``: what a refit trains on (None: train then val).
    """
    if threads:
        torch.set_num_threads(threads)
    if nproc > 1:
        return train_on_ranks(model_cfg, train_cfg, split_path("train"), split_path("val"),
                              nproc, checkpoint_dir=checkpoint_dir, resume=resume)  # fmt: skip
    callbacks = [LiveLogger(resume)] if live else []
    model, hist = build_and_fit(model_cfg, train_cfg, train, val, callbacks=callbacks,
                                checkpoint_dir=checkpoint_dir, resume=resume,
                                refit_data=refit_data)  # fmt: skip
    return model.cpu(), hist


def side_by_side(members: int, cores: int) -> int:
    """How many members train at once: all of them, up to twice the cores."""
    return max(1, min(members, 2 * cores))


@flow(name="train-members", task_runner=MemberPool())  # fit_model sizes the pool
def train_members(model_cfg: ModelConfig, train_cfg: TrainConfig, data: list[tuple],
                  resume: bool, nproc: int = 1,
                  refit_data: SequenceData | None = None) -> list[tuple]:  # fmt: skip
    """One ``gpu`` task per ensemble member, each in a worker process, member k fitted on
    ``data[k]`` = (train, val) (and refitted on ``refit_data``); [(model, history)]."""
    configs = member_configs(train_cfg)
    threads = max(1, torch.get_num_threads() // side_by_side(len(configs), os.cpu_count() or 1))
    futures = []
    for k, (cfg, (train, val)) in enumerate(zip(configs, data, strict=True)):
        where = CHECKPOINTS / f"member-{k}"
        futures.append(train_model.submit(model_cfg, cfg, train, val, resume, nproc, where,
                                          live=k == 0, threads=threads,
                                          refit_data=refit_data))  # fmt: skip
    return results(futures)  # a failure ends the flow at once; MemberPool stops the others


def fit_model(model_cfg: ModelConfig, train_cfg: TrainConfig, train: SequenceData,
              val: SequenceData, resume: bool, nproc: int = 1,
              member_data: list[tuple] | None = None,
              refit_data: SequenceData | None = None):  # fmt: skip
    """The model (one, or the :class:`Ensemble` of ``train.ensemble`` members), the history
    the curves show (member 0's), ``train.json``'s numbers, and with ``train.refit`` the
    early-stopped model(s) the refit started from (else None; see :func:`heldout_model`).

    ``member_data``: each member's own (train, val), as :func:`attnlib.folds.member_data`
    rotates them; by default every member gets ``train`` and ``val``. ``refit_data``: what
    a refit trains on (:meth:`attnlib.tasks.base.Task.refit_data`; members with rotated
    folds, or None, refit on their own two parts)."""
    if train_cfg.ensemble > 1:
        data = member_data or [(train, val)] * train_cfg.ensemble
        workers = side_by_side(train_cfg.ensemble, os.cpu_count() or 1)
        pool = MemberPool(max_workers=workers)
        fitted = train_members.with_options(task_runner=pool)(
            model_cfg, train_cfg, data, resume, nproc, None if member_data else refit_data
        )
        model, hists = Ensemble([m for m, _ in fitted]), [h for _, h in fitted]
        heldout = heldout_model(model_cfg, hists, model.members)
        metrics = ensemble_metrics(model_cfg, model, hists, val, heldout,
                                   held=[v for _, v in data] if member_data else None)  # fmt: skip
        return model, hists[0], metrics, heldout
    model, hist = train_model(model_cfg, train_cfg, train, val, resume, nproc,
                              refit_data=refit_data)  # fmt: skip
    return model, hist, train_metrics(model_cfg, hist), heldout_model(model_cfg, [hist])
