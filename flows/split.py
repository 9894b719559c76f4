"""split: data/encoded.parquet -> data/split/{train,val,test}.parquet (whole sequences)."""

from __future__ import annotations

import polars as pl
from prefect import flow, get_run_logger, task

from attnlib.errors import DataError
from attnlib.io import write_parquet_atomic
from attnlib.split import SPLITS, check_no_leak
from flows._params import ENCODED, load_params, run_stage, split_path, task_of


@task
def partition(frame: pl.DataFrame, task_name: str) -> dict[str, pl.DataFrame]:
    """The three splits, checked: none empty, no sequence in two of them."""
    parts = {name: frame.filter(pl.col("split") == name) for name in SPLITS}
    for name, df in parts.items():
        if df.height == 0:
            raise DataError(
                f"{ENCODED}: the '{name}' split is empty; use more data or other fractions"
            )
    check_no_leak(parts)
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
    get_run_logger().info("split: %s sequences", sizes)


if __name__ == "__main__":
    run_stage(split)
