"""The ``attnlib`` commands that act on a project directory: the pipeline stages
(``train``, ``search``, ``evaluate``, ``export``: ``python -m flows.<stage>`` run there, as
``dvc repro`` does, passing its exit code on) and ``report``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Annotated

import typer

from attnlib.cli_group import QUIET_ENV, quiet, say, user_errors
from attnlib.errors import ConfigError, DataError
from attnlib.processes import owned_env

ProjectOption = Annotated[
    Path,
    typer.Option(
        "--project",
        "-p",
        help="the project directory (params.yaml, dvc.yaml, data/); default: here",
        file_okay=False,
    ),
]


def run_stage(stage: str, project: Path, args: list[str] | None = None) -> int:
    """Run ``python -m flows.<stage> ARGS`` in ``project``; return its exit code.

    Raises:
        DataError: ``project`` is not a directory.
        ConfigError: it has no params file (``params.yaml``, or ``$ATTNLIB_PARAMS``).
    """
    if not project.is_dir():
        raise DataError(f"{project}: project directory not found")
    params = project / os.environ.get("ATTNLIB_PARAMS", "params.yaml")
    if not params.is_file():
        raise ConfigError(
            f"{params}: params file not found (run in a project directory or give --project)"
        )
    # "0" would count as set; a stage this command starts stops when it is killed
    env = owned_env({k: v for k, v in os.environ.items() if k != QUIET_ENV})
    if quiet():
        env.update(PREFECT_LOGGING_LEVEL="WARNING", **{QUIET_ENV: "1"})
    # attnlib never imports prefect or flows: the stage is its own process, as under DVC
    proc = subprocess.Popen([sys.executable, "-m", f"flows.{stage}", *(args or [])],
                            cwd=project, env=env)  # fmt: skip
    with _forward_sigterm(proc):  # a SIGTERM to `attnlib STAGE` reaches the stage
        try:
            code = proc.wait()
        except KeyboardInterrupt:  # the stage got the same Ctrl-C; let it finish cleaning up
            code = proc.wait()
    return 128 - code if code < 0 else code  # killed by a signal: the shell's 128 + N


@contextlib.contextmanager
def _forward_sigterm(proc: subprocess.Popen):
    """While the stage runs, a SIGTERM to this process is passed on to it (which then
    stops as under ``dvc repro``: its workers too) instead of ending this process alone and
    leaving the stage running. Only in the main thread, where handlers can be set."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: proc.send_signal(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _stage_command(stage: str, what: str):
    @user_errors
    def command(project: ProjectOption = Path(".")) -> None:
        raise typer.Exit(run_stage(stage, project))

    command.__doc__ = f"Run the {stage} stage of a project: {what}.\n\n{_STAGE_HELP % stage}"
    return command


_STAGE_HELP = (
    "Runs `python -m flows.%s` in the project directory as `dvc repro` does, without DVC's "
    "dependency checks or dvc.lock, and exits with its exit code (2 on a user mistake)."
)


@user_errors
def search(
    project: ProjectOption = Path("."),
    workers: Annotated[int, typer.Option(min=1, help="worker processes on this machine")] = 1,
    storage: Annotated[
        str, typer.Option(help="Optuna storage URL (overrides search.storage in params.yaml)")
    ] = "",
    first_worker: Annotated[
        int,
        typer.Option(min=0, help="this machine's first worker index when machines share a study"),
    ] = 0,
) -> None:
    """Run the search stage (see the help above)."""
    args = [f"--workers={workers}"] if workers != 1 else []
    args += [f"--storage={storage}"] if storage else []
    args += [f"--first-worker={first_worker}"] if first_worker else []
    raise typer.Exit(run_stage("search", project, args))


@user_errors
def report(
    project: ProjectOption = Path("."),
    experiments: Annotated[
        bool, typer.Option("--experiments", help="add the experiments `dvc exp show` knows")
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="HTML file (default: PROJECT/report.html)")
    ] = None,
) -> None:
    """Build one self-contained HTML page (works offline) from a project's outputs."""
    from rich.console import Console

    from attnlib.report import write_report
    from attnlib.report_project import build_report

    if not project.is_dir():
        raise DataError(f"{project}: project directory not found")
    status = Console(stderr=True).status(f"building the report of {project} ...")
    with contextlib.nullcontext() if quiet() else status:
        exps = dvc_experiments(project) if experiments else None
        html = build_report(project, experiments=exps)
    say(f"report -> {write_report(out or project / 'report.html', html)}")


def dvc_experiments(project: Path) -> list:
    """``dvc exp show --json`` in ``project``, parsed (DVC runs as its own process: attnlib
    never imports it). Raises DataError when DVC fails there."""
    import json

    proc = subprocess.run([sys.executable, "-m", "dvc", "exp", "show", "--json"], cwd=project,
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        why = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise DataError(f"{project}: `dvc exp show` failed (is it a DVC project?): {why}")
    try:
        return json.loads(proc.stdout or "[]")
    except json.JSONDecodeError as exc:
        raise DataError(f"{project}: `dvc exp show --json` gave no JSON ({exc})") from None


def register(app: typer.Typer) -> None:
    """Add the project commands to ``app``."""
    app.command("train")(
        _stage_command("train", "fit the model on the train split (resumes from checkpoints/)")
    )
    app.command(
        "search",
        help="Run the search stage of a project: tune the train params on train / val.\n\n"
        + _STAGE_HELP % "search",
    )(search)
    app.command("evaluate")(
        _stage_command("evaluate", "score the model on the test split, with baselines and plots")
    )
    app.command("export")(
        _stage_command("export", "write the export/ bundle (safetensors, JSON, ONNX, model card)")
    )
    app.command("report")(report)
