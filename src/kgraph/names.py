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
import sqlite3
import unicodedata
from collections.abc import Iterable, Iterator
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
    """Labels of a graph by normal form; see the module docstring.

    Built by :meth:`from_store`, it reads no label up front: each name is looked up when it
    is resolved (or, for a sheet, all of its names in one query, :meth:`prefetch`), by a
    query that the engine filters, so that a few names cost one pass of the engine over
    the labels rather than a Python object per label (at 1M triples, 120k labels: about
    0.2 s in memory instead of 2 s, and well under a second instead of 6 s on an on-disk
    store). An on-disk store keeps its names beside it (:mod:`kgraph.namecache`), so
    there a name costs an indexed look-up. Only the nearest names of an unknown one need
    every name (:meth:`_all_keys`)."""

    store: Any = None
    by_key: dict[str, set[str]] = field(default_factory=dict)
    """Names added to the index (a sheet's new entries; every label of a complete index)."""
    display: dict[str, tuple[int, str]] = field(default_factory=dict)
    """IRI -> (rank, label) of the label shown for it (English preferred label first)."""
    declared_types: dict[str, set[str]] = field(default_factory=dict)
    """Types of things not in the store (new entities of a sheet)."""
    complete: bool = True
    """Whether ``by_key`` holds every label of ``store`` (else the store is asked)."""
    _superclasses: dict[str, set[str]] | None = None
    _found: dict[str, set[str]] = field(default_factory=dict)
    """The store's IRIs by normal form, for the forms looked up so far."""
    _shown: dict[str, tuple[int, str] | None] = field(default_factory=dict)
    cache: Any = None
    """The :class:`~kgraph.namecache.NameCache` of an on-disk store, if it has one."""
    _all: dict[str, set[str]] | None = None

    @classmethod
    def from_store(cls, store: ox.Store) -> NameIndex:
        """An index over ``store`` that looks names up as they are asked for."""
        return cls(store=store, complete=False)

    @classmethod
    def for_dataset(cls, dataset: Any) -> NameIndex:
        """An index over a :class:`~kgraph.store.Dataset`'s store, using the names kept
        beside an on-disk one."""
        from kgraph.namecache import NameCache

        index = cls.from_store(dataset.store)
        if dataset.store_dir is not None:
            index.cache = NameCache.for_store(dataset.store_dir, dataset.store, dataset.sources)
        return index

    @classmethod
    def scan(cls, store: ox.Store) -> NameIndex:
        """An index holding every label of ``store`` (one scan per label property)."""
        import pyoxigraph as ox

        index = cls(store=store)
        properties = _properties(store)
        for rank, predicate in enumerate(LABELS):
            for quad in store.quads_for_pattern(None, ox.NamedNode(predicate), None):
                subject, label = quad.subject, quad.object
                if not isinstance(subject, ox.NamedNode) or not isinstance(label, ox.Literal):
                    continue
                iri = subject.value
                if not iri.startswith((KGD, KG)) or iri in properties:
                    continue
                index.add(iri, label.value, rank=_rank(rank, label))
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
        if self._all is not None and key:
            self._all.setdefault(key, set()).add(iri)

    def named(self, key: str) -> set[str]:
        """Every IRI one of whose names has the normal form ``key``."""
        found = set(self.by_key.get(key, ()))
        if not self.complete and self.store is not None and key:
            if len(key) > _LOOKUP_CHARS:  # longer than any expression we send: read them all
                return found | self._all_keys().get(key, set())
            if key not in self._found:
                self._lookup([key])
            found |= self._found[key]
        return found

    def prefetch(self, names: Iterable[str]) -> None:
        """Look up all of ``names`` in one pass (a sheet's names, before it is compiled)."""
        if self.complete or self.store is None:
            return
        keys = {k for k in map(normal, names) if k and not k.isdigit() and k not in self._found}
        for group in _chunks(sorted(k for k in keys if len(k) <= _LOOKUP_CHARS)):
            self._lookup(group)

    def _lookup(self, keys: list[str]) -> None:
        import pyoxigraph as ox

        for key in keys:
            self._found.setdefault(key, set())
        properties: dict[str, bool] = {}

        def keep(iri: str) -> bool:
            if iri not in properties:
                properties[iri] = _is_property(self.store, iri)
            return not properties[iri]

        if self.cache is not None:
            try:
                for key, iris in self.cache.iris(keys).items():
                    self._found[key] |= {i for i in iris if keep(i)}
                return
            except (sqlite3.Error, OSError):
                self.cache = None  # e.g. a read-only folder: ask the store, as without one
        wanted = set(keys)
        for row in self.store.query(lookup_query(keys), use_default_graph_as_union=True):
            subject, label = row["s"], row["l"]
            if not isinstance(subject, ox.NamedNode) or not isinstance(label, ox.Literal):
                continue
            key = normal(label.value)  # the engine's filter is wider than equality
            if key not in wanted:
                continue
            if keep(subject.value):
                self._found[key].add(subject.value)

    def label(self, iri: str) -> str:
        shown = self.display.get(iri)
        if shown is None and not self.complete and self.store is not None:
            if iri not in self._shown:
                self._shown[iri] = _best_label(self.store, iri)
            shown = self._shown[iri]
        return shown[1] if shown else shorten(iri)

    def _all_keys(self) -> dict[str, set[str]]:
        """Every normal form with its IRIs: the store's (read once) and those added."""
        if self.complete:
            return self.by_key
        if self._all is None:
            found: dict[str, set[str]] | None = None
            if self.cache is not None:
                try:
                    found = self.cache.everything()
                except (sqlite3.Error, OSError):
                    self.cache = None
            if found is None:
                found = NameIndex.scan(self.store).by_key if self.store is not None else {}
                properties: set[str] = set()
            else:
                properties = _properties(self.store)
            found = {k: kept for k, iris in found.items() if (kept := iris - properties)}
            for key, iris in self.by_key.items():
                found.setdefault(key, set()).update(iris)
            self._all = found
        return self._all

    def known(self) -> set[str]:
        """Every IRI that has a name (reads every name: for error messages)."""
        return set().union(*self._all_keys().values()) | set(self.display)

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
            return self._unknown_iri(text, iri, fits, what, within)
        key = normal(text)
        matches = sorted(i for i in self.named(key) if fits(i))
        if len(matches) == 1:
            return matches[0]
        if matches:
            listed = tuple(Candidate(i, self.label(i)) for i in matches)
            raise AmbiguousName(
                f"{text!r} names {len(matches)} things: {', '.join(map(str, listed))}; "
                "write one of these IRIs instead",
                candidates=listed,
            )
        near = self.nearest(text, self._members(within, fits))
        hint = f"; nearest: {', '.join(map(str, near))}" if near else ""
        kind = f" {what}" if what else ""
        raise UnknownName(f"no{kind} is named {text!r}{hint}", suggestions=near)

    def instances(self, cls: str) -> set[str]:
        """Every IRI typed with ``cls`` or one of its subclasses (in the store or added)."""
        import pyoxigraph as ox

        classes = {cls}
        if self.store is not None:
            todo = [cls]
            subclass = ox.NamedNode(RDFS + "subClassOf")
            while todo:
                for quad in self.store.quads_for_pattern(None, subclass, ox.NamedNode(todo.pop())):
                    if isinstance(quad.subject, ox.NamedNode) and quad.subject.value not in classes:
                        classes.add(quad.subject.value)
                        todo.append(quad.subject.value)
        found = {i for i, types in self.declared_types.items() if types & classes}
        if self.store is not None:
            a = ox.NamedNode(RDF + "type")
            for c in classes:
                for quad in self.store.quads_for_pattern(None, a, ox.NamedNode(c)):
                    if isinstance(quad.subject, ox.NamedNode):
                        found.add(quad.subject.value)
        return found

    def examples(self, cls: str, n: int = MAX_SUGGESTIONS) -> tuple[Candidate, ...]:
        """A few named instances of ``cls`` (the first by label), to show what it takes."""
        named = sorted(
            (self.label(i).casefold(), i) for i in self.instances(cls) if i.startswith((KG, KGD))
        )
        return tuple(Candidate(i, self.label(i)) for _, i in named[:n])

    def elsewhere(self, text: str) -> str | None:
        """What ``text`` is or names, whatever its kind ("it names kgd:X (X), a person";
        for an IRI "it is a person"), or None."""
        iri = _as_iri(text.strip())
        if iri is not None:
            kinds = self._kinds(iri) if self.describes(iri) else ""
            return f"it is {kinds}" if kinds else None
        shown = []
        for i in sorted(self.named(normal(text)))[:MAX_SUGGESTIONS]:
            kinds = self._kinds(i)
            shown.append(f"{Candidate(i, self.label(i))}" + (f", {kinds}" if kinds else ""))
        return "it names " + "; ".join(shown) if shown else None

    def _kinds(self, iri: str) -> str:
        types = sorted(t for t in self.types(iri) if t.startswith(KG))
        return _with_article(self.kind_word(types[0])) if types else ""

    def kind_word(self, cls: str) -> str:
        """How a class is named in a sentence: its label in lower case ("stance"), or its
        local name spelt out ("agent" for prov:Agent, which has no label here)."""
        label = self.label(cls)
        if label == shorten(cls):
            local = re.split(r"[#/:]", cls)[-1]
            label = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", local)
        return label.lower()

    def _members(self, within: str | None, fits: Any) -> Any:
        """``fits`` for every name of the index, cheap: with a class, its instances once
        (checking the class of each of 120k names at 1M triples would take seconds)."""
        if within is None:
            return fits
        members = self.instances(within)
        return lambda iri: iri in members and fits(iri)

    def nearest(self, text: str, fits: Any = None) -> tuple[Candidate, ...]:
        """At most three names close to ``text`` (difflib's ratio on normal forms)."""
        key = normal(text)
        everything = self._all_keys()
        keys = [k for k, iris in everything.items() if fits is None or any(map(fits, iris))]
        # A part of a name ("Kim") is nearest to the names that contain it; then spelling.
        containing = sorted((k for k in keys if key and key in k), key=len)[:MAX_SUGGESTIONS]
        close_keys = difflib.get_close_matches(key, keys, n=MAX_SUGGESTIONS, cutoff=0.6)
        found: list[Candidate] = []
        for close in dict.fromkeys(close_keys + containing):
            for iri in sorted(everything[close]):
                if (fits is None or fits(iri)) and all(c.iri != iri for c in found):
                    found.append(Candidate(iri, self.label(iri)))
        return tuple(found[:MAX_SUGGESTIONS])

    def _unknown_iri(
        self, text: str, iri: str, fits: Any, what: str, within: str | None = None
    ) -> str:
        # Outside our namespaces (schema:Female, time:Monday): the store is the judge.
        outside = not iri.startswith((KGD, KG))
        if outside and self.store is not None and fits(iri) and _mentioned(self.store, iri):
            return iri
        # Compare local names: the shared namespace would make every IRI look close.
        members = self._members(within, fits)
        known = {_local(i): i for i in self.known() if members(i)}
        close = difflib.get_close_matches(_local(iri), list(known), n=MAX_SUGGESTIONS, cutoff=0.6)
        near = tuple(Candidate(known[c], self.label(known[c])) for c in close)
        hint = f"; nearest: {', '.join(map(str, near))}" if near else ""
        kind = f" {what}" if what else ""
        if self.describes(iri):
            shown = f"{text} ({self.label(iri)})" if iri in self.display or self.store else text
            article = f" {_with_article(what)}" if what else " of the expected kind"
            raise UnknownName(f"{shown} is not{article}{hint}", suggestions=near)
        raise UnknownName(f"{text} is not a known{kind}{hint}", suggestions=near)

    def _filter(self, within: str | None, subclass_of: str | None) -> Any:
        def fits(iri: str) -> bool:
            if within is not None and not self.is_a(iri, within):
                return False
            return subclass_of is None or self.is_subclass(iri, subclass_of)

        return fits


_LOOKUP_CHARS = 1500
# ASCII other than letters and digits, spelt for a SPARQL string: the exact filter is for
# ASCII labels, and a negated class would be all of Unicode, a far larger automaton.
_SEP = "[\\\\x00-\\\\x2F\\\\x3A-\\\\x40\\\\x5B-\\\\x60\\\\x7B-\\\\x7F]*"


def lookup_query(keys: Iterable[str]) -> str:
    """A SELECT of (?s, ?l) for every label (of a subject in our namespaces) whose normal
    form may be one of ``keys``: a superset, the caller compares normal forms.

    For a label in ASCII the engine's filter is exact: a regular expression of each key's
    letters in order, anything but letters and digits around them. A label with other
    characters (accents, another script) may decompose into more letters than it has, so
    every such label is returned (few in practice: 31 of 120k labels at 1M triples; if a
    graph had many, this degrades into reading those, as a complete index would)."""
    alternatives = sorted(
        {_SEP.join(_char_class(c) for c in key) + _SEP for key in keys if key.isascii()}
    )
    conditions = ['REGEX(?t, "[^\\\\x00-\\\\x7F]")']
    if alternatives:
        conditions.insert(0, f'REGEX(?t, "^{_SEP}(?:{"|".join(alternatives)})$")')
    properties = " ".join(f"<{p}>" for p in LABELS)
    return (
        f"SELECT DISTINCT ?s ?l WHERE {{ VALUES ?p {{ {properties} }} ?s ?p ?l "
        f"FILTER(isIRI(?s) && isLiteral(?l)) BIND(STR(?l) AS ?t) "
        f'FILTER((STRSTARTS(STR(?s), "{KGD}") || STRSTARTS(STR(?s), "{KG}")) '
        f"&& ({' || '.join(conditions)})) }}"
    )


def _chunks(keys: list[str]) -> Iterator[list[str]]:
    """``keys`` in groups whose expression the engine compiles: Oxigraph's REGEX silently
    fails (no match) on an expression over its size limit, which an alternation of about
    4,500 key characters reaches (pyoxigraph 0.5; tests/test_names_kinds.py pins it); a
    group stays under a third of that."""
    group: list[str] = []
    size = 0
    for key in keys:
        if group and size + len(key) > _LOOKUP_CHARS:
            yield group
            group, size = [], 0
        group.append(key)
        size += len(key)
    if group:
        yield group


def _char_class(c: str) -> str:
    return f"[{c}{c.upper()}]" if c.isalpha() else c


def _rank(position: int, label: Any) -> int:
    english = label.language is None or label.language.startswith("en")
    return position * 2 + (0 if english else 1)


def _properties(store: Any) -> set[str]:
    import pyoxigraph as ox

    return {
        q.subject.value
        for kind in _PROPERTY_TYPES
        for q in store.quads_for_pattern(None, ox.NamedNode(RDF + "type"), ox.NamedNode(kind))
        if isinstance(q.subject, ox.NamedNode)
    }


def _is_property(store: Any, iri: str) -> bool:
    import pyoxigraph as ox

    node, a = ox.NamedNode(iri), ox.NamedNode(RDF + "type")
    return any(
        next(store.quads_for_pattern(node, a, ox.NamedNode(kind)), None) is not None
        for kind in _PROPERTY_TYPES
    )


def _best_label(store: Any, iri: str) -> tuple[int, str] | None:
    import pyoxigraph as ox

    best: tuple[int, str] | None = None
    node = ox.NamedNode(iri)
    for position, predicate in enumerate(LABELS):
        for quad in store.quads_for_pattern(node, ox.NamedNode(predicate), None):
            if isinstance(quad.object, ox.Literal):
                rank = _rank(position, quad.object)
                if best is None or rank < best[0]:
                    best = (rank, quad.object.value)
    return best


def _with_article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


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
