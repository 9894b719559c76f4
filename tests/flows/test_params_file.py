"""params.yaml edited by hand: each mistake is one ConfigError naming the file, the line
and what was expected, never a traceback or a silently different run."""

from __future__ import annotations

from pathlib import Path

import pytest

from attnlib.errors import ConfigError
from flows._params import load_params

ROOT = Path(__file__).resolve().parents[2]
KEYS = ("task", "seed", "ingest", "encode", "split", "search", "train", "evaluate", "export")
PARAMS = (ROOT / "params.yaml").read_text(encoding="utf-8")


def _error(tmp_path: Path, content: str | bytes) -> str:
    path = tmp_path / "params.yaml"
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    with pytest.raises(ConfigError) as info:
        load_params(path)
    assert info.value.exit_code == 2
    message = str(info.value)
    assert len(message.splitlines()) == 1 and message.startswith(str(path))
    return message.removeprefix(str(path))


def test_the_projects_params_file_loads(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(PARAMS)
    assert tuple(load_params(path)) == KEYS


def test_a_latin1_byte_names_its_line(tmp_path):
    lines = PARAMS.encode().splitlines(keepends=True)
    lines[11] = lines[11].rstrip(b"\n") + " # caf\xe9\n".encode("latin-1")
    message = _error(tmp_path, b"".join(lines))
    assert message == ": not UTF-8 text (byte 0xe9 at line 12); save it as UTF-8"


@pytest.mark.parametrize(
    ("line", "key", "hint"),
    [
        ("tsk: classify", "tsk", "; did you mean 'task'?"),
        ("Task: classify", "Task", "; did you mean 'task'?"),
        ("trian:\n  lr: 0.1", "trian", "; did you mean 'train'?"),
        ("model: lstm", "model", ""),
        ("1: one", "1", ""),
    ],
)
def test_an_unknown_top_level_key_is_named_with_its_line(tmp_path, line, key, hint):
    text = PARAMS + line + "\n"
    message = _error(tmp_path, text)
    number = len(PARAMS.splitlines()) + 1
    assert message == (
        f", line {number}: unknown top-level key '{key}'{hint} "
        "(expected one of: task, seed, ingest, encode, split, search, train, evaluate, export)"
    )


def test_a_second_train_block_is_an_error_naming_both_lines(tmp_path):
    first = PARAMS.splitlines().index("train:") + 1
    second = len(PARAMS.splitlines()) + 1
    message = _error(tmp_path, PARAMS + "train:\n  lr: 0.5\n")
    assert message == (
        f", line {second}: key 'train' given twice (first at line {first}); "
        "YAML would silently keep only the last"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("train:\n  lr: 0.1\n  epochs: 3\n  lr: 0.2\n", "line 4: key 'lr' given twice (first "
                                                        "at line 2)"),
        ("train:\n  space: {lr: 1, lr: 2}\n", "line 2: key 'lr' given twice (first at line 2)"),
        ("seed: 1\nseed: 1\n", "line 2: key 'seed' given twice (first at line 1)"),
    ],
)  # fmt: skip
def test_a_duplicate_key_at_any_depth_is_an_error(tmp_path, text, expected):
    assert _error(tmp_path, text).startswith(f", {expected}")


def test_merge_keys_may_override_what_they_merge(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("train: &base\n  lr: 0.1\n  epochs: 3\nevaluate:\n  <<: *base\n  lr: 0.2\n")
    assert load_params(path)["evaluate"] == {"lr": 0.2, "epochs": 3}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("task: classify\ntrain:\n  dims: [1, 2\nseed: 3\n",
         ", line 4, column 5: not valid YAML: expected ',' or ']', but got ':' "
         "(while parsing a flow sequence at line 3, column 9)"),
        ("task: classify\n\tseed: 1\n",
         ", line 2, column 1: not valid YAML: found character '\\t' that cannot start any "
         "token (while scanning for the next token)"),
        ("task: classify\nseed: 1 \x00\n",
         ", line 2: not valid YAML: special characters are not allowed (#x0000)"),
    ],
)  # fmt: skip
def test_invalid_yaml_is_one_line_with_its_line_and_column(tmp_path, text, expected):
    assert _error(tmp_path, text) == expected


def test_a_file_that_is_not_a_mapping_is_an_error(tmp_path):
    assert _error(tmp_path, "- task\n- seed\n") == ": expected a mapping of sections"


def test_the_search_result_file_is_read_as_strictly(tmp_path):
    """search/best.yaml edited by hand: a key given twice names its lines, as params.yaml."""
    from flows._data import load_best

    best = tmp_path / "best.yaml"
    best.write_text("params:\n  lr: 0.01\n  lr: 0.02\n")
    with pytest.raises(ConfigError, match=r"line 3: key 'lr' given twice \(first at line 2\)"):
        load_best(best)
    best.write_text("params:\n  lr: 0.01\n")
    assert load_best(best) == {"lr": 0.01}
