"""The commands that read the graph: queries, query, validate, reason, export, convert,
stats, check."""

from __future__ import annotations

import sys

import click

from kgraph.cli.app import State, _emit, _error_line, _note, cli, pass_state
from kgraph.cli.options import (
    PROFILE,
    base_option,
    engine_option,
    format_option,
    infer_option,
    input_format_option,
    output_option,
)
from kgraph.cli.render import table, terminal_width
from kgraph.errors import ExitStatus, KGraphError
from kgraph.formats import EXPORT_FORMATS, QUERY_FORMATS, RdfSyntax
from kgraph.reasoning import Profile
from kgraph.shacl.model import Engine

# -- queries --------------------------------------------------------------------------------


@cli.command("queries")
@format_option(["table", "json"], "table")
@pass_state
def list_queries(state: State, fmt: str) -> None:
    """List the canned queries with their parameters and summary.

    A query file that does not load is named on stderr (exit 2); the others are listed.
    """
    import json

    from kgraph.queries import summaries

    scanned = state.open().queries()
    found = scanned.queries
    if fmt == "json":
        rows = [
            {
                "name": q.name,
                "summary": q.summary,
                "params": [p.__dict__ for p in q.params],
                "columns": list(q.columns),
            }
            for q in found.values()
        ]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        listed = summaries(found.values())
        click.echo(
            table(["name", "parameters", "summary"], listed, width=terminal_width()), nl=False
        )
    for problem in scanned.problems:
        click.echo(_error_line(problem), err=True)
    if scanned.problems:
        click.get_current_context().exit(int(ExitStatus.BAD_INPUT))


@cli.command("query")
@click.argument("query", required=False, metavar="NAME|FILE.rq")
@click.option("-e", "--expression", metavar="SPARQL", help="Run this query text instead of a file.")
@click.option(
    "-p",
    "--param",
    "params",
    type=(str, str),
    multiple=True,
    metavar="NAME VALUE",
    help='Bind a parameter (repeatable); typed by the query header. An iri parameter takes an IRI, a CURIE or a name ("Choe Son Hui", speculated).',
)
@infer_option("Query the graph plus its RDFS or OWL 2 RL closure.")
@format_option(
    QUERY_FORMATS,
    "table",
    "table/csv/tsv/json/xml for SELECT and ASK; turtle/nt/nq/trig/jsonld/xml for CONSTRUCT and DESCRIBE.",
)
@output_option("Write to FILE (atomically) instead of standard output.")
@click.option(
    "--endpoint",
    metavar="URL",
    help="Run against this SPARQL 1.1 endpoint instead of the local graph.",
)
@click.option(
    "--columns",
    metavar="A,B,...",
    help="Show only these variables of a SELECT, in this order (any result format).",
)
@pass_state
def query_command(
    state: State,
    query: str | None,
    expression: str | None,
    params: tuple[tuple[str, str], ...],
    infer: str,
    fmt: str,
    output: str | None,
    endpoint: str | None,
    columns: str | None,
) -> None:
    """Run a canned query (by NAME), a query file, or -e 'SPARQL'.

    Only read queries run: updates, SERVICE, LOAD and FROM graphs outside the dataset
    are refused. Examples:

      kgraph query officials-and-posts -p date 2024-10-28

      kgraph query -e 'SELECT ?s WHERE { ?s a kg:Visit }' -f csv

    Tables fit the terminal (or COLUMNS): long cells are cut, marked with …, and columns
    that cannot keep their headings (an IRI beside its label first) are left out, named on
    the count line; an answer of one row that does not fit is shown as `name: value` lines.
    Piped, nothing is cut.
    """
    from kgraph.cli.render import query_output

    project = state.open()
    canned = project.resolve(query, expression)
    # The worker serialises straight to -f, unless the CLI still has work on the rows.
    direct = None if fmt == "table" or columns else fmt
    result = project.query(canned, params, infer=Profile(infer), fmt=direct, endpoint=endpoint)
    _emit(query_output(result, fmt, columns=columns, to_terminal=output is None), output)
    # After the answer, and only for a query that ran (a refused one has its one error line):
    # ad-hoc queries only, as the canned ones are checked by a test and pay nothing here.
    if expression is not None or (query and (query.endswith(".rq") or "/" in query)):
        for line in project.unknown_terms(canned):
            _note(state, f"Warning: {line}")


# -- validation, reasoning, export ----------------------------------------------------------


@cli.command("validate")
@click.argument("files", nargs=-1, metavar="[FILE]...")
@infer_option("Validate the graph plus its RDFS or OWL 2 RL closure.")
@format_option(["text", "turtle", "json"], "text", "Report format.")
@input_format_option()
@base_option()
@output_option("Write the report to FILE (atomically).")
@engine_option()
@click.option(
    "--endpoint",
    metavar="URL",
    help="Validate the graph a SPARQL 1.1 endpoint holds (its default graph: the union of "
    "the pushed graphs), where it is.",
)
@pass_state
def validate_command(
    state: State,
    files: tuple[str, ...],
    infer: str,
    fmt: str,
    input_format: str | None,
    base: str | None,
    output: str | None,
    engine: str,
    endpoint: str | None,
) -> None:
    """Check the graph, plus new triples in FILEs, against ontology/shapes.ttl.

    Exit 0 when everything conforms, 1 when there are violations. With --endpoint URL the
    compiled queries run in the store (credentials as for push; docs/stores.md) and the
    report is the local one; exit 3 when the store fails or does not answer within
    --timeout, 2 when a shape can only be validated here. Example:

      kgraph validate --endpoint http://127.0.0.1:7878/query
    """
    from kgraph.cli.render import ShapeProgress
    from kgraph.shacl.report import render

    syntax = RdfSyntax.from_name(input_format) if input_format else None
    with ShapeProgress(enabled=not state.quiet) as progress:
        report = state.open().validate(
            files,
            infer=Profile(infer),
            syntax=syntax,
            base_iri=base,
            engine=Engine(engine),
            endpoint=endpoint,
            progress=progress,
        )
    _emit(render(report, fmt), output)
    if not report.conforms:
        click.get_current_context().exit(int(ExitStatus.FINDINGS))


@cli.command("reason")
@infer_option("RDFS or OWL 2 RL entailment.", default="owlrl", choices=PROFILE, alias="--profile")
@format_option(RdfSyntax.names(), "turtle")
@output_option()
@pass_state
def reason_command(state: State, infer: str, fmt: str, output: str | None) -> None:
    """Print the inferred triples alone (the closure minus what is asserted)."""
    result = state.open().reason(Profile(infer), syntax=RdfSyntax.from_name(fmt))
    _emit(result.data, output)


@cli.command("export")
@format_option(
    EXPORT_FORMATS,
    "nq",
    "Quad formats (nq, trig, jsonld) keep the named graphs; .gz for bulk loaders.",
)
@infer_option("Also export the RDFS or OWL 2 RL closure, in its own graph.", alias="--inferred")
@output_option()
@pass_state
def export_command(state: State, fmt: str, infer: str, output: str | None) -> None:
    """Write the whole dataset: every source file's graph (and the inferred one)."""
    if fmt.endswith(".gz") and not output and sys.stdout.isatty():
        raise KGraphError("refusing to write gzip to a terminal; use -o FILE")
    data = state.open().export(fmt, infer=Profile(infer), target=output)
    if data is not None:
        _emit(data, None)


@cli.command("convert")
@click.argument("file", metavar="FILE")
@format_option(RdfSyntax.names(), "nt", "Output syntax.")
@input_format_option("FILE")
@base_option("FILE")
@output_option()
@pass_state
def convert_command(
    state: State,
    file: str,
    fmt: str,
    input_format: str | None,
    base: str | None,
    output: str | None,
) -> None:
    """Read FILE with the strict parser and the input guards, and write it in another syntax.

    The same reading as `validate` and `add`: use it to check a file before adding it.
    """
    syntax = RdfSyntax.from_name(input_format) if input_format else None
    project = state.open()
    data = project.convert(file, syntax=syntax, base_iri=base, to=RdfSyntax.from_name(fmt))
    _emit(data, output)


@cli.command("stats")
@infer_option("Count the closure too.")
@format_option(["table", "json", "turtle"], "table", "turtle gives a VoID description.")
@pass_state
def stats_command(state: State, infer: str, fmt: str) -> None:
    """Triples per graph, instances per class, properties used, shapes and their targets."""
    import json

    from kgraph import stats
    from kgraph.namespaces import shorten

    found = state.open().stats(infer=Profile(infer))
    if fmt == "turtle":
        _emit(stats.void(found), None)
        return
    if fmt == "json":
        click.echo(json.dumps(found.__dict__, indent=2, ensure_ascii=False))
        return
    click.echo(f"{found.triples} triples, {found.subjects} subjects, {len(found.graphs)} graphs\n")
    width = terminal_width()
    click.echo(
        table(
            ["graph", "file", "triples"],
            [[shorten(g), f, n] for g, f, n in found.graphs],
            "graph",
            width=width,
        )
    )
    click.echo(
        table(
            ["class", "instances"],
            [[shorten(c), n] for c, n in found.classes],
            "class",
            "classes",
            width=width,
        )
    )
    click.echo(
        table(
            ["property", "triples"],
            [[shorten(p), n] for p, n in found.properties],
            "property",
            "properties",
            width=width,
        )
    )
    click.echo(
        table(
            ["shape", "targets"],
            [[shorten(s), ", ".join(shorten(t) for t in ts.split(", "))] for s, ts in found.shapes],
            "shape",
            width=width,
        ),
        nl=False,
    )


@cli.command("check")
@infer_option("Run the checks on the closure too (disjointness, owl:Nothing).")
@format_option(["table", "tsv", "json"], "table", "tsv is ROBOT's report format.")
@output_option("Write the report to FILE (atomically).")
@pass_state
def check_command(state: State, infer: str, fmt: str, output: str | None) -> None:
    """Run the quality checks (queries/checks/*-violation.rq and ontology hygiene).

    ROBOT-style report: Level, Rule Name, Subject, Property, Value. Exit 1 on any ERROR.
    """
    import json

    report = state.open().check(infer=Profile(infer))
    columns = ["Level", "Rule Name", "Subject", "Property", "Value"]
    rows = [[f.level, f.rule, f.subject, f.property, f.value] for f in report.findings]
    if fmt == "json":
        data = (
            json.dumps(
                {
                    "rules": list(report.rules),
                    "findings": [dict(zip(columns, r, strict=True)) for r in rows],
                },
                indent=2,
                ensure_ascii=False,
            )
            + "\n"
        )
    elif fmt == "tsv":
        data = "\n".join("\t".join(r) for r in [columns, *rows]) + "\n"
    else:
        data = table(columns, rows, "finding", width=terminal_width() if output is None else None)
        data += f"{len(report.rules)} rules, {report.errors} errors, {len(rows) - report.errors} warnings/info\n"
    _emit(data.encode(), output)
    if report.errors:
        click.get_current_context().exit(int(ExitStatus.FINDINGS))
