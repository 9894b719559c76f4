"""The ``attnlib`` command. User mistakes become one line on stderr and exit code 2."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


@app.command()
def version() -> None:
    """Print the attnlib version."""
    from importlib.metadata import version as v

    typer.echo(v("attnlib"))


if __name__ == "__main__":
    app()
