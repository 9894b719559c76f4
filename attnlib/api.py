"""The Python API: load a trained model and score sequences without the command line.

    import attnlib
    model = attnlib.load("export/")                 # a bundle or a models/model directory
    preds = model.predict([["C", "G", "Am"], ["F", "C"]], last=True)
    print(preds.select("id", "predicted", "top_k"))
    model.info()["vocab_size"]

``predict`` takes token lists, numeric series (``(T, C)`` arrays) or a polars frame in the
ingest schema, and returns the frame ``attnlib predict`` writes. The command line uses the
same checks: the wrong kind of input and unknown tokens are caught here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import polars as pl

from attnlib import charsets
from attnlib.charsets import UTF8
from attnlib.datasets import gaps, panel, roles
from attnlib.encoding import KIND_WORDS
from attnlib.errors import ConfigError, DataError, listed
from attnlib.predict import Predictor, predict_frame, text_spec
from attnlib.scaling import Standardizer
from attnlib.tasks import get_task
from attnlib.tokenize import retokenize
from attnlib.vocab import PAD, UNK

log = logging.getLogger(__name__)

KIND_NAMES = {"tokens": "token sequences", "numeric": "numeric series"}


def check_input_kind(meta, frame: pl.DataFrame, source: object = "the input") -> None:
    """Raise a DataError when the model takes another kind of input than ``frame`` holds:
    tokens or numbers, and of numbers one series a row (classifiers) or one time-indexed
    table (forecasters), as the task's ``accepts`` says."""
    cfg = meta.model_config
    tokens = cfg.input_kind == "tokens"
    want = [k for k in get_task(cfg.task).accepts if (k == "tokens") == tokens]
    got = _kind(frame)
    if got not in want:
        held = KIND_WORDS[got] if got else f"no tokens, series or numbers ({frame.columns})"
        raise DataError(f"this model takes {' or '.join(KIND_WORDS[k] for k in want)}; "
                        f"{source} holds {held}")  # fmt: skip


def _kind(frame: pl.DataFrame) -> str:
    """The raw kind a frame to predict holds: tokens, series (a ``values`` list column), or
    columns of numbers, which a forecaster reads as a long table (its own check then names
    the columns it lacks; a frame from Python needs no time column); "" for none of them."""
    if "tokens" in frame.columns:
        return "tokens"
    if isinstance(frame.schema.get("values"), pl.List):
        return "series"
    numeric = any(t.is_numeric() for t in frame.schema.values())
    return "long" if numeric or "time" in frame.columns else ""


def unknown_share(meta, frame: pl.DataFrame) -> tuple[float, list[str]]:
    """The share of tokens the model's vocabulary lacks (read as ``<unk>``), and a few of them."""
    if meta.vocab is None or "tokens" not in frame.columns:
        return 0.0, []
    tokens = frame["tokens"].explode().drop_nulls()
    known = pl.Series(meta.vocab.itos[2:], dtype=pl.String)
    unknown = tokens.filter(~tokens.is_in(known.implode()))
    share = len(unknown) / len(tokens) if len(tokens) else 0.0
    return share, unknown.unique(maintain_order=True).head(5).to_list()


def last_only(result: pl.DataFrame) -> pl.DataFrame:
    """Keep only the prediction after each sequence's last token (next-state rows)."""
    if "step" not in result.columns:
        return result  # one row per sequence already
    return result.group_by("id", maintain_order=True).last()


class Model:
    """A trained model loaded for scoring (see :func:`load`)."""

    def __init__(self, bundle: str | Path, engine: str = "onnx"):
        self.path = Path(bundle)
        self.predictor = Predictor(bundle, engine=engine)
        self.meta = self.predictor.meta

    @property
    def task(self) -> str:
        return self.meta.model_config.task

    def predict(
        self,
        sequences: pl.DataFrame | Sequence,
        *,
        top_k: int = 5,
        attention: bool = False,
        last: bool = False,
        strict: bool = False,
        sets: bool = False,
        warn=None,
        source: object = "the input",
    ) -> pl.DataFrame:
        """Score ``sequences``: one row per prediction (see ``attnlib predict``).

        Args:
            sequences: token lists, numeric (T, C) arrays, or a frame with ``id`` and
                ``tokens`` / ``values`` (and an optional ``label``); a series classifier
                also takes a long frame, one row per id and time step (one series per id),
                and a forecaster a long table (of series on one clock, by id, when it was
                trained so); columns under the training file's names are read as it was.
            top_k: how many next states / classes per row.
            attention: add the attention weights over the steps each prediction saw.
            last: keep just the prediction after each sequence's end (next-state; other
                tasks make one prediction per input: a DataError).
            strict: unknown tokens are an error instead of a warning.
            sets: add each row's conformal prediction set (``set_members``).
            warn: called with a warning's text (default: logged).
            source: what to call the input in messages (a file name).

        Raises:
            DataError: wrong kind of input, empty sequences, or (strict) unknown tokens.
        """
        if last and not get_task(self.task).step_predictions:
            raise DataError(
                f"--last (last=True) keeps the prediction after each sequence's end, for a "
                f"model that predicts after every step; this {self.task} model makes one "
                "prediction per input already"
            )
        filled: list[str] = []  # told once the input proves to be this model's kind
        with gaps.reading(gaps.DEFAULT, source, warn=filled.append):  # a series' gaps
            if isinstance(sequences, pl.DataFrame):  # a long frame of series: one per id
                named = roles.present(self.columns, sequences.columns, tuple(self.columns))
                sequences = roles.rename(sequences, named, source)  # the training file's names
                with panel.for_model(self):
                    frame = panel.as_series(sequences, source)
            else:
                frame = self._frame(sequences, source)
        frame = retokenize(frame, text_spec(self.meta))  # text: as the training text was
        check_input_kind(self.meta, frame, source)
        share, examples = unknown_share(self.meta, frame)
        if share:
            message = (
                f"{share:.0%} of the tokens are unknown to this model and read as {UNK} "
                f"(e.g. {', '.join(repr(t) for t in examples)}); "
                "`attnlib info` shows its vocabulary"
            )
            if strict:
                raise DataError(message)
            (warn or log.warning)(message)
        frame, offsets, note = self._cap(frame)
        if note:
            (warn or log.warning)(note)
        try:
            result = predict_frame(self.predictor, frame, top_k=top_k, attention=attention,
                                   sets=sets)  # fmt: skip
        except DataError as e:  # the task's own checks: say which input they read
            raise DataError(f"{source}: {e}") from None
        for message in filled:
            (warn or log.warning)(message)
        if offsets and "step" in result.columns:  # steps count from the sequence's start
            shift = pl.col("id").replace_strict(offsets, default=0, return_dtype=pl.Int64)
            result = result.with_columns(pl.col("step") + shift)
        return last_only(result) if last else result

    def _cap(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, dict, str]:
        """Sequences longer than the model was trained on (``encode.max_length``), cut as
        training cut them: a classifier reads the first ``max_length`` steps, a next-state
        model the last ``max_length`` tokens (the context it predicts the next one from)."""
        cap = self._inputs.get("max_length")
        column = "tokens" if "tokens" in frame.columns else "values"
        if not cap or column not in frame.columns:
            return frame, {}, ""
        lengths = frame[column].list.len().cast(pl.Int64)  # unsigned would wrap below cap
        n_long = int((lengths > cap).sum())
        if not n_long:
            return frame, {}, ""
        if get_task(self.task).cuts_windows:
            offsets = dict(zip(frame["id"], (lengths - cap).clip(lower_bound=0), strict=True))
            frame = frame.with_columns(pl.col(column).list.tail(cap))
            how = f"scored on their last {cap} tokens"
        else:
            offsets, how = {}, f"truncated to their first {cap} steps"
            frame = frame.with_columns(pl.col(column).list.head(cap))
        return (
            frame,
            offsets,
            (
                f"{n_long} sequence(s) longer than this model's max_length {cap} "
                f"(longest {int(lengths.max())}): {how}"
            ),
        )

    def _frame(self, sequences: Sequence, source: object) -> pl.DataFrame:
        ids = [f"seq{i + 1}" for i in range(len(sequences))]
        if self.meta.model_config.input_kind == "numeric":  # NaN: a gap, filled (or refused)
            values = [gaps.filled(np.asarray(s, dtype=np.float64).reshape(len(s), -1),
                                  f"{source}, sequence {i + 1}: ").tolist()
                      for i, s in enumerate(sequences)]  # fmt: skip
            return pl.DataFrame({"id": ids, "values": values})
        if any(isinstance(s, str) for s in sequences):
            raise DataError("give each sequence as a list of tokens, not a string")
        return pl.DataFrame(
            {"id": ids, "tokens": [list(map(str, s)) for s in sequences]},
            schema={"id": pl.String, "tokens": pl.List(pl.String)},
        )

    @property
    def columns(self) -> dict[str, str]:
        """The columns the training file held its text / label / time in, when it named them
        (``ingest.text_column`` ...; ``{}`` otherwise): new files may use the same names."""
        from attnlib.datasets.roles import ROLES

        data = self.meta.extra.get("training_data")
        named = data.get("columns") if isinstance(data, dict) else None
        if not isinstance(named, dict):
            return {}
        return {k: v for k, v in named.items() if k in ROLES and isinstance(v, str) and v}

    @property
    def channels(self) -> tuple[str, ...]:
        """A forecaster's input columns (``y_H1`` ... for series on one clock); ``()`` for
        other models."""
        if "long" not in get_task(self.task).accepts:  # a forecaster reads one long table
            return ()
        return tuple(self._inputs.get("channels") or ())

    @property
    def channel_names(self) -> tuple[str, ...]:
        """A series classifier's channels, by the names of the training file's value columns
        (a long table's); ``()`` when it read them without names, and for other models."""
        if not self.reads_series:
            return ()
        return tuple(self._inputs.get("channel_names") or ())

    @property
    def _inputs(self) -> dict:
        """What the model's data spec says of its input (scaler, channels, max_length)."""
        data = self.meta.extra.get("data")
        inputs = data.get("input") if isinstance(data, dict) else None
        return inputs if isinstance(inputs, dict) else {}

    @property
    def reads_series(self) -> bool:
        """Whether the model classifies numeric series (one a row; a long table by id)."""
        numeric = self.meta.model_config.input_kind == "numeric"
        return numeric and "series" in get_task(self.task).accepts

    @property
    def encoding(self) -> str:
        """How to decode new text files for this model (:func:`reading_encoding`)."""
        return reading_encoding(self.meta)

    def info(self) -> dict:
        """What the model is: task, input, vocabulary, labels, metrics, training data."""
        meta, cfg = self.meta, self.meta.model_config
        tokens = [t for t in (meta.vocab.itos if meta.vocab else []) if t not in (PAD, UNK)]
        scaler = self._inputs.get("scaler")
        scaler = Standardizer.from_dict(scaler, source="model.json") if scaler else None
        channels = scaler.channels if scaler else cfg.input_dim  # per series: 3 inputs a channel
        each = ", each series scaled by its own" if scaler and scaler.per_series else ""
        names = self.channel_names or self.channels
        named = f" ({listed(names, 12)})" if names else ""
        return {
            "task": cfg.task,
            "input": KIND_NAMES[cfg.input_kind]
            + (f", {channels} channel(s){named}{each}" if cfg.input_kind == "numeric" else ""),
            "model": f"{cfg.name}, hidden {cfg.hidden_dim}, attention {cfg.attention}",
            "vocab_size": len(meta.vocab) if meta.vocab else None,
            "vocab_sample": tokens[:10],
            "labels": list(meta.label_map) if meta.label_map else None,
            "metrics": {k: v for k, v in meta.metrics.items() if not isinstance(v, dict | list)},
            "test_metrics": meta.metrics.get("test") or {},
            "max_length": self._inputs.get("max_length"),
            "data": trained if isinstance(trained := meta.extra.get("training_data"), dict) else {},
        }


def load(bundle: str | Path, *, engine: str = "onnx") -> Model:
    """Load an ``export/`` bundle (ONNX Runtime) or a ``models/model`` directory.

    Args:
        bundle: the directory holding ``model.json`` and ``model.safetensors``.
        engine: ``onnx`` (when the bundle has ``model.onnx``) or ``torch`` (eager).

    Raises:
        ModelFileError: ``bundle`` is not a model directory.
    """
    return Model(bundle, engine=engine)


def reading_encoding(meta) -> str:
    """How to decode new text files for a model: UTF-8 where a file decodes so, else the
    encoding its training files were read in (``ingest.encoding``, as its bundle records
    it): ``utf-8/cp1252``; UTF-8 alone when it records none, or nothing readable."""
    data = meta.extra.get("training_data")
    trained = data.get("encoding") if isinstance(data, dict) else None
    if not isinstance(trained, str) or not trained:
        return UTF8
    try:  # UTF-8 given twice is tried once
        return charsets.checked(f"{UTF8}/{trained}")
    except ConfigError:
        return UTF8
