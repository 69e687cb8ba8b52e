"""Checks that run before any engine sees untrusted input (threat model: docs/security.md).

Files and queries must not make kgraph reach the network or the disk, nor exhaust the
machine. These guards refuse, with the position of the offending text, what the engines
would otherwise act on: SPARQL ``SERVICE``/``LOAD``/updates and foreign ``FROM`` graphs,
JSON-LD ``@context`` references, XML entity declarations, and nesting deep enough to
overflow a native parser's stack (Oxigraph's SPARQL and JSON-LD parsers crash at a few
thousand levels).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from kgraph.errors import InputError, LimitError, RefusedError
from kgraph.formats import RdfSyntax

_SPARQL_TOKEN = re.compile(
    r"""
      (?P<comment>\#[^\n\r]*)
    | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
        |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<var>[?$][^\s{}()\[\];,.<>=!&|+*/"'#^]+)
    | (?P<pname>[A-Za-z_][\w.\-]*:[^\s{}()\[\];,<>"'#^]*|:[^\s{}()\[\];,<>"'#^]*)
    | (?P<word>[A-Za-z_]\w*)
    | (?P<open>[{(\[])
    | (?P<close>[})\]])
    | (?P<other>\S)
    """,
    re.VERBOSE | re.DOTALL,
)

_UPDATE_WORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "CREATE", "DROP", "COPY", "MOVE", "ADD"}
_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}


@dataclass(frozen=True)
class QueryShape:
    """What the guard learnt about a query while checking it."""

    form: str
    """SELECT, ASK, CONSTRUCT or DESCRIBE."""
    from_graphs: tuple[str, ...]
    """IRIs named in FROM / FROM NAMED clauses."""


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return line, column


def check_query(
    text: str,
    *,
    max_depth: int,
    allowed_graphs: Iterable[str] | None = None,
    allowed_graph_prefix: str | None = None,
    source: str = "query",
) -> QueryShape:
    """Refuse updates, SERVICE, and FROM graphs outside the dataset; bound the nesting.

    Raises :class:`RefusedError` (exit 2) or :class:`LimitError` (exit 4) with the line and
    column of the offending token.
    """
    allowed = set(allowed_graphs or ())
    depth = 0
    form = ""
    froms: list[str] = []
    prefixes: dict[str, str] = {}
    expect_from_iri = False
    pending_prefix: str | None = None
    expect_prefix_label = False
    for match in _SPARQL_TOKEN.finditer(text):
        kind = match.lastgroup
        token = match.group()
        if kind == "comment":
            continue
        if kind == "pname" and expect_prefix_label:
            pending_prefix = token[:-1] if token.endswith(":") else token.split(":", 1)[0]
            expect_prefix_label = False
            continue
        if kind == "iri" and pending_prefix is not None:
            prefixes[pending_prefix] = token[1:-1]
            pending_prefix = None
            continue
        if kind == "pname" and expect_from_iri:
            label, _, local = token.partition(":")
            if label not in prefixes:
                line, col = _position(text, match.start())
                raise InputError(f"undeclared prefix {label!r} in FROM", path=source, line=line, column=col)
            kind, token = "iri", f"<{prefixes[label]}{local}>"
        elif kind in ("string", "var", "pname"):
            expect_from_iri = False
            continue
        if kind == "open":
            depth += 1
            if depth > max_depth:
                line, col = _position(text, match.start())
                raise LimitError(
                    f"query nests brackets deeper than {max_depth} levels; raise --max-depth "
                    "only if you trust the query",
                    path=source,
                    line=line,
                    column=col,
                )
        elif kind == "close":
            depth = max(0, depth - 1)
        elif kind == "word":
            word = token.upper()
            if word == "PREFIX":
                expect_prefix_label = True
                continue
            if word in _UPDATE_WORDS:
                line, col = _position(text, match.start())
                raise RefusedError(
                    f"SPARQL Update ({word}) is refused: kgraph only runs read queries; "
                    "add triples with `kgraph add`",
                    path=source,
                    line=line,
                    column=col,
                )
            if word == "SERVICE":
                line, col = _position(text, match.start())
                raise RefusedError(
                    "SERVICE is refused: a federated query would send data to another "
                    "endpoint; run the query against that endpoint with --endpoint instead",
                    path=source,
                    line=line,
                    column=col,
                )
            if word in _FORMS and not form:
                form = word
            if word == "FROM":
                expect_from_iri = True
                continue
            if word == "NAMED" and expect_from_iri:
                continue
        elif kind == "iri" and expect_from_iri:
            iri = token[1:-1]
            froms.append(iri)
            permitted = iri in allowed or (
                allowed_graph_prefix is not None and iri.startswith(allowed_graph_prefix)
            )
            if not permitted:
                line, col = _position(text, match.start())
                raise RefusedError(
                    f"FROM <{iri}> is refused: it is not a graph of this dataset, and kgraph "
                    "never fetches graphs from the web or the disk",
                    path=source,
                    line=line,
                    column=col,
                )
        expect_from_iri = False
    if not form:
        raise InputError("not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE", path=source)
    return QueryShape(form=form, from_graphs=tuple(froms))


_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


def check_rdf(data: bytes, syntax: RdfSyntax, *, name: str, max_depth: int) -> None:
    """Refuse RDF input that would make a parser fetch, read files or blow up."""
    if syntax is RdfSyntax.XML:
        _check_xml(data, name)
    elif syntax is RdfSyntax.JSONLD:
        _check_jsonld(data, name, max_depth)


def _check_xml(data: bytes, name: str) -> None:
    doctype = _DOCTYPE.search(data)
    if doctype is None:
        return
    line, col = _position(data.decode("utf-8", "replace"), doctype.start())
    entity = _ENTITY.search(data, doctype.start())
    if entity is not None:
        line, col = _position(data.decode("utf-8", "replace"), entity.start())
        raise RefusedError(
            "RDF/XML with a DOCTYPE that declares entities is refused: entity expansion can "
            "exhaust memory ('billion laughs') or read files; convert the file to Turtle",
            path=name,
            line=line,
            column=col,
        )
    if re.search(rb"\b(SYSTEM|PUBLIC)\b", data[doctype.start() : doctype.start() + 4096]):
        raise RefusedError(
            "RDF/XML with an external DOCTYPE is refused: it would make the parser fetch a DTD",
            path=name,
            line=line,
            column=col,
        )


_JSON_BRACKETS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[{]|[\]}]', re.DOTALL)


def _check_jsonld(data: bytes, name: str, max_depth: int) -> None:
    depth = 0
    for match in _JSON_BRACKETS.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                line, col = _position(data.decode("utf-8", "replace"), match.start())
                raise LimitError(
                    f"JSON-LD nests deeper than {max_depth} levels; raise --max-depth only if "
                    "you trust the file",
                    path=name,
                    line=line,
                    column=col,
                )
        elif token in (b"]", b"}"):
            depth -= 1
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as err:
        line = getattr(err, "lineno", None)
        col = getattr(err, "colno", None)
        raise InputError(f"invalid JSON: {getattr(err, 'msg', err)}", path=name, line=line, column=col) from err
    for where, reference in _context_references(document):
        raise RefusedError(
            f"JSON-LD {where} {reference!r} is refused: kgraph never fetches or reads a "
            "context while parsing; inline the context in the document",
            path=name,
        )


def _context_references(document: object) -> Iterable[tuple[str, str]]:
    """Yield every remote or file context a JSON-LD document refers to.

    A context is given inline (an object), by reference (a string: remote or relative,
    both refused), or imported (``@import``); scoped contexts nest inside term definitions.
    """
    stack: list[object] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key != "@context":
                    stack.append(value)
                    continue
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str):
                        yield "@context", item
                    elif isinstance(item, dict):
                        if "@import" in item:
                            yield "@import", str(item["@import"])
                        stack.append(item)
        elif isinstance(node, list):
            stack.extend(node)
