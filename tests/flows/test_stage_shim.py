"""``sh flows/stage.sh STAGE``: the stage command of dvc.yaml finds a Python with our
packages, or stops at once with one line saying what to do."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
BARE_PATH = "/usr/bin:/bin"  # no venv: `python` missing or without polars / prefect / torch


def _bare_python_lacks_our_packages() -> bool:
    probe = subprocess.run(["sh", "-c", "python -c 'import polars, prefect, torch'"],
                           env={"PATH": BARE_PATH}, capture_output=True)  # fmt: skip
    return probe.returncode != 0


def shim_project(tmp_path: Path) -> Path:
    (tmp_path / "flows").mkdir()
    shutil.copy(ROOT / "flows/stage.sh", tmp_path / "flows/stage.sh")
    (tmp_path / "flows/__init__.py").write_text("")
    (tmp_path / "flows/hello.py").write_text("import sys\nprint(sys.executable, *sys.argv[1:])\n")
    return tmp_path


def test_every_dvc_stage_runs_through_the_shim():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert {name: s["cmd"] for name, s in stages.items()} == {
        name: f"sh flows/stage.sh {name}" for name in stages
    }


def test_without_our_packages_it_stops_with_one_line(tmp_path):
    assert _bare_python_lacks_our_packages()
    project = shim_project(tmp_path)
    result = subprocess.run(["sh", "flows/stage.sh", "hello"], cwd=project,
                            env={"PATH": BARE_PATH}, capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: stage hello: no python here has the project's")
    assert "source .venv/bin/activate" in result.stderr


def test_the_project_venv_is_used_when_the_shell_has_none(tmp_path):
    project = shim_project(tmp_path)
    (project / ".venv").symlink_to(sys.prefix)  # the environment the tests run in
    result = subprocess.run(["sh", "flows/stage.sh", "hello", "--x"], cwd=project,
                            env={"PATH": BARE_PATH}, capture_output=True, text=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    executable, *args = result.stdout.split()
    assert executable == str(project / ".venv/bin/python") and args == ["--x"]
