"""The ``attnlib`` command. A user mistake is one line on stderr and exit code 2.

Pipeline stages (``train``, ``search``, ``evaluate``, ``export``) run ``python -m
flows.<stage>`` in a project directory, as ``dvc repro`` does, and pass its exit code on.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated

import typer

from attnlib import cli_project
from attnlib.charsets import UTF8
from attnlib.cli_group import new_app, quiet, say, user_errors, warn
from attnlib.cli_input import (
    INPUT_HELP,
    EncodingOption,
    FormatOption,
    IdColumn,
    InputArg,
    LabelColumn,
    MissingOption,
    OutOption,
    SepOption,
    TextColumn,
    TimeColumn,
    columns,
    for_model,
    read_input,
    stdin_lines,
)
from attnlib.errors import ConfigError, DataError

app = new_app(
    "The attnlib command: data sets, ingest, pipeline stages, prediction. A user mistake is "
    "one line on stderr and exit code 2. Global options (-q) go before or after the command."
)


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
        str | None,
        typer.Argument(help=f"{INPUT_HELP} (none with --stream)"),
    ] = None,  # fmt: skip
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="file to write: .parquet, .csv (lists as JSON arrays) "
            "or .jsonl (none with --stream)",
        ),
    ] = None,  # fmt: skip
    format: FormatOption = "auto",
    sep: SepOption = "",
    encoding: EncodingOption = "",
    text_column: TextColumn = "",
    label_column: LabelColumn = "",
    time_column: TimeColumn = "",
    id_column: IdColumn = "",
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="how many states / classes")] = 5,
    attention: Annotated[bool, typer.Option("--attention", help="add attention weights")] = False,
    last: Annotated[
        bool, typer.Option("--last", help="next-state: only the prediction after each sequence")
    ] = False,
    strict: Annotated[
        bool, typer.Option("--strict", help="unknown tokens are an error, not a warning")
    ] = False,
    engine: Annotated[str, typer.Option(help="onnx (ONNX Runtime) or torch (eager)")] = "onnx",
    stream: Annotated[
        bool,
        typer.Option(
            "--stream",
            help="next-state: read tokens from stdin as they come (blank line = new sequence), "
            "print the top-k next states after each",
        ),
    ] = False,
    sets: Annotated[
        bool, typer.Option("--sets", help="add each row's conformal prediction set")
    ] = False,
) -> None:
    """Score every sequence in INPUT with a trained model; write one row per prediction.

    Columns: id, [step], [actual, correct], predicted, top_k, probabilities, [attention].
    """
    from attnlib.api import Model, reading_encoding
    from attnlib.datasets import panel
    from attnlib.files import output_path, write_table

    if stream:
        from attnlib.predict import Predictor
        from attnlib.stream import stream_lines

        unused = [name for name, given in (("INPUT", input), ("--out", out), ("--last", last),
                  ("--attention", attention), ("--sets", sets), ("--text-column", text_column),
                  ("--label-column", label_column), ("--time-column", time_column),
                  ("--id-column", id_column))
                  if given]  # fmt: skip
        if unused:
            raise ConfigError(f"--stream reads standard input and prints to standard output: "
                              f"{', '.join(unused)} cannot go with it")  # fmt: skip
        predictor = Predictor(bundle, engine=engine)
        lines = stdin_lines(encoding or reading_encoding(predictor.meta))
        stream_lines(predictor.stream(), predictor.meta.vocab, lines,
                     lambda line: print(line, flush=True), top_k=top_k, sep=sep or None,
                     strict=strict, warn=warn)  # fmt: skip
        return
    if input is None or out is None:
        raise ConfigError("predict needs INPUT and --out (or --stream to read tokens from stdin)")
    output_path(out, None if input == "-" else input)  # a bad --out fails before any work
    model = Model(bundle, engine=engine)
    # a long table's ids: a classifier's series, or a forecaster's series on one clock
    stored = "id" in model.columns and not id_column  # the model's name for it, not the user's
    with panel.for_model(model, stored):
        named = columns(text_column, label_column, time_column, id_column)
        frame, _ = read_input(input, format, sep, **for_model(named, encoding, model))
    source = "standard input" if input == "-" else input
    result = model.predict(frame, top_k=top_k, attention=attention, last=last, strict=strict,
                           sets=sets, warn=warn, source=source)  # fmt: skip
    write_table(result, out)
    scored = result["correct"].drop_nulls() if "correct" in result.columns else None
    msg = f"{result.height} predictions -> {out}"
    if scored is not None and len(scored):
        msg += f" (accuracy on the known next states in the file: {scored.mean():.4f})"
    say(msg)


@app.command()
@user_errors
def ingest(
    source: Annotated[
        str,
        typer.Argument(
            help="builtin:NAME, a file path, a folder of text files, or - (standard input)"
        ),
    ],
    out: OutOption,
    format: FormatOption = "auto",
    sep: SepOption = "",
    encoding: EncodingOption = "",
    text_column: TextColumn = "",
    label_column: LabelColumn = "",
    time_column: TimeColumn = "",
    id_column: IdColumn = "",
    limit: Annotated[int, typer.Option(min=0, help="keep the first N sequences (0 = all)")] = 0,
    max_length: Annotated[
        int,
        typer.Option(min=0, help="a sequence longer than N steps is an error (0 = no limit)"),
    ] = 0,
    missing: MissingOption = "interpolate",
) -> None:
    """Read SOURCE, validate it and write the normalised table (the ingest stage alone)."""
    from rich.console import Console

    from attnlib.files import describe_counts, output_path, write_table

    output_path(out, None if source == "-" else source)
    # a transient spinner on stderr: gone when done, nothing at all when not a terminal
    status = Console(stderr=True).status(f"reading {source} ...")
    with contextlib.nullcontext() if quiet() else status:
        frame, how = read_input(source, format, sep, limit=limit or None,
                                max_length=max_length or None, archive_split=True,
                                columns=columns(text_column, label_column, time_column, id_column),
                                encoding=encoding or UTF8, missing=missing)  # fmt: skip
    write_table(frame, out)
    say(f"read {how}")
    say(f"{describe_counts(frame)} -> {out}")


@app.command()
@user_errors
def info(
    bundle: Annotated[Path, typer.Argument(help="an export/ bundle or a model directory")],
) -> None:
    """Show what a trained model is: task, input, vocabulary, labels, metrics, training data."""
    from attnlib.api import Model

    facts = Model(bundle, engine="torch").info()
    typer.echo(f"bundle:  {bundle}")
    typer.echo(f"task:    {facts['task']}")
    typer.echo(f"input:   {facts['input']}")
    typer.echo(f"model:   {facts['model']}")
    if facts["vocab_size"] is not None:
        sample = ", ".join(repr(t) for t in facts["vocab_sample"])
        typer.echo(
            f"vocabulary: {facts['vocab_size']} entries with <pad> and <unk>; first: {sample}"
        )
    if facts["labels"] is not None:
        typer.echo(f"labels:  {', '.join(map(str, facts['labels']))}")
    for where, metrics in (("test", facts["test_metrics"]), ("training", facts["metrics"])):
        shown = ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in metrics.items()
        )
        if shown:
            typer.echo(f"{where} metrics: {shown}")
    if facts["max_length"]:
        typer.echo(f"max length: {facts['max_length']} steps (longer input was cut at encode)")
    for key, value in facts["data"].items():
        typer.echo(f"data:    {key}: {value}")


@app.command()
@user_errors
def explain(
    bundle: Annotated[Path, typer.Argument(help="an export/ bundle or a model directory")],
    input: InputArg,
    row: Annotated[int, typer.Option(min=1, help="which sequence (1-based)")] = 1,
    format: FormatOption = "auto",
    sep: SepOption = "",
    encoding: EncodingOption = "",
    text_column: TextColumn = "",
    top_k: Annotated[int, typer.Option("--top-k", min=1, help="predictions to show")] = 3,
) -> None:
    """Print one sequence with each token shaded by the attention the prediction paid it."""
    from rich.console import Console
    from rich.text import Text

    from attnlib.api import Model
    from attnlib.predict import text_spec
    from attnlib.tasks import get_task
    from attnlib.tokenize import retokenize

    model = Model(bundle)
    if model.meta.vocab is None:  # numeric series: no tokens to shade
        raise ConfigError(
            f"{bundle}: explain shades tokens, and this model reads numeric series; "
            "`attnlib predict --attention` writes its attention weights"
        )
    frame, _ = read_input(input, format, sep, **for_model(columns(text_column, "", ""), encoding,
                                                          model))  # fmt: skip
    if row > frame.height:
        raise DataError(f"{input}: has {frame.height} sequences, no row {row}")
    one = retokenize(frame.slice(row - 1, 1), text_spec(model.meta))  # shown as scored
    result = model.predict(one, top_k=top_k, attention=True,
                           last=get_task(model.task).step_predictions)  # fmt: skip
    last = result.row(0, named=True)  # next_state: after the last token
    tokens = one["tokens"][0].to_list()[: len(last["attention"])]
    weights = last["attention"]
    peak = max(weights) or 1.0
    console = Console()
    console.print(f"[bold]{one['id'][0]}[/bold]: attention of the prediction (darker = more)")
    text = Text()
    for pos, (tok, w) in enumerate(zip(tokens, weights, strict=True), start=1):
        shade = int(255 - 200 * w / peak)
        # a no-break space inside a token: the terminal wraps between tokens, never within
        cell = f" {pos}:{tok} ".replace(" ", "\u00a0")
        text.append(cell, style=f"black on rgb(255,{shade},{shade})")
        text.append(" ")
    console.print(text)
    preds = ", ".join(
        f"{t} ({p:.2f})" for t, p in zip(last["top_k"], last["probabilities"], strict=True)
    )
    console.print(f"predicted: {preds}")
    ranked = sorted(enumerate(zip(tokens, weights, strict=True), start=1), key=lambda x: -x[1][1])
    for pos, (tok, w) in ranked[:5]:
        console.print(f"  {w:6.3f}  position {pos:>4}  {tok}")


cli_project.register(app)  # train, search, evaluate, export, report


if __name__ == "__main__":
    app()
