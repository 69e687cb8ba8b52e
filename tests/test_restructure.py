"""Issue 16, the restructure: one owner per concern, and the contract it keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import Run
from kgraph import namespaces
from kgraph.errors import ExitStatus, InternalError


def test_every_inferred_graph_shares_one_prefix() -> None:
    batch = namespaces.graph_iri("data/batches/20260101T000000Z-abc.ttl")
    whole = namespaces.inferred_graph("owlrl")
    of_batch = namespaces.inferred_graph("owlrl", batch=batch)
    assert whole == namespaces.INFERRED + "owlrl"
    assert of_batch == namespaces.INFERRED + "owlrl/data/batches/20260101T000000Z-abc.ttl"
    assert namespaces.is_inferred(whole) and namespaces.is_inferred(of_batch)
    assert not namespaces.is_inferred(batch)


def test_skolem_namespaces_do_not_collide() -> None:
    spaces = {
        namespaces.file_skolem("data/article.ttl"),
        namespaces.batch_skolem("ab" * 32),
        namespaces.input_skolem(0),
        namespaces.input_skolem(1),
    }
    assert len(spaces) == 4
    assert all(s.startswith(namespaces.SKOLEM) and s.endswith("/") for s in spaces)
    assert (
        namespaces.input_graph(0, "dir/new file.ttl") == namespaces.GRAPH + "input/0/new%20file.ttl"
    )


def test_new_exit_statuses() -> None:
    assert ExitStatus.INTERNAL == 70 and ExitStatus.INTERRUPTED == 130
    assert InternalError("x").status is ExitStatus.INTERNAL


def test_unexpected_exception_in_the_parent_exits_70(
    kgraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("boom")

    monkeypatch.setattr("kgraph.queries.scan", broken)
    result: Run = kgraph("queries")
    assert result.exit_code == ExitStatus.INTERNAL
    assert result.stderr == "Error: internal error: ZeroDivisionError: boom\n"
    monkeypatch.setenv("KGRAPH_DEBUG", "1")
    with pytest.raises(ZeroDivisionError):
        kgraph("queries")


def test_unexpected_exception_in_the_worker_exits_70(
    kgraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("boom")

    monkeypatch.setattr("kgraph.store.Dataset.open", broken)
    result: Run = kgraph("query", "officials-and-posts")
    assert result.exit_code == ExitStatus.INTERNAL, result.stderr
    assert result.stderr.startswith("Error: internal error: KeyError")
    assert result.stdout == ""


def test_click_usage_errors_keep_exit_2(kgraph) -> None:
    result: Run = kgraph("query", "--no-such-option")
    assert result.exit_code == 2
    assert "No such option" in result.stderr


def test_readme_table_lists_70_and_130() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "| 70 |" in readme and "| 130 |" in readme


SHACL = ("model", "sparql", "index", "engine", "locate", "report")


@pytest.mark.parametrize("module", SHACL)
def test_each_shacl_module_imports_on_its_own(module: str) -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", f"import kgraph.shacl.{module}"], check=False)
    assert done.returncode == 0


def test_shacl_modules_import_each_other_only_at_the_top() -> None:
    """The old cycle (shapes -> sparql_constraints -> validation -> shapes) was held by
    imports inside functions; the package is layered, so none are needed."""
    import ast

    import kgraph.shacl

    folder = Path(kgraph.shacl.__file__).parent
    for name in SHACL:
        tree = ast.parse((folder / f"{name}.py").read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom):
                        assert not (inner.module or "").startswith("kgraph.shacl"), (
                            name,
                            inner.module,
                        )


def test_report_mode_is_an_enum_that_prints_as_before() -> None:
    from kgraph.shacl import Report, ValidationMode

    report = Report((), 3, ValidationMode.WHOLE_GRAPH)
    assert f"{report.mode}" == "whole-graph" and report.conforms


# -- the front door ---------------------------------------------------------------------------


def _readme_example() -> str:
    import re

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme.split("## Library\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None
    return found.group(1)


def test_the_readme_library_example_runs(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project)
    exec(compile(_readme_example(), "README.md", "exec"), {})
    printed = capsys.readouterr().out.splitlines()
    variables, _, count = printed[0].rpartition(" ")
    assert variables == "('state', 'stateName')" and int(count) > 0
    assert printed[1].startswith("state,stateName,")
    assert printed[2].endswith(" graphs") and int(printed[2].split()[0]) > 1000


def test_project_verbs_in_process_equal_the_cli(project: Path, kgraph) -> None:
    from kgraph import Profile, Project

    opened = Project.open(project, isolated=False)
    assert "troop-estimates-over-time" in opened.queries().queries
    result = opened.query("officials-and-posts", {"date": "2024-10-28"}, fmt="csv")
    cli: Run = kgraph("query", "officials-and-posts", "-p", "date", "2024-10-28", "-f", "csv")
    assert result.data == cli.output_bytes
    check = opened.check(infer=Profile.NONE)
    assert check.errors == 0 and check.rules
    assert opened.stats().triples == Project.open(project).stats().triples


def test_add_remove_and_batches_write_through_the_project(project: Path, tmp_path: Path) -> None:
    from kgraph import AddStatus, Project, RemoveStatus

    new = tmp_path / "visit.ttl"
    from test_batches import visit

    new.write_text(visit("front-door"))
    opened = Project.open(project, isolated=False)
    dry = opened.add([str(new)], dry_run=True)
    assert dry.status is AddStatus.DRY_RUN and opened.batches() == []
    added = opened.add([str(new)], source="a test")
    assert added.status is AddStatus.ADDED and added.batch is not None
    assert (project / added.batch.path).read_bytes() == added.content
    assert [b.id for b in opened.batches()] == [added.batch.id]
    assert opened.add([str(new)]).status is AddStatus.DUPLICATE
    removed = opened.remove(added.batch.id)
    assert removed.status is RemoveStatus.REMOVED
    assert not (project / added.batch.path).exists() and opened.batches() == []


def test_the_shipped_graph_refuses_writes() -> None:
    from kgraph import KGraphError, Project
    from kgraph.layout import Layout, shipped_root

    shipped = Project(Layout(shipped_root(), shipped=True), isolated=False)
    with pytest.raises(KGraphError, match="read-only"):
        shipped.add(["x.ttl"])
    with pytest.raises(KGraphError, match="read-only"):
        shipped.remove("x")


# -- the cli package ----------------------------------------------------------------------------


def test_no_module_outside_cli_imports_click() -> None:
    import ast

    import kgraph

    package = Path(kgraph.__file__).parent
    for path in sorted(package.rglob("*.py")):
        # docgen renders the CLI's help into the README: a tool about the CLI, not library.
        if path.relative_to(package).parts[0] in ("cli", "docgen.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            assert not any(n.split(".")[0] == "click" for n in names), path


@pytest.mark.parametrize(
    ("command", "old"),
    [(("export", "-f", "nt"), "--inferred"), (("reason", "-f", "nt"), "--profile")],
)
def test_one_infer_name_and_the_old_ones_as_hidden_aliases(kgraph, command, old) -> None:
    new: Run = kgraph(*command, "--infer", "rdfs")
    aliased: Run = kgraph(*command, old, "rdfs")
    assert new.exit_code == aliased.exit_code == 0, new.stderr + aliased.stderr
    assert new.output_bytes == aliased.output_bytes and new.output_bytes
    helped: Run = kgraph(command[0], "--help")
    assert "--infer " in helped.stdout and old not in helped.stdout


def test_the_command_line_loads_no_validation_engine_to_start() -> None:
    """`kgraph --help` and every command's option parsing import ``kgraph.shacl.model`` (the
    engine choices) but not the engine: the package's names load on first use, so a start
    does not pay for the guards, the SPARQL lexer and the shapes index (the bench's cold
    start goal)."""
    import subprocess
    import sys

    probe = (
        "import sys, kgraph.cli, kgraph.shacl.model; "
        "print(sorted(m for m in sys.modules if m.startswith(('kgraph.shacl.', 'kgraph.guards'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "['kgraph.shacl.model']", loaded
    import kgraph.shacl

    assert kgraph.shacl.validate.__module__ == "kgraph.shacl.engine"
    assert kgraph.shacl.Report.__module__ == "kgraph.shacl.model"
