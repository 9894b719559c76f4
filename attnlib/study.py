"""The Optuna study of a search: storage (SQLite or PostgreSQL, with heartbeats so a
killed trial is retried), sampler, pruner and the study's name, a fingerprint of
everything that makes its trials comparable (space, epochs, base configs, data)."""

from __future__ import annotations

import hashlib
import json
import random
import time
import warnings
from pathlib import Path

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from sqlalchemy.exc import SQLAlchemyError

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import SequenceData
from attnlib.search_space import SearchConfig


def make_storage(url: str, config: SearchConfig) -> RDBStorage:
    """An RDB storage with heartbeats: a killed trial is failed, then retried once."""
    if url.startswith("postgresql://"):
        # SQLAlchemy 2.0 maps a bare postgresql:// to psycopg2; we ship psycopg 3.
        try:
            import psycopg2  # noqa: F401
        except ImportError:
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine_kwargs = {}
    if url.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        db = make_url(url).database
        if db and db != ":memory:":
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": 60}}  # workers wait for the file lock
    for attempt in range(3):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(
                    url,
                    engine_kwargs=engine_kwargs,
                    heartbeat_interval=config.heartbeat_interval,
                    grace_period=config.grace_period,
                    heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=1),
                )
        except SQLAlchemyError:
            # machines that create an empty schema at the same moment race (DuplicateTable)
            if attempt == 2:
                raise
            time.sleep(random.uniform(0.5, 2.0))
    raise AssertionError("unreachable")  # pragma: no cover


def make_sampler(config: SearchConfig, seed: int) -> optuna.samplers.BaseSampler:
    if config.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # constant_liar: running trials count as bad guesses, so workers spread out.
    return optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=config.startup_trials, constant_liar=True
    )


def make_pruner(config: SearchConfig) -> optuna.pruners.BasePruner:
    if config.pruner == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=config.startup_trials, n_warmup_steps=config.warmup_epochs
        )
    if config.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=config.epochs)
    if config.pruner == "halving":  # continue the top third after epochs 1, 3, 9, ...
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    return optuna.pruners.NopPruner()


def _digest(*datas: SequenceData) -> str:
    h = hashlib.sha256()
    for d in datas:
        for t in (d.x, d.lengths, d.y):
            h.update(str((t.dtype, tuple(t.shape))).encode())
            h.update(t.contiguous().numpy().tobytes())
    return h.hexdigest()


# the search keys that change what a trial computes (n_trials, storage, ... do not)
TRIAL_KEYS = set("epochs sampler pruner startup_trials warmup_epochs patience metric".split())


def study_name_for(
    config: SearchConfig,
    model: ModelConfig,
    train_config: TrainConfig,
    train_data: SequenceData,
    val_data: SequenceData,
) -> str:
    """``<study_name>-<fingerprint>``: same space, configs and data -> same study."""
    spec = {
        "space": {k: d.to_dict() for k, d in config.space.items()},
        **config.model_dump(include=TRIAL_KEYS),
        "model": model.model_dump(),
        "train": train_config.model_dump(exclude={"device", "progress", "epochs"}),
        "data": _digest(train_data, val_data),
    }
    blob = json.dumps(spec, sort_keys=True, default=str).encode()
    return f"{config.study_name}-{hashlib.sha256(blob).hexdigest()[:10]}"


def open_study(config: SearchConfig, storage: RDBStorage, name: str, seed: int = 0):
    """Create the study, or load it when it exists (create it once before many workers)."""
    return optuna.create_study(
        storage=storage,
        study_name=name,
        direction="minimize",
        sampler=make_sampler(config, seed),
        pruner=make_pruner(config),
        load_if_exists=True,
    )
