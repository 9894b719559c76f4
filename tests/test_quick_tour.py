"""The README's quick tour, as written, in a fresh ``bash``, against a tiny project.

The ```bash block of the "Quick tour" section runs line by line as a new user pastes it
(``set -e``: a command not found or failing fails the test), after ``make repro`` —
replaced by what that target runs (``python -m flows.server run -- dvc repro``), as the
tiny project has no Makefile set-up to do. The project's ``.venv`` is the environment the
tests run in (a link), the project code the tiny copy's (``PYTHONPATH``). The Prefect
server the tour starts binds 127.0.0.1 on a free port, lives in the project, and is
stopped by its PID.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bench.project import copy_project
from flows.server import free_port, stop_server

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
TINY = {
    "ingest": {"limit": 6, "workers": 1},
    "split": {"val": 0.2, "test": 0.2},
    "search": {"n_trials": 2, "epochs": 1},
    "train": {"epochs": 2, "min_steps": 0, "hidden_dim": 16, "embedding_dim": 16},
    "evaluate": {"ngram_orders": [1, 2, 3], "heatmaps": 1},
}
MAKE_REPRO = 'PATH="$PWD/.venv/bin:$PATH" .venv/bin/python -m flows.server run -- dvc repro'


def quick_tour() -> list[str]:
    """The command lines of the README's quick-tour bash block, as written."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## Quick tour", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


def test_the_readme_tour_activates_before_the_tools():
    lines = [line.split("#")[0].split() for line in quick_tour()]
    first_tool = next(i for i, w in enumerate(lines) if w[0] in ("dvc", "attnlib", "prefect"))
    activate = next(i for i, w in enumerate(lines) if w[:2] == ["source", ".venv/bin/activate"])
    assert activate < first_tool


def test_the_quick_tour_runs_as_written(tmp_path):
    path = tmp_path / "project"
    copy_project(path)
    params = yaml.safe_load((path / "params.yaml").read_text())
    for section, values in TINY.items():
        params[section].update(values)
    (path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (path / ".venv").symlink_to(sys.prefix)  # `make install` made it; here: the tests' venv
    (tmp_path / "home").mkdir()
    fresh = {k: v for k, v in os.environ.items()  # a new terminal: nothing of ours set
             if not k.startswith(("PREFECT_", "ATTNLIB_", "VIRTUAL_ENV", "PYTHON"))}  # fmt: skip
    fresh["PATH"] = ":".join(p for p in fresh["PATH"].split(":") if not p.startswith(sys.prefix))
    fresh.update(HOME=str(tmp_path / "home"), PYTHONPATH=str(path),
                 ATTNLIB_PREFECT_PORT=str(free_port()), OMP_NUM_THREADS="1",
                 GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
                 GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")  # fmt: skip
    lines = [MAKE_REPRO if line.split()[:2] == ["make", "repro"] else line for line in quick_tour()]
    script = "set -e\ngit init -q -b main && git add -A && git commit -q -m tiny\n"
    script += "".join(f"echo '+ {i}'\n{line}\n" for i, line in enumerate(lines))
    try:
        bash = ["bash", "--norc", "--noprofile", "-c", script]
        result = subprocess.run(bash, cwd=path, env=fresh, capture_output=True, text=True,
                                timeout=1800)  # fmt: skip
    finally:
        state = path / ".prefect/server.json"
        if state.is_file():
            stop_server(json.loads(state.read_text())["pid"])
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-6000:]
    assert "command not found" not in out and "Traceback" not in out
    assert "Starting temporary server" not in out and "telemetry" not in out.lower()

    # what the tour leaves behind tells the truth
    status = subprocess.run(["git", "status", "--porcelain"], cwd=path, env=fresh,
                            capture_output=True, text=True).stdout  # fmt: skip
    assert "dvc_plots" not in status  # `dvc plots show` wrote it; .gitignore keeps it out
    assert (path / "dvc_plots/index.html").is_file()
    plots = plot_names(path, fresh)
    curves = [p for p in plots if "learning" in p.lower() or "dvclive" in p or "loss" in p]
    assert curves == ["Learning curves"]  # once, not also per dvclive file or as a PNG
    assert "plots/evaluate/confusion.png" in plots
    assert not [p for p in plots if "forecast" in p]  # next_state: no placeholder picture
    meta = json.loads((path / "models/model/model.json").read_text())
    assert "num_classes" not in meta["model_config"] and meta["train_config"]["amp"] is False
    assert "best_epoch" not in meta["metrics"]["history"]
    preds = (path / "preds.csv").read_text().splitlines()
    assert len(preds) == 2 and preds[0].startswith("id,step,")  # --last: one row


def plot_names(path: Path, env: dict) -> list[str]:
    """The plots ``dvc plots show`` draws, by name."""
    show = subprocess.run([f"{sys.prefix}/bin/dvc", "plots", "show", "--json"], cwd=path,
                          env=env, capture_output=True, text=True, check=True)  # fmt: skip
    return list(json.loads(show.stdout)["data"])
