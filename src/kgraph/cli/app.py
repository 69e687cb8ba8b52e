"""The ``kgraph`` group: its options, the state the commands share, and the ONE mapping
from errors to exit codes.

Only the ``kgraph.cli`` package imports Click. Heavy libraries (Oxigraph, rdflib, pySHACL)
are imported inside the commands that use them, so ``kgraph --help`` starts in a blink.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from kgraph.project import Project

from kgraph import __version__
from kgraph.cli.options import COUNT, INPUT_MEGABYTES, MEGABYTES, TIMEOUT
from kgraph.errors import ExitStatus, InternalError, KGraphError, Setting
from kgraph.limits import MB, Limits

COMMANDS: dict[str, tuple[str, str]] = {
    "add": (
        "write",
        "Validate new triples together with the graph and, if they conform, store them.",
    ),
    "batches": ("write", "List the batches added with `kgraph add`, oldest first."),
    "check": (
        "read",
        "Run the quality checks (queries/checks/*-violation.rq and ontology hygiene).",
    ),
    "convert": (
        "read",
        "Read FILE with the strict parser and the input guards, and write it in another syntax.",
    ),
    "export": (
        "read",
        "Write the whole dataset: every source file's graph (and the inferred one).",
    ),
    "push": (
        "remote",
        "Send every named graph to a store's SPARQL Graph Store endpoint URL, then verify.",
    ),
    "queries": ("read", "List the canned queries with their parameters and summary."),
    "query": ("read", "Run a canned query (by NAME), a query file, or -e 'SPARQL'."),
    "reason": ("read", "Print the inferred triples alone (the closure minus what is asserted)."),
    "remove": (
        "write",
        "Take a batch out again: the graph is then exactly what it was before the add.",
    ),
    "serve": (
        "serve",
        "Serve the graph read-only: a SPARQL 1.1 endpoint (/sparql) and pages to read it (/).",
    ),
    "stats": (
        "read",
        "Triples per graph, instances per class, properties used, shapes and their targets.",
    ),
    "template": (
        "write",
        "Print a commented claim sheet to copy and edit, then add with `kgraph add SHEET.yaml`.",
    ),
    "validate": (
        "read",
        "Check the graph, plus new triples in FILEs, against ontology/shapes.ttl.",
    ),
}
"""Each command's module in ``kgraph.cli`` and the first paragraph of its help (what
``kgraph --help`` lists): a start imports only the module of the command it runs, and
``--help`` none of them (their options, renderers and enums were a third of its time).
``tests/test_cold_add.py`` checks the table against the commands themselves."""


class KGraphGroup(click.Group):
    """Turns every :class:`KGraphError` into one line on stderr and its exit code; loads
    a command's module when the command is asked for (:data:`COMMANDS`)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            from importlib import import_module

            import_module(f"kgraph.cli.{COMMANDS[cmd_name][0]}")  # registers its commands
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as err:
            # Click suggests from the commands loaded so far: suggest from them all.
            raise click.exceptions.NoSuchCommand(
                err.command_name, possibilities=self.list_commands(ctx), ctx=ctx
            ) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        if all(name in self.commands for name in COMMANDS):
            return super().format_commands(ctx, formatter)
        # Click's own listing (Group.format_commands), from the table: the same rows, cut
        # to the same width, without importing a command.
        from gettext import gettext

        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [
            (name, click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit))
            for name in names
        ]
        with formatter.section(gettext("Commands")):
            formatter.write_dl(rows)
        return None

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KGraphError as err:
            click.echo(_error_line(err), err=True)
            ctx.exit(int(err.status))
        except BrokenPipeError:  # `kgraph export | head`
            sys.stderr.close()
            ctx.exit(0)
        except KeyboardInterrupt:
            click.echo("Error: interrupted; nothing was written", err=True)
            ctx.exit(int(ExitStatus.INTERRUPTED))
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise  # Click's own usage errors and exits keep their meaning
        except Exception as err:
            # Anything else is kgraph's bug, not the user's input: say so, exit 70.
            if os.environ.get("KGRAPH_DEBUG") == "1":
                raise
            internal = InternalError(f"internal error: {type(err).__name__}: {err}")
            click.echo(_error_line(internal), err=True)
            ctx.exit(int(internal.status))


FLAGS: dict[Setting, str] = {
    Setting.PROJECT: "--project DIR",
    Setting.INPUT_FORMAT: "--input-format",
    Setting.MAX_INPUT: "--max-input",
    Setting.MAX_TRIPLES: "--max-triples",
    Setting.MAX_DEPTH: "--max-depth",
    Setting.MAX_MEMORY: "--max-memory",
    Setting.TIMEOUT: "--timeout",
    Setting.WORK_TIMEOUT: "--work-timeout",
    Setting.HTTP_TIMEOUT: "--http-timeout",
    Setting.LOCK_WAIT: "--wait",
    Setting.SOURCE: "--source",
    Setting.INFER: "--infer",
    Setting.ENGINE: "--engine",
    Setting.ENDPOINT: "--endpoint",
    Setting.QUERY_ENDPOINT: "--query-endpoint",
    Setting.STORE_KIND: "--store-kind",
    Setting.MERGE: "`kgraph push --merge`",
    Setting.QUERY_TEXT: "-e 'SPARQL'",
    Setting.PARAMETER: "-p NAME VALUE",
    Setting.OUTPUT_FORMAT: "-f",
    Setting.DRY_RUN: "--dry-run",
}
"""How the command line names each library :class:`Setting` in an error: by its flag."""


def _error_line(err: KGraphError) -> str:
    """``Error: ...`` on one line, whatever the engines put in their messages (lists,
    quoted newlines), with control characters escaped: a store's answer or a data value
    quoted in a message must not drive the terminal (escape sequences). The settings the
    message names in words are named by their flags."""
    from kgraph.results import printable

    return "Error: " + printable(" ".join(err.naming(FLAGS.__getitem__).split()))


class State:
    """What the group's options set up for the commands."""

    def __init__(self, project: str | None, store: str | None, limits: Limits, quiet: bool) -> None:
        self._project_dir = project
        self.store_dir = Path(store) if store else None
        self.limits = limits
        self.quiet = quiet

    def open(self) -> Project:
        """The project the options name, its verbs run in the confined worker."""
        from kgraph.project import Project

        return Project.open(
            self._project_dir,
            store=self.store_dir,
            limits=self.limits,
            on_warning=lambda warning: click.echo(f"Warning: {warning}", err=True),
        )


pass_state = click.make_pass_decorator(State)


@click.group(
    cls=KGraphGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="kgraph")
@click.option(
    "--project",
    "-C",
    metavar="DIR",
    help="Project folder (default: the current one if it holds ontology/ and data/, else the shipped graph).",
)
@click.option(
    "--store",
    metavar="DIR",
    envvar="KGRAPH_STORE",
    help="On-disk Oxigraph store: load the graph once, reuse it until a file changes.",
)
@click.option(
    "--timeout",
    type=TIMEOUT,
    default=Limits.query_timeout,
    show_default=True,
    metavar="S",
    help="Seconds a query may run.",
)
@click.option(
    "--work-timeout",
    type=TIMEOUT,
    default=Limits.work_timeout,
    show_default=True,
    metavar="S",
    help="Seconds loading, reasoning or validation may run.",
)
@click.option(
    "--max-memory",
    type=MEGABYTES,
    default=None,
    metavar="MB",
    help="Memory limit of the worker process [default: 80% of RAM].",
)
@click.option(
    "--max-input",
    type=INPUT_MEGABYTES,
    default=Limits.max_input_bytes // MB,
    show_default=True,
    metavar="MB",
    help="Largest input file.",
)
@click.option(
    "--max-triples",
    type=COUNT,
    default=Limits.max_triples,
    show_default=True,
    metavar="N",
    help="Most triples read from files given on the command line.",
)
@click.option(
    "--max-depth",
    type=COUNT,
    default=Limits.max_depth,
    show_default=True,
    metavar="N",
    help="Deepest bracket nesting in a query or JSON-LD file.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress or summary lines on stderr.")
@click.pass_context
def cli(
    ctx: click.Context,
    project: str | None,
    store: str | None,
    timeout: float,
    work_timeout: float,
    max_memory: int | None,
    max_input: int,
    max_triples: int,
    max_depth: int,
    quiet: bool,
) -> None:
    """kgraph: a knowledge graph of news reporting that you can query, check and share.

    Exit codes: 0 ok; 1 problems found (violations, failed checks); 2 bad input or usage;
    3 remote store or I/O failure; 4 a resource limit hit; 70 kgraph's own bug;
    130 interrupted.
    """
    limits = Limits(
        max_input_bytes=max_input * MB,
        max_triples=max_triples,
        max_depth=max_depth,
        query_timeout=timeout,
        work_timeout=work_timeout,
        max_memory=max_memory * MB if max_memory is not None else Limits().max_memory,
    )
    ctx.obj = State(project, store, limits, quiet)


def _emit(data: bytes, output: str | None) -> None:
    if output:
        from kgraph.fsutil import write_atomic

        write_atomic(Path(output), data)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()


def _note(state: State, message: str) -> None:
    if not state.quiet:
        click.echo(message, err=True)


def main() -> None:
    import signal

    def terminate(signum: int, frame: object) -> None:
        # SIGTERM unwinds like Ctrl-C, so that temporary files are removed on the way out.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    cli(prog_name="kgraph")
