"""The ``gpu`` tag concurrency limit holds for the pipeline's real training task.

Two processes (two pipelines, as on two workers) each run a flow that submits
``flows.train.train_model`` (tagged ``gpu``) on tiny data; the second is released 0.5 s
after the first, while the first trains. The task runs' Running -> Completed intervals, as
the server recorded them, never overlap with a limit of 1, and do overlap with a limit of 2
(so the test can see an overlap when there is one). The same two processes run both
rounds: their start-up (torch + Prefect imports) is paid once. Each training lasts
several seconds, longer than the client's ~2.3 s retry below.

Why not release both at the same instant: two simultaneous slot requests on the SQLite
server can meet a locked database (HTTP 503), and the client retries ~2 s later, which
would serialise short trainings with any limit.
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
# gpu limit -> epochs; round 2 runs warm (~3x faster per epoch), so more epochs keep the
# training well above the ~2.3 s retry (measured 10-16 s at load 6.5 on 2 cores)
ROUNDS = {1: 8, 2: 50}
STAGGER = 0.5  # s between the two submissions

PROBE = """
import sys, time
from pathlib import Path

import torch
from prefect import flow

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import SequenceData
from flows.train import train_model

torch.set_num_threads(1)
V = 12


def data(n, seed):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(8, 24, (n,), generator=g).tolist()
    return SequenceData.next_state([[2 + (i + j) % (V - 2) for j in range(k)]
                                    for i, k in enumerate(lengths)])


@flow(name="gpu-limit-probe")
def probe(go: str, epochs: int) -> str:
    model = ModelConfig(vocab_size=V, embedding_dim=16, hidden_dim=32)
    train = TrainConfig(epochs=epochs, batch_size=8, patience=100, seed=0, progress=False)
    train_data, val_data = data(160, 1), data(16, 2)
    print("READY", flush=True)
    while not Path(go).exists():
        time.sleep(0.01)
    future = train_model.submit(model, train, train_data, val_data, False)
    future.result()
    return str(future.task_run_id)


for arg in sys.argv[1:]:  # GO_FILE:EPOCHS, one per round
    go, epochs = arg.rsplit(":", 1)
    print("TASK_RUN", probe(go, int(epochs)), flush=True)
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
    procs, outs, gos = [], [[], []], [[], []]
    for i in range(2):
        cwd = tmp / f"pipeline{i}"  # its own checkpoints/ and dvclive/
        cwd.mkdir()
        gos[i] = [tmp / f"go-{limit}-{i}" for limit in ROUNDS]
        rounds = [f"{go}:{epochs}" for go, epochs in zip(gos[i], ROUNDS.values(), strict=True)]
        procs.append(subprocess.Popen(
            [sys.executable, "-c", PROBE, *rounds], cwd=cwd, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        ))  # fmt: skip
    result = {}
    try:
        for r, limit in enumerate(ROUNDS):
            for proc, out in zip(procs, outs, strict=True):
                _read_until(proc, out, "READY")
            set_tag_limit(prefect_server, limit)
            gos[0][r].touch()
            time.sleep(STAGGER)
            gos[1][r].touch()
            lines = [_read_until(p, o, "TASK_RUN ") for p, o in zip(procs, outs, strict=True)]
            result[limit] = sorted(_times(prefect_server, UUID(x.split()[1])) for x in lines)
        for proc, out in zip(procs, outs, strict=True):
            out.extend(proc.stdout)
            assert proc.wait(timeout=60) == 0, "".join(out)[-4000:]
    finally:
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
    assert e1 - s1 > 0.5 and e2 - s2 > 0.5  # they did train
    assert submitted2 < e1, "the second was submitted while the first trained"
    assert e1 <= s2, "the second gpu task started before the first ended"


def test_limit_2_lets_them_overlap(rounds):
    (s1, e1, _), (s2, e2, _) = rounds[2]
    _show(2, rounds[2])
    assert s2 < e1, "with 2 slots the second training should start during the first"
