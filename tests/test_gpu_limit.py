"""The ``gpu`` tag concurrency limit holds for the pipeline's real training task.

Two processes (two pipelines, as on two workers) each run a flow that submits
``flows._fit.train_model`` (tagged ``gpu``) on tiny data. Each training holds after its
first epoch (its DVCLive callback waits for a release file), so how long a training lasts is
decided by the test, not by the machine's speed:

- limit 2: the first holds; the second is submitted and must reach its own first epoch
  while the first still holds (the Running -> Completed intervals the server recorded
  overlap);
- limit 1: the first holds; the second is submitted and left waiting for 3 s, longer than
  the client's ~2 s retry for a slot; then the first is released. The intervals never
  overlap.

A hold ends after 60 s whatever happens, so a broken limit fails an assertion instead of
hanging. The same two processes run both rounds: their start-up is paid once.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest

from flows.worker import client, set_tag_limit

ROOT = Path(__file__).resolve().parent.parent
LIMITS = (2, 1)
WAIT = 3.0  # s the second training is left waiting for a slot with limit 1

PROBE = """
import sys, time
from pathlib import Path

import torch
from prefect import flow

import flows._fit as T
from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import SequenceData

torch.set_num_threads(1)
V = 12
RELEASE = None


class HoldAfterFirstEpoch(T.LiveLogger):
    def __call__(self, epoch, logs):
        super().__call__(epoch, logs)
        if epoch == 0:
            print("HOLDING", flush=True)
            deadline = time.monotonic() + 60
            while not RELEASE.exists() and time.monotonic() < deadline:
                time.sleep(0.01)


T.LiveLogger = HoldAfterFirstEpoch  # the real task and callback, held after epoch 1


def data(n, seed):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(8, 24, (n,), generator=g).tolist()
    return SequenceData.next_state([[2 + (i + j) % (V - 2) for j in range(k)]
                                    for i, k in enumerate(lengths)])


@flow(name="gpu-limit-probe")
def probe(go: str) -> str:
    model = ModelConfig(vocab_size=V, embedding_dim=16, hidden_dim=32)
    train = TrainConfig(epochs=2, batch_size=8, patience=100, seed=0, progress=False)
    train_data, val_data = data(160, 1), data(16, 2)
    print("READY", flush=True)
    while not Path(go).exists():
        time.sleep(0.01)
    future = T.train_model.submit(model, train, train_data, val_data, False)
    future.result()
    return str(future.task_run_id)


for arg in sys.argv[1:]:  # GO_FILE:RELEASE_FILE, one per round
    go, release = arg.split(":")
    RELEASE = Path(release)
    print("TASK_RUN", probe(go), flush=True)
"""


def _read_until(proc: subprocess.Popen, out: list[str], prefix: str) -> str:
    for line in proc.stdout:
        out.append(line)
        if line.startswith(prefix):
            return line
    raise AssertionError(f"no {prefix!r} line:\n" + "".join(out)[-4000:])


def _times(url: str, task_run_id: UUID) -> tuple[float, float, float]:
    """When the task run started (Running) and ended, and when it was submitted (Pending)."""
    with client(url) as c:
        states = c.read_task_run_states(task_run_id)
    assert states[-1].is_completed(), states[-1]
    [running] = [s for s in states if s.is_running()]
    return (
        running.timestamp.timestamp(),
        states[-1].timestamp.timestamp(),
        states[0].timestamp.timestamp(),
    )


@pytest.fixture(scope="module")
def rounds(prefect_server, tmp_path_factory) -> dict[int, list[tuple[float, float, float]]]:
    """Per limit: the two trainings' (start, end, submitted), the first started first."""
    tmp = tmp_path_factory.mktemp("gpu_limit")
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "PYTHONPATH": str(ROOT),
           "PREFECT_LOGGING_TO_API_ENABLED": "false"}  # fewer writes to contend with  # fmt: skip
    go = {(limit, i): tmp / f"go-{limit}-{i}" for limit in LIMITS for i in range(2)}
    release = {(limit, i): tmp / f"release-{limit}-{i}" for limit in LIMITS for i in range(2)}
    procs, outs = [], [[], []]
    for i in range(2):
        cwd = tmp / f"pipeline{i}"  # its own checkpoints/ and dvclive/
        cwd.mkdir()
        args = [f"{go[limit, i]}:{release[limit, i]}" for limit in LIMITS]
        procs.append(subprocess.Popen(
            [sys.executable, "-c", PROBE, *args], cwd=cwd, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        ))  # fmt: skip
    first, second = zip(procs, outs, strict=True)
    result = {}
    try:
        for limit in LIMITS:
            for proc, out in (first, second):
                _read_until(proc, out, "READY")
            set_tag_limit(prefect_server, limit)
            go[limit, 0].touch()
            _read_until(*first, "HOLDING")  # the first holds its slot
            go[limit, 1].touch()
            if limit == 1:
                time.sleep(WAIT)  # the second waits for the slot (and may not take it)
                release[limit, 0].touch()
                _read_until(*second, "HOLDING")
            else:
                _read_until(*second, "HOLDING")  # a second slot: starts while the first holds
                release[limit, 0].touch()
            release[limit, 1].touch()
            lines = [_read_until(p, o, "TASK_RUN ") for p, o in (first, second)]
            result[limit] = sorted(_times(prefect_server, UUID(x.split()[1])) for x in lines)
        for proc, out in (first, second):
            out.extend(proc.stdout)
            assert proc.wait(timeout=60) == 0, "".join(out)[-4000:]
    finally:
        for path in release.values():  # a probe still holding lets go
            path.touch()
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        set_tag_limit(prefect_server, 1)
    return result


def _show(limit: int, times: list[tuple[float, float, float]]) -> None:
    t0 = times[0][0]
    spans = ", ".join(
        f"{s - t0:.1f}-{e - t0:.1f} s (submitted {p - t0:.1f} s)" for s, e, p in times
    )
    print(f"\ngpu limit {limit}: the two trainings ran at {spans}")


def test_limit_1_never_overlaps(rounds):
    (s1, e1, _), (s2, e2, submitted2) = rounds[1]
    _show(1, rounds[1])
    assert e1 - submitted2 >= WAIT - 0.5, "the second was submitted while the first held"
    assert e1 <= s2, "the second gpu task started before the first ended"


def test_limit_2_lets_them_overlap(rounds):
    (s1, e1, _), (s2, e2, _) = rounds[2]
    _show(2, rounds[2])
    assert s2 < e1, "with 2 slots the second training should start during the first"
