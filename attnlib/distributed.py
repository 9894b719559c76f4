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

import torch
from torch import distributed as dist
from torch import nn

from attnlib.config import ModelConfig, TrainConfig
from attnlib.encode import read_split
from attnlib.ensemble import heldout_model
from attnlib.errors import TrainingError
from attnlib.fitting import build_and_fit, refit_data
from attnlib.io import write_json_atomic
from attnlib.persistence import load_heldout, load_model, save_model
from attnlib.processes import owned_env, stop_command, stop_with_owner
from attnlib.train import History
from attnlib.vocab import Vocabulary


def train_from_spec(spec: dict) -> History:
    """Train as one rank of a process group (or alone, when there is none)."""
    model_cfg = ModelConfig(**spec["model"])
    train_cfg = TrainConfig(**spec["train_config"])
    (train_frame, train), (val_frame, val) = (read_split(spec[n], spec["task"])
                                              for n in ("train", "val"))  # fmt: skip
    both = refit_data(spec["task"], train_cfg, train_frame, val_frame)
    model, hist = build_and_fit(
        model_cfg, train_cfg, train, val, refit_data=both,
        checkpoint_dir=spec.get("checkpoint_dir"), resume=spec.get("resume", False),
    )  # fmt: skip
    if not dist.is_initialized() or dist.get_rank() == 0:
        vocab = Vocabulary.from_dict(spec["vocab"]) if spec.get("vocab") else None
        save_model(
            spec["out"], model.cpu(), vocab=vocab, label_map=spec.get("label_map"),
            train_config=train_cfg.model_dump(), metrics={"history": hist.to_dict()},
            heldout=heldout_model(model_cfg, [hist]),  # refitted: the early-stopped model
        )  # fmt: skip
        write_json_atomic(spec["history"], hist.to_dict())
    return hist


def train_on_ranks(
    model_cfg: ModelConfig, train_cfg: TrainConfig, train: Path, val: Path, nproc: int, *,
    checkpoint_dir: Path | None = None, resume: bool = False,
) -> tuple[nn.Module, History]:  # fmt: skip
    """Train on ``nproc`` torchrun ranks from split files; returns rank 0's model (without
    vocabulary: the caller saves it with its own) and history. The global batch is the
    same as one process's, so the result matches one process."""
    with tempfile.TemporaryDirectory(prefix=".ddp-", dir=".") as tmp:
        spec = {
            "train": str(train), "val": str(val), "task": model_cfg.task,
            "model": model_cfg.model_dump(), "train_config": train_cfg.model_dump(),
            "vocab": None, "out": f"{tmp}/model", "resume": resume,
            "checkpoint_dir": str(checkpoint_dir) if checkpoint_dir else None,
        }  # fmt: skip
        hist = run_torchrun(spec, nproc)
        model, _ = load_model(f"{tmp}/model")
        heldout = load_heldout(f"{tmp}/model")  # a refit's early-stopped model, for calibration
        if heldout is not None:
            hist.heldout_state = heldout.state_dict()
    return model, hist


def main(argv: list[str] | None = None) -> None:
    stop_with_owner()  # the member that started torchrun has gone: this rank ends
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
        # the ranks stop when this process ends, however it ends (stop_with_owner)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=owned_env())  # fmt: skip
        try:
            stdout, stderr = proc.communicate()
        except BaseException:  # SIGTERM raised by Prefect, Ctrl-C: torchrun stops its ranks
            stop_command(proc)
            raise
        if proc.returncode != 0:
            tail = (stderr or stdout).strip().splitlines()[-5:]
            raise TrainingError(
                f"distributed training failed ({nproc} processes): " + " | ".join(tail)
            )
        return History(**json.loads(Path(spec["history"]).read_text()))


if __name__ == "__main__":
    main()
