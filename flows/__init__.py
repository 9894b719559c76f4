"""Prefect flows, one per DVC stage: ``python -m flows.<stage>``.

Importing this package points Prefect at the project's local server when one is running
(started by ``make repro`` or ``python -m flows.server start``), so a plain ``dvc repro`` or
``dvc exp run`` does not boot Prefect's temporary server in every stage (~11-14 s each).
It runs before any flow module imports prefect, uses only the standard library and costs
about a millisecond. A ``PREFECT_API_URL`` that is already set always wins;
``ATTNLIB_PREFECT_DISCOVER=0`` turns the lookup off (the test suite does).
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from urllib.parse import urlsplit

STATE_DIR = ".prefect"  # under the project root; gitignored
STATE_FILE = "server.json"  # {"pid", "url", "home", "log", "started"} written by flows.server


def find_state_file(*starts: Path) -> Path | None:
    """The nearest ``.prefect/server.json`` at or above each start directory.

    Looking upward finds the project's server from DVC's experiment copies, which run
    in ``.dvc/tmp/exps/<tmp>/`` inside the project (``dvc exp run --temp`` / ``--queue``).
    Default starts: this package's project root, then the working directory.
    """
    starts = starts or (Path(__file__).resolve().parent.parent, Path.cwd())
    for start in starts:
        start = Path(start).resolve()
        for directory in (start, *start.parents):
            path = directory / STATE_DIR / STATE_FILE
            if path.is_file():
                return path
    return None


def read_state(path: Path) -> dict | None:
    """The recorded server (``pid`` and ``url`` at least), or None if unreadable."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict):
        return None
    if not isinstance(state.get("pid"), int) or not isinstance(state.get("url"), str):
        return None
    return state


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, but another user's
        return True
    return True


def port_open(url: str, timeout: float = 0.25) -> bool:
    """A TCP connect to the URL's host:port succeeds (cheaper than an HTTP health check)."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname, parts.port or 80), timeout=timeout):
            return True
    except OSError:
        return False


def running_server(*starts: Path) -> dict | None:
    """The recorded local server if its process is alive and its port accepts connections."""
    path = find_state_file(*starts)
    state = read_state(path) if path else None
    if state and pid_alive(state["pid"]) and port_open(state["url"]):
        return state
    return None


def _use_local_server() -> str | None:
    if os.environ.get("PREFECT_API_URL") or os.environ.get("ATTNLIB_PREFECT_DISCOVER") == "0":
        return None
    state = running_server()
    if state is None:
        return None
    os.environ["PREFECT_API_URL"] = state["url"]
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no network
    return state["url"]


# The URL this import set (None if it set nothing): flows.server tells it from a user's own.
DISCOVERED_API_URL = _use_local_server()
