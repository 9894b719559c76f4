"""The catalogue of user mistakes (issue 8): one test per entry.

Each asserts (a) the one-line message names the file and the line / row and/or the key,
(b) exit code 2, (c) nothing was written (no output, no temporary file beside it).

- Input files go through ``attnlib ingest SRC --out OUT`` (in-process, CliRunner).
- Mistakes a later stage finds: the validation the stage runs first (params.yaml), or the
  stage's flow itself in-process against the shared local Prefect server (data that only
  encode / split can judge); each raises a typed error whose exit code is 2, which
  :func:`flows._params.run_stage` prints as one ``error:`` line. Two cases run
  ``attnlib train`` / ``attnlib search`` as real processes to prove that end to end.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from attnlib.cli import app
from attnlib.errors import AttnlibError
from attnlib.io import write_parquet_atomic

ROOT = Path(__file__).resolve().parent.parent
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
runner = CliRunner()


# -- helpers ------------------------------------------------------------------------------


# Before the error line a stage may print Prefect's own log record of the failure
# ("hh:mm:ss.fff | ERROR | Flow run 'x' - Encountered exception ..."), nothing else.
PREFECT_LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} \| (WARNING|ERROR) +\| ")


def one_error_line(stderr: str) -> str:
    """The single ``error:`` line of a user mistake, checked: no traceback, nothing after."""
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], stderr
    assert len(lines) == 1, stderr
    return errors[0].removeprefix("error: ")


def ingest(tmp_path: Path, name: str, content, *args: str) -> tuple[str, Path]:
    """Run ``attnlib ingest`` on ``content`` written to ``name``; expect a user mistake.

    Returns (the message, the source path) after checking exit code 2, one stderr line,
    nothing on stdout and nothing written: the --out file's directory stays empty.
    """
    src = tmp_path / name
    if isinstance(content, pl.DataFrame):
        content.write_parquet(src)
    elif isinstance(content, bytes):
        src.write_bytes(content)
    elif content is not None:
        src.write_text(content, encoding="utf-8")
    outdir = tmp_path / "out"
    outdir.mkdir(exist_ok=True)
    out = outdir / "raw.parquet"
    result = runner.invoke(app, ["ingest", str(src), "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1, result.stderr
    assert not out.exists() and list(outdir.iterdir()) == []
    return one_error_line(result.stderr), src


def project(tmp_path: Path, **changes) -> Path:
    """A project directory: the repository's params.yaml with ``changes`` (section -> dict
    merged, or a top-level value), and dvc.yaml."""
    params = copy.deepcopy(PARAMS)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(params.get(key), dict):
            params[key].update(value)
        else:
            params[key] = value
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (tmp_path / "dvc.yaml").write_bytes((ROOT / "dvc.yaml").read_bytes())
    return tmp_path


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}  # fmt: skip


def stage_error(body) -> str:
    """The typed error ``body`` (a stage's validation, or its flow) raises: exit code 2 and
    a one-line message. (``run_stage`` prints it as the stage's one ``error:`` line and
    exits with its code: the two ``*_command`` tests below check that end to end.)"""
    with pytest.raises(AttnlibError) as info:
        body()
    assert info.value.exit_code == 2
    message = str(info.value)
    assert message and len(message.splitlines()) == 1
    return message


def write_vocab(root: Path, tokens=("a", "b", "c"), labels=None, task="next_state") -> None:
    (root / "data").mkdir(exist_ok=True)
    meta = {"tokens": ["<pad>", "<unk>", *tokens], "labels": labels, "task": task}
    (root / "data" / "vocab.json").write_text(json.dumps(meta))


def run_cli_stage(root: Path, server: str, *args: str):
    """``attnlib --quiet ARGS --project ROOT`` as a user runs it: a real process tree."""
    env = {**os.environ, "PREFECT_API_URL": server, "PREFECT_HOME": str(root.parent / "home")}
    env.pop("ATTNLIB_PARAMS", None)
    script = Path(sys.executable).parent / "attnlib"
    cmd = [str(script), "--quiet", *args, "--project", str(root)]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)


# -- input files (ingest) -----------------------------------------------------------------


def test_missing_file(tmp_path):
    message, src = ingest(tmp_path, "nope.csv", None)
    assert message == f"{src}: file not found"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.csv", b"", "file is empty"),
        ("blank.txt", b" \n\n\t\n", "file is empty"),
        ("bom.tsv", b"\xef\xbb\xbf", "file is empty"),
        ("empty.parquet", b"", "file is empty"),
        ("header.csv", b"tokens,label\n", "no rows"),
        ("none.parquet", pl.DataFrame({"tokens": []}, schema={"tokens": pl.String}), "no rows"),
    ],
)
def test_empty_file(tmp_path, name, content, expected):
    message, src = ingest(tmp_path, name, content)
    assert message == f"{src}: {expected}"


@pytest.mark.parametrize(
    ("name", "content", "line"),
    [
        ("latin1.txt", "a b\nc d\nd\xe9j\xe0 vu\n".encode("latin-1"), 3),
        ("latin1.csv", "text,label\nfine,a\ncaf\xe9,b\n".encode("latin-1"), 3),
        ("cut.txt", b"a b\n" + "\u00e9".encode()[:1] + b"\n", 2),  # a cut sequence
    ],
)
def test_undecodable_text(tmp_path, name, content, line):
    message, src = ingest(tmp_path, name, content)
    assert message.startswith(f"{src}, line {line}: not valid UTF-8")


@pytest.mark.parametrize(
    ("name", "content", "args", "expected"),
    [
        ("long.csv", "tokens,label\na b,x\nc d,y,z\n", (), "line 3: 3 field(s), the header"),
        ("short.csv", "id,tokens,label\n1,a b,x\n2,c d\n", (), "line 3: 2 field(s), the header "
                                                               "has 3"),
        ("quoted.csv", 'tokens,label\n"a\nb",x\nc,y,z\n', (), "line 4: 3 field(s)"),  # line 2-3
        ("s.csv", "pitch\tdur\nC4\tq\nE4\n", ("--format", "seqlab_csv"),
         "line 3: 1 field(s), the header has 2"),
        ("cols.csv", "words,label\na b,x\n", (), "needs a 'tokens' or 'text' column (sequences"),
        ("dup.csv", "tokens,tokens\na,b\n", (), "line 1: column 'tokens' appears twice"),
        ("values.parquet", pl.DataFrame({"values": [[[1.0, 2.0]], [[1.0]]]}), (),
         "row 2: 1 channels, row 1 has 2"),
    ],
)  # fmt: skip
def test_ragged_rows_or_missing_columns(tmp_path, name, content, args, expected):
    message, src = ingest(tmp_path, name, content, *args)
    assert message.startswith(f"{src}, {expected}") or message.startswith(f"{src}: {expected}")


@pytest.mark.parametrize(
    ("name", "content", "args", "expected"),
    [
        ("u.txt", "1 0.5 0.25 0.125\n2 0.5 NaN 0.125\n", ("--format", "ucr", "--missing", "error"),
         "line 2, step 2: missing value inside the series; ingest.missing: interpolate fills"),
        ("u.tsv", "1.0\t0.5\t0.25\n2.0\tinf\t0.5\n", (), "line 2, step 1: infinite value"),
        ("u.csv", "1.0,0.5,0.25\n2.0,1e39,0.5\n", (), "line 2: value '1e39' is too large"),
        ("u.txt", "1 0.5 0.25 NaN nan\n2 NaN NaN\n", ("--format", "ucr"),
         "line 2: no values in the series"),
        ("s.ts", "@classLabel true a b\n@data\n1,2:3,4:a\n1,inf:3,4:b\n", (),
         "line 4: channel 1, step 2: infinite value"),
        ("s.ts", "@classLabel true a b\n@data\n1,2:3,4:a\n1,2:3,-1e39:b\n", (),
         "line 4: channel 2: value '-1e39' is too large"),
        ("s.ts", "@classLabel true a b\n@data\n1,2:3,x:a\n", (),
         "line 3: channel 2: value 'x' is not a number"),
        ("l.csv", "date,load\n2020-01,1.5\n2020-02,inf\n", (),
         "line 3: column 'load': 'inf' is not a number"),
        ("l.parquet", pl.DataFrame({"time": [1, 2], "load": [1.0, float("nan")]}), (),
         "row 2: column 'load': missing value ('nan')"),
        ("v.parquet", pl.DataFrame({"values": [[1.0, 2.0], [float("inf"), 1.0]]}), (),
         "row 2: 'values', step 1, channel 1: infinite value"),
    ],
)  # fmt: skip
def test_nan_or_inf_values(tmp_path, name, content, args, expected):
    message, src = ingest(tmp_path, name, content, *args)
    assert message.startswith(f"{src}, {expected}")


@pytest.mark.parametrize(
    ("name", "content", "where"),
    [
        ("t.csv", "text,label\ngood film,pos\nbad film,\nok film,neg\n", "line 3"),
        ("t.tsv", "text\tlabel\ngood film\tpos\nbad film\t\n", "line 3"),
        ("t.parquet", pl.DataFrame({"tokens": [["a"], ["b"]], "label": ["x", None]}), "row 2"),
    ],
)
def test_missing_labels(tmp_path, name, content, where):
    message, src = ingest(tmp_path, name, content)
    assert message == f"{src}, {where}: missing label"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("s.txt", "a b c\n\nd e\n", "line 2: empty sequence"),
        ("s.csv", "id,tokens\nx,a b\ny,\n", "line 3: empty sequence in column 'tokens'"),
        ("s.parquet", pl.DataFrame({"tokens": [["a"], []]}), "row 2: empty sequence in column"),
        ("v.parquet", pl.DataFrame({"values": [[1.0], []]}), "row 2: empty series"),
    ],
)
def test_empty_sequences(tmp_path, name, content, expected):
    message, src = ingest(tmp_path, name, content)
    assert message.startswith(f"{src}, {expected}")


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("s.txt", "a b c\nd e f g h\n", "line 2: sequence 'line2' has 5 tokens, more than "
                                        "max_length 4"),
        ("s.csv", "id,tokens\nx,a b\ny,a b c d e f\n", "line 3: sequence 'y' has 6 tokens"),
        ("u.txt", "1 0.5 0.5 0.5 0.5 0.5\n", "line 1: sequence 'line1' has 5 time steps"),
        ("v.parquet", pl.DataFrame({"values": [[1.0] * 3, [1.0] * 9]}),
         "row 2: sequence 'row2' has 9 time steps, more than max_length 4"),
    ],
)  # fmt: skip
def test_sequence_longer_than_max_length(tmp_path, name, content, expected):
    fmt = ("--format", "ucr") if name == "u.txt" else ()
    message, src = ingest(tmp_path, name, content, "--max-length", "4", *fmt)
    assert message.startswith(f"{src}, {expected}")


# -- params.yaml (each stage validates its sections first) --------------------------------


def test_unknown_task(tmp_path, monkeypatch):
    from flows._params import load_params, task_of

    root = project(tmp_path, task="translate")
    before = files(root)
    monkeypatch.chdir(root)
    message = stage_error(lambda: task_of(load_params()))
    assert message == "params key 'task': unknown task 'translate' (next_state, classify, forecast)"
    assert files(root) == before


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("name", "transformer", "params key 'train.name': Input should be 'lstm_attention', "
                                "'bilstm_attention', 'cnn_bilstm_attention' or 'alstm_fcn'"),
        ("name", "bilstm_attention", "params key 'train': Value error, model "
                                     "'bilstm_attention' is bidirectional"),  # next_state
    ],
)  # fmt: skip
def test_unknown_model_name(tmp_path, monkeypatch, key, value, expected):
    from flows._params import load_params, model_and_train_configs

    root = project(tmp_path, train={key: value})
    write_vocab(root)
    before = files(root)
    monkeypatch.chdir(root)
    message = stage_error(lambda: model_and_train_configs(load_params(), vocab_size=5))
    assert message.startswith(expected)
    assert files(root) == before


def test_unknown_attention_scorer(tmp_path, monkeypatch):
    from flows._params import load_params, model_and_train_configs

    root = project(tmp_path, train={"attention": "cosine"})
    before = files(root)
    monkeypatch.chdir(root)
    message = stage_error(lambda: model_and_train_configs(load_params(), vocab_size=5))
    assert message == (
        "params key 'train.attention': Input should be 'additive', 'dot', 'general' or 'scaled_dot'"
    )
    assert files(root) == before


@pytest.mark.parametrize(
    ("changes", "section", "expected"),
    [
        ({"train": {"lr": "fast"}}, "train", "params key 'train.lr': Input should be a valid "
                                             "number"),
        ({"train": {"lrate": 0.1}}, "train", "params key 'train.lrate': unknown key (allowed:"),
        ({"split": {"val": 1.5}}, "split", "params key 'split.val': Input should be less than 1"),
        ({"ingest": {"limit": [3]}}, "ingest", "params key 'ingest.limit': Input should be a "
                                               "valid integer"),
        ({"encode": "min_freq=2"}, "encode", "params key 'encode': Input should be a valid "
                                             "dictionary"),
        ({"seed": "zero"}, "seed", "params key 'seed': expected an integer, got 'zero'"),
    ],
)  # fmt: skip
def test_malformed_params_key(tmp_path, monkeypatch, changes, section, expected):
    from flows import _params as p

    classes = {"train": p.TrainParams, "split": p.SplitParams, "ingest": p.IngestParams,
               "encode": p.EncodeParams}  # fmt: skip
    root = project(tmp_path, **changes)
    before = files(root)
    monkeypatch.chdir(root)
    if section == "seed":
        message = stage_error(lambda: p.seed_of(p.load_params()))
    else:
        message = stage_error(lambda: p.section(p.load_params(), section, classes[section]))
    assert message.startswith(expected)
    assert files(root) == before


def test_malformed_params_key_stops_the_train_command(tmp_path, prefect_server):
    """End to end: ``attnlib train`` exits 2 with the key path, and trains nothing."""
    root = project(tmp_path / "p", train={"lr": "fast"})
    write_vocab(root)
    before = files(root)
    proc = run_cli_stage(root, prefect_server, "train")
    assert proc.returncode == 2, proc.stderr
    message = one_error_line(proc.stderr)
    assert message.startswith("params key 'train.lr': Input should be a valid number")
    assert files(root) == before  # no models/, checkpoints/, metrics/, plots/


@pytest.mark.parametrize(
    ("space", "expected"),
    [
        ({"lr": {"min": "fast", "max": 0.1}}, "'search.space.lr.min': expected a number"),
        ({"lr": {"min": 0.1, "max": 0.01}}, "'search.space.lr.min': min 0.1 is greater than max"),
        ({"lr": {"min": 0, "max": 1, "log": True}}, "'search.space.lr.min': a log scale needs"),
        ({"learning_rate": {"min": 0.1, "max": 1.0}}, "'search.space.learning_rate': "
                                                      "'learning_rate' is not a searchable"),
        ({"attention": {"values": []}}, "'search.space.attention.values': expected a non-empty"),
        ({"dropout": {"min": 0.0, "max": 0.5, "steps": 0.1}}, "'search.space.dropout.steps': "
                                                              "unknown key"),
        ({"hidden_dim": [8, 16]}, "'search.space.hidden_dim': expected {min, max[, log, step]}"),
    ],
)  # fmt: skip
def test_malformed_search_space(tmp_path, monkeypatch, space, expected):
    from attnlib.search_space import SearchConfig
    from flows._params import load_params

    root = project(tmp_path, search={"space": space})
    before = files(root)
    monkeypatch.chdir(root)
    message = stage_error(lambda: SearchConfig.from_params(load_params()["search"]))
    assert message.startswith(f"params key {expected}")
    assert files(root) == before


def test_malformed_search_space_stops_the_search_command(tmp_path, prefect_server):
    """End to end: ``attnlib search`` exits 2 naming the key, with no study or best.yaml."""
    root = project(tmp_path / "p", search={"space": {"lr": {"min": "fast", "max": 0.1}}})
    before = files(root)
    proc = run_cli_stage(root, prefect_server, "search")
    assert proc.returncode == 2, proc.stderr
    message = one_error_line(proc.stderr)
    assert message == "params key 'search.space.lr.min': expected a number, got 'fast'"
    assert files(root) == before  # no search/ (study, best.yaml, trials)


# -- data that only a later stage can judge (encode, split) -------------------------------


def test_single_class(tmp_path, monkeypatch, prefect_api):
    from flows.encode import encode

    root = project(tmp_path, task="classify")
    raw = pl.DataFrame({"id": [f"s{i}" for i in range(12)],
                        "tokens": [["a", "b", str(i % 3)] for i in range(12)],
                        "label": ["spam"] * 12})  # fmt: skip
    write_parquet_atomic(root / "data" / "raw.parquet", raw)
    before = files(root)
    monkeypatch.chdir(root)
    message = stage_error(encode)
    assert message == (
        "data/raw.parquet, key 'label': classification needs at least 2 classes in the train "
        "split, found ['spam']"
    )
    assert files(root) == before  # no vocab.json, no encoded.parquet


def test_vocabulary_too_small_to_learn_from(tmp_path, monkeypatch, prefect_api):
    from flows.encode import encode

    root = project(tmp_path, encode={"min_freq": 50})  # every token is rarer: all <unk>
    raw = pl.DataFrame({"id": [f"s{i}" for i in range(12)],
                        "tokens": [["a", "b", "c", str(i)] for i in range(12)]})  # fmt: skip
    write_parquet_atomic(root / "data" / "raw.parquet", raw)
    before = files(root)
    monkeypatch.chdir(root)
    message = stage_error(encode)
    assert message == (
        "data/raw.parquet, key 'tokens': the train split's vocabulary has 0 token(s), too few "
        "to learn from (at least 2; see encode.min_freq=50, encode.max_size=0)"
    )
    assert files(root) == before


def test_empty_split(tmp_path, monkeypatch, prefect_api):
    from flows.encode import encode

    root = project(tmp_path, split={"val": 0.1, "test": 0.2})
    raw = pl.DataFrame({"id": [f"s{i}" for i in range(4)],
                        "tokens": [["a", "b", "c", str(i)] for i in range(4)]})  # fmt: skip
    write_parquet_atomic(root / "data" / "raw.parquet", raw)  # 0.1 of 4 sequences: none
    before = files(root)
    monkeypatch.chdir(root)
    message = stage_error(encode)  # caught where the splits are drawn, not at the split stage
    assert message == (
        "data/raw.parquet: 4 sequences give train 3, val 0, test 1 with split.val=0.1, "
        "split.test=0.2: the val split is empty; raise split.val (now 0.1; one of 4 is 0.25) "
        "or give more data"
    )
    assert files(root) == before  # no vocab.json, no encoded.parquet
