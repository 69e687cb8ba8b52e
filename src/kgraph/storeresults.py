"""A store's answer made comparable with the local one, and refused when the store cut it.

* Never a silent cut: Virtuoso stops a result at ``ResultSetMaxRows`` rows (Debian's
  default 10000) with status 200 and says so only in an ``X-SPARQL-MaxRows`` header. kgraph
  refuses such an answer (exit 3, one line naming the cap and the setting) instead of
  printing part of it: paging with OFFSET would need a total order the store honours,
  and Virtuoso does not honour every ORDER BY (docs/stores.md).
* Terms by value: stores spell the same literal differently (Virtuoso answers
  ``"1"^^xsd:boolean`` for ``true``, other stores ``"01"^^xsd:integer``). Each XSD literal
  goes through an in-memory Oxigraph store, which writes the canonical form the local
  store writes, so every ``-f`` output is the same across stores.
* Blank-node labels that are not N-Triples labels (Virtuoso's ``nodeID://b10001``) are
  renamed ``b0``, ``b1``, ... in order of appearance (the same label, the same node).
"""

from __future__ import annotations

import json
import re
from typing import Any

from kgraph.errors import RemoteError
from kgraph.namespaces import XSD

ROW_CAP_HEADERS = ("X-SPARQL-MaxRows",)
"""Headers by which a store says it cut the result at a number of rows."""
_LABEL = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


class AnswerCut(RemoteError):
    """The store cut an answer at its row cap."""


def check_not_cut(headers: tuple[tuple[str, str], ...], where: str, name: str) -> None:
    for key, value in headers:
        if key.lower() in (h.lower() for h in ROW_CAP_HEADERS):
            raise AnswerCut(
                f"{where} cut the answer of {name} at {value.strip()} rows ({key} header); "
                "kgraph prints no partial answer: raise the store's cap (Virtuoso: "
                "ResultSetMaxRows in the [SPARQL] section of virtuoso.ini)"
            )


def normalise_json(body: bytes) -> bytes:
    """SPARQL JSON results with canonical XSD literals and N-Triples blank-node labels.
    Anything that is not SPARQL JSON results is returned as it came (the parser reports it)."""
    try:
        answer = json.loads(body)
        bindings = answer["results"]["bindings"]
    except (ValueError, KeyError, TypeError, RecursionError):
        return body
    if not isinstance(bindings, list):
        return body
    terms = [t for row in bindings if isinstance(row, dict) for t in row.values()]
    terms = [t for t in terms if isinstance(t, dict)]
    literals = [
        t
        for t in terms
        if t.get("type") in ("literal", "typed-literal")
        and str(t.get("datatype", "")).startswith(XSD)
        and isinstance(t.get("value"), str)
    ]
    canonical = _canonical([(t["value"], t["datatype"]) for t in literals])
    for term, (value, datatype) in zip(literals, canonical, strict=True):
        term["value"], term["datatype"] = value, datatype
    labels: dict[str, str] = {}
    for term in terms:
        if term.get("type") == "bnode" and isinstance(term.get("value"), str):
            label = term["value"]
            if not _LABEL.fullmatch(label) or label in labels:
                term["value"] = labels.setdefault(label, f"b{len(labels)}")
    return json.dumps(answer).encode()


def normalise_triples(triples: list[Any]) -> list[Any]:
    """A CONSTRUCT/DESCRIBE answer's triples with canonical XSD literals."""
    import pyoxigraph as ox

    spots = [
        (i, t.object)
        for i, t in enumerate(triples)
        if isinstance(t.object, ox.Literal) and t.object.datatype.value.startswith(XSD)
    ]
    canonical = _canonical([(lit.value, lit.datatype.value) for _, lit in spots])
    out = list(triples)
    for (i, _), (value, datatype) in zip(spots, canonical, strict=True):
        t = out[i]
        out[i] = ox.Triple(
            t.subject, t.predicate, ox.Literal(value, datatype=ox.NamedNode(datatype))
        )
    return out


def _canonical(literals: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each (lexical form, datatype) as Oxigraph stores it: its canonical form, and
    ``xsd:integer`` for the integer types it folds into it."""
    import pyoxigraph as ox

    if not literals:
        return []
    store = ox.Store()
    subject = ox.NamedNode("urn:kgraph:literal")
    done: dict[tuple[str, str], tuple[str, str]] = {}
    for index, (value, datatype) in enumerate(dict.fromkeys(literals)):
        predicate = ox.NamedNode(f"urn:kgraph:literal:{index}")
        try:
            store.add(
                ox.Quad(subject, predicate, ox.Literal(value, datatype=ox.NamedNode(datatype)))
            )
        except (ValueError, TypeError):
            done[(value, datatype)] = (value, datatype)
            continue
        got: Any = next(iter(store.quads_for_pattern(subject, predicate, None))).object
        done[(value, datatype)] = (got.value, got.datatype.value)
    return [done[item] for item in literals]
