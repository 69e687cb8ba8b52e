"""Only the command line names its flags (issue 16).

The library's errors carry the :class:`~kgraph.errors.Setting` that would get past them and
name it in words; ``kgraph.cli`` names the flag. A scan of every library module's string
literals keeps flag names out of what the library says (docstrings may describe the CLI);
the flags scanned for are read from the Click command tree itself, so the list cannot go
stale.
"""

from __future__ import annotations

import io
import pickle
import re
import subprocess
import sys
import tokenize
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest

from conftest import Run, invoke
from kgraph.cli import cli
from kgraph.cli.app import FLAGS, _error_line
from kgraph.errors import ExitStatus, KGraphError, LimitError, Setting

SRC = Path(__file__).resolve().parent.parent / "src" / "kgraph"
KGRAPH = (sys.executable, "-m", "kgraph")
# The package that owns the flags, and the generator of the CLI's reference documentation.
ALLOWED = ("cli/", "docgen.py")


def command_flags(command: click.Command, *, short: bool = False) -> set[str]:
    """Every long option (``--name``) of ``command`` and of its subcommands, or with
    ``short`` every one-letter option (``-e``)."""
    flags = {
        name
        for param in command.params
        for name in (*param.opts, *param.secondary_opts)
        if (re.fullmatch(r"-[A-Za-z]", name) if short else name.startswith("--"))
    }
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            flags |= command_flags(sub, short=short)
    return flags


FLAG_NAMES = command_flags(cli)
SHORT_FLAGS = command_flags(cli, short=True)
# The one string that is exactly a short flag: the location an inline query's errors give
# (``-e:1:5``), as a file's errors give its path. It names where the text came from.
SOURCE_LABELS = {("queries.py", '"-e"')}


def _flag_pattern(flags: set[str]) -> re.Pattern[str]:
    names = "|".join(re.escape(f) for f in sorted(flags, key=len, reverse=True))
    return re.compile(rf"(?<![\w-])({names})(?![\w-])")


_SKIPPED = {tokenize.NL, tokenize.COMMENT}
_STATEMENT_START = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT, tokenize.ENCODING}


def flag_mentions(
    source: str, flags: set[str] = FLAG_NAMES, labels: frozenset[str] = frozenset()
) -> Iterator[tuple[int, str]]:
    """(line, flag) for each flag a string literal of ``source`` names, except the strings
    that are a statement of their own (docstrings, attribute docs): those describe the code
    to its readers. Comments are not string tokens. Every other string may reach a user:
    a message, a warning, an option's default that a message quotes."""
    pattern = _flag_pattern(flags)
    tokens = [
        t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in _SKIPPED
    ]
    for i, token in enumerate(tokens):
        if token.type != tokenize.STRING:
            continue
        before = tokens[i - 1].type if i else tokenize.ENCODING
        after = tokens[i + 1].type if i + 1 < len(tokens) else tokenize.ENDMARKER
        if before in _STATEMENT_START and after in (tokenize.NEWLINE, tokenize.ENDMARKER):
            continue  # a docstring
        if token.string in labels:
            continue
        for match in pattern.finditer(token.string):
            yield token.start[0], match.group(1)


def library_modules() -> list[Path]:
    return [
        path
        for path in sorted(SRC.rglob("*.py"))
        if not path.relative_to(SRC).as_posix().startswith(ALLOWED)
    ]


# -- (1) the scan ----------------------------------------------------------------------------


def test_the_flags_come_from_the_click_tree() -> None:
    # The group's own options and some of each command's: the walk reached them all.
    assert {"--project", "--max-memory", "--timeout", "--input-format", "--wait"} <= FLAG_NAMES
    assert {"--endpoint", "--query-endpoint", "--merge", "--max-rows", "--host"} <= FLAG_NAMES
    assert all(re.fullmatch(r"--[a-z][a-z0-9-]*", f) for f in FLAG_NAMES), FLAG_NAMES


def test_no_library_module_names_a_flag_in_what_it_says() -> None:
    modules = library_modules()
    assert len(modules) > 50 and SRC / "errors.py" in modules
    assert not any(p.is_relative_to(SRC / "cli") for p in modules)
    found = [
        f"{path.relative_to(SRC)}:{line}: {flag}"
        for path in modules
        for line, flag in flag_mentions(path.read_text(encoding="utf-8"))
    ]
    assert found == []


def test_no_library_module_names_a_short_flag_in_what_it_says() -> None:
    assert {"-e", "-p", "-f", "-o"} <= SHORT_FLAGS
    found = [
        f"{path.relative_to(SRC)}:{line}: {flag}"
        for path in library_modules()
        for line, flag in flag_mentions(
            path.read_text(encoding="utf-8"),
            SHORT_FLAGS,
            frozenset(label for name, label in SOURCE_LABELS if path.name == name),
        )
    ]
    assert found == []
    # The scan sees the messages the library said before: 'use -f ...', '(-p NAME VALUE)'.
    before = 'def f():\n    raise UsageError(f"a result is a table: use -f {x} (-p NAME VALUE)")\n'
    assert [flag for _, flag in flag_mentions(before, SHORT_FLAGS)] == ["-f", "-p"]


PLANTED = '''\
"""A module that documents ``kgraph --max-memory`` in its docstring."""

LIMIT_DOC = 5
"""Raised by ``--max-input`` (an attribute's docstring)."""


def stopped(limit: int) -> str:
    """Says what ``--timeout`` does."""
    # raise --max-depth: a comment
    if limit:
        return f"stopped after {limit} s; raise --work-timeout"
    return (
        "ran out of memory; "
        "raise --max-memory"
    )


HINT = "pass --project DIR"
OPTION = {"what": "--http-timeout", "other": "--not-a-kgraph-flag"}
'''


def test_the_scan_catches_planted_messages_and_spares_docstrings_and_comments() -> None:
    assert sorted(flag_mentions(PLANTED)) == [
        (11, "--work-timeout"),
        (14, "--max-memory"),
        (18, "--project"),
        (19, "--http-timeout"),
    ]


def test_the_scan_finds_the_flags_named_before_this_change() -> None:
    # Two of the messages the library said before (limits.py, store.py), as they were.
    before = (
        'def f():\n    return LimitError("ran out of memory; raise the limit with --max-memory")\n'
        'X = InputError("reading standard input needs --input-format", path=name)\n'
    )
    assert [flag for _, flag in flag_mentions(before)] == ["--max-memory", "--input-format"]


# -- the mapping from settings to flags -------------------------------------------------------


def test_every_setting_has_a_flag_of_the_command_tree() -> None:
    assert set(FLAGS) == set(Setting)
    for setting, shown in FLAGS.items():
        named = re.findall(r"(?<![\w-])--?[A-Za-z][a-z0-9-]*", shown)
        assert len(named) == 1 and named[0] in FLAG_NAMES | SHORT_FLAGS, (setting, shown)


def test_setting_words_do_not_contain_one_another() -> None:
    # naming() finds a setting by its words: no setting's words may hide inside another's.
    words = [s.value for s in Setting]
    assert all(a == b or a not in b for a in words for b in words)


def test_the_error_line_names_the_flag_where_the_message_names_the_setting() -> None:
    err = LimitError(
        f"file is larger than the input limit of 1 MB; raise {Setting.MAX_INPUT}",
        path="big.ttl",
        setting=Setting.MAX_INPUT,
    )
    assert str(err) == "big.ttl: file is larger than the input limit of 1 MB; raise the input limit"
    # The last mention is the advice; the one before it is part of the statement.
    assert (
        _error_line(err)
        == "Error: big.ttl: file is larger than the input limit of 1 MB; raise --max-input"
    )
    unsaid = KGraphError("stopped", setting=Setting.TIMEOUT)
    assert _error_line(unsaid) == "Error: stopped (--timeout)"


# -- (2) the command line still names the flag ------------------------------------------------


def assert_one_error(run: Run, status: ExitStatus, *words: str) -> str:
    assert run.exit_code == status, (run.exit_code, run.stderr)
    assert run.stderr.startswith("Error: ") and run.stderr.count("\n") == 1, run.stderr
    for word in words:
        assert word in run.stderr, (word, run.stderr)
    return run.stderr


def test_cli_memory_limit_names_max_memory(project: Path) -> None:
    # A command of its own: the limit is on the worker's address space, which a fork of
    # pytest's process starts with already used (or has to spare) in ways no test controls.
    # The query doubles a string until it needs gigabytes.
    doubling = " ".join(f"BIND(CONCAT(?x{i}, ?x{i}) AS ?x{i + 1})" for i in range(26))
    seed = "0123456789abcdef" * 2
    bomb = f'SELECT (STRLEN(?x26) AS ?n) WHERE {{ BIND("{seed}" AS ?x0) {doubling} }}'
    done = subprocess.run(
        [*KGRAPH, "--project", str(project), "--max-memory", "300", "query", "-e", bomb],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    run = Run(done.returncode, done.stdout, done.stderr, b"")
    line = assert_one_error(run, ExitStatus.LIMIT, "ran out of memory", "raise --max-memory")
    assert "the memory limit" not in line


def test_cli_missing_project_names_project_option(workdir: Path, tmp_path: Path) -> None:
    # No project in the current folder: the shipped graph, which is read-only.
    new = tmp_path / "new.ttl"
    new.write_text("<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n")
    run = invoke(["add", str(new)])
    assert_one_error(
        run, ExitStatus.BAD_INPUT, "the shipped graph is read-only; pass --project DIR"
    )


def test_cli_unknown_input_format_names_input_format_option(
    kgraph: Callable[..., Run], tmp_path: Path
) -> None:
    unknown = tmp_path / "facts.data"
    unknown.write_text("<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n")
    run = kgraph("validate", str(unknown))
    assert_one_error(run, ExitStatus.BAD_INPUT, "from its extension; pass --input-format (turtle")
    assert "the input format" not in run.stderr


def test_cli_lock_held_names_wait_option(
    kgraph: Callable[..., Run], project: Path, tmp_path: Path
) -> None:
    from kgraph.lock import project_lock

    new = tmp_path / "new.ttl"
    new.write_text("<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n")
    with project_lock(project, wait=1):
        run = kgraph("--quiet", "add", str(new), "--wait", "0.2")
    assert_one_error(
        run, ExitStatus.REMOTE_OR_IO, "gave up after 0.2 s (raise --wait, or try again)"
    )


# -- the library: the setting, no flag --------------------------------------------------------


def test_library_error_carries_the_setting_and_names_no_flag(workdir: Path) -> None:
    from kgraph import Project, Setting

    shipped = Project.open()  # no project in the working folder: the shipped graph
    with pytest.raises(KGraphError) as caught:
        shipped.remove("anything")
    err = caught.value
    assert err.setting is Setting.PROJECT and err.settings == (Setting.PROJECT,)
    assert str(err) == "the shipped graph is read-only; pass the project folder"
    assert "--" not in str(err)


def test_a_limit_error_keeps_its_setting_across_the_worker_boundary() -> None:
    # Errors come back from the forked worker pickled (limits.py).
    err = LimitError(
        f"raise {Setting.WORK_TIMEOUT}", path="a.ttl", line=3, setting=Setting.WORK_TIMEOUT
    )
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is LimitError and back.settings == (Setting.WORK_TIMEOUT,)
    assert (back.path, back.line, str(back)) == ("a.ttl", 3, "a.ttl:3: raise the work timeout")


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (("query", "-e", "ASK {}", "officials-and-posts"), "or -e 'SPARQL', not both"),
        (("query", "-e", "ASK {}", "-f", "turtle"), "a ASK result is a table: set -f to one of"),
        (("query", "-e", "CONSTRUCT WHERE { ?s ?p ?o }", "-f", "csv"), "RDF: set -f to one of"),
    ],
)
def test_cli_names_the_short_flags_the_library_leaves_to_it(
    args: tuple[str, ...], shown: str, kgraph: Callable[..., Run]
) -> None:
    assert_one_error(kgraph(*args), ExitStatus.BAD_INPUT, shown)


def test_a_missing_parameter_carries_the_setting_and_the_cli_names_p(
    tmp_path: Path, kgraph: Callable[..., Run]
) -> None:
    from kgraph import Project

    query = tmp_path / "visits-by.rq"
    query.write_text(
        "#+ summary: visits by a person\n#+ params:\n#+   who: {type: iri, required: true}\n"
        "SELECT ?v WHERE { ?v <https://w3id.org/kgraph/ontology#visitor> ?who }\n"
    )
    with pytest.raises(KGraphError) as caught:
        Project.open().query(str(query))
    assert caught.value.setting is Setting.PARAMETER and "-p" not in str(caught.value)
    assert "needs parameter(s): who; give each as a named parameter" in str(caught.value)
    run = kgraph("query", str(query))
    assert_one_error(
        run, ExitStatus.BAD_INPUT, "needs parameter(s): who; give each as -p NAME VALUE"
    )
