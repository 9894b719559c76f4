"""encode: data/raw.parquet -> data/vocab.json (+ labels, scaling), data/encoded.parquet,
data/embedding.safetensors (the word input layer's n-grams and pretrained vectors).

The split is assigned here (by the same pure functions the split stage checks), so the
vocabulary, label map and scaling statistics are fitted on the train split only.
"""

from __future__ import annotations

import polars as pl
from prefect import flow, get_run_logger, task

from attnlib.datasets import channel_names, gaps
from attnlib.encode import EncodeOptions, encode_dataset, keep_channel_names
from attnlib.errors import DataError
from attnlib.io import write_json_atomic, write_parquet_atomic
from attnlib.vectors import write_input_layer
from flows._params import (
    EMBEDDING,
    ENCODED,
    RAW,
    VOCAB,
    EncodeParams,
    SplitParams,
    load_params,
    run_stage,
    section,
    seed_of,
    task_of,
)


@task
def encode_raw(raw: pl.DataFrame, task_name: str, opt: EncodeOptions) -> tuple[pl.DataFrame, dict]:
    """Assign splits, fit vocabulary / labels / scaling on train, encode every row."""
    return encode_dataset(raw, task_name, opt, source=RAW)


@flow(name="encode")
def encode() -> None:
    params = load_params()
    enc, sp = section(params, "encode", EncodeParams), section(params, "split", SplitParams)
    try:
        raw = pl.read_parquet(RAW)
    except FileNotFoundError:
        raise DataError(f"{RAW}: not found; run the ingest stage first") from None
    opt = EncodeOptions(
        val=sp.val, test=sp.test, seed=seed_of(params), min_freq=enc.min_freq,
        max_size=enc.max_size, lookback=enc.lookback, horizon=enc.horizon,
        targets=tuple(enc.targets), log=enc.log, delta=enc.delta,
        local_level=enc.local_level, tokenizer=enc.tokenizer,
        lowercase=enc.lowercase, subwords=enc.subwords, vectors=enc.vectors,
        vectors_words=enc.vectors_words, max_length=enc.max_length, normalize=enc.normalize,
    )  # fmt: skip
    frame, meta = encode_raw(raw, task_of(params), opt)
    keep_channel_names(meta, channel_names.read(RAW))
    if filled := gaps.read(RAW):  # for the report and the model card
        meta["input"]["gaps_filled"] = filled
    frame = write_input_layer(frame, meta, opt, EMBEDDING)
    for line in meta.pop("rules", ()):  # what the data decided (period, log, vectors), why
        get_run_logger().info("encode: %s", line)
    for c in meta.get("auto", []):
        get_run_logger().info("encode: auto %s = %s: %s", c["key"], c["value"], c["why"])
    for line in meta.pop("warnings", ()):  # unmeasured labels, too few forecast windows
        get_run_logger().warning("encode: %s", line)
    if meta["input"].get("cut"):  # a long sequence never reaches training whole
        get_run_logger().warning("encode: %s", meta["input"]["cut"])
    write_json_atomic(VOCAB, meta)
    write_parquet_atomic(ENCODED, frame)
    get_run_logger().info(
        "encode: %s input, %d vocabulary entries, labels %s -> %s",
        meta["input"]["kind"], len(meta.get("tokens", ())), meta.get("labels"), VOCAB,
    )  # fmt: skip
    if "split_counts" in meta:  # identical sequences: conflicting labels, dropped train copies
        get_run_logger().info("encode: split %s", meta["split_counts"])


if __name__ == "__main__":
    run_stage(encode)
