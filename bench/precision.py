"""bf16 against fp32 training in our own fit loop: speed and validation loss.

    python bench/precision.py [--epochs 3] [--reps 3]

For each data set (TREC-6, the chorales) at the benchmark's sizes (``train_speed.sizes``),
two models from the same initial weights train with :func:`attnlib.train.fit`, one with
``train.precision: fp32`` and one with ``bf16``, one epoch at a time in alternation (so
load from other processes hits both alike). Throughput counts real tokens per second of
the training pass (validation excluded); each precision keeps its fastest epoch after the
first (warm-up). The validation loss after the last epoch shows what bf16 costs in
quality (each epoch is its own ``fit`` call, so Adam restarts every epoch, alike for
both). Writes ``bench/results/precision.json``. On a CPU without native bf16 the bf16 row
is emulated and says so (``native_bf16`` false).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys

import common
import torch
from common import RESULTS
from train_speed import BATCH, TimedBatches, our_data, sizes

from attnlib.config import TrainConfig
from attnlib.data import Batches
from attnlib.io import write_json_atomic
from attnlib.models import build_model, loss_fn
from attnlib.precision import cpu_has_native_bf16
from attnlib.train import evaluate_loss, fit, tune_threads


def compare(split: common.Split, epochs: int, threads: int) -> dict:
    cfg = sizes(split)
    train, val = our_data(split)
    torch.manual_seed(0)
    first = build_model(cfg)
    models = {p: copy.deepcopy(first) for p in ("fp32", "bf16")}
    seconds = {p: [] for p in models}
    tokens = split.real_tokens("train")
    val_batches = Batches(val, BATCH, bucket=True)
    for epoch in range(epochs):
        for p in models if epoch % 2 == 0 else list(models)[::-1]:
            batches = TimedBatches(Batches(train, BATCH, shuffle=True, bucket=True, seed=epoch))
            tc = TrainConfig(epochs=1, batch_size=BATCH, device="cpu", progress=False,
                             precision=p, seed=epoch)  # fmt: skip
            torch.set_num_threads(threads)
            fit(models[p], batches, val_batches, tc, loss_fn=loss_fn(cfg))
            seconds[p].append(batches.seconds)
    out = {"data": split.name, "model": cfg.name, "epochs": epochs, "threads": threads}
    for p, m in models.items():
        out[f"train_tokens_per_s_{p}"] = tokens / min(seconds[p][1:] or seconds[p])
        out[f"val_loss_{p}"] = evaluate_loss(m, val_batches, loss_fn(cfg))
    out["bf16_speedup"] = out["train_tokens_per_s_bf16"] / out["train_tokens_per_s_fp32"]
    out["val_loss_bf16_over_fp32"] = out["val_loss_bf16"] / out["val_loss_fp32"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args()
    threads = tune_threads()
    results = {
        "machine": {**common.machine(), "native_bf16": cpu_has_native_bf16()},
        "command": f"python bench/precision.py --epochs {args.epochs}",
        "by_data": [compare(s, args.epochs, threads) for s in (common.trec(), common.chorales())],
    }
    results["machine"]["load_average_1min_end"] = os.getloadavg()[0]
    write_json_atomic(RESULTS / "precision.json", results)
    print(json.dumps(results["by_data"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
