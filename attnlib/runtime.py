"""Where and how training runs: seeds, device, CPU threads, a progress bar.

What :func:`attnlib.train.fit` and the benchmarks share about the machine rather than the
model (re-exported by :mod:`attnlib.train`).
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch

log = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch, and ask torch for deterministic kernels."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; an unavailable explicit device falls back to CPU."""
    if name in ("auto", "cuda") and torch.cuda.is_available():
        return torch.device("cuda")
    if (
        name in ("auto", "mps")
        and getattr(torch.backends, "mps", None)
        and torch.backends.mps.is_available()
    ):
        return torch.device("mps")
    if name not in ("auto", "cpu"):
        log.warning("device %r is not available here; using the CPU", name)
    return torch.device("cpu")


def free_cores(max_threads: int | None = None) -> int:
    """The cores other processes leave free right now, at least 1 and at most ``max_threads``.

    Like OpenMP's ``OMP_DYNAMIC`` (libgomp: cores minus the load average), but with the
    1-minute load average less this process's own share.

    Args:
        max_threads: the most to return; default: the cores this process may run on.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    most = min(max_threads or cores or 1, cores or 1)
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows: no load average, so assume none
        return most
    return max(1, min(most, round(most - max(0.0, load - _own_load()))))


def tune_threads(max_threads: int | None = None) -> int:
    """Set torch's intra-op CPU threads to :func:`free_cores` and return the count.

    Torch takes one thread per core. When other processes keep those cores busy (a
    shared machine, a test run, parallel search workers), an OpenMP thread waits at
    every barrier for a sibling that is not scheduled, and an LSTM's many small
    per-step matmuls ran 3-5x slower on 2 threads than on 1 here.
    """
    threads = free_cores(max_threads)
    torch.set_num_threads(threads)
    log.info("intra-op threads: %d", threads)
    return threads


def _own_load() -> float:
    """The cores this process has kept busy on average since it started (0 without /proc)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 0.0
    alive = uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22: start time
    return time.process_time() / max(alive, 1.0)


def progress(batches: Iterable, label: str, enabled: bool):
    if not enabled:
        yield from batches
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    cols = (
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*cols, transient=True) as bar:
        task = bar.add_task(label, total=len(batches) if hasattr(batches, "__len__") else None)
        for b in batches:
            yield b
            bar.advance(task)
