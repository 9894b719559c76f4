"""split: data/encoded.parquet -> data/split/{train,val,test}.parquet.

The task decides the rule (:meth:`attnlib.tasks.base.Task.split`). Sequences: whole
sequences only, no sequence in two splits. Forecasting: time steps, val / test files
carrying the ``lookback`` steps of context before them, every window checked to have no
look-ahead and no target outside its split (:mod:`attnlib.windows`).
"""

from __future__ import annotations

import polars as pl
from prefect import flow, get_run_logger, task

from attnlib.errors import DataError
from attnlib.io import write_parquet_atomic
from attnlib.tasks import get_task
from flows._params import ENCODED, load_params, run_stage, split_path, task_of


@task
def partition(frame: pl.DataFrame, task_name: str) -> dict[str, pl.DataFrame]:
    """The three splits, checked: none empty, nothing shared between them."""
    return get_task(task_name).split(frame, source=ENCODED)


@flow(name="split")
def split() -> None:
    params = load_params()
    try:
        frame = pl.read_parquet(ENCODED)
    except FileNotFoundError:
        raise DataError(f"{ENCODED}: not found; run the encode stage first") from None
    parts = partition(frame, task_of(params))
    for name, df in parts.items():
        write_parquet_atomic(split_path(name), df)
    sizes = ", ".join(f"{k} {v.height}" for k, v in parts.items())
    get_run_logger().info("split: %s rows", sizes)


if __name__ == "__main__":
    run_stage(split)
