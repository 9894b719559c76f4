"""The ``attnlib`` command. A user mistake is one line on stderr and exit code 2.

Pipeline stages (``train``, ``search``, ``evaluate``, ``export``) run ``python -m
flows.<stage>`` in a project directory, as ``dvc repro`` does, and pass its exit code on.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from attnlib.errors import AttnlibError, ConfigError, DataError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="The attnlib command: data sets, ingest, pipeline stages, prediction. A user mistake "
    "is one line on stderr and exit code 2.",
)

QUIET_ENV = "ATTNLIB_QUIET"  # set for a stage run with --quiet: no progress bars


@app.callback()
def _options(
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet",
            "-q",
            envvar=QUIET_ENV,
            help="no progress bars or summary lines; stages log warnings and errors only",
        ),
    ] = False,
) -> None:
    """Options that apply to every command (give them before the command's name)."""
    _options_given.update(quiet=quiet)  # runs before the command, on every invocation


_options_given = {"quiet": False}


def _quiet() -> bool:
    return _options_given["quiet"]


def _say(message: str) -> None:
    """A summary line on stdout, unless --quiet."""
    if not _quiet():
        typer.echo(message)


def user_errors(fn):
    """Turn an :class:`AttnlibError` into ``error: <message>`` and its exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AttnlibError as exc:  # one line, also when a quoted value holds a line break
            typer.echo(f"error: {exc.one_line()}", err=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


@app.command()
def version() -> None:
    """Print the attnlib version."""
    from importlib.metadata import version as v

    typer.echo(v("attnlib"))


@app.command()
@user_errors
def datasets() -> None:
    """List the built-in data sets (all offline, from installed packages)."""
    from attnlib.datasets import BUILTINS

    for info in BUILTINS.values():
        typer.echo(f"builtin:{info.name:<22} {info.task:<12} {info.source:<10} {info.description}")


@app.command()
@user_errors
def predict(
    bundle: Annotated[Path, typer.Argument(help="an export/ bundle or a model directory")],
    input: Annotated[
        Path | None, typer.Argument(help="sequences: Parquet, CSV, TSV or TXT")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Parquet or CSV file to write")
    ] = None,
    format: Annotated[str, typer.Option(help="input format: auto, seqlab_txt, csv, ...")] = "auto",
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="how many states / classes")] = 5,
    attention: Annotated[bool, typer.Option("--attention", help="add attention weights")] = False,
    engine: Annotated[str, typer.Option(help="onnx (ONNX Runtime) or torch (eager)")] = "onnx",
    stream: Annotated[
        bool,
        typer.Option(
            "--stream",
            help="next-state: read tokens from stdin as they come (blank line = new sequence), "
            "print the top-k next states after each",
        ),
    ] = False,
) -> None:
    """Score every sequence in INPUT with a trained model; write one row per prediction."""
    from attnlib.datasets import read_source
    from attnlib.io import atomic_path
    from attnlib.predict import Predictor, predict_frame

    predictor = Predictor(bundle, engine=engine)
    if stream:
        from attnlib.stream import stream_lines

        stream_lines(predictor.stream(), predictor.meta.vocab, sys.stdin,
                     lambda line: print(line, flush=True), top_k=top_k)  # fmt: skip
        return
    if input is None or out is None:
        raise ConfigError("predict needs INPUT and --out (or --stream to read tokens from stdin)")
    frame = read_source(str(input), format)
    result = predict_frame(predictor, frame, top_k=top_k, attention=attention)
    with atomic_path(out, suffix=out.suffix) as tmp:
        if out.suffix == ".csv":
            lists = [
                c for c, t in result.schema.items() if isinstance(t, type(result.schema["top_k"]))
            ]
            result.with_columns(result[c].cast(list[str]).list.join(" ") for c in lists).write_csv(
                tmp
            )
        else:
            result.write_parquet(tmp)
    scored = result["correct"].drop_nulls() if "correct" in result.columns else None
    msg = f"{result.height} predictions -> {out}"
    if scored is not None and len(scored):
        msg += f" (accuracy on known next states: {scored.mean():.4f})"
    _say(msg)


@app.command()
@user_errors
def ingest(
    source: Annotated[str, typer.Argument(help="builtin:NAME or a file path")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write")],
    format: Annotated[str, typer.Option(help="auto, seqlab_txt, seqlab_csv, csv, ...")] = "auto",
    limit: Annotated[int, typer.Option(min=0, help="keep the first N sequences (0 = all)")] = 0,
    max_length: Annotated[
        int,
        typer.Option(min=0, help="a sequence longer than N steps is an error (0 = no limit)"),
    ] = 0,
) -> None:
    """Read SOURCE, validate it and write the normalised table (the ingest stage alone)."""
    from rich.console import Console

    from attnlib.datasets import read_source
    from attnlib.io import write_parquet_atomic

    # a transient spinner on stderr: gone when done, nothing at all when not a terminal
    status = Console(stderr=True).status(f"reading {source} ...")
    with contextlib.nullcontext() if _quiet() else status:
        frame = read_source(source, format, limit=limit or None, max_length=max_length or None)
    write_parquet_atomic(out, frame)
    _say(f"{frame.height} sequences -> {out}")


@app.command()
@user_errors
def explain(
    bundle: Annotated[Path, typer.Argument(help="an export/ bundle or a model directory")],
    input: Annotated[Path, typer.Argument(help="sequences: Parquet, CSV, TSV or TXT")],
    row: Annotated[int, typer.Option(min=1, help="which sequence (1-based)")] = 1,
    format: Annotated[str, typer.Option(help="input format")] = "auto",
    top_k: Annotated[int, typer.Option("--top-k", min=1)] = 3,
) -> None:
    """Print one sequence with each token shaded by the attention the prediction paid it."""
    from rich.console import Console
    from rich.text import Text

    from attnlib.datasets import read_source
    from attnlib.errors import DataError
    from attnlib.predict import Predictor, predict_frame, text_spec
    from attnlib.tokenize import retokenize

    frame = read_source(str(input), format)
    if row > frame.height:
        raise DataError(f"{input}: has {frame.height} sequences, no row {row}")
    predictor = Predictor(bundle)
    one = retokenize(frame.slice(row - 1, 1), text_spec(predictor.meta))  # shown as scored
    result = predict_frame(predictor, one, top_k=top_k, attention=True)
    last = result.row(result.height - 1, named=True)  # next_state: after the last token
    tokens = one["tokens"][0].to_list()[: len(last["attention"])]
    weights = last["attention"]
    peak = max(weights) or 1.0
    text = Text()
    for tok, w in zip(tokens, weights, strict=True):
        shade = int(255 - 200 * w / peak)
        text.append(f" {tok} ", style=f"black on rgb(255,{shade},{shade})")
        text.append(" ")
    console = Console()
    console.print(f"[bold]{one['id'][0]}[/bold]: attention of the prediction (darker = more)")
    console.print(text)
    preds = ", ".join(
        f"{t} ({p:.2f})" for t, p in zip(last["top_k"], last["probabilities"], strict=True)
    )
    console.print(f"predicted: {preds}")
    for tok, w in sorted(zip(tokens, weights, strict=True), key=lambda x: -x[1])[:5]:
        console.print(f"  {w:6.3f}  {tok}")


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
    env = {k: v for k, v in os.environ.items() if k != QUIET_ENV}  # "0" would count as set
    if _quiet():
        env.update(PREFECT_LOGGING_LEVEL="WARNING", **{QUIET_ENV: "1"})
    # attnlib never imports prefect or flows: the stage is its own process, as under DVC
    proc = subprocess.Popen([sys.executable, "-m", f"flows.{stage}", *(args or [])],
                            cwd=project, env=env)  # fmt: skip
    try:
        code = proc.wait()
    except KeyboardInterrupt:  # the stage got the same Ctrl-C; let it finish cleaning up
        code = proc.wait()
    return 128 - code if code < 0 else code  # killed by a signal: the shell's 128 + N


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

app.command("train")(
    _stage_command("train", "fit the model on the train split (resumes from checkpoints/)")
)


@app.command(
    help="Run the search stage of a project: tune the train params on train / val.\n\n"
    + _STAGE_HELP % "search"
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


app.command("evaluate")(
    _stage_command("evaluate", "score the model on the test split, with baselines and plots")
)
app.command("export")(
    _stage_command("export", "write the export/ bundle (safetensors, JSON, ONNX, model card)")
)


def main() -> None:  # pragma: no cover - console script entry
    sys.exit(app())


if __name__ == "__main__":
    app()
