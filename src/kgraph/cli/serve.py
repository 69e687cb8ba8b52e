"""kgraph serve: options only; the server lives in kgraph.server."""

from __future__ import annotations

from collections.abc import Callable

import click

from kgraph.cli.app import State, cli, pass_state
from kgraph.cli.options import TIMEOUT, WAIT, F
from kgraph.limits import MB, Limits

# -- serve (issue 12): options only; the server lives in kgraph.server ----------------------


def _query_count(name: str, help: str) -> Callable[[F], F]:
    """An option counting queries run at once (1 to 256). Unset by default: its default
    depends on the machine and on the other count, so the server computes it and the help
    says how."""
    return click.option(name, type=click.IntRange(1, 256), default=None, metavar="N", help=help)


@cli.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on (any other than 127.0.0.1 is warned about).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=7878,
    show_default=True,
    help="Port (0: any free one).",
)
@_query_count(
    "--workers",
    "Queries run at once, on the threads of the worker processes "
    "[default: 2 per CPU, at least 8, at most 64].",
)
@_query_count(
    "--threads",
    "Of those, most run at once in one worker process, on threads sharing its store "
    "(they take turns: the engine holds Python's lock); a query past --timeout ends its "
    "worker once the others in it are answered [default: --workers over the CPUs: one "
    "worker per CPU, forked when the others are busy].",
)
@click.option(
    "--idle-timeout",
    type=click.FloatRange(0, min_open=True),
    default=30.0,
    show_default=True,
    metavar="S",
    help="Seconds a spare worker may stay idle before it stops (one always stays).",
)
@click.option(
    "--timeout",
    "query_timeout",
    type=TIMEOUT,
    default=None,
    metavar="S",
    help="Seconds one query may run [default: 30, or kgraph --timeout when given].",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(1),
    default=64,
    show_default=True,
    metavar="MB",
    help="Largest answer.",
)
@click.option(
    "--max-rows",
    type=click.IntRange(1),
    default=100_000,
    show_default=True,
    metavar="N",
    help="Most rows in a SELECT answer; more gets 422, never a cut answer.",
)
@click.option(
    "--queue-wait",
    type=WAIT,
    default=10.0,
    show_default=True,
    metavar="S",
    help="Seconds a request waits for a free query slot (--workers) before a 503.",
)
@click.option(
    "--in-memory",
    is_flag=True,
    help="Hold the graph in memory instead of an on-disk store [default without --store: "
    "a store in the user's cache folder, rebuilt when a file changes; an on-disk store, "
    "this one or --store, is compacted at start for the reads to come].",
)
@pass_state
def serve_command(
    state: State,
    host: str,
    port: int,
    workers: int | None,
    threads: int | None,
    idle_timeout: float,
    query_timeout: float | None,
    max_bytes: int,
    max_rows: int,
    queue_wait: float,
    in_memory: bool,
) -> None:
    """Serve the graph read-only: a SPARQL 1.1 endpoint (/sparql) and pages to read it (/)."""
    from kgraph.errors import UsageError
    from kgraph.server import Settings, serve
    from kgraph.server.app import default_workers
    from kgraph.server.http import LOOPBACK

    if host not in LOOPBACK:
        # The command's warning about its --host (before the graph is loaded), not the
        # server's: only the command line knows how the address was asked for.
        click.echo(
            f"Warning: serving on {host}, not 127.0.0.1: anyone who can reach this "
            "address can read the whole graph",
            err=True,
        )

    if in_memory and state.store_dir is not None:
        raise UsageError(
            "serve --in-memory holds the graph in memory: give it or --store, not both"
        )

    if query_timeout is None:
        query_timeout = (
            state.limits.query_timeout
            if state.limits.query_timeout != Limits.query_timeout
            else 30.0
        )
    settings = Settings(
        host=host,
        port=port,
        workers=default_workers() if workers is None else workers,
        threads=threads,
        idle_timeout=idle_timeout,
        timeout=query_timeout,
        max_bytes=max_bytes * MB,
        max_rows=max_rows,
        queue_wait=queue_wait,
        quiet=state.quiet,
        in_memory=in_memory,
    )
    serve(state._project_dir, state.store_dir, state.limits, settings)
