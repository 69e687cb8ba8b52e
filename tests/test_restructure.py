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
