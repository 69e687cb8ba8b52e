"""Names of ``query --endpoint`` parameters, resolved by queries sent to the endpoint.

:class:`~kgraph.names.NameIndex` asks its store for two things: SELECT answers (the
label look-up, :func:`~kgraph.names.lookup_query`) and ``quads_for_pattern`` (types,
classes, a label to show). :class:`EndpointGraphs` answers both over the SPARQL 1.1
Protocol with the project's graphs as the dataset, the graphs the query itself runs over,
so a name resolves to what the query will see, with the same errors as a local query.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from kgraph.errors import RemoteError


class EndpointGraphs:
    """The part of ``pyoxigraph.Store`` a :class:`~kgraph.names.NameIndex` uses, answered
    by ``endpoint`` over the merge of ``graphs``."""

    def __init__(
        self, endpoint: str, graphs: Sequence[str], *, timeout: float, max_body: int
    ) -> None:
        self.endpoint = endpoint
        self.graphs = list(graphs)
        self.timeout = timeout
        self.max_body = max_body
        self.requests = 0

    def query(self, text: str, **_options: Any) -> list[Any]:
        """A SELECT's solutions. ``_options`` (a local store's union default graph) are
        implied: the dataset sent is the project's graphs."""
        import pyoxigraph as ox

        from kgraph.remote import solutions

        self.requests += 1
        result = solutions(
            self.endpoint,
            text,
            doing="looking up names",
            asked="a name look-up",
            timeout=self.timeout,
            max_body=self.max_body,
            graphs=self.graphs,
        )
        if isinstance(result, ox.QueryBoolean):
            raise RemoteError(f"{self.endpoint} answered a name look-up's SELECT with a boolean")
        return list(result)

    def quads_for_pattern(self, s: Any, p: Any, o: Any, g: Any = None) -> Iterator[Any]:
        """The triples of the graphs matching the pattern, each once, as quads of the
        default graph (a graph name or a blank node cannot be asked for: nothing)."""
        import pyoxigraph as ox

        if g is not None or any(isinstance(t, ox.BlankNode) for t in (s, p, o)):
            return iter(())
        given = {"s": s, "p": p, "o": o}
        # A term's str is its N-Triples form, checked and escaped by Oxigraph.
        terms = {k: (f"?{k}" if v is None else str(v)) for k, v in given.items()}
        rows = self.query(f"SELECT DISTINCT * WHERE {{ {terms['s']} {terms['p']} {terms['o']} }}")

        def term(row: Any, k: str) -> Any:
            return given[k] if given[k] is not None else row[k]

        graph = ox.DefaultGraph()
        return iter([ox.Quad(term(r, "s"), term(r, "p"), term(r, "o"), graph) for r in rows])


def resolve_remote(
    endpoint: str,
    graphs: Sequence[str],
    canned: Any,
    bound: dict[str, Any],
    *,
    timeout: float,
    max_body: int,
) -> dict[str, Any]:
    """``bound`` with its names resolved and its IRIs checked at ``endpoint`` over
    ``graphs``, as :func:`kgraph.queries.resolve_names` does locally."""
    from kgraph.names import NameIndex
    from kgraph.queries import resolve_names

    store = EndpointGraphs(endpoint, graphs, timeout=timeout, max_body=max_body)
    return resolve_names(bound, store, canned, index=NameIndex.from_store(store))  # type: ignore[arg-type]
