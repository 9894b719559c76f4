"""Prefect flows, one per DVC stage: ``python -m flows.<stage>``.

Importing this package points Prefect at the project's local server when one is running
(started by ``make repro`` or ``python -m flows.server start``), so a plain ``dvc repro`` or
``dvc exp run`` does not boot Prefect's temporary server in every stage (~11-14 s each).
When a stage runs (``python -m flows.<stage>``) and finds neither that server nor a
Prefect API of the user's (``PREFECT_API_URL``, a profile or ``prefect.toml``), it starts
the project's server (``python -m flows.server start``) and leaves it up for the stages
after it, as ``make repro`` does; ``make stop`` stops it. The lookup runs before any flow
module imports prefect, uses only the standard library and costs about a millisecond.
``ATTNLIB_PREFECT_DISCOVER=0`` turns lookup and start off (the test suite does).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from attnlib.processes import OWNER_ENV  # standard library only

STATE_DIR = ".prefect"  # under the project root; gitignored
STATE_FILE = "server.json"  # {"pid", "url", "home", "log", "started"} written by flows.server
STAGES = ("ingest", "encode", "split", "search", "train", "evaluate", "export")
ROOT = Path(__file__).resolve().parent.parent


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


def running_stage() -> str | None:
    """The stage this process runs (``python -m flows.<stage>``), or None."""
    argv = getattr(sys, "orig_argv", [])
    for flag, module in zip(argv, argv[1:], strict=False):
        if flag == "-m" and module.removeprefix("flows.") in STAGES:
            return module.removeprefix("flows.")
    return None


def project_root(root: Path = ROOT) -> Path:
    """The project a stage belongs to: for a DVC experiment copied into
    ``.dvc/tmp/exps/...`` that is the project holding ``.dvc``, not the copy."""
    parts = root.parts
    return Path(*parts[: parts.index(".dvc")]) if ".dvc" in parts else root


def user_prefect_config() -> bool:
    """A Prefect API the user may have configured outside the environment (cheap check of
    the active profile file and a ``prefect.toml`` here; flows.server reads them in full)."""
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect")
    profiles = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml")
    try:
        if "PREFECT_API_URL" in profiles.read_text(encoding="utf-8"):
            return True
    except OSError:
        pass
    return Path("prefect.toml").is_file()


def start_project_server(root: Path) -> dict | None:
    """Start the project's server (in its own process group, left running); its state."""
    # its own process: flows.server reads Prefect's settings (~2 s) only when it starts one;
    # the server outlives the stage, so not the stage's owner's (attnlib.processes)
    env = {k: v for k, v in os.environ.items() if k != OWNER_ENV}
    subprocess.run([sys.executable, "-m", "flows.server", "start"], cwd=root, env=env,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, check=False)  # fmt: skip
    return running_server(root)


def _use_local_server() -> str | None:
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # no telemetry calls
    if os.environ.get("PREFECT_API_URL") or os.environ.get("ATTNLIB_PREFECT_DISCOVER") == "0":
        return None
    state = running_server()
    if state is None and running_stage() and not user_prefect_config():
        state = start_project_server(project_root())
    if state is None:
        return None
    os.environ["PREFECT_API_URL"] = state["url"]
    return state["url"]


# The URL this import set (None if it set nothing): flows.server tells it from a user's own.
DISCOVERED_API_URL = _use_local_server()
