"""Claim sheets: a YAML file people can write, compiled into the ontology's triples.

A sheet holds one document, its sentences, and the claims read from them; names stand for
entities and concepts and are resolved through a :class:`~kgraph.names.NameIndex` (so
"speculated" is ``kg:Speculated`` and "Choe Son Hui" is ``kgd:ChoeSonHui``). Names the
graph does not know must be declared under ``new:`` with their class. The claims may
also be given as CSV, in a literal block (``claims: |``), one row a claim.

:func:`compile_sheet` returns the triples with the sheet line each came from; every
error is an :class:`~kgraph.errors.InputError` at the sheet's line. The IRIs it mints
follow docs/iri-policy.md and depend only on the sheet: the same sheet gives the same IRIs.
Provenance is modelled as data/article.ttl does (docs/model.md): a claim is attributed to
its source, or, when the source is a person who speaks for an organisation, to the
organisation, with a ``prov:qualifiedAttribution`` naming the person and the role.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from kgraph.errors import InputError, LimitError
from kgraph.fsutil import too_big
from kgraph.limits import Limits
from kgraph.names import AmbiguousName, NameIndex, UnknownName, normal
from kgraph.namespaces import (
    DCTERMS,
    GRAPH,
    KG,
    KGD,
    ORG,
    OWL,
    PROV,
    RDF,
    RDFS,
    SCHEMA,
    SKOS,
    XSD,
    used_prefixes,
)
from kgraph.shacl.locate import LineIndex

if TYPE_CHECKING:
    import pyoxigraph as ox

TEMPLATE = """\
# kgraph claim sheet. Names are labels the graph knows (any case, accents optional);
# a name it does not know goes under new: with its class. Add it: kgraph add SHEET.yaml
document:
  url: https://example.org/news/2024-11-04-kursk    # or citation: "..." without an address
  title: North Korean troops in Kursk; Lavrov meets Choe Son Hui
  publisher: Example News                            # claims without a source are its own
  date: 2024-11-04
sentences:                                           # numbered as in the document
  1: On Monday Ukraine's defence intelligence chief said 11,000 North Korean soldiers were in the Kursk region.
  2: Lavrov met Choe Son Hui in Moscow on 1 November 2024.
new:
  Example News: News agency
  Ukrainian defence intelligence: {class: Government body, country: Ukraine}
  Kyrylo Budanov: {class: Person, speaks for: Ukrainian defence intelligence}
  Sergey Lavrov: Person                              # Moscow, Russia ... are known already
claims:
  - sentence: 1                  # a spokesperson: the claim goes to the body he speaks for
    source: Kyrylo Budanov
    stance: stated               # confirmed, reported, speculated, denied, quoted ...
    date: 2024-11-04
    said: on Monday              # the document's own words for the date
    estimate: {count: 11000, of: North Korean soldiers sent to Russia, supersedes: kgd:claim-F56}
  - sentence: 2
    event: {type: Meeting, participants: [Sergey Lavrov, Choe Son Hui], place: Moscow, date: 2024-11-01}
"""
"""A commented sheet with the two facts of issue 11, ready to copy and edit."""

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")

TOP = ("document", "sentences", "new", "claims")
DOCUMENT = (
    "id",
    "url",
    "citation",
    "title",
    "label",
    "name",
    "publisher",
    "date",
    "language",
    "type",
)
CLAIM = (
    "id",
    "text",
    "sentence",
    "source",
    "for",
    "stance",
    "date",
    "said",
    "about",
    "characterisation",
    "occasion",
    "conflicts with",
)
CLAIM_KINDS = ("estimate", "event", "statement", "quote")
ESTIMATE = ("count", "qualifier", "of", "supersedes")
EVENT = (
    "id",
    "type",
    "label",
    "participants",
    "place",
    "destination",
    "date",
    "said",
    "hypothetical",
)
STATEMENT = ("subject", "property", "object")
QUOTE = ("speaker", "text")
NEW_PROPERTIES = {
    "also": SKOS + "altLabel",
    "comment": RDFS + "comment",
    "agent": PROV + "agent",
    "role": PROV + "hadRole",
    "country": KG + "country",
    "in": KG + "locatedIn",
    "speaks for": PROV + "actedOnBehalfOf",
    "unit": KG + "unit",
    "of": KG + "armedForceOf",
    "post in": ORG + "postIn",
    "holds": ORG + "holds",
}
NEW_LITERALS = {"also", "comment"}
"""Keys of a new entry whose values are text, not names."""
NEW = ("class", "id", *NEW_PROPERTIES)
CSV_COLUMNS = {
    "id": ("id",),
    "text": ("text",),
    "sentence": ("sentence",),
    "source": ("source",),
    "for": ("for",),
    "stance": ("stance",),
    "date": ("date",),
    "said": ("said",),
    "about": ("about",),
    "count": ("estimate", "count"),
    "qualifier": ("estimate", "qualifier"),
    "of": ("estimate", "of"),
    "supersedes": ("estimate", "supersedes"),
    "event": ("event", "type"),
    "participants": ("event", "participants"),
    "place": ("event", "place"),
    "event date": ("event", "date"),
    "speaker": ("quote", "speaker"),
    "quote": ("quote", "text"),
    "conflicts with": ("conflicts with",),
}
"""CSV column -> where it goes in a claim; several values in a cell are separated by ';'."""
_LISTS = {"about", "participants", "also", "conflicts with"}


class UnknownSheetName(InputError):
    """A name of a sheet that nothing it is compiled against bears (``unknown``: the name,
    ``declare``: the advice at the end of the message, for a caller that has better)."""

    def __init__(self, message: str, *, unknown: str = "", declare: str = "", **kw: Any):
        super().__init__(message, **kw)
        self.unknown = unknown
        self.declare = declare


@dataclass
class Node:
    """A YAML node reduced to strings, lists and mappings, with its 1-based line."""

    value: str | list[Node] | dict[str, Node]
    line: int
    keys: dict[str, int] = field(default_factory=dict)
    """Line of each key of a mapping."""
    literal: bool = False
    """A scalar written as a literal block (``|``)."""


@dataclass(frozen=True)
class CompiledSheet:
    """The triples of a sheet (default graph), and where in the sheet each came from."""

    quads: tuple[ox.Quad, ...]
    document: str
    claims: tuple[str, ...]
    minted: tuple[str, ...]
    """IRIs of the new things the sheet introduces (document, sentences, claims, entities)."""
    lines: LineIndex

    def turtle(self) -> bytes:
        import pyoxigraph as ox

        data = ox.serialize(
            [q.triple for q in self.quads],
            format=ox.RdfFormat.TURTLE,
            prefixes=used_prefixes(_iris(self.quads)),
        )
        return data or b""


def compile_sheet(
    text: bytes, *, name: str, index: NameIndex, limits: Limits | None = None
) -> CompiledSheet:
    """Compile a claim sheet (YAML, UTF-8) into triples; see the module docstring."""
    limits = limits or Limits()
    if len(text) > limits.max_input_bytes:
        raise too_big(name, limits.max_input_bytes)
    root = compose(text, name=name, max_depth=limits.max_depth)
    # Every short text of the sheet may be a name: looked up in one pass over the labels,
    # not one per name (texts that are not names cost nothing more than a wider filter).
    index.prefetch([*_short_texts(root), *_DEFAULT_STANCES])
    compiled = _Compiler(name, index).run(root)
    if len(compiled.quads) > limits.max_triples:
        raise LimitError(f"the sheet makes more than {limits.max_triples} triples", path=name)
    return compiled


def _short_texts(node: Node) -> Iterator[str]:
    """The keys and scalar values of the sheet short enough to be names (and the cells of a
    CSV block of claims)."""
    if isinstance(node.value, str):
        if len(node.value) <= _NAME_LENGTH:
            yield node.value
        elif node.literal:
            for row in csv.reader(io.StringIO(node.value)):
                for cell in row:
                    yield from (v.strip() for v in cell.split(";") if len(v) <= _NAME_LENGTH)
    elif isinstance(node.value, list):
        for item in node.value:
            yield from _short_texts(item)
    else:
        for key, value in node.value.items():
            if len(key) <= _NAME_LENGTH:
                yield key
            yield from _short_texts(value)


_NAME_LENGTH = 120
_DEFAULT_STANCES = ("stated", "quoted")
"""Stances a claim gets when it names none (resolved by label like the others)."""


# -- reading YAML with lines ------------------------------------------------------------------


def compose(text: bytes, *, name: str, max_depth: int = 64) -> Node:
    """The sheet's YAML as :class:`Node` s. Aliases are refused (a few hundred bytes of
    nested aliases expand to gigabytes) and so are tags, duplicate keys and deep nesting."""
    import yaml

    class SheetLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.events.AliasEvent):
                event: Any = self.peek_event()  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, "aliases (*name) are not allowed in a claim sheet", event.start_mark
                )
            return super().compose_node(parent, index)

    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"the sheet is not UTF-8 text: {err.reason}", path=name) from err
    try:
        node = yaml.compose(decoded, Loader=SheetLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        context = getattr(err, "context", None)
        start = getattr(err, "context_mark", None)
        if mark is not None and start is not None and context and mark.index >= len(decoded):
            # A quote or bracket left open is found at the end of the file: the line to
            # fix is where it was opened.
            problem = f"{problem} {context} that starts here (it is never closed)"
            mark = start
        raise InputError(
            f"not valid YAML: {problem}", path=name, line=mark.line + 1 if mark else None
        ) from err
    if node is None:
        raise InputError("the sheet is empty; `kgraph template` prints one", path=name)
    return _reduce(node, name, max_depth)


def _reduce(node: Any, name: str, depth: int) -> Node:
    import yaml

    line = node.start_mark.line + 1
    if depth <= 0:
        raise InputError("the sheet is nested too deeply", path=name, line=line)
    if isinstance(node, yaml.ScalarNode):
        if node.tag.startswith("tag:yaml.org,2002:") or node.tag == "!":
            value = "" if node.tag.endswith(":null") and node.value in ("~", "null") else node.value
            return Node(value, line, literal=node.style == "|")
    elif isinstance(node, yaml.SequenceNode):
        return Node([_reduce(item, name, depth - 1) for item in node.value], line)
    elif isinstance(node, yaml.MappingNode):
        mapping: dict[str, Node] = {}
        keys: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError("a key must be a plain word", path=name, line=line)
            key = key_node.value.strip()
            if key in mapping:
                raise InputError(
                    f"{key!r} is given twice", path=name, line=key_node.start_mark.line + 1
                )
            mapping[key] = _reduce(value_node, name, depth - 1)
            keys[key] = key_node.start_mark.line + 1
        return Node(mapping, line, keys)
    raise InputError(
        f"YAML tags ({node.tag}) are not allowed in a claim sheet", path=name, line=line
    )


# -- compiling --------------------------------------------------------------------------------


class _Compiler:
    def __init__(self, name: str, index: NameIndex) -> None:
        self.name = name
        self.index = index
        self.quads: list[ox.Quad] = []
        self.lines = LineIndex()
        self.minted: list[str] = []
        self.speaks_for: dict[str, str] = {}
        self.attributions: dict[str, str] = {}
        """Person -> the attribution the sheet declares for them (new: ... class: Attribution)."""
        self.language = "en"

    # -- helpers --

    def fail(self, message: str, line: int) -> NoReturn:
        raise InputError(message, path=self.name, line=line)

    def emit(self, s: str, p: str, o: ox.NamedNode | ox.Literal | str, line: int) -> None:
        import pyoxigraph as ox

        obj = ox.NamedNode(o) if isinstance(o, str) else o
        triple = (ox.NamedNode(s), ox.NamedNode(p), obj)
        if triple in self.lines.triples:
            return
        self.quads.append(ox.Quad(*triple))
        self.lines.triples[triple] = line
        self.lines.pairs.setdefault(triple[:2], line)
        self.lines.subjects.setdefault(triple[0], line)

    def text(self, value: str, language: str | None = None) -> ox.Literal:
        import pyoxigraph as ox

        return ox.Literal(value, language=language or self.language)

    def typed(self, value: str, datatype: str) -> ox.Literal:
        import pyoxigraph as ox

        return ox.Literal(value, datatype=ox.NamedNode(XSD + datatype))

    def mapping(self, node: Node, allowed: tuple[str, ...], what: str) -> dict[str, Node]:
        if not isinstance(node.value, dict):
            # Name the keys: "quote: very dangerous" is the first thing one writes, and
            # the line alone did not say that a quote wants speaker: and text:.
            takes = f"; {what} takes {', '.join(allowed)}" if allowed else ""
            self.fail(f"{what} must be a mapping (key: value lines){takes}", node.line)
        for key, line in node.keys.items():
            if key not in allowed:
                near = difflib.get_close_matches(key, allowed, n=1)
                hint = (
                    f"; did you mean {near[0]!r}?"
                    if near
                    else f"; {what} takes {', '.join(allowed)}"
                )
                self.fail(f"unknown key {key!r} in {what}{hint}", line)
        return {
            k: v for k, v in node.value.items() if not (isinstance(v.value, str) and not v.value)
        }

    def scalar(self, node: Node, what: str) -> str:
        if not isinstance(node.value, str):
            self.fail(f"{what} must be a single value", node.line)
        return node.value.strip()

    def values(self, node: Node, what: str) -> list[tuple[str, int]]:
        if isinstance(node.value, list):
            return [(self.scalar(item, what), item.line) for item in node.value]
        return [(self.scalar(node, what), node.line)]

    def date(self, node: Node, what: str) -> str:
        value = self.scalar(node, what)
        if not _DATE.fullmatch(value):
            self.fail(f"{what} {value!r} is not a date; write it as YYYY-MM-DD", node.line)
        try:
            dt.date.fromisoformat(value)
        except ValueError as err:
            # Written as YYYY-MM-DD already: say what is wrong with it (a 31 November).
            self.fail(f"{what} {value!r} is not a valid date: {err}", node.line)
        return value

    def resolve(self, node: Node, what: str, **kw: Any) -> str:
        value = self.scalar(node, what)
        return self.resolve_text(value, node.line, what, **kw)

    def resolve_text(self, value: str, line: int, what: str, **kw: Any) -> str:
        try:
            return self.index.resolve(value, what=what, **kw)
        except AmbiguousName as err:
            self.fail(f"{what}: {err.message}", line)
        except UnknownName as err:
            other = self.index.elsewhere(value)
            if other is not None:
                # The graph knows the name as something of another kind: declaring it
                # under new: would be refused as already in the graph, so say what it is.
                head = err.message.split("; nearest: ")[0]
                near = ", ".join(map(str, err.suggestions))
                self.fail(f"{head} ({other})" + (f"; nearest: {near}" if near else ""), line)
            fixed = ("stance", "class", "qualifier", "estimate", "claim")
            declare = "" if what in fixed else "; declare it under new: with its class"
            raise UnknownSheetName(
                f"{err.message}{declare}", path=self.name, line=line, unknown=value, declare=declare
            ) from None

    # -- the sheet --

    def run(self, root: Node) -> CompiledSheet:
        top = self.mapping(root, TOP, "the sheet")
        for key in ("document", "sentences", "claims"):
            if key not in top:
                self.fail(f"the sheet needs a {key}: section", root.line)
        if "new" in top:
            self.declare(top["new"])
        document = self.document(top["document"])
        sentences = self.sentences(top["sentences"], document)
        claims = [
            self.claim(node, number, document, sentences)
            for number, node in enumerate(self.claim_nodes(top["claims"]), start=1)
        ]
        return CompiledSheet(
            tuple(self.quads), document.iri, tuple(claims), tuple(self.minted), self.lines
        )

    def batch_of(self, iris: Sequence[str]) -> str | None:
        """The id of the batch that describes one of ``iris``, if one does: a sheet added
        once and then corrected is refused for the names its first version introduced, and
        the way out (remove that batch, add the corrected sheet) was not said."""
        import pyoxigraph as ox

        store = self.index.store
        if store is None:
            return None
        batches = GRAPH + "data/batches/"
        for iri in iris:
            for quad in store.quads_for_pattern(ox.NamedNode(iri), None, None):
                graph = getattr(quad.graph_name, "value", "")
                if graph.startswith(batches):
                    return graph.removeprefix(batches).removesuffix(".ttl")
        return None

    def mint(self, local: str, line: int, *, fresh: bool = True) -> str:
        iri = KGD + local
        if fresh and self.index.store is not None and self.index.describes(iri):
            batch = self.batch_of([iri])
            hint = (
                f" (from batch {batch}: if this sheet replaces it, `kgraph remove {batch}` first)"
                if batch
                else ""
            )
            self.fail(f"kgd:{local} is already in the graph{hint}; give this one another id:", line)
        if iri in self.minted:
            self.fail(f"kgd:{local} is minted twice by this sheet; give one of them an id:", line)
        self.minted.append(iri)
        return iri

    # -- new: names the graph does not know yet --

    def declare(self, node: Node) -> None:
        entries = self.mapping(
            node, tuple(node.value) if isinstance(node.value, dict) else (), "new"
        )
        pending: list[tuple[str, dict[str, Node], str, str]] = []
        for label, entry in entries.items():
            line = node.keys[label]
            spec = (
                {"class": entry}
                if isinstance(entry.value, str)
                else self.mapping(entry, NEW, f"new {label!r}")
            )
            if "class" not in spec:
                self.fail(f"new {label!r} needs its class (class: Person, City, ...)", line)
            cls = self.klass(spec["class"])
            known = sorted(self.index.named(normal(label)))
            if known:
                batch = self.batch_of(known)
                replace = f", or, if this sheet replaces that batch, `kgraph remove {batch}` first"
                self.fail(
                    f"{label!r} is already in the graph ({', '.join(_curie(i) for i in known)}"
                    f"{f', from batch {batch}' if batch else ''}); "
                    f"use the name without declaring it new{replace if batch else ''}",
                    line,
                )
            local = (
                self.scalar(spec["id"], "id")
                if "id" in spec
                else _mint_local(label, cls, self.index)
            )
            if not _ID.fullmatch(local):
                self.fail(f"id {local!r} must be letters, digits, '-', '_' or '.'", line)
            iri = self.mint(local, line)
            self.index.add(iri, label, rank=0, types={cls})
            for alias, _ in self.values(spec["also"], "also") if "also" in spec else ():
                self.index.add(iri, alias, rank=2)
            pending.append((iri, spec, cls, label))
            self.emit(iri, RDF + "type", cls, line)
            self.emit(iri, SKOS + "prefLabel", self.text(label, "en"), line)
        for iri, spec, _cls, _label in pending:
            for key, prop in NEW_PROPERTIES.items():
                if key not in spec:
                    continue
                if key in NEW_LITERALS:
                    for words, line in self.values(spec[key], key):
                        self.emit(iri, prop, self.text(words, "en"), line)
                    continue
                for value, line in self.values(spec[key], key):
                    target = self.resolve_text(value, line, key)
                    self.emit(iri, prop, target, line)
                    if key == "speaks for":
                        self.speaks_for[iri] = target
                    elif key == "agent":
                        # A declared attribution is the one the person's claims get.
                        self.attributions.setdefault(target, iri)

    def klass(self, node: Node) -> str:
        return self.resolve(node, "class", within=OWL + "Class")

    # -- the document and its sentences --

    def document(self, node: Node) -> _Document:
        spec = self.mapping(node, DOCUMENT, "document")
        if "title" not in spec and "label" not in spec:
            self.fail("the document needs a title (or, when it has none, a label)", node.line)
        # The title is the document's own (dcterms:title); the label is how the graph names
        # it (skos:prefLabel), the title unless given; the name is how its sentences' labels
        # refer to it ("Sentence 3 of the Al Jazeera report of 4 November 2024").
        title = self.scalar(spec["title"], "title") if "title" in spec else None
        label = self.scalar(spec["label"], "label") if "label" in spec else title
        assert label is not None
        name = self.scalar(spec["name"], "name") if "name" in spec else label
        date = self.date(spec["date"], "date") if "date" in spec else None
        if "language" in spec:
            self.language = self.scalar(spec["language"], "language")
            if not _LANG.fullmatch(self.language):
                self.fail(
                    f"language {self.language!r} is not a language tag such as en",
                    spec["language"].line,
                )
        local = (
            self.scalar(spec["id"], "id")
            if "id" in spec
            else "-".join(filter(None, [_kebab(label, words=6), date]))
        )
        if not _ID.fullmatch(local):
            self.fail(f"document id {local!r} must be letters, digits, '-', '_' or '.'", node.line)
        iri = self.mint(local, node.line)
        cls = self.klass(spec["type"]) if "type" in spec else KG + "NewsArticle"
        self.emit(iri, RDF + "type", cls, node.line)
        label_line = spec["label" if "label" in spec else "title"].line
        self.emit(iri, SKOS + "prefLabel", self.text(label, "en"), label_line)
        if title is not None:
            self.emit(iri, DCTERMS + "title", self.text(title), spec["title"].line)
        if "url" in spec:
            url = self.scalar(spec["url"], "url")
            if not re.fullmatch(r"https?://[^\s<>\"{}|\\^`]+", url):
                self.fail(f"url {url!r} is not a web address (https://...)", spec["url"].line)
            self.emit(iri, SCHEMA + "url", url, spec["url"].line)
        elif "citation" in spec:
            citation = self.scalar(spec["citation"], "citation")
            self.emit(
                iri,
                DCTERMS + "bibliographicCitation",
                self.typed(citation, "string"),
                spec["citation"].line,
            )
        else:
            self.fail("the document needs a url: or, without an address, a citation:", node.line)
        if date:
            self.emit(iri, DCTERMS + "issued", self.typed(date, "date"), spec["date"].line)
        self.emit(iri, DCTERMS + "language", self.typed(self.language, "language"), node.line)
        publisher = None
        if "publisher" in spec:
            publisher = self.resolve(spec["publisher"], "publisher", within=PROV + "Agent")
            self.emit(iri, DCTERMS + "publisher", publisher, spec["publisher"].line)
        return _Document(iri, local, name, date, publisher)

    def sentences(self, node: Node, document: _Document) -> dict[int, tuple[str, str]]:
        items: list[tuple[int, Node, int]] = []
        if isinstance(node.value, dict):
            for key, value in node.value.items():
                if not key.isdigit() or int(key) < 1:
                    self.fail(
                        f"sentence number {key!r} must be a positive whole number", node.keys[key]
                    )
                items.append((int(key), value, node.keys[key]))
        elif isinstance(node.value, list):
            items = [(n, item, item.line) for n, item in enumerate(node.value, start=1)]
        else:
            self.fail("sentences: must map numbers to the sentences' text", node.line)
        found: dict[int, tuple[str, str]] = {}
        for number, value, line in items:
            text = self.scalar(value, "a sentence")
            iri = self.mint(f"{document.local}-s{number:02d}", line)
            self.emit(iri, RDF + "type", KG + "Sentence", line)
            self.emit(
                iri,
                SKOS + "prefLabel",
                self.text(f"Sentence {number} of {document.name}", "en"),
                line,
            )
            self.emit(iri, KG + "inDocument", document.iri, line)
            self.emit(iri, KG + "sentenceNumber", self.typed(str(number), "integer"), line)
            self.emit(iri, SCHEMA + "text", self.text(text), line)
            found[number] = (iri, text)
        if not found:
            self.fail("the sheet has no sentences", node.line)
        return found

    # -- claims --

    def claim_nodes(self, node: Node) -> list[Node]:
        if isinstance(node.value, list):
            return node.value
        if isinstance(node.value, str) and node.literal:
            return self.csv_claims(node)
        self.fail(
            "claims: must be a list (- sentence: ...) or a CSV literal block (claims: |)", node.line
        )

    def csv_claims(self, node: Node) -> list[Node]:
        assert isinstance(node.value, str)
        first = node.line + 1  # a literal block starts on the line after `claims: |`
        rows = list(csv.reader(io.StringIO(node.value)))
        if not rows:
            self.fail("the CSV block of claims is empty", node.line)
        header = [h.strip() for h in rows[0]]
        for column in header:
            if column not in CSV_COLUMNS:
                near = difflib.get_close_matches(column, list(CSV_COLUMNS), n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                self.fail(f"unknown CSV column {column!r}{hint}", first)
        claims: list[Node] = []
        for offset, row in enumerate(rows[1:], start=1):
            line = first + offset
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(header):
                self.fail(f"the row has {len(row)} cells for {len(header)} columns", line)
            claim = Node({}, line)
            for column, cell in zip(header, row, strict=False):
                if not cell.strip():
                    continue
                target = claim
                *parents, key = CSV_COLUMNS[column]
                for parent in parents:
                    assert isinstance(target.value, dict)
                    target = target.value.setdefault(parent, Node({}, line))
                    claim.keys.setdefault(parent, line)
                    assert isinstance(target.value, dict)
                value: Node = (
                    Node([Node(v.strip(), line) for v in cell.split(";") if v.strip()], line)
                    if key in _LISTS
                    else Node(cell.strip(), line)
                )
                assert isinstance(target.value, dict)
                target.value[key] = value
                target.keys[key] = line
            claims.append(claim)
        return claims

    def claim(
        self, node: Node, number: int, doc: _Document, sentences: dict[int, tuple[str, str]]
    ) -> str:
        spec = self.mapping(node, CLAIM + CLAIM_KINDS, "a claim")
        kinds = [k for k in CLAIM_KINDS if k in spec]
        if len(kinds) > 1:
            self.fail(
                f"a claim is one of {', '.join(CLAIM_KINDS)}, not {' and '.join(kinds)}", node.line
            )
        kind = kinds[0] if kinds else None
        if kind is None and "about" not in spec:
            self.fail(
                f"the claim needs what it is about: about:, or one of {', '.join(CLAIM_KINDS)}",
                node.line,
            )
        if "sentence" not in spec:
            self.fail(
                "the claim needs its sentence (its number, or words quoted from it)", node.line
            )
        sentence, sentence_text = self.sentence(spec["sentence"], sentences)
        fact = self.scalar(spec["id"], "id") if "id" in spec else f"C{number:02d}"
        if not re.fullmatch(r"[A-Z][A-Za-z0-9_.-]*", fact):
            self.fail(
                f"claim id {fact!r} must start with a capital letter, like C01", spec["id"].line
            )
        # An id the sheet gives is the project's fact id (F05, B01, unique across sources,
        # as docs/iri-policy.md's kgd:claim-F05); a numbered one (C01) is the sheet's own, so
        # its IRI carries the document's.
        local = f"claim-{fact}" if "id" in spec else f"{doc.local}-claim-{fact.lower()}"
        iri = self.mint(local, node.line)
        date = self.date(spec["date"], "date") if "date" in spec else None
        stance_name = (
            self.scalar(spec["stance"], "stance")
            if "stance" in spec
            else ("quoted" if kind == "quote" else "stated")
        )
        stance_line = spec["stance"].line if "stance" in spec else node.line
        stance = self.resolve_text(stance_name, stance_line, "stance", within=KG + "Stance")
        self.emit(iri, KG + "factId", self.typed(fact, "string"), node.line)
        self.emit(iri, KG + "stance", stance, stance_line)
        self.emit(iri, KG + "sourceSentence", sentence, spec["sentence"].line)
        self.emit(iri, SCHEMA + "appearance", doc.iri, node.line)
        if date:
            self.emit(iri, KG + "assertedOn", self.typed(date, "date"), spec["date"].line)
        if "said" in spec:
            said = self.scalar(spec["said"], "said")
            if date:
                self.weekday(said, date, spec["said"].line)
            self.emit(iri, KG + "dateSurfaceForm", self.text(said), spec["said"].line)
        if "characterisation" in spec:
            words = self.scalar(spec["characterisation"], "characterisation")
            self.emit(iri, KG + "characterisation", self.text(words), spec["characterisation"].line)
        if "occasion" in spec:
            occasion = spec["occasion"]
            if isinstance(occasion.value, dict):
                made = self.event_node(occasion, doc)
            else:
                made = self.resolve(occasion, "occasion", within=KG + "Event")
            self.emit(iri, PROV + "wasGeneratedBy", made, occasion.line)
        about = [
            (self.resolve_text(v, line, "about"), line)
            for v, line in (self.values(spec["about"], "about") if "about" in spec else ())
        ]
        # A claim that disputes earlier ones (another date for their event) is linked to
        # them and its statement is not asserted: the earlier file keeps what its source
        # said, unedited, and the shapes see one value (docs/model.md, "disagree").
        disputed = [
            (self.resolve_text(v, line, "claim", within=KG + "Claim"), line)
            for v, line in (
                self.values(spec["conflicts with"], "conflicts with")
                if "conflicts with" in spec
                else ()
            )
        ]
        for other, line in disputed:
            self.emit(iri, KG + "conflictsWith", other, line)
        summary = sentence_text
        cls = KG + "Claim"
        speaker: str | None = None
        if kind == "estimate":
            cls = KG + "Estimate"
            summary = self.estimate(iri, spec["estimate"], date or doc.date, about)
        elif kind == "event":
            summary = self.event(iri, spec["event"], doc, about)
        elif kind == "statement":
            summary = self.statement(iri, spec["statement"], about, asserted=not disputed)
        elif kind == "quote":
            cls = KG + "Quotation"
            speaker, summary = self.quote(iri, spec["quote"], about)
        self.emit(iri, RDF + "type", cls, node.line)
        label = self.scalar(spec["text"], "text") if "text" in spec else summary
        self.emit(
            iri,
            SKOS + "prefLabel",
            self.text(f"{fact}: {label}", "en"),
            spec["text"].line if "text" in spec else node.line,
        )
        for target, line in about:
            self.emit(iri, KG + "about", target, line)
        self.attribute(iri, spec, node.line, doc, speaker)
        return iri

    def sentence(self, node: Node, sentences: dict[int, tuple[str, str]]) -> tuple[str, str]:
        value = self.scalar(node, "sentence")
        if value.isdigit():
            if int(value) not in sentences:
                self.fail(
                    f"there is no sentence {value}; the sheet has {', '.join(map(str, sorted(sentences)))}",
                    node.line,
                )
            return sentences[int(value)]
        key = normal(value)
        found = [n for n, (_, text) in sentences.items() if key and key in normal(text)]
        if len(found) == 1:
            return sentences[found[0]]
        if found:
            self.fail(
                f"the words {value!r} are in sentences {', '.join(map(str, found))}; give the number",
                node.line,
            )
        self.fail(
            f"no sentence contains {value!r}; give the sentence's number or words from it",
            node.line,
        )

    def attribute(
        self, iri: str, spec: dict[str, Node], line: int, doc: _Document, speaker: str | None
    ) -> None:
        if "source" in spec:
            source = self.resolve(spec["source"], "source", within=PROV + "Agent")
            line = spec["source"].line
        elif speaker is not None:
            source = speaker
        elif doc.publisher is not None:
            source = doc.publisher  # the document's own voice (docs/model.md)
        else:
            self.fail(
                "the claim needs a source: (or the document a publisher: for its own claims)", line
            )
        organisations = self.organisations(source)
        if "for" in spec:
            chosen = self.resolve(spec["for"], "for", within=PROV + "Agent")
            organisations = [chosen]
        if not organisations:
            self.emit(iri, PROV + "wasAttributedTo", source, line)
            return
        if len(organisations) > 1:
            names = ", ".join(self.index.label(o) for o in organisations)
            self.fail(
                f"{self.index.label(source)} speaks for several bodies ({names}); say which with for:",
                line,
            )
        organisation = organisations[0]
        self.emit(iri, PROV + "wasAttributedTo", organisation, line)
        self.emit(
            iri, PROV + "qualifiedAttribution", self.attribution(source, organisation, line), line
        )

    def organisations(self, person: str) -> list[str]:
        import pyoxigraph as ox

        if person in self.speaks_for:
            return [self.speaks_for[person]]
        if self.index.store is None or not self.index.is_a(person, KG + "Person"):
            return []
        return sorted(
            q.object.value
            for q in self.index.store.quads_for_pattern(
                ox.NamedNode(person), ox.NamedNode(PROV + "actedOnBehalfOf"), None
            )
            if isinstance(q.object, ox.NamedNode)
        )

    def attribution(self, person: str, organisation: str, line: int) -> str:
        import pyoxigraph as ox

        if person in self.attributions:
            return self.attributions[person]
        store = self.index.store
        if store is not None:  # reuse the graph's attribution of this person, if there is one
            for quad in store.quads_for_pattern(
                None, ox.NamedNode(PROV + "agent"), ox.NamedNode(person)
            ):
                if isinstance(quad.subject, ox.NamedNode) and self.index.is_a(
                    quad.subject.value, KG + "Attribution"
                ):
                    return quad.subject.value
        local = f"attribution-{_kebab(self.index.label(person))}-for-{_kebab(self.index.label(organisation))}"
        iri = KGD + local
        if iri in self.minted:
            return iri
        self.minted.append(iri)
        role = KGD + "role-spokesperson"
        self.emit(iri, RDF + "type", KG + "Attribution", line)
        label = f"{self.index.label(person)} speaking for {self.index.label(organisation)}"
        self.emit(iri, SKOS + "prefLabel", self.text(label, "en"), line)
        self.emit(iri, PROV + "agent", person, line)
        self.emit(iri, PROV + "hadRole", role, line)
        if not self.index.describes(role):
            self.emit(role, RDF + "type", ORG + "Role", line)
            self.emit(role, SKOS + "prefLabel", self.text("spokesperson", "en"), line)
        return iri

    # -- what a claim says --

    def estimate(self, iri: str, node: Node, date: str | None, about: list[tuple[str, int]]) -> str:
        spec = self.mapping(node, ESTIMATE, "an estimate")
        for key in ("count", "of"):
            if key not in spec:
                self.fail(f"an estimate needs {key}:", node.line)
        raw = self.scalar(spec["count"], "count")
        digits = raw.replace(",", "").replace("_", "")
        if not digits.isdigit():
            self.fail(f"count {raw!r} is not a whole number such as 11000", spec["count"].line)
        if date is None:
            self.fail("an estimate needs a date: (or the document one)", node.line)
        quantity = self.resolve(spec["of"], "quantity", within=KG + "Quantity")
        figure = KG + "count"
        if "qualifier" in spec:
            qualifier = self.resolve(spec["qualifier"], "qualifier", within=SKOS + "Concept")
            self.emit(iri, KG + "countQualifier", qualifier, spec["qualifier"].line)
            if qualifier == KG + "Millions":
                figure = KG + "countMin"  # an order of magnitude keeps its lower bound
        self.emit(iri, figure, self.typed(str(int(digits)), "integer"), spec["count"].line)
        self.emit(iri, KG + "estimateOf", quantity, spec["of"].line)
        self.emit(iri, KG + "estimateDate", self.typed(date, "date"), node.line)
        if "supersedes" in spec:
            for value, line in self.values(spec["supersedes"], "supersedes"):
                earlier = self.resolve_text(value, line, "estimate", within=KG + "Estimate")
                self.emit(iri, KG + "supersedes", earlier, line)
        if not about:  # what else would it be about? (named, it is about what it names)
            about.append((quantity, spec["of"].line))
        return f"{int(digits):,} {self.index.label(quantity)} (estimate of {date})"

    def event(self, claim: str, node: Node, doc: _Document, about: list[tuple[str, int]]) -> str:
        made = self.made_event(node, doc)
        about.insert(0, (made.iri, node.line))
        # The claim is that the first participant took part; a hypothetical event's claim is
        # that it may happen, which no triple about it states (data/article.ttl does the same).
        if made.participants and not made.hypothetical:
            self.emit(claim, RDF + "subject", made.iri, node.line)
            self.emit(claim, RDF + "predicate", KG + "participant", node.line)
            self.emit(claim, RDF + "object", made.participants[0], node.line)
        return made.label

    def event_node(self, node: Node, doc: _Document) -> str:
        """An event given in place (a claim's occasion:), minted like a claim's event."""
        return self.made_event(node, doc).iri

    def made_event(self, node: Node, doc: _Document) -> _Event:
        spec = self.mapping(node, EVENT, "an event")
        if "type" not in spec:
            self.fail("an event needs its type (type: Meeting, Visit, ...)", node.line)
        cls = self.klass(spec["type"])
        if not self.index.is_subclass(cls, KG + "Event"):
            self.fail(f"{self.index.label(cls)!r} is not a kind of event", spec["type"].line)
        participants = [
            (self.resolve_text(v, line, "participant", within=PROV + "Agent"), line)
            for v, line in (
                self.values(spec["participants"], "participants") if "participants" in spec else ()
            )
        ]
        places = [
            (key, self.resolve(spec[key], key, within=KG + "Place"), spec[key].line)
            for key in ("place", "destination")
            if key in spec
        ]
        date = self.date(spec["date"], "date") if "date" in spec else None
        hypothetical = "hypothetical" in spec and self.scalar(
            spec["hypothetical"], "hypothetical"
        ).lower() in ("true", "yes")
        if "label" in spec:
            label = self.scalar(spec["label"], "label")
        else:
            names = " and ".join(self.index.label(p) for p, _ in participants)
            label = self.index.label(cls) + (f" of {names}" if names else "")
            label += "".join(f" in {self.index.label(p)}" for _, p, _ in places[:1])
            label += f", {date}" if date else ""
        slug = "-".join(
            filter(
                None,
                [
                    _kebab(self.index.label(cls)),
                    *(_kebab(self.index.label(p), words=3) for p, _ in participants),
                    date,
                ],
            )
        )
        if "id" in spec:
            slug = self.scalar(spec["id"], "id")
            if not _ID.fullmatch(slug):
                self.fail(f"id {slug!r} must be letters, digits, '-', '_' or '.'", spec["id"].line)
        elif not (participants or date):
            slug = f"{doc.local}-{slug}"
        iri = self.mint(slug, node.line)
        # Later claims of the sheet may name the event (about:, statement subject:).
        self.index.add(iri, label, rank=0, types={cls})
        self.emit(iri, RDF + "type", cls, node.line)
        self.emit(iri, SKOS + "prefLabel", self.text(label, "en"), node.line)
        modality = KG + ("Hypothetical" if hypothetical else "Actual")
        self.emit(iri, KG + "modality", modality, node.line)
        for participant, line in participants:
            self.emit(iri, KG + "participant", participant, line)
        for key, place, line in places:
            self.emit(iri, KG + ("location" if key == "place" else "destination"), place, line)
        if date:
            self.emit(iri, KG + "date", self.typed(date, "date"), spec["date"].line)
        if "said" in spec:
            said = self.scalar(spec["said"], "said")
            day = self.weekday(said, date, spec["said"].line) if date else None
            if day is not None:
                self.emit(iri, KG + "dayOfWeek", TIME + day, spec["said"].line)
            self.emit(iri, KG + "dateSurfaceForm", self.text(said), spec["said"].line)
        return _Event(iri, label, tuple(p for p, _ in participants), hypothetical)

    def weekday(self, said: str, date: str, line: int) -> str | None:
        """The day of the week the document's words name ("on Monday"), checked against
        the date: a sheet that says Monday of a Tuesday has one of them wrong."""
        named = [d for d in _WEEKDAYS if re.search(rf"\b{d}\b", said, flags=re.IGNORECASE)]
        if not named:
            return None
        actual = _WEEKDAYS[dt.date.fromisoformat(date).weekday()]
        if named != [actual]:
            self.fail(f"said {said!r} names {' and '.join(named)}, but {date} is a {actual}", line)
        return actual

    def statement(
        self, claim: str, node: Node, about: list[tuple[str, int]], *, asserted: bool = True
    ) -> str:
        spec = self.mapping(node, STATEMENT, "a statement")
        for key in STATEMENT:
            if key not in spec:
                self.fail(f"a statement needs {key}:", node.line)
        subject = self.resolve(spec["subject"], "subject")
        prop = self.property(spec["property"])
        obj_text = self.scalar(spec["object"], "object")
        datatype = self.range_datatype(prop)
        obj: ox.NamedNode | ox.Literal | str
        if datatype is not None:
            obj = (
                self.text(obj_text)
                if datatype == RDF + "langString"
                else self.typed(obj_text, datatype.removeprefix(XSD))
            )
            shown = obj_text
        else:
            obj = self.resolve_text(obj_text, spec["object"].line, "object")
            about.append((obj, spec["object"].line))
            shown = self.index.label(obj)
        if asserted:
            self.emit(subject, prop, obj, node.line)  # the plain triple, beside its claim
        self.emit(claim, RDF + "subject", subject, spec["subject"].line)
        self.emit(claim, RDF + "predicate", prop, spec["property"].line)
        self.emit(claim, RDF + "object", obj, spec["object"].line)
        about.insert(0, (subject, spec["subject"].line))
        return f"{self.index.label(subject)} {_property_label(prop)} {shown}"

    def property(self, node: Node) -> str:
        import pyoxigraph as ox

        value = self.scalar(node, "property")
        store = self.index.store
        kinds = (OWL + "ObjectProperty", OWL + "DatatypeProperty")
        declared: dict[str, str] = {}
        if store is not None:
            for kind in kinds:
                for quad in store.quads_for_pattern(
                    None, ox.NamedNode(RDF + "type"), ox.NamedNode(kind)
                ):
                    if isinstance(quad.subject, ox.NamedNode):
                        declared[quad.subject.value] = _property_label(quad.subject.value)
        wanted = normal(value)
        matches = sorted(
            iri
            for iri, label in declared.items()
            if normal(label) == wanted or normal(_curie(iri)) == wanted
        )
        if len(matches) == 1:
            return matches[0]
        near = difflib.get_close_matches(value, [_curie(i) for i in declared], n=3)
        hint = f"; nearest: {', '.join(near)}" if near else ""
        self.fail(f"{value!r} is not a property of the ontology{hint}", node.line)

    def range_datatype(self, prop: str) -> str | None:
        import pyoxigraph as ox

        store = self.index.store
        if (
            store is None
            or next(
                store.quads_for_pattern(
                    ox.NamedNode(prop),
                    ox.NamedNode(RDF + "type"),
                    ox.NamedNode(OWL + "DatatypeProperty"),
                ),
                None,
            )
            is None
        ):
            return None
        for quad in store.quads_for_pattern(ox.NamedNode(prop), ox.NamedNode(RDFS_RANGE), None):
            if isinstance(quad.object, ox.NamedNode):
                return quad.object.value
        return XSD + "string"

    def quote(self, claim: str, node: Node, about: list[tuple[str, int]]) -> tuple[str, str]:
        spec = self.mapping(node, QUOTE, "a quote")
        for key in QUOTE:
            if key not in spec:
                self.fail(f"a quote needs {key}:", node.line)
        speaker = self.resolve(spec["speaker"], "speaker", within=KG + "Person")
        words = self.scalar(spec["text"], "text")
        self.emit(claim, SCHEMA + "text", self.text(words), spec["text"].line)
        self.emit(claim, KG + "speaker", speaker, spec["speaker"].line)
        if not about:
            about.append((speaker, spec["speaker"].line))
        return speaker, f'{self.index.label(speaker)}: "{words}"'


RDFS_RANGE = "http://www.w3.org/2000/01/rdf-schema#range"
TIME = "http://www.w3.org/2006/time#"
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class _Event:
    iri: str
    label: str
    participants: tuple[str, ...]
    hypothetical: bool


@dataclass(frozen=True)
class _Document:
    iri: str
    local: str
    name: str
    """How sentence labels name the document."""
    date: str | None
    publisher: str | None


def _ascii_words(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.findall(r"[A-Za-z0-9]+", plain)


def _kebab(text: str, *, words: int = 8) -> str:
    return "-".join(w.lower() for w in _ascii_words(text)[:words])


def _mint_local(label: str, cls: str, index: NameIndex) -> str:
    """UpperCamel for named agents and places, lower-kebab with the class for the rest
    (docs/iri-policy.md): ``kgd:SergeyLavrov``, ``kgd:quantity-north-korean-soldiers``."""
    named = index.is_subclass(cls, PROV + "Agent") or index.is_subclass(cls, KG + "Place")
    if named:
        local = "".join(w[:1].upper() + w[1:] for w in _ascii_words(label))
    else:
        local = f"{_kebab(index.label(cls))}-{_kebab(label)}"
    if local and _ID.fullmatch(local):
        return local
    # A name with no Latin letters (최선희): a digest keeps the IRI deterministic.
    return "entity-" + hashlib.sha256(normal(label).encode()).hexdigest()[:12]


def _iris(quads: tuple[ox.Quad, ...]) -> list[str]:
    import pyoxigraph as ox

    found = []
    for quad in quads:
        found.append(quad.predicate.value)
        for term in (quad.subject, quad.object):
            if isinstance(term, ox.NamedNode):
                found.append(term.value)
            elif isinstance(term, ox.Literal):
                found.append(term.datatype.value)
    return found


def _curie(iri: str) -> str:
    from kgraph.namespaces import shorten

    return shorten(iri)


def _property_label(iri: str) -> str:
    local = re.split(r"[#/]", iri)[-1]
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", local).lower()
