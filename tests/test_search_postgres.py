"""Two search workers share one study on a real PostgreSQL server (Debian's `postgresql`).

The server is started for this module only: `initdb` in a temporary directory, listening
on 127.0.0.1 at a free port, stopped afterwards. As root (CI), the server runs as the
`postgres` user the package creates (`initdb` refuses root). Outside CI the module skips
when the binaries are absent; with CI=true it fails instead.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import optuna
import pytest
import torch
from optuna.trial import TrialState

from attnlib.config import ModelConfig, TrainConfig
from attnlib.data import SequenceData
from attnlib.search import run_workers
from attnlib.search_space import SearchConfig

IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_bin() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    pg_bin = _pg_bin()
    if pg_bin is None:
        reason = (
            "PostgreSQL binaries not found under /usr/lib/postgresql/*/bin "
            "(apt-get install postgresql; .ci/run installs it in CI)"
        )
        if IN_CI:
            pytest.fail(f"CI=true but {reason}")
        pytest.skip(reason)
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    tmp = Path(tempfile.mkdtemp(prefix="attnlib-pg-", dir="/tmp"))  # tmp_path: root-only parents
    if as_root:
        shutil.chown(tmp, "postgres", "postgres")
    port = _free_port()

    def pg(tool: str, *args: str) -> None:
        subprocess.run([*run_as, str(pg_bin / tool), *args], check=True, capture_output=True)

    try:
        pg("initdb", "-D", f"{tmp}/data", "-U", "postgres", "--auth=trust", "-E", "UTF8", "-N")
        opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {tmp} -c fsync=off"
        pg("pg_ctl", "-D", f"{tmp}/data", "-l", f"{tmp}/log", "-w", "-o", opts, "start")
        try:
            pg("createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "optuna")
            yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/optuna"
        finally:
            pg("pg_ctl", "-D", f"{tmp}/data", "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _data(n: int, seed: int) -> SequenceData:
    g = torch.Generator().manual_seed(seed)
    seqs = [
        [2 + (i + j) % 8 for j in range(int(torch.randint(5, 14, (1,), generator=g)))]
        for i in range(n)
    ]
    return SequenceData.next_state(seqs)


def test_two_workers_share_one_study_with_an_exact_budget(postgres_url):
    n = 6
    cfg = SearchConfig.from_params(
        {
            "n_trials": n,
            "epochs": 3,
            "pruner": "median",
            "heartbeat_interval": 2,
            "grace_period": 10,
            "space": {
                "lr": {"min": 1e-3, "max": 1e-1, "log": True},
                "attention": {"values": ["dot", "general"]},
            },
        }
    )
    model = ModelConfig(vocab_size=10, embedding_dim=8, hidden_dim=8)
    train = TrainConfig(batch_size=16, progress=False)
    tr, va = _data(200, 1), _data(40, 2)
    name = run_workers(2, cfg, tr, va, model=model, train_config=train, storage=postgres_url)

    study = optuna.load_study(study_name=name, storage=postgres_url)
    done = [t for t in study.trials if t.state in (TrialState.COMPLETE, TrialState.PRUNED)]
    assert len(done) == n  # exactly: no overshoot from the worker that was still running
    params = [tuple(sorted(t.params.items())) for t in done]
    assert len(set(params)) == n  # each worker's sampler is seeded differently
    assert {t.user_attrs["worker"] for t in done} == {0, 1}  # both took part
    surplus = [t for t in study.trials if t.state == TrialState.FAIL]
    assert all(t.user_attrs.get("surplus") and not t.params for t in surplus)
