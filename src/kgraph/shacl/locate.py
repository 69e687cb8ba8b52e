"""Finding the file and line a triple came from, for reports that point at the culprit.

Oxigraph's parser emits each triple as soon as it has read it; feeding it one line per
read tells which line that was. Files are re-read only when a report needs a location,
so validation itself pays nothing for this.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import IO, Any, cast

from kgraph.formats import RdfSyntax
from kgraph.store import skolemise


class _LineReader(io.RawIOBase):
    """A binary stream that hands out one line per read and remembers which."""

    def __init__(self, data: bytes) -> None:
        self._lines = data.splitlines(keepends=True)
        self._next = 0
        self.line = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._next >= len(self._lines):
            return 0
        chunk = self._lines[self._next]
        if len(chunk) > len(buffer):  # a line longer than the parser's buffer: split it
            self._lines[self._next] = chunk[len(buffer) :]
            chunk = chunk[: len(buffer)]
        else:
            self._next += 1
            self.line = self._next
        buffer[: len(chunk)] = chunk
        return len(chunk)


@dataclass
class LineIndex:
    """Line of each triple, of the first triple of each (subject, predicate), and of the
    first triple of each subject, in one file."""

    triples: dict[tuple[Any, Any, Any], int] = field(default_factory=dict)
    pairs: dict[tuple[Any, Any], int] = field(default_factory=dict)
    subjects: dict[Any, int] = field(default_factory=dict)

    @classmethod
    def build(
        cls, data: bytes, syntax: RdfSyntax, *, base_iri: str | None, skolem: str | None
    ) -> LineIndex:
        import pyoxigraph as ox

        index = cls()
        if syntax in (RdfSyntax.JSONLD, RdfSyntax.XML):
            return index  # one-line-at-a-time reading is meaningless for these syntaxes
        reader = _LineReader(data)
        lines: list[int] = []
        quads: list[Any] = []
        try:
            for quad in ox.parse(
                cast(IO[bytes], reader), format=syntax.oxigraph(), base_iri=base_iri
            ):
                quads.append(quad)
                lines.append(reader.line)
        except SyntaxError:
            return index
        if skolem is not None:
            quads = skolemise(quads, skolem)
        for quad, line in zip(quads, lines, strict=True):
            index.triples.setdefault((quad.subject, quad.predicate, quad.object), line)
            index.pairs.setdefault((quad.subject, quad.predicate), line)
            index.subjects.setdefault(quad.subject, line)
        return index
