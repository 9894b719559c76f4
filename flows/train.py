"""train: train/val splits + search/best.yaml -> models/model, metrics/train.json, curves.

The training task is tagged ``gpu`` so a Prefect tag concurrency limit caps how many run at
once; the device is chosen automatically. A checkpoint is written to checkpoints/ after
every epoch; a re-run with the same params and data resumes from it.

``train.ensemble: N`` (> 1) trains N members with seeds seed .. seed + N - 1, one ``gpu``
task each in its own worker process (a process owns its RNG, so members run in parallel
as far as the tag limit allows and each is exactly the model its seed trains alone), with
checkpoints in checkpoints/member-<k>/; the saved model is their :class:`Ensemble`.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import ProcessPoolTaskRunner

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import Batches, SequenceData
from attnlib.distributed import train_on_ranks
from attnlib.ensemble import Ensemble, member_configs
from attnlib.fitting import (
    VAL_BATCH,
    build_and_fit,
    fingerprint,
    prepare_checkpoints,
    train_metrics,
)
from attnlib.io import write_json_atomic
from attnlib.models import loss_fn
from attnlib.persistence import save_model
from attnlib.plots import learning_curve
from attnlib.tasks import get_task
from attnlib.train import History, evaluate_loss
from flows._data import data_spec, load_best, load_data, load_meta, model_fields, vocab_of
from flows._live import LiveLogger, write_curves
from flows._params import (
    CHECKPOINTS,
    METRICS_DIR,
    MODEL_DIR,
    PLOTS_DIR,
    load_params,
    run_stage,
    split_path,
    task_of,
    train_params,
)


@task(tags=["gpu"], cache_policy=NO_CACHE)
def train_model(model_cfg: ModelConfig, train_cfg: TrainConfig, train: SequenceData,
                val: SequenceData, resume: bool, nproc: int = 1,
                checkpoint_dir: Path = CHECKPOINTS, live: bool = True):  # fmt: skip
    """Fit the model (on the GPU when there is one); returns it with its history.

    With ``nproc`` > 1 torchrun runs ``nproc`` DistributedDataParallel ranks instead; the
    global batch is the same, so the result matches one process. ``live``: log the epochs
    to DVCLive (one ensemble member does).
    """
    if nproc > 1:
        return train_on_ranks(model_cfg, train_cfg, split_path("train"), split_path("val"),
                              nproc, checkpoint_dir=checkpoint_dir, resume=resume)  # fmt: skip
    callbacks = [LiveLogger(resume)] if live else []
    model, hist = build_and_fit(model_cfg, train_cfg, train, val, callbacks=callbacks,
                                checkpoint_dir=checkpoint_dir, resume=resume)  # fmt: skip
    return model.cpu(), hist


@flow(name="train-members", task_runner=ProcessPoolTaskRunner())
def train_members(model_cfg: ModelConfig, train_cfg: TrainConfig, train: SequenceData,
                  val: SequenceData, resume: bool, nproc: int = 1) -> list[tuple]:  # fmt: skip
    """One ``gpu`` task per ensemble member, each in a worker process; [(model, history)]."""
    futures = [
        train_model.submit(
            model_cfg, cfg, train, val, resume, nproc, CHECKPOINTS / f"member-{k}", live=k == 0
        )  # fmt: skip
        for k, cfg in enumerate(member_configs(train_cfg))
    ]
    return [f.result() for f in futures]


def ensemble_metrics(model_cfg, ensemble: Ensemble, histories: list[History], val) -> dict:
    """train.json of an ensemble: its own val loss (the members' averaged probabilities),
    and each member's metrics under ``members``."""
    val_loss = evaluate_loss(ensemble, Batches(val, VAL_BATCH), loss_fn(model_cfg), "cpu")
    hist = History(best_val_loss=val_loss)  # what the task derives its entries from
    return {
        "best_val_loss": val_loss,
        "ensemble": len(ensemble),
        "seconds": round(sum(h.seconds for h in histories), 2),
        "members": [train_metrics(model_cfg, h) for h in histories],
        **get_task(model_cfg.task).train_metrics(hist),
    }


@flow(name="train-model")
def train() -> None:
    params = load_params()
    task_name, meta = task_of(params), load_meta()
    vocab, labels = vocab_of(meta)
    model_cfg, train_cfg, run = train_params(params, load_best(), **model_fields(meta, task_name))
    _, train_data = load_data("train", task_name)
    _, val_data = load_data("val", task_name)
    key = fingerprint(model_cfg, train_cfg, [split_path("train"), split_path("val")])
    resume = prepare_checkpoints(CHECKPOINTS, key, run.resume)
    if train_cfg.ensemble > 1:
        fitted = train_members(model_cfg, train_cfg, train_data, val_data, resume, run.nproc)
        model, hists = Ensemble([m for m, _ in fitted]), [h for _, h in fitted]
        hist, metrics = hists[0], ensemble_metrics(model_cfg, model, hists, val_data)
    else:
        model, hist = train_model(model_cfg, train_cfg, train_data, val_data, resume, run.nproc)
        metrics = train_metrics(model_cfg, hist)
    save_model(
        MODEL_DIR, model, vocab=vocab, label_map=labels, train_config=train_cfg.model_dump(),
        metrics={**metrics, "history": hist.to_dict()},
        extra={"data": data_spec(meta, task_name)},  # scaling stats, windows: what predict needs
    )  # fmt: skip
    write_json_atomic(METRICS_DIR / "train.json", metrics)
    write_curves(hist)
    learning_curve(hist.train_loss, hist.val_loss, PLOTS_DIR / "learning_curve.png")
    members = f" ({train_cfg.ensemble} members averaged)" if train_cfg.ensemble > 1 else ""
    get_run_logger().info("train: best val loss %.4f%s -> %s",
                          metrics["best_val_loss"], members, MODEL_DIR)  # fmt: skip


if __name__ == "__main__":
    run_stage(train)
