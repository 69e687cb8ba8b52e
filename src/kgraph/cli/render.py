"""The one plain-text table renderer of the command line.

A table fits the terminal: cells that would make a line wider than the terminal are
**truncated** (never wrapped), marked with ``…``, so each row stays one line that ``grep``
and ``wc -l`` can count; the full values are a ``-f tsv`` (or ``--columns``) away. When
the columns cannot all keep their headings whole, some are left out (an IRI column beside
its label column first, then the last ones), and the count line names them. A one-row
answer that does not fit is shown as a record instead (``name: value`` lines, nothing cut).
Without a terminal and without ``COLUMNS`` there is no width, so piped output is the whole
table. Control characters in cells are escaped, newlines shown as ⏎: data must not drive
the terminal.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import unicodedata
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from kgraph.results import cell, printable

if TYPE_CHECKING:
    from kgraph.results import QueryResult

_GAP = "  "
_MIN = 6
"""The narrowest a truncated column gets (five characters and the mark)."""
_SHORT = 10
"""A column this wide or narrower (a date, a fact id, a count) is cut only when nothing
else can be."""


def terminal_width() -> int | None:
    """The width to fit: ``COLUMNS`` if set, else the terminal's; None when standard output
    is not a terminal (a pipe or a file takes the whole table)."""
    if os.environ.get("COLUMNS", "").strip().isdigit() or sys.stdout.isatty():
        width = shutil.get_terminal_size().columns
        return width if width > 0 else None
    return None


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal (wide East Asian characters take two, combining
    marks none)."""
    return sum(_char_width(c) for c in text)


def _char_width(char: str) -> int:
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def truncate(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns, the cut marked with …."""
    if display_width(text) <= width:
        return text
    out, used = [], 0
    for char in text:
        w = _char_width(char)
        if used + w > width - 1:
            break
        out.append(char)
        used += w
    return "".join(out) + "…"


def _pad(text: str, width: int, right: bool) -> str:
    fill = " " * max(width - display_width(text), 0)
    return fill + text if right else text + fill


def _fit(natural: list[int], heads: list[int], width: int) -> list[int]:
    """Column widths within ``width``: the widest columns are capped first, so narrow
    columns stay whole; each keeps its heading's width, or ``_MIN`` when the headings alone
    are too wide."""
    room = width - len(_GAP) * (len(natural) - 1)
    if sum(natural) <= room:
        return natural
    # Keep the headings whole when they fit: a column is read by its name.
    floors = [min(n, max(h, _MIN)) for n, h in zip(natural, heads, strict=True)]
    if sum(floors) > room:
        floors = [min(n, _MIN) for n in natural]
    if sum(floors) >= room:
        return floors
    # Short values whole when there is room for it: a date cut to "2024-10-…" has lost
    # its day, where a name cut to "Choe Son …" is still read.
    whole = [n if n <= _SHORT else f for n, f in zip(natural, floors, strict=True)]
    if sum(whole) <= room:
        floors = whole

    def used(cap: int) -> int:
        return sum(max(f, min(n, cap)) for n, f in zip(natural, floors, strict=True))

    low, high = 0, max(natural)
    while low < high:  # the largest cap that fits
        mid = (low + high + 1) // 2
        low, high = (mid, high) if used(mid) <= room else (low, mid - 1)
    widths = [max(f, min(n, low)) for n, f in zip(natural, floors, strict=True)]
    spare = room - sum(widths)
    for i, n in enumerate(natural):  # what the integer cap left over, to the capped ones
        if spare and widths[i] < n:
            widths[i] += 1
            spare -= 1
    return widths


def text_of(value: Any) -> str:
    """A cell as it is printed: terms as people read them (CURIEs, bare literals), newlines
    as ⏎, control characters escaped."""
    return printable(cell(value).replace("\n", "⏎"))


def table(
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    noun: str | None = "row",
    plural: str = "",
    *,
    width: int | None = None,
    right: Collection[str] = (),
    record: bool = True,
) -> str:
    """An aligned table fitted to ``width`` (None: as wide as it needs), with a count line
    ``(N rows)`` unless ``noun`` is None; ``right`` names right-aligned (number) columns.
    One row that does not fit is a record (``record=False`` keeps it a table)."""
    heads = [printable(c) for c in columns]
    cells = [[text_of(v) for v in row] for row in rows]
    natural = [
        max([display_width(h), *(display_width(r[i]) for r in cells)]) for i, h in enumerate(heads)
    ]
    count = ""
    if noun is not None:
        count = f"({len(rows)} {noun if len(rows) == 1 else plural or noun + 's'})\n"
    full = sum(natural) + len(_GAP) * (len(natural) - 1)
    if width is not None and full > width and len(rows) == 1 and record:
        return _record(heads, cells[0]) + count
    if width is not None:
        shown = _shown(heads, natural, width)
        if len(shown) < len(heads):
            hidden = [h for i, h in enumerate(heads) if i not in shown]
            columns = [columns[i] for i in shown]
            heads = [heads[i] for i in shown]
            cells = [[r[i] for i in shown] for r in cells]
            natural = [natural[i] for i in shown]
            count = (count.rstrip(")\n") + "; " if count else "(") + (
                f"not shown: {', '.join(hidden)}; --columns picks them)\n"
            )
    widths = natural if width is None else _fit(natural, [display_width(h) for h in heads], width)
    aligned = [c in right for c in columns]

    def line(texts: Sequence[str]) -> str:
        parts = [_pad(truncate(t, w), w, r) for t, w, r in zip(texts, widths, aligned, strict=True)]
        return _GAP.join(parts).rstrip()

    lines = [line(heads), _GAP.join("-" * w for w in widths), *(line(r) for r in cells)]
    return "\n".join(lines) + "\n" + count


def _shown(heads: Sequence[str], natural: Sequence[int], width: int) -> list[int]:
    """The columns drawn in ``width``: all of them when the table fits; else the IRI
    column beside its label column (``person`` beside ``personName``: cut, it reads
    ``kgd:Choe…``) is left out, then the columns at the end while the rest cannot keep
    their headings whole, so what is drawn is read by its names instead of a row of
    five-letter stubs (16 columns in 120 were cut to ``kgd:D…  North…  2024-…``). The
    count line names the ones left out."""
    floors = [
        n if n <= _SHORT else min(n, max(display_width(h), _MIN))
        for n, h in zip(natural, heads, strict=True)
    ]

    def fits(indices: Sequence[int]) -> bool:
        return sum(floors[i] for i in indices) + len(_GAP) * (len(indices) - 1) <= width

    every = list(range(len(heads)))
    if sum(natural) + len(_GAP) * (len(heads) - 1) <= width:
        return every
    named = set(heads)
    kept = [i for i in every if f"{heads[i]}Name" not in named]
    shown: list[int] = []
    for i in kept:
        if not fits([*shown, i]):
            break
        shown.append(i)
    return shown or kept[:1]


def _record(names: Sequence[str], values: Sequence[str]) -> str:
    """One row as ``name: value`` lines, the values aligned and whole."""
    pad = max(display_width(n) for n in names)
    return "".join(
        f"{_pad(n + ':', pad + 1, False)} {v}".rstrip() + "\n"
        for n, v in zip(names, values, strict=True)
    )


def query_output(
    result: QueryResult, fmt: str, *, columns: str | None = None, to_terminal: bool = True
) -> bytes:
    """What ``kgraph query`` writes: a table drawn from ``rows()`` (fitted to the terminal
    when ``to_terminal``), or the result in ``fmt``; ``columns`` picks the variables."""
    from kgraph.errors import UsageError
    from kgraph.results import Form

    if columns is not None:
        if result.form is not Form.SELECT:
            raise UsageError(
                f"--columns picks the variables of a SELECT; this is {result.form.value}"
            )
        wanted = [c.strip().removeprefix("?") for c in columns.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in result.variables]
        if unknown or not wanted:
            raise UsageError(
                f"--columns: no column {', '.join(unknown) or '(none given)'}; "
                f"the columns are {', '.join(result.variables)}"
            )
        result = result.select(wanted)
    if fmt != "table":
        return result.serialize(fmt)
    if result.form is Form.GRAPH:
        return result.serialize("turtle")
    if result.form is Form.ASK:
        return b"true\n" if result.boolean else b"false\n"
    width = terminal_width() if to_terminal else None
    return table(result.variables, result.rows(), width=width).encode()


class ShapeProgress:
    """``validating: 12/95 shapes, 4.2 s`` on stderr, redrawn in place, when stderr is a
    terminal; nothing otherwise (a log or a pipe gets no carriage returns).

    Used as ``with ShapeProgress() as progress: ... progress(done, total)``; the local
    validation calls it from its worker process, whose fd 2 is /dev/null (native code's
    own complaints must not reach the user), so the line goes to a duplicate of this
    process's stderr taken here, which the forked worker inherits. The line is erased when
    the block ends, so the report (or an error) starts on a clean line.
    """

    REDRAW = 0.1
    """Seconds between redraws: a terminal is not a log."""

    def __init__(self, *, enabled: bool = True, stream: Any = None) -> None:
        import time

        self._stream = stream if stream is not None else sys.stderr
        self._on = enabled and _isatty(self._stream)
        self._started = time.monotonic()
        self._drawn = 0.0
        self._fd = -1

    def __enter__(self) -> ShapeProgress | None:
        if not self._on:
            return None
        self._stream.flush()
        self._fd = os.dup(self._stream.fileno())
        return self

    def _write(self, text: str) -> None:
        with contextlib.suppress(OSError):  # a terminal gone away is no reason to fail
            os.write(self._fd, text.encode())

    def __call__(self, done: int, total: int) -> None:
        import time

        now = time.monotonic()
        if done < total and now - self._drawn < self.REDRAW:
            return
        self._drawn = now
        line = f"validating: {done}/{total} shapes, {now - self._started:.1f} s"
        self._write(f"\r{line}\x1b[K")

    def __exit__(self, *exc: Any) -> None:
        if self._fd >= 0:
            self._write("\r\x1b[K")
            os.close(self._fd)
            self._fd = -1


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty()) and stream.fileno() >= 0
    except (AttributeError, ValueError, OSError):
        return False
