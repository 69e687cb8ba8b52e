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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from kgraph.errors import InputError, KGraphError, LimitError, RefusedError, Setting
from kgraph.formats import RdfSyntax
from kgraph.namespaces import PREFIXES
from kgraph.sparql import ParsedQuery, SparqlDepthError, SparqlSyntaxError
from kgraph.sparql import parse as parse_sparql

if TYPE_CHECKING:
    from kgraph.guardcache import RdflibVerdicts

E = TypeVar("E", bound=KGraphError)


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
    prefixes: Mapping[str, str] | None = PREFIXES,
    rdflib: bool = False,
    rdflib_verdicts: RdflibVerdicts | None = None,
) -> QueryShape:
    """Refuse updates, SERVICE, and FROM graphs outside the dataset; bound the nesting.

    Every refusal comes from a parse that reads the text as Oxigraph does
    (:mod:`kgraph.sparql`), so a keyword glued to a name (``SERVICEx:a``) is the keyword it
    is to the engine. A text that does not parse is refused too (Oxigraph would refuse it).
    ``prefixes`` are the ones the engine predeclares (None: unknown, any prefix counts).

    Raises :class:`RefusedError` (exit 2), :class:`InputError` (exit 2) or
    :class:`LimitError` (exit 4) with the line and column of the offending text.

    A text with ``\\u`` escapes is checked twice: as Oxigraph reads it, and with the
    escapes expanded first, as rdflib (the engine of the shapes' SPARQL) and the SPARQL 1.1
    text (§19.2) do before they parse anything: ``\\u0053ERVICE`` is a SERVICE to rdflib,
    and ``"\\u0022"`` ends a string there. With ``rdflib``, rdflib's own parser reads the
    text as well, and a SERVICE or FROM in its parse tree is refused; ``rdflib_verdicts``
    remembers the texts rdflib accepted (:mod:`kgraph.guardcache`), so that the same text
    is not parsed by rdflib again. kgraph's own parse and refusals run every time.
    """
    # An ASCII text (known in constant time) holds no surrogate: the scan is skipped.
    undecodable = None if text.isascii() else _SURROGATE.search(text)
    if undecodable is not None:
        # Bytes that were not UTF-8 (a command-line argument decoded with surrogateescape):
        # no engine accepts them, and the bindings would fail with a UnicodeEncodeError.
        line, column = _position(text, undecodable.start())
        raise InputError("the query is not valid UTF-8", path=source, line=line, column=column)
    check = _QueryCheck(text, max_depth, set(allowed_graphs or ()), allowed_graph_prefix, source)
    try:
        parsed = check.parse(text, None, prefixes, required=True)
    except InputError as err:
        parsed, unparsed = None, err
    if parsed is not None:
        check.refuse(parsed, None)
    if _CODEPOINT.search(text):
        expanded, origins = _expand_codepoints(text)
        # The expanded view matters only if it parses (else no engine runs it as such).
        view = check.parse(expanded, origins, prefixes, required=False)
        if view is not None:
            check.refuse(view, origins)
    if parsed is None and not rdflib:
        raise unparsed
    if rdflib:
        # Text bound for rdflib need not parse as Oxigraph reads it: rdflib's parser decides.
        known = rdflib_verdicts.form(text) if rdflib_verdicts is not None else None
        if known is not None:
            form = known
        else:
            try:
                form = _check_in_rdflib(text, source)
            except InputError:
                if parsed is None:
                    raise unparsed from None
                raise
            if rdflib_verdicts is not None:
                rdflib_verdicts.remember(text, form)
    if parsed is not None:
        form = parsed.form
    if form not in ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE"):
        raise InputError(
            "not a SPARQL query: expected SELECT, ASK, CONSTRUCT or DESCRIBE", path=source
        )
    graphs = parsed.dataset if parsed is not None else ()
    return QueryShape(form=form, from_graphs=tuple(graph.iri for graph in graphs))


def parse_checked(text: str, *, source: str = "query") -> ParsedQuery:
    """The parse of a text that :func:`check_query` accepted (for rewriting it)."""
    try:
        return parse_sparql(text, max_depth=sys.maxsize, prefixes=PREFIXES)
    except (SparqlSyntaxError, SparqlDepthError) as err:
        line, column = _position(text, err.offset)
        raise InputError(str(err), path=source, line=line, column=column) from err


_SURROGATE = re.compile("[\ud800-\udfff]")
# rdflib's expandUnicodeEscapes, to the letter (case-insensitive, greedy 4 or 8 digits).
_CODEPOINT = re.compile(r"\\u([0-9a-f]{4}(?:[0-9a-f]{4})?)", re.IGNORECASE)


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


_SERVICE_REFUSED = (
    "SERVICE is refused: a federated query would send data to another "
    f"endpoint; run the query at that endpoint instead (set {Setting.ENDPOINT} to it)"
)


class _QueryCheck:
    """The refusals of :func:`check_query`, for one view of the text after another."""

    def __init__(
        self, text: str, max_depth: int, allowed: set[str], allowed_prefix: str | None, source: str
    ) -> None:
        self.text = text
        self.max_depth = max_depth
        self.allowed = allowed
        self.allowed_prefix = allowed_prefix
        self.source = source

    def _error(
        self,
        cls: type[E],
        message: str,
        offset: int,
        origins: list[tuple[int, int]] | None,
        setting: Setting | None = None,
    ) -> E:
        """An error at ``offset`` of the view, placed at its line and column in the text."""
        line, column = _position(self.text, _origin(offset, origins))
        return cls(message, path=self.source, line=line, column=column, setting=setting)

    def parse(
        self,
        view: str,
        origins: list[tuple[int, int]] | None,
        prefixes: Mapping[str, str] | None,
        *,
        required: bool,
    ) -> ParsedQuery | None:
        try:
            return parse_sparql(view, max_depth=self.max_depth, prefixes=prefixes)
        except SparqlDepthError as err:
            raise self._error(
                LimitError,
                f"query nests brackets deeper than {self.max_depth} levels; raise "
                f"{Setting.MAX_DEPTH} only if you trust the query",
                err.offset,
                origins,
                Setting.MAX_DEPTH,
            ) from err
        except SparqlSyntaxError as err:
            if not required:
                return None
            raise self._error(InputError, str(err), err.offset, origins) from err

    def refuse(self, parsed: ParsedQuery, origins: list[tuple[int, int]] | None) -> None:
        for operation in parsed.updates[:1]:
            raise self._error(
                RefusedError,
                f"SPARQL Update ({operation.keyword}) is refused: kgraph only runs read "
                "queries; add triples with `kgraph add`",
                operation.offset,
                origins,
            )
        for service in parsed.services[:1]:
            raise self._error(
                RefusedError, _SERVICE_REFUSED, service.offset, origins, Setting.ENDPOINT
            )
        for graph in parsed.dataset:
            if graph.iri in self.allowed or (
                self.allowed_prefix is not None and graph.iri.startswith(self.allowed_prefix)
            ):
                continue
            raise self._error(
                RefusedError,
                f"FROM <{graph.iri}> is refused: it is not a graph of this dataset, and "
                "kgraph never fetches graphs from the web or the disk",
                graph.offset,
                origins,
            )


def _check_in_rdflib(text: str, source: str) -> str:
    """Refuse what rdflib's own parser finds: its grammar is not Oxigraph's (keywords need
    a word boundary there, for one), and it is the engine that would act on the text."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseQuery

    try:
        tree = parseQuery(text)
    except ParseException as err:
        raise InputError(
            f"rdflib cannot parse the query: {err.msg}",
            path=source,
            line=err.lineno,
            column=err.column,
        ) from err
    except RecursionError as err:
        raise LimitError("query nests too deeply for rdflib", path=source) from err
    for name in _rdflib_names(tree):
        if name == "ServiceGraphPattern":
            raise RefusedError(_SERVICE_REFUSED, path=source, setting=Setting.ENDPOINT)
        if name == "DatasetClause":
            raise RefusedError(
                "FROM is refused in the shapes' SPARQL: rdflib would fetch the graph",
                path=source,
            )
    kind = getattr(tree[1], "name", "") if len(tree) > 1 else ""
    return str(kind).removesuffix("Query").upper()


def _rdflib_names(tree: object) -> Iterable[str]:
    """The rule names of every node in rdflib's parse tree (CompValue.name)."""
    from pyparsing import ParseResults

    stack = [tree]
    while stack:
        node = stack.pop()
        name = getattr(node, "name", None)
        if isinstance(name, str):
            yield name
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list | tuple | ParseResults):
            stack.extend(node)


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
                    f"JSON-LD nests deeper than {max_depth} levels; raise {Setting.MAX_DEPTH} "
                    "only if you trust the file",
                    setting=Setting.MAX_DEPTH,
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
