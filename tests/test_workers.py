"""Workers on one pool: `make serve`'s pool, limit and worker; two workers share queued runs.

Against the session's real Prefect server. A tiny flow (not the pipeline) is deployed
with ``prefect deploy`` to its own process pool; runs are queued first, then two workers
start on the pool, each allowed two flow runs at a time, so both must take some.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from flows import pid_alive
from flows.worker import (
    client,
    ensure_pool,
    recorded_workers,
    serve,
    set_tag_limit,
    start_worker,
    stop_worker,
    stop_workers,
)

BIN = Path(sys.executable).parent
RUNS = 4
FAST_POLL = {"PREFECT_WORKER_QUERY_SECONDS": "1"}  # default 10 s

TINY_FLOW = """
import json, os, time
from prefect import flow
from prefect.runtime import flow_run


@flow(name="tiny")
def tiny(log: str, seconds: float = 2.0) -> None:
    time.sleep(seconds)  # long enough that a worker at its limit leaves runs to the other
    with open(log, "a") as f:
        f.write(json.dumps({"id": flow_run.id, "ppid": os.getppid()}) + "\\n")
"""


def test_serve_creates_pool_limit_and_worker_and_stop_ends_it(
    prefect_server, tmp_path, monkeypatch
):
    monkeypatch.setenv("PREFECT_WORKER_QUERY_SECONDS", "1")
    try:
        first = serve(tmp_path, prefect_server, gpu_limit=3, workers=1)
        again = serve(tmp_path, prefect_server, gpu_limit=3, workers=1)  # idempotent
        with client(prefect_server) as c:
            pool = c.read_work_pool("local")
            limit = c.read_concurrency_limit_by_tag("gpu")
            names = {w.name for w in c.read_workers_for_work_pool("local")}
    finally:
        messages = stop_workers(tmp_path)
        set_tag_limit(prefect_server, 1)
    [worker] = first
    assert [w.pid for w in again] == [worker.pid]  # kept, not a second worker
    assert pool.type == "process" and limit.concurrency_limit == 3
    assert worker.name in names  # it polls the pool
    assert messages == [f"stopped worker {worker.name} (pid {worker.pid})"]
    assert not pid_alive(worker.pid) and recorded_workers(tmp_path) == []


@pytest.fixture
def tiny_deployment(prefect_server, tmp_path):
    """The flow ``tiny`` deployed to the process pool ``scale``; its directory."""
    (tmp_path / "tiny.py").write_text(TINY_FLOW)
    ensure_pool(prefect_server, "scale")
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    cmd = [str(BIN / "prefect"), "--no-prompt", "deploy", "tiny.py:tiny", "--name", "tiny",
           "--pool", "scale"]  # fmt: skip
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return tmp_path


def test_two_workers_take_queued_runs_and_none_runs_twice(prefect_server, tiny_deployment):
    log = tiny_deployment / "runs.jsonl"
    with client(prefect_server) as c:
        dep = c.read_deployment_by_name("tiny/tiny")
        ids = [c.create_flow_run_from_deployment(dep.id, parameters={"log": str(log)}).id
               for _ in range(RUNS)]  # fmt: skip
    t0 = time.monotonic()
    workers = [
        start_worker(prefect_server, name=f"scale-{i}", pool="scale", cwd=tiny_deployment,
                     log=tiny_deployment / f"worker-{i}.log", env=FAST_POLL, limit=2)
        for i in (1, 2)
    ]  # fmt: skip
    try:
        with client(prefect_server) as c:
            while True:
                runs = [c.read_flow_run(i) for i in ids]
                if all(r.state.is_final() for r in runs) or time.monotonic() - t0 > 240:
                    break
                time.sleep(1)
            histories = {i: c.read_flow_run_states(i) for i in ids}
    finally:
        stopped = [stop_worker(w.pid) for w in workers]
    seconds = time.monotonic() - t0

    assert all(r.state.is_completed() for r in runs), [r.state for r in runs]
    for i, states in histories.items():  # one worker took each run, once
        assert sum(s.is_running() for s in states) == 1, (i, [s.name for s in states])
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert sorted(r["id"] for r in records) == sorted(map(str, ids))  # each ran exactly once
    by_worker = Counter(r["ppid"] for r in records)  # a run's process is its worker's child
    print(f"\n{RUNS} queued runs done in {seconds:.1f} s, runs per worker: {dict(by_worker)}")
    assert set(by_worker) == {w.pid for w in workers}, (by_worker, workers)
    assert stopped == [True, True]
