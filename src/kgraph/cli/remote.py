"""Remote stores: push."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from kgraph.cli.app import State, _note, cli, pass_state
from kgraph.cli.options import (
    TIMEOUT,
    infer_option,
)
from kgraph.cli.render import table, terminal_width
from kgraph.errors import ExitStatus
from kgraph.reasoning import Profile
from kgraph.storekind import StoreKind

if TYPE_CHECKING:
    from kgraph.remote import PushPlan, PushReport

# -- remote stores ---------------------------------------------------------------------------

STORE_KINDS = [k.value for k in StoreKind]


@cli.command("push")
@click.argument("url", metavar="URL")
@click.option(
    "--graph",
    "graphs",
    metavar="IRI",
    multiple=True,
    help="Push only this graph (an IRI or a project file path; repeatable).",
)
@click.option(
    "--replace/--merge",
    default=True,
    show_default=True,
    help="Replace each graph in the store (PUT), or add to it (POST).",
)
@infer_option("Also push the RDFS or OWL 2 RL closure, in its own graph.", alias="--inferred")
@click.option(
    "--dry-run", is_flag=True, help="Print the plan (graphs, triples, requests); send nothing."
)
@click.option(
    "--query-endpoint",
    metavar="URL",
    help="SPARQL endpoint that verifies counts and content [default: derived from URL].",
)
@click.option(
    "--store-kind",
    type=click.Choice(STORE_KINDS),
    default="auto",
    show_default=True,
    help="How to derive --query-endpoint from URL.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=50_000,
    show_default=True,
    metavar="N",
    help="Triples per request (graphs with blank nodes go in one).",
)
@click.option(
    "--http-timeout",
    type=TIMEOUT,
    default=60.0,
    show_default=True,
    metavar="S",
    help="Seconds to wait for the store.",
)
@pass_state
def push_command(
    state: State,
    url: str,
    graphs: tuple[str, ...],
    replace: bool,
    infer: str,
    dry_run: bool,
    query_endpoint: str | None,
    store_kind: str,
    chunk_size: int,
    http_timeout: float,
) -> None:
    """Send every named graph to a store's SPARQL Graph Store endpoint URL, then verify.

    Each graph is replaced (PUT, then POST for further chunks), so pushing twice leaves the
    same store. Counts and content (each graph read back) are then checked through the SPARQL
    endpoint. Credentials come from KGRAPH_STORE_TOKEN (bearer), KGRAPH_STORE_USER +
    KGRAPH_STORE_PASSWORD (basic, or digest when the store asks) or ~/.netrc. URLs for each
    store: docs/stores.md. Example:

      kgraph push http://127.0.0.1:7878/store
    """
    from kgraph import remote

    project = state.open()
    options = remote.PushOptions(merge=not replace, chunk_size=chunk_size, timeout=http_timeout)
    kind, profile = StoreKind(store_kind), Profile(infer)
    if dry_run:
        plan = project.push_plan(
            url,
            graphs=graphs,
            infer=profile,
            options=options,
            query_endpoint=query_endpoint,
            store_kind=kind,
        )
        click.echo(render_plan(plan), nl=False)
        return
    try:
        with _Progress(state) as advance:
            report = project.push(
                url,
                graphs=graphs,
                infer=profile,
                options=options,
                query_endpoint=query_endpoint,
                store_kind=kind,
                progress=advance,
            )
    except KeyboardInterrupt:
        rerun = remote.RERUN_SAFE if replace else remote.RERUN_MERGE
        click.echo(f"Error: interrupted; {rerun}", err=True)
        click.get_current_context().exit(int(ExitStatus.INTERRUPTED))
    click.echo(render_counts(report), nl=False)
    remote.check_counts(report, merge=not replace)
    checked = "counts and content" if replace else "counts"
    _note(
        state,
        f"pushed {_n(len(report.counts), 'graph')} ({_n(report.triples, 'triple')}) in "
        f"{_n(report.requests, 'request')}; {checked} verified at {report.query_endpoint}",
    )


def _n(count: int, noun: str) -> str:
    """``1 request``, ``6 requests``: a push of one graph said "1 requests"."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def render_plan(plan: PushPlan) -> str:
    rows = []
    for p in plan.graphs:
        counts = {m: p.methods.count(m) for m in ("PUT", "POST") if m in p.methods}
        requests = " + ".join(f"{n} {m}" for m, n in counts.items()) or "none"
        chunks = str(p.chunks) + (" (blank nodes: one request)" if p.blank_nodes else "")
        rows.append([p.graph, str(p.triples), chunks, requests])
    columns = ["graph", "triples", "chunks", "requests"]
    text = table(columns, rows, None, width=terminal_width(), right={"triples"})
    return text + (
        f"dry run: would send {_n(plan.requests, 'request')} to {plan.url} and verify the counts "
        f"through {plan.query_endpoint}; nothing sent\n"
    )


def render_counts(report: PushReport) -> str:
    rows = [[c.graph, str(c.local), str(c.remote), "yes" if c.ok else "NO"] for c in report.counts]
    columns = ["graph", "local", "remote", "ok"]
    return table(columns, rows, None, width=terminal_width(), right={"local", "remote"})


class _Progress:
    """A progress bar on stderr when it is a terminal and not --quiet; else nothing. The bar
    starts at the first chunk sent, when the total is known."""

    def __init__(self, state: State) -> None:
        self._quiet = state.quiet or not sys.stderr.isatty()
        self._bar: Any = None

    def __enter__(self) -> Callable[[int, int], None]:
        return self._advance

    def _advance(self, n: int, total: int) -> None:
        if self._quiet:
            return
        if self._bar is None:
            bar = click.progressbar(length=total, label="pushing", file=sys.stderr, show_pos=True)
            self._bar = bar.__enter__()
        self._bar.update(n)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
