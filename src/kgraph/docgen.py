"""Regenerate the parts of the docs that come from the code, or check they are fresh.

``python -m kgraph.docgen --write`` rewrites the blocks between ``<!-- BEGIN name -->``
and ``<!-- END name -->`` in README.md and queries/README.md; ``--check`` (run by
``make test``) fails when any block is stale. Blocks: the terminal transcript (real
output on the shipped graph), the canned-query table, the CLI reference, the exit-code
table, and the competency-question map.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

TRANSCRIPT = [
    ["validate"],
    # --columns picks what reads well in 100 columns; the other cells are a -f tsv away.
    [
        "query",
        "officials-and-posts",
        "-p",
        "date",
        "2024-10-28",
        "--columns",
        "personName,relation,postName,startDate,endDate",
    ],
    [
        "query",
        "troop-estimates-over-time",
        "--columns",
        "stateName,estimateDate,count,qualifier,sourceName,factId,supersededBy,isCurrent",
    ],
    [
        "query",
        "claims-by-stance",
        "-p",
        "stance",
        "kg:NotDenied",
        "--columns",
        "factId,sourceName,statement",
    ],
    ["check"],
]


SECOND_ARTICLE = "data/article2.yaml"
ADD_TRANSCRIPT = [
    ["add", "article2.yaml"],
    [
        "query",
        "troop-estimates-over-time",
        "--columns",
        "quantityName,estimateDate,count,qualifier,sourceName,factId,isCurrent",
    ],
    ["query", "about-entity", "-p", "entity", "Choe Son Hui", "--columns", "factId,statement"],
    [
        "query",
        "conflicting-claims",
        "--columns",
        "factId,otherFactId,disagreement,figure,otherFigure",
    ],
]
"""The second article going in through its sheet, into a copy of the project without it
(the shipped graph compiles data/article2.yaml itself; see README "Claim sheets")."""
BATCH_CLOCK = "1730764800"  # 2024-11-05T00:00:00Z, the day after the report: a stable batch id


def _kgraph(args: list[str], *, project: Path = ROOT, cwd: Path = ROOT) -> str:
    env = {**os.environ, "COLUMNS": "100", "KGRAPH_STORE": "", "SOURCE_DATE_EPOCH": BATCH_CLOCK}
    done = subprocess.run(
        [sys.executable, "-m", "kgraph", "--project", str(project), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
    )
    return (done.stdout + done.stderr).rstrip("\n")


def add_transcript() -> str:
    """``kgraph add article2.yaml`` in a temporary copy of the project holding only the
    first article, then the queries that answer across both."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kgraph-docs-") as tmp:
        work = Path(tmp)
        project = work / "project"
        for name in ("ontology", "data", "queries"):
            shutil.copytree(
                ROOT / name, project / name, ignore=shutil.ignore_patterns("batches", ".*")
            )
        (project / SECOND_ARTICLE).rename(work / "article2.yaml")
        parts = []
        for args in ADD_TRANSCRIPT:
            out = _kgraph(args, project=project, cwd=work)
            parts.append(f"$ kgraph {' '.join(_quote(a) for a in args)}\n{out}")
    return "```console\n" + "\n\n".join(parts) + "\n```"


def transcript() -> str:
    parts = []
    for args in TRANSCRIPT:
        parts.append(f"$ kgraph {' '.join(_quote(a) for a in args)}\n{_kgraph(args)}")
    return "```console\n" + "\n\n".join(parts) + "\n```"


def _quote(arg: str) -> str:
    return arg if re.fullmatch(r"[\w:./=-]+", arg) else f"'{arg}'"


def query_table() -> str:
    from kgraph.queries import registry

    rows = ["| query | parameters | answers |", "| --- | --- | --- |"]
    for query in registry(ROOT / "queries").values():
        params = ", ".join(
            f"`{p.name}` ({p.type}{'' if p.required else ', optional'})" for p in query.params
        )
        rows.append(f"| `{query.name}` | {params or '–'} | {query.summary} |")
    return "\n".join(rows)


def question_map() -> str:
    from kgraph.queries import registry

    answered: dict[str, list[str]] = {}
    for query in registry(ROOT / "queries").values():
        for question in query.questions:
            answered.setdefault(question, []).append(query.name)
    rows = ["| question | answered by |", "| --- | --- |"]
    for question in sorted(answered, key=lambda q: (len(q), q)):
        rows.append(f"| {question} | {', '.join(f'`{n}`' for n in answered[question])} |")
    return "\n".join(rows)


def cli_reference() -> str:
    from click.testing import CliRunner

    from kgraph.cli import cli

    runner = CliRunner()
    sections = []
    main = runner.invoke(cli, ["--help"], terminal_width=100).output
    sections.append(f"```text\n$ kgraph --help\n{main.rstrip()}\n```")
    for name in sorted(cli.commands):
        text = runner.invoke(cli, [name, "--help"], terminal_width=100).output
        sections.append(f"#### `kgraph {name}`\n\n```text\n{text.rstrip()}\n```")
    return "\n\n".join(sections)


def exit_codes() -> str:
    from kgraph.errors import ExitStatus

    rows = ["| code | name | meaning |", "| --- | --- | --- |"]
    for status in ExitStatus:
        rows.append(f"| {int(status)} | `{status.name}` | {_doc(status)} |")
    return "\n".join(rows)


def _doc(status: object) -> str:
    import ast
    import inspect

    from kgraph import errors

    source = inspect.getsource(errors.ExitStatus)
    tree = ast.parse(source)
    body = tree.body[0].body  # type: ignore[attr-defined]
    for i, node in enumerate(body):
        if isinstance(node, ast.Assign) and node.targets[0].id == status.name:  # type: ignore[attr-defined]
            nxt = body[i + 1] if i + 1 < len(body) else None
            if isinstance(nxt, ast.Expr) and isinstance(nxt.value, ast.Constant):
                return str(nxt.value.value)
    return ""


BLOCKS: dict[str, dict[str, Callable[[], str]]] = {
    "README.md": {
        "transcript": transcript,
        "add-transcript": add_transcript,
        "queries": query_table,
        "cli": cli_reference,
        "exit-codes": exit_codes,
    },
    "queries/README.md": {"questions": question_map, "queries": query_table},
}


def render(path: Path, blocks: dict[str, Callable[[], str]]) -> str:
    text = path.read_text()
    for name, make in blocks.items():
        pattern = re.compile(rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{path}: no block {name!r}")
        content = make()
        text = pattern.sub(_keep_markers(content), text)
    return text


def _keep_markers(content: str) -> Callable[[re.Match[str]], str]:
    return lambda match: match.group(1) + content + "\n" + match.group(2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    stale = []
    for relative, blocks in BLOCKS.items():
        path = ROOT / relative
        fresh = render(path, blocks)
        if fresh != path.read_text():
            if args.write:
                path.write_text(fresh)
                print(f"rewrote {relative}")
            else:
                stale.append(relative)
    if stale:
        print(f"stale generated docs: {', '.join(stale)}; run `make docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
