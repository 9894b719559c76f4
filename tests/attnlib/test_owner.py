"""Commands that end with the process that started them (``owned_env`` / ``stop_with_owner``)
and ``stop_command``.

Each test starts an "owner" (a sleeping process the test can kill) and a command that
names it in ``$ATTNLIB_OWNER_PID``, then ends the owner the way nothing can catch.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from attnlib.processes import OWNER_ENV, _poll, owned_env, stop_command, stop_with_owner
from tests.processes import SLEEPER, running, wait_until

ROOT = Path(__file__).resolve().parents[2]

COMMAND = """
import sys, time
from pathlib import Path
from attnlib.processes import stop_with_owner
stop_with_owner()
Path(sys.argv[1]).touch()
time.sleep(300)
"""


@pytest.fixture
def processes():
    """Yields a list to put started processes in; kills what is left of them afterwards."""
    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def start_command(tmp_path: Path, processes: list, owner: int | None) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != OWNER_ENV}
    env["PYTHONPATH"] = str(ROOT)
    if owner is not None:
        env[OWNER_ENV] = str(owner)
    ready = tmp_path / "ready"
    ready.unlink(missing_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", COMMAND, str(ready)], env=env)
    processes.append(proc)
    assert wait_until(lambda: ready.exists() or proc.poll() is not None, 60)
    return proc


def test_a_killed_owner_stops_its_command_with_a_sigterm(tmp_path, processes):
    owner = subprocess.Popen(SLEEPER)
    processes.append(owner)
    command = start_command(tmp_path, processes, owner.pid)
    time.sleep(0.5)
    assert command.poll() is None, "stopped while its owner ran"
    owner.kill()
    owner.wait()
    assert command.wait(timeout=10) == -signal.SIGTERM


def test_an_owner_gone_before_the_command_watched_stops_it_at_once(tmp_path, processes):
    owner = subprocess.Popen([sys.executable, "-c", "pass"])
    owner.wait()
    command = start_command(tmp_path, processes, owner.pid)
    assert command.wait(timeout=10) == -signal.SIGTERM


def test_stop_with_owner_in_this_process_starts_no_watch_without_an_owner(monkeypatch):
    monkeypatch.delenv(OWNER_ENV, raising=False)
    stop_with_owner()
    monkeypatch.setenv(OWNER_ENV, str(os.getpid()))
    stop_with_owner()
    assert "stop-with-owner" not in {t.name for t in threading.enumerate()}
    assert OWNER_ENV not in os.environ  # taken: what this process starts is not owned


def test_owned_env_names_this_process():
    env = owned_env({"A": "1", OWNER_ENV: "1"})
    assert env == {"A": "1", OWNER_ENV: str(os.getpid())}
    assert owned_env()[OWNER_ENV] == str(os.getpid())


def test_a_killed_parent_stops_the_command_while_the_owner_lives(tmp_path, processes):
    """A torchrun rank's parent is torchrun, its owner the member: a killed torchrun
    (which would otherwise have stopped its ranks) stops them too."""
    owner = subprocess.Popen(SLEEPER)
    processes.append(owner)
    ready, pid_file = tmp_path / "ready", tmp_path / "command.pid"
    parent_script = (
        "import subprocess, sys, time; from pathlib import Path\n"
        f"p = subprocess.Popen([sys.executable, '-c', {COMMAND!r}, {str(ready)!r}])\n"
        f"Path({str(pid_file)!r}).write_text(str(p.pid)); time.sleep(300)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), OWNER_ENV: str(owner.pid)}
    parent = subprocess.Popen([sys.executable, "-c", parent_script], env=env)
    processes.append(parent)
    assert wait_until(ready.exists, 60), "the command did not start"
    command = int(pid_file.read_text())
    try:
        assert running(command)
        parent.kill()
        parent.wait()
        assert wait_until(lambda: not running(command), 10), "the command runs on"
        assert owner.poll() is None
    finally:
        if running(command):
            os.kill(command, signal.SIGKILL)


def test_the_polling_fallback_stops_once_a_watched_process_is_gone():
    """Where pidfd_open is missing (not Linux): the owner's and parent's pids are polled."""
    start = time.monotonic()
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(1)"])
    threading.Thread(target=owner.wait, daemon=True).start()  # its parent reaps it, as a shell
    calls = []
    stop = lambda: calls.append(time.monotonic() - start)  # noqa: E731
    poll = threading.Thread(target=_poll, args=([os.getpid(), owner.pid], stop, 0.05),
                            daemon=True)  # fmt: skip
    poll.start()
    poll.join(30)
    assert not poll.is_alive(), "still polling 30 s on"
    assert len(calls) == 1 and calls[0] >= 1.0  # once, after the owner's second


def test_the_polling_fallback_stops_once_this_process_was_reparented():
    """Where pidfd_open is missing: a parent that exited (reaped or a zombie) shows as a
    parent pid that changed."""
    calls = []
    poll = threading.Thread(target=_poll, args=([os.getpid()], lambda: calls.append(1), 0.05),
                            kwargs={"parent": os.getppid() + 1}, daemon=True)  # fmt: skip
    poll.start()
    poll.join(30)
    assert not poll.is_alive(), "still polling 30 s on"
    assert calls == [1]


@pytest.mark.parametrize("ignores_sigterm", [False, True])
def test_stop_command_terminates_then_kills(ignores_sigterm, processes):
    body = "import signal, sys, time\n"
    if ignores_sigterm:
        body += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    body += "print('ready', flush=True)\n"
    body += "print('x' * 200_000, flush=True)\ntime.sleep(300)\n"  # more than a pipe holds
    proc = subprocess.Popen([sys.executable, "-c", body], stdout=subprocess.PIPE, text=True)
    processes.append(proc)
    assert proc.stdout.readline() == "ready\n"
    stop_command(proc, grace=2)
    assert proc.returncode == (-signal.SIGKILL if ignores_sigterm else -signal.SIGTERM)
    assert not running(proc.pid)


def test_stop_command_does_not_wait_on_what_the_command_left_holding_its_pipes(processes):
    """torchrun's ranks run in sessions of their own with torchrun's stdout: after a
    SIGKILL to torchrun they may hold it open, and must not keep the member waiting."""
    body = (
        "import signal, subprocess, sys\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "c = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'],"
        " start_new_session=True)\n"
        "print(c.pid, flush=True)\n"
        "import time; time.sleep(300)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", body], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    processes.append(proc)
    held_by = int(proc.stdout.readline())
    try:
        start = time.monotonic()
        stop_command(proc, grace=1)
        assert proc.returncode == -signal.SIGKILL and time.monotonic() - start < 10
        assert running(held_by)  # it still holds the pipes: the wait did not depend on them
    finally:
        os.kill(held_by, signal.SIGKILL)
