"""Rendering query results: the W3C result formats, RDF for graph results, and a table.

Local and remote results go through the same code, so ``kgraph query NAME`` prints the
same bytes whether it ran in process or against ``--endpoint``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from kgraph.errors import Setting, UsageError
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


class Form(Enum):
    """What a query answers: solutions, a boolean, or a graph (CONSTRUCT / DESCRIBE)."""

    SELECT = "SELECT"
    ASK = "ASK"
    GRAPH = "GRAPH"


NATIVE = {Form.SELECT: "tsv", Form.GRAPH: "nt", Form.ASK: ""}
"""What a result carries unless a format was asked for: SPARQL TSV for solutions (terms
written as in Turtle, so lossless, and far cheaper to send from the worker than pickled
terms), N-Triples for a graph, nothing for ASK (its boolean is enough)."""


@dataclass(frozen=True)
class QueryResult:
    """A query's answer as the engine serialised it (in the worker, or from an endpoint).

    ``data`` holds the answer in ``encoding`` (:data:`NATIVE` for the form, or the format
    the query was asked to answer in); ``rows()`` and ``triples()`` parse it on demand and
    ``serialize`` re-serialises it only when another format is wanted."""

    form: Form
    variables: tuple[str, ...]
    data: bytes
    encoding: str
    answer: bool | None = None
    """ASK's boolean."""

    @property
    def boolean(self) -> bool:
        if self.form is not Form.ASK or self.answer is None:
            raise ValueError(f"a {self.form.value} result has no boolean")
        return self.answer

    def _solutions(self) -> Any:
        import pyoxigraph as ox

        if self.form is not Form.SELECT or self.encoding not in ("tsv", "json", "xml"):
            raise ValueError(f"a {self.form.value} result in {self.encoding!r} has no rows")
        fmt = getattr(ox.QueryResultsFormat, self.encoding.upper())
        return ox.parse_query_results(self.data, format=fmt)

    def rows(self) -> list[tuple[Any, ...]]:
        """The solutions, one tuple of terms (None where unbound) per row."""
        names = self.variables
        return [tuple(s[v] for v in names) for s in self._solutions()]

    def triples(self) -> list[Any]:
        import pyoxigraph as ox

        if self.form is not Form.GRAPH:
            raise ValueError(f"a {self.form.value} result has no triples")
        syntax = RdfSyntax.from_name(self.encoding)
        if syntax.quads:
            return [q.triple for q in ox.parse(self.data, format=syntax.oxigraph())]
        return list(ox.parse(self.data, format=syntax.oxigraph()))

    def serialize(self, fmt: ResultFormat | RdfSyntax | str) -> bytes:
        """The answer in ``fmt`` (a W3C result format for SELECT and ASK, an RDF syntax for a
        graph); the bytes as they are when they already are in it."""
        name = (
            fmt
            if isinstance(fmt, str)
            else fmt.value
            if isinstance(fmt, ResultFormat)
            else fmt.cli_name
        )
        check_format(self.form.value, name)
        if name == "table":
            raise ValueError("a table is drawn by the command line, from rows()")
        if name == self.encoding:
            return self.data
        if self.form is Form.GRAPH:
            return serialize_triples(self.triples(), RdfSyntax.from_name(name))
        return encode(
            self.form, self._solutions() if self.form is Form.SELECT else self.boolean, name
        )

    def select(self, columns: Sequence[str]) -> QueryResult:
        """The solutions with only ``columns``, in that order (the names must be variables)."""
        if self.encoding != "tsv":
            return QueryResult(self.form, self.variables, self.serialize("tsv"), "tsv").select(
                columns
            )
        # TSV escapes tabs and newlines inside terms, so a line is a row and a tab a cell
        # (a row of one unbound variable is an empty line: keep it).
        lines = self.data.removesuffix(b"\n").split(b"\n")
        index = [self.variables.index(c) for c in columns]
        picked = [b"\t".join(line.split(b"\t")[i] for i in index) for line in lines]
        return QueryResult(self.form, tuple(columns), b"\n".join(picked) + b"\n", "tsv")


def encode(form: Form, answer: Any, fmt: str) -> bytes:
    """Oxigraph's solutions or boolean (``answer``) in the result format ``fmt``."""
    import pyoxigraph as ox

    if form is Form.ASK and isinstance(answer, bool):
        # Oxigraph cannot construct a QueryBoolean; an empty store answers one.
        answer = ox.Store().query("ASK {}" if answer else "ASK { FILTER(false) }")
    data = answer.serialize(format=getattr(ox.QueryResultsFormat, fmt.upper()))
    return _with_newline(data)


def form_of(result: Any) -> str:
    import pyoxigraph as ox

    if isinstance(result, ox.QueryBoolean):
        return "ASK"
    if isinstance(result, ox.QuerySolutions):
        return "SELECT"
    return "GRAPH"


_GRAPH_FORMATS = frozenset(RdfSyntax.names())
"""Built once: every query with a ``-f`` is checked against it."""


def check_format(form: str, fmt: str) -> None:
    if fmt not in QUERY_FORMATS:
        raise UsageError(f"unknown format {fmt!r}; use one of {', '.join(QUERY_FORMATS)}")
    graph_formats = _GRAPH_FORMATS
    if form == "GRAPH" and fmt not in graph_formats and fmt != "table":
        raise UsageError(
            f"a CONSTRUCT/DESCRIBE result is RDF: set {Setting.OUTPUT_FORMAT} to one of "
            f"{'|'.join(RdfSyntax.names())}",
            setting=Setting.OUTPUT_FORMAT,
        )
    if form != "GRAPH" and fmt in graph_formats - {"xml"}:
        raise UsageError(
            f"{'an' if form == 'ASK' else 'a'} {form} result is a table: set "
            f"{Setting.OUTPUT_FORMAT} to one of "
            f"{'|'.join(ResultFormat.names())}",
            setting=Setting.OUTPUT_FORMAT,
        )


def capture(result: Any, fmt: str | None = None) -> QueryResult:
    """An Oxigraph result (local, or parsed from an endpoint's answer) as a QueryResult, in
    ``fmt`` when given (so that ``-f csv`` is serialised once, where the query ran)."""
    form = Form(form_of(result))
    fmt = None if fmt == "table" else fmt  # the command line draws tables, from rows()
    encoding = fmt or NATIVE[form]
    if fmt is not None:
        check_format(form.value, fmt)
    if form is Form.GRAPH:
        triples = list(result)
        return QueryResult(
            form, (), serialize_triples(triples, RdfSyntax.from_name(encoding)), encoding
        )
    if form is Form.ASK:
        value = bool(result)
        return QueryResult(
            form, (), encode(form, result, encoding) if encoding else b"", encoding, value
        )
    variables = tuple(v.value for v in result.variables)
    return QueryResult(form, variables, encode(form, result, encoding), encoding)


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
