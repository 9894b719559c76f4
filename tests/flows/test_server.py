"""flows/server.py and the discovery in flows/__init__.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import flows
from flows import server as srv
from tests.processes import children

FLOW = """
from prefect import flow, task

@task
def add(x: int) -> int:
    return x + 1

@flow(name="smoke")
def smoke() -> int:
    return add(1)

print("result", smoke())
"""


def _record(root, pid: int, url: str) -> None:
    path = root / flows.STATE_DIR / flows.STATE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pid": pid, "url": url}))


def _smoke_runs(url: str) -> int:
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    from flows.worker import client

    with client(url) as c:
        return len(c.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["smoke"]))))


def test_a_flow_runs_against_the_shared_server(prefect_server):
    assert srv.healthy(prefect_server)
    before = _smoke_runs(prefect_server)
    env = {**os.environ, "PREFECT_API_URL": prefect_server}
    proc = subprocess.run(
        [sys.executable, "-c", FLOW], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "result 2" in proc.stdout
    assert "temporary server" not in proc.stdout + proc.stderr
    assert _smoke_runs(prefect_server) == before + 1  # recorded here, not on a temporary server


def test_discovery_looks_upward_from_experiment_copies(tmp_path, prefect_server):
    # `dvc exp run --temp` runs stages in .dvc/tmp/exps/<tmp>/ inside the project
    workspace = tmp_path / ".dvc" / "tmp" / "exps" / "tmpabc"
    workspace.mkdir(parents=True)
    assert flows.running_server(workspace) is None

    _record(tmp_path, os.getpid(), prefect_server)
    assert flows.running_server(workspace)["url"] == prefect_server

    _record(tmp_path, 2**22 + 12345, prefect_server)  # a PID that does not exist
    assert flows.running_server(workspace) is None
    _record(tmp_path, os.getpid(), f"http://127.0.0.1:{srv.free_port()}/api")  # port closed
    assert flows.running_server(workspace) is None


def test_import_sets_the_api_url_only_when_unset(tmp_path, prefect_server):
    _record(tmp_path, os.getpid(), prefect_server)
    code = "import os, flows; print(os.environ.get('PREFECT_API_URL'))"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["ATTNLIB_PREFECT_DISCOVER"] = "1"
    # flows/__init__.py starts at its own project root, then the working directory
    found = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    ).stdout.strip()
    if flows.running_server(srv.ROOT) is None:  # else the project's own server is found first
        assert found == prefect_server
    mine = "http://example.invalid:1/api"
    kept = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**env, "PREFECT_API_URL": mine},
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert kept == mine


def test_a_user_api_url_starts_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://example.invalid:1/api")
    monkeypatch.setattr(srv, "DISCOVERED_API_URL", None)
    assert srv.ensure(tmp_path) == ("http://example.invalid:1/api", None)
    assert not (tmp_path / flows.STATE_DIR / flows.STATE_FILE).exists()


def test_start_reuse_stop(tmp_path, monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setattr(srv, "DISCOVERED_API_URL", None)
    monkeypatch.setattr(srv, "user_api_url", lambda: None)  # ignore any profile on this machine
    monkeypatch.setenv("ATTNLIB_PREFECT_PORT", str(srv.free_port()))
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    url, server = srv.ensure(tmp_path)
    try:
        assert server is not None and srv.healthy(url)
        state = json.loads((tmp_path / ".prefect" / "server.json").read_text())
        assert state["pid"] == server.pid and state["url"] == url

        t0 = time.monotonic()
        assert srv.ensure(tmp_path)[1].pid == server.pid  # reused, not started again
        assert time.monotonic() - t0 < 3
    finally:
        message = srv.stop(tmp_path)
    assert "stopped" in message
    assert not flows.pid_alive(server.pid)
    assert not (tmp_path / ".prefect" / "server.json").exists()
    assert srv.stop(tmp_path) == "no local Prefect server recorded"


@pytest.mark.parametrize("code", [0, 3])
def test_run_returns_the_command_exit_code(monkeypatch, tmp_path, code):
    monkeypatch.setenv("PREFECT_API_URL", "http://example.invalid:1/api")
    monkeypatch.setattr(srv, "DISCOVERED_API_URL", None)
    cmd = [sys.executable, "-c", f"import os, sys; sys.exit({code})"]
    assert srv.run(cmd, root=tmp_path) == code


# SIGTERM while a test holds a server and runs a child process (as a benchmark runs dvc):
# the block unwinds (the child is killed), the server is stopped, and the signal ends the
# process, so pytest does not go on to the next test (an exception that only failed the
# running test would have let it)
HOLD = """
import subprocess

from flows.server import temporary_server


def test_hold(tmp_path):
    with temporary_server(tmp_path / "home") as server:
        print("server", server.pid, flush=True)
        subprocess.run(["sh", "-c", "echo $$; exec sleep 300"])


def test_after():
    print("after", flush=True)
"""


WAIT_SYMBOLS = {"do_wait", "kernel_wait4", "kernel_waitid", "__do_sys_wait4"}
WAIT_CALLS = {"x86_64": {"61", "247"}, "aarch64": {"260", "95"}}  # wait4, waitid


def _waiting(pid: int) -> bool | None:
    """Whether ``pid`` is blocked waiting for a child; None when the kernel does not say
    (``wchan`` shows ``0`` on some kernels, ``syscall`` needs ptrace rights)."""
    import platform

    try:
        wchan = Path(f"/proc/{pid}/wchan").read_text().strip()
    except OSError:
        wchan = ""
    try:
        call = Path(f"/proc/{pid}/syscall").read_text().split()[0]
    except (OSError, IndexError):
        call = ""
    calls = WAIT_CALLS.get(platform.machine(), set())
    if wchan in WAIT_SYMBOLS or call in calls:
        return True
    # a process on a CPU shows wchan 0 and syscall "running": not waiting yet, poll on
    informative = wchan not in ("", "0") or (calls and (call.isdigit() or call == "running"))
    return False if informative else None


def _until_waiting(pid: int, timeout: float = 30.0) -> None:
    """Until ``pid`` waits for its child: the child prints its pid once it runs, which can be
    before the parent's ``Popen()`` has returned, and a signal then (a window of microseconds,
    wide on a loaded machine) finds no ``subprocess.run`` yet to kill the child."""
    deadline = time.monotonic() + timeout
    while (waiting := _waiting(pid)) is False:
        assert time.monotonic() < deadline, f"process {pid} never waited for its child"
        time.sleep(0.05)
    if waiting is None:  # the kernel does not say: a grace period instead
        time.sleep(2)


def test_a_temporary_server_stops_when_its_process_is_terminated(tmp_path):
    """SIGTERM (``timeout``, a cancelled CI job) stops a benchmark's or the tests' server and
    the block's child, then ends the process by the signal: the server runs in its own
    session and would outlive it otherwise. (The tests' session server is the same block,
    in a fixture: pytest takes the interrupt and tears its fixtures down.)"""
    import signal

    (tmp_path / "test_hold.py").write_text(HOLD)
    cmd = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
           f"--rootdir={tmp_path}", str(tmp_path / "test_hold.py")]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=srv.ROOT)
    try:
        pid = int(proc.stdout.readline().split("server")[-1])  # the server answers
        child = int(proc.stdout.readline())
        assert flows.pid_alive(pid) and flows.pid_alive(child)
        _until_waiting(proc.pid)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == -signal.SIGTERM  # ended by the signal, as without us
        assert "after" not in proc.stdout.read()
    finally:
        proc.kill()
    assert not flows.pid_alive(pid) and not flows.pid_alive(child)


STARTING = """
import sys
from pathlib import Path

from flows.server import temporary_server

print("starting", flush=True)
with temporary_server(Path(sys.argv[1])):
    print("up", flush=True)
"""


def test_a_server_still_starting_is_stopped_when_its_process_is_terminated(tmp_path):
    """SIGTERM in the 10-16 s a server takes to answer: it is stopped all the same, and
    the process ends by the signal without entering the block."""

    proc = subprocess.Popen([sys.executable, "-c", STARTING, str(tmp_path / "home")],
                            stdout=subprocess.PIPE, text=True, cwd=srv.ROOT)  # fmt: skip
    server = _terminate_while_starting(proc, proc.stdout, "starting")
    assert not flows.pid_alive(server)


def _terminate_while_starting(proc: subprocess.Popen, said, starting: str) -> int:
    """SIGTERM ``proc`` as soon as it has started a server, once it has said ``starting``
    on ``said`` (before that, importing Prefect runs ``ldconfig``, another child); checks
    that the process ends by the signal before its block ("up"); the server's PID."""
    import signal

    try:
        while starting not in (line := said.readline()):
            assert line, f"the process ended without saying {starting!r}"
        deadline = time.monotonic() + 60
        while not children(proc.pid):  # the server, from the moment of its fork
            assert time.monotonic() < deadline and proc.poll() is None, "no server started"
            time.sleep(0.05)
        server = children(proc.pid)[0]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == -signal.SIGTERM
        assert "up" not in proc.stdout.read()
    finally:
        proc.kill()
    return server


def _ensure_env(tmp_path: Path) -> dict[str, str]:
    """A process's environment where ensure() starts a server of its own under tmp_path."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(tmp_path / "home"), ATTNLIB_PREFECT_DISCOVER="0",
               ATTNLIB_PREFECT_PORT=str(srv.free_port()), PYTHONPATH=str(srv.ROOT))  # fmt: skip
    return env


ENSURE = """
import sys
from pathlib import Path

from flows.server import ensure

ensure(Path(sys.argv[1]))
print("up", flush=True)
"""


def test_the_project_server_still_starting_is_stopped_when_its_process_is_terminated(tmp_path):
    """``make repro`` killed (``timeout``, a cancelled job) while the project's server
    starts: it would stay up unrecorded, unseen by ``make stop``; it is stopped instead,
    nothing is recorded, and the process ends by the signal."""
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    proc = subprocess.Popen([sys.executable, "-c", ENSURE, str(tmp_path)],
                            env=_ensure_env(tmp_path), cwd=tmp_path, **pipes)  # fmt: skip
    server = _terminate_while_starting(proc, proc.stderr, "starting a local Prefect server")
    assert not flows.pid_alive(server)
    assert not srv.state_path(tmp_path).exists()


# A SIGTERM at the narrow moments of a start, sent by the process to itself: just after
# Popen() returns (the server's command line may still read empty), as the server first
# answers, while the record is written.
AT = """
import os
import signal
import subprocess
import sys
from pathlib import Path

from flows import server as srv

point = sys.argv[2]


def term():
    os.kill(os.getpid(), signal.SIGTERM)


class Popen(subprocess.Popen):
    def __init__(self, args, *rest, **kw):
        super().__init__(args, *rest, **kw)
        if "server" in args:
            Path(sys.argv[1], "server.pid").write_text(str(self.pid))
            if point == "popen":
                term()


def healthy(url, timeout=2.0):
    answers = real_healthy(url, timeout)
    if answers and point == "answered":
        term()
    return answers


def asdict(server):
    if point == "record":
        term()
    return real_asdict(server)


real_healthy, real_asdict = srv.healthy, srv.asdict
subprocess.Popen, srv.healthy, srv.asdict = Popen, healthy, asdict
srv.ensure(Path(sys.argv[1]))
print("up", flush=True)
"""


@pytest.mark.parametrize("point", ["popen", "answered", "record"])
def test_a_sigterm_at_any_moment_of_the_start_leaves_no_unrecorded_server(tmp_path, point):
    """Stopped and not recorded, or recorded (the server ``make repro`` leaves up): never
    running unrecorded. The process ends by the signal either way."""
    import signal

    pid_file = tmp_path / "server.pid"
    try:
        proc = subprocess.run([sys.executable, "-c", AT, str(tmp_path), point], text=True,
                              env=_ensure_env(tmp_path), capture_output=True, cwd=tmp_path,
                              timeout=180)  # fmt: skip
        assert proc.returncode == -signal.SIGTERM, proc.stderr
        assert "up" not in proc.stdout.split()
        server = int(pid_file.read_text())
        state = flows.read_state(srv.state_path(tmp_path))
        if point == "popen":  # raised while it starts: stopped, not recorded
            assert state is None and not flows.pid_alive(server)
        else:  # held until the record is written: recorded, up for the next run
            assert state["pid"] == server and srv.healthy(state["url"])
    finally:  # also when it timed out: its server would outlive it
        srv.stop(tmp_path)
        if pid_file.exists():
            srv.stop_server(int(pid_file.read_text()))
    assert not flows.pid_alive(int(pid_file.read_text()))


def test_a_ctrl_c_just_as_our_handler_goes_in_puts_the_callers_back(tmp_path, monkeypatch):
    """``signal.signal()`` has installed ours but its result is not yet stored when a
    Ctrl-C lands: the caller's SIGTERM handler still comes back, and nothing stays held."""
    import signal

    real = signal.signal

    def interrupted(signum, handler):
        previous = real(signum, handler)
        if handler is srv._raise_terminated:
            raise KeyboardInterrupt  # as a Ctrl-C at the check after the call
        return previous

    def callers(*_):
        pass

    before = real(signal.SIGTERM, callers)
    try:
        monkeypatch.setattr(signal, "signal", interrupted)
        with pytest.raises(KeyboardInterrupt), srv.temporary_server(tmp_path / "home"):
            pass
        with pytest.raises(KeyboardInterrupt):
            srv._start_recorded(tmp_path, port=srv.free_port(), home=tmp_path / "home")
        monkeypatch.undo()
        assert signal.getsignal(signal.SIGTERM) is callers
        assert srv._HELD == {"on": False, "pending": False}
    finally:
        real(signal.SIGTERM, before)
