"""The nightly deployment on a real server: deploy, run, record, compare.

In a git + DVC copy of the project, against the session's real Prefect server: what
``make serve`` does (pool ``local``, the gpu limit, a worker), then ``make deploy``
(``prefect --no-prompt deploy --all``, prefect.yaml), then ``prefect deployment run
train/nightly --watch`` with tiny parameters. The run must end Completed, its metrics must
be recorded as a DVC experiment, and a second night with nothing changed must rerun no
stage and still be recorded beside the first.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock
from uuid import UUID

import pytest
from prefect.client.schemas.filters import (
    ArtifactFilter,
    ArtifactFilterFlowRunId,
    FlowFilter,
    FlowFilterName,
    TaskRunFilter,
    TaskRunFilterTags,
)

from bench.project import PROJECT, copy_project
from flows import pid_alive
from flows.worker import client, serve, stop_workers

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent  # the venv's bin: python, dvc, prefect
TINY = {  # as in test_pipeline_e2e, passed as the deployment's set_params (dvc exp run -S)
    "ingest.limit": 6,
    "ingest.workers": 1,
    "split.val": 0.2,
    "split.test": 0.2,
    "search.enabled": True,  # auto would skip a search on 4 chorales
    "search.n_trials": 2,
    "search.epochs": 1,
    "train.epochs": 2,
    "train.min_steps": 0,  # exactly 2 epochs on 4 chorales
    "train.hidden_dim": 16,
    "train.embedding_dim": 16,
    "evaluate.ngram_orders": [1, 2, 3],
    "evaluate.heatmaps": 1,
}
STAGE_FLOWS = ["ingest", "encode", "split", "search", "train-model", "evaluate", "export"]
RUN_TIMEOUT = 900  # s


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float = RUN_TIMEOUT) -> str:
    """Run ``cmd``; fail the test with its output unless it exits 0. Returns stdout + stderr."""
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"{' '.join(cmd)} exited {proc.returncode}:\n{out[-6000:]}"
    return out


@pytest.fixture(scope="module")
def project(tmp_path_factory, prefect_server) -> tuple[Path, dict]:
    """A git + DVC copy of the project (one commit), and the environment to run it in."""
    path = tmp_path_factory.mktemp("nightly") / "project"
    path.mkdir(parents=True)
    copy_project(path, [*PROJECT, "prefect.yaml"])
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PREFECT_API_URL": prefect_server,
        "GIT_AUTHOR_NAME": "nightly",
        "GIT_AUTHOR_EMAIL": "nightly@example.com",
        "GIT_COMMITTER_NAME": "nightly",
        "GIT_COMMITTER_EMAIL": "nightly@example.com",
    }
    env.pop("VIRTUAL_ENV", None)
    _run(["git", "init", "-q", "-b", "main"], path, env)
    _run(["git", "add", "-A"], path, env)
    _run(["git", "commit", "-q", "-m", "project"], path, env)
    return path, env


@pytest.fixture(scope="module")
def worker(project, prefect_server):
    """What ``make serve`` does: pool ``local``, gpu limit 1, one worker (polling every 1 s)."""
    path, _ = project
    with mock.patch.dict(os.environ, {"PREFECT_WORKER_QUERY_SECONDS": "1"}):
        [w] = serve(path, prefect_server, gpu_limit=1, workers=1)
    yield w
    stop_workers(path)


@pytest.fixture(scope="module")
def deployment(project, worker, prefect_server):
    """What ``make deploy`` does: ``prefect --no-prompt deploy --all`` in the project."""
    path, env = project
    t0 = time.monotonic()
    _run([str(BIN / "prefect"), "--no-prompt", "deploy", "--all"], path, env)
    print(f"\nprefect deploy --all: {time.monotonic() - t0:.1f} s")
    with client(prefect_server) as c:
        dep = c.read_deployment_by_name("train/nightly")
        # the nightly schedule must not fire during the test (a test at 02:00 UTC)
        for schedule in dep.schedules:
            c.update_deployment_schedule(dep.id, schedule.id, active=False)
    return dep


def _nightly(path: Path, env: dict, url: str) -> tuple[UUID, float]:
    """``prefect deployment run train/nightly --watch`` with TINY; the run id and seconds."""
    params = json.dumps({"set_params": TINY})
    t0 = time.monotonic()
    out = _run([str(BIN / "prefect"), "deployment", "run", "train/nightly", "--params", params,
                "--watch", "--watch-timeout", str(RUN_TIMEOUT)], path, env)  # fmt: skip
    seconds = time.monotonic() - t0
    run_id = UUID(re.search(r"UUID: ([0-9a-f-]{36})", out).group(1))
    with client(url) as c:
        state = c.read_flow_run(run_id).state
    assert state.is_completed(), f"{state}\n{out[-4000:]}"
    return run_id, seconds


def _during(runs: list, night) -> list:
    """The flow or task runs that started while the flow run ``night`` ran."""
    return [r for r in runs if r.start_time and night.start_time <= r.start_time <= night.end_time]


def _stage_runs_during(url: str, run_id: UUID) -> list[str]:
    """Names of the stage flows whose runs started while flow run ``run_id`` ran."""
    with client(url) as c:
        night = c.read_flow_run(run_id)
        flows_by_id = {f.id: f.name for f in c.read_flows()}
        runs = c.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=STAGE_FLOWS)))
    return sorted(flows_by_id[r.flow_id] for r in _during(runs, night))


def _experiments(path: Path, env: dict) -> dict[str, dict]:
    """``dvc exp show --json``: experiment name -> its metrics per file."""
    show = json.loads(_run(["dvc", "exp", "show", "--json"], path, env))
    return {
        rev["name"]: {f: m.get("data", {}) for f, m in rev["data"]["metrics"].items()}
        for baseline in show
        for exp in baseline.get("experiments") or []
        for rev in exp.get("revs") or []
    }


@pytest.fixture(scope="module")
def first_night(project, deployment, prefect_server) -> UUID:
    path, env = project
    run_id, seconds = _nightly(path, env, prefect_server)
    print(f"\nfirst nightly run (every stage, tiny params): {seconds:.1f} s")
    return run_id


def test_deploy_takes_schedule_pool_and_directory_from_prefect_yaml(deployment, project):
    path, _ = project
    assert deployment.work_pool_name == "local"
    assert deployment.entrypoint == "flows/nightly.py:nightly"
    assert deployment.parameters["set_params"] == {}
    assert deployment.parameters["experiment"].startswith("nightly-{now:")
    [schedule] = deployment.schedules
    assert schedule.schedule.cron == "0 2 * * *" and schedule.schedule.timezone == "UTC"
    # the worker runs the flow where it was deployed from
    [step] = deployment.pull_steps
    directory = step["prefect.deployments.steps.set_working_directory"]["directory"]
    assert Path(directory) == path.resolve()


def test_nightly_run_completes_and_records_its_metrics(first_night, project, prefect_server):
    path, env = project
    [(name, metrics)] = [(n, m) for n, m in _experiments(path, env).items()
                         if n.startswith("nightly-")]  # fmt: skip
    assert re.fullmatch(r"nightly-\d{8}-\d{6}", name)
    for model in ("model", "kneser_ney"):
        for key in ("accuracy", "top5_accuracy", "perplexity"):
            assert math.isfinite(metrics["metrics/eval.json"][model][key])
    assert metrics["metrics/train.json"]["epochs_run"] == 2  # set_params reached the stages

    # every stage ran as its own flow run on this server (no temporary server), and the
    # training task carried the tag the gpu limit counts
    assert _stage_runs_during(prefect_server, first_night) == sorted(STAGE_FLOWS)
    gpu = TaskRunFilter(tags=TaskRunFilterTags(all_=["gpu"]))
    only = ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[first_night]))
    with client(prefect_server) as c:
        night = c.read_flow_run(first_night)
        gpu_runs = _during(c.read_task_runs(task_run_filter=gpu), night)
        [artifact] = c.read_artifacts(artifact_filter=only)
    # the search's trials and the training: each trains, each waits for a gpu slot
    assert sorted(t.name.rsplit("-", 1)[0] for t in gpu_runs) == ["train_model", "tune"]
    assert all(t.state.is_completed() for t in gpu_runs)
    assert artifact.key == "nightly-metrics" and name in artifact.data  # shown in the UI


def test_second_night_reruns_nothing_and_is_compared(first_night, project, prefect_server):
    path, env = project
    run_id, seconds = _nightly(path, env, prefect_server)
    print(f"\nsecond nightly run (nothing stale): {seconds:.1f} s")
    assert _stage_runs_during(prefect_server, run_id) == []  # dvc skipped every stage

    nights = sorted(n for n in _experiments(path, env) if n.startswith("nightly-"))
    assert len(nights) == 2
    diff = json.loads(_run(["dvc", "metrics", "diff", "--json", *nights], path, env))
    assert diff == {} or all(
        change.get("diff", 0) == 0 for file in diff.values() for change in file.values()
    ), diff


def test_make_stop_stops_the_worker_by_pid(project, worker):
    path, _ = project
    assert stop_workers(path) == [f"stopped worker {worker.name} (pid {worker.pid})"]
    assert not pid_alive(worker.pid)
