"""ingest: ``ingest.source`` (built-in name or file) -> data/raw.parquet."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from prefect import flow, get_run_logger, task

from attnlib.charsets import UTF8
from attnlib.datasets import channel_names, gaps, read_and_describe
from attnlib.io import write_parquet_atomic
from flows._params import RAW, IngestParams, load_params, not_user_error, run_stage, section

INPUT_DIR = Path("data/input")  # a dependency of the ingest stage in dvc.yaml


def untracked_source(source: str) -> str | None:
    """Why DVC cannot see ``source`` change (a file outside data/input/), or None."""
    path = Path(source)
    if not path.exists() or path.resolve().is_relative_to(INPUT_DIR.resolve()):
        return None
    return (
        f"{source} is outside {INPUT_DIR}/: DVC will not re-run ingest when it changes; "
        f"move it into {INPUT_DIR}/ (or run `dvc repro -f -s ingest` after a change)"
    )


# reading a file can hit a transient I/O error; a malformed file is not retried
@task(retries=1, retry_delay_seconds=2, retry_condition_fn=not_user_error)
def read(
    source: str,
    fmt: str,
    limit: int,
    workers: int,
    max_length: int = 0,
    sep: str = "",
    columns: dict[str, str] | None = None,
    encoding: str = UTF8,
    missing: str = "interpolate",
) -> tuple[pl.DataFrame, str, list[str], dict]:
    """Read and validate the source into the raw schema; say how it was read (format); the
    names of a long table's channels (:mod:`attnlib.datasets.channel_names`) and the gaps
    filled in its series (:func:`attnlib.datasets.gaps.recording`)."""
    with channel_names.recording() as seen, gaps.recording() as filled:
        frame, how = read_and_describe(
            source, fmt, limit=limit or None, workers=workers, max_length=max_length or None,
            sep=sep or None, archive_split=True, columns=columns, encoding=encoding,
            missing=missing,
        )  # fmt: skip
    return frame, how, channel_names.recorded(seen), filled


@flow(name="ingest")
def ingest() -> None:
    p = section(load_params(), "ingest", IngestParams)
    frame, how, names, filled = read(p.source, p.format, p.limit, p.workers, p.max_length,
                                     p.sep, p.columns(), p.encoding, p.missing)  # fmt: skip
    get_run_logger().info("ingest: read %s", how)
    if warning := untracked_source(p.source):
        get_run_logger().warning("ingest: %s", warning)
    kept = {**channel_names.metadata(names), **gaps.metadata(filled)}  # for a model
    write_parquet_atomic(RAW, frame, kept or None)
    get_run_logger().info("ingest: %d rows from %s -> %s", frame.height, p.source, RAW)


if __name__ == "__main__":
    run_stage(ingest)
