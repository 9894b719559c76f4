"""Streaming next-state latency: one new token at a history of 500 steps.

    python bench/stream.py          # alone; bench/run.py --only stream puts it in the table

A user writing a sequence (SeqLab's use) waits, after each token, for the next-state
suggestion. Three ways to give it, at the chorales model's sizes (``train_speed.sizes``;
speed does not depend on the weights, so they are freshly initialised; the Kneser-Ney
partner the defaults add, fitted on the chorales' training split, is mixed in):

- ours, streaming: :class:`attnlib.stream.StreamingPredictor` (eager) and the ONNX step
  graph (:mod:`attnlib.export_stream`), each holding a history of ``history`` tokens and
  timed per pushed token;
- ours, recomputing the prefix: the full model over all ``history + 1`` tokens, batch 1;
- the lean reference (``bench/reference.py``) in eager PyTorch over the same tokens,
  batch 1, at torch's default threads and at ours.

The history is chorales concatenated until it is long enough. Each figure is the median
over timed calls, best of ``passes`` interleaved passes (load from other processes only
slows things down).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
from common import DEFAULT_THREADS, Split
from train_speed import default_model, reference_model

from attnlib.export_stream import OnnxStream, export_stream_onnx
from attnlib.stream import StreamingPredictor


def _history(split: Split, n: int) -> list[int]:
    tokens: list[int] = []
    for s in split.train_x:
        tokens += s
        if len(tokens) >= n:
            break
    return (tokens * (n // max(len(tokens), 1) + 1))[:n]


def _median_ms(fn, calls: int) -> float:
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


@torch.no_grad()
def measure_stream(
    split: Split, threads: int, *, history: int = 500, pushes: int = 40, passes: int = 3
) -> dict:
    """Per-token latency (ms) of each way at ``history`` steps, and the ratios."""
    ours = default_model(split)  # with the Kneser-Ney partner the defaults mix in
    cfg = ours.config
    ref_net = reference_model(split)[0].eval()
    tokens = _history(split, history + pushes)
    prefix = torch.tensor([tokens[: history + 1]])  # (1, history + 1)
    lengths = torch.tensor([history + 1])
    eager = StreamingPredictor(ours, capacity=2 * (history + pushes))
    onnx_stream = OnnxStream(export_stream_onnx(ours, Path(tempfile.mkdtemp()) / "s.onnx"))

    def streamed(engine) -> float:
        engine.reset()
        for t in tokens[:history]:
            engine.push(t)
        it = iter(tokens[history:])
        return _median_ms(lambda: engine.push(next(it)), pushes)

    ways = {
        "ours_stream_eager": (threads, lambda: streamed(eager)),
        "ours_stream_onnxruntime": (1, lambda: streamed(onnx_stream)),
        "ours_recompute_prefix_eager": (
            threads,
            lambda: _median_ms(lambda: ours(prefix, lengths), 9),
        ),
        "reference_eager": (DEFAULT_THREADS, lambda: _median_ms(lambda: ref_net(prefix), 9)),
        "reference_eager_same_threads": (threads, lambda: _median_ms(lambda: ref_net(prefix), 9)),
    }
    best = dict.fromkeys(ways, float("inf"))
    for p in range(passes):
        names = list(ways)
        for name in names[p % len(names) :] + names[: p % len(names)]:
            n_threads, run = ways[name]
            torch.set_num_threads(n_threads)
            best[name] = min(best[name], run())
    torch.set_num_threads(threads)
    out = {
        "data": split.name,
        "model": f"{cfg.name} E{cfg.embedding_dim} H{cfg.hidden_dim} L{cfg.num_layers} "
        f"{cfg.attention}, Kneser-Ney partner of order {int(ours.partner.order)}",
        "history": history,
        "threads_ours": threads,
        "latency_ms": best,
    }
    recompute, ref_ms = best["ours_recompute_prefix_eager"], best["reference_eager"]
    for engine in ("eager", "onnxruntime"):
        ms = best[f"ours_stream_{engine}"]
        out[f"stream_{engine}_ratio_vs_recompute"] = ms / recompute
        out[f"stream_{engine}_ratio_vs_eager_reference"] = ms / ref_ms
        out[f"stream_{engine}_ratio_vs_eager_reference_same_threads"] = (
            ms / best["reference_eager_same_threads"]
        )
    return out


if __name__ == "__main__":
    import json

    import common

    from attnlib.train import tune_threads

    sys.exit(print(json.dumps(measure_stream(common.chorales(), tune_threads()), indent=1)))
