"""The task registry: the ``task`` param names the module that does that job.

``get_task(name)`` returns the task object (:class:`~attnlib.tasks.base.Task`); nothing
outside this package compares task names. A module is imported when its task is first
asked for, so reading data or listing data sets does not import torch. A new job is a
new module (a ``TASK`` object implementing the protocol) and one line in :data:`TASKS`,
or, at run time, :func:`register`.
"""

from __future__ import annotations

import importlib

from attnlib.errors import ConfigError
from attnlib.tasks.base import CardNotes, EvalContext, Evaluation, Task

NEXT_STATE, CLASSIFY, FORECAST = "next_state", "classify", "forecast"

# name -> the module whose TASK does it (replaced by the object once imported)
TASKS: dict[str, str | Task] = {
    NEXT_STATE: "attnlib.tasks.next_state",
    CLASSIFY: "attnlib.tasks.classify",
    FORECAST: "attnlib.tasks.forecast",
}

__all__ = ["TASKS", "CardNotes", "EvalContext", "Evaluation", "Task", "get_task", "register"]


def get_task(name: str) -> Task:
    """The task called ``name``; a ConfigError lists the known ones."""
    entry = TASKS.get(name)
    if entry is None:
        raise ConfigError(f"unknown task '{name}' (known: {', '.join(TASKS)})")
    if isinstance(entry, str):
        entry = TASKS[name] = importlib.import_module(entry).TASK
    return entry


def register(task: Task) -> Task:
    """Add (or replace) a task under ``task.name``."""
    TASKS[task.name] = task
    return task
