"""The one plain-text table renderer of the command line."""

from __future__ import annotations

from typing import Any


def table(columns: list[str], rows: list[list[Any]], noun: str = "row", plural: str = "") -> str:
    """An aligned table of plain Python values (control characters escaped, as in
    :func:`kgraph.results.table`)."""
    from kgraph.results import printable

    cells = [[printable(str(v).replace("\n", "⏎")) for v in row] for row in rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(columns)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths),
    ]
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.append(f"({len(rows)} {noun if len(rows) == 1 else plural or noun + 's'})")
    return "\n".join(lines) + "\n"
