"""How long a sequence the model is given (``encode.max_length``), and what happens to longer ones.

Attention over T steps costs T x T per sequence (next-state: every step attends to the
steps before it), so one 200,000-token line would need ~24 GB in training. Longer
sequences are therefore cut at encode, the first stage that sees the vocabulary and
splits, never silently at training:

- next-state: into overlapping windows of ``max_length`` tokens (each starting half a
  window after the previous, so every token but the first window's is predicted with at
  least half a window of context); the windows stay in their sequence's split;
- classification: truncated to the first ``max_length`` tokens / time steps.

``auto`` derives the cap from the train split's lengths: twice their 99th percentile, and
at least :data:`AUTO_FLOOR` (the percentile is an observed length, not interpolated towards
an outlier), so ordinary data is never cut and only outliers are.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from attnlib.errors import ConfigError

AUTO_FLOOR = 512  # steps: 512 x 512 attention weights are ~1 MB per sequence in float32
AUTO_FACTOR = 2  # times the 99th percentile of the train lengths


def resolve_max_length(setting: int | str, train_lengths: pl.Series) -> int | None:
    """``encode.max_length`` as a number of steps (None: no cap).

    Args:
        setting: ``"auto"``, a positive int, or 0 for no cap.
        train_lengths: the lengths of the train split's sequences.
    """
    if setting == "auto":
        lengths = train_lengths.to_numpy()  # "lower": an observed length, not one pulled up
        p99 = float(np.percentile(lengths, 99, method="lower")) if len(lengths) else 0.0
        return max(AUTO_FLOOR, AUTO_FACTOR * math.ceil(p99))
    if isinstance(setting, int) and not isinstance(setting, bool) and setting >= 0:
        return setting or None
    raise ConfigError(f"encode.max_length must be 'auto', 0 or a positive integer, got {setting!r}")


def cap_lengths(
    frame: pl.DataFrame, max_length: int | None, *, windows: bool
) -> tuple[pl.DataFrame, str]:
    """Cut into windows (next-state) or truncate (classification) sequences longer than
    ``max_length``; the task says which.

    Args:
        frame: rows with ``id`` and ``tokens`` or ``values`` (and ``split``, ``label``, ...).
        max_length: the cap in steps; None leaves the frame as it is.
        windows: cut into overlapping windows (True) or keep the first steps (False).

    Returns:
        (the frame, a sentence for the log; "" when nothing was longer).
    """
    column = "tokens" if "tokens" in frame.columns else "values"
    if max_length is None or frame.height == 0:
        return frame, ""
    lengths = frame[column].list.len()
    long = lengths > max_length
    n_long = int(long.sum())
    if n_long == 0:
        return frame, ""
    longest = int(lengths.max())
    if not windows:
        out = frame.with_columns(pl.col(column).list.head(max_length))
        return out, (
            f"{n_long} sequence(s) longer than encode.max_length={max_length} (longest "
            f"{longest}) truncated to their first {max_length} steps"
        )
    stride = max(1, max_length // 2)
    rows = []
    for row in frame.filter(long).iter_rows(named=True):
        seq = row[column]
        starts = range(0, max(1, len(seq) - max_length + stride), stride)
        for k, s in enumerate(starts):
            rows.append({**row, "id": f"{row['id']}#w{k + 1}", column: seq[s : s + max_length]})
    cut = pl.DataFrame(rows, schema=frame.schema)
    out = pl.concat([frame.filter(~long), cut])
    return out, (
        f"{n_long} sequence(s) longer than encode.max_length={max_length} (longest {longest}) "
        f"cut into {cut.height} overlapping windows of at most {max_length} tokens"
    )
