"""An ensemble's members train in a MemberPool: they end with the stage that started them.

Each test runs a flow of two sleeping "members" on a MemberPool in its own process against
the session's Prefect server, the way the train stage runs its members, and ends that
process early: a member fails, the process gets SIGTERM, or it is killed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from attnlib.processes import OWNER_ENV
from tests.processes import SLEEPER, running, wait_until

ROOT = Path(__file__).resolve().parents[2]
SLEEP = 300  # a member's "training": far longer than any test waits

MEMBERS = f"""
import os, sys, time
from pathlib import Path
from prefect import flow, task
from flows._pool import MemberPool, results

OUT, MODE = Path(sys.argv[1]), sys.argv[2]


@task
def member(k: int) -> int:
    (OUT / f"member-{{k}}.pid").write_text(str(os.getpid()))
    if MODE == "fail" and k == 1:  # not the first: the flow must not wait on member 0 first
        while not (OUT / "member-0.pid").exists():
            time.sleep(0.05)
        raise RuntimeError("member 1 failed")
    time.sleep({SLEEP})
    return k


@flow(task_runner=MemberPool(max_workers=2))
def members() -> list[int]:
    return results([member.submit(k) for k in range(2)])  # as the train stage waits


if __name__ == "__main__":
    if MODE == "owned":  # as `attnlib train` runs the stage: flows._params.run_stage
        from flows._params import run_stage

        run_stage(members)
    else:
        members()
"""


@pytest.fixture
def start_members(prefect_server, tmp_path):
    """Yields ``start(mode)``: start the members' flow in MODE and return (process, the
    members' pids once both started). Afterwards kills what is left."""
    script = tmp_path / "members.py"
    script.write_text(MEMBERS)
    env = {**os.environ, "PREFECT_API_URL": prefect_server, "PYTHONPATH": str(ROOT)}
    started = []

    def start(mode: str, owner: int | None = None) -> tuple[subprocess.Popen, list[int]]:
        owned = {OWNER_ENV: str(owner)} if owner else {}
        proc = subprocess.Popen([sys.executable, str(script), str(tmp_path), mode], cwd=ROOT,
                                env={**env, **owned}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)  # fmt: skip
        started.append(proc)
        files = [tmp_path / f"member-{k}.pid" for k in range(2)]
        both = wait_until(lambda: all(f.exists() and f.read_text() for f in files), 90)
        assert both, f"the members did not start: {proc.poll()=}"
        return proc, [int(f.read_text()) for f in files]

    yield start
    for proc in started:  # whatever the test left: the flow's process, then its members
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for pid_file in tmp_path.glob("member-*.pid"):
        pid = int(pid_file.read_text())
        if running(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_failing_member_stops_the_other_instead_of_waiting_for_it(start_members):
    proc, pids = start_members("fail")
    out, _ = proc.communicate(timeout=60)  # without the pool's stop: SLEEP seconds
    assert proc.returncode != 0 and "member 1 failed" in out
    assert wait_until(lambda: not running(pids[0]), 10), "member 0 trains on"


def test_a_sigterm_to_the_stage_stops_its_members(start_members):
    proc, pids = start_members("sleep")
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=60)  # without the pool's stop: SLEEP seconds
    assert proc.returncode != 0
    assert wait_until(lambda: not any(running(p) for p in pids), 10), "members train on"


def test_a_killed_stage_leaves_no_member_training(start_members):
    proc, pids = start_members("sleep")
    proc.kill()  # SIGKILL: no exit code runs in the stage, as under the OOM killer
    proc.wait()
    assert wait_until(lambda: not any(running(p) for p in pids), 15), "orphaned members train on"


def test_a_killed_owner_stops_the_stage_and_its_members(start_members):
    """`attnlib train` killed outright (it cannot pass anything on): the stage sees its
    owner gone, SIGTERMs itself, and Prefect's cancellation stops the members."""
    owner = subprocess.Popen(SLEEPER)
    try:
        proc, pids = start_members("owned", owner=owner.pid)
        assert proc.poll() is None
        owner.kill()
        owner.wait()
        proc.communicate(timeout=60)  # without the watch: SLEEP seconds
        assert proc.returncode != 0
        assert wait_until(lambda: not any(running(p) for p in pids), 10), "members train on"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
