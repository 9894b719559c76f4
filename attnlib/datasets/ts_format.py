"""The ``.ts`` format of the UEA / UCR archives (and sktime): header lines, then one series
per line, its channels separated by ``:`` and its label last.

```
@problemName BasicMotions
@univariate false
@dimensions 2
@classLabel true Standing Running
@data
0.07,0.08,-0.90:1.12,1.64,1.00:Standing
```

Values are separated by commas; ``?`` or ``NaN`` at the end of a channel is padding (how the
archives write unequal lengths) and is dropped. Time-stamped values (``@timeStamps true``)
are not read. Every problem is a :class:`~attnlib.errors.DataError` naming the file and
line.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import polars as pl

from attnlib import errors
from attnlib.datasets.series import _F32_MAX, _label, series_frame
from attnlib.errors import DataError

_MISSING = {"?", "nan"}


def read_ts(path: Path, text: str) -> pl.DataFrame:
    """Read a ``.ts`` file into the numeric-series schema (``id``, ``values``, ``label``)."""
    header: dict[str, str] = {}
    ids, values, labels = [], [], []
    data_started = False
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        at = errors.where(path, row=number)
        if not data_started:
            if not line.startswith("@"):
                raise DataError(f"{at}a header line (@...) or @data expected, got '{line[:30]}'")
            key, _, rest = line[1:].partition(" ")
            header[key.lower()] = rest.strip()
            data_started = key.lower() == "data"
            if key.lower() == "timestamps" and rest.strip().lower() == "true":
                raise DataError(f"{at}time-stamped values are not read; write the values only")
            continue
        classes = _classes(header)
        parts = line.split(":")
        label = parts.pop().strip() if classes is not None else None
        if classes and label not in classes:
            raise DataError(f"{at}label '{label}' is not one of @classLabel's {sorted(classes)}")
        channels = [_channel(part, at, c + 1) for c, part in enumerate(parts)]
        expected = int(header.get("dimensions", len(channels)) or len(channels))
        if len(channels) != expected or (values and len(channels) != values[0].shape[1]):
            raise DataError(f"{at}{len(channels)} channel(s); @dimensions or the first series "
                            f"has {values[0].shape[1] if values else expected}")  # fmt: skip
        if len({len(c) for c in channels}) > 1:
            lengths = [len(c) for c in channels]
            raise DataError(f"{at}the channels have different lengths {lengths}; "
                            "a series' channels must align")  # fmt: skip
        ids.append(f"line{number}")
        values.append(np.stack(channels, axis=1))
        labels.append(_label(label) if label is not None else None)
    if not data_started:
        raise DataError(f"{path}: no @data line (a .ts file's header ends with @data)")
    if not ids:
        raise DataError(f"{path}: no series after @data")
    return series_frame(ids, values, labels if labels[0] is not None else None)


def _classes(header: dict[str, str]) -> set[str] | None:
    """@classLabel's labels (empty: labels without a list), or None: the rows hold no label."""
    words = header.get("classlabel", "false").split()
    if not words or words[0].lower() != "true":
        return None
    return set(words[1:])


def _channel(text: str, at: str, channel: int) -> np.ndarray:
    fields = [f.strip() for f in text.split(",")]
    while fields and fields[-1].lower() in _MISSING:
        fields.pop()
    if not fields or any(f.lower() in _MISSING for f in fields):
        raise DataError(f"{at}channel {channel}: missing value (? / NaN) inside the series")
    try:
        out = np.asarray([float(f) for f in fields], dtype=np.float64)
    except ValueError:
        bad = next(f for f in fields if not _is_number(f))
        raise DataError(f"{at}channel {channel}: value '{bad}' is not a number") from None
    if not all(math.isfinite(v) for v in out):
        raise DataError(f"{at}channel {channel}: infinite value")
    if (top := np.abs(out).max()) > _F32_MAX:  # stored as float32: it would become inf
        raise DataError(f"{at}channel {channel}: value {top:g} is too large (float32)")
    return out.astype(np.float32)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
