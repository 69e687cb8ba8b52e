"""The command line's option types and the options several commands share.

One definition per option, so that ``--format``, ``--output``, ``--infer``, ``--input-format``,
``--base`` and ``--wait`` mean the same everywhere. ``--infer`` is the one name for the
closure; ``--inferred`` (export, push) and ``--profile`` (reason), its old names, remain as
hidden aliases so that existing scripts keep working.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import click

from kgraph.formats import RdfSyntax
from kgraph.limits import MB

F = TypeVar("F", bound=Callable[..., Any])

INFER = click.Choice(["none", "rdfs", "owlrl"])
PROFILE = click.Choice(["rdfs", "owlrl"])
ENGINE = click.Choice(["compiled", "pyshacl"])


def engine_option() -> Callable[[F], F]:
    """``--engine``: the compiled engine, or pySHACL (the reference) to compare with it."""
    return click.option(
        "--engine",
        type=ENGINE,
        default="compiled",
        show_default=True,
        help="SHACL engine: shapes compiled to SPARQL, or pySHACL (the reference).",
    )


class _Seconds(click.FloatRange):
    """A duration in seconds: a finite number in range (click's range lets ``nan`` through,
    since every comparison with it is false, and a nan deadline never passes)."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if number != number:  # nan
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return number

    def _describe_range(self) -> str:
        # the upper bound only guards against overflow: the help shows the lower one
        return f"x{'>' if self.min_open else '>='}{self.min:g}"


class _Megabytes(click.IntRange):
    """A size in MB, bounded above so that it still fits the kernel's 64-bit limits (an
    overflowing value made setrlimit fail, which left the worker without any limit)."""

    def _describe_range(self) -> str:
        return f"x>={self.min}"


MAX_SECONDS = 10**8
"""About three years: beyond it a deadline means nothing, and larger values overflow the
socket and select timeouts."""
TIMEOUT = _Seconds(min=0, min_open=True, max=MAX_SECONDS)
WAIT = _Seconds(min=0, max=MAX_SECONDS)
MEGABYTES = _Megabytes(min=1, max=(1 << 63) // MB - 1)
INPUT_MEGABYTES = _Megabytes(min=0, max=(1 << 63) // MB - 1)
COUNT = click.IntRange(min=1)


def format_option(
    choices: Sequence[str], default: str, help: str | None = None
) -> Callable[[F], F]:
    """``-f/--format``: the output format of one command, one of ``choices``."""
    return click.option(
        "-f",
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=default,
        show_default=True,
        help=help,
    )


def output_option(help: str = "Write to FILE (atomically).") -> Callable[[F], F]:
    """``-o/--output FILE``: written atomically instead of standard output."""
    return click.option("-o", "--output", metavar="FILE", help=help)


def input_format_option(what: str = "FILEs") -> Callable[[F], F]:
    """``--input-format``: the syntax of the input files."""
    return click.option(
        "--input-format",
        type=click.Choice(RdfSyntax.names()),
        help=f"Syntax of {what} (default: from the extension; needed for -).",
    )


def base_option(what: str = "FILEs") -> Callable[[F], F]:
    """``--base IRI``: the base for relative IRIs in the input files."""
    return click.option("--base", metavar="IRI", help=f"Base IRI for relative IRIs in {what}.")


def wait_option() -> Callable[[F], F]:
    """``--wait S``: how long a writer waits for the project lock."""
    return click.option(
        "--wait",
        type=WAIT,
        default=60.0,
        show_default=True,
        metavar="S",
        help="Seconds to wait for another writer to finish.",
    )


def infer_option(
    help: str,
    *,
    default: str = "none",
    choices: click.Choice[str] = INFER,
    alias: str | None = None,
) -> Callable[[F], F]:
    """``--infer PROFILE`` (the command's ``infer`` argument); ``alias`` is an old name for
    it, accepted but not shown in the help."""

    def decorate(command: F) -> F:
        target: Callable[..., Any] = command
        if alias is not None:

            @functools.wraps(command)
            def merged(*args: Any, infer_alias: str | None = None, **kwargs: Any) -> Any:
                if infer_alias is not None:
                    kwargs["infer"] = infer_alias
                return command(*args, **kwargs)

            target = click.option(alias, "infer_alias", type=choices, default=None, hidden=True)(
                merged
            )
        option = click.option(
            "--infer", "infer", type=choices, default=default, show_default=True, help=help
        )
        return cast(F, option(target))

    return decorate
