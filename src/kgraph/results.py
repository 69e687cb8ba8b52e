"""Rendering query results: the W3C result formats, RDF for graph results, and a table.

Local and remote results go through the same code, so ``kgraph query NAME`` prints the
same bytes whether it ran in process or against ``--endpoint``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from kgraph.errors import UsageError
from kgraph.formats import QUERY_FORMATS, RdfSyntax, ResultFormat
from kgraph.namespaces import XSD, shorten, used_prefixes

_PLAIN_DATATYPES = {
    XSD + t
    for t in (
        "string",
        "integer",
        "decimal",
        "double",
        "date",
        "dateTime",
        "boolean",
        "gYearMonth",
        "gYear",
    )
}


@dataclass(frozen=True)
class Rendered:
    """A query result rendered for output."""

    data: bytes
    form: str
    """SELECT, ASK or GRAPH (CONSTRUCT / DESCRIBE)."""
    count: int
    """Rows, triples, or 1/0 for ASK; -1 where it was not counted (streamed formats)."""


def form_of(result: Any) -> str:
    import pyoxigraph as ox

    if isinstance(result, ox.QueryBoolean):
        return "ASK"
    if isinstance(result, ox.QuerySolutions):
        return "SELECT"
    return "GRAPH"


def check_format(form: str, fmt: str) -> None:
    if fmt not in QUERY_FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(QUERY_FORMATS)}")
    graph_formats = set(RdfSyntax.names())
    if form == "GRAPH" and fmt not in graph_formats and fmt != "table":
        raise UsageError(
            f"a CONSTRUCT/DESCRIBE result is RDF: use -f {'|'.join(RdfSyntax.names())}"
        )
    if form != "GRAPH" and fmt in graph_formats - {"xml"}:
        raise UsageError(f"a {form} result is a table: use -f {'|'.join(ResultFormat.names())}")


def render(result: Any, fmt: str) -> Rendered:
    """Render an Oxigraph result (local, or parsed from an endpoint's answer)."""
    import pyoxigraph as ox

    form = form_of(result)
    check_format(form, fmt)
    if form == "GRAPH":
        triples = list(result)
        syntax = RdfSyntax.TURTLE if fmt == "table" else RdfSyntax.from_name(fmt)
        return Rendered(serialize_triples(triples, syntax), form, len(triples))
    if form == "ASK":
        value = bool(result)
        if fmt == "table":
            return Rendered(b"true\n" if value else b"false\n", form, int(value))
        data = result.serialize(format=getattr(ox.QueryResultsFormat, fmt.upper()))
        return Rendered(_with_newline(data), form, int(value))
    if fmt == "table":
        variables = [v.value for v in result.variables]
        rows = [[solution[v] for v in variables] for solution in result]
        return Rendered(table(variables, rows).encode(), form, len(rows))
    data = result.serialize(format=getattr(ox.QueryResultsFormat, fmt.upper()))
    return Rendered(_with_newline(data), form, -1)


def serialize(
    items: Iterable[Any], syntax: RdfSyntax, *, prefixes: dict[str, str] | None = None
) -> bytes:
    """Triples or quads in ``syntax``, as bytes (Turtle and TriG with ``prefixes``)."""
    import pyoxigraph as ox

    data = ox.serialize(items, format=syntax.oxigraph(), prefixes=prefixes)
    assert data is not None  # no output stream given: Oxigraph returns the bytes
    return data


def serialize_triples(triples: Iterable[Any], syntax: RdfSyntax) -> bytes:
    """Triples in any syntax (in the default graph for the quad syntaxes), with the
    prefixes they use."""
    import pyoxigraph as ox

    triples = list(triples)
    items: Iterable[Any] = triples
    if syntax.quads:
        items = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
    return serialize(items, syntax, prefixes=prefixes_for(triples, syntax))


def prefixes_for(triples: Iterable[Any], syntax: RdfSyntax) -> dict[str, str] | None:
    """The known prefixes the triples use, for the syntaxes that have prefixes."""
    import pyoxigraph as ox

    if syntax not in (RdfSyntax.TURTLE, RdfSyntax.TRIG):
        return None
    iris = []
    for t in triples:
        for term in (t.subject, t.predicate, t.object):
            if isinstance(term, ox.NamedNode):
                iris.append(term.value)
            elif isinstance(term, ox.Literal):
                iris.append(term.datatype.value)
    return used_prefixes(iris)


def _with_newline(data: bytes) -> bytes:
    return data if data.endswith(b"\n") else data + b"\n"


def cell(value: Any) -> str:
    """A term as a person reads it in a table: CURIEs, bare dates, numbers and English
    strings; other languages keep their tag."""
    import pyoxigraph as ox

    if value is None:
        return ""
    if isinstance(value, ox.NamedNode):
        return shorten(value.value)
    if isinstance(value, ox.BlankNode):
        return f"_:{value.value}"
    if isinstance(value, ox.Literal):
        if value.language == "en":  # the common case reads best bare
            return value.value
        if value.language:
            return f"{value.value}@{value.language}"
        if value.datatype.value in _PLAIN_DATATYPES:
            return value.value
        return f'"{value.value}"^^{shorten(value.datatype.value)}'
    return str(value)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
"""C0 and C1 controls (ESC starts a terminal's escape sequences) and the bidirectional
overrides that make a line read differently from what it holds."""


def printable(text: str) -> str:
    """``text`` with every control character written as a ``\\xNN`` or ``\\uNNNN`` escape,
    for lines that go to a terminal: data and a store's answers must not drive it."""
    return _CONTROL.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """An aligned plain-text table (one line per row; newlines in values shown as ⏎, other
    control characters escaped)."""
    cells = [[printable(cell(v).replace("\n", "⏎")) for v in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in cells:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], len(text))
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += [
        "  ".join(t.ljust(w) for t, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    noun = "row" if len(rows) == 1 else "rows"
    lines.append(f"({len(rows)} {noun})")
    return "\n".join(lines) + "\n"
