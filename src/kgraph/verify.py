"""After a push: does each graph in the store hold exactly the triples sent?

Counting is not enough: a store that rewrites ``"P42D"^^xsd:duration`` as
``"3.6288e+06"``, or a triple changed behind kgraph's back, keeps the count. So kgraph
reads each pushed graph back through the store's SPARQL endpoint and compares it, triple
for triple, with the N-Triples it sent:

* the graph is read in buckets, ``FILTER(STRSTARTS(MD5(STR(?s)), "3f"))`` (MD5 is a SPARQL
  1.1 function), with as many hex digits as keep each answer under 4,000 expected rows,
  far under the row caps of the stores (Virtuoso's ``ResultSetMaxRows`` is 10,000 by
  default; a bucket the store still cuts is read again as 16 smaller ones). The buckets
  only split the work:
  every triple falls in exactly one of them whatever the store's MD5 of a non-ASCII string
  is (Virtuoso's is not the MD5 of its UTF-8 bytes), and the union is compared as a whole;
* terms are compared by value: literals in the canonical form the local store writes, on
  both sides (kgraph.storeresults for the store's answers, :func:`by_value` for what was
  sent: kgraph sends literals as the files write them), any blank node as ``_:`` (the
  store names them its own way). So a store that canonicalises as Oxigraph does passes,
  and one that changes a value (``"P42D"^^xsd:duration`` read back as ``3.6288e+06``)
  does not;
* the error names the first triples missing from the store and the first it holds that
  were not sent.

The store's SPARQL engine does the reading, so this also proves that the query endpoint
sees what the Graph Store endpoint took.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kgraph.errors import RemoteError
from kgraph.storeresults import AnswerCut

BUCKET_ROWS = 4000
"""Expected rows per read-back request."""
MAX_DIGITS = 5
"""A bucket the store still cuts is split in 16, down to this many hex digits."""


def term_key(term: Any) -> str:
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"{_quoted(term.value)}@{term.language}"
        return f"{_quoted(term.value)}^^<{term.datatype.value}>"
    return "_:"


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


def triple_key(triple: Any) -> str:
    return " ".join(term_key(t) for t in (triple.subject, triple.predicate, triple.object))


def by_value(triples: Iterable[Any]) -> list[Any]:
    """The triples with each literal in the form the local store gives it, as the store's
    answers are (kgraph.storeresults): kgraph sends literals as the files write them
    (``"12"^^xsd:long``), which a store may canonicalise (Oxigraph server holds
    ``"12"^^xsd:integer``) without changing the value. Only the literals the store may
    rewrite go through one (``may_be_rewritten``)."""
    import pyoxigraph as ox

    from kgraph.shacl.literals import canonical_forms, may_be_rewritten

    triples = list(triples)
    rewritable = [
        t.object for t in triples if isinstance(t.object, ox.Literal) and may_be_rewritten(t.object)
    ]
    if not rewritable:
        return triples
    canonical = canonical_forms(rewritable)
    return [
        ox.Triple(t.subject, t.predicate, canonical[t.object]) if t.object in canonical else t
        for t in triples
    ]


def buckets(triples: int) -> list[str]:
    """Hex prefixes that split ``triples`` into reads of about :data:`BUCKET_ROWS`."""
    digits = 0
    while triples > BUCKET_ROWS * 16**digits:
        digits += 1
    if not digits:
        return [""]
    return [f"{n:0{digits}x}" for n in range(16**digits)]


def bucket_query(graph: str, prefix: str) -> str:
    where = f"GRAPH <{graph}> {{ ?s ?p ?o }}"
    if prefix:
        where += f' FILTER(STRSTARTS(MD5(STR(?s)), "{prefix}"))'
    return f"SELECT ?s ?p ?o WHERE {{ {where} }}"


@dataclass(frozen=True)
class ContentCheck:
    graph: str
    missing: tuple[str, ...] = ()
    """Triples sent that the store does not hold (first few, as N-Triples-like keys)."""
    extra: tuple[str, ...] = ()
    """Triples the store holds that were not sent (first few)."""
    differences: int = 0

    @property
    def same(self) -> bool:
        return not self.differences

    def message(self) -> str:
        said = []
        if self.missing:
            said.append(f"it lacks {self.missing[0]}")
        if self.extra:
            said.append(f"it holds {self.extra[0]}, which was not sent")
        more = self.differences - len(said)
        tail = f" (and {more} more triples differ)" if more > 0 else ""
        return f"graph <{self.graph}> in the store differs from the triples sent: " + (
            "; ".join(said) + tail
        )


def check_graph(
    graph: str,
    sent: Iterable[Any],
    ask: Callable[[str], Any],
    *,
    triples: int,
) -> ContentCheck:
    """Read the graph back (``ask`` runs a SELECT and returns parsed, normalised solutions)
    and compare it with the triples ``sent``."""
    canonical = by_value(sent)
    most = Counter(triple_key(t) for t in canonical)
    # Two triples sent that are one by value ("1"^^xsd:boolean, true) may be one in a
    # store that canonicalises (Oxigraph), or two in one that keeps lexical forms.
    least = Counter(triple_key(t) for t in dict.fromkeys(canonical))
    theirs: Counter[str] = Counter()
    pending = buckets(triples)
    while pending:
        prefix = pending.pop()
        try:
            rows = list(ask(bucket_query(graph, prefix)))
        except AnswerCut:
            if len(prefix) >= MAX_DIGITS:
                raise
            pending += [prefix + digit for digit in "0123456789abcdef"]  # smaller reads
            continue
        for row in rows:
            try:
                theirs[" ".join(term_key(row[v]) for v in ("s", "p", "o"))] += 1
            except KeyError as err:
                raise RemoteError(f"the store answered a read of <{graph}> without ?{err}") from err
    missing = least - theirs
    extra = theirs - most
    return ContentCheck(
        graph,
        tuple(sorted(missing)[:3]),
        tuple(sorted(extra)[:3]),
        sum(missing.values()) + sum(extra.values()),
    )
