"""What every benchmark section shares: the machine, thread settings, data, timers.

Data: TREC-6 questions (the training split; 10% held out for validation) for the
classifier and Bach chorales (10% of chorales held out) for next-state prediction,
both as token ids from a vocabulary fitted on the training part. Parsing the chorales
with music21 takes 1-2 minutes, so the parsed frame is cached in ``bench/.cache/``.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from attnlib.vocab import Vocabulary  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
RESULTS = ROOT / "bench" / "results"
DEFAULT_THREADS = torch.get_num_threads()  # torch's own choice: one per core


@dataclass
class Split:
    """Token-id sequences and targets for train and validation, and the vocabulary size."""

    name: str
    train_x: list[list[int]]
    train_y: list[int]  # class ids; empty for next-state
    val_x: list[list[int]]
    val_y: list[int]
    vocab_size: int
    num_classes: int = 0

    def real_tokens(self, part: str = "train") -> int:
        """Input tokens a model reads per epoch (next-state reads all but the last token)."""
        seqs = self.train_x if part == "train" else self.val_x
        drop = 0 if self.num_classes else 1
        return sum(len(s) - drop for s in seqs)


def _holdout(n: int, frac: float = 0.1, seed: int = 0) -> set[int]:
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    return set(order[: max(1, round(frac * n))])


def trec(vocab_size: int = 20_000) -> Split:
    """TREC-6 training questions: 90% train, 10% validation, 6 classes; at most
    ``vocab_size`` tokens (TREC-6 has about 8,700)."""
    import polars as pl

    from attnlib.datasets import read_source

    frame = read_source("builtin:trec6").filter(pl.col("split") == "train")
    tokens, labels = frame["tokens"].to_list(), frame["label"].to_list()
    val = _holdout(len(tokens))
    tr = [i for i in range(len(tokens)) if i not in val]
    vocab = Vocabulary.build([tokens[i] for i in tr], max_size=vocab_size)
    classes = {c: k for k, c in enumerate(sorted(set(labels)))}
    ids = [vocab.encode(t) for t in tokens]
    y = [classes[c] for c in labels]
    va = sorted(val)
    return Split(
        "trec6",
        [ids[i] for i in tr],
        [y[i] for i in tr],
        [ids[i] for i in va],
        [y[i] for i in va],
        len(vocab),  # the embedding fits the vocabulary, as the pipeline's encode stage makes it
        len(classes),
    )


def chorales() -> Split:
    """Bach chorales as chord tokens: 90% of chorales train, 10% validation."""
    import polars as pl

    path = CACHE / "bach_chorales.parquet"
    if path.exists():
        frame = pl.read_parquet(path)
    else:
        from attnlib.datasets import read_source

        frame = read_source("builtin:bach_chorales")
        CACHE.mkdir(parents=True, exist_ok=True)
        frame.write_parquet(path)
    tokens = frame["tokens"].to_list()
    val = _holdout(len(tokens))
    tr = [i for i in range(len(tokens)) if i not in val]
    vocab = Vocabulary.build([tokens[i] for i in tr])
    ids = [vocab.encode(t) for t in tokens]
    va = sorted(val)
    return Split("bach_chorales", [ids[i] for i in tr], [], [ids[i] for i in va], [], len(vocab))


# --- the machine ------------------------------------------------------------------------


def matmul_gflops(threads: int, n: int = 1024, seconds: float = 1.0) -> float:
    """fp32 GFLOP/s of an n x n matmul with ``threads`` intra-op threads (best of the runs)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
    for _ in range(3):
        torch.mm(a, b, out=c)
    best, deadline = float("inf"), time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        torch.mm(a, b, out=c)
        best = min(best, time.perf_counter() - t0)
    torch.set_num_threads(previous)
    return 2 * n**3 / best / 1e9


def matmul_peak(seconds: float = 1.0) -> dict:
    """The machine's fp32 matmul peak: the better of 1 thread and one per core."""
    per = {t: matmul_gflops(t, seconds=seconds) for t in sorted({1, DEFAULT_THREADS})}
    return {"gflops": max(per.values()), "by_threads": per}


def machine() -> dict:
    import onnxruntime

    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "cpu": _cpu_name(),
        "torch": torch.__version__,
        "torch_default_threads": DEFAULT_THREADS,
        "onnxruntime": onnxruntime.__version__,
        "python": sys.version.split()[0],
        "load_average_1min": os.getloadavg()[0],
    }


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MB.

    ``VmHWM`` where /proc has it: ``ru_maxrss`` survives ``exec`` and so reports the
    parent's peak in a child started from a big process.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Timer:
    """Accumulates wall time over ``with timer:`` blocks."""

    def __init__(self):
        self.seconds = 0.0

    def __enter__(self):
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds += time.perf_counter() - self._t0
