"""params.yaml and search/best.yaml, read strictly: every problem a one-line ConfigError
naming the file and line (not UTF-8, not valid YAML, a key given twice in one mapping)."""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path

import yaml

from attnlib.errors import ConfigError

MERGE = "tag:yaml.org,2002:merge"  # `<<: *defaults`, which may repeat in a mapping


def read_yaml(path: Path) -> tuple[yaml.Node | None, object]:
    """The file's node tree (for the keys' lines) and its value.

    Raises:
        FileNotFoundError: no such file (the caller says what it is for).
        ConfigError: not UTF-8, not valid YAML, or a key given twice in one mapping.
    """
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at line {line}); save it as UTF-8"
        ) from None
    try:
        return _load(text)
    except _DuplicateKey as exc:
        raise ConfigError(
            f"{path}, line {exc.line}: key '{exc.key}' given twice (first at line "
            f"{exc.first}); YAML would silently keep only the last"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(_yaml_problem(path, text, exc)) from None


def _load(text: str) -> tuple[yaml.Node | None, object]:
    loader = _StrictLoader(text)  # a control character fails here already
    try:
        node = loader.get_single_node()
        return node, None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


class _DuplicateKey(yaml.YAMLError):
    """A key given twice in one mapping (the loader has no file name to give)."""

    def __init__(self, key, line: int, first: int):
        super().__init__(key, line, first)
        self.key, self.line, self.first = key, line, first


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader, but a key given twice in one mapping (at any depth) is an
    error: PyYAML keeps the last, so a second ``train:`` block would replace the first."""

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for key_node, _ in node.value:
                if key_node.tag == MERGE:
                    continue
                key = self.construct_object(key_node, deep=True)
                if not isinstance(key, Hashable):  # the base class reports it
                    continue
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise _DuplicateKey(key, line, seen[key])
                seen[key] = line
        return super().construct_mapping(node, deep)


def _yaml_problem(path: Path, text: str, exc: yaml.YAMLError) -> str:
    """One line: where YAML stopped and why (and what it was parsing, when it says)."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if isinstance(exc, yaml.reader.ReaderError):  # a control character: a position only
        line = text.count("\n", 0, exc.position) + 1
        return f"{path}, line {line}: not valid YAML: {exc.reason} (#x{exc.character:04x})"
    if mark is None:
        return f"{path}: not valid YAML: {exc}".splitlines()[0]
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    msg = f"{path}, line {mark.line + 1}, column {mark.column + 1}: not valid YAML: {problem}"
    context, at = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and at is not None and at is not mark:
        msg += f" ({context} at line {at.line + 1}, column {at.column + 1})"
    elif context:
        msg += f" ({context})"
    return msg
