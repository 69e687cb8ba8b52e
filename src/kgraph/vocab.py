"""Terms of the project's own vocabulary that a query names but the ontology does not declare.

A SPARQL engine answers a misspelt class (``kg:Meetin``) with no rows, which reads as "no
such meetings". An ad-hoc query (``-e`` or a query file) is therefore scanned for IRIs in
the project's namespaces (:data:`OWN`) that no ontology file declares, and the CLI warns.
The canned queries are checked by a test instead, so that they pay nothing at run time.

The scan is lexical (strings, comments and IRIs are skipped as SPARQL tokens), so it costs
a regular expression over the text; the ontology is parsed only when the text names a
term of an own namespace at all.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from kgraph.namespaces import KG, KGS, PREFIXES

OWN = (KG, KGS)
"""The project's vocabulary namespaces (never its data, kgd:, nor other vocabularies)."""

_TOKEN = re.compile(
    r"""
      (?P<string>'''.*?'''|\"\"\".*?\"\"\"|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
    | (?P<comment>\#[^\n]*)
    | (?P<prefix>\bPREFIX\s+(?P<pname>[A-Za-z][\w.-]*)?:\s*<(?P<pns>[^<>"{}|^`\\\s]*)>)
    | (?P<iri><(?P<iritext>[^<>"{}|^`\\\s]*)>)
    | (?P<curie>(?<![\w?$:.-])(?P<cpfx>[A-Za-z][\w-]*(?:\.[\w-]+)*)?:(?P<local>[\w-]+(?:\.[\w-]+)*))
    """,
    re.VERBOSE | re.DOTALL | re.IGNORECASE,
)


@dataclass(frozen=True)
class Unknown:
    """One use of an undeclared term: where it is, as written, and the nearest declared."""

    line: int
    column: int
    written: str
    nearest: str | None


def declared_terms(ontology_dir: Path, *, limit: int) -> frozenset[str]:
    """Every IRI of an own namespace that an ontology file says something about."""
    import pyoxigraph as ox

    from kgraph.fsutil import read_regular

    found: set[str] = set()
    for path in sorted(ontology_dir.glob("*.ttl")) if ontology_dir.is_dir() else []:
        data = read_regular(path, limit=limit)
        for triple in ox.parse(data, format=ox.RdfFormat.TURTLE):
            subject = triple.subject
            if isinstance(subject, ox.NamedNode) and subject.value.startswith(OWN):
                found.add(subject.value)
    return frozenset(found)


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def own_terms(text: str) -> Iterable[tuple[int, str, str]]:
    """(offset, IRI, as written) of every IRI of an own namespace in the query text."""
    prefixes = dict(PREFIXES)
    for match in _TOKEN.finditer(text):
        if match.group("prefix"):
            prefixes[match.group("pname") or ""] = match.group("pns")
        elif match.group("iri"):
            iri = match.group("iritext")
            # a namespace written whole (a PREFIX's, or a mangled one) names no term
            if iri.startswith(OWN) and iri not in OWN:
                yield match.start(), iri, match.group(0)
        elif match.group("curie"):
            namespace = prefixes.get(match.group("cpfx") or "")
            if namespace is not None and namespace.startswith(OWN):
                iri = namespace + match.group("local")
                if iri.startswith(OWN):
                    yield match.start(), iri, match.group(0)


def _short(iri: str) -> str:
    for name, namespace in PREFIXES.items():
        if namespace in OWN and iri.startswith(namespace):
            return f"{name}:{iri[len(namespace) :]}"
    return f"<{iri}>"


def unknown_terms(text: str, declared: Callable[[], Iterable[str]]) -> list[Unknown]:
    """Each first use of an undeclared own term in ``text``; ``declared`` is called (the
    ontology read) only when the text names an own term at all."""
    uses = list(own_terms(text))
    if not uses:
        return []
    known = frozenset(declared())
    by_folded: dict[str, str] = {}
    for iri in sorted(known):
        by_folded.setdefault(iri.lower(), iri)
    found: list[Unknown] = []
    seen: set[str] = set()
    for offset, iri, written in uses:
        if iri in known or iri in seen:
            continue
        seen.add(iri)
        close = difflib.get_close_matches(iri.lower(), by_folded, n=1, cutoff=0.8)
        line, column = _position(text, offset)
        nearest = _short(by_folded[close[0]]) if close else None
        found.append(Unknown(line, column, written, nearest))
    return found


def warning(source: str, item: Unknown) -> str:
    """The one line the CLI prints for ``item``."""
    hint = f" (did you mean {item.nearest}?)" if item.nearest else ""
    return f"{source}:{item.line}:{item.column}: {item.written} is not in the ontology{hint}"
