"""Checks that run before any engine sees untrusted input (threat model: docs/security.md).

Files and queries must not make kgraph reach the network or the disk, nor exhaust the
machine. These guards refuse, with the position of the offending text, what the engines
would otherwise act on: SPARQL ``SERVICE``/``LOAD``/updates and foreign ``FROM`` graphs,
JSON-LD ``@context`` references, XML entity declarations, and nesting deep enough to
overflow a native parser's stack (Oxigraph's SPARQL and JSON-LD parsers crash at a few
thousand levels).
"""

from __future__ import annotations

import bisect
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeVar

from kgraph.errors import InputError, KGraphError, LimitError, RefusedError
from kgraph.formats import RdfSyntax
from kgraph.namespaces import PREFIXES

# One token of SPARQL as both engines lex it. Where the grammar is unclear the guard errs
# on the side of seeing more keywords, never fewer: a token that swallowed text the engine
# reads as code (an IRI or prefixed name cut short before a ``#`` that then looks like a
# comment) would hide a SERVICE from the guard. Hence the escapes: ``\uXXXX`` inside
# IRIs (Oxigraph accepts them) and ``\#``-style escapes in local names (SPARQL 1.1 PLX).
_SPARQL_TOKEN = re.compile(
    r"""
      (?P<comment>\#[^\n\r]*)
    | (?P<string>'''(?:[^'\\]|\\.|'(?!''))*'''|\"\"\"(?:[^"\\]|\\.|"(?!""))*\"\"\"
        |'(?:[^'\\\n\r]|\\.)*'|"(?:[^"\\\n\r]|\\.)*")
    | (?P<iri><(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>)
    | (?P<var>[?$][^\s{}()\[\];,.<>=!&|+*/"'#^]+)
    | (?P<pname>(?:[A-Za-z_][\w.\-]*)?:(?:[^\s{}()\[\];,<>"'#^\\]|\\[_~.\-!$&'()*+,;=/?#@%])*)
    | (?P<langtag>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<word>[A-Za-z_]\w*)
    | (?P<open>[{(\[])
    | (?P<close>[})\]])
    | (?P<other>\S)
    """,
    re.VERBOSE | re.DOTALL,
)

E = TypeVar("E", bound=KGraphError)

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

    A text with ``\\u`` escapes is checked twice: as Oxigraph reads it, and with the
    escapes expanded first, as rdflib (the engine of the shapes' SPARQL) does before it
    parses anything (SPARQL 1.1 §19.2): ``\\u0053ERVICE`` is a SERVICE to rdflib, and
    ``"\\u0022"`` ends a string there.
    """
    undecodable = _SURROGATE.search(text)
    if undecodable is not None:
        # Bytes that were not UTF-8 (a command-line argument decoded with surrogateescape):
        # no engine accepts them, and the bindings would fail with a UnicodeEncodeError.
        line, column = _position(text, undecodable.start())
        raise InputError("the query is not valid UTF-8", path=source, line=line, column=column)
    scan = _QueryScan(text, max_depth, set(allowed_graphs or ()), allowed_graph_prefix, source)
    shape = scan.run(text, None)
    if _CODEPOINT.search(text):
        expanded, origins = _expand_codepoints(text)
        scan.run(expanded, origins)
    return shape


_SURROGATE = re.compile("[\ud800-\udfff]")
# rdflib's expandUnicodeEscapes, to the letter (case-insensitive, greedy 4 or 8 digits).
_CODEPOINT = re.compile(r"\\u([0-9a-f]{4}(?:[0-9a-f]{4})?)", re.IGNORECASE)
_IRI_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_LOCAL_ESCAPE = re.compile(r"\\(.)")


def _expand_codepoints(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The text with rdflib's codepoint escapes expanded, and for each expansion the pair
    (offset in the expanded text, offset in the original) to map positions back."""
    parts: list[str] = []
    origins: list[tuple[int, int]] = []
    done = 0
    length = 0
    for match in _CODEPOINT.finditer(text):
        code = int(match.group(1), 16)
        if code > 0x10FFFF:
            continue  # rdflib refuses the whole query: nothing to see in this view
        parts.append(text[done : match.start()])
        length += match.start() - done
        origins.append((length, match.start()))
        parts.append(chr(code))
        length += 1
        done = match.end()
        origins.append((length, done))
    parts.append(text[done:])
    return "".join(parts), origins


def _origin(offset: int, origins: list[tuple[int, int]] | None) -> int:
    if not origins:
        return offset
    index = bisect.bisect_right(origins, (offset, sys.maxsize)) - 1
    if index < 0:
        return offset
    expanded_at, original_at = origins[index]
    return original_at + (offset - expanded_at)


class _QueryScan:
    """One pass of the token scan of :func:`check_query` over one view of the text."""

    def __init__(
        self, text: str, max_depth: int, allowed: set[str], allowed_prefix: str | None, source: str
    ) -> None:
        self.text = text
        self.max_depth = max_depth
        self.allowed = allowed
        self.allowed_prefix = allowed_prefix
        self.source = source

    def _error(
        self, cls: type[E], message: str, offset: int, origins: list[tuple[int, int]] | None
    ) -> E:
        """An error at ``offset`` of the view, placed at its line and column in the text."""
        line, column = _position(self.text, _origin(offset, origins))
        return cls(message, path=self.source, line=line, column=column)

    def run(self, view: str, origins: list[tuple[int, int]] | None) -> QueryShape:
        depth = 0
        form = ""
        froms: list[str] = []
        prefixes: dict[str, str] = {}
        expect_from = False
        expect_label = False
        pending_label: str | None = None
        for match in _SPARQL_TOKEN.finditer(view):
            kind = match.lastgroup
            token = match.group()
            if kind == "comment":
                continue
            if expect_label:
                expect_label = False
                if kind == "pname":
                    pending_label = token.split(":", 1)[0]
                    continue
            elif pending_label is not None:
                label, pending_label = pending_label, None
                if kind == "iri":
                    prefixes[label] = _unescape_iri(token[1:-1])
                    continue
            if expect_from:
                if kind == "word" and token.upper() == "NAMED":
                    continue
                expect_from = False
                iri = self._from_iri(kind, token, prefixes, match.start(), origins)
                froms.append(iri)
                continue
            if kind == "open":
                depth += 1
                if depth > self.max_depth:
                    raise self._error(
                        LimitError,
                        f"query nests brackets deeper than {self.max_depth} levels; raise "
                        "--max-depth only if you trust the query",
                        match.start(),
                        origins,
                    )
            elif kind == "close":
                depth = max(0, depth - 1)
            elif kind == "word":
                word = token.upper()
                if word == "PREFIX":
                    expect_label = True
                elif word in _UPDATE_WORDS:
                    raise self._error(
                        RefusedError,
                        f"SPARQL Update ({word}) is refused: kgraph only runs read queries; "
                        "add triples with `kgraph add`",
                        match.start(),
                        origins,
                    )
                elif word == "SERVICE":
                    raise self._error(
                        RefusedError,
                        "SERVICE is refused: a federated query would send data to another "
                        "endpoint; run the query against that endpoint with --endpoint instead",
                        match.start(),
                        origins,
                    )
                elif word in _FORMS and not form:
                    form = word
                elif word == "FROM":
                    expect_from = True
        if expect_from:
            raise InputError("FROM without a graph IRI", path=self.source)
        if not form:
            raise InputError(
                "not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE", path=self.source
            )
        return QueryShape(form=form, from_graphs=tuple(froms))

    def _from_iri(
        self,
        kind: str | None,
        token: str,
        prefixes: dict[str, str],
        offset: int,
        origins: list[tuple[int, int]] | None,
    ) -> str:
        """The IRI a FROM clause names, if the dataset has it; else a RefusedError."""
        iri: str | None = None
        if kind == "iri":
            iri = _unescape_iri(token[1:-1])
        elif kind == "pname":
            label, _, local = token.partition(":")
            namespace = prefixes.get(label, PREFIXES.get(label))
            if namespace is not None:
                iri = namespace + _LOCAL_ESCAPE.sub(r"\1", local)
            elif self.allowed or self.allowed_prefix:
                raise self._error(
                    InputError, f"undeclared prefix {label!r} in FROM", offset, origins
                )
        if iri is not None and (
            iri in self.allowed
            or (self.allowed_prefix is not None and iri.startswith(self.allowed_prefix))
        ):
            return iri
        shown = f"<{iri}>" if iri is not None else token
        raise self._error(
            RefusedError,
            f"FROM {shown} is refused: it is not a graph of this dataset, and kgraph never "
            "fetches graphs from the web or the disk",
            offset,
            origins,
        )


def _unescape_iri(iri: str) -> str:
    return _IRI_ESCAPE.sub(lambda m: _chr(m.group(1) or m.group(2)), iri)


def _chr(digits: str) -> str:
    code = int(digits, 16)
    return chr(code) if code <= 0x10FFFF else "\ufffd"


# PN_PREFIX (SPARQL 1.1 §19.8), with \w standing in for PN_CHARS; and IRIREF's characters.
_PN_PREFIX = re.compile(r"(?:[^\W\d_](?:[\w.\-]*[\w\-])?)?")
_IRIREF_TEXT = re.compile(r"[^<>\"{}|^`\\\x00-\x20]*")


def check_prefix_declaration(prefix: str, namespace: str, *, source: str) -> None:
    """Refuse a SHACL prefix declaration (``sh:declare``) that is not a prefix and an IRI.

    pySHACL and kgraph paste each declaration into the text of the shapes' queries as
    ``PREFIX prefix: <namespace>`` (SHACL 1.0 §5.2.1): a namespace holding ``>`` would inject
    SPARQL that :func:`check_query` of the ``sh:select`` text alone never sees, such as a
    SERVICE.
    """
    if not _PN_PREFIX.fullmatch(prefix):
        raise RefusedError(
            f"sh:prefix {prefix!r} is refused: it is not a SPARQL prefix name", path=source
        )
    if not _IRIREF_TEXT.fullmatch(namespace) or ":" not in namespace:
        raise RefusedError(
            f"sh:namespace {namespace!r} is refused: it is not an absolute IRI, and it would be "
            "pasted into the shapes' SPARQL as is",
            path=source,
        )


_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


def check_rdf(data: bytes, syntax: RdfSyntax, *, name: str, max_depth: int) -> None:
    """Refuse RDF input that would make a parser fetch, read files or blow up."""
    if syntax is RdfSyntax.XML:
        _check_xml(data, name)
    elif syntax is RdfSyntax.JSONLD:
        _check_jsonld(data, name, max_depth)


def _check_xml(data: bytes, name: str) -> None:
    if b"\x00" in data:
        # UTF-16 or UTF-32: look at the ASCII letters alone, so the markup still shows.
        data = data.replace(b"\x00", b"")
    doctype = _DOCTYPE.search(data)
    if doctype is None:
        return
    text = data.decode("utf-8", "replace")
    line, col = _position(text, doctype.start())
    entity = _ENTITY.search(data, doctype.start())
    if entity is not None:
        line, col = _position(text, entity.start())
        raise RefusedError(
            "RDF/XML with a DOCTYPE that declares entities is refused: entity expansion can "
            "exhaust memory ('billion laughs') or read files; convert the file to Turtle",
            path=name,
            line=line,
            column=col,
        )
    # The external identifier comes before the internal subset ('[') or the end ('>').
    end = _DOCTYPE_END.search(data, doctype.end())
    head = data[doctype.start() : end.start() if end else len(data)]
    if re.search(rb"\b(SYSTEM|PUBLIC)\b", head):
        raise RefusedError(
            "RDF/XML with an external DOCTYPE is refused: it would make the parser fetch a DTD",
            path=name,
            line=line,
            column=col,
        )


_DOCTYPE_END = re.compile(rb"[\[>]")


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
        # Keep every member of an object: with a duplicate key, json.loads keeps the last
        # one while a streaming JSON-LD parser acts on the first.
        # Numbers stay text: a valid 5,000-digit integer is no reason to refuse the file.
        document = json.loads(data, object_pairs_hook=_Members, parse_int=str, parse_float=str)
    except (ValueError, RecursionError) as err:
        raise InputError(
            f"invalid JSON: {getattr(err, 'msg', err)}",
            path=name,
            line=getattr(err, "lineno", None),
            column=getattr(err, "colno", None),
        ) from err
    for where, reference in _context_references(document):
        raise RefusedError(
            f"JSON-LD {where} {reference!r} is refused: kgraph never fetches or reads a "
            "context while parsing; inline the context in the document",
            path=name,
        )


class _Members(list):  # type: ignore[type-arg]
    """A JSON object as the list of its (key, value) members, duplicates included."""


def _context_references(document: object) -> Iterable[tuple[str, str]]:
    """Yield every remote or file context a JSON-LD document refers to.

    A context is given inline (an object), by reference (a string: remote or relative,
    both refused), or imported (``@import``); scoped contexts nest inside term definitions.
    """
    stack: list[object] = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, _Members):
            for key, value in node:
                if key == "@import":
                    yield "@import", str(value)
                elif key == "@context":
                    items = value if type(value) is list else [value]  # an array, not an object
                    for item in items:
                        if isinstance(item, str):
                            yield "@context", item
                        else:
                            stack.append(item)
                else:
                    stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
