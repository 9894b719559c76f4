"""The nightly deployment: the whole pipeline as one Prefect flow named ``train``.

``prefect deployment run train/nightly`` (or the cron schedule in prefect.yaml) runs this
on a worker of the ``local`` pool, in the project directory the deployment was made from.
It runs ``dvc exp run --name nightly-<UTC time> [-S key=value ...]``: DVC reruns only the
stale stages (as ``dvc repro`` would), updates ``dvc.lock`` and records the run as an
experiment, so ``dvc exp show`` and ``dvc metrics diff`` compare it with earlier nights.
Each stage is its own flow run on the same Prefect API (``PREFECT_API_URL`` is passed on),
so the ``gpu`` tag limit applies to its training task. The flow returns the recorded
metrics and shows them as the ``nightly-metrics`` artifact in the UI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from attnlib.errors import ConfigError

DEFAULT_NAME = "nightly-{now:%Y%m%d-%H%M%S}"  # {now}: the run's start, UTC


class PipelineError(RuntimeError):
    """``dvc exp run`` (or reading its result) failed; the message ends with its output."""


def experiment_name(template: str, now: datetime) -> str:
    """The experiment name from its template, e.g. ``nightly-{now:%Y%m%d-%H%M%S}``."""
    try:
        name = template.format(now=now)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"parameter 'experiment': bad template {template!r} ({exc}); "
            "the only field is {now}, e.g. nightly-{now:%Y%m%d}"
        ) from None
    if not name or any(c in name for c in " ~^:?*[\\") or ".." in name:
        raise ConfigError(f"parameter 'experiment': {name!r} is not a valid git ref name")
    return name


def set_args(set_params: dict[str, Any] | None) -> list[str]:
    """``{"train.epochs": 5}`` -> ``["-S", "train.epochs=5"]``; non-strings as JSON."""
    args = []
    for key, value in (set_params or {}).items():
        text = value if isinstance(value, str) else json.dumps(value)
        args += ["-S", f"{key}={text}"]
    return args


def experiment_metrics(show: list[dict], name: str) -> dict[str, dict]:
    """Metrics per file of experiment ``name`` in ``dvc exp show --json`` output."""
    for baseline in show:
        for exp in baseline.get("experiments") or []:
            for rev in exp.get("revs") or []:
                if rev.get("name") == name:
                    files = (rev.get("data") or {}).get("metrics") or {}
                    return {path: body.get("data", {}) for path, body in files.items()}
    raise PipelineError(f"experiment {name!r} is not in `dvc exp show`")


def _env() -> dict[str, str]:
    """The worker's environment, the venv first on PATH, the stages on this flow's API."""
    from prefect.settings import get_current_settings

    env = {k: v for k, v in os.environ.items() if k != "PREFECT__FLOW_RUN_ID"}  # not this run
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    url = get_current_settings().api.url
    if url:
        env["PREFECT_API_URL"] = url
    return env


def _dvc(*args: str, cwd: Path, log: bool = False) -> str:
    """Run ``dvc ARGS`` in ``cwd``; each output line to the run log if ``log``."""
    cmd = [sys.executable, "-m", "dvc", *args]
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, bufsize=1,
    )  # fmt: skip
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if log and line.strip():
            get_run_logger().info(line.rstrip())
    if proc.wait() != 0:
        tail = "".join(lines[-40:])
        raise PipelineError(f"dvc {' '.join(args)} exited {proc.returncode}:\n{tail}")
    return "".join(lines)


@task
def check_project(root: Path) -> None:
    """A DVC project in a git repository with at least one commit (``dvc exp run`` needs it)."""
    if not (root / "dvc.yaml").is_file() or not (root / ".dvc").is_dir():
        raise ConfigError(f"{root}: not a DVC project (no dvc.yaml / .dvc); deploy from its root")
    head = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "HEAD"], cwd=root, capture_output=True
    )
    if head.returncode != 0:
        raise ConfigError(
            f"{root}: DVC experiments need a git repository with a commit: "
            "git init && git add -A && git commit -m 'initial commit'"
        )


@task
def run_experiment(root: Path, name: str, set_params: dict[str, Any] | None) -> None:
    """``dvc exp run --name NAME [-S ...]``: the stale stages, recorded as an experiment."""
    _dvc("exp", "run", "--name", name, *set_args(set_params), cwd=root, log=True)


@task
def recorded_metrics(root: Path, name: str) -> dict[str, dict]:
    """The metrics DVC recorded for the experiment (read back from ``dvc exp show``)."""
    return experiment_metrics(json.loads(_dvc("exp", "show", "--json", cwd=root)), name)


def metrics_markdown(name: str, metrics: dict[str, dict]) -> str:
    rows = [f"# {name}", "", "| file | metric | value |", "|---|---|---|"]

    def walk(path: str, prefix: str, data: Any) -> None:
        if isinstance(data, dict):
            for key, value in data.items():
                walk(path, f"{prefix}{key}.", value)
        else:
            value = f"{data:.4g}" if isinstance(data, float) else data
            rows.append(f"| {path} | {prefix[:-1]} | {value} |")

    for path, data in metrics.items():
        walk(path, "", data)
    return "\n".join(rows)


@flow(name="train")
def nightly(set_params: dict[str, Any] | None = None, experiment: str = DEFAULT_NAME) -> dict:
    """Bring the pipeline up to date and record the run as a DVC experiment.

    Args:
        set_params: params.yaml overrides for this run, e.g. ``{"train.epochs": 5}``
            (``dvc exp run -S key=value``; they stay in the workspace's params.yaml).
        experiment: the experiment's name; ``{now}`` is the start time in UTC.

    Returns:
        ``{"experiment": NAME, "metrics": {file: metrics}}`` as recorded by DVC.
    """
    root = Path.cwd()
    name = experiment_name(experiment, datetime.now(timezone.utc))
    check_project(root)
    get_run_logger().info("dvc exp run --name %s in %s", name, root)
    run_experiment(root, name, set_params)
    metrics = recorded_metrics(root, name)
    create_markdown_artifact(
        metrics_markdown(name, metrics), key="nightly-metrics", description=f"DVC {name}"
    )
    get_run_logger().info("%s: %s", name, json.dumps(metrics))
    return {"experiment": name, "metrics": metrics}


if __name__ == "__main__":
    nightly()
