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


@app.command()
@user_errors
def ingest(
    source: Annotated[str, typer.Argument(help="builtin:NAME or a file path")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write")],
    format: Annotated[str, typer.Option(help="auto, seqlab_txt, seqlab_csv, csv, ...")] = "auto",
    limit: Annotated[int, typer.Option(min=0, help="keep the first N sequences (0 = all)")] = 0,
) -> None:
    """Read SOURCE, validate it and write the normalised table (the ingest stage alone)."""
    from attnlib.datasets import read_source
    from attnlib.io import write_parquet_atomic

    frame = read_source(source, format, limit=limit or None)
    write_parquet_atomic(out, frame)
    typer.echo(f"{frame.height} sequences -> {out}")


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
    from attnlib.predict import Predictor, predict_frame

    frame = read_source(str(input), format)
    if row > frame.height:
        raise DataError(f"{input}: has {frame.height} sequences, no row {row}")
    one = frame.slice(row - 1, 1)
    result = predict_frame(Predictor(bundle), one, top_k=top_k, attention=True)
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


def main() -> None:  # pragma: no cover - console script entry
    sys.exit(app())


if __name__ == "__main__":
    app()
