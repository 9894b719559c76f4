"""Parallel search workers (``run_workers``) end with the process that started them.

A script runs a study far longer than any test waits in two worker processes on SQLite,
then gets a SIGTERM, which it raises as an exception the way a Prefect flow run does (a
background process may have Ctrl-C ignored, so SIGINT would test nothing), or is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.processes import children, running, wait_until

ROOT = Path(__file__).resolve().parents[2]

SEARCH = """
import signal
import sys
import torch
from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import SequenceData
from attnlib.search import run_workers
from attnlib.search_space import SearchConfig

def stop(signum, frame):
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)
    seqs = [[2 + (i + j) % 8 for j in range(5 + i % 9)] for i in range(200)]
    cfg = SearchConfig.from_params({"n_trials": 10_000, "epochs": 1_000, "pruner": "none",
                                    "space": {"lr": {"min": 1e-3, "max": 1e-1, "log": True}}})
    run_workers(2, cfg, SequenceData.next_state(seqs), SequenceData.next_state(seqs[:40]),
                model=ModelConfig(vocab_size=10, embedding_dim=8, hidden_dim=8),
                train_config=TrainConfig(batch_size=16, progress=False),
                storage=f"sqlite:///{sys.argv[1]}/study.db")
"""


def _workers(pid: int) -> list[int]:
    """The search workers among ``pid``'s children (not multiprocessing's resource tracker)."""
    found = []
    for child in children(pid):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except FileNotFoundError:
            pass
    return found


@pytest.fixture
def search(tmp_path):
    """Yields ``start()``: start the search and return (process, its two workers' pids).
    Afterwards kills what is left (its workers read before the parent goes)."""
    script = tmp_path / "search.py"
    script.write_text(SEARCH)
    procs, pids = [], []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def start() -> tuple[subprocess.Popen, list[int]]:
        with (tmp_path / "search.log").open("w") as log:  # the workers log every epoch
            proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)], cwd=ROOT,
                                    env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
        procs.append(proc)
        assert wait_until(lambda: len(_workers(proc.pid)) == 2, 60), "the workers did not start"
        pids.extend(_workers(proc.pid))
        return proc, list(pids)

    yield start
    for proc in procs:  # its workers as they are now, even if the test failed before it saw two
        pids.extend(_workers(proc.pid))
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for pid in pids:
        if running(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_terminated_search_stops_its_workers_and_exits(search):
    proc, pids = search()
    time.sleep(1)  # into the first trials
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)  # without the stop: it waits at exit for 10,000 trials
    assert proc.returncode != 0
    assert wait_until(lambda: not any(running(p) for p in pids), 10), "workers run on"


def test_a_killed_search_leaves_no_worker_running_trials(search):
    proc, pids = search()
    proc.kill()  # SIGKILL: nothing runs in the parent
    proc.wait()
    assert wait_until(lambda: not any(running(p) for p in pids), 15), "orphaned workers run on"
