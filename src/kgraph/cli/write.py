"""The write path: add, remove, batches."""

from __future__ import annotations

from typing import Any

import click

from kgraph.cli.app import State, _emit, _note, cli, pass_state
from kgraph.cli.options import (
    base_option,
    engine_option,
    format_option,
    infer_option,
    input_format_option,
    wait_option,
)
from kgraph.cli.render import table, terminal_width
from kgraph.errors import ExitStatus
from kgraph.formats import RdfSyntax
from kgraph.reasoning import Profile
from kgraph.shacl.model import Engine

# -- the write path ------------------------------------------------------------------------


@cli.command("add")
@click.argument("files", nargs=-1, required=True, metavar="FILE...|SHEET.yaml")
@click.option(
    "--source",
    metavar="IRI|TEXT",
    help="The document the triples were read from (recorded with the batch). A claim sheet"
    " names its own: leave it out, or give that document's IRI or address.",
)
@click.option("--dry-run", is_flag=True, help="Validate and report, but write nothing.")
@infer_option("Validate with the RDFS or OWL 2 RL closure (costs a closure of the whole graph).")
@format_option(
    ["text", "turtle", "json"],
    "text",
    "Output: text (a summary and the report), turtle (the batch file it adds, or would add "
    "with --dry-run; the report goes to stderr), json. The SHACL report in RDF comes from "
    "`kgraph validate FILE -f turtle`.",
)
@input_format_option()
@base_option()
@wait_option()
@engine_option()
@pass_state
def add_command(
    state: State,
    files: tuple[str, ...],
    source: str | None,
    dry_run: bool,
    infer: str,
    fmt: str,
    input_format: str | None,
    base: str | None,
    wait: float,
    engine: str,
) -> None:
    """Validate new triples together with the graph and, if they conform, store them.

    The batch becomes data/batches/<id>.ttl, its own named graph, with a provenance
    record. Only violations the batch introduces are reported; on any failure nothing
    is written. Adding the same input twice adds nothing the second time.

    A claim sheet (SHEET.yaml or .yml, one per add; `kgraph template` prints one) is
    compiled against the graph, its names resolved through the graph's labels, and stored
    as a batch whose record keeps the sheet as its input.
    """
    syntax = RdfSyntax.from_name(input_format) if input_format else None
    result = state.open().add(
        files,
        source=source,
        dry_run=dry_run,
        infer=Profile(infer),
        syntax=syntax,
        base_iri=base,
        wait=wait,
        on_wait=lambda message: _note(state, message),
        engine=Engine(engine),
    )
    if fmt == "turtle":
        from kgraph.shacl.report import render_text

        if result.content:
            _emit(result.content, None)
        summary = _add_output(result, "text").decode().splitlines()[0]
        _note(state, summary)
        if result.status == "rejected":
            click.echo(render_text(result.report, title="batch "), err=True, nl=False)
    else:
        _emit(_add_output(result, fmt), None)
    if result.status == "rejected":
        click.get_current_context().exit(int(ExitStatus.FINDINGS))


def _add_output(result: Any, fmt: str) -> bytes:
    import json

    from kgraph.shacl.report import render, render_text

    info = result.batch
    if fmt == "json":
        document = {
            "status": result.status,
            "batch": info.__dict__ if info else None,
            "inputTriples": result.input_triples,
            "newTriples": result.new_triples,
            "report": json.loads(render(result.report, "json")),
        }
        return (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode()
    lines = {
        "added": f"added batch {info.id}: {result.new_triples} new triples ({info.triples} stated; {info.path})",
        "dry-run": f"dry run: would add batch {info.id}: {result.new_triples} new triples ({info.triples} stated; {info.path}); nothing written",
        "duplicate": f"nothing added: this input was already added as batch {result.duplicate_of}",
        "empty": "nothing added: the input states no triples",
        "rejected": "rejected: the batch would introduce violations; nothing written",
    }
    text = lines[result.status] + "\n"
    if result.status in ("added", "dry-run", "rejected"):
        text += render_text(result.report, title="batch ")
    return text.encode()


@cli.command("remove")
@click.argument("batch", metavar="BATCH")
@click.option(
    "--force", is_flag=True, help="Remove it even if the rest of the graph then has violations."
)
@click.option("--dry-run", is_flag=True, help="Check and report, but remove nothing.")
@wait_option()
@pass_state
def remove_command(state: State, batch: str, force: bool, dry_run: bool, wait: float) -> None:
    """Take a batch out again: the graph is then exactly what it was before the add.

    BATCH is an id from `kgraph batches`, the batch file's path, or a unique prefix of at
    least 8 characters of the id or of its SHA-256.
    Refused, with the violations listed, if other triples depend on it (unless --force).
    """
    from kgraph.project import RemoveStatus
    from kgraph.shacl.report import render_text

    result = state.open().remove(
        batch, force=force, dry_run=dry_run, wait=wait, on_wait=lambda m: _note(state, m)
    )
    info = result.batch
    if result.status == RemoveStatus.REFUSED:
        click.echo(
            f"refused: removing batch {info.id} would leave violations; nothing removed (--force to remove anyway)"
        )
        click.echo(render_text(result.report, title="graph without the batch "), nl=False)
        click.get_current_context().exit(int(ExitStatus.FINDINGS))
    if result.status == RemoveStatus.DRY_RUN:
        click.echo(f"dry run: would remove batch {info.id} ({info.triples} triples, {info.path})")
        return
    click.echo(f"removed batch {info.id} ({info.triples} triples, {info.path})")


@cli.command("batches")
@format_option(["table", "json"], "table")
@pass_state
def batches_command(state: State, fmt: str) -> None:
    """List the batches added with `kgraph add`, oldest first."""
    import json

    found = state.open().batches()
    if fmt == "json":
        click.echo(json.dumps([b.__dict__ for b in found], indent=2, ensure_ascii=False))
        return
    rows = [[b.id, b.added, b.triples, ", ".join(b.sources), b.source or ""] for b in found]
    click.echo(
        table(
            ["batch", "added", "triples", "from", "source"],
            rows,
            "batch",
            "batches",
            width=terminal_width(),
        ),
        nl=False,
    )


@cli.command("template")
def template_command() -> None:
    """Print a commented claim sheet to copy and edit, then add with `kgraph add SHEET.yaml`."""
    from kgraph.sheets import TEMPLATE

    click.echo(TEMPLATE, nl=False)
