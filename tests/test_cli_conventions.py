"""The ``attnlib`` command as a new user meets it: options anywhere, one-line errors,
files in and out (links, directories, formats, standard input), info, --last, --strict."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import polars as pl
import pytest
from typer.testing import CliRunner

from attnlib.cli import app
from attnlib.encoding import KIND_WORDS
from tests.attnlib.test_api import series_bundle, token_bundle
from tests.test_cli import project, ran  # noqa: F401 - a project whose stages record their run

runner = CliRunner()
SEQS = "C G Am\nF C G F\n"


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The command in its own process, as a shell runs it."""
    return subprocess.run([sys.executable, "-m", "attnlib.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


@pytest.fixture
def bundle(tmp_path):
    return token_bundle(tmp_path / "model")


@pytest.fixture
def seqs(tmp_path):
    path = tmp_path / "seqs.txt"
    path.write_text(SEQS)
    return path


def test_version_and_short_help():
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("attnlib 0.")
    for args in (["-h"], ["predict", "-h"]):
        result = cli(*args)
        assert result.returncode == 0 and result.stdout.startswith("Usage: attnlib")


def test_help_shows_no_bool_placeholders_and_full_format_lists():
    text = cli("predict", "-h").stdout
    assert "<bool>" not in text and "╭" not in text
    from attnlib.datasets import FORMATS

    assert ", ".join(FORMATS) in " ".join(text.split())


def test_a_usage_error_is_one_line_with_a_hint():
    result = cli("predict")
    assert result.returncode == 2
    assert (
        result.stderr
        == "error: Missing argument 'bundle'.  (`attnlib predict -h` shows the usage)\n"
    )


def test_quiet_after_the_command(bundle, seqs, tmp_path):
    out = tmp_path / "p.parquet"
    result = runner.invoke(app, ["predict", str(bundle), str(seqs), "--out", str(out),
                                 "--engine", "torch", "-q"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and out.is_file()


def test_out_through_a_symbolic_link_keeps_the_link(bundle, seqs, tmp_path):
    target = tmp_path / "t" / "preds.csv"
    target.parent.mkdir()
    link = tmp_path / "preds.csv"
    link.symlink_to(target)
    result = runner.invoke(app, ["predict", str(bundle), str(seqs), "-o", str(link),
                                 "--engine", "torch"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and os.readlink(link) == str(target)
    rows = pl.read_csv(target)
    assert rows.height == 7  # one row per step: 3 + 4
    names = {"C", "G", "Am", "F", "D-major triad", "<pad>", "<unk>"}
    assert set(json.loads(rows["top_k"][0])) <= names  # a JSON array, read back whole


@pytest.mark.parametrize(
    "out, message", [("adir", "is a directory"), ("p.json", "unknown output format")]
)
def test_bad_out_is_one_line_and_exit_2(bundle, seqs, tmp_path, out, message):
    (tmp_path / "adir").mkdir()
    result = cli("predict", str(bundle), str(seqs), "--out", str(tmp_path / out))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr
    assert "Traceback" not in result.stderr


def test_last_unknown_share_and_strict(bundle, seqs, tmp_path):
    src = tmp_path / "mixed.txt"
    src.write_text("C G Bb Eb\n")
    out = tmp_path / "p.jsonl"
    result = cli("predict", str(bundle), str(src), "--out", str(out), "--last", "--engine", "torch")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("warning: 50% of the tokens are unknown")
    rows = pl.read_ndjson(out)
    assert rows.height == 1 and rows["step"].to_list() == [3]
    strict = cli("predict", str(bundle), str(src), "--out", str(out), "--strict")
    assert strict.returncode == 2 and strict.stderr.startswith("error: 50% of the tokens")


def test_predict_reads_standard_input(bundle, tmp_path):
    out = tmp_path / "p.parquet"
    result = cli("predict", str(bundle), "-", "--out", str(out), "--engine", "torch", stdin=SEQS)
    assert result.returncode == 0, result.stderr
    assert pl.read_parquet(out)["id"].unique(maintain_order=True).to_list() == ["line1", "line2"]


def test_an_error_in_standard_input_names_it_not_its_temporary_copy(tmp_path):
    result = cli("ingest", "-", "--out", str(tmp_path / "r.csv"), stdin="C G\na <pad> b\n")
    assert result.returncode == 2 and not (tmp_path / "r.csv").exists()
    assert result.stderr == (
        "error: standard input, line 2: the token '<pad>' is reserved for padding; rename it\n"
    )


def test_ingest_says_what_it_detected_and_counts_in_its_unit(tmp_path):
    result = cli("ingest", "-", "--out", str(tmp_path / "r.csv"), stdin=SEQS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "read standard input: format auto -> seqlab_txt "
        "(a .txt file of whitespace-separated tokens)",
        f"2 sequences, 7 tokens -> {tmp_path / 'r.csv'}",
    ]
    long = tmp_path / "load.csv"
    long.write_text("date,load\n" + "".join(f"2024-01-{d:02d},{d}.5\n" for d in range(1, 11)))
    result = cli("ingest", str(long), "--out", str(tmp_path / "l.parquet"))
    assert result.stdout.splitlines()[1].startswith("1 series of 10 time steps, 1 channel ->")


def test_chords_with_spaces_through_the_separator(tmp_path):
    src = tmp_path / "chords.txt"
    src.write_text("D-major triad|G-major triad|A-major triad\n")
    result = cli("ingest", str(src), "--sep", "|", "--out", str(tmp_path / "r.parquet"))
    assert result.returncode == 0, result.stderr
    tokens = pl.read_parquet(tmp_path / "r.parquet")["tokens"].to_list()
    assert tokens == [["D-major triad", "G-major triad", "A-major triad"]]


def test_info_shows_the_model(bundle):
    result = runner.invoke(app, ["info", str(bundle)])
    assert result.exit_code == 0, result.output
    assert "task:    next_state" in result.stdout
    assert "input:   token sequences" in result.stdout
    assert "vocabulary: 7 entries" in result.stdout and "'D-major triad'" in result.stdout
    assert "test metrics: accuracy 0.25" in result.stdout
    assert "data:    source: chords.txt" in result.stdout


def test_explain_shows_positions_and_keeps_tokens_whole(bundle, tmp_path):
    src = tmp_path / "chords.txt"
    src.write_text("|".join(["D-major triad", "C", "G"] * 8) + "\n")
    result = subprocess.run(
        [sys.executable, "-m", "attnlib.cli", "explain", str(bundle), str(src), "--sep", "|"],
        capture_output=True, text=True, env={**os.environ, "COLUMNS": "40"}, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "1:D-major\u00a0triad" in result.stdout and "24:G" in result.stdout
    assert "position" in result.stdout


def test_project_option_before_the_command(project):  # noqa: F811
    result = runner.invoke(app, ["-p", str(project), "-q", "train"])
    assert result.exit_code == 0, result.output
    assert ran(project)["cwd"] == str(project) and ran(project)["quiet"] == "1"


def test_a_numeric_file_given_to_a_token_model_is_named(bundle, tmp_path):
    src = tmp_path / "gun.tsv"
    src.write_text("1\t-0.64\t-0.65\t-0.66\n2\t-0.77\t-0.78\t-0.79\n")
    result = cli("predict", str(bundle), str(src), "--out", str(tmp_path / "p.parquet"))
    assert result.returncode == 2
    tokens, series = KIND_WORDS["tokens"], KIND_WORDS["series"]
    assert result.stderr == f"error: this model takes {tokens}; {src} holds {series}\n"
    numeric = series_bundle(tmp_path / "s")
    seqs = tmp_path / "s.txt"
    seqs.write_text(SEQS)
    result = cli("predict", str(numeric), str(seqs), "--out", str(tmp_path / "p.parquet"))
    assert result.stderr == f"error: this model takes {series}; {seqs} holds {tokens}\n"
