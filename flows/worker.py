"""The work pool, the ``gpu`` limit and the workers that ``make serve`` adds to the server.

    python -m flows.server serve [--gpu-limit N] [--workers N]   # pool, limit, N workers
    python -m flows.server stop                                   # the workers, then the server

The pool ``local`` is a process pool: a worker runs each flow run as a subprocess on its
own host. The tag concurrency limit ``gpu`` (Prefect's own, the global limit ``tag:gpu``)
caps how many ``gpu``-tagged tasks run at once across every worker of the server. A worker
is ``prefect worker start --pool local`` in its own session (a Ctrl-C in ``make`` does not
reach it), working in the project with the venv first on PATH; its PID, name and log go to
``.prefect/workers.json``. ``stop_worker`` sends SIGINT and, if it is still up after a
grace period, a second one (on which a worker kills itself). Stopping a worker ends the
flow runs it is running (measured: 0.6 s with one running; the server keeps showing them
Running), so stop workers between runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from flows import STATE_DIR, pid_alive

POOL = "local"
GPU_TAG = "gpu"
WORKERS_FILE = "workers.json"
REGISTER_TIMEOUT = 60.0  # s; a worker imports Prefect (~3-5 s) before its first heartbeat


class WorkerError(RuntimeError):
    """A worker exited or did not register with the server."""


@dataclass(frozen=True)
class Worker:
    pid: int
    name: str
    pool: str
    url: str  # the API it polls
    log: str
    started: float  # time.time()


@contextlib.contextmanager
def client(url: str):
    """A synchronous Prefect client on ``url`` (whatever the process's own settings say)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as c:
        yield c


def ensure_pool(url: str, name: str = POOL) -> bool:
    """Create the process work pool ``name`` unless it exists; True if it was created."""
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.workers.process import ProcessWorker

    pool = WorkPoolCreate(
        name=name, type="process", base_job_template=ProcessWorker.get_default_base_job_template()
    )
    with client(url) as c:
        try:
            c.create_work_pool(pool)
        except ObjectAlreadyExists:
            return False
    return True


def set_tag_limit(url: str, limit: int, tag: str = GPU_TAG) -> None:
    """At most ``limit`` task runs tagged ``tag`` at once (creates or updates the limit)."""
    with client(url) as c:
        c.create_concurrency_limit(tag=tag, concurrency_limit=limit)


def start_worker(
    url: str,
    *,
    name: str,
    pool: str = POOL,
    cwd: Path,
    log: Path,
    env: dict[str, str] | None = None,
    limit: int | None = None,
) -> Worker:
    """Start ``prefect worker start --pool POOL --name NAME`` in the background.

    Args:
        url: the Prefect API the worker polls (``PREFECT_API_URL``).
        cwd: its working directory (flow runs then change to their deployment's).
        log: its stdout + stderr.
        env: extra environment, e.g. ``{"PREFECT_WORKER_QUERY_SECONDS": "1"}``.
        limit: at most this many flow runs at once on this worker (None: no limit).
    """
    run_env = {**os.environ, **(env or {}), "PREFECT_API_URL": url}
    # the stages run `python -m flows.<stage>`: the venv's python first
    run_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{run_env.get('PATH', '')}"
    run_env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    cmd = [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process",
           "--name", name, *(["--limit", str(limit)] if limit else [])]  # fmt: skip
    log = Path(log)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=run_env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    return Worker(proc.pid, name, pool, url, str(log), time.time())


def wait_registered(worker: Worker, timeout: float = REGISTER_TIMEOUT) -> None:
    """Wait until the server has a heartbeat from ``worker`` (it polls the pool)."""
    deadline = time.monotonic() + timeout
    with client(worker.url) as c:
        while worker.name not in {w.name for w in c.read_workers_for_work_pool(worker.pool)}:
            if _reaped(worker.pid) or not pid_alive(worker.pid):
                raise WorkerError(f"worker {worker.name} exited; see {worker.log}")
            if time.monotonic() > deadline:
                raise WorkerError(f"worker {worker.name} did not register in {timeout:.0f} s")
            time.sleep(0.5)


def _reaped(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):  # reap it if it is our child (tests)
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    return False


def _is_worker(pid: int) -> bool:
    """The PID is still a Prefect worker (guards against a reused PID), where /proc tells."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return pid_alive(pid) and not Path("/proc/self").exists()  # no /proc: trust the PID
    except OSError:
        return True
    return b"prefect" in cmdline and b"worker" in cmdline


def stop_worker(pid: int, grace: float = 10.0) -> bool:
    """SIGINT; after ``grace`` s a second SIGINT; SIGKILL if it still runs 5 s later.

    A worker shuts down on the first SIGINT (taking its running flow runs down with it)
    and kills itself on the second. Returns True if a running worker was stopped.
    """
    if _reaped(pid) or not pid_alive(pid) or not _is_worker(pid):
        return False

    def wait(seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while not (_reaped(pid) or not pid_alive(pid)):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    for sig, seconds in ((signal.SIGINT, grace), (signal.SIGINT, 5.0), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if wait(seconds):
            return True
    return False


# --- the project's workers: .prefect/workers.json -------------------------------------


def workers_path(root: Path) -> Path:
    return root / STATE_DIR / WORKERS_FILE


def recorded_workers(root: Path) -> list[Worker]:
    """The workers recorded for this project that still run."""
    try:
        rows = json.loads(workers_path(root).read_text(encoding="utf-8"))
        workers = [Worker(**row) for row in rows]
    except (OSError, ValueError, TypeError):
        return []
    return [w for w in workers if pid_alive(w.pid) and _is_worker(w.pid)]


def _record(root: Path, workers: list[Worker]) -> None:
    path = workers_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([asdict(w) for w in workers], indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def serve(root: Path, url: str, *, gpu_limit: int = 1, workers: int = 1) -> list[Worker]:
    """Pool ``local``, the ``gpu`` limit, and ``workers`` workers on the pool (kept if running).

    Returns the project's workers (started now or before) on this API.
    """
    created = ensure_pool(url)
    print(f"work pool '{POOL}' (process): {'created' if created else 'exists'}", file=sys.stderr)
    set_tag_limit(url, gpu_limit)
    print(f"concurrency limit '{GPU_TAG}': {gpu_limit} task(s) at once", file=sys.stderr)
    running, stale = [], []
    for w in recorded_workers(root):
        (running if w.url == url and w.pool == POOL else stale).append(w)
    for w in stale:  # polling a server that is gone or another one
        stop_worker(w.pid)
    host = socket.gethostname()
    taken = {w.name for w in running}
    new = []
    for i in range(1, workers + 1):
        name = f"{host}-{i}"
        if len(running) + len(new) >= workers:
            break
        if name in taken:
            continue
        log = root / STATE_DIR / f"worker-{i}.log"
        new.append(start_worker(url, name=name, cwd=root, log=log))
    _record(root, running + new)  # before waiting: `make stop` finds them whatever happens
    for w in new:
        wait_registered(w)
    for w in running + new:
        state = "started" if w in new else "running"
        print(f"worker {w.name} on '{POOL}': {state} (pid {w.pid}, log {w.log})", file=sys.stderr)
    return running + new


def stop_workers(root: Path) -> list[str]:
    """Stop the project's recorded workers; one message per worker."""
    messages = []
    for w in recorded_workers(root):
        stopped = stop_worker(w.pid)
        messages.append(f"{'stopped' if stopped else 'gone:'} worker {w.name} (pid {w.pid})")
    workers_path(root).unlink(missing_ok=True)
    return messages
