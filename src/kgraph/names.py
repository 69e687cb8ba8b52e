"""Names for things: resolving a label or alternative name to the IRI it names.

A :class:`NameIndex` holds every label (``skos:prefLabel``, ``skos:altLabel``,
``skos:hiddenLabel``, ``rdfs:label``) of the instance data (``kgd:``) and of the
ontology's classes and concepts (``kg:``, e.g. the stances), keyed by a normal form that
ignores case, accents, punctuation and spacing: "choe son-hui", "Choe Son Hui" and
"CHOE SON HUI" are one name. It is built from the labels alone (one scan per label
property); types are looked up only for the few candidates a name matches, so building it
costs the labels, not the graph.

Used for ``-p entity "Choe Son Hui"`` and for the names in a claim sheet. An IRI or a
CURIE (``kgd:ChoeSonHui``) is accepted too, and checked: a misspelled one is an error
with the nearest names, never a silent empty answer.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kgraph.errors import UsageError
from kgraph.namespaces import KG, KGD, OWL, PREFIXES, RDF, RDFS, SKOS, expand, shorten

if TYPE_CHECKING:
    import pyoxigraph as ox

LABELS = (SKOS + "prefLabel", SKOS + "altLabel", SKOS + "hiddenLabel", RDFS + "label")
"""Label properties, in order of preference for showing a name."""
_PROPERTY_TYPES = {
    OWL + "ObjectProperty",
    OWL + "DatatypeProperty",
    OWL + "AnnotationProperty",
    RDF + "Property",
    OWL + "Ontology",
}
MAX_SUGGESTIONS = 3


def normal(text: str) -> str:
    """The form names are compared in: NFKD, accents dropped, case folded, and everything
    that is not a letter or a digit removed ("Yoon Suk-Yeol" == "yoon suk yeol")."""
    if text.isascii():  # the common case, ten times faster (this runs once per label)
        return _NOT_ALNUM.sub("", text.lower())
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed.casefold() if c.isalnum())


_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


class UnknownName(UsageError):
    """No label matches the name (the message gives the nearest names)."""

    def __init__(self, message: str, *, suggestions: tuple[Candidate, ...] = (), **kw: Any):
        super().__init__(message, **kw)
        self.suggestions = suggestions


class AmbiguousName(UsageError):
    """Several things bear the name (the message lists them)."""

    def __init__(self, message: str, *, candidates: tuple[Candidate, ...] = (), **kw: Any):
        super().__init__(message, **kw)
        self.candidates = candidates


@dataclass(frozen=True)
class Candidate:
    iri: str
    label: str

    def __str__(self) -> str:
        return f"{shorten(self.iri)} ({self.label})"


@dataclass
class NameIndex:
    """Labels of a graph by normal form; see the module docstring."""

    store: Any = None
    by_key: dict[str, set[str]] = field(default_factory=dict)
    display: dict[str, tuple[int, str]] = field(default_factory=dict)
    """IRI -> (rank, label) of the label shown for it (English preferred label first)."""
    declared_types: dict[str, set[str]] = field(default_factory=dict)
    """Types of things not in the store (new entities of a sheet)."""
    _superclasses: dict[str, set[str]] | None = None

    @classmethod
    def from_store(cls, store: ox.Store) -> NameIndex:
        import pyoxigraph as ox

        index = cls(store=store)
        properties = {
            q.subject.value
            for kind in _PROPERTY_TYPES
            for q in store.quads_for_pattern(None, ox.NamedNode(RDF + "type"), ox.NamedNode(kind))
            if isinstance(q.subject, ox.NamedNode)
        }
        for rank, predicate in enumerate(LABELS):
            for quad in store.quads_for_pattern(None, ox.NamedNode(predicate), None):
                subject, label = quad.subject, quad.object
                if not isinstance(subject, ox.NamedNode) or not isinstance(label, ox.Literal):
                    continue
                iri = subject.value
                if not iri.startswith((KGD, KG)) or iri in properties:
                    continue
                english = label.language is None or label.language.startswith("en")
                index.add(iri, label.value, rank=rank * 2 + (0 if english else 1))
        return index

    def add(self, iri: str, label: str, *, rank: int = 0, types: Iterable[str] = ()) -> None:
        """Index one more name (a sheet's new entities go in this way)."""
        key = normal(label)
        if key:
            self.by_key.setdefault(key, set()).add(iri)
        if iri not in self.display or rank < self.display[iri][0]:
            self.display[iri] = (rank, label)
        if types:
            self.declared_types.setdefault(iri, set()).update(types)

    def label(self, iri: str) -> str:
        shown = self.display.get(iri)
        return shown[1] if shown else shorten(iri)

    # -- types ------------------------------------------------------------------------

    def types(self, iri: str) -> set[str]:
        import pyoxigraph as ox

        found = set(self.declared_types.get(iri, ()))
        if self.store is not None:
            for quad in self.store.quads_for_pattern(
                ox.NamedNode(iri), ox.NamedNode(RDF + "type"), None
            ):
                if isinstance(quad.object, ox.NamedNode):
                    found.add(quad.object.value)
        return found

    def superclasses(self, cls: str) -> set[str]:
        """``cls`` and every class it is an rdfs:subClassOf, transitively."""
        if self._superclasses is None:
            self._superclasses = {}
            if self.store is not None:
                import pyoxigraph as ox

                for quad in self.store.quads_for_pattern(
                    None, ox.NamedNode(RDFS + "subClassOf"), None
                ):
                    if isinstance(quad.subject, ox.NamedNode) and isinstance(
                        quad.object, ox.NamedNode
                    ):
                        self._superclasses.setdefault(quad.subject.value, set()).add(
                            quad.object.value
                        )
        seen = {cls}
        todo = [cls]
        while todo:
            for parent in self._superclasses.get(todo.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        return seen

    def is_a(self, iri: str, cls: str) -> bool:
        return any(cls in self.superclasses(t) for t in self.types(iri))

    def is_subclass(self, iri: str, cls: str) -> bool:
        return cls in self.superclasses(iri)

    def describes(self, iri: str) -> bool:
        """Whether anything is said about ``iri`` (as a subject) in the store or the index."""
        import pyoxigraph as ox

        if iri in self.display or iri in self.declared_types:
            return True
        if self.store is None:
            return False
        return next(self.store.quads_for_pattern(ox.NamedNode(iri), None, None), None) is not None

    # -- resolving ----------------------------------------------------------------------

    def resolve(
        self,
        name: str,
        *,
        within: str | None = None,
        subclass_of: str | None = None,
        what: str = "entity",
    ) -> str:
        """The IRI ``name`` names: a label or alternative name, an IRI or a CURIE.

        ``within``: only instances of this class (or its subclasses); ``subclass_of``: only
        classes under this one. Raises :class:`AmbiguousName` or :class:`UnknownName`.
        """
        text = name.strip()
        fits = self._filter(within, subclass_of)
        iri = _as_iri(text)
        if iri is not None:
            if self.describes(iri) and fits(iri):
                return iri
            return self._unknown_iri(text, iri, fits, what)
        key = normal(text)
        matches = sorted(i for i in self.by_key.get(key, ()) if fits(i))
        if len(matches) == 1:
            return matches[0]
        if matches:
            listed = tuple(Candidate(i, self.label(i)) for i in matches)
            raise AmbiguousName(
                f"{text!r} names {len(matches)} things: {', '.join(map(str, listed))}; "
                "write one of these IRIs instead",
                candidates=listed,
            )
        near = self.nearest(text, fits)
        hint = f"; nearest: {', '.join(map(str, near))}" if near else ""
        kind = f" {what}" if what else ""
        raise UnknownName(f"no{kind} is named {text!r}{hint}", suggestions=near)

    def nearest(self, text: str, fits: Any = None) -> tuple[Candidate, ...]:
        """At most three names close to ``text`` (difflib's ratio on normal forms)."""
        key = normal(text)
        keys = [k for k, iris in self.by_key.items() if fits is None or any(map(fits, iris))]
        # A part of a name ("Kim") is nearest to the names that contain it; then spelling.
        containing = sorted((k for k in keys if key and key in k), key=len)[:MAX_SUGGESTIONS]
        close_keys = difflib.get_close_matches(key, keys, n=MAX_SUGGESTIONS, cutoff=0.6)
        found: list[Candidate] = []
        for close in dict.fromkeys(close_keys + containing):
            for iri in sorted(self.by_key[close]):
                if (fits is None or fits(iri)) and all(c.iri != iri for c in found):
                    found.append(Candidate(iri, self.label(iri)))
        return tuple(found[:MAX_SUGGESTIONS])

    def _unknown_iri(self, text: str, iri: str, fits: Any, what: str) -> str:
        # Outside our namespaces (schema:Female, time:Monday): the store is the judge.
        outside = not iri.startswith((KGD, KG))
        if outside and self.store is not None and fits(iri) and _mentioned(self.store, iri):
            return iri
        # Compare local names: the shared namespace would make every IRI look close.
        known = {_local(i): i for i in self.display if fits(i)}
        close = difflib.get_close_matches(_local(iri), list(known), n=MAX_SUGGESTIONS, cutoff=0.6)
        near = tuple(Candidate(known[c], self.label(known[c])) for c in close)
        hint = f"; nearest: {', '.join(map(str, near))}" if near else ""
        kind = f" {what}" if what else ""
        if self.describes(iri):
            raise UnknownName(f"{text} is not a{kind} of the expected kind{hint}", suggestions=near)
        raise UnknownName(f"{text} is not a known{kind}{hint}", suggestions=near)

    def _filter(self, within: str | None, subclass_of: str | None) -> Any:
        def fits(iri: str) -> bool:
            if within is not None and not self.is_a(iri, within):
                return False
            return subclass_of is None or self.is_subclass(iri, subclass_of)

        return fits


def _as_iri(text: str) -> str | None:
    """The IRI ``text`` spells (``<...>``, an absolute IRI, or a known CURIE), else None."""
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1]
    if text.startswith(("http://", "https://", "urn:")):
        return text
    prefix, sep, local = text.partition(":")
    if sep and prefix in PREFIXES and local and " " not in local:
        return expand(text)
    return None


def _local(iri: str) -> str:
    for namespace in (KGD, KG):
        if iri.startswith(namespace):
            return iri[len(namespace) :]
    return iri


def _mentioned(store: Any, iri: str) -> bool:
    import pyoxigraph as ox

    node = ox.NamedNode(iri)
    return any(
        next(store.quads_for_pattern(*pattern), None) is not None
        for pattern in ((node, None, None), (None, None, node), (None, node, None))
    )
