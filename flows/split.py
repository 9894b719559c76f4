"""split: data/encoded.parquet -> data/split/{train,val,test}.parquet.

Sequences: whole sequences only, no sequence in two splits. Forecasting: time steps,
val / test files carrying the ``lookback`` steps of context before them, every window
checked to have no look-ahead and no target outside its split (:mod:`attnlib.windows`).
"""

from __future__ import annotations

import polars as pl
from prefect import flow, get_run_logger, task

from attnlib.errors import DataError
from attnlib.io import write_parquet_atomic
from attnlib.split import SPLITS, check_no_leak
from attnlib.windows import check_windows, split_rows
from flows._params import ENCODED, load_params, run_stage, split_path, task_of


@task
def partition(frame: pl.DataFrame, task_name: str) -> dict[str, pl.DataFrame]:
    """The three splits, checked: none empty, nothing shared between them."""
    if task_name == "forecast":
        if "lookback" not in frame.columns:
            raise DataError(f"{ENCODED}: not encoded for forecasting; re-run the encode stage")
        parts = {name: split_rows(frame, name) for name in SPLITS}
    else:
        parts = {name: frame.filter(pl.col("split") == name) for name in SPLITS}
    for name, df in parts.items():
        if df.height == 0:
            raise DataError(
                f"{ENCODED}: the '{name}' split is empty; use more data or other fractions"
            )
    if task_name == "forecast":
        check_windows(parts)
    else:
        check_no_leak(parts, key="tokens" if "tokens" in frame.columns else "values")
    return parts


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
