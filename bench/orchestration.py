"""Orchestration overhead: a trivial Prefect stage, and a no-op ``dvc repro``.

A stage is a process (DVC runs ``python -m flows.<stage>``), so a trivial stage is timed
as a process too: one flow with one task that returns 1, against the same function
without Prefect. Its overhead is measured with a Prefect server already running (what
``make repro`` sets up), with flow-run heartbeats turned off (Prefect's heartbeat
thread, joined at exit, costs up to 1 s), and with Prefect's default of booting a
temporary server in every process (no ``PREFECT_API_URL``).

The no-op ``dvc repro`` runs in a temporary copy of the project after one tiny full run
(TREC-6, 300 questions, no search, one epoch); if that pipeline fails (it is being
worked on), a 7-stage stand-in with trivial commands and the same dependencies on the
code is used instead, and the JSON says so.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from project import copy_project

PLAIN = "def work():\n    return 1\n\n\ndef stage():\n    return work()\n\n\nstage()\n"
PREFECT = """from prefect import flow, task


@task
def work():
    return 1


@flow(name="bench-trivial-stage")
def stage():
    return work()


{call}
"""
CALL = "stage()"
CALL_NO_HEARTBEAT = """from prefect.settings import temporary_settings

with temporary_settings(updates={"flows.heartbeat_frequency": None}):
    stage()"""

TINY = {"task": "classify", "ingest": {"source": "builtin:trec6", "limit": 300},
        "search": {"enabled": False}, "train": {"epochs": 1}}  # fmt: skip
STAGES = ["ingest", "encode", "split", "search", "train", "evaluate", "export"]


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    bin_dir = str(Path(sys.executable).parent)
    env.update(PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", ATTNLIB_PREFECT_DISCOVER="0",
               GIT_AUTHOR_NAME="bench", GIT_AUTHOR_EMAIL="bench@example.com",
               GIT_COMMITTER_NAME="bench", GIT_COMMITTER_EMAIL="bench@example.com")  # fmt: skip
    env.update(extra)
    return env


def _timed(cmd: list[str], env: dict, cwd: Path | None = None) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {(proc.stdout + proc.stderr)[-2000:]}")
    return seconds


@contextlib.contextmanager
def prefect_server(home: Path):
    """A Prefect server of our own (no UI) for the duration; yields (server, seconds to start)."""
    from flows.server import temporary_server

    t0 = time.perf_counter()
    with temporary_server(home) as server:
        yield server, time.perf_counter() - t0


def stage_overhead(server_url: str, runs: int = 3) -> dict:
    """Seconds per trivial stage: plain Python, and Prefect with the server (heartbeats on, off)."""
    with tempfile.TemporaryDirectory(prefix="bench-orch-") as tmp:
        tmp = Path(tmp)
        scripts = {"plain": PLAIN, "prefect": PREFECT.format(call=CALL),
                   "prefect_no_heartbeat": PREFECT.format(call=CALL_NO_HEARTBEAT)}  # fmt: skip
        for name, text in scripts.items():
            (tmp / f"stage_{name}.py").write_text(text)  # not prefect.py: that shadows prefect

        def run(name: str, env: dict, n: int) -> list[float]:
            return [_timed([sys.executable, str(tmp / f"stage_{name}.py")], env) for _ in range(n)]

        plain = min(run("plain", _env(), 2))
        env = _env(PREFECT_API_URL=server_url, PREFECT_HOME=str(tmp / "client"))
        with_server = run("prefect", env, runs)
        no_heartbeat = run("prefect_no_heartbeat", env, runs)
    server_s = statistics.median(with_server) - plain
    return {
        "trivial_stage_plain_python_s": plain,
        "trivial_stage_prefect_server_s": with_server,
        "trivial_stage_prefect_server_no_heartbeat_s": no_heartbeat,
        "orchestration_overhead_per_stage_s": server_s,
        "orchestration_overhead_per_stage_no_heartbeat_s": statistics.median(no_heartbeat) - plain,
        "orchestration_within_2s_per_stage": server_s <= 2.0,
    }


def ephemeral_overhead(home: Path, plain: float, server_s: float) -> dict:
    """One trivial stage in Prefect's default mode: it boots a temporary server itself.

    Args:
        home: a PREFECT_HOME whose database exists (the stopped server's), so the run
            does not pay for creating it as a first run would.
        plain: seconds of the plain-Python stage; server_s: overhead with our server.
    """
    with tempfile.TemporaryDirectory(prefix="bench-orch-") as tmp:
        script = Path(tmp) / "stage_prefect.py"
        script.write_text(PREFECT.format(call=CALL))
        seconds = _timed([sys.executable, str(script)], _env(PREFECT_HOME=str(home)))
    return {
        "trivial_stage_prefect_ephemeral_s": seconds,
        "orchestration_overhead_per_stage_ephemeral_s": seconds - plain,
        "orchestration_overhead_ratio_vs_ephemeral": server_s / (seconds - plain),
    }


# --- no-op dvc repro ---------------------------------------------------------------------


def _tiny_params(path: Path) -> None:
    import yaml

    params = yaml.safe_load(path.read_text())
    for key, value in TINY.items():
        if isinstance(value, dict):
            params.setdefault(key, {}).update(value)
        else:
            params[key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def _stand_in(dest: Path) -> None:
    """7 stages like ours: each reads the previous output and depends on the package."""
    import yaml

    stages, prev = {}, None
    for name in STAGES:
        deps = ["attnlib", "flows", *([prev] if prev else [])]
        cmd = f"python -c \"open('out/{name}.txt', 'w').write('{name}')\""
        stages[name] = {"cmd": cmd, "deps": deps, "outs": [f"out/{name}.txt"]}
        prev = f"out/{name}.txt"
    (dest / "out").mkdir()
    (dest / "dvc.yaml").write_text(yaml.safe_dump({"stages": stages}, sort_keys=False))


def noop_repro(server_url: str | None, runs: int = 3) -> dict:
    """Time a full tiny ``dvc repro``, then ``runs`` no-op ones, in a temporary copy."""
    with tempfile.TemporaryDirectory(prefix="bench-dvc-") as tmp:
        path = Path(tmp)
        copy_project(path)
        _tiny_params(path / "params.yaml")
        env = _env(**({"PREFECT_API_URL": server_url} if server_url else {}))
        for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "bench"]):
            subprocess.run(["git", *cmd], cwd=path, check=True, env=env, capture_output=True)
        project, error = "attnlib pipeline (TREC-6, 300 questions, no search, 1 epoch)", None
        try:
            full = _timed(["dvc", "repro"], env, cwd=path)
        except RuntimeError as exc:
            error = str(exc)[-600:]
            (path / "dvc.lock").unlink(missing_ok=True)
            _stand_in(path)
            project = "7-stage stand-in (the pipeline failed; see dvc_pipeline_error)"
            full = _timed(["dvc", "repro"], env, cwd=path)
        noop = [_timed(["dvc", "repro"], env, cwd=path) for _ in range(runs)]
        status = _timed(["dvc", "status"], env, cwd=path)
    out = {
        "dvc_project": project,
        "dvc_full_repro_s": full,
        "dvc_noop_repro_s": statistics.median(noop),
        "dvc_noop_repro_runs_s": noop,
        "dvc_status_s": status,
        "dvc_noop_repro_share_of_full_repro": statistics.median(noop) / full,
    }
    if error:
        out["dvc_pipeline_error"] = error
    return out
