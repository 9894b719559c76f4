"""Typed user-facing errors.

Every error a user can cause by what they feed us (a file, a params key, a model
directory) is one of these, and its message names the file, row or key at fault.
The CLI and the stage commands turn them into one line and exit code 2.
"""

from __future__ import annotations

# every character str.splitlines() breaks at, written as its escape (\n -> "\\n")
_LINE_BREAKS = str.maketrans({c: repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"})


class AttnlibError(Exception):
    """Base of all user mistakes attnlib reports (never a bug in attnlib)."""

    exit_code = 2

    def one_line(self) -> str:
        """The message as one line (a line break inside a quoted value is escaped)."""
        return str(self).translate(_LINE_BREAKS)


class DataError(AttnlibError):
    """An input file or data set is missing, malformed or unusable."""


class ConfigError(AttnlibError):
    """A configuration value (params.yaml key, search space, model name) is invalid."""


class ModelFileError(AttnlibError):
    """A path given as a model directory / bundle is not one, or is unsafe to load."""


class TrainingError(AttnlibError):
    """Training cannot go on (e.g. the loss became NaN / inf)."""


def where(path: object = None, *, row: int | None = None, key: str | None = None) -> str:
    """Format a location prefix such as ``data/x.csv, line 7, key 'label': ``."""
    parts = []
    if path is not None:
        parts.append(str(path))
    if row is not None:
        parts.append(f"line {row}")
    if key is not None:
        parts.append(f"key '{key}'")
    return (", ".join(parts) + ": ") if parts else ""


def listed(items, most: int = 5) -> str:
    """``items`` for a message or a summary line: the first ``most``, then how many more."""
    more = f" and {len(items) - most} more" if len(items) > most else ""
    return ", ".join(items[:most]) + more
