"""Worker processes that end with the process that started them.

A stage that starts ``multiprocessing`` workers (the search's, an ensemble's members) must
not leave them running when it ends early: :func:`exit_with_parent` runs in each worker,
:func:`stop_processes` in the stage when it is interrupted.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time

ORPHAN_EXIT = 70  # a worker's exit status when its parent process went away


def exit_with_parent() -> None:
    """In a multiprocessing worker: a daemon thread that ends this process (at once, no
    cleanup: nothing waits for its result any more) when the parent process has gone,
    however it went (SIGKILL, the OOM killer). Read from multiprocessing's parent sentinel,
    a pipe that closes when the parent exits. Elsewhere: nothing."""
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
