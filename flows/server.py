"""One local Prefect server for a whole ``dvc repro``.

    python -m flows.server start           # start ours unless one is configured or running
    python -m flows.server status          # exit code 0 if it answers
    python -m flows.server stop            # SIGTERM, then SIGKILL, by the recorded PID
    python -m flows.server run -- CMD ...  # start if needed, run CMD pointed at it, leave it up
    python -m flows.server serve           # start if needed + pool, gpu limit, worker(s)
    python -m flows.server env             # `export PREFECT_API_URL=...` for eval in a shell

Without a server every stage would boot Prefect's temporary one (11-14 s); with one, a
stage's Prefect overhead is 3-4.5 s. A stage that finds none starts this one itself
(``flows/__init__.py``). The server binds 127.0.0.1 on ``ATTNLIB_PREFECT_PORT``
(default 4200; another free port if 4200 is taken and no port was asked for) and keeps its
SQLite database in ``PREFECT_HOME`` (default: ``.prefect/`` in the project). Its PID and URL
go to ``.prefect/server.json``, where ``flows/__init__.py`` finds them, so later ``dvc repro``
and ``dvc exp run`` use it too. A ``PREFECT_API_URL`` set by the user (environment, Prefect
profile or prefect.toml: their own server or Prefect Cloud) means we start nothing.
``serve`` adds what deployments need (``flows/worker.py``): the process work pool ``local``,
the ``gpu`` tag concurrency limit and workers on the pool; ``stop`` stops those workers first.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NoReturn

from flows import DISCOVERED_API_URL, STATE_DIR, STATE_FILE, pid_alive, read_state

HOST = "127.0.0.1"
DEFAULT_PORT = 4200
START_TIMEOUT = 120.0  # s; a fresh PREFECT_HOME migrates its database first (~10-16 s here)
ROOT = Path(__file__).resolve().parent.parent


# what `status` and `env` both say, on stderr with exit code 1, when no server answers
NO_SERVER = (
    "no Prefect server runs for this project: the first stage of `dvc repro` starts one, "
    "or `python -m flows.server start` / `make serve`"
)


class ServerError(RuntimeError):
    """The server did not start or stop as asked."""


@dataclass(frozen=True)
class Server:
    pid: int
    url: str  # the API URL, http://127.0.0.1:PORT/api
    home: str  # its PREFECT_HOME
    log: str  # its stdout + stderr
    started: float  # time.time()

    @property
    def ui(self) -> str:
        return self.url.removesuffix("/api")


# --- one server process ------------------------------------------------------------------


def free_port(host: str = HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_free(port: int, host: str = HOST) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def healthy(url: str, timeout: float = 2.0) -> bool:
    """``GET <api>/health`` answers ``true``."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


def start_server(
    *,
    port: int,
    home: Path,
    host: str = HOST,
    log: Path | None = None,
    ui: bool = True,
    timeout: float = START_TIMEOUT,
    held: bool = False,
) -> Server:
    """Start ``prefect server start`` in its own session and wait until it answers.

    Not ``--background``: that one pipes the server's output to a parent that exits, and
    keeps it in the caller's process group, where a Ctrl-C in ``make`` would reach it.

    A SIGTERM under :func:`temporary_server` or :func:`ensure` while it starts stops the
    server and is raised as :class:`_Terminated`. ``held``: return with SIGTERM still held,
    so that the caller has the server in hand before one that came is raised (its
    ``_release()``); it would be lost in between otherwise.

    Raises:
        ServerError: the process exited or did not answer within ``timeout`` seconds
            (the message ends with the tail of its log).
    """
    home = Path(home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    log = Path(log) if log else home / "server.log"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false")
    cmd = [sys.executable, "-m", "prefect", "server", "start", "--host", host,
           "--port", str(port), "--analytics-off", "--ui" if ui else "--no-ui"]  # fmt: skip
    proc, main = None, _main()
    _hold()  # a SIGTERM waits, and is raised below where the server can be stopped
    try:
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: stopped by PID, not Ctrl-C
            )  # fmt: skip
        server = Server(proc.pid, f"http://{host}:{port}/api", str(home), str(log), time.time())
        deadline = time.monotonic() + timeout
        while not healthy(server.url, timeout=1.0):
            _raise_held()
            if proc.poll() is not None:
                raise ServerError(f"prefect server exited with {proc.returncode}{_tail(log)}")
            if time.monotonic() > deadline:
                raise ServerError(
                    f"prefect server did not answer within {timeout:.0f} s{_tail(log)}"
                )
            time.sleep(0.25)
        if not held:
            _release()  # raises here, inside the try, if one came
    except BaseException as exc:  # also Ctrl-C or SIGTERM while it starts: in its own
        if main:  # session, nothing else would ever stop it; a SIGTERM meanwhile waits
            _HELD["on"] = True  # set inline: a call would let a signal in before it
        try:
            if proc is not None:
                stop_server(proc.pid, ours=True)
        finally:
            if not isinstance(exc, _Terminated):
                _release(cause=exc)  # the SIGTERM that came meanwhile is not lost
            _unhold()
        raise
    return server


# SIGTERM under temporary_server or ensure where it must not interrupt (start_server, the
# record, the stop): noted, and raised by _raise_held() / _release() where the server can
# be stopped. Only in the main thread, where signal handlers run: held for another thread,
# it would be raised there, not in main.
_HELD = {"on": False, "pending": False}


def _main() -> bool:
    return threading.current_thread() is threading.main_thread()


def _hold() -> None:
    if _main():
        _HELD["on"] = True


def _unhold() -> None:
    if _main():
        _HELD.update(on=False, pending=False)


def _raise_held() -> None:
    """Raise a SIGTERM that came while held, holding on: the cleanup after it runs held."""
    if _main() and _HELD["pending"]:
        _HELD["pending"] = False
        raise _Terminated


def _release(cause: BaseException | None = None) -> None:
    if not _main():
        return
    _HELD["on"] = False
    if _HELD["pending"]:
        _HELD["pending"] = False
        raise _Terminated from cause


def _tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return ""
    return "; its log " + str(log) + " ends:\n  " + "\n  ".join(text)


def looks_like_prefect(pid: int) -> bool:
    """The PID is still a Prefect server (guards against a reused PID), where /proc tells."""
    cmdline = Path(f"/proc/{pid}/cmdline")
    try:
        return b"prefect" in cmdline.read_bytes()
    except FileNotFoundError:
        return pid_alive(pid) and not Path("/proc/self").exists()  # no /proc: trust the PID
    except OSError:
        return True


def _gone(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):  # reap it if it is our child (test fixture)
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return True
    return not pid_alive(pid)


def stop_server(pid: int, timeout: float = 15.0, *, ours: bool = False) -> bool:
    """SIGTERM the server's process group, wait, then SIGKILL. True if something was stopped.

    A recorded PID is checked to be a Prefect server first (it may be another process
    now); ``ours``, a child we have just started, is not: right after its exec its command
    line can still read empty (the kernel sets it up after the parent's Popen() returns).
    """
    if _gone(pid) or not (ours or looks_like_prefect(pid)):
        return False
    try:
        group = os.getpgid(pid) == pid  # started by start_server: it leads its own group
    except ProcessLookupError:
        return False

    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig) if group else os.kill(pid, sig)

    send(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while not _gone(pid):
        if time.monotonic() > deadline:
            send(signal.SIGKILL)
            deadline = time.monotonic() + 5
            while not _gone(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            break
        time.sleep(0.1)
    return True


class _Terminated(KeyboardInterrupt):
    """SIGTERM inside a :func:`temporary_server` block or while :func:`ensure` starts the
    project's server (a KeyboardInterrupt: pytest stops the session on it, tearing its
    fixtures down, instead of failing one test and going on)."""


def _raise_terminated(_signum, _frame):
    if _HELD["on"]:
        _HELD["pending"] = True
        return
    raise _Terminated


@contextlib.contextmanager
def temporary_server(home: Path, *, ui: bool = False):
    """A server of its own (free port, ``home`` as PREFECT_HOME) for the block; yields it.

    Stopped by PID when the block ends, also when the process gets SIGTERM (``timeout``, a
    cancelled CI job): the server runs in its own session and would outlive the process
    otherwise (an interrupted benchmark left one behind). SIGTERM unwinds the block as
    Ctrl-C would (``subprocess.run`` kills its child, temporary directories go), then the
    server is stopped and the signal delivered again to end the process as it would have.
    The same while the server starts (10-16 s): :func:`start_server` stops it."""
    terminated, server, main, saved = False, None, _main(), []
    if main:  # held from before our handler is in: one in between would escape it
        _HELD["on"] = True  # set inline: a call would let a signal in before it
    try:
        _catch_sigterm(saved)
        server = start_server(port=free_port(), home=home, ui=ui, held=True)
        _release()  # one that came while it started: raised now that `server` is bound
        yield server
    except _Terminated:
        terminated = True
    finally:
        if main:  # held while stopping: a second SIGTERM must not cut the stop short
            _HELD["on"] = True  # set inline: a call would let a signal in before it
        if _settle(server.pid if server else None, saved) or terminated:
            _terminate_again()


def _catch_sigterm(saved: list) -> None:
    """Make SIGTERM raise :class:`_Terminated` (main thread only: nothing can catch it in
    another; and not where the caller ignores it). The caller's handler goes into ``saved``
    before ours goes in, so that :func:`_settle` puts it back even when a Ctrl-C lands
    just after (an assignment of ``signal.signal()``'s result would come too late)."""
    if _main():
        saved.append(signal.getsignal(signal.SIGTERM))
        if saved[0] != signal.SIG_IGN:
            signal.signal(signal.SIGTERM, _raise_terminated)


def _settle(pid: int | None, saved: list) -> bool:
    """Under a held SIGTERM: stop the server ``pid`` (if any), put the caller's SIGTERM
    handler back, end the hold; whether a SIGTERM came meanwhile."""
    try:
        if pid is not None:
            stop_server(pid)
    finally:
        try:
            if saved:  # None: a handler not set from Python, the default
                signal.signal(signal.SIGTERM, signal.SIG_DFL if saved[0] is None else saved[0])
        finally:  # also when the caller's handler raises at once (one came just now)
            pending = _main() and _HELD["pending"]
            _unhold()
    return pending


def _terminate_again() -> NoReturn:
    os.kill(os.getpid(), signal.SIGTERM)  # ends the process, or runs the caller's handler
    raise _Terminated  # a handler that let the process live: the block still failed


# --- the project's server: .prefect/server.json ------------------------------------------


def state_path(root: Path = ROOT) -> Path:
    return root / STATE_DIR / STATE_FILE


def recorded(root: Path = ROOT) -> Server | None:
    """The server recorded for this project if it still runs and answers."""
    state = read_state(state_path(root))
    if state is None or not pid_alive(state["pid"]) or not looks_like_prefect(state["pid"]):
        return None
    fields = {k: state.get(k, "") for k in ("home", "log")}
    server = Server(state["pid"], state["url"], **fields, started=state.get("started", 0.0))
    return server if healthy(server.url) else None


def user_api_url() -> str | None:
    """A Prefect API the user configured (environment, profile, prefect.toml), if any."""
    env = os.environ.get("PREFECT_API_URL")
    if env and env != DISCOVERED_API_URL:
        return env
    if env:  # flows/__init__.py set it from our own server.json
        return None
    from prefect.settings import get_current_settings  # ~2 s: only before starting a server

    return get_current_settings().api.url or None


@contextlib.contextmanager
def _locked(root: Path):
    """One `start` at a time per project (two `make repro` at once start one server)."""
    lock = root / STATE_DIR / "server.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _port() -> int:
    asked = os.environ.get("ATTNLIB_PREFECT_PORT")
    if asked:
        if not port_free(int(asked)):
            raise ServerError(f"ATTNLIB_PREFECT_PORT={asked}: port in use on {HOST}")
        return int(asked)
    if port_free(DEFAULT_PORT):
        return DEFAULT_PORT
    port = free_port()
    print(f"port {DEFAULT_PORT} is in use; the Prefect server takes {port}", file=sys.stderr)
    return port


def ensure(root: Path = ROOT) -> tuple[str, Server | None]:
    """The API URL to use, and our server behind it (None: the user's own API).

    Starts the project's server when no API is configured and none is running.
    """
    url = os.environ.get("PREFECT_API_URL")
    if url and url != DISCOVERED_API_URL:
        return url, None
    with _locked(root):
        server = recorded(root)
        if server:
            return server.url, server
        url = user_api_url()
        if url:
            return url, None
        home = Path(os.environ.get("PREFECT_HOME") or root / STATE_DIR)
        print(f"starting a local Prefect server (PREFECT_HOME={home}) ...", file=sys.stderr)
        t0 = time.monotonic()
        server = _start_recorded(root, port=_port(), home=home)
        print(f"Prefect server up in {time.monotonic() - t0:.1f} s: {server.ui}", file=sys.stderr)
        return server.url, server


def _start_recorded(root: Path, *, port: int, home: Path) -> Server:
    """Start the project's server and record it in ``server.json``, or leave no server.

    The server runs in its own session and stays up for later runs, so one that is not
    recorded would run on unseen. SIGTERM (a ``timeout``, a cancelled job) before it
    answers stops it; one after waits until the record is written (the server stays up,
    as after any start); either way the signal then ends the process as it would have.
    Ctrl-C, or an error, before the record is written stops it."""
    server, written, terminated, main, saved = None, False, False, _main(), []
    path = state_path(root)
    tmp = path.with_suffix(".tmp")
    if main:  # held from before our handler is in: one in between would escape it
        _HELD["on"] = True  # set inline: a call would let a signal in before it
    try:
        _catch_sigterm(saved)
        server = start_server(port=port, home=home, log=root / STATE_DIR / "server.log",
                              held=True)  # fmt: skip
        tmp.write_text(json.dumps(asdict(server), indent=2) + "\n", encoding="utf-8")
        tmp.replace(path)
        written = True
        _release()  # one that came meanwhile: raised now; the server is recorded, stays up
    except _Terminated:
        terminated = True
    finally:
        if main:  # held while stopping: a second SIGTERM must not cut the stop short
            _HELD["on"] = True  # set inline: a call would let a signal in before it
        stop = server is not None and not written  # (start_server stops it while it starts)
        try:
            if stop:
                tmp.unlink(missing_ok=True)
                path.unlink(missing_ok=True)  # under the lock, after recorded() found none
        finally:
            if _settle(server.pid if stop else None, saved) or terminated:
                _terminate_again()
    return server


def stop(root: Path = ROOT) -> str:
    path = state_path(root)
    state = read_state(path)
    if state is None:
        return "no local Prefect server recorded"
    stopped = stop_server(state["pid"])
    path.unlink(missing_ok=True)
    if stopped:
        return f"stopped the Prefect server at {state['url']} (pid {state['pid']})"
    return f"the Prefect server (pid {state['pid']}) was not running"


def run(cmd: list[str], root: Path = ROOT) -> int:
    """Run ``cmd`` with ``PREFECT_API_URL`` pointing at the project's (or the user's) API."""
    url, server = ensure(root)
    env = {**os.environ, "PREFECT_API_URL": url, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    # Ctrl-C reaches CMD (same process group); we wait for it to finish instead of dying first.
    # A handler, not SIG_IGN: handlers are reset on exec, an ignored SIGINT would be inherited.
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        code = subprocess.call(cmd, env=env)
    finally:
        signal.signal(signal.SIGINT, previous)
    if server:
        print(
            f"\nThe Prefect server stays up for the next run: {server.ui} (pid {server.pid}); "
            "`make stop` stops it.",
            file=sys.stderr,
        )
    return 128 - code if code < 0 else code


def serve(root: Path = ROOT, *, gpu_limit: int = 1, workers: int = 1) -> int:
    """The server (ours unless configured), pool ``local``, the gpu limit and the workers."""
    from flows.worker import serve as serve_pool

    url, server = ensure(root)
    serve_pool(root, url, gpu_limit=gpu_limit, workers=workers)
    where = f"{server.ui} (pid {server.pid})" if server else f"{url} (yours)"
    print(
        f"\nPrefect server: {where}\n"
        "next: `make deploy`, then `make nightly` (prefect deployment run train/nightly --watch);"
        "\n      `make stop` stops the workers and the server.",
        file=sys.stderr,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    from flows.worker import WorkerError  # imports no Prefect

    parser = argparse.ArgumentParser(
        prog="python -m flows.server", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("start", help="start the project's server unless one is configured or running")
    sub.add_parser("stop", help="stop the project's server")
    sub.add_parser("status", help="show the server in use; exit code 1 if none answers")
    p_run = sub.add_parser("run", help="start if needed, then run CMD pointed at the server")
    p_run.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD [ARGS...]")
    p_serve = sub.add_parser("serve", help="start if needed; work pool, gpu limit, workers")
    p_serve.add_argument("--gpu-limit", type=int, default=1, help="gpu-tagged tasks at once")
    p_serve.add_argument("--workers", type=int, default=1, help="workers on the pool")
    sub.add_parser("env", help="print `export PREFECT_API_URL=... PATH=...` for eval in a shell")
    args = parser.parse_args(argv)

    try:
        if args.command == "start":
            url, server = ensure()
            print(f"PREFECT_API_URL={url}" + ("" if server else "  (configured by you)"))
        elif args.command == "stop":
            from flows.worker import stop_workers

            for message in stop_workers(ROOT):
                print(message)
            print(stop())
        elif args.command == "serve":
            if args.gpu_limit < 1 or args.workers < 0:
                parser.error("serve: --gpu-limit must be >= 1 and --workers >= 0")
            return serve(gpu_limit=args.gpu_limit, workers=args.workers)
        elif args.command == "env":
            server = recorded()
            url = server.url if server else user_api_url()
            if not url:
                print(NO_SERVER, file=sys.stderr)
                return 1
            print(f"export PREFECT_API_URL={url}")
            print(f'export PATH="{Path(sys.executable).parent}:$PATH"')
        elif args.command == "status":
            server = recorded()
            url = server.url if server else os.environ.get("PREFECT_API_URL")
            if not url:
                print(NO_SERVER, file=sys.stderr)
                return 1
            ok = healthy(url)
            where = f"ours, pid {server.pid}, PREFECT_HOME={server.home}" if server else "yours"
            print(f"{url} ({where}): {'answers' if ok else 'does not answer'}")
            return 0 if ok else 1
        elif args.command == "run":
            cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
            if not cmd:
                parser.error("run: give a command after --")
            return run(cmd)
    except (ServerError, WorkerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
