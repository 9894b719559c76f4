"""encode: data/raw.parquet -> data/vocab.json (+ labels, scaling), data/encoded.parquet,
data/embedding.safetensors (the word input layer's n-grams and pretrained vectors).

The split is assigned here (by the same pure functions the split stage checks), so the
vocabulary, label map and scaling statistics are fitted on the train split only.
"""

from __future__ import annotations

import polars as pl
from prefect import flow, get_run_logger, task

from attnlib.encode import EncodeOptions, encode_dataset
from attnlib.errors import DataError
from attnlib.io import write_json_atomic, write_parquet_atomic
from attnlib.seasonality import SeriesRules, series_rules
from attnlib.vectors import extend_vocabulary, input_tensors
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


def delta_lag(delta: int | str, season: int, lookback: int) -> int:
    """``encode.delta`` as a lag: ``season`` is the period found in the train part (see
    attnlib.seasonality), or 1 when it is longer than ``lookback``."""
    if delta != "season":
        return int(delta)
    return season if season <= lookback else 1


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
    rules, log = None, enc.log if enc.log != "auto" else False  # auto: forecasting only
    if task_of(params) == "forecast" and "time" in raw.columns:
        rules = series_rules(raw, lookback=enc.lookback, horizon=enc.horizon, val=sp.val,
                             test=sp.test, log=enc.log, targets=tuple(enc.targets))  # fmt: skip
        log = rules.log
    season = rules.season if rules else 1
    opt = EncodeOptions(
        val=sp.val, test=sp.test, seed=seed_of(params), min_freq=enc.min_freq,
        max_size=enc.max_size, lookback=enc.lookback, horizon=enc.horizon,
        targets=tuple(enc.targets), log=log, delta=delta_lag(enc.delta, season, enc.lookback),
        tokenizer=enc.tokenizer, lowercase=enc.lowercase,
    )  # fmt: skip
    frame, meta = encode_raw(raw, task_of(params), opt)
    if rules is not None:
        _record(meta, rules)
    frame = write_input_tensors(frame, meta, task_of(params), enc)
    write_json_atomic(VOCAB, meta)
    write_parquet_atomic(ENCODED, frame)
    get_run_logger().info(
        "encode: %s input, %d vocabulary entries, labels %s -> %s",
        meta["input"]["kind"], len(meta.get("tokens", ())), meta.get("labels"), VOCAB,
    )  # fmt: skip


def write_input_tensors(frame: pl.DataFrame, meta: dict, task_name: str, enc: EncodeParams):
    """data/embedding.safetensors: the word input layer's n-gram table and pretrained
    vectors (empty for other input); the model fields that size that layer go to meta,
    pretrained words to its vocabulary (the frame is re-encoded for them)."""
    from safetensors.torch import save_file

    tensors: dict = {}
    if "tokens" in meta:
        tensors, fields, why, added = input_tensors(
            meta["tokens"], text="text" in meta["input"], task=task_name,
            subwords=enc.subwords, vectors=enc.vectors, extra=enc.vectors_words,
        )  # fmt: skip
        frame = extend_vocabulary(frame, meta, added)
        if tensors:
            meta["model_fields"].update(fields, input_init=str(EMBEDDING))
        meta["input"]["embedding"] = why
        for line in why:
            get_run_logger().info("encode: %s", line)
    EMBEDDING.parent.mkdir(parents=True, exist_ok=True)
    tmp = EMBEDDING.with_name(f".{EMBEDDING.name}.tmp")
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp))
    tmp.replace(EMBEDDING)
    return frame


def _record(meta: dict, rules: SeriesRules) -> None:
    """The period (evaluate's baselines and MASE use it) and the reasons, logged and kept."""
    meta["forecast"].update(season=rules.season, rules=list(rules.reasons))
    for line in rules.reasons:
        get_run_logger().info("encode: %s", line)


if __name__ == "__main__":
    run_stage(encode)
