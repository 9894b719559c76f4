"""Helpers for tests that watch other processes end."""

from __future__ import annotations

import sys
import time
from pathlib import Path

# a process that only waits (an owner, a parent) until a test ends it
SLEEPER = [sys.executable, "-c", "import time; time.sleep(300)"]


def running(pid: int) -> bool:
    """Alive and not a zombie (an exited child its parent has not reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def children(pid: int) -> list[int]:
    """``pid``'s child processes ([] once it is gone)."""
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def wait_until(condition, seconds: float) -> bool:
    """Poll ``condition`` every 0.1 s for up to ``seconds``; its last value."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()
