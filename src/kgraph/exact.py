"""What kgraph writes out of the store, with each literal as the project's files write it.

Oxigraph's store canonicalises literals on insert (:mod:`kgraph.shacl.literals`):
``"12"^^xsd:long`` comes back as ``"12"^^xsd:integer``, ``"1"^^xsd:boolean`` as ``"true"``,
``"1.50"`` as ``"1.5"``. Exports, pushes and ``reason`` serialise the store's triples, so
they would publish forms no file wrote. :class:`SourceForms` maps each rewritten store
triple back to the source literals that became it, keyed by graph, subject and predicate
(two source triples may have become one: ``true`` and ``"1"^^xsd:boolean``; both are
written again). It is built from :meth:`kgraph.store.Dataset.source_literals` (only the
literals the store may rewrite), so a graph without such a literal is copied as it is,
with no per-triple work.

Inferred triples were derived in the store from canonical values; one with the subject and
object of asserted triples (``rdfs:subPropertyOf``, ``owl:equivalentProperty`` copy both)
gets their source forms. One whose literal reached a new subject (``owl:sameAs``) keeps
the store's form: which source it came from is not known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

Key = tuple[Any, Any, Any, Any]
"""(graph, subject, predicate, object as the store holds it), Oxigraph terms."""


@dataclass(frozen=True)
class SourceForms:
    by_quad: Mapping[Key, tuple[Any, ...]] = field(default_factory=dict)
    by_object: Mapping[Any, tuple[Any, ...]] = field(default_factory=dict)
    graphs: frozenset[str] = frozenset()
    """The graphs with a rewritten literal."""

    def __bool__(self) -> bool:
        return bool(self.by_quad)

    @classmethod
    def of(cls, quads: Iterable[Any]) -> SourceForms:
        """From parsed quads in their file's graph (``Dataset.source_literals``)."""
        from kgraph.shacl.literals import canonical_forms

        quads = list(quads)
        canonical = canonical_forms(q.object for q in quads)
        grouped: dict[Key, list[Any]] = {}
        rewritten: set[Key] = set()
        for q in quads:
            stored = canonical[q.object]
            key = (q.graph_name, q.subject, q.predicate, stored)
            grouped.setdefault(key, []).append(q.object)
            if stored != q.object:
                rewritten.add(key)
        by_quad = {k: tuple(dict.fromkeys(grouped[k])) for k in rewritten}
        by_object: dict[Any, tuple[Any, ...]] = {}
        for (_, _, _, stored), forms in by_quad.items():
            by_object[stored] = tuple(dict.fromkeys(by_object.get(stored, ()) + forms))
        graphs = frozenset(k[0].value for k in by_quad)
        return cls(by_quad, by_object, graphs)

    def restore(
        self,
        graph: str,
        quads: Iterable[Any],
        *,
        asserted: Callable[[Any, Any, Any], Iterable[Any]] | None = None,
    ) -> Iterator[Any]:
        """The quads of ``graph`` as the store holds them, each rewritten literal replaced
        by its source forms (one quad each). ``asserted``, for an inferred graph: the
        asserted quads an inferred (subject, predicate, object) copies the subject and
        object of (over a sub-property or an equivalent one)."""
        import pyoxigraph as ox

        if not self.by_quad or (asserted is None and graph not in self.graphs):
            yield from quads
            return
        objects = self.by_object
        for quad in quads:
            obj = quad.object
            if obj not in objects:  # the cheap test first: most objects are not rewritten
                yield quad
                continue
            if asserted is None:
                forms = self.by_quad.get((quad.graph_name, quad.subject, quad.predicate, obj))
            else:
                forms = self._derived(quad.subject, quad.predicate, obj, asserted)
            if not forms:
                yield quad
                continue
            for form in forms:
                yield ox.Quad(quad.subject, quad.predicate, form, quad.graph_name)

    def _derived(
        self,
        subject: Any,
        predicate: Any,
        obj: Any,
        asserted: Callable[[Any, Any, Any], Iterable[Any]],
    ) -> tuple[Any, ...]:
        """The forms an inferred triple has: those of the asserted triples it copies (a
        source form as stored is a form too), none when there are none (the value came
        from elsewhere: the store's form is kept)."""
        forms: dict[Any, None] = {}
        for quad in asserted(subject, predicate, obj):
            key = (quad.graph_name, quad.subject, quad.predicate, quad.object)
            for form in self.by_quad.get(key, (quad.object,)):
                forms[form] = None
        return tuple(forms)
