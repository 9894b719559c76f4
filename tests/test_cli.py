"""The ``attnlib`` command: help everywhere, stage commands, --quiet.

Stage commands run ``python -m flows.<stage>`` in the project directory; here the project
holds a stand-in ``flows`` package (the working directory comes first on the module
path, as for the project's own flows under ``dvc repro``) that records how it was run,
so these tests need no Prefect server.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from attnlib.cli import app

runner = CliRunner()
COMMANDS = sorted(typer.main.get_command(app).commands)
STAGES = ("train", "search", "evaluate", "export")

FAKE_STAGE = """\
import json, os, sys, time
from pathlib import Path
if Path("sleep").exists():  # a long stage: says it started, then waits to be stopped
    from attnlib.processes import stop_with_owner  # as flows._params.run_stage does
    stop_with_owner()
    Path("stage.pid").write_text(str(os.getpid()))
    time.sleep(300)

Path("ran.json").write_text(json.dumps({
    "module": __name__, "file": __file__, "argv": sys.argv[1:], "cwd": os.getcwd(),
    "quiet": os.environ.get("ATTNLIB_QUIET"), "level": os.environ.get("PREFECT_LOGGING_LEVEL"),
}))
sys.exit(int(Path("exit_code").read_text()) if Path("exit_code").exists() else 0)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project directory whose flows.<stage> modules record their run and exit."""
    (tmp_path / "params.yaml").write_text("task: next_state\n")
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "__init__.py").write_text("")
    for stage in STAGES:
        (tmp_path / "flows" / f"{stage}.py").write_text(FAKE_STAGE)
    return tmp_path


def ran(project: Path) -> dict:
    return json.loads((project / "ran.json").read_text())


def test_all_commands_are_there():
    assert {"datasets", "ingest", "predict", "explain", *STAGES} <= set(COMMANDS)


def test_top_level_help():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    assert "--quiet" in result.output
    for command in COMMANDS:
        assert command in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and command in result.output


def test_console_script_and_module_run(tmp_path):
    """The installed ``attnlib`` script and ``python -m attnlib.cli`` both answer --help."""
    script = Path(sys.executable).parent / "attnlib"
    for cmd in ([str(script), "--help"], [sys.executable, "-m", "attnlib.cli", "train", "--help"]):
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert "Usage:" in proc.stdout


def test_the_cli_imports_neither_prefect_nor_flows():
    code = (
        "import sys, attnlib.cli; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('prefect', 'flows')); "
        "assert not bad, bad"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("stage", STAGES)
def test_stage_without_params_yaml_is_a_user_error(stage, tmp_path):
    result = runner.invoke(app, [stage, "--project", str(tmp_path)])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"error: {tmp_path / 'params.yaml'}: params file not found")
    assert list(tmp_path.iterdir()) == []


def test_stage_in_a_missing_directory_is_a_user_error(tmp_path):
    result = runner.invoke(app, ["train", "--project", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'nope'}: project directory not found\n"


def test_stage_defaults_to_the_current_directory(project, monkeypatch):
    monkeypatch.chdir(project)
    result = runner.invoke(app, ["train"])
    assert result.exit_code == 0, result.output
    run = ran(project)
    assert run["module"] == "__main__" and run["file"] == str(project / "flows" / "train.py")
    assert Path(run["cwd"]) == project
    assert run["argv"] == [] and run["quiet"] is None


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("code", [0, 1, 2])
def test_stage_runs_its_flow_module_and_passes_the_exit_code_on(project, stage, code):
    (project / "exit_code").write_text(str(code))
    result = runner.invoke(app, [stage, "--project", str(project)])
    assert result.exit_code == code
    assert ran(project)["file"] == str(project / "flows" / f"{stage}.py")


def test_a_sigterm_to_a_stage_command_reaches_the_stage(project):
    from tests.processes import running, wait_until

    (project / "sleep").write_text("")
    script = Path(sys.executable).parent / "attnlib"
    proc = subprocess.Popen([str(script), "train", "--project", str(project)])
    try:
        assert wait_until(lambda: (project / "stage.pid").exists(), 60), "no stage started"
        wait_until(lambda: (project / "stage.pid").read_text() != "", 5)
        stage = int((project / "stage.pid").read_text())
        proc.terminate()
        assert proc.wait(timeout=30) == 128 + 15  # the stage's end, passed on as the shell's
        assert wait_until(lambda: not running(stage), 10), "the stage runs on"
    finally:
        if proc.poll() is None:
            proc.kill()
        if (project / "stage.pid").exists() and (pid := (project / "stage.pid").read_text()):
            if running(int(pid)):
                os.kill(int(pid), 9)


def test_a_killed_stage_command_stops_the_stage(project):
    """``kill -9`` (or the OOM killer) ends `attnlib STAGE` with no chance to forward
    anything: the stage sees its owner gone and stops itself with a SIGTERM."""
    from tests.processes import running, wait_until

    (project / "sleep").write_text("")
    script = Path(sys.executable).parent / "attnlib"
    proc = subprocess.Popen([str(script), "train", "--project", str(project)])
    stage = None
    try:
        assert wait_until(lambda: (project / "stage.pid").exists(), 60), "no stage started"
        wait_until(lambda: (project / "stage.pid").read_text() != "", 5)
        stage = int((project / "stage.pid").read_text())
        time.sleep(0.5)
        assert running(stage)
        proc.kill()
        proc.wait(timeout=10)
        assert wait_until(lambda: not running(stage), 10), "the stage runs on"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if stage is not None and running(stage):
            os.kill(stage, 9)


def test_search_passes_its_options_on(project):
    args = ["search", "-p", str(project), "--workers", "2", "--storage", "sqlite:///x.db"]
    result = runner.invoke(app, [*args, "--first-worker", "2"])
    assert result.exit_code == 0, result.output
    assert ran(project)["argv"] == ["--workers=2", "--storage=sqlite:///x.db", "--first-worker=2"]
    assert runner.invoke(app, ["search", "-p", str(project), "--workers", "0"]).exit_code == 2


@pytest.mark.parametrize("flag", ["--quiet", "-q"])
def test_quiet_stage_logs_warnings_only_and_has_no_progress_bars(project, flag):
    result = runner.invoke(app, [flag, "evaluate", "--project", str(project)])
    assert result.exit_code == 0, result.output
    run = ran(project)
    assert run["quiet"] == "1" and run["level"] == "WARNING"


def test_quiet_also_from_the_environment(project, monkeypatch):
    monkeypatch.setenv("ATTNLIB_QUIET", "1")
    assert runner.invoke(app, ["export", "--project", str(project)]).exit_code == 0
    assert ran(project)["level"] == "WARNING" and ran(project)["quiet"] == "1"
    monkeypatch.setenv("ATTNLIB_QUIET", "0")  # not quiet: the stage must not see it set
    assert runner.invoke(app, ["export", "--project", str(project)]).exit_code == 0
    assert ran(project)["quiet"] is None


def test_quiet_suppresses_the_ingest_summary_line(tmp_path):
    src = tmp_path / "seqs.txt"
    src.write_text("a b c\nb c d\n")
    loud = runner.invoke(app, ["ingest", str(src), "--out", str(tmp_path / "a.parquet")])
    assert loud.exit_code == 0, loud.output
    assert loud.stdout == (
        f"read {src}: format auto -> seqlab_txt (a .txt file of whitespace-separated tokens)\n"
        f"2 sequences, 6 tokens -> {tmp_path / 'a.parquet'}\n"
    )
    assert loud.stderr == ""  # the spinner draws nothing when stderr is not a terminal
    for i, flag in enumerate(("--quiet", "-q")):
        out = tmp_path / f"b{flag}.parquet"
        args = ["ingest", str(src), "--out", str(out)]
        args = [flag, *args] if i == 0 else [*args, flag]  # before or after the command
        quiet = runner.invoke(app, args)
        assert quiet.exit_code == 0, quiet.output
        assert quiet.stdout == "" and quiet.stderr == ""
        assert out.exists()


def test_quiet_still_reports_errors(tmp_path):
    result = runner.invoke(app, ["-q", "ingest", str(tmp_path / "x.csv"), "--out", "o.parquet"])
    assert result.exit_code == 2
    assert result.stderr == f"error: {tmp_path / 'x.csv'}: file not found\n"


def test_an_error_message_stays_on_one_line(tmp_path):
    """A value quoted from the input may hold a line break; the message shows it escaped."""
    src = tmp_path / "l.csv"
    src.write_text('date,v\n2020-01,1\n2020-02,"4\n2"\n')
    result = runner.invoke(app, ["ingest", str(src), "--out", str(tmp_path / "o.parquet")])
    assert result.exit_code == 2
    assert result.stderr == f"error: {src}, line 3: column 'v': '4\\n2' is not a number\n"


@pytest.mark.parametrize("via_link", [False, True])
def test_the_input_is_never_the_output(tmp_path, via_link):
    """``-o`` naming the input (or a link to it) is refused before anything is read or
    written: the data would be replaced by the result."""
    src = tmp_path / "s.csv"
    src.write_text("tokens\na b c\n")
    out = src
    if via_link:
        out = tmp_path / "link.csv"
        out.symlink_to(src)
    result = runner.invoke(app, ["ingest", str(src), "--out", str(out)])
    assert result.exit_code == 2
    assert result.stderr == f"error: --out {out}: is the input file {src}; write to another file\n"
    assert src.read_text() == "tokens\na b c\n"
    result = runner.invoke(app, ["predict", str(tmp_path / "model"), str(src), "-o", str(out)])
    assert result.exit_code == 2 and "is the input file" in result.stderr


def word_model(path: Path, columns: dict | None = None, encoding: str = "") -> Path:
    """A tiny classify model over the words of "where is x?" (labels a, b), saved at
    ``path``; ``columns``: the names its training file held the text and label under;
    ``encoding``: the text encoding its training files were read with."""
    import torch

    from attnlib.config import ModelConfig
    from attnlib.models import build_model
    from attnlib.persistence import save_model
    from attnlib.vocab import Vocabulary

    cfg = ModelConfig(task="classify", vocab_size=6, num_classes=2, embedding_dim=8, hidden_dim=8)
    torch.manual_seed(0)
    extra = {
        "data": {"input": {"kind": "tokens", "text": {"tokenizer": "word", "lowercase": True}}}
    }
    named = {"columns": columns, "encoding": encoding}
    if trained := {key: value for key, value in named.items() if value}:
        extra["training_data"] = trained
    save_model(path, build_model(cfg).eval(), vocab=Vocabulary(["where", "is", "?", "x"]),
               label_map=["a", "b"], extra=extra)  # fmt: skip
    return path


def test_explain_shows_text_as_the_model_tokenised_it(tmp_path):
    word_model(tmp_path / "m")
    (tmp_path / "q.csv").write_text("text\nWhere is Denver?\n")
    result = runner.invoke(app, ["explain", str(tmp_path / "m"), str(tmp_path / "q.csv")])
    assert result.exit_code == 0, result.output
    shaded = result.output.splitlines()[1]
    # cells read "position:token" (a no-break space pads each)
    cells = [c.strip("\u00a0").split(":", 1)[1] for c in shaded.split(" ") if c.strip()]
    assert cells == ["where", "is", "denver", "?"]  # not "Denver?"


def test_explain_refuses_a_numeric_model_and_last_one_prediction_per_input(tmp_path):
    """explain shades tokens: a series model gets one line saying so, not a traceback; and
    --last on a model that makes one prediction per input is refused, not ignored."""
    import numpy as np
    import torch

    from attnlib.api import Model
    from attnlib.config import ModelConfig
    from attnlib.errors import DataError
    from attnlib.models import build_model
    from attnlib.persistence import save_model

    cfg = ModelConfig(
        task="classify", input_kind="numeric", input_dim=2, num_classes=2, hidden_dim=8
    )
    torch.manual_seed(0)
    save_model(tmp_path / "m", build_model(cfg).eval(), label_map=["a", "b"])
    (tmp_path / "s.csv").write_text("id,values\n")
    result = runner.invoke(app, ["explain", str(tmp_path / "m"), str(tmp_path / "s.csv")])
    assert result.exit_code == 2
    assert "explain shades tokens, and this model reads numeric series" in result.stderr
    series = [np.zeros((5, 2), dtype=np.float32)]
    with pytest.raises(DataError, match="this classify model makes one prediction per input"):
        Model(tmp_path / "m", engine="torch").predict(series, last=True)


def test_predict_scores_a_long_table_of_unlabelled_recordings_one_row_per_id(tmp_path):
    """A series classifier reads a long table whose ids repeat as its series, even with no
    label and no shared times (one new recording): ingest alone reads it as one series."""
    import numpy as np
    import polars as pl
    import torch

    from attnlib.config import ModelConfig
    from attnlib.models import build_model
    from attnlib.persistence import save_model
    from attnlib.scaling import Standardizer

    cfg = ModelConfig(task="classify", input_kind="numeric", input_dim=2, num_classes=2,
                      hidden_dim=8)  # fmt: skip
    torch.manual_seed(0)
    scaler = Standardizer.fit([np.random.default_rng(0).normal(size=(5, 2))])
    save_model(tmp_path / "m", build_model(cfg).eval(), label_map=["a", "b"],
               extra={"data": {"input": {"scaler": scaler.to_dict()}}})  # fmt: skip
    (tmp_path / "new.csv").write_text("id,step,x,y\nr1,0,0.1,0.2\nr1,1,0.3,0.1\nr1,2,0.2,0.0\n")
    out = tmp_path / "p.csv"
    result = runner.invoke(app, ["predict", str(tmp_path / "m"), str(tmp_path / "new.csv"),
                                 "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert pl.read_csv(out)["id"].to_list() == ["r1"]
    ingested = tmp_path / "i.csv"
    result = runner.invoke(app, ["ingest", str(tmp_path / "new.csv"), "-o", str(ingested)])
    assert result.exit_code == 0 and pl.read_csv(ingested).columns == ["time", "x", "y"]
    (tmp_path / "s.csv").write_text("subject,t,x,y\nr1,0,0.1,0.2\nr1,1,0.3,0.1\nr2,0,0,1\n")
    args = ["predict", str(tmp_path / "m"), str(tmp_path / "s.csv"), "-o", str(out)]
    result = runner.invoke(app, [*args, "--id-column", "subject"])  # the id by another name
    assert result.exit_code == 0, result.output
    assert pl.read_csv(out)["id"].to_list() == ["r1", "r2"]
    named = {
        "data": {"input": {"scaler": scaler.to_dict()}},
        "training_data": {"columns": {"id": "subject"}},
    }  # trained with ingest.id_column
    save_model(tmp_path / "m2", build_model(cfg).eval(), label_map=["a", "b"], extra=named)
    for name, ids in (("s.csv", ["r1", "r2"]), ("new.csv", ["r1"])):  # the model's name or id
        result = runner.invoke(app, ["predict", str(tmp_path / "m2"), str(tmp_path / name),
                                     "-o", str(out)])  # fmt: skip
        assert result.exit_code == 0, result.output
        assert pl.read_csv(out)["id"].to_list() == ids


def test_ingest_predict_and_explain_take_a_tables_column_names(tmp_path):
    """--text-column / --label-column read a table whose columns have other names: ingest
    writes them under the roles' names; predict scores the text and checks the labels;
    explain shades the named column."""
    import polars as pl

    src = tmp_path / "q.csv"
    src.write_text("question,kind\nWhere is Denver?,a\nIs x where?,b\n")
    names = ["--text-column", "question", "--label-column", "kind"]
    result = runner.invoke(app, ["ingest", str(src), "-o", str(tmp_path / "o.parquet"), *names])
    assert result.exit_code == 0, result.output
    assert "the text in column 'question', the label in 'kind'" in result.output
    raw = pl.read_parquet(tmp_path / "o.parquet")
    assert raw["text"].to_list() == ["Where is Denver?", "Is x where?"]
    assert raw["label"].to_list() == ["a", "b"]

    word_model(tmp_path / "m")
    out = tmp_path / "p.csv"
    args = ["predict", str(tmp_path / "m"), str(src), "-o", str(out), "--engine", "torch"]
    result = runner.invoke(app, [*args, *names])
    assert result.exit_code == 0, result.output
    scored = pl.read_csv(out)
    assert scored["actual"].to_list() == ["a", "b"]
    result = runner.invoke(app, args)  # without the names: one line saying what to name
    assert result.exit_code == 2 and "'question' holds the most words" in result.stderr
    result = runner.invoke(app, ["explain", str(tmp_path / "m"), str(src), *names[:2]])
    assert result.exit_code == 0, result.output
    assert ":denver" in result.output.replace("\u00a0", "")


def test_named_columns_on_standard_input_name_standard_input(tmp_path):
    out = str(tmp_path / "o.parquet")
    result = runner.invoke(app, ["ingest", "-", "-o", out, "--text-column", "x"],
                           input="a b c\nb c\n")  # fmt: skip
    assert result.exit_code == 2
    assert result.stderr.startswith("error: standard input: ingest.text_column / --text-column")


def test_predict_reads_new_files_with_the_columns_the_model_was_trained_on(tmp_path):
    """A model trained with ingest.text_column / label_column (its bundle's training_data
    says so) reads a new file with those names, or with the roles' own names, no flags."""
    import polars as pl

    word_model(tmp_path / "m", {"text": "question", "label": "kind"})
    files = {"same.csv": "question,kind\nWhere is x?,a\n", "own.csv": "text,label\nWhere is x?,b\n",
             "unlabelled.csv": "question\nIs x?\n"}  # fmt: skip
    for name, text in files.items():
        (tmp_path / name).write_text(text)
        out = tmp_path / f"{name}.parquet"
        args = ["predict", str(tmp_path / "m"), str(tmp_path / name), "-o", str(out)]
        result = runner.invoke(app, [*args, "--engine", "torch"])
        assert result.exit_code == 0, (name, result.output)
        scored = pl.read_parquet(out)
        assert scored.height == 1
        assert ("actual" in scored.columns) == (name != "unlabelled.csv"), name
    result = runner.invoke(app, ["info", str(tmp_path / "m")])
    assert "data:    columns: {'label': 'kind', 'text': 'question'}" in result.output


def test_a_flag_names_its_role_and_stored_names_never_block_other_inputs(tmp_path):
    """--label-column alone keeps the model's text column; the model's names are dropped
    for inputs without named columns (a SeqLab TXT, a built-in set) rather than refused."""
    import polars as pl

    word_model(tmp_path / "m", {"text": "question", "label": "kind"})
    (tmp_path / "g.csv").write_text("question,grade\nwhere is x,a\n")
    out = tmp_path / "g.parquet"
    args = ["predict", str(tmp_path / "m"), str(tmp_path / "g.csv"), "-o", str(out)]
    result = runner.invoke(app, [*args, "--engine", "torch", "--label-column", "grade"])
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out)["actual"].to_list() == ["a"]
    (tmp_path / "s.txt").write_text("kind\nwhere is x\n")  # a first token that is a stored name
    out = tmp_path / "s.parquet"
    args = ["predict", str(tmp_path / "m"), str(tmp_path / "s.txt"), "-o", str(out)]
    result = runner.invoke(app, [*args, "--engine", "torch"])
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out).height == 2


def test_predict_and_ingest_read_a_folder_of_text_files(tmp_path):
    import polars as pl

    word_model(tmp_path / "m")
    for name, text in {"a/q1.txt": "Where is x?", "b/q2.txt": "Is x where?"}.items():
        (tmp_path / "set" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "set" / name).write_text(text)
    out = tmp_path / "p.csv"
    args = ["predict", str(tmp_path / "m"), str(tmp_path / "set"), "-o", str(out)]
    result = runner.invoke(app, [*args, "--engine", "torch"])
    assert result.exit_code == 0, result.output
    scored = pl.read_csv(out)
    assert scored["id"].to_list() == ["a/q1.txt", "b/q2.txt"]
    assert scored["actual"].to_list() == ["a", "b"]
    raw = tmp_path / "o.parquet"
    result = runner.invoke(app, ["ingest", str(tmp_path / "set"), "-o", str(raw)])
    assert result.exit_code == 0, result.output
    assert "a folder of 2 text files in 2 class folders" in result.output
    assert pl.read_parquet(raw)["label"].to_list() == ["a", "b"]


def test_json_lines_on_standard_input_are_read_as_json(tmp_path):
    import polars as pl

    out = tmp_path / "o.parquet"
    given = '{"text": "a, b", "label": 1}\n{"text": "c", "label": 0}\n'  # commas: not a CSV
    result = runner.invoke(app, ["ingest", "-", "-o", str(out)], input=given)
    assert result.exit_code == 0, result.output
    assert "standard input: format auto -> jsonl" in result.output
    assert pl.read_parquet(out)["label"].to_list() == ["1", "0"]
    result = runner.invoke(app, ["ingest", "-", "-o", str(out)], input='[ {"text": "a b"} ]')
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out)["tokens"].to_list() == [["a", "b"]]
    result = runner.invoke(app, ["ingest", "-", "-o", str(out)], input="[CLS] a b\n[CLS] c\n")
    assert result.exit_code == 0, result.output  # SeqLab lines opening with [ stay SeqLab
    assert "format auto -> seqlab_txt" in result.output


def test_standard_input_json_guesses_and_their_override(tmp_path):
    import polars as pl

    out = str(tmp_path / "o.parquet")
    pretty = '{\n  "text": "a b",\n  "label": 1\n}\n'  # json.dumps(..., indent=2)
    result = runner.invoke(app, ["ingest", "-", "-o", out], input=pretty)
    assert result.exit_code == 0, result.output  # one object: one row
    assert pl.read_parquet(out)["tokens"].to_list() == [["a", "b"]]
    result = runner.invoke(app, ["ingest", "-", "-o", out], input=pretty * 2)
    assert result.exit_code == 2
    assert "a pretty-printed object spans lines" in result.stderr
    bom = '\ufeff{"text": "a, b", "label": 1}\n{"text": "c", "label": 0}\n'
    result = runner.invoke(app, ["ingest", "-", "-o", out], input=bom)
    assert result.exit_code == 0, result.output
    assert "format auto -> jsonl" in result.output
    code = "[ { x = 1 } ]\n[ y ]\n"  # taken for JSON; --format says otherwise
    result = runner.invoke(app, ["ingest", "-", "-o", out, "--format", "seqlab_txt"], input=code)
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out)["tokens"].to_list() == [["[", "{", "x", "=", "1", "}", "]"],
                                                        ["[", "y", "]"]]  # fmt: skip


def test_a_format_given_names_gzip_on_standard_input_and_a_split_folder_predicts(tmp_path):
    import gzip

    import polars as pl

    out = str(tmp_path / "o.parquet")
    given = gzip.compress(b"text,label\na b,x\nc,y\n")
    result = runner.invoke(app, ["ingest", "-", "-o", out, "--format", "csv"], input=given)
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out)["label"].to_list() == ["x", "y"]

    word_model(tmp_path / "m")
    for name in ("train/a/1.txt", "train/b/2.txt", "test/a/3.txt", "test/b/4.txt"):
        (tmp_path / "set" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "set" / name).write_text("Where is x?")
    scored = tmp_path / "p.csv"
    args = ["predict", str(tmp_path / "m"), str(tmp_path / "set"), "-o", str(scored)]
    result = runner.invoke(app, [*args, "--engine", "torch"])
    assert result.exit_code == 0, result.output
    assert pl.read_csv(scored)["id"].to_list() == ["train/a/1.txt", "train/b/2.txt",
                                                   "test/a/3.txt", "test/b/4.txt"]  # fmt: skip
    result = runner.invoke(app, ["explain", str(tmp_path / "m"), str(tmp_path / "set"),
                                 "--row", "3"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert ":where" in result.output.replace("\u00a0", "")
