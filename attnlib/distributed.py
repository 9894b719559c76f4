"""Data-parallel training with DistributedDataParallel, launched by torchrun.

``python -m torch.distributed.run --standalone --nproc_per_node N -m attnlib.distributed
SPEC.json`` trains on N processes: NCCL on GPUs (one per process), gloo on CPUs. Every rank
draws the same global batches and trains on its slice (see ``Batches.shard``); gradients
are averaged, so the result matches one process with the same global batch. Only rank 0
writes the checkpoint, the model directory and the history.

SPEC is JSON: ``train`` / ``val`` (encoded Parquet paths), ``task``, ``model`` and
``train_config`` (config dicts), ``vocab`` (Vocabulary dict or null), ``label_map``,
``out`` (model directory), ``history`` (JSON path), optional ``checkpoint_dir`` and
``resume``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl
import torch
from torch import distributed as dist

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import Batches
from attnlib.encode import to_sequence_data
from attnlib.errors import TrainingError
from attnlib.io import write_json_atomic
from attnlib.models import build_model, loss_fn
from attnlib.persistence import save_model
from attnlib.train import History, fit, seed_everything
from attnlib.vocab import Vocabulary


def train_from_spec(spec: dict) -> History:
    """Train as one rank of a process group (or alone, when there is none)."""
    model_cfg = ModelConfig(**spec["model"])
    train_cfg = TrainConfig(**spec["train_config"])
    seed_everything(train_cfg.seed)  # same initial weights on every rank
    train, val = (_read(spec[name], spec["task"]) for name in ("train", "val"))
    model = build_model(model_cfg)
    batches = Batches(train, train_cfg.batch_size, shuffle=True, bucket=train_cfg.bucket,
                      seed=train_cfg.seed)  # fmt: skip
    hist = fit(
        model,
        batches,
        Batches(val, 256),
        train_cfg,
        loss_fn=loss_fn(model_cfg, train_cfg.loss),
        checkpoint_dir=spec.get("checkpoint_dir"),
        resume=spec.get("resume", False),
    )
    if not dist.is_initialized() or dist.get_rank() == 0:
        vocab = Vocabulary.from_dict(spec["vocab"]) if spec.get("vocab") else None
        save_model(
            spec["out"], model.cpu(), vocab=vocab, label_map=spec.get("label_map"),
            train_config=train_cfg.model_dump(), metrics={"history": hist.to_dict()},
        )  # fmt: skip
        write_json_atomic(spec["history"], hist.to_dict())
    return hist


def _read(path: str, task: str):
    frame = pl.read_parquet(path)
    if task == "next_state" and "length" in frame.columns:  # 1 token: nothing to predict
        frame = frame.filter(pl.col("length") >= 2)
    return to_sequence_data(frame, task, source=path)


def main(argv: list[str] | None = None) -> None:
    spec = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    try:
        train_from_spec(spec)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def run_torchrun(spec: dict, nproc: int) -> History:
    """Launch ``nproc`` ranks with torchrun (``--standalone`` picks a free port) and wait.

    Returns: rank 0's training history.
    """
    with tempfile.TemporaryDirectory() as tmp:
        spec = {**spec, "history": spec.get("history") or str(Path(tmp) / "history.json")}
        spec_path = Path(tmp) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={nproc}",
            "-m",
            "attnlib.distributed",
            str(spec_path),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise TrainingError(
                f"distributed training failed ({nproc} processes): " + " | ".join(tail)
            )
        return History(**json.loads(Path(spec["history"]).read_text()))


if __name__ == "__main__":
    main()
