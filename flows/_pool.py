"""The process pool that trains an ensemble's members, whose workers end with the stage.

Prefect's :class:`ProcessPoolTaskRunner` leaves two ways for a member to train on after its
stage has ended:

- When the members' flow stops early (a member failed; the stage got a SIGTERM, which
  Prefect raises as an exception), the runner's exit waits for every running task, so the
  stage waited out the other members' whole training before it reported the error or
  ended.
- When the stage process dies without that exit (SIGKILL, the OOM killer), the workers are
  orphans and train on to the end of their budget, writing ``checkpoints/member-<k>/``.

:class:`MemberPool` terminates its workers on the first (the pool is left with a task still
running), and gives every worker a thread that ends it when its parent process is gone,
for the second.
"""

from __future__ import annotations

from prefect.futures import PrefectFuture, as_completed
from prefect.task_runners import ProcessPoolTaskRunner

from attnlib.processes import exit_with_parent, stop_processes


class MemberPool(ProcessPoolTaskRunner):
    """:class:`ProcessPoolTaskRunner` whose workers run :func:`exit_with_parent` first, and
    are terminated when the flow using the pool ends with a task still running: the flow
    raised (SIGTERM, Ctrl-C), or returned its error (Prefect's engine records a failed
    flow's exception and leaves the runner without it) while the other members trained.
    One process per member: with ``train.nproc`` > 1 a member's torchrun ranks are not
    the pool's; they end with their member (``attnlib.distributed``, ``stop_with_owner``)."""

    def __init__(self, max_workers: int | None = None, **kwargs):
        super().__init__(max_workers=max_workers, initializer=exit_with_parent, **kwargs)
        self._submitted: list = []

    def submit(self, task, parameters, wait_for=None, dependencies=None):
        future = super().submit(task, parameters, wait_for, dependencies)
        self._submitted.append(future)
        return future

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        try:
            running = any(not f.wrapped_future.done() for f in self._submitted)
            if exc_type is not None or running:
                self.terminate_workers()
        finally:
            super().__exit__(exc_type, exc_value, traceback)

    def terminate_workers(self) -> None:
        """SIGTERM to every live worker (SIGKILL after 30 s): the executor fails what they
        were running (BrokenProcessPool) instead of waiting for it. A worker stopped while
        it wrote a log record to Prefect's message queue may leave the queue's lock held:
        the queue's feeder thread is then not joined at exit (it would wait for ever)."""
        stop_processes(list((getattr(self._executor, "_processes", None) or {}).values()))
        if self._subprocess_message_queue is not None:
            self._subprocess_message_queue.cancel_join_thread()


def results(futures: list[PrefectFuture]) -> list:
    """The futures' results in their order; the first to fail, whichever it is, raises at
    once (waiting on them in order would first wait out the ones before it)."""
    for future in as_completed(futures):
        future.result()
    return [f.result() for f in futures]
