"""A recogniser of SPARQL 1.1 Query and Update that reads text the way Oxigraph does.

The guards must see a query exactly as the engine will: a second, simpler tokenizer reads
``SERVICEx:a`` as one prefixed name where Oxigraph reads ``SERVICE x:a`` (issue 15). So this
module follows the grammar of Oxigraph 0.5's parser (``lib/spargebra/src/parser.rs``, a
rust-peg grammar over the W3C SPARQL 1.1 §19 grammar plus the SPARQL 1.2 terms, LATERAL and
ADJUST that pyoxigraph enables) rule by rule, with its reading habits:

- scannerless: keywords are compared case-insensitively (ASCII only) with NO word boundary
  after them, and whitespace between tokens is optional;
- PEG ordered choice: the first alternative that matches wins, with backtracking to the
  next one when it fails, and repetitions are greedy and never give anything back (hence
  the possessive quantifiers in the token patterns);
- a prefixed name whose prefix is not declared fails where it stands, so the parse moves on
  to the next alternative (``SERVICEx:a`` is a name only if ``SERVICEx:`` is declared).

It builds no algebra: it only records what the guards and the query rewriting need
(:class:`ParsedQuery`). Semantic checks that reject a text as a whole (variable scoping,
IRI syntax beyond its characters, language tags) are left out: the recogniser then accepts
a few texts Oxigraph refuses, which is safe, while every text Oxigraph accepts is accepted
and read the same way. Two rules keep it linear: results of the rules that the grammar
retries at one position (group patterns, expressions) are memoised, and the
right-recursive operator rules are loops. Bracket nesting is bounded by ``max_depth``.
"""

from __future__ import annotations

import re
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import urljoin

__all__ = ["ParsedQuery", "SparqlDepthError", "SparqlSyntaxError", "parse"]


class SparqlSyntaxError(ValueError):
    """The text is not SPARQL as Oxigraph reads it; ``offset`` is where reading stopped."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


class SparqlDepthError(ValueError):
    """Brackets nest deeper than allowed; ``offset`` is the first one too deep."""

    def __init__(self, offset: int) -> None:
        super().__init__("nesting too deep")
        self.offset = offset


@dataclass(frozen=True)
class Service:
    offset: int
    """Where the SERVICE keyword starts."""
    name: str
    """The endpoint as written (an IRI, a prefixed name or a variable)."""


@dataclass(frozen=True)
class DatasetGraph:
    iri: str
    """The graph's IRI, escapes decoded, prefix expanded, resolved against BASE."""
    written: str
    """The IRI or prefixed name as written."""
    offset: int
    named: bool


@dataclass(frozen=True)
class UpdateOperation:
    keyword: str
    """LOAD, CLEAR, DROP, CREATE, ADD, MOVE, COPY, INSERT or DELETE."""
    offset: int


@dataclass(frozen=True)
class ThisVariable:
    offset: int
    text: str
    """``$this`` or ``?this``."""
    projected: bool
    """Inside the top-level SELECT clause."""


@dataclass(frozen=True)
class ParsedQuery:
    """What a successful parse found (offsets are indexes into the text)."""

    form: str
    """SELECT, ASK, CONSTRUCT, DESCRIBE, or UPDATE for an update request."""
    prefixes: Mapping[str, str]
    """Prefixes the text declares (PREFIX), to their namespace IRIs."""
    dataset: tuple[DatasetGraph, ...]
    """FROM and FROM NAMED clauses of the query."""
    services: tuple[Service, ...]
    """Every SERVICE pattern, nested ones included."""
    updates: tuple[UpdateOperation, ...]
    """Every operation of an update request."""
    where_brace: int | None
    """Offset of the ``{`` that opens the query's WHERE clause (None: DESCRIBE without)."""
    this: tuple[ThisVariable, ...]
    """Every ``$this`` / ``?this``."""
    prefixed_names: frozenset[str]
    """Prefixes used by prefixed names (declared or not)."""


# -- tokens (SPARQL 1.1 §19.8 as spargebra writes them) ------------------------------------

_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd"
)  # PN_CHARS_BASE; spargebra 0.5 stops at U+FFFD
_BASE_ASCII = "A-Za-z"
"""The ASCII members of PN_CHARS_BASE (the classes' other members are all non-ASCII)."""
_CHARS_EXTRA = "\u00b7\u0300-\u036f\u203f-\u2040"
_PLX = r"%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%]"
_HEX4 = "[0-9A-Fa-f]{4}"
_UCHAR = rf"\\u{_HEX4}|\\U[0-9A-Fa-f]{{8}}"
_ECHAR = r"""\\[tbnrf\\"']"""

# A token scan, for rewriting SPARQL that the guard has already read with the parse below
# (the shapes' constraints, where ``$this`` and ``$PATH`` are replaced before Oxigraph sees
# them): never for deciding what is refused — a scan reads ``SERVICEx:a`` as one name.
TOKEN = re.compile(
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

_SPACE = re.compile(r"(?:[ \t\n\r]|#[^\r\n]*+)*+")
_WS = re.compile(r"[ \t\n\r]*+")
_IRIREF = re.compile(f'<((?>[^<>"{{}}|^`\\\\\x00-\x20]|{_UCHAR})*+)>')
_STRINGS = (
    re.compile(f"'''(?>(?>''|')?+(?>[^'\\\\]|{_ECHAR}|{_UCHAR}))*+'''"),
    re.compile(f'"""(?>(?>""|")?+(?>[^"\\\\]|{_ECHAR}|{_UCHAR}))*+"""'),
    re.compile(f"'(?>[^'\\\\\n\r]|{_ECHAR}|{_UCHAR})*+'"),
    re.compile(f'"(?>[^"\\\\\n\r]|{_ECHAR}|{_UCHAR})*+"'),
)
_LANGDIR = re.compile(r"@[a-zA-Z]++(?>-[a-zA-Z0-9]++)*+(?>--[a-zA-Z]++)?+")
_NUMBERS = (
    re.compile(r"(?>[0-9]++\.[0-9]*+|\.[0-9]++|[0-9]++)[eE][+\-]?+[0-9]++"),
    re.compile(r"[0-9]*+\.[0-9]++"),
    re.compile(r"[0-9]++"),
)
_INTEGER = _NUMBERS[2]
_ESCAPE = re.compile(rf"\\u({_HEX4})|\\U([0-9A-Fa-f]{{8}})")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


@dataclass(frozen=True)
class _Names:
    """The token patterns built on PN_CHARS_BASE: variables, prefixed names, blank nodes."""

    var: re.Pattern[str]
    pname_ns: re.Pattern[str]
    pn_local: re.Pattern[str]
    blank: re.Pattern[str]
    not_var_start: re.Pattern[str]

    @classmethod
    def build(cls, base: str, extra: str) -> _Names:
        u = base + "_"
        chars = u + r"\-0-9" + extra
        varname = f"[{u}0-9][{u}0-9{extra}]*+"
        return cls(
            var=re.compile(f"[?$]({varname})"),
            pname_ns=re.compile(f"((?:[{base}][{chars}]*+(?>\\.++[{chars}]++)*+)?+):"),
            pn_local=re.compile(
                f"(?>[{u}:0-9]|{_PLX})(?>[{chars}:]|{_PLX})*+(?>\\.++(?>[{chars}:]|{_PLX})++)?+"
            ),
            blank=re.compile(f"_:[{u}0-9][{chars}]*+(?>\\.++[{chars}]++)*+"),
            not_var_start=re.compile(f"[0-9{u}]"),
        )


# Compiling the full classes costs about 0.1 s of CPU (re builds a 64K-entry map for
# each of their ranges), paid by every command that checks a query. A text that is all
# ASCII can only match the classes' ASCII members, so it is read with patterns that hold
# just those, exactly; the full patterns are compiled the first time a text needs them.
_ASCII_NAMES = _Names.build(_BASE_ASCII, "")
_unicode_names: list[_Names] = []


def _names_for(text: str) -> _Names:
    if text.isascii():
        return _ASCII_NAMES
    if not _unicode_names:
        _unicode_names.append(_Names.build(_BASE, _CHARS_EXTRA))
    return _unicode_names[0]


# One-argument built-ins and the argument counts of the others, in spargebra's order
# (``LIST`` is an ExpressionList glued to the keyword, ``NIL`` an empty argument list).
_BUILTINS: tuple[tuple[str, int | str], ...] = (
    ("STR", 1), ("LANG", 1), ("LANGMATCHES", 2), ("LANGDIR", 1), ("DATATYPE", 1),
    ("BOUND", "VAR"), ("IRI", 1), ("URI", 1), ("BNODE", 1), ("BNODE", "GLUED_NIL"),
    ("RAND", "NIL"), ("ABS", 1), ("CEIL", 1), ("FLOOR", 1), ("ROUND", 1), ("CONCAT", "LIST"),
    ("SUBSTR", 3), ("SUBSTR", 2), ("STRLEN", 1), ("REPLACE", 4), ("REPLACE", 3),
    ("UCASE", 1), ("LCASE", 1), ("ENCODE_FOR_URI", 1), ("CONTAINS", 2), ("STRSTARTS", 2),
    ("STRENDS", 2), ("STRBEFORE", 2), ("STRAFTER", 2), ("YEAR", 1), ("MONTH", 1),
    ("DAY", 1), ("HOURS", 1), ("MINUTES", 1), ("SECONDS", 1), ("TIMEZONE", 1), ("TZ", 1),
    ("NOW", "NIL"), ("UUID", "NIL"), ("STRUUID", "NIL"), ("MD5", 1), ("SHA1", 1),
    ("SHA256", 1), ("SHA384", 1), ("SHA512", 1), ("COALESCE", "LIST"), ("IF", 3),
    ("STRLANG", 2), ("STRLANGDIR", 3), ("STRDT", 2), ("SAMETERM", 2), ("ISIRI", 1),
    ("ISURI", 1), ("ISBLANK", 1), ("ISLITERAL", 1), ("ISNUMERIC", 1), ("HASLANG", 1),
    ("HASLANGDIR", 1), ("REGEX", 3), ("REGEX", 2), ("EXISTS", "GROUP"),
    ("NOT EXISTS", "GROUP"), ("TRIPLE", 3), ("SUBJECT", 1), ("PREDICATE", 1),
    ("OBJECT", 1), ("ISTRIPLE", 1), ("ADJUST", 2),
)  # fmt: skip
_BUILTINS_BY_INITIAL: dict[str, tuple[tuple[str, int | str], ...]] = {
    initial: tuple(b for b in _BUILTINS if b[0][0] == initial)
    for initial in {b[0][0] for b in _BUILTINS}
}
_AGGREGATES = ("SUM", "MIN", "MAX", "AVG", "SAMPLE")
_RELATIONS = ("=", "!=", ">=", ">", "<=", "<")

_Event = tuple[object, ...]
Rule = Callable[[int], int]


def parse(text: str, *, max_depth: int, prefixes: Mapping[str, str] | None = None) -> ParsedQuery:
    """Parse ``text`` as a query, else as an update request, as Oxigraph would.

    ``prefixes`` are those the engine predeclares (pyoxigraph's ``prefixes=``); None means
    the caller cannot know them, and any prefix counts as declared.

    Raises :class:`SparqlSyntaxError` at the furthest position reading got to, or
    :class:`SparqlDepthError`.

    A successful parse is remembered (:data:`_PARSED`) with exactly what decides it: the
    text itself (compared character for character, not by a digest), the predeclared
    prefixes and the depth bound. The parse is a pure function of those, and the bound
    only ever stops it (a bracket deeper than the bound raises; nothing else reads it), so
    a parse that succeeded within a bound is the same parse under any higher bound: it is
    reused for the same text and prefixes with a bound at least as high, and any other
    text, other prefixes or a lower bound is parsed afresh. Failures are not remembered: a
    text that does not parse, or nests too deep, is read again each time. What callers
    refuse in a parse (:mod:`kgraph.guards`: SERVICE, updates, FROM graphs) they judge on
    every call, from the parse, so a hit never carries a verdict over.
    """
    declared = None if prefixes is None else tuple(prefixes.items())
    with _CACHE_LOCK:  # the server checks queries on several threads
        known = _PARSED.pop(text, None)  # the text's hash is kept by the string: cheap
        if known is not None:
            _PARSED[text] = known  # newest last: the oldest is the one dropped when full
            for seen, bound, parsed in known:
                if bound <= max_depth and seen == declared:
                    return parsed
    parsed = _parse(text, max_depth, prefixes)
    with _CACHE_LOCK:
        _remember(text, declared, max_depth, parsed)
    return parsed


_Prefixes = tuple[tuple[str, str], ...] | None
_PARSED: dict[str, list[tuple[_Prefixes, int, ParsedQuery]]] = {}
"""Successful parses by text, oldest first, each with the predeclared prefixes and the
depth bound it was read with (bounded by :data:`PARSE_CACHE_CHARS`). The canned queries
are parsed two or three times per run (the guard on the text, the binding's search for the
WHERE clause, the guard again on the bound text); a server or a loop of queries parses the
same few texts over and over: for a query that answers in a millisecond the parse cost ten
times the query."""
PARSE_CACHE_CHARS = 4 * 1024 * 1024
"""The texts remembered hold at most this many characters in all; a text of more than a
sixteenth of it is not remembered (it would push out the others, and its parse is small
beside what the engine does with it)."""
_READINGS = 4
"""Parses kept for one text under different prefixes or bounds (the newest)."""
_cached_chars = 0
_CACHE_LOCK = threading.Lock()


def _remember(text: str, declared: _Prefixes, max_depth: int, parsed: ParsedQuery) -> None:
    global _cached_chars
    size = len(text)
    if size > PARSE_CACHE_CHARS // 16:
        return
    entries = _PARSED.get(text)
    if entries is not None:
        entries.append((declared, max_depth, parsed))
        del entries[:-_READINGS]
        return
    while _PARSED and _cached_chars + size > PARSE_CACHE_CHARS:
        oldest = next(iter(_PARSED))
        _PARSED.pop(oldest, None)
        _cached_chars -= len(oldest)
    _PARSED[text] = [(declared, max_depth, parsed)]
    _cached_chars += size


def _parse(text: str, max_depth: int, prefixes: Mapping[str, str] | None) -> ParsedQuery:
    limit = sys.getrecursionlimit()
    # About ten Python frames per bracket level (the expression rules), plus the base.
    sys.setrecursionlimit(max(limit, min(2000 + 20 * max_depth, 200_000)))
    try:
        query = _Parser(text, max_depth, prefixes)
        try:
            return query.run(update=False)
        except _NoParse:
            pass
        update = _Parser(text, max_depth, prefixes)
        try:
            return update.run(update=True)
        except _NoParse:
            pass
    except RecursionError as err:
        raise SparqlDepthError(0) from err
    finally:
        sys.setrecursionlimit(limit)
    far = max(query.far, update.far)
    found = repr(text[far]) if far < len(text) else "the end of the query"
    raise SparqlSyntaxError(f"invalid SPARQL: unexpected {found}", far)


class _NoParse(Exception):
    pass


class _Parser:
    """One attempt at one start rule; methods return the new position, or -1."""

    def __init__(self, text: str, max_depth: int, prefixes: Mapping[str, str] | None) -> None:
        self.text = text
        self.n = len(text)
        self.max_depth = max_depth
        self.any_prefix = prefixes is None
        self.prefixes: dict[str, str] = dict(prefixes or {})
        self.declared: dict[str, str] = {}
        self.base: str | None = None
        self.far = 0
        self.depth = 0
        self.events: list[_Event] = []
        self.memo: dict[tuple[str, int], tuple[int, tuple[_Event, ...]]] = {}
        self.projection = 0
        self.names = _names_for(text)

    # -- result ---------------------------------------------------------------------------

    def run(self, *, update: bool) -> ParsedQuery:
        p = self.update_request(0) if update else self.query(0)
        if p != self.n:
            if p >= 0:
                self.fail(p)
            raise _NoParse
        form = "UPDATE"
        where: int | None = None
        dataset, services, updates, this, names = [], [], [], [], set()
        for event in self.events:
            kind = event[0]
            if kind == "form":
                form = str(event[1])
            elif kind == "where":
                where = int(str(event[1]))
            elif kind == "from":
                dataset.append(event[1])
            elif kind == "service":
                services.append(event[1])
            elif kind == "update":
                updates.append(event[1])
            elif kind == "this":
                this.append(event[1])
            elif kind == "pname":
                names.add(str(event[1]))
        return ParsedQuery(
            form=form,
            # read-only: one parse may be handed to many callers (the cache of parse)
            prefixes=MappingProxyType(dict(self.declared)),
            dataset=tuple(d for d in dataset if isinstance(d, DatasetGraph)),
            services=tuple(s for s in services if isinstance(s, Service)),
            updates=tuple(u for u in updates if isinstance(u, UpdateOperation)),
            where_brace=where,
            this=tuple(t for t in this if isinstance(t, ThisVariable)),
            prefixed_names=frozenset(names),
        )

    # -- primitives -----------------------------------------------------------------------

    def fail(self, p: int) -> int:
        if p > self.far:
            self.far = p
        return -1

    def sp(self, p: int) -> int:
        match = _SPACE.match(self.text, p)
        return match.end() if match else p

    def lit(self, p: int, s: str) -> int:
        if self.text.startswith(s, p):
            return p + len(s)
        return self.fail(p)

    def kw(self, p: int, word: str) -> int:
        # spargebra's i(): the next len(word) characters, ASCII case-insensitively; no
        # boundary after them. (str.upper alone would map 'ı' to 'I'.)
        chunk = self.text[p : p + len(word)]
        if chunk.isascii() and chunk.upper() == word:
            return p + len(word)
        return self.fail(p)

    def rx(self, p: int, pattern: re.Pattern[str]) -> int:
        match = pattern.match(self.text, p)
        return match.end() if match else self.fail(p)

    def enter(self, p: int) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise SparqlDepthError(p)

    def open(self, p: int, bracket: str) -> int:
        """``bracket`` at ``p``, counting one level of nesting (the caller calls close)."""
        q = self.lit(p, bracket)
        if q >= 0:
            self.enter(p)
        return q

    def close(self) -> None:
        self.depth -= 1

    def bracketed(self, p: int, opening: str, inner: Rule, closing: str) -> int:
        """``opening`` _ inner _ ``closing``: one level of nesting."""
        q = self.open(p, opening)
        if q < 0:
            return -1
        try:
            q = inner(self.sp(q))
            if q < 0:
                return -1
            return self.lit(self.sp(q), closing)
        finally:
            self.close()

    def memoised(self, name: str, p: int, rule: Rule) -> int:
        key = (name, p)
        hit = self.memo.get(key)
        if hit is not None:
            self.events.extend(hit[1])
            return hit[0]
        mark = len(self.events)
        q = rule(p)
        self.memo[key] = (q, tuple(self.events[mark:]) if q >= 0 else ())
        return q

    def first(self, p: int, *rules: Rule) -> int:
        """PEG ordered choice: the first rule that matches; side effects of failed ones undone."""
        mark = len(self.events)
        for rule in rules:
            q = rule(p)
            if q >= 0:
                return q
            del self.events[mark:]
        return -1

    def seq_list(self, p: int, item: Rule, sep: Rule, *, at_least: int) -> int:
        """``item`` ** ``sep`` (or ++ with at_least=1): separators are undone with a failed item."""
        q = item(p)
        if q < 0:
            return p if at_least == 0 else -1
        while True:
            mark = len(self.events)
            s = sep(q)
            if s < 0:
                return q
            r = item(s)
            if r < 0:
                del self.events[mark:]
                return q
            q = r

    def many(self, p: int, item: Rule, *, at_least: int = 0) -> int:
        count = 0
        while True:
            mark = len(self.events)
            q = item(p)
            if q < 0 or q == p:
                del self.events[mark:]
                return p if count >= at_least else -1
            p = q
            count += 1

    def opt(self, p: int, rule: Rule) -> int:
        mark = len(self.events)
        q = rule(p)
        if q < 0:
            del self.events[mark:]
            return p
        return q

    # -- prologue and queries -------------------------------------------------------------

    def query(self, p: int) -> int:
        p = self.prologue(self.sp(p))
        p = self.first(
            self.sp(p),
            lambda q: self.select_query(q, top=True),
            self.construct_query,
            self.describe_query,
            self.ask_query,
        )
        return self.sp(p) if p >= 0 else -1

    def prologue(self, p: int) -> int:
        while True:
            q = self.first(p, self.base_decl, self.prefix_decl, self.version_decl)
            if q < 0:
                return p
            p = self.sp(q)

    def base_decl(self, p: int) -> int:
        p = self.kw(p, "BASE")
        if p < 0:
            return -1
        match = _IRIREF.match(self.text, self.sp(p))
        if not match:
            return self.fail(self.sp(p))
        self.base = self.resolve(match.group(1))
        return match.end()

    def prefix_decl(self, p: int) -> int:
        p = self.kw(p, "PREFIX")
        if p < 0:
            return -1
        p = self.sp(p)
        ns = self.names.pname_ns.match(self.text, p)
        if not ns:
            return self.fail(p)
        p = self.sp(ns.end())
        iri = _IRIREF.match(self.text, p)
        if not iri:
            return self.fail(p)
        namespace = self.resolve(iri.group(1))
        self.prefixes[ns.group(1)] = namespace
        self.declared[ns.group(1)] = namespace
        return iri.end()

    def version_decl(self, p: int) -> int:
        p = self.kw(p, "VERSION")
        if p < 0:
            return -1
        p = self.sp(p)
        return self.first(p, lambda q: self.rx(q, _STRINGS[2]), lambda q: self.rx(q, _STRINGS[3]))

    def resolve(self, written: str) -> str:
        iri = _ESCAPE.sub(lambda m: _chr(m.group(1) or m.group(2)), written)
        if self.base is None or _SCHEME.match(iri):
            return iri
        return urljoin(self.base, iri)

    def solution_modifiers(self, p: int) -> int:
        p = self.opt(self.sp(p), self.group_clause)
        p = self.opt(self.sp(p), self.having_clause)
        p = self.opt(self.sp(p), self.order_clause)
        p = self.opt(self.sp(p), self.limit_offset)
        return self.values_clause(self.sp(p))

    def select_query(self, p: int, *, top: bool) -> int:
        start = p
        p = self.select_clause(p, top=top)
        if p < 0:
            return -1
        if top:
            self.events.append(("form", "SELECT", start))
            p = self.dataset_clauses(self.sp(p))
        p = self.where_clause(self.sp(p), top=top)
        if p < 0:
            return -1
        return self.solution_modifiers(p)

    def select_clause(self, p: int, *, top: bool) -> int:
        p = self.kw(p, "SELECT")
        if p < 0:
            return -1
        p = self.sp(p)
        p = self.first(p, lambda q: self.kw(q, "DISTINCT"), lambda q: self.kw(q, "REDUCED"), _id)
        p = self.sp(p)
        if top:
            self.projection += 1
        try:
            return self.first(
                p,
                lambda q: self.lit(q, "*"),
                lambda q: self.many(q, self.select_member, at_least=1),
            )
        finally:
            if top:
                self.projection -= 1

    def select_member(self, p: int) -> int:
        def variable(q: int) -> int:
            q = self.var(q)
            return self.sp(q) if q >= 0 else -1

        def expression(q: int) -> int:
            def inner(r: int) -> int:
                r = self.expression(r)
                if r < 0:
                    return -1
                r = self.kw(self.sp(r), "AS")
                if r < 0:
                    return -1
                r = self.var(self.sp(r))
                return r

            q = self.bracketed(q, "(", inner, ")")
            return self.sp(q) if q >= 0 else -1

        return self.first(p, variable, expression)

    def construct_query(self, p: int) -> int:
        start = p
        p = self.kw(p, "CONSTRUCT")
        if p < 0:
            return -1
        self.events.append(("form", "CONSTRUCT", start))
        p = self.sp(p)

        def with_template(q: int) -> int:
            q = self.bracketed(q, "{", self.construct_triples, "}")
            if q < 0:
                return -1
            q = self.dataset_clauses(self.sp(q))
            q = self.where_clause(self.sp(q), top=True)
            return self.solution_modifiers(q) if q >= 0 else -1

        def short_form(q: int) -> int:
            q = self.dataset_clauses(q)
            q = self.kw(self.sp(q), "WHERE")
            if q < 0:
                return -1
            q = self.sp(q)
            self.events.append(("where", q))
            q = self.bracketed(q, "{", lambda r: self.opt(r, self.triples_template), "}")
            return self.solution_modifiers(q) if q >= 0 else -1

        return self.first(p, with_template, short_form)

    def describe_query(self, p: int) -> int:
        start = p
        p = self.kw(p, "DESCRIBE")
        if p < 0:
            return -1
        self.events.append(("form", "DESCRIBE", start))
        p = self.sp(p)

        def item(q: int) -> int:
            q = self.var_or_iri(q)
            return self.sp(q) if q >= 0 else -1

        q = self.first(p, lambda r: self.lit(r, "*"), lambda r: self.many(r, item, at_least=1))
        if q < 0:
            return -1
        q = self.dataset_clauses(self.sp(q))
        q = self.opt(self.sp(q), lambda r: self.where_clause(r, top=True))
        return self.solution_modifiers(q)

    def ask_query(self, p: int) -> int:
        start = p
        p = self.kw(p, "ASK")
        if p < 0:
            return -1
        self.events.append(("form", "ASK", start))
        p = self.dataset_clauses(self.sp(p))
        p = self.where_clause(self.sp(p), top=True)
        return self.solution_modifiers(p) if p >= 0 else -1

    def dataset_clauses(self, p: int) -> int:
        def clause(q: int) -> int:
            q = self.kw(q, "FROM")
            if q < 0:
                return -1
            q = self.sp(q)
            return self.first(q, lambda r: self.graph_iri(r, named=False), self.named_graph_clause)

        return self.seq_list(p, clause, self.sp, at_least=0)

    def named_graph_clause(self, p: int) -> int:
        p = self.kw(p, "NAMED")
        return self.graph_iri(self.sp(p), named=True) if p >= 0 else -1

    def graph_iri(self, p: int, *, named: bool) -> int:
        q = self.iri(p)
        if q >= 0:
            iri = self.last_iri
            self.events.append(("from", DatasetGraph(iri, self.text[p:q], p, named)))
        return q

    def where_clause(self, p: int, *, top: bool) -> int:
        p = self.sp(self.opt(p, lambda q: self.kw(q, "WHERE")))
        q = self.group_graph_pattern(p)
        if q >= 0 and top:
            self.events.append(("where", p))
        return q

    def group_clause(self, p: int) -> int:
        p = self.kw(p, "GROUP")
        if p < 0:
            return -1
        p = self.kw(self.sp(p), "BY")
        if p < 0:
            return -1

        def condition(q: int) -> int:
            def bracketed(r: int) -> int:
                def inner(s: int) -> int:
                    s = self.expression(s)
                    if s < 0:
                        return -1
                    s = self.sp(s)

                    def as_var(t: int) -> int:
                        t = self.kw(t, "AS")
                        t = self.var(self.sp(t)) if t >= 0 else -1
                        return self.sp(t) if t >= 0 else -1

                    return self.opt(s, as_var)

                return self.bracketed(r, "(", inner, ")")

            q = self.first(q, self.builtin_call, self.function_call, bracketed, self.var)
            return self.sp(q) if q >= 0 else -1

        return self.many(self.sp(p), condition, at_least=1)

    def having_clause(self, p: int) -> int:
        p = self.kw(p, "HAVING")
        if p < 0:
            return -1
        return self.many(self.sp(p), lambda q: _then_sp(self, self.constraint(q)), at_least=1)

    def order_clause(self, p: int) -> int:
        p = self.kw(p, "ORDER")
        if p < 0:
            return -1
        p = self.kw(self.sp(p), "BY")
        if p < 0:
            return -1

        def direction(word: str) -> Rule:
            def rule(q: int) -> int:
                q = self.kw(q, word)
                return self.bracketted_expression(self.sp(q)) if q >= 0 else -1

            return rule

        def condition(q: int) -> int:
            q = self.first(q, direction("ASC"), direction("DESC"), self.constraint, self.var)
            return self.sp(q) if q >= 0 else -1

        return self.many(self.sp(p), condition, at_least=1)

    def limit_offset(self, p: int) -> int:
        def clause(word: str) -> Rule:
            def rule(q: int) -> int:
                q = self.kw(q, word)
                return self.rx(self.sp(q), _INTEGER) if q >= 0 else -1

            return rule

        limit, offset = clause("LIMIT"), clause("OFFSET")

        def limit_first(q: int) -> int:
            q = limit(q)
            return self.opt(self.sp(q), offset) if q >= 0 else -1

        def offset_first(q: int) -> int:
            q = offset(q)
            return self.opt(self.sp(q), limit) if q >= 0 else -1

        return self.first(p, limit_first, offset_first)

    def values_clause(self, p: int) -> int:
        def values(q: int) -> int:
            q = self.kw(q, "VALUES")
            return self.data_block(self.sp(q)) if q >= 0 else -1

        return self.first(p, values, _id)

    # -- updates --------------------------------------------------------------------------

    def update_request(self, p: int) -> int:
        p = self.sp(self.prologue(self.sp(p)))

        def item(q: int) -> int:
            q = self.update1(q)
            return self.sp(q) if q >= 0 else -1

        p = self.seq_list(p, item, lambda q: _then_sp(self, self.lit(q, ";")), at_least=0)
        return self.opt(p, lambda q: _then_sp(self, self.lit(q, ";")))

    def update1(self, p: int) -> int:
        def operation(word: str, rest: Rule) -> Rule:
            def rule(q: int) -> int:
                start = q
                q = self.kw(q, word)
                if q < 0:
                    return -1
                q = rest(self.sp(q))
                if q >= 0:
                    self.events.append(("update", UpdateOperation(word, start)))
                return q

            return rule

        def silent_then(rest: Rule) -> Rule:
            def rule(q: int) -> int:
                q = self.first(q, lambda r: self.kw(r, "SILENT"), _id)
                return rest(self.sp(q))

            return rule

        def load(q: int) -> int:
            q = self.iri(q)
            if q < 0:
                return -1

            def into(r: int) -> int:
                r = self.kw(r, "INTO")
                return self.graph_ref(self.sp(r)) if r >= 0 else -1

            return self.opt(self.sp(q), into)

        def from_to(q: int) -> int:
            q = self.graph_or_default(q)
            if q < 0:
                return -1
            q = self.kw(self.sp(q), "TO")
            return self.graph_or_default(self.sp(q)) if q >= 0 else -1

        def data(q: int) -> int:
            q = self.kw(q, "DATA")
            return self.quad_pattern(self.sp(q)) if q >= 0 else -1

        def where(q: int) -> int:
            q = self.kw(q, "WHERE")
            return self.quad_pattern(self.sp(q)) if q >= 0 else -1

        return self.first(
            p,
            operation("LOAD", silent_then(load)),
            operation("CLEAR", silent_then(self.graph_ref_all)),
            operation("DROP", silent_then(self.graph_ref_all)),
            operation("ADD", silent_then(from_to)),
            operation("MOVE", silent_then(from_to)),
            operation("COPY", silent_then(from_to)),
            operation("CREATE", silent_then(self.graph_ref)),
            operation("INSERT", data),
            operation("DELETE", data),
            operation("DELETE", where),
            self.modify,
        )

    def modify(self, p: int) -> int:
        def with_clause(q: int) -> int:
            q = self.kw(q, "WITH")
            q = self.iri(self.sp(q)) if q >= 0 else -1
            return self.sp(q) if q >= 0 else -1

        p = self.sp(self.opt(p, with_clause))
        start = p

        def clause(word: str) -> Rule:
            def rule(q: int) -> int:
                q = self.kw(q, word)
                return self.quad_pattern(self.sp(q)) if q >= 0 else -1

            return rule

        delete, insert = clause("DELETE"), clause("INSERT")

        def delete_insert(q: int) -> int:
            q = delete(q)
            return self.opt(self.sp(q), insert) if q >= 0 else -1

        word = "DELETE" if self.kw(p, "DELETE") >= 0 else "INSERT"
        p = self.first(p, delete_insert, insert)
        if p < 0:
            return -1

        def using(q: int) -> int:
            q = self.kw(q, "USING")
            if q < 0:
                return -1
            return self.first(self.sp(q), self.iri, self.named_iri)

        p = self.seq_list(self.sp(p), using, self.sp, at_least=0)
        p = self.kw(self.sp(p), "WHERE")
        if p < 0:
            return -1
        p = self.group_graph_pattern(self.sp(p))
        if p >= 0:
            self.events.append(("update", UpdateOperation(word, start)))
        return p

    def named_iri(self, p: int) -> int:
        p = self.kw(p, "NAMED")
        return self.iri(self.sp(p)) if p >= 0 else -1

    def graph_or_default(self, p: int) -> int:
        def named(q: int) -> int:
            q = self.opt(q, lambda r: _then_sp(self, self.kw(r, "GRAPH")))
            return self.iri(q)

        return self.first(p, lambda q: self.kw(q, "DEFAULT"), named)

    def graph_ref(self, p: int) -> int:
        p = self.kw(p, "GRAPH")
        return self.iri(self.sp(p)) if p >= 0 else -1

    def graph_ref_all(self, p: int) -> int:
        return self.first(
            p,
            self.graph_ref,
            lambda q: self.kw(q, "DEFAULT"),
            lambda q: self.kw(q, "NAMED"),
            lambda q: self.kw(q, "ALL"),
        )

    def quad_pattern(self, p: int) -> int:
        def quads(q: int) -> int:
            def not_triples(r: int) -> int:
                r = self.kw(r, "GRAPH")
                if r < 0:
                    return -1
                r = self.var_or_iri(self.sp(r))
                if r < 0:
                    return -1
                r = self.bracketed(
                    self.sp(r), "{", lambda s: self.opt(s, self.triples_template), "}"
                )
                return self.opt(self.sp(r), lambda s: self.lit(s, ".")) if r >= 0 else -1

            return self.seq_list(
                q,
                lambda r: self.first(r, self.triples_template, not_triples),
                self.sp,
                at_least=0,
            )

        return self.bracketed(p, "{", quads, "}")

    # -- graph patterns -------------------------------------------------------------------

    def triples_template(self, p: int) -> int:
        def inner(q: int) -> int:
            q = self.triples_same_subject(self.sp(q))
            return self.sp(q) if q >= 0 else -1

        p = self.seq_list(p, inner, lambda q: self.lit(q, "."), at_least=1)
        if p < 0:
            return -1
        return self.opt(p, lambda q: _then_sp(self, self.lit(q, ".")))

    def construct_triples(self, p: int) -> int:
        def item(q: int) -> int:
            q = self.triples_same_subject(q)
            return self.sp(q) if q >= 0 else -1

        p = self.seq_list(p, item, lambda q: _then_sp(self, self.lit(q, ".")), at_least=0)
        return self.opt(p, lambda q: self.lit(q, "."))

    def group_graph_pattern(self, p: int) -> int:
        return self.memoised("group", p, self._group_graph_pattern)

    def _group_graph_pattern(self, p: int) -> int:
        return self.first(
            p,
            lambda q: self.bracketed(q, "{", self.group_graph_pattern_sub, "}"),
            lambda q: self.bracketed(q, "{", lambda r: self.select_query(r, top=False), "}"),
        )

    def group_graph_pattern_sub(self, p: int) -> int:
        p = self.sp(self.opt(p, self.triples_block))

        def item(q: int) -> int:
            q = self.graph_pattern_not_triples(q)
            if q < 0:
                return -1
            q = self.sp(q)
            q = self.opt(q, lambda r: _then_sp(self, self.lit(r, ".")))
            return self.sp(self.opt(q, self.triples_block))

        return self.many(p, item)

    def triples_block(self, p: int) -> int:
        def inner(q: int) -> int:
            q = self.triples_same_subject_path(self.sp(q))
            return self.sp(q) if q >= 0 else -1

        p = self.seq_list(p, inner, lambda q: self.lit(q, "."), at_least=1)
        if p < 0:
            return -1
        return self.opt(p, lambda q: _then_sp(self, self.lit(q, ".")))

    def graph_pattern_not_triples(self, p: int) -> int:
        def keyword_group(word: str) -> Rule:
            def rule(q: int) -> int:
                q = self.kw(q, word)
                return self.group_graph_pattern(self.sp(q)) if q >= 0 else -1

            return rule

        return self.first(
            p,
            self.group_or_union,
            keyword_group("OPTIONAL"),
            keyword_group("LATERAL"),
            keyword_group("MINUS"),
            self.graph_graph_pattern,
            self.service,
            self.filter,
            self.bind,
            self.inline_data,
        )

    def group_or_union(self, p: int) -> int:
        def item(q: int) -> int:
            q = self.group_graph_pattern(q)
            return self.sp(q) if q >= 0 else -1

        return self.seq_list(p, item, lambda q: _then_sp(self, self.kw(q, "UNION")), at_least=1)

    def graph_graph_pattern(self, p: int) -> int:
        p = self.kw(p, "GRAPH")
        if p < 0:
            return -1
        p = self.var_or_iri(self.sp(p))
        return self.group_graph_pattern(self.sp(p)) if p >= 0 else -1

    def service(self, p: int) -> int:
        start = p
        p = self.kw(p, "SERVICE")
        if p < 0:
            return -1
        p = self.sp(p)

        def silent(q: int) -> int:
            q = self.kw(q, "SILENT")
            return named(self.sp(q)) if q >= 0 else -1

        def named(q: int) -> int:
            end = self.var_or_iri(q)
            if end < 0:
                return -1
            r = self.group_graph_pattern(self.sp(end))
            if r >= 0:
                self.events.append(("service", Service(start, self.text[q:end])))
            return r

        return self.first(p, silent, named)

    def filter(self, p: int) -> int:
        p = self.kw(p, "FILTER")
        return self.constraint(self.sp(p)) if p >= 0 else -1

    def bind(self, p: int) -> int:
        p = self.kw(p, "BIND")
        if p < 0:
            return -1

        def inner(q: int) -> int:
            q = self.expression(q)
            if q < 0:
                return -1
            q = self.kw(self.sp(q), "AS")
            return self.var(self.sp(q)) if q >= 0 else -1

        return self.bracketed(self.sp(p), "(", inner, ")")

    def inline_data(self, p: int) -> int:
        p = self.kw(p, "VALUES")
        return self.data_block(self.sp(p)) if p >= 0 else -1

    def data_block(self, p: int) -> int:
        def value(q: int) -> int:
            q = self.data_block_value(q)
            return self.sp(q) if q >= 0 else -1

        def values(q: int) -> int:
            return self.many(q, value)

        def one_var(q: int) -> int:
            q = self.var(q)
            if q < 0:
                return -1
            return self.bracketed(self.sp(q), "{", values, "}")

        def full(q: int) -> int:
            def variables(r: int) -> int:
                return self.many(r, lambda s: _then_sp(self, self.var(s)))

            q = self.bracketed(q, "(", variables, ")")
            if q < 0:
                return -1

            def row(r: int) -> int:
                r = self.bracketed(r, "(", values, ")")
                return self.sp(r) if r >= 0 else -1

            return self.bracketed(self.sp(q), "{", lambda r: self.many(r, row), "}")

        return self.first(p, one_var, full)

    def data_block_value(self, p: int) -> int:
        return self.first(
            p,
            self.triple_term_data,
            self.iri,
            self.rdf_literal,
            self.numeric_literal,
            self.boolean_literal,
            lambda q: self.kw(q, "UNDEF"),
        )

    # -- triples --------------------------------------------------------------------------

    def triples_same_subject(self, p: int) -> int:
        def reified(q: int) -> int:
            q = self.reified_triple(q)
            return self.property_list(self.sp(q)) if q >= 0 else -1

        def term(q: int) -> int:
            q = self.var_or_term(q)
            return self.property_list_not_empty(self.sp(q)) if q >= 0 else -1

        def node(q: int) -> int:
            q = self.triples_node(q)
            return self.property_list(self.sp(q)) if q >= 0 else -1

        return self.first(p, reified, term, node)

    def triples_same_subject_path(self, p: int) -> int:
        def reified(q: int) -> int:
            q = self.reified_triple(q)
            return self.property_list_path(self.sp(q)) if q >= 0 else -1

        def term(q: int) -> int:
            q = self.var_or_term(q)
            return self.property_list_path_not_empty(self.sp(q)) if q >= 0 else -1

        def node(q: int) -> int:
            q = self.triples_node_path(q)
            return self.property_list_path(self.sp(q)) if q >= 0 else -1

        return self.first(p, reified, term, node)

    def property_list(self, p: int) -> int:
        return self.first(p, self.property_list_not_empty, _id)

    def property_list_path(self, p: int) -> int:
        return self.first(p, self.property_list_path_not_empty, _id)

    def _property_list(self, p: int, verb: Rule, objects: Rule) -> int:
        def pair(q: int) -> int:
            q = verb(q)
            if q < 0:
                return -1
            q = objects(self.sp(q))
            return self.sp(q) if q >= 0 else -1

        p = pair(p)
        if p < 0:
            return -1

        def more(q: int) -> int:
            q = self.lit(q, ";")
            return self.opt(self.sp(q), pair) if q >= 0 else -1

        return self.many(p, more)

    def property_list_not_empty(self, p: int) -> int:
        return self._property_list(p, self.verb, self.object_list)

    def property_list_path_not_empty(self, p: int) -> int:
        return self._property_list(
            p, lambda q: self.first(q, self.path, self.var), self.object_list_path
        )

    def verb(self, p: int) -> int:
        return self.first(p, self.var_or_iri, lambda q: self.lit(q, "a"))

    def _object_list(self, p: int, node: Rule, annotation_list: Rule) -> int:
        def item(q: int) -> int:
            q = node(q)
            if q < 0:
                return -1
            q = annotation_list(self.sp(q))
            return self.sp(q) if q >= 0 else -1

        return self.seq_list(p, item, lambda q: _then_sp(self, self.lit(q, ",")), at_least=1)

    def object_list(self, p: int) -> int:
        return self._object_list(p, self.graph_node, lambda q: self.annotation(q, path=False))

    def object_list_path(self, p: int) -> int:
        return self._object_list(p, self.graph_node_path, lambda q: self.annotation(q, path=True))

    def annotation(self, p: int, *, path: bool) -> int:
        plist = self.property_list_path_not_empty if path else self.property_list_not_empty

        def block(q: int) -> int:
            return self.bracketed(q, "{|", plist, "|}")

        def with_reifier(q: int) -> int:
            q = self.reifier(q)
            if q < 0:
                return -1
            return self.sp(self.opt(self.sp(q), block))

        def alone(q: int) -> int:
            q = block(q)
            return self.sp(q) if q >= 0 else -1

        return self.many(p, lambda q: self.first(q, with_reifier, alone))

    def reifier(self, p: int) -> int:
        p = self.lit(p, "~")
        if p < 0:
            return -1
        return self.opt(self.sp(p), lambda q: self.first(q, self.var, self.iri, self.blank_node))

    def path(self, p: int) -> int:
        def sequence(q: int) -> int:
            q = self.seq_list(
                q,
                lambda r: _then_sp(self, self.path_elt_or_inverse(r)),
                lambda r: _then_sp(self, self.lit(r, "/")),
                at_least=1,
            )
            return self.sp(q) if q >= 0 else -1

        return self.seq_list(p, sequence, lambda q: _then_sp(self, self.lit(q, "|")), at_least=1)

    def path_elt_or_inverse(self, p: int) -> int:
        def inverse(q: int) -> int:
            q = self.lit(q, "^")
            return self.path_elt(self.sp(q)) if q >= 0 else -1

        return self.first(p, inverse, self.path_elt)

    def path_elt(self, p: int) -> int:
        p = self.path_primary(p)
        if p < 0:
            return -1
        p = self.sp(p)
        if p < self.n and self.text[p] in "*+":
            return p + 1
        if (
            p < self.n
            and self.text[p] == "?"
            and not self.names.not_var_start.match(self.text, p + 1)
        ):
            return p + 1
        return p

    def path_primary(self, p: int) -> int:
        def negated(q: int) -> int:
            q = self.lit(q, "!")
            if q < 0:
                return -1
            q = self.sp(q)

            def items(r: int) -> int:
                return self.seq_list(
                    r,
                    lambda s: _then_sp(self, self.path_one_in_property_set(s)),
                    lambda s: _then_sp(self, self.lit(s, "|")),
                    at_least=1,
                )

            return self.first(
                q,
                lambda r: self.bracketed(r, "(", items, ")"),
                self.path_one_in_property_set,
            )

        return self.first(
            p,
            self.iri,
            lambda q: self.lit(q, "a"),
            negated,
            lambda q: self.bracketed(q, "(", self.path, ")"),
        )

    def path_one_in_property_set(self, p: int) -> int:
        def inverse(q: int) -> int:
            q = self.lit(q, "^")
            if q < 0:
                return -1
            return self.first(self.sp(q), self.iri, lambda r: self.lit(r, "a"))

        return self.first(p, inverse, self.iri, lambda q: self.lit(q, "a"))

    def triples_node(self, p: int) -> int:
        return self.first(
            p,
            lambda q: self.collection(q, self.graph_node),
            lambda q: self.bracketed(q, "[", self.property_list_not_empty, "]"),
        )

    def triples_node_path(self, p: int) -> int:
        return self.first(
            p,
            lambda q: self.collection(q, self.graph_node_path),
            lambda q: self.bracketed(q, "[", self.property_list_path_not_empty, "]"),
        )

    def collection(self, p: int, node: Rule) -> int:
        return self.bracketed(
            p,
            "(",
            lambda q: self.many(q, lambda r: _then_sp(self, node(r)), at_least=1),
            ")",
        )

    def graph_node(self, p: int) -> int:
        return self.first(p, self.reified_triple, self.var_or_term, self.triples_node)

    def graph_node_path(self, p: int) -> int:
        return self.first(p, self.reified_triple, self.var_or_term, self.triples_node_path)

    def var_or_term(self, p: int) -> int:
        return self.first(
            p,
            self.var,
            self.triple_term,
            self.iri,
            self.rdf_literal,
            self.numeric_literal,
            self.boolean_literal,
            self.blank_node,
            self.nil,
        )

    def reified_triple(self, p: int) -> int:
        def inner(q: int) -> int:
            q = self.reified_triple_object(q)
            q = self.verb(self.sp(q)) if q >= 0 else -1
            q = self.reified_triple_object(self.sp(q)) if q >= 0 else -1
            if q < 0:
                return -1
            return self.opt(self.sp(q), self.reifier)

        return self.bracketed(p, "<<", inner, ">>")

    def reified_triple_object(self, p: int) -> int:
        return self.first(
            p,
            self.var,
            self.triple_term,
            self.reified_triple,
            self.iri,
            self.rdf_literal,
            self.numeric_literal,
            self.boolean_literal,
            self.blank_node,
        )

    def _triple_term(self, p: int, item: Rule, verb: Rule) -> int:
        def inner(q: int) -> int:
            q = item(q)
            q = verb(self.sp(q)) if q >= 0 else -1
            return item(self.sp(q)) if q >= 0 else -1

        return self.bracketed(p, "<<(", inner, ")>>")

    def triple_term(self, p: int) -> int:
        def item(q: int) -> int:
            return self.first(
                q,
                self.var,
                self.triple_term,
                self.iri,
                self.rdf_literal,
                self.numeric_literal,
                self.boolean_literal,
                self.blank_node,
            )

        return self._triple_term(p, item, self.verb)

    def triple_term_data(self, p: int) -> int:
        def item(q: int) -> int:
            return self.first(
                q,
                self.triple_term_data,
                self.iri,
                self.rdf_literal,
                self.numeric_literal,
                self.boolean_literal,
            )

        return self._triple_term(
            p, item, lambda q: self.first(q, self.iri, lambda r: self.lit(r, "a"))
        )

    def var_or_iri(self, p: int) -> int:
        return self.first(p, self.var, self.iri)

    def var(self, p: int) -> int:
        match = self.names.var.match(self.text, p)
        if not match:
            return self.fail(p)
        if match.group(1) == "this":
            self.events.append(
                ("this", ThisVariable(p, match.group(), projected=self.projection > 0))
            )
        return match.end()

    # -- expressions ----------------------------------------------------------------------

    def expression(self, p: int) -> int:
        return self.memoised("expression", p, self._expression)

    def _expression(self, p: int) -> int:
        def conjunction(q: int) -> int:
            q = self.seq_list(
                q,
                lambda r: _then_sp(self, self.relational(r)),
                lambda r: _then_sp(self, self.lit(r, "&&")),
                at_least=1,
            )
            return self.sp(q) if q >= 0 else -1

        return self.seq_list(
            p, conjunction, lambda q: _then_sp(self, self.lit(q, "||")), at_least=1
        )

    def relational(self, p: int) -> int:
        p = self.additive(p)
        if p < 0:
            return -1
        p = self.sp(p)

        def comparison(q: int) -> int:
            for operator in _RELATIONS:
                if self.text.startswith(operator, q):
                    return self.additive(self.sp(q + len(operator)))
            return self.fail(q)

        def member(q: int) -> int:
            q = self.kw(q, "IN")
            return self.expression_list(self.sp(q)) if q >= 0 else -1

        def not_member(q: int) -> int:
            q = self.kw(q, "NOT")
            return member(self.sp(q)) if q >= 0 else -1

        return self.opt(p, lambda q: self.first(q, comparison, member, not_member))

    def additive(self, p: int) -> int:
        return self._binary(p, self.multiplicative, "+-")

    def multiplicative(self, p: int) -> int:
        return self._binary(p, self.unary, "*/")

    def _binary(self, p: int, operand: Rule, operators: str) -> int:
        # spargebra writes these right-recursively (a op (b op c)); a loop reads the same
        # texts without a Python frame per operator.
        p = operand(p)
        if p < 0:
            return -1
        while True:
            q = self.sp(p)
            if q < self.n and self.text[q] in operators:
                mark = len(self.events)
                r = operand(self.sp(q + 1))
                if r >= 0:
                    p = r
                    continue
                del self.events[mark:]
            return q

    def unary(self, p: int) -> int:
        # "!" _ UnaryExpression / ("!" / "+" / "-")? _ PrimaryExpression, as a loop over the
        # leading "!" (a frame each would overflow the stack on long chains).
        q = p
        bangs = 0
        while q < self.n and self.text[q] == "!":
            q = self.sp(q + 1)
            bangs += 1
        mark = len(self.events)
        r = q + 1 if q < self.n and self.text[q] in "+-" else q
        r = self.primary(self.sp(r))
        if r >= 0:
            return r
        del self.events[mark:]
        return self.primary(q) if bangs and q != p else -1

    def primary(self, p: int) -> int:
        return self.first(
            p,
            self.bracketted_expression,
            self.expr_triple_term,
            self.iri_or_function,
            self.var,
            self.rdf_literal,
            self.numeric_literal,
            self.boolean_literal,
            self.builtin_call,
        )

    def expr_triple_term(self, p: int) -> int:
        def item(q: int) -> int:
            return self.first(
                q,
                self.expr_triple_term,
                self.iri,
                self.rdf_literal,
                self.numeric_literal,
                self.boolean_literal,
                self.var,
            )

        return self._triple_term(p, item, self.verb)

    def bracketted_expression(self, p: int) -> int:
        return self.bracketed(p, "(", self.expression, ")")

    def iri_or_function(self, p: int) -> int:
        p = self.iri(p)
        if p < 0:
            return -1
        return self.opt(self.sp(p), self.arg_list)

    def function_call(self, p: int) -> int:
        p = self.iri(p)
        return self.arg_list(self.sp(p)) if p >= 0 else -1

    def constraint(self, p: int) -> int:
        return self.first(p, self.bracketted_expression, self.function_call, self.builtin_call)

    def _expressions(self, p: int, *, space_before_close: bool) -> int:
        def inner(q: int) -> int:
            q = self.seq_list(
                q,
                lambda r: _then_sp(self, self.expression(r)),
                lambda r: _then_sp(self, self.lit(r, ",")),
                at_least=1,
            )
            return self.sp(q) if q >= 0 and space_before_close else q

        return self.first(p, lambda q: self.bracketed(q, "(", inner, ")"), self.nil)

    def arg_list(self, p: int) -> int:
        return self._expressions(p, space_before_close=True)

    def expression_list(self, p: int) -> int:
        return self._expressions(p, space_before_close=False)

    def nil(self, p: int) -> int:
        q = self.open(p, "(")
        if q < 0:
            return -1
        try:
            return self.lit(_skip_ws(self.text, q), ")")
        finally:
            self.close()

    def args(self, p: int, count: int) -> int:
        def inner(q: int) -> int:
            for index in range(count):
                if index:
                    q = self.lit(q, ",")
                    if q < 0:
                        return -1
                    q = self.sp(q)
                q = self.expression(q)
                if q < 0:
                    return -1
                q = self.sp(q)
            return q

        return self.bracketed(p, "(", inner, ")")

    def builtin_call(self, p: int) -> int:
        mark = len(self.events)
        q = self.aggregate(p)
        if q >= 0:
            return q
        del self.events[mark:]
        # Only the built-ins that start with the next letter can match (the order among
        # them, which PEG choice depends on, is kept).
        for word, spec in _BUILTINS_BY_INITIAL.get(self.text[p : p + 1].upper(), ()):
            if word == "NOT EXISTS":
                q = self.kw(p, "NOT")
                q = self.kw(self.sp(q), "EXISTS") if q >= 0 else -1
            else:
                q = self.kw(p, word)
            if q < 0:
                continue
            if spec == "GLUED_NIL":
                q = self.nil(q)
            elif spec == "LIST":
                q = self.expression_list(q)
            elif spec == "NIL":
                q = self.nil(self.sp(q))
            elif spec == "VAR":
                q = self.bracketed(self.sp(q), "(", self.var, ")")
            elif spec == "GROUP":
                q = self.group_graph_pattern(self.sp(q))
            else:
                q = self.args(self.sp(q), int(str(spec)))
            if q >= 0:
                return q
            del self.events[mark:]
        return -1

    def aggregate(self, p: int) -> int:
        def distinct_then(rest: Rule) -> Rule:
            def rule(q: int) -> int:
                q = self.kw(q, "DISTINCT")
                return rest(self.sp(q)) if q >= 0 else -1

            return rule

        def star(q: int) -> int:
            return _then_sp(self, self.lit(q, "*"))

        def expr(q: int) -> int:
            return _then_sp(self, self.expression(q))

        def separated(q: int) -> int:
            q = expr(q)
            if q < 0:
                return -1
            q = self.lit(q, ";")
            q = self.kw(self.sp(q), "SEPARATOR") if q >= 0 else -1
            q = self.lit(self.sp(q), "=") if q >= 0 else -1
            return _then_sp(self, self.string(self.sp(q))) if q >= 0 else -1

        def call(word: str, *bodies: Rule) -> int:
            q = self.kw(p, word)
            if q < 0:
                return -1
            q = self.sp(q)
            for body in bodies:
                mark = len(self.events)
                r = self.bracketed(q, "(", body, ")")
                if r >= 0:
                    return r
                del self.events[mark:]
            return -1

        q = call("COUNT", distinct_then(star), distinct_then(expr), star, expr)
        if q >= 0:
            return q
        for word in _AGGREGATES:
            q = call(word, distinct_then(expr), expr)
            if q >= 0:
                return q
        return call("GROUP_CONCAT", distinct_then(separated), distinct_then(expr), separated, expr)

    # -- terms ----------------------------------------------------------------------------

    def rdf_literal(self, p: int) -> int:
        p = self.string(p)
        if p < 0:
            return -1
        q = self.sp(p)
        if self.text.startswith("^^", q):
            r = self.iri(self.sp(q + 2))
            if r >= 0:
                return r
        match = _LANGDIR.match(self.text, q)
        return match.end() if match else p

    def string(self, p: int) -> int:
        for pattern in _STRINGS:
            match = pattern.match(self.text, p)
            if match:
                return match.end()
        return self.fail(p)

    def numeric_literal(self, p: int) -> int:
        q = p
        if q < self.n and self.text[q] in "+-":
            q = self.sp(q + 1)
        for pattern in _NUMBERS:
            match = pattern.match(self.text, q)
            if match:
                return match.end()
        return self.fail(q)

    def boolean_literal(self, p: int) -> int:
        return self.first(p, lambda q: self.lit(q, "true"), lambda q: self.lit(q, "false"))

    def blank_node(self, p: int) -> int:
        match = self.names.blank.match(self.text, p)
        if match:
            return match.end()
        q = self.lit(p, "[")
        if q < 0:
            return -1
        return self.lit(_skip_ws(self.text, q), "]")

    last_iri = ""

    def iri(self, p: int) -> int:
        match = _IRIREF.match(self.text, p)
        if match:
            self.last_iri = self.resolve(match.group(1))
            return match.end()
        ns = self.names.pname_ns.match(self.text, p)
        if not ns:
            return self.fail(p)
        prefix = ns.group(1)
        if prefix not in self.prefixes and not self.any_prefix:
            return self.fail(ns.end())  # spargebra: "Prefix not found"
        namespace = self.prefixes.get(prefix, "")
        local = self.names.pn_local.match(self.text, ns.end())
        end = local.end() if local else ns.end()
        self.events.append(("pname", prefix))
        self.last_iri = namespace + _unescape_local(self.text[ns.end() : end])
        return end


def _skip_ws(text: str, p: int) -> int:
    match = _WS.match(text, p)
    return match.end() if match else p


def _id(p: int) -> int:
    return p


def _then_sp(parser: _Parser, p: int) -> int:
    return parser.sp(p) if p >= 0 else -1


def _unescape_local(local: str) -> str:
    return local.replace("\\", "") if "\\" in local else local


def _chr(digits: str) -> str:
    code = int(digits, 16)
    return chr(code) if code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF else "\ufffd"
