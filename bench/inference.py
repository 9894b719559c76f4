"""Inference: batch-1 latency and batch-64 throughput, ours (eager, TorchScript, ONNX
Runtime) against the reference in eager PyTorch.

Speed does not depend on the weights, so the models are freshly initialised at the
training sizes; ours carries the partner the defaults mix in (fitted on the training
split: ``train_speed.default_model``). Requests are real sequences: TREC validation
questions for the classifier, chorales for the next-state model. Each engine is timed per
request over several interleaved passes and keeps each request's fastest time (load from other
processes only slows things down); latency is the median over requests. Throughput
serves all requests in batches of 64: the reference in arrival order, padded per batch
by its collate; ours sorted by length first, as ``attnlib predict`` does.

``torch.compile`` is left out by default: on this CPU it needs ~1 minute to compile the
classifier and was no faster than eager at batch 1 (the LSTM runs as an opaque op).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from common import DEFAULT_THREADS, Split
from torch.nn.utils.rnn import pad_sequence
from train_speed import default_model, reference_model, sizes

from attnlib.export import OnnxPredictor, export_onnx
from attnlib.vocab import PAD_ID


def _requests(split: Split, n: int) -> list[list[int]]:
    seqs = split.val_x if split.num_classes else split.train_x + split.val_x
    drop = 0 if split.num_classes else 1  # next-state reads all but the last token
    return [s[: len(s) - drop] for s in seqs][:n]


def _padded(seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    x = np.full((len(seqs), lengths.max()), PAD_ID, dtype=np.int64)
    for i, s in enumerate(seqs):
        x[i, : len(s)] = s
    return x, lengths


def engines(split: Split, threads: int, compile_: bool = False) -> dict[str, tuple[int, Callable]]:
    """name -> (threads, serve(list of sequences) -> outputs)."""
    torch.manual_seed(0)
    ref_net = reference_model(split)[0].eval()
    ours = default_model(split)  # with the partner the defaults mix in

    @torch.no_grad()
    def reference_eager(seqs):
        return ref_net(pad_sequence([torch.tensor(s) for s in seqs], batch_first=True))

    @torch.no_grad()
    def ours_eager(seqs):
        x, lengths = _padded(seqs)
        return ours(torch.from_numpy(x), torch.from_numpy(lengths))

    x0, l0 = _padded(_requests(split, 4))
    ours.encoder.packed = False  # traceable: no data-dependent control flow
    with torch.no_grad():
        script = torch.jit.freeze(
            torch.jit.trace(ours, (torch.from_numpy(x0), torch.from_numpy(l0)))
        )
    ours.encoder.packed = "auto"

    @torch.no_grad()
    def ours_torchscript(seqs):
        x, lengths = _padded(seqs)
        return script(torch.from_numpy(x), torch.from_numpy(lengths))

    path = Path(tempfile.mkdtemp(prefix="bench-onnx-")) / "model.onnx"
    export_onnx(ours, path, example=(torch.from_numpy(x0), torch.from_numpy(l0)))
    predictor = OnnxPredictor(path, threads=threads)

    def ours_onnxruntime(seqs):
        return predictor(*_padded(seqs))

    out = {
        "reference_eager": (DEFAULT_THREADS, reference_eager),
        "reference_eager_same_threads": (threads, reference_eager),
        "ours_eager": (threads, ours_eager),
        "ours_torchscript": (threads, ours_torchscript),
        "ours_onnxruntime": (threads, ours_onnxruntime),
    }
    if compile_:
        compiled = torch.compile(ours, dynamic=True)

        @torch.no_grad()
        def ours_compiled(seqs):
            x, lengths = _padded(seqs)
            return compiled(torch.from_numpy(x), torch.from_numpy(lengths))

        t0 = time.perf_counter()
        ours_compiled(_requests(split, 1))
        out["ours_compiled"] = (threads, ours_compiled)
        out["_compile_seconds"] = time.perf_counter() - t0
    return out


def measure(
    split: Split, threads: int, *, requests: int, passes: int, compile_=False, limit=None
) -> dict:
    """Batch-1 latency (median over ``requests``) and batch-64 throughput (over ``limit``
    requests, default all) for every engine, keeping the best of ``passes``."""
    served = engines(split, threads, compile_)
    compile_seconds = served.pop("_compile_seconds", None)
    reqs = _requests(split, requests)
    all_reqs = _requests(split, limit or 10**9)
    arrival = [all_reqs[i] for i in torch.randperm(len(all_reqs)).tolist()]
    by_length = sorted(all_reqs, key=len)
    best1 = {name: [float("inf")] * len(reqs) for name in served}
    best64 = dict.fromkeys(served, float("inf"))
    for p in range(passes):
        names = list(served)
        names = names[p % len(names) :] + names[: p % len(names)]  # rotate the order
        for name in names:
            n_threads, serve = served[name]
            torch.set_num_threads(n_threads)
            serve(reqs[:2])  # warm-up
            for i, s in enumerate(reqs):
                t0 = time.perf_counter()
                serve([s])
                best1[name][i] = min(best1[name][i], time.perf_counter() - t0)
            stream = arrival if name.startswith("reference") else by_length
            t0 = time.perf_counter()
            for start in range(0, len(stream), 64):
                serve(stream[start : start + 64])
            best64[name] = min(best64[name], time.perf_counter() - t0)
    torch.set_num_threads(threads)
    latency = {name: statistics.median(t) * 1e3 for name, t in best1.items()}
    throughput = {name: len(all_reqs) / t for name, t in best64.items()}
    ref_ms, same_ms = latency["reference_eager"], latency["reference_eager_same_threads"]
    ref_tp, same_tp = throughput["reference_eager"], throughput["reference_eager_same_threads"]
    out = {
        "data": split.name,
        "model": f"{sizes(split).name} with its default partner",
        "threads_ours": threads,
        "requests_batch1": len(reqs),
        "requests_batch64": len(all_reqs),
        "batch1_latency_ms": latency,
        "batch64_sequences_per_s": throughput,
    }
    for name in served:
        if name.startswith("ours"):
            key = name.removeprefix("ours_")
            out[f"batch1_latency_ratio_vs_eager_reference_{key}"] = latency[name] / ref_ms
            out[f"batch1_latency_ratio_vs_eager_reference_same_threads_{key}"] = (
                latency[name] / same_ms
            )
            out[f"batch64_throughput_ratio_vs_eager_reference_{key}"] = throughput[name] / ref_tp
            out[f"batch64_throughput_ratio_vs_eager_reference_same_threads_{key}"] = (
                throughput[name] / same_tp
            )
    if compile_seconds is not None:
        out["torch_compile_seconds"] = compile_seconds
    return out
