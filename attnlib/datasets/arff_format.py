"""The ARFF files of the UCR / UEA archives (Weka's format): ``@attribute`` lines, then one
series per line after ``@data``, its class last.

Univariate (the UCR archive's ``.arff``): one numeric attribute per time step, then the
class as a nominal attribute::

    @relation GunPoint
    @attribute att1 numeric
    @attribute att2 numeric
    @attribute target {1,2}
    @data
    -0.64,-0.65,2

Multivariate (the UEA archive's): one relational attribute whose value, quoted, holds the
channels separated by ``\\n``, then the class::

    @attribute relationalAtt relational
      @attribute att0 numeric
      @attribute att1 numeric
    @end relationalAtt
    @attribute activity {Standing,Running}
    @data
    '0.07,0.08\\n1.12,1.64',Standing

``?`` at the end of a series (or channel) is padding, how the archives write unequal
lengths, and is dropped (one inside is a gap: :mod:`attnlib.datasets.gaps`); a class of
``?`` on every line means an unlabelled file. Lines
starting with ``%`` are comments. Sparse rows (``{...}``) and attributes of other types
(string, date) are not read. Every problem is a :class:`~attnlib.errors.DataError`
naming the file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import polars as pl

from attnlib import errors
from attnlib.datasets.series import aligned_channels, class_label, series_frame
from attnlib.errors import DataError

_NUMERIC = {"numeric", "real", "integer"}
_FIELD = re.compile(r"""\s*('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|[^,]*)\s*(?:,|$)""")


def read_arff(path: Path, text: str) -> pl.DataFrame:
    """Read an ARFF file into the numeric-series schema (``id``, ``values``, ``label``)."""
    attributes: list[tuple[str, str, str]] = []  # (name, type, where) at the top level
    inside, data = None, False  # the relational attribute being declared; after @data
    steps, classes, width = 0, None, None  # steps (0: relational); the class's values; channels
    ids, values, labels = [], [], []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("%"):
            continue
        at = errors.where(path, row=number)
        if not data:
            inside, data = _header_line(line, at, attributes, inside)
            if data:
                steps, classes = _layout(attributes, at)
            continue
        if line.startswith("{"):
            raise DataError(f"{at}sparse rows ({{index value, ...}}) are not read; write "
                            "every value")  # fmt: skip
        fields = _fields(line)
        label = fields.pop() if classes is not None else None
        label = class_label(label) if label not in (None, "?") else label
        if not steps:
            channels = _channels(fields, at)
            width = width or len(channels)
            if len(channels) != width:
                raise DataError(f"{at}{len(channels)} channel(s); the first series has {width}")
        elif len(fields) != steps:
            raise DataError(f"{at}{len(fields)} values; the attributes declare {steps} steps "
                            "(pad a shorter series with ? at the end)")  # fmt: skip
        else:
            channels = aligned_channels([fields], at, lambda c: "")
        if label is not None and label != "?" and label not in classes:
            raise DataError(f"{at}class '{label}' is not one of the class attribute's "
                            f"{sorted(classes)}")  # fmt: skip
        ids.append(f"line{number}")
        values.append(np.stack(channels, axis=1))
        labels.append(label)
    if not data:
        raise DataError(f"{path}: no @data line (an ARFF file's attributes end with @data)")
    if not ids:
        raise DataError(f"{path}: no series after @data")
    return series_frame(ids, values, _labels(labels, ids, path))


def _header_line(line: str, at: str, attributes: list, inside: str | None):
    """Record one header line; returns (the relational attribute still open, @data seen)."""
    words = line.split(None, 1)
    key = words[0].lower()
    if key == "@data":
        if inside is not None:
            raise DataError(f"{at}@data inside the relational attribute '{inside}' (no @end)")
        return None, True
    if key == "@relation":
        return inside, False
    if key == "@end":
        return None, False
    if key != "@attribute" or len(words) < 2:
        raise DataError(f"{at}@relation, @attribute, @end or @data expected, got '{line[:30]}'")
    name, kind = _declaration(words[1], at)
    if inside is None:  # a relational attribute's own attributes are its steps
        attributes.append((name, kind, at))
        inside = name if kind == "relational" else None
    return inside, False


def _declaration(rest: str, at: str) -> tuple[str, str]:
    """``name type`` of an @attribute line; type one of numeric, relational, nominal."""
    match = re.match(r"""('[^']*'|"[^"]*"|\S+)\s+(.+)$""", rest.strip())
    if not match:
        raise DataError(f"{at}@attribute needs a name and a type, got '{rest[:30]}'")
    name, kind = match.group(1).strip("'\""), match.group(2).strip()
    if kind.startswith("{"):
        return name, "nominal:" + kind
    return name, kind.split()[0].lower()


def _layout(attributes: list, at: str) -> tuple[int, set[str] | None]:
    """(steps: one numeric attribute each, 0 for one relational attribute; the class
    attribute's values, None without a class); refuses layouts that are no series."""
    if not attributes:
        raise DataError(f"{at}@data before any @attribute")
    classes, steps = None, attributes
    if attributes[-1][1].startswith("nominal:"):
        kind = attributes[-1][1].removeprefix("nominal:")
        classes = {class_label(v) for v in _fields(kind[1:-1])}
        steps = attributes[:-1]
    if not steps:
        raise DataError(f"{at}no attribute before the class: a series file has one numeric "
                        "attribute per step, or one relational attribute")  # fmt: skip
    if any(a[1] == "relational" for a in steps) and len(steps) > 1:
        raise DataError(f"{steps[1][2]}one relational attribute (the channels), then "
                        f"the class, expected; got {len(steps)} attributes before the "
                        "class")  # fmt: skip
    for name, kind, where in steps:
        if kind not in _NUMERIC and kind != "relational":
            raise DataError(
                f"{where}attribute '{name}' is {kind.removeprefix('nominal:')}; a series file "
                "has one numeric attribute per step (or one relational attribute holding "
                "the channels), then the class as a nominal attribute, last"
            )
    return (0 if steps[0][1] == "relational" else len(steps)), classes


def _fields(line: str) -> list[str]:
    """Comma-separated values, quotes (single or double) removed."""
    out = [m.group(1) for m in _FIELD.finditer(line) if m.start() < len(line)]
    return [f[1:-1] if len(f) > 1 and f[0] == f[-1] and f[0] in "'\"" else f for f in out]


def _channels(fields: list[str], at: str) -> list[np.ndarray]:
    """The relational value's channels, each ``\\n``-separated and comma-separated."""
    if len(fields) != 1:
        raise DataError(f"{at}one quoted value holding the channels, then the class, expected; "
                        f"got {len(fields)} values before the class")  # fmt: skip
    parts = fields[0].replace("\\n", "\n").split("\n")
    return aligned_channels([p.split(",") for p in parts], at, lambda c: f"channel {c + 1}: ")


def _labels(labels: list, ids: list[str], path: Path) -> list[str] | None:
    """The labels, or None when the file has no class or every class is ``?``."""
    if all(x is None or x == "?" for x in labels):
        return None
    if "?" in labels:
        line = ids[labels.index("?")].removeprefix("line")
        raise DataError(f"{errors.where(path, row=int(line))}class '?' (unknown) on this line "
                        "but not on every line; label it, or leave every class ?")  # fmt: skip
    return labels
