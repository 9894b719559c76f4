"""A plain ``dvc repro`` starts the project's Prefect server once, quietly, and leaves it up.

No ``PREFECT_API_URL``, no server running: the first stage starts ``flows.server``'s server
(127.0.0.1, a free port, PREFECT_HOME in the project), the later stages use it, nobody
boots Prefect's temporary server, and no telemetry is attempted. Stopped by PID.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from bench.project import copy_project
from flows import pid_alive
from flows.server import NO_SERVER, free_port, stop_server

pytestmark = pytest.mark.e2e


@pytest.fixture
def project(tmp_path) -> tuple[Path, dict]:
    path = tmp_path / "p"
    copy_project(path)
    params = yaml.safe_load((path / "params.yaml").read_text())
    params["ingest"].update(limit=6, workers=1)
    params["split"].update(val=0.2, test=0.2)  # 6 sequences: 4 / 1 / 1
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    unset = ("ATTNLIB_PREFECT_DISCOVER", "VIRTUAL_ENV")  # a fresh shell: no Prefect settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_") and k not in unset}
    env.update(HOME=str(tmp_path / "home"), ATTNLIB_PREFECT_PORT=str(free_port()),
               PYTHONPATH=str(path), GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")  # fmt: skip
    (tmp_path / "home").mkdir()
    for cmd in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A"],
                ["git", "commit", "-q", "-m", "tiny"]):  # fmt: skip
        subprocess.run(cmd, cwd=path, env=env, check=True)
    yield path, env
    state = path / ".prefect/server.json"
    if state.is_file():
        stop_server(json.loads(state.read_text())["pid"])


def run(cmd, project) -> subprocess.CompletedProcess:
    path, env = project
    return subprocess.run(cmd, cwd=path, env=env, capture_output=True, text=True, timeout=900)


def test_status_and_env_agree_when_no_server_runs(project):
    for command in ("status", "env"):
        result = run(["python", "-m", "flows.server", command], project)
        assert (result.returncode, result.stdout, result.stderr) == (1, "", NO_SERVER + "\n")


def test_a_plain_repro_starts_one_server_and_no_telemetry(project):
    path, _ = project
    result = run(["dvc", "repro", "split"], project)  # ingest, encode, split: three stages
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-4000:]
    assert out.count("Running stage") == 3
    assert out.count("starting a local Prefect server") == 1
    assert "Starting temporary server" not in out
    assert "telemetry" not in out.lower()
    state = json.loads((path / ".prefect/server.json").read_text())
    assert pid_alive(state["pid"]) and state["url"].startswith("http://127.0.0.1:")
    again = run(["dvc", "repro", "-f", "-s", "split"], project)  # uses it: starts nothing
    assert again.returncode == 0, again.stderr[-4000:]
    assert "starting a local Prefect server" not in again.stdout + again.stderr
    assert json.loads((path / ".prefect/server.json").read_text())["pid"] == state["pid"]
    status = run(["python", "-m", "flows.server", "status"], project)
    assert status.returncode == 0 and f"pid {state['pid']}" in status.stdout
