"""The ``kgraph`` command: parse arguments, call the library, write the output.

Only this module imports Click. Heavy libraries (Oxigraph, rdflib, pySHACL) are imported
inside the commands that use them, so ``kgraph --help`` starts in a blink.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from kgraph import __version__
from kgraph.errors import ExitStatus, KGraphError, StorageError
from kgraph.formats import EXPORT_FORMATS, QUERY_FORMATS, RdfSyntax
from kgraph.limits import MB, Limits

T = TypeVar("T")

INFER = click.Choice(["none", "rdfs", "owlrl"])
PROFILE = click.Choice(["rdfs", "owlrl"])


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


class KGraphGroup(click.Group):
    """Turns every :class:`KGraphError` into one line on stderr and its exit code."""

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
            ctx.exit(130)


def _error_line(err: KGraphError) -> str:
    """``Error: ...`` on one line, whatever the engines put in their messages (lists,
    quoted newlines), with control characters escaped: a store's answer or a data value
    quoted in a message must not drive the terminal (escape sequences)."""
    from kgraph.results import printable

    return "Error: " + printable(" ".join(str(err).split()))


class State:
    """What the group's options set up for the commands."""

    def __init__(self, project: str | None, store: str | None, limits: Limits, quiet: bool) -> None:
        self._project_dir = project
        self.store_dir = Path(store) if store else None
        self.limits = limits
        self.quiet = quiet

    def context(self) -> Any:
        from kgraph.operations import Context
        from kgraph.project import Project

        return Context(Project.locate(self._project_dir), self.limits, self.store_dir)


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
    3 remote store or I/O failure; 4 a resource limit hit.
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


def _bounded(
    state: State,
    fn: Callable[..., T],
    *args: Any,
    reads: tuple[str, ...] = (),
    writes: tuple[str, ...] = (),
    **kwargs: Any,
) -> T:
    """Run ``fn(context, worker, ...)`` in the confined worker; it may read the project,
    the input files ``reads`` and write the store and the private folders ``writes``."""
    from kgraph.limits import run_bounded

    context = state.context()
    access = _access(state, context, reads, writes)
    return run_bounded(lambda w: fn(context, w, *args, **kwargs), state.limits, access=access)


_warned = False


def _access(state: State, context: Any, reads: tuple[str, ...], writes: tuple[str, ...]) -> Any:
    from kgraph import sandbox

    global _warned
    warning = sandbox.support().warning()
    if warning and not _warned:
        _warned = True
        click.echo(f"Warning: {warning}", err=True)
    project = context.project
    folders = [project.ontology_dir, project.data_dir, project.queries_dir]
    store = [str(state.store_dir)] if state.store_dir else []
    if state.store_dir and not state.store_dir.exists():
        # The worker may write only beneath folders that exist when it starts.
        try:
            state.store_dir.mkdir(parents=True)
        except OSError as err:
            raise StorageError(f"cannot create the store folder {state.store_dir}: {err}") from err
    return sandbox.Access(
        read=tuple(str(f) for f in folders) + sandbox.readable(reads),
        write=(*store, *writes),
    )


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


# -- queries --------------------------------------------------------------------------------


@cli.command("queries")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@pass_state
def list_queries(state: State, fmt: str) -> None:
    """List the canned queries with their parameters and summary.

    A query file that does not load is named on stderr (exit 2); the others are listed.
    """
    import json

    from kgraph.queries import scan, summaries

    scanned = scan(state.context().project.queries_dir, limit=state.limits.max_input_bytes)
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
        from kgraph.results import table

        click.echo(table(["name", "parameters", "summary"], summaries(found.values())).rstrip("\n"))
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
    help="Bind a parameter (repeatable); typed by the query header.",
)
@click.option(
    "--infer",
    type=INFER,
    default="none",
    show_default=True,
    help="Query the graph plus its RDFS or OWL 2 RL closure.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(QUERY_FORMATS),
    default="table",
    show_default=True,
    help="table/csv/tsv/json/xml for SELECT and ASK; turtle/nt/nq/trig/jsonld/xml for CONSTRUCT and DESCRIBE.",
)
@click.option(
    "-o", "--output", metavar="FILE", help="Write to FILE (atomically) instead of standard output."
)
@click.option(
    "--endpoint",
    metavar="URL",
    help="Run against this SPARQL 1.1 endpoint instead of the local graph.",
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
) -> None:
    """Run a canned query (by NAME), a query file, or -e 'SPARQL'.

    Only read queries run: updates, SERVICE, LOAD and FROM graphs outside the dataset
    are refused. Examples:

      kgraph query officials-and-posts -p date 2024-10-28

      kgraph query -e 'SELECT ?s WHERE { ?s a kg:Visit }' -f csv
    """
    from kgraph.queries import bind, resolve

    context = state.context()
    canned = resolve(
        query, expression, context.project.queries_dir, limit=context.limits.max_input_bytes
    )
    bound = bind(canned, params)
    if endpoint:
        from kgraph.remote import remote_query

        rendered = remote_query(endpoint, canned, bound, fmt=fmt, context=context, infer=infer)
    else:
        from kgraph.operations import run_query

        rendered = _bounded(state, run_query, canned, bound, fmt=fmt, infer=infer)
    _emit(rendered.data, output)


# -- validation, reasoning, export ----------------------------------------------------------


@cli.command("validate")
@click.argument("files", nargs=-1, metavar="[FILE]...")
@click.option(
    "--infer",
    type=INFER,
    default="none",
    show_default=True,
    help="Validate the graph plus its RDFS or OWL 2 RL closure.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["text", "turtle", "json"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--input-format",
    type=click.Choice(RdfSyntax.names()),
    help="Syntax of FILEs (default: from the extension; needed for -).",
)
@click.option("--base", metavar="IRI", help="Base IRI for relative IRIs in FILEs.")
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE (atomically).")
@pass_state
def validate_command(
    state: State,
    files: tuple[str, ...],
    infer: str,
    fmt: str,
    input_format: str | None,
    base: str | None,
    output: str | None,
) -> None:
    """Check the graph, plus new triples in FILEs, against ontology/shapes.ttl.

    Exit 0 when everything conforms, 1 when there are violations.
    """
    from kgraph import operations
    from kgraph.report import render

    syntax = RdfSyntax.from_name(input_format) if input_format else None
    report = _bounded(
        state, operations.validate, files, reads=files, infer=infer, syntax=syntax, base_iri=base
    )
    _emit(render(report, fmt), output)
    if not report.conforms:
        click.get_current_context().exit(int(ExitStatus.FINDINGS))


@cli.command("reason")
@click.option(
    "--profile",
    type=PROFILE,
    default="owlrl",
    show_default=True,
    help="RDFS or OWL 2 RL entailment.",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(RdfSyntax.names()),
    default="turtle",
    show_default=True,
)
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (atomically).")
@pass_state
def reason_command(state: State, profile: str, fmt: str, output: str | None) -> None:
    """Print the inferred triples alone (the closure minus what is asserted)."""
    from kgraph import operations

    data = _bounded(state, operations.reason, profile=profile, syntax=RdfSyntax.from_name(fmt))
    _emit(data, output)


@cli.command("export")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    default="nq",
    show_default=True,
    help="Quad formats (nq, trig, jsonld) keep the named graphs; .gz for bulk loaders.",
)
@click.option(
    "--inferred",
    type=INFER,
    default="none",
    show_default=True,
    help="Also export the RDFS or OWL 2 RL closure, in its own graph.",
)
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (atomically).")
@pass_state
def export_command(state: State, fmt: str, inferred: str, output: str | None) -> None:
    """Write the whole dataset: every source file's graph (and the inferred one)."""
    import shutil

    from kgraph import operations
    from kgraph.fsutil import describe_os_error, fsync_dir, temp_path_for

    if fmt.endswith(".gz") and not output and sys.stdout.isatty():
        raise KGraphError("refusing to write gzip to a terminal; use -o FILE")
    if not output:
        _emit(_bounded(state, operations.export, fmt=fmt, inferred=inferred, target=None), None)  # type: ignore[arg-type]
        return
    target = Path(output)
    tmp = temp_path_for(target)
    try:
        try:
            # The confined worker writes into a private folder of its own, next to the target.
            target.parent.mkdir(parents=True, exist_ok=True)  # as every other -o does
            tmp.mkdir()
            part = tmp / target.name
            _bounded(
                state,
                operations.export,
                fmt=fmt,
                inferred=inferred,
                target=part,
                name=output,
                writes=(str(tmp),),
            )
            part.replace(target)
            fsync_dir(target.parent)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as err:
        raise StorageError(describe_os_error(err, target)) from err


@cli.command("convert")
@click.argument("file", metavar="FILE")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(RdfSyntax.names()),
    default="nt",
    show_default=True,
    help="Output syntax.",
)
@click.option(
    "--input-format",
    type=click.Choice(RdfSyntax.names()),
    help="Syntax of FILE (default: from the extension; needed for -).",
)
@click.option("--base", metavar="IRI", help="Base IRI for relative IRIs in FILE.")
@click.option("-o", "--output", metavar="FILE", help="Write to FILE (atomically).")
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
    from kgraph import operations

    syntax = RdfSyntax.from_name(input_format) if input_format else None
    data = _bounded(
        state,
        operations.convert,
        file,
        reads=(file,),
        syntax=syntax,
        base_iri=base,
        target=RdfSyntax.from_name(fmt),
    )
    _emit(data, output)


@cli.command("stats")
@click.option(
    "--infer", type=INFER, default="none", show_default=True, help="Count the closure too."
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "turtle"]),
    default="table",
    show_default=True,
    help="turtle gives a VoID description.",
)
@pass_state
def stats_command(state: State, infer: str, fmt: str) -> None:
    """Triples per graph, instances per class, properties used, shapes and their targets."""
    import json

    from kgraph import stats
    from kgraph.namespaces import shorten

    found = _bounded(state, stats.collect, infer=infer)
    if fmt == "turtle":
        _emit(stats.void(found), None)
        return
    if fmt == "json":
        click.echo(json.dumps(found.__dict__, indent=2, ensure_ascii=False))
        return
    click.echo(f"{found.triples} triples, {found.subjects} subjects, {len(found.graphs)} graphs\n")
    click.echo(
        _plain_table(
            ["graph", "file", "triples"], [[shorten(g), f, n] for g, f, n in found.graphs], "graph"
        )
    )
    click.echo(
        _plain_table(
            ["class", "instances"], [[shorten(c), n] for c, n in found.classes], "class", "classes"
        )
    )
    click.echo(
        _plain_table(
            ["property", "triples"],
            [[shorten(p), n] for p, n in found.properties],
            "property",
            "properties",
        )
    )
    click.echo(
        _plain_table(
            ["shape", "targets"],
            [[shorten(s), ", ".join(shorten(t) for t in ts.split(", "))] for s, ts in found.shapes],
            "shape",
        ),
        nl=False,
    )


@cli.command("check")
@click.option(
    "--infer",
    type=INFER,
    default="none",
    show_default=True,
    help="Run the checks on the closure too (disjointness, owl:Nothing).",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["table", "tsv", "json"]),
    default="table",
    show_default=True,
    help="tsv is ROBOT's report format.",
)
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE (atomically).")
@pass_state
def check_command(state: State, infer: str, fmt: str, output: str | None) -> None:
    """Run the quality checks (queries/checks/*-violation.rq and ontology hygiene).

    ROBOT-style report: Level, Rule Name, Subject, Property, Value. Exit 1 on any ERROR.
    """
    import json

    from kgraph import checks

    report = _bounded(state, checks.run, infer=infer)
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
        data = _plain_table(columns, rows, "finding")
        data += f"{len(report.rules)} rules, {report.errors} errors, {len(rows) - report.errors} warnings/info\n"
    _emit(data.encode(), output)
    if report.errors:
        click.get_current_context().exit(int(ExitStatus.FINDINGS))


# -- the write path ------------------------------------------------------------------------


@cli.command("add")
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option(
    "--source",
    metavar="IRI|TEXT",
    help="The document the triples were read from (recorded with the batch).",
)
@click.option("--dry-run", is_flag=True, help="Validate and report, but write nothing.")
@click.option(
    "--infer",
    type=INFER,
    default="none",
    show_default=True,
    help="Validate with the RDFS or OWL 2 RL closure (costs a closure of the whole graph).",
)
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["text", "turtle", "json"]),
    default="text",
    show_default=True,
    help="Report format.",
)
@click.option(
    "--input-format",
    type=click.Choice(RdfSyntax.names()),
    help="Syntax of FILEs (default: from the extension; needed for -).",
)
@click.option("--base", metavar="IRI", help="Base IRI for relative IRIs in FILEs.")
@click.option(
    "--wait",
    type=WAIT,
    default=60.0,
    show_default=True,
    metavar="S",
    help="Seconds to wait for another writer to finish.",
)
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
) -> None:
    """Validate new triples together with the graph and, if they conform, store them.

    The batch becomes data/batches/<id>.ttl, its own named graph, with a provenance
    record. Only violations the batch introduces are reported; on any failure nothing
    is written. Adding the same input twice adds nothing the second time.
    """
    from kgraph import batches
    from kgraph.fsutil import clean_leftovers, write_atomic
    from kgraph.lock import project_lock

    context = state.context()
    syntax = RdfSyntax.from_name(input_format) if input_format else None
    if context.project.shipped:
        raise KGraphError(
            "the shipped graph is read-only; run `kgraph add` in a project folder or pass --project DIR"
        )
    with project_lock(context.project.root, wait=wait, on_wait=lambda m: _note(state, m)):
        clean_leftovers(context.project.data_dir)
        result = _bounded(
            state,
            batches.add,
            files,
            reads=files,
            source=source,
            syntax=syntax,
            base_iri=base,
            infer=infer,
            dry_run=dry_run,
        )
        if result.status == "added":
            assert result.batch is not None
            write_atomic(
                context.project.safe(context.project.root / result.batch.path),
                result.content,
                exclusive=True,
            )
    _emit(_add_output(result, fmt), None)
    if result.status == "rejected":
        click.get_current_context().exit(int(ExitStatus.FINDINGS))


def _add_output(result: Any, fmt: str) -> bytes:
    import json

    from kgraph.report import render, render_text

    info = result.batch
    if fmt == "turtle":
        return render(result.report, "turtle")
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
@click.option(
    "--wait",
    type=WAIT,
    default=60.0,
    show_default=True,
    metavar="S",
    help="Seconds to wait for another writer to finish.",
)
@pass_state
def remove_command(state: State, batch: str, force: bool, dry_run: bool, wait: float) -> None:
    """Take a batch out again: the graph is then exactly what it was before the add.

    BATCH is an id from `kgraph batches`, the batch file's path, or a unique prefix of at
    least 8 characters of the id or of its SHA-256.
    Refused, with the violations listed, if other triples depend on it (unless --force).
    """
    from kgraph import batches
    from kgraph.fsutil import clean_leftovers, remove_durably
    from kgraph.lock import project_lock
    from kgraph.report import render_text

    context = state.context()
    if context.project.shipped:
        raise KGraphError("the shipped graph is read-only; pass --project DIR")
    with project_lock(context.project.root, wait=wait, on_wait=lambda m: _note(state, m)):
        clean_leftovers(context.project.data_dir)
        info = batches.find_batch(context.project.root, batch)
        report = _bounded(state, batches.check_removal, info)
        if not report.conforms and not force:
            click.echo(
                f"refused: removing batch {info.id} would leave violations; nothing removed (--force to remove anyway)"
            )
            click.echo(render_text(report, title="graph without the batch "), nl=False)
            click.get_current_context().exit(int(ExitStatus.FINDINGS))
        if dry_run:
            click.echo(
                f"dry run: would remove batch {info.id} ({info.triples} triples, {info.path})"
            )
            return
        remove_durably(context.project.safe(context.project.root / info.path))
    click.echo(f"removed batch {info.id} ({info.triples} triples, {info.path})")


@cli.command("batches")
@click.option(
    "-f",
    "--format",
    "fmt",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@pass_state
def batches_command(state: State, fmt: str) -> None:
    """List the batches added with `kgraph add`, oldest first."""
    import json

    from kgraph import batches
    from kgraph.fsutil import clean_leftovers
    from kgraph.lock import project_lock

    context = state.context()
    if not context.project.shipped:
        # A start after a crash cleans what the crashed writer left (only when no writer runs).
        try:
            with project_lock(context.project.root, wait=0):
                clean_leftovers(context.project.data_dir)
        except StorageError:
            pass
    found = batches.list_batches(context.project.root, limit=state.limits.max_input_bytes)
    if fmt == "json":
        click.echo(json.dumps([b.__dict__ for b in found], indent=2, ensure_ascii=False))
        return
    rows = [[b.id, b.added, b.triples, ", ".join(b.sources), b.source or ""] for b in found]
    click.echo(
        _plain_table(["batch", "added", "triples", "from", "source"], rows, "batch", "batches"),
        nl=False,
    )


def _plain_table(
    columns: list[str], rows: list[list[Any]], noun: str = "row", plural: str = ""
) -> str:
    """An aligned table of plain Python values (control characters escaped, as in
    :func:`kgraph.results.table`)."""
    from kgraph.results import printable

    cells = [[printable(str(v).replace("\n", "⏎")) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.append(f"({len(rows)} {noun if len(rows) == 1 else plural or noun + 's'})")
    return "\n".join(lines) + "\n"


# -- remote stores ---------------------------------------------------------------------------

STORE_KINDS = [
    "auto",
    "oxigraph",
    "fuseki",
    "graphdb",
    "virtuoso",
    "neptune",
    "stardog",
    "qlever",
    "generic",
]


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
@click.option(
    "--inferred",
    type=INFER,
    default="none",
    show_default=True,
    help="Also push the RDFS or OWL 2 RL closure, in its own graph.",
)
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
    inferred: str,
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
    import tempfile

    from kgraph import remote

    verify_at = remote.query_endpoint_for(url, store_kind, query_endpoint)
    options = remote.PushOptions(merge=not replace, chunk_size=chunk_size, timeout=http_timeout)
    with tempfile.TemporaryDirectory(prefix="kgraph-push-") as folder:
        files = _bounded(
            state,
            remote.prepare,
            graphs=graphs,
            inferred=inferred,
            folder=folder,
            writes=(folder,),
        )
        if dry_run:
            click.echo(remote.render_plan(remote.plan(files, options), url, verify_at), nl=False)
            return
        try:
            with _Progress(state, sum(f.triples for f in files)) as advance:
                report = remote.push(files, url, verify_at, options, progress=advance)
        except KeyboardInterrupt:
            rerun = remote.RERUN_SAFE if replace else remote.RERUN_MERGE
            click.echo(f"Error: interrupted; {rerun}", err=True)
            click.get_current_context().exit(130)
    click.echo(remote.render_counts(report), nl=False)
    remote.check_counts(report, merge=not replace)
    _note(
        state,
        f"pushed {len(files)} graphs ({report.triples} triples) in {report.requests} requests; {'counts and content' if replace else 'counts'} verified at {verify_at}",
    )


# -- serve (issue 12): options only; the server lives in kgraph.server ----------------------


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
@click.option(
    "--workers",
    type=click.IntRange(1, 256),
    default=2,
    show_default=True,
    metavar="N",
    help="Queries run at once, each in its own worker process.",
)
@click.option(
    "--timeout",
    "query_timeout",
    type=float,
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
    "--queue-wait",
    type=float,
    default=10.0,
    show_default=True,
    metavar="S",
    help="Seconds a request waits for a free worker before a 503.",
)
@pass_state
def serve_command(
    state: State,
    host: str,
    port: int,
    workers: int,
    query_timeout: float | None,
    max_bytes: int,
    queue_wait: float,
) -> None:
    """Serve the graph read-only: a SPARQL 1.1 endpoint (/sparql) and pages to read it (/)."""
    from kgraph.server import Settings, serve

    if query_timeout is None:
        query_timeout = (
            state.limits.query_timeout
            if state.limits.query_timeout != Limits.query_timeout
            else 30.0
        )
    settings = Settings(
        host=host,
        port=port,
        workers=workers,
        timeout=query_timeout,
        max_bytes=max_bytes * MB,
        queue_wait=queue_wait,
        quiet=state.quiet,
    )
    serve(state._project_dir, state.store_dir, state.limits, settings)


class _Progress:
    """A progress bar on stderr when it is a terminal and not --quiet; else nothing."""

    def __init__(self, state: State, total: int) -> None:
        quiet = state.quiet or not sys.stderr.isatty()
        self._bar = (
            None
            if quiet
            else click.progressbar(length=total, label="pushing", file=sys.stderr, show_pos=True)
        )

    def __enter__(self) -> Callable[[int], None]:
        return self._bar.__enter__().update if self._bar is not None else (lambda n: None)

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)


def main() -> None:
    import signal

    def terminate(signum: int, frame: object) -> None:
        # SIGTERM unwinds like Ctrl-C, so that temporary files are removed on the way out.
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    cli(prog_name="kgraph")
