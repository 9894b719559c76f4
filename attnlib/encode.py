"""Raw frames -> encoded frames (+ metadata) -> tensors, for all three tasks.

Encoded schemas (each with ``split: str``):

- tokens: ``id``, ``tokens: list<str>`` (kept for scoring and explanation; text is
  tokenised here by ``encode.tokenizer`` / ``encode.lowercase``, see attnlib.tokenize),
  ``ids: list<int32>``, ``length: int32`` and, for classification, ``label``, ``label_id``.
- numeric series: ``id``, ``values`` (raw, for the baselines), ``x: list<list<f32>>``
  (standardised with train statistics), ``length``, ``label``, ``label_id``.
- long series (forecast): ``step: int32``, ``time``, ``x: list<f32>`` (all channels,
  standardised), ``y: list<f32>`` (the target channels, standardised), and the window
  geometry (``lookback``, ``horizon``, ``delta``); windows are cut when loading
  (:mod:`attnlib.windows`).

The metadata (``data/vocab.json``) holds the vocabulary (token data only), the label map,
the scaling statistics, the window geometry and the data-dependent model fields, so later
stages, prediction and export need nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from attnlib import windows
from attnlib.data import SequenceData
from attnlib.errors import DataError, where
from attnlib.scaling import Standardizer
from attnlib.split import assign_splits
from attnlib.tokenize import resolve, retokenize
from attnlib.vocab import Vocabulary


@dataclass(frozen=True)
class EncodeOptions:
    """What the ``encode`` and ``split`` params sections decide."""

    val: float = 0.1
    test: float = 0.1
    seed: int = 0
    min_freq: int = 1
    max_size: int = 0  # 0 = no cap
    lookback: int = 24  # forecast: input steps per window
    horizon: int = 12  # forecast: steps predicted per window
    targets: tuple[str, ...] = ()  # forecast: target channels; () = every channel
    log: bool = False  # numeric: log1p before standardising
    delta: int = 1  # forecast: targets minus the seasonal-naive forecast of this lag (0 = none)
    tokenizer: str = "auto"  # text: whitespace | word | auto (attnlib.tokenize.resolve)
    lowercase: bool | str = "auto"  # text: lower-case before tokenising (auto: see resolve)


def kind_of(raw: pl.DataFrame) -> str:
    """``tokens``, ``series`` (numeric sequences) or ``long`` (one series, time-indexed)."""
    if "tokens" in raw.columns:
        return "tokens"
    if "values" in raw.columns and isinstance(raw.schema["values"], pl.List):
        return "series"  # (a long table may have a value column named "values")
    if "time" in raw.columns:
        return "long"
    raise DataError(f"raw data has none of 'tokens', 'values', 'time': {raw.columns}")


def encode_dataset(raw: pl.DataFrame, task: str, opt: EncodeOptions, *, source: object = "raw"):
    """Assign splits, fit vocabulary / labels / scaling on train only, encode every row.

    Returns:
        (encoded frame, metadata dict for ``data/vocab.json``).

    Raises:
        DataError: the data does not fit the task (e.g. forecasting a token corpus).
    """
    kind = kind_of(raw)
    allowed = {"next_state": ("tokens",), "classify": ("tokens", "series"), "forecast": ("long",)}
    if kind not in allowed[task]:
        need = {"next_state": "token sequences", "classify": "token sequences or numeric series",
                "forecast": "a long table (a time column and value columns)"}[task]  # fmt: skip
        raise DataError(f"{source}: task '{task}' needs {need}; this data holds {kind}")
    if task == "forecast":
        return _encode_long(raw, opt, source)
    if task == "classify" and "label" not in raw.columns:
        raise DataError(f"{source}: task 'classify' needs a 'label' column")
    stratify = "label" if task == "classify" else None
    frame = raw.with_columns(
        assign_splits(raw, val=opt.val, test=opt.test, seed=opt.seed, stratify=stratify)
    )
    train = frame.filter(pl.col("split") == "train")
    labels = build_label_map(train["label"], source=source) if task == "classify" else None
    meta: dict = {"task": task, "labels": labels, "input": {"kind": kind}}
    if kind == "tokens":
        spec = resolve(opt.tokenizer, opt.lowercase, task=task, has_text="text" in frame.columns)
        frame = retokenize(frame, spec)
        train = frame.filter(pl.col("split") == "train")
        if spec is not None:
            meta["input"]["text"] = spec  # prediction tokenises new text the same way
        vocab = Vocabulary.build(
            train["tokens"].to_list(), min_freq=opt.min_freq, max_size=opt.max_size or None
        )
        if len(vocab) < 4:
            raise DataError(
                f"{where(source, key='tokens')}the train split's vocabulary has "
                f"{len(vocab) - 2} token(s), too few to learn from (at least 2; see "
                f"encode.min_freq={opt.min_freq}, encode.max_size={opt.max_size})"
            )
        meta.update(vocab.to_dict(), model_fields={"input_kind": "tokens"})
        return encode_frame(frame, vocab, labels), meta
    scaler = Standardizer.fit((np.asarray(v) for v in train["values"].to_list()), log=opt.log)
    meta["input"].update(channels=len(scaler.mean), scaler=scaler.to_dict())
    meta["model_fields"] = {"input_kind": "numeric", "input_dim": len(scaler.mean)}
    return encode_series(frame, scaler, labels), meta


def build_label_map(labels: pl.Series, *, source: object = None) -> list[str]:
    """Sorted distinct labels; a label's id is its index."""
    values = sorted(labels.cast(pl.Utf8).unique().to_list())
    if len(values) < 2:
        raise DataError(
            f"{where(source, key='label')}classification needs at least 2 classes in the "
            f"train split, found {values}"
        )
    return values


def _label_ids(frame: pl.DataFrame, label_map: list[str]) -> pl.Series:
    index = {lab: i for i, lab in enumerate(label_map)}
    labels = frame["label"].cast(pl.Utf8).to_list()
    unknown = sorted({lab for lab in labels if lab not in index})
    if unknown:
        raise DataError(f"labels {unknown[:5]} are not in the label map {label_map[:10]}")
    return pl.Series("label_id", [index[x] for x in labels], dtype=pl.Int32)


def encode_frame(
    frame: pl.DataFrame, vocab: Vocabulary, label_map: list[str] | None = None
) -> pl.DataFrame:
    """Add ``ids`` / ``length`` (and ``label_id``) columns to a frame of token sequences."""
    ids = [vocab.encode(toks) for toks in frame["tokens"].to_list()]
    out = frame.with_columns(
        pl.Series("ids", ids, dtype=pl.List(pl.Int32)),
        pl.Series("length", [len(s) for s in ids], dtype=pl.Int32),
    )
    if label_map is not None:
        out = out.with_columns(_label_ids(out, label_map))
    return out


def encode_series(
    frame: pl.DataFrame, scaler: Standardizer, label_map: list[str] | None
) -> pl.DataFrame:
    """Add standardised ``x``, ``length`` (and ``label_id``) to a numeric-series frame."""
    x = [scaler.transform(np.asarray(v)).tolist() for v in frame["values"].to_list()]
    out = frame.with_columns(
        pl.Series("x", x, dtype=pl.List(pl.List(pl.Float32))),
        pl.Series("length", [len(v) for v in x], dtype=pl.Int32),
    )
    return out.with_columns(_label_ids(out, label_map)) if label_map is not None else out


def _encode_long(raw: pl.DataFrame, opt: EncodeOptions, source: object):
    channels = [c for c in raw.columns if c not in ("time", "split", "id")]
    targets = list(opt.targets) or channels
    missing = [t for t in targets if t not in channels]
    if missing:
        raise DataError(f"{source}: target column(s) {missing} not among {channels}")
    if not 0 <= opt.delta <= opt.lookback:
        raise DataError(f"encode.delta {opt.delta} must lie in 0..lookback ({opt.lookback})")
    split = windows.assign_time_splits(
        raw.height, val=opt.val, test=opt.test, lookback=opt.lookback, horizon=opt.horizon
    )
    values = raw.select(channels).to_numpy().astype(np.float64)  # (N, C)
    scaler = Standardizer.fit([values[split == "train"]], log=opt.log)
    tidx = [channels.index(t) for t in targets]
    x = scaler.transform(values)  # (N, C)
    frame = pl.DataFrame({
        "step": pl.Series(np.arange(raw.height), dtype=pl.Int32),
        "time": raw["time"].cast(pl.String),
        "x": pl.Series(x.tolist(), dtype=pl.List(pl.Float32)),
        "y": pl.Series(x[:, tidx].tolist(), dtype=pl.List(pl.Float32)),
        "split": split,
    }).with_columns(pl.lit(opt.lookback, pl.Int32).alias("lookback"),
                    pl.lit(opt.horizon, pl.Int32).alias("horizon"),
                    pl.lit(opt.delta, pl.Int32).alias("delta"))  # fmt: skip
    meta = {
        "task": "forecast",
        "labels": None,
        "input": {"kind": "long", "channels": channels, "scaler": scaler.to_dict()},
        "forecast": {
            "lookback": opt.lookback,
            "horizon": opt.horizon,
            "targets": targets,
            "target_index": tidx,
            "delta": opt.delta,
        },  # fmt: skip
        "model_fields": {
            "input_kind": "numeric",
            "input_dim": len(channels),
            "horizon": opt.horizon,
            "num_targets": len(targets),
        },  # fmt: skip
    }
    return frame, meta


def to_sequence_data(frame: pl.DataFrame, task: str, *, source: object = "data") -> SequenceData:
    """Tensors for ``task`` from an encoded split frame (forecast windows are cut here)."""
    if frame.height == 0:
        raise DataError(f"{source}: the split is empty")
    if task == "forecast":
        if "y" not in frame.columns:
            raise DataError(f"{source}: not a forecasting split (no 'y' column)")
        try:
            x, y, _ = windows.windows_of(frame)
        except DataError as exc:
            raise DataError(f"{source}: {exc}") from None
        return SequenceData.numeric(list(x), y)  # x (W, L, C), y (W, H, K)
    if "x" in frame.columns:  # numeric series
        if task != "classify":
            raise DataError(f"{source}: task '{task}' is not supported for numeric series")
        series = [np.asarray(v, dtype=np.float32) for v in frame["x"].to_list()]
        return SequenceData.numeric(series, np.asarray(frame["label_id"].to_list(), np.int64))
    seqs = frame["ids"].to_list()
    if task == "next_state":
        return SequenceData.next_state(seqs)
    if task == "classify":
        return SequenceData.classify_tokens(seqs, frame["label_id"].to_list())
    raise DataError(f"{source}: task '{task}' is not supported for token sequences")
