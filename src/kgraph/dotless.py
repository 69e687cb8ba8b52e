"""Where a statement that lacks its closing dot ends, for the error that reports it.

Oxigraph's Turtle, TriG, N-Triples and N-Quads parsers notice a missing ``.`` only at the
token that comes instead of it: the first token of the next statement, often lines below
after blank lines and comments, or the end of the file (rdflib reports the same place).
The line to fix is the one where the statement ends, so kgraph names that line instead.

The text is read as Oxigraph reads it: UTF-8, columns counted in characters, and
``\\r\\n``, ``\\r`` and ``\\n`` each ending a line.
"""

from __future__ import annotations

import bisect
import re

# The messages of a statement that ran on without its dot (pyoxigraph 0.5), and of a file
# that ended inside one.
_MISSING_DOT = frozenset(
    {
        "A dot is expected at the end of statements",
        "A '}' or a '.' is expected at the end of a graph block",
        "Triples must be followed by a dot",
        "Quads must be followed by a dot",
        "Triples should be followed by a dot",
        "Unexpected end",
    }
)

_LINE_BREAK = re.compile(r"\r\n|\r|\n")

# The tokens that matter to find the last one before an offset: the ones that may hold a
# '#' or a line break (strings, IRIs, escapes) or are skipped (comments, white space).
# Long strings follow STRING_LITERAL_LONG_QUOTE of Turtle 1.1 §6.5.
_TOKEN = re.compile(
    r"""(?P<skip>[ \t\r\n]+|\#[^\r\n]*)
    |\"\"\"(?:(?:\"\"?)?(?:[^\"\\]|\\.))*\"\"\"
    |'''(?:(?:''?)?(?:[^'\\]|\\.))*'''
    |\"(?:[^\"\\\r\n]|\\.)*\"
    |'(?:[^'\\\r\n]|\\.)*'
    |<[^<>\"{}|^`\\\x00-\x20]*>
    |\\.
    |(?P<quote>[\"'])
    |[^ \t\r\n\#\"'<\\]+
    |.""",
    re.VERBOSE | re.DOTALL,
)


def lacks_dot(message: str) -> bool:
    """Whether an Oxigraph parse error (its message without the position) is a missing dot."""
    return message in _MISSING_DOT


def statement_end(data: bytes, line: int, column: int) -> tuple[int, int] | None:
    """Line and column just after the last token before ``line``:``column`` (1-based).

    None when no token comes before it, or when the text before it does not read as
    whole tokens (a string left open: the error is then not a missing dot).
    """
    text = data.decode("utf-8", "replace")
    starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
    if not 1 <= line <= len(starts):
        return None
    offset = min(starts[line - 1] + column - 1, len(text))
    end = None
    for token in _TOKEN.finditer(text, 0, offset):
        if token.group("quote") is not None:
            return None
        if token.group("skip") is None:
            end = token.end()
    if end is None:
        return None
    row = bisect.bisect_right(starts, end - 1)
    return row, end - starts[row - 1] + 1
