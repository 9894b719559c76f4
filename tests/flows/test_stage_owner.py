"""A stage run by ``flows._params.run_stage`` stops when the ``attnlib STAGE`` command that
started it (its owner, ``$ATTNLIB_OWNER_PID``) is killed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from attnlib.processes import OWNER_ENV
from tests.processes import wait_until

ROOT = Path(__file__).resolve().parents[2]

STAGE = """
import sys, time
from pathlib import Path
from flows._params import run_stage

run_stage(lambda: (Path(sys.argv[1]).touch(), time.sleep(300)))
"""


def test_a_stage_stops_when_its_owner_is_killed(tmp_path):
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ATTNLIB_PREFECT_DISCOVER": "0",
           OWNER_ENV: str(owner.pid)}  # fmt: skip
    ready = tmp_path / "ready"
    stage = subprocess.Popen([sys.executable, "-c", STAGE, str(ready)], env=env, cwd=tmp_path)
    try:
        assert wait_until(lambda: ready.exists() or stage.poll() is not None, 60)
        assert stage.poll() is None, "the stage ended before its owner"
        owner.kill()
        owner.wait()
        assert stage.wait(timeout=20) == -signal.SIGTERM
    finally:
        for proc in (owner, stage):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
