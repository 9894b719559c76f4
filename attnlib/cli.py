"""The ``attnlib`` command. A user mistake is one line on stderr and exit code 2."""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated

import typer

from attnlib.errors import AttnlibError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


def user_errors(fn):
    """Turn an :class:`AttnlibError` into ``error: <message>`` and its exit code."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except AttnlibError as exc:
            typer.echo(f"error: {exc}", err=True)
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
    input: Annotated[Path, typer.Argument(help="sequences: Parquet, CSV, TSV or TXT")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet or CSV file to write")],
    format: Annotated[str, typer.Option(help="input format: auto, seqlab_txt, csv, ...")] = "auto",
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="how many states / classes")] = 5,
    attention: Annotated[bool, typer.Option("--attention", help="add attention weights")] = False,
    engine: Annotated[str, typer.Option(help="onnx (ONNX Runtime) or torch (eager)")] = "onnx",
) -> None:
    """Score every sequence in INPUT with a trained model; write one row per prediction."""
    from attnlib.datasets import read_source
    from attnlib.io import atomic_path
    from attnlib.predict import Predictor, predict_frame

    predictor = Predictor(bundle, engine=engine)
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
    typer.echo(msg)


def main() -> None:  # pragma: no cover - console script entry
    sys.exit(app())


if __name__ == "__main__":
    app()
