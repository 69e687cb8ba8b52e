"""The closed door: what a batch may not bring in, checked before any shape is run.

Three refusals, each with the nearest thing the user may have meant:

* a term in one of the ontology's namespaces (``kg:``, and those of the reused terms it
  declares: ``prov:``, ``org:``, ``schema:`` ...) that neither the ontology nor the graph
  knows, or an IRI whose namespace is one edit away from one of them (``.../ontolgy#``);
* an object in the data namespace (``kgd:``) of an object property that nothing in the
  graph or the batch describes (a misspelled entity IRI);
* a literal whose lexical form is not valid for its XSD datatype, or a malformed
  language tag.

Each problem is one :class:`Problem`, with the ``file:line`` of its triple where a
:class:`~kgraph.shacl.locate.LineIndex` gives one; a report shows them all, so its count is
the number it shows. Everything is a dictionary lookup per batch term: the cost is the
batch's, not the graph's.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, TypeAlias

from kgraph.namespaces import KG, KGD, OWL, PREFIXES, RDF, RDFS, SH, XSD, shorten

if TYPE_CHECKING:
    import pyoxigraph as ox

    from kgraph.names import NameIndex
    from kgraph.shacl.locate import LineIndex

    Lines: TypeAlias = LineIndex | Callable[[], LineIndex] | None
    """A triple's lines, or what builds them on demand."""

UNKNOWN_TERM = "unknown-term"
UNDESCRIBED = "undescribed-object"
ILL_TYPED = "ill-typed-literal"

_BUILTIN = {
    RDF: {
        "type",
        "first",
        "rest",
        "nil",
        "langString",
        "Statement",
        "subject",
        "predicate",
        "object",
        "value",
        "Property",
        "List",
        "HTML",
        "XMLLiteral",
        "JSON",
        "dirLangString",
        "Bag",
        "Seq",
        "Alt",
        "CompoundLiteral",
        "language",
        "direction",
    },
    RDFS: {
        "label",
        "comment",
        "subClassOf",
        "subPropertyOf",
        "domain",
        "range",
        "seeAlso",
        "isDefinedBy",
        "Class",
        "Resource",
        "Literal",
        "Datatype",
        "member",
        "Container",
    },
}
"""RDF and RDFS themselves: the ontology uses these terms without declaring them."""
_OPEN = (OWL, XSD, SH)
"""Languages, not vocabularies: left open (XSD datatypes are checked as literals)."""


@dataclass(frozen=True)
class Problem:
    kind: str
    """``unknown-term``, ``undescribed-object`` or ``ill-typed-literal``."""
    term: str
    """The offending term, as a CURIE or in N-Triples form."""
    message: str
    suggestion: str | None
    location: str | None
    """``file:line`` of the triple, when known."""

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


@dataclass(frozen=True)
class Vocabulary:
    """The terms the ontology defines, by namespace, and which namespaces are closed."""

    terms: dict[str, frozenset[str]]
    """Closed namespace -> the local names defined in it."""
    object_properties: frozenset[str]

    @classmethod
    def from_store(cls, store: ox.Store, ontology_graphs: Sequence[str]) -> Vocabulary:
        import pyoxigraph as ox

        defined: set[str] = set()
        object_properties = {RDF + "subject", RDF + "object"}
        if ontology_graphs:
            # Two DISTINCT queries rather than a walk over the ontology's quads: on an
            # on-disk store every term of every quad walked was decoded from RocksDB (900
            # quads, 30-50 ms of each add); here only the distinct subjects are.
            graphs: list[ox.NamedNode | ox.BlankNode | ox.DefaultGraph] = [
                ox.NamedNode(g) for g in ontology_graphs
            ]
            for found, query in (
                (defined, "SELECT DISTINCT ?s WHERE { ?s ?p ?o FILTER(isIRI(?s)) }"),
                (
                    object_properties,
                    f"SELECT DISTINCT ?s WHERE {{ ?s <{RDF}type> <{OWL}ObjectProperty> "
                    "FILTER(isIRI(?s)) }",
                ),
            ):
                solutions = store.query(query, default_graph=graphs)
                assert isinstance(solutions, ox.QuerySolutions)
                found.update(row[0].value for row in solutions)
        terms: dict[str, set[str]] = {KG: set()}
        for iri in defined:
            namespace, local = split(iri)
            if namespace in _OPEN or not local or namespace.startswith(KGD):
                continue
            if namespace == KG or namespace in PREFIXES.values():
                terms.setdefault(namespace, set()).add(local)
        for namespace, builtin in _BUILTIN.items():
            terms.setdefault(namespace, set()).update(builtin)
        return cls({k: frozenset(v) for k, v in terms.items()}, frozenset(object_properties))


def split(iri: str) -> tuple[str, str]:
    """(namespace, local name): up to the last ``#`` or ``/``."""
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1], iri[cut + 1 :]


def check_batch(
    quads: Iterable[ox.Quad],
    store: ox.Store,
    vocabulary: Vocabulary,
    *,
    names: NameIndex | None = None,
    lines: Lines = None,
    source: str | None = None,
    described_elsewhere: Iterable[Any] = (),
) -> tuple[Problem, ...]:
    """Every closed-door problem of a batch, in the order of its triples.
    ``described_elsewhere``: subjects of the other files read with this one. ``lines`` may
    be a function that builds the index: it is called only for a problem's location."""
    import pyoxigraph as ox

    batch = list(quads)
    described = {q.subject for q in batch} | set(described_elsewhere)
    problems: list[Problem] = []
    seen: set[tuple[str, str, str | None]] = set()

    located: list[LineIndex | None] = []

    def report(kind: str, term: str, message: str, hint: str | None, triple: Any) -> None:
        if not located:
            located.append(lines() if callable(lines) else lines)
        location = _where(triple, located[0], source)
        key = (kind, term, location)
        if key not in seen:
            seen.add(key)
            problems.append(Problem(kind, term, message, hint, location))

    for quad in batch:
        triple = (quad.subject, quad.predicate, quad.object)
        for term in triple:
            if isinstance(term, ox.NamedNode):
                found = _term_problem(term.value, vocabulary, store)
                if found:
                    report(UNKNOWN_TERM, shorten(term.value), *found, triple)
            elif isinstance(term, ox.Literal):
                found = literal_problem(term)
                if found:
                    report(ILL_TYPED, str(term), *found, triple)
        obj = quad.object
        if (
            isinstance(obj, ox.NamedNode)
            and obj.value.startswith(KGD)
            and quad.predicate.value in vocabulary.object_properties
            and obj not in described
            and next(store.quads_for_pattern(obj, None, None), None) is None
        ):
            near = _nearest_entity(obj.value, names)
            hint = f"; did you mean {near}?" if near else ""
            report(
                UNDESCRIBED,
                shorten(obj.value),
                f"{shorten(obj.value)} ({shorten(quad.predicate.value)}) is not described "
                f"anywhere in the graph or the batch{hint}",
                near,
                triple,
            )
    return tuple(problems)


@dataclass(frozen=True)
class Part:
    """One input file's triples, as read, and where they came from."""

    name: str
    quads: Sequence[ox.Quad]
    lines: Lines
    """Where each triple came from, or a function that works it out (a second parse of the
    input: made only when a problem is found, so an accepted batch is parsed once)."""


def refuse(
    parts: Sequence[Part],
    store: ox.Store,
    ontology_graphs: Sequence[str],
    *,
    names: Callable[[], NameIndex] | None = None,
) -> None:
    """Raise :class:`~kgraph.errors.InputError` listing every closed-door problem of the
    inputs (checked against ``store``, which must not hold them yet). Refused rather than
    reported as findings: these are mistakes in the input (a typo), not violations of the
    model, and shapes run on a misspelled term would only report its consequences (a
    "missing" property). ``names`` builds the name index, only when an undescribed object
    needs its nearest name."""
    from kgraph.errors import InputError

    vocabulary = Vocabulary.from_store(store, ontology_graphs)
    subjects = [{q.subject for q in part.quads} for part in parts]
    problems: list[Problem] = []
    for i, part in enumerate(parts):
        others = set().union(*(s for j, s in enumerate(subjects) if j != i))
        found = check_batch(
            part.quads,
            store,
            vocabulary,
            lines=part.lines,
            source=part.name,
            described_elsewhere=others,
        )
        if names is not None and any(p.kind == UNDESCRIBED for p in found):
            found = check_batch(
                part.quads,
                store,
                vocabulary,
                names=names(),
                lines=part.lines,
                source=part.name,
                described_elsewhere=others,
            )
        problems += found
    if len(problems) == 1:
        raise InputError(str(problems[0]))
    if problems:
        raise InputError(f"{len(problems)} problems: " + "; ".join(str(p) for p in problems))


def _term_problem(iri: str, vocabulary: Vocabulary, store: Any) -> tuple[str, str | None] | None:
    namespace, local = split(iri)
    known = vocabulary.terms.get(namespace)
    if known is None:
        close = _near_namespace(namespace, vocabulary)
        if close is None:
            return None
        fixed = close + local
        hint = shorten(fixed) if local in vocabulary.terms[close] else None
        hint = hint or _nearest_term(local, close, vocabulary)
        said = f"; did you mean {hint}?" if hint else ""
        return (
            f"<{iri}> is not a term of the ontology: its namespace is one edit away from "
            f"<{close}>{said}",
            hint,
        )
    if local in known or not local:
        return None
    if namespace == RDF and re.fullmatch(r"_[1-9][0-9]*", local):
        return None  # rdf:_1, rdf:_2 ...: container membership, an infinite family (RDF 1.1 Semantics §5.1)
    import pyoxigraph as ox

    # Used by the graph already (schema:Female, time:Monday in the shapes' lists): known.
    if namespace != KG and _mentioned(store, ox.NamedNode(iri)):
        return None
    hint = _nearest_term(local, namespace, vocabulary)
    said = f"; did you mean {hint}?" if hint else _terms_of(namespace, vocabulary)
    return f"{shorten(iri)} is not a term of the ontology{said}", hint


def _terms_of(namespace: str, vocabulary: Vocabulary) -> str:
    """The few terms the ontology takes from a borrowed vocabulary, for a term of it that
    is no typo of any (dcterms:date, where the ontology dates a document with
    dcterms:issued): without them the line said what is wrong but not what to write."""
    known = sorted(vocabulary.terms.get(namespace, ()))
    if namespace == KG or not known or len(known) > _LISTED_TERMS:
        return ""
    prefix = shorten(namespace + known[0]).split(":", 1)[0]
    return f"; the ontology's {prefix}: terms are {', '.join(known)}"


_LISTED_TERMS = 15
"""Most terms of one namespace listed in a refusal (dcterms: has 11; kg: has hundreds)."""


def _near_namespace(namespace: str, vocabulary: Vocabulary) -> str | None:
    candidates = [*vocabulary.terms, KGD]
    for known in candidates:
        if known != namespace and _one_edit(namespace, known):
            return known if known in vocabulary.terms else None
    return None


def _one_edit(a: str, b: str) -> bool:
    """Whether ``a`` becomes ``b`` by one insertion, deletion, substitution or swap."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diffs = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        return len(diffs) == 1 or (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1 :]


def _nearest_term(local: str, namespace: str, vocabulary: Vocabulary) -> str | None:
    close = difflib.get_close_matches(local, sorted(vocabulary.terms[namespace]), n=1, cutoff=0.6)
    return shorten(namespace + close[0]) if close else None


def _nearest_entity(iri: str, names: NameIndex | None) -> str | None:
    if names is None:
        return None
    local = iri[len(KGD) :]
    known = {i[len(KGD) :]: i for i in names.known() if i.startswith(KGD)}
    close = difflib.get_close_matches(local, list(known), n=1, cutoff=0.6)
    return shorten(known[close[0]]) if close else None


def _mentioned(store: Any, node: Any) -> bool:
    return any(
        next(store.quads_for_pattern(*pattern), None) is not None
        for pattern in ((node, None, None), (None, None, node), (None, node, None))
    )


def _where(triple: Any, lines: LineIndex | None, source: str | None) -> str | None:
    if lines is None:
        return source
    line = (
        lines.triples.get(triple)
        or lines.pairs.get((triple[0], triple[1]))
        or lines.subjects.get(triple[0])
    )
    if source and line:
        return f"{source}:{line}"
    return source


# -- literals ----------------------------------------------------------------------------------

_TZ = r"(Z|[+-](0\d|1[0-3]):[0-5]\d|[+-]14:00)?"
_YEAR = r"-?([1-9]\d{4,}|\d{4})"
_PATTERNS: dict[str, str] = {
    "date": _YEAR + r"-\d{2}-\d{2}" + _TZ,
    "dateTime": _YEAR + r"-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?" + _TZ,
    "dateTimeStamp": _YEAR + r"-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})",
    "time": r"\d{2}:\d{2}:\d{2}(\.\d+)?" + _TZ,
    "gYear": _YEAR + _TZ,
    "gYearMonth": _YEAR + r"-(0[1-9]|1[0-2])" + _TZ,
    "gMonth": r"--(0[1-9]|1[0-2])" + _TZ,
    "gDay": r"---(0[1-9]|[12]\d|3[01])" + _TZ,
    "gMonthDay": r"--(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])" + _TZ,
    "duration": r"-?P(?=\d|T)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?",
    "dayTimeDuration": r"-?P(?=\d|T)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?",
    "yearMonthDuration": r"-?P(?=\d)(\d+Y)?(\d+M)?",
    "boolean": r"true|false|1|0",
    "decimal": r"[+-]?(\d+(\.\d*)?|\.\d+)",
    "double": r"[+-]?((\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?|INF)|-INF|NaN",
    "hexBinary": r"([0-9a-fA-F]{2})*",
    "base64Binary": r"[A-Za-z0-9+/= ]*",
    "language": r"[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*",
    "NCName": r"[A-Za-z_][\w.-]*",
    "Name": r"[A-Za-z_:][\w.:-]*",
    "NMTOKEN": r"[\w.:-]+",
}
_PATTERNS["float"] = _PATTERNS["double"]
_INTEGERS: dict[str, tuple[int | None, int | None]] = {
    "integer": (None, None),
    "long": (-(2**63), 2**63 - 1),
    "int": (-(2**31), 2**31 - 1),
    "short": (-(2**15), 2**15 - 1),
    "byte": (-128, 127),
    "nonNegativeInteger": (0, None),
    "positiveInteger": (1, None),
    "nonPositiveInteger": (None, 0),
    "negativeInteger": (None, -1),
    "unsignedLong": (0, 2**64 - 1),
    "unsignedInt": (0, 2**32 - 1),
    "unsignedShort": (0, 2**16 - 1),
    "unsignedByte": (0, 255),
}
_STRINGS = {"string", "normalizedString", "token", "anyURI"}
_LANGUAGE_TAG = re.compile(
    r"([a-zA-Z]{2,3}(-[a-zA-Z]{3}){0,3}|[a-zA-Z]{4,8})"  # language, extlang
    r"(-[a-zA-Z]{4})?(-([a-zA-Z]{2}|\d{3}))?"  # script, region
    r"(-([a-zA-Z0-9]{5,8}|\d[a-zA-Z0-9]{3}))*"  # variants
    r"(-[0-9a-wyzA-WYZ](-[a-zA-Z0-9]{2,8})+)*"  # extensions
    r"(-x(-[a-zA-Z0-9]{1,8})+)?"  # private use
    r"|x(-[a-zA-Z0-9]{1,8})+|i-[a-zA-Z]{3,8}"
)


def valid_language_tag(tag: str) -> bool:
    """Well-formed per BCP 47 (RFC 5646 §2.1), without checking the registry."""
    return _LANGUAGE_TAG.fullmatch(tag) is not None


def literal_problem(literal: ox.Literal) -> tuple[str, str | None] | None:
    """Why ``literal`` is ill-typed (message, hint), or None when it is fine."""
    if literal.language is not None:
        if valid_language_tag(literal.language):
            return None
        return f"@{literal.language} is not a well-formed language tag (BCP 47), such as @en", None
    datatype = literal.datatype.value
    if not datatype.startswith(XSD):
        return None
    local = datatype[len(XSD) :]
    value = literal.value
    check = _checker(local)
    if check is None:
        known = sorted([*_PATTERNS, *_INTEGERS, *_STRINGS])
        close = difflib.get_close_matches(local, known, n=1)
        hint = f"xsd:{close[0]}" if close else None
        said = f"; did you mean {hint}?" if hint else ""
        return f"xsd:{local} is not an XSD datatype{said}", hint
    if check(value):
        return None
    return f"{_quote(value)} is not a valid xsd:{local}", None


def _checker(local: str) -> Callable[[str], bool] | None:
    if local in _STRINGS:
        return lambda v: local != "token" or v == " ".join(v.split())
    if local in _INTEGERS:
        low, high = _INTEGERS[local]

        def integer(v: str) -> bool:
            if not re.fullmatch(r"[+-]?\d+", v):
                return False
            n = int(v)
            return (low is None or n >= low) and (high is None or n <= high)

        return integer
    pattern = _PATTERNS.get(local)
    if pattern is None:
        return None
    compiled = re.compile(pattern)

    def lexical(v: str) -> bool:
        if not compiled.fullmatch(v):
            return False
        return _calendar(local, v) and (local != "decimal" or _decimal(v))

    return lexical


def _calendar(local: str, value: str) -> bool:
    """Day, month and time ranges (``2024-13-01``, ``2023-02-29``, ``25:00:00``)."""
    found = re.match(r"-?(\d{4,})-(\d{2})-(\d{2})", value)
    if local in ("date", "dateTime", "dateTimeStamp") and found:
        year, month, day = (int(g) for g in found.groups())
        try:
            dt.date(2000 + year % 400 if year > 9999 else max(year, 1), month, day)
        except ValueError:
            return False
    if local in ("dateTime", "dateTimeStamp", "time"):
        clock = re.search(r"(\d{2}):(\d{2}):(\d{2})", value)
        if clock:
            hour, minute, second = (int(g) for g in clock.groups())
            if hour > 24 or minute > 59 or second > 59 or (hour == 24 and (minute or second)):
                return False
    if local == "gMonthDay":
        month, day = int(value[2:4]), int(value[5:7])
        try:
            dt.date(2000, month, day)  # a leap year: --02-29 is valid
        except ValueError:
            return False
    return True


def _decimal(value: str) -> bool:
    try:
        Decimal(value)
    except InvalidOperation:
        return False
    return True


def _quote(value: str) -> str:
    shown = value if len(value) <= 60 else value[:57] + "..."
    return '"' + shown.replace("\\", "\\\\").replace('"', '\\"') + '"'
