"""Encoding shared by the tasks: raw kinds, vocabulary, label map and scaling of sequences.

Encoded schemas (each with ``split: str``):

- tokens: ``id``, ``tokens: list<str>`` (kept for scoring and explanation; text is
  tokenised here by ``encode.tokenizer`` / ``encode.lowercase``, see attnlib.tokenize),
  ``ids: list<int32>``, ``length: int32`` and, for classification, ``label``, ``label_id``.
- numeric series: ``id``, ``values`` (raw, for the baselines), ``x: list<list<f32>>``
  (standardised with train statistics), ``length``, ``label``, ``label_id``.

A task that needs another schema (forecasting's long series) encodes it in its own module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from attnlib.errors import DataError, listed, where
from attnlib.lengths import cap_lengths, resolve_max_length
from attnlib.scaling import Standardizer, logged, scales_spread
from attnlib.split import SPLITS, check_no_leak, split_frame
from attnlib.tokenize import choose_chars, resolve, retokenize
from attnlib.vector_files import vectors_carry
from attnlib.vocab import Vocabulary

# train series' scales this many times apart (90th / 10th percentile of their deviations):
# standardise each series by its own (PLAID 125,000x; BasicMotions 40x, z-normalised sets 1x)
SCALE_SPREAD = 1000.0


@dataclass(frozen=True)
class EncodeOptions:
    """What the ``encode`` and ``split`` params sections decide."""

    val: float | str = 0.1  # "auto": from the data's size (attnlib.auto.val_share)
    test: float = 0.1
    seed: int = 0
    min_freq: int = 1
    max_size: int = 0  # 0 = no cap
    lookback: int = 24  # forecast: input steps per window
    horizon: int = 12  # forecast: steps predicted per window
    targets: tuple[str, ...] = ()  # forecast: target channels; () = every one that varies in train
    log: bool | str = False  # numeric: log1p before standardising ("auto": forecasting's rule)
    # forecast: targets minus the seasonal-naive forecast of this lag (0 = none); "season":
    # the train part's period if it fits in the lookback, else the calendar period inside it
    # (attnlib.seasonality), else 1 when the level drifts, 0 when it is stationary
    delta: int | str = 1
    # forecast: the model reads each window relative to its last step ("auto": when the
    # train part's level drifts and the targets are residuals; attnlib.tasks.forecast)
    local_level: bool | str = False
    tokenizer: str = "auto"  # text: whitespace | word | auto (attnlib.tokenize.resolve)
    lowercase: bool | str = "auto"  # text: lower-case before tokenising (auto: see resolve)
    subwords: bool | str = "auto"  # tokens: char n-grams in the input layer (attnlib.vectors)
    vectors: str = "auto"  # tokens: "" | auto | builtin:glove50 | a GloVe-format file
    vectors_words: int = 50_000  # with vectors: + the file's most frequent words (fixed)
    max_length: int | str = "auto"  # longer sequences cut / truncated (attnlib.lengths); 0 = none
    # series to classify: global | series (each by its own scale, kept as level channels;
    # attnlib.scaling) | auto (series when the train series' scales spread >= SCALE_SPREAD x)
    normalize: str = "auto"


# the raw kinds (kind_of) in words, for the errors where a task or model meets another kind
KIND_WORDS = {
    "tokens": "token sequences (a 'tokens' or 'text' column, or one sequence a line)",
    "series": "numeric series, one a row (a 'values' list column, a wide table, a UCR, .ts "
    "or .arff file, or a long table of series by id ('id' or ingest.id_column) with a "
    "label)",
    "long": "one time-indexed table (a time column and value columns; series one a row, one "
    "column per step, beside a column named like time, such as 'index': ingest.format / "
    "--format wide)",
}


def kind_of(raw: pl.DataFrame) -> str:
    """``tokens``, ``series`` (numeric sequences) or ``long`` (one time-indexed table)."""
    if "tokens" in raw.columns:
        return "tokens"
    if "values" in raw.columns and isinstance(raw.schema["values"], pl.List):
        return "series"  # (a long table may have a value column named "values")
    if "time" in raw.columns:
        return "long"
    raise DataError(f"raw data has none of 'tokens', 'values', 'time': {raw.columns}")


def encode_sequences(
    raw: pl.DataFrame, kind: str, opt: EncodeOptions, *, task: str, labelled: bool,
    source: object, windows: bool = False,
) -> tuple[pl.DataFrame, dict]:  # fmt: skip
    """Token sequences or numeric series: splits (stratified by label when ``labelled``),
    then vocabulary or scaling and the label map fitted on the train split only.
    Sequences longer than ``encode.max_length`` are cut into overlapping windows
    (``windows``) or truncated (:mod:`attnlib.lengths`).

    Train rows that repeat a shipped test sequence are dropped; ``meta["split_counts"]``
    says how many, and how many groups of identical sequences carry conflicting labels
    (:func:`attnlib.split.split_frame`).

    Returns: (encoded frame, metadata).
    """
    # text is tokenised first, so identical sequences are grouped (and leak-checked) as the
    # model sees them
    spec = resolve(opt.tokenizer, opt.lowercase, labelled=labelled,
                   has_text=kind == "tokens" and "text" in raw.columns)  # fmt: skip
    maybe_chars = spec is not None and opt.tokenizer == "auto" and labelled  # choose_chars
    raw = retokenize(raw, spec, keep_text=maybe_chars)
    stratify = "label" if labelled else None
    frame, counts = split_frame(raw, val=opt.val, test=opt.test, seed=opt.seed, stratify=stratify)
    rules = []
    if maybe_chars:  # decided on the train split; identical texts share a split as words do
        in_train = frame["split"] == "train"
        frame, spec, why = choose_chars(frame, spec, in_train, vectors_carry(opt.vectors))
        rules.append(why)
    train = frame.filter(pl.col("split") == "train")
    labels = build_label_map(train["label"], source=source) if labelled else None
    check_split_sizes(frame, opt, source, labelled=labelled, shipped_test="split" in raw.columns)
    column = "tokens" if kind == "tokens" else "values"
    max_length = resolve_max_length(opt.max_length, train[column].list.len())
    frame, cut = cap_lengths(frame, max_length, windows=windows)
    meta: dict = {"task": task, "labels": labels, "input": {"kind": kind},
                  "split_counts": counts.to_dict(), "rules": rules}  # fmt: skip
    if labelled and (untested := unmeasured_labels(frame)):
        meta["warnings"] = [untested]
    if spec is not None:
        meta["input"]["text"] = spec  # prediction tokenises new text the same way
    meta["input"].update(max_length=max_length, cut=cut)
    if kind == "tokens":
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
    log = opt.log is True  # "auto" is a forecasting rule (attnlib.seasonality)
    arrays = [np.asarray(v) for v in train["values"].to_list()]
    per_series = choose_normalize(opt.normalize, arrays, log, labelled, meta)
    scaler = Standardizer.fit(arrays, log=log, per_series=per_series)
    meta["input"].update(channels=scaler.channels, scaler=scaler.to_dict())
    meta["model_fields"] = {"input_kind": "numeric", "input_dim": scaler.features}
    if scaler.per_series:  # the constant scale channels (attnlib.models.kernel_partner)
        meta["model_fields"]["level_channels"] = scaler.features - scaler.channels
    if labelled:  # the kernel partner's dilations (attnlib.models.kernel_partner)
        meta["model_fields"]["kernel_length"] = int(train["values"].list.len().median())
    return encode_series(frame, scaler, labels), meta


def choose_normalize(normalize: str, arrays: list, log: bool, labelled: bool, meta: dict) -> bool:
    """Whether series are standardised each by its own scale (``encode.normalize``); the
    ``auto`` choice, with why, goes to ``meta["auto"]`` (``metrics/train.json``)."""
    check_normalize(normalize, "series")
    if normalize != "auto":
        return normalize == "series"
    if not labelled:
        return False
    spread = scales_spread(logged(np.asarray(a, dtype=np.float64), log) for a in arrays)
    per_series = spread >= SCALE_SPREAD
    if per_series:
        verdict = (
            f">= {SCALE_SPREAD:g}x, so one global scale would flatten the small ones; "
            "each series is standardised by its own, its scale kept as level channels"
        )
    else:
        verdict = f"under {SCALE_SPREAD:g}x: one global standardisation"
    why = (f"the train series' standard deviations spread {spread:.3g}x (90th / 10th "
           f"percentile, the widest channel): {verdict}")  # fmt: skip
    meta.setdefault("auto", []).append(
        {"key": "encode.normalize", "value": "series" if per_series else "global", "why": why}
    )
    return per_series


def check_normalize(normalize: str, kind: str) -> None:
    """``encode.normalize`` is auto, global or series; series only for numeric series."""
    if normalize not in ("auto", "global", "series"):
        raise DataError(f"encode.normalize: expected auto, global or series, got {normalize!r}")
    if normalize == "series" and kind != "series":
        held = "a long table (one table to forecast, split in time)" if kind == "long" else kind
        raise DataError(
            "encode.normalize: series standardises each series to classify by its own scale; "
            f"this data holds {held}: set it to auto or global"
        )


def check_split_sizes(
    frame: pl.DataFrame, opt: EncodeOptions, source: object, *, labelled: bool = False,
    shipped_test: bool = False,
) -> None:  # fmt: skip
    """Raise a DataError when the split fractions leave validation or test empty
    (``shipped_test``: the data set came with its test split, which the fractions do not
    cut)."""
    sizes = {name: int((frame["split"] == name).sum()) for name in SPLITS}
    empty = [name for name in ("val", "test") if sizes[name] == 0]
    if sizes["train"] and not empty:
        return
    key = "tokens" if "tokens" in frame.columns else "values"
    distinct = frame[key].n_unique()  # copies of one sequence stay in one split
    what = f"{frame.height} sequences" + (
        f" ({distinct} distinct)" if distinct < frame.height else ""
    )
    name = empty[0] if empty else "train"
    fraction = {"val": opt.val, "test": opt.test}.get(name)
    hint = (
        f"raise split.{name} (now {fraction}; one of {distinct} is {1 / distinct:.2g}) "
        "or give more data"
        if fraction is not None
        else "lower split.val / split.test or give more data"
    )
    pool = frame.filter(pl.col("split") != "test") if shipped_test else frame
    if fraction is not None and labelled and _one_sequence_per_class(pool, key):
        hint = (
            f"every class has one distinct sequence{' outside test' * shipped_test}, and a "
            "class's last one never leaves train (its label is learnt there): give some "
            "classes a second sequence"
        )
        if round(fraction * pool.height) == 0:
            hint += f", and raise split.{name} (now {fraction})"
    raise DataError(
        f"{source}: {what} give train {sizes['train']}, val {sizes['val']}, test "
        f"{sizes['test']} with split.val={opt.val}, split.test={opt.test}: the {name} split "
        f"is empty; {hint}"
    )


def _one_sequence_per_class(pool: pl.DataFrame, key: str) -> bool:
    """Whether each label has one distinct sequence in ``pool`` (the rows the fractions
    cut), so that none can leave train (:func:`attnlib.split.assign_splits`)."""
    if "label" not in pool.columns or pool.height == 0:
        return False
    per_label = pool.group_by("label").agg(pl.col(key).n_unique().alias("distinct"))
    return int(per_label["distinct"].max()) == 1


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


def split_sequences(frame: pl.DataFrame, *, source: object) -> dict[str, pl.DataFrame]:
    """Whole sequences by their ``split`` column; none empty, no sequence in two splits."""
    parts = {name: frame.filter(pl.col("split") == name) for name in SPLITS}
    check_nonempty(parts, source)
    check_no_leak(parts, key="tokens" if "tokens" in frame.columns else "values")
    return parts


def unmeasured_labels(frame: pl.DataFrame) -> str:
    """Why some labels are not measured, or "": a label with too few sequences to share
    keeps its last one in train and may reach only one of val and test, or neither
    (:func:`attnlib.split.assign_splits`), and the scores of the split it misses say
    nothing about it (a user may think it was checked)."""
    seen = {name: set(frame.filter(pl.col("split") == name)["label"].to_list()) for name in SPLITS}
    few = []
    for label, n in frame.group_by("label").len().sort("len", "label").iter_rows():
        missing = [s for s in ("val", "test") if label in seen["train"] and label not in seen[s]]
        if missing:
            where = "val or test" if len(missing) == 2 else missing[0]
            few.append(f"'{label}' ({n} sequence{'s' * (n > 1)}, none in {where})")
    if not few:
        return ""
    shown = listed(few)
    return (
        f"{len(few)} label(s) missing from the val or test split: {shown}; the scores "
        "there do not measure them (more examples of them would)"
    )


def check_nonempty(parts: dict[str, pl.DataFrame], source: object) -> None:
    for name, df in parts.items():
        if df.height == 0:
            raise DataError(
                f"{source}: the '{name}' split is empty; use more data or other fractions"
            )
