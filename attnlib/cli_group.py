"""The ``attnlib`` command's conventions: global options (``-q``, ``--version``) before or
after the command's name, ``-p DIR`` before it, a usage error as one line plus a hint, and
user mistakes (:class:`~attnlib.errors.AttnlibError`) as ``error: <message>`` and exit code 2.
"""

from __future__ import annotations

import functools
import sys
from typing import Annotated

import typer
import typer.core

from attnlib.errors import AttnlibError

GLOBAL_FLAGS = ("-q", "--quiet")  # options of the whole command, accepted anywhere


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move global flags given after the command's name to before it (``attnlib predict
    ... -q`` = ``attnlib -q predict ...``); ``-p DIR`` before the name goes after it."""
    cut = argv.index("--") if "--" in argv else len(argv)
    head, tail = argv[:cut], argv[cut:]
    flags = [a for a in head if a in GLOBAL_FLAGS]
    rest = [a for a in head if a not in GLOBAL_FLAGS]
    if len(rest) >= 3 and rest[0] in ("-p", "--project"):  # attnlib -p DIR train
        rest = [rest[2], *rest[:2], *rest[3:]]
    return flags + rest + tail


class Command(typer.core.TyperGroup):
    """The top-level command: global options anywhere; a usage error is one line + a hint."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        args = hoist_global_options(list(sys.argv[1:] if args is None else args))
        try:
            code = super().main(args, prog_name or "attnlib", complete_var,
                                standalone_mode=False, **extra)  # fmt: skip
        except typer.Abort:
            typer.echo("aborted", err=True)
            code = 130
        except typer.TyperException as exc:  # typer's own copy of click's exceptions
            ctx = getattr(exc, "ctx", None)  # a usage error knows its command
            hint = f"  (`{ctx.command_path} -h` shows the usage)" if ctx else ""
            typer.echo(f"error: {exc.format_message()}{hint}", err=True)
            code = getattr(exc, "exit_code", 2)
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


QUIET_ENV = "ATTNLIB_QUIET"  # set for a stage run with --quiet: no progress bars


def _print_version(value: bool) -> None:
    if value:
        from importlib.metadata import version as v

        typer.echo(f"attnlib {v('attnlib')}")
        raise typer.Exit()


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
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            "-V",
            callback=_print_version,
            is_eager=True,
            help="print the version and exit",
        ),
    ] = False,  # fmt: skip
) -> None:
    """Options that apply to every command (before or after the command's name)."""
    _options_given.update(quiet=quiet)  # runs before the command, on every invocation


_options_given = {"quiet": False}


def quiet() -> bool:
    return _options_given["quiet"]


def say(message: str) -> None:
    """A summary line on stdout, unless --quiet."""
    if not quiet():
        typer.echo(message)


def warn(message: str) -> None:
    """A warning on stderr (shown also with --quiet)."""
    typer.echo(f"warning: {message}", err=True)


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


def new_app(help: str) -> typer.Typer:
    """The top-level Typer app with these conventions and the global options."""
    app = typer.Typer(
        cls=Command,
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,  # plain help: no `<bool>` placeholders, no boxes around errors
        context_settings={"help_option_names": ["-h", "--help"]},
        help=help,
    )
    app.callback()(_options)
    return app
