"""Worker processes that end with the process that started them.

A stage that starts ``multiprocessing`` workers (the search's, an ensemble's members) must
not leave them running when it ends early: :func:`exit_with_parent` runs in each worker,
:func:`stop_processes` in the stage when it is interrupted. Processes started as commands
(a stage under ``attnlib train``, the torchrun ranks of a member) have no multiprocessing
parent to watch: the process that starts one names itself in the environment
(:func:`owned_env`) and the command calls :func:`stop_with_owner`.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import threading
import time

ORPHAN_EXIT = 70  # a worker's exit status when its parent process went away
OWNER_ENV = "ATTNLIB_OWNER_PID"  # the process whose end stops a command (stop_with_owner)


def exit_with_parent() -> None:
    """In a multiprocessing worker: a daemon thread that ends this process (at once, no
    cleanup: nothing waits for its result any more) when the parent process has gone,
    however it went (SIGKILL, the OOM killer). Read from multiprocessing's parent sentinel,
    a pipe that closes when the parent exits. Elsewhere: nothing."""
    import multiprocessing  # here: flows imports this module at every start (OWNER_ENV)

    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()
        os._exit(ORPHAN_EXIT)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def stop_processes(procs: list, grace: float = 30.0) -> None:
    """SIGTERM to the live ``multiprocessing`` processes, SIGKILL to any still there after
    ``grace`` seconds; all joined. Processes never started are skipped."""
    started = [p for p in procs if p.pid is not None]
    for p in started:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + grace
    for p in started:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()
            p.join()


def owned_env(env: dict | None = None) -> dict:
    """``env`` (default: this process's environment) naming this process as the owner of
    the command started with it: see :func:`stop_with_owner`."""
    return {**(os.environ if env is None else env), OWNER_ENV: str(os.getpid())}


def stop_with_owner() -> None:
    """In a command started with :func:`owned_env`: a daemon thread that sends this process
    a SIGTERM when the owner, or this process's parent, has gone, however it went (SIGKILL,
    the OOM killer), so the command stops as it would on the SIGTERM the owner forwards (a
    stage's Prefect run cancels and stops its workers; a torchrun rank ends, and torchrun
    with it). The parent counts for a torchrun rank: torchrun waits for its ranks, so it
    ends first only when it was killed. Without ``$ATTNLIB_OWNER_PID``, or when it names
    this process: nothing. The variable is taken out of the environment: what this command
    starts is its own, not the owner's. An owner gone before this call stops the command
    at once (a parent gone before it is not seen: the command is then init's or a
    subreaper's); one gone and its pid reused before it watches is not seen either (a
    stage calls this at its start, a rank after importing torch: a few seconds)."""
    value = os.environ.pop(OWNER_ENV, "")
    if not value.isdigit() or int(value) == os.getpid():
        return
    pids = sorted({int(value), os.getppid()})

    def stop() -> None:
        os.kill(os.getpid(), signal.SIGTERM)

    fds = []
    try:
        for pid in pids:
            fds.append(os.pidfd_open(pid))  # Linux >= 5.3: readable once it exits
    except (AttributeError, OSError) as exc:
        for fd in fds:
            os.close(fd)
        if isinstance(exc, ProcessLookupError):
            stop()  # gone before this process started watching
            return
        # elsewhere: poll whether the owner still exists and the parent is still ours
        threading.Thread(target=_poll, args=([int(value)], stop), name="stop-with-owner",
                         kwargs={"parent": os.getppid()}, daemon=True).start()  # fmt: skip
        return

    def watch() -> None:
        select.select(fds, [], [])
        stop()

    threading.Thread(target=watch, name="stop-with-owner", daemon=True).start()


def _poll(pids: list[int], stop, every: float = 1.0, parent: int | None = None) -> None:
    """Call ``stop`` once any of ``pids`` no longer exists (a zombie still does), or this
    process's parent is no longer ``parent`` (it was reparented: the parent exited, reaped
    or not)."""
    while True:
        if parent is not None and os.getppid() != parent:
            stop()
            return
        for pid in pids:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                stop()
                return
            except PermissionError:  # alive, another user's
                pass
        time.sleep(every)


def stop_command(proc: subprocess.Popen, grace: float = 40.0) -> None:
    """SIGTERM to a command (torchrun passes it on to its ranks and gives them 30 s), SIGKILL
    if it is still there after ``grace`` seconds; waited for. Its pipes are drained while
    it stops, then closed: after a SIGKILL, processes it started may still hold them."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.communicate(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
