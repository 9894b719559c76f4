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
archives write unequal lengths) and is dropped; one inside a channel is a gap
(:mod:`attnlib.datasets.gaps`). Lines starting with ``#`` or ``%`` are
comments. Time-stamped values (``@timeStamps true``) and regression targets
(``@targetLabel true``) are not read. Every problem is a :class:`~attnlib.errors.DataError`
naming the file and line.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from attnlib import errors
from attnlib.datasets.series import aligned_channels, class_label, series_frame
from attnlib.errors import DataError


def read_ts(path: Path, text: str) -> pl.DataFrame:
    """Read a ``.ts`` file into the numeric-series schema (``id``, ``values``, ``label``)."""
    header: dict[str, str] = {}
    ids, values, labels = [], [], []
    classes, width = None, None  # set at @data: the labels (None: unlabelled), channels
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", "%")):
            continue
        at = errors.where(path, row=number)
        if "data" not in header:
            _header_line(line, at, header)
            if "data" in header:
                classes, width = _classes(header), _width(header, at)
            continue
        parts = line.split(":")
        label = parts.pop().strip() if classes is not None else None
        if label is not None and (not parts or not label or (classes and label not in classes)):
            expected = f"one of @classLabel's {sorted(classes)}" if classes else "a label"
            raise DataError(f"{at}values, then ':' and {expected} expected; got "
                            f"'{line[-30:]}'")  # fmt: skip
        channels = aligned_channels([part.split(",") for part in parts], at,
                                    lambda c: f"channel {c + 1}: ")  # fmt: skip
        width = width or len(channels)
        if len(channels) != width:
            raise DataError(f"{at}{len(channels)} channel(s); @dimensions or the first series "
                            f"has {width}")  # fmt: skip
        ids.append(f"line{number}")
        values.append(np.stack(channels, axis=1))
        labels.append(class_label(label) if label is not None else None)
    if "data" not in header:
        raise DataError(f"{path}: no @data line (a .ts file's header ends with @data)")
    if not ids:
        raise DataError(f"{path}: no series after @data")
    return series_frame(ids, values, labels if classes is not None else None)


def _header_line(line: str, at: str, header: dict[str, str]) -> None:
    """Record one ``@key value`` line; refuse what this reader does not read."""
    if not line.startswith("@"):
        raise DataError(f"{at}a header line (@...) or @data expected, got '{line[:30]}'")
    key, *rest = line[1:].split(None, 1)
    key, value = key.lower(), (rest[0].strip() if rest else "")
    if key == "timestamps" and value.lower() == "true":
        raise DataError(f"{at}time-stamped values are not read; write the values only")
    if key == "targetlabel" and value.lower() == "true":
        raise DataError(f"{at}@targetLabel (regression targets) is not read; this task "
                        "classifies: give class labels (@classLabel true ...)")  # fmt: skip
    if key == "dimensions" and not (value.isdigit() and int(value) > 0):
        raise DataError(f"{at}@dimensions must be a positive whole number, got '{value}'")
    header[key] = value


def _width(header: dict[str, str], at: str) -> int | None:
    """The channels @dimensions or @univariate declares (None: the first series says)."""
    if "dimensions" in header:
        return int(header["dimensions"])
    return 1 if header.get("univariate", "").lower() == "true" else None


def _classes(header: dict[str, str]) -> set[str] | None:
    """@classLabel's labels (empty: labels without a list), or None: the rows hold no label."""
    words = header.get("classlabel", "false").split()
    if not words or words[0].lower() != "true":
        return None
    return set(words[1:])
