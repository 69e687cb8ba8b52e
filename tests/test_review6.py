"""Review 6: where a missing dot is reported, prefixed names in SHACL messages, the
sources of took-part-together, superseded figures in conflicting-claims. Each test fails
on the code before its fix."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import Run
from kgraph.dotless import statement_end
from kgraph.errors import ExitStatus

# -- a missing dot is reported where the statement lacking it ends -------------------------

TTL_PREFIX = "@prefix kgd: <https://w3id.org/kgraph/id/> .\n@prefix kg: <https://w3id.org/kgraph/ontology#> .\n"

# (file name, text, line:column expected, message). The statement lacking its dot ends on
# line 3 (after the prefixes); blank lines, comments, a '#' inside a string and an IRI
# and a comment holding a quote come before the token where Oxigraph notices.
MISSING_DOTS = [
    (
        "eof.ttl",
        TTL_PREFIX + "kgd:a kg:note kgd:b\n\n# trailing comment\n",
        "3:20",
        "Unexpected end",
    ),
    (
        "between.ttl",
        TTL_PREFIX
        + 'kgd:a kg:note "x # not a comment" , <https://e.org/p#q> # no dot "here\n'
        + "\n# kgd:b kg:note kgd:c .\n\n"
        + "kgd:d kg:note kgd:e .\n",
        "3:56",
        "A dot is expected at the end of statements",
    ),
    (
        "final.ttl",
        TTL_PREFIX + 'kgd:a kg:note """two\nlines""" # the end\n\n# trailing comment\n',
        "4:9",
        "Triples should be followed by a dot",
    ),
    (
        "crlf.ttl",
        TTL_PREFIX.replace("\n", "\r\n")
        + 'kgd:a kg:note "Ümlaut ñ"\r\n\r\nkgd:d kg:note kgd:e .\r\n',
        "3:25",
        "A dot is expected at the end of statements",
    ),
    (
        "graph.trig",
        TTL_PREFIX + "kgd:g {\n  kgd:a kg:note kgd:b\n\n  kgd:d kg:note kgd:e\n}\n",
        "4:22",
        "A '}' or a '.' is expected at the end of a graph block",
    ),
    (
        "lines.nt",
        "<https://e.org/a> <https://e.org/p> <https://e.org/b>\n\n",
        "1:54",
        "Quads must be followed by a dot",
    ),
]


@pytest.mark.parametrize("command", ["validate", "add"])
@pytest.mark.parametrize(
    ("name", "text", "where", "message"), MISSING_DOTS, ids=lambda v: str(v)[:12]
)
def test_missing_dot_names_the_line_where_the_statement_ends(
    kgraph: Callable[..., Run],
    project: Path,
    tmp_path: Path,
    snapshot: Callable[[Path], dict[str, bytes]],
    command: str,
    name: str,
    text: str,
    where: str,
    message: str,
) -> None:
    bad = tmp_path / name
    bad.write_bytes(text.encode())
    before = snapshot(project / "data")
    run = kgraph(command, str(bad))
    assert run.exit_code == ExitStatus.BAD_INPUT, (run.stdout, run.stderr)
    assert run.stderr == f"Error: {bad}:{where}: {message}\n"
    assert snapshot(project / "data") == before


def test_an_unexpected_token_on_the_statements_own_line_keeps_its_place(
    kgraph: Callable[..., Run], tmp_path: Path
) -> None:
    # A forgotten comma rather than a dot: Oxigraph's place (the extra token) says more.
    bad = tmp_path / "comma.ttl"
    bad.write_text(TTL_PREFIX + "kgd:a kg:note kgd:b kgd:c .\n")
    run = kgraph("validate", str(bad))
    assert run.stderr == f"Error: {bad}:3:21: A dot is expected at the end of statements\n"


def test_statement_end_gives_up_inside_an_open_string() -> None:
    assert statement_end(b'<a> <b> "open\n\n', 3, 1) is None
    assert statement_end(b"\n\n", 3, 1) is None
    assert statement_end(b"<a> <b> <c>\r\r<d>", 3, 1) == (1, 12)
