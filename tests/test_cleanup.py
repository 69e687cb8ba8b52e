"""The clean-up of issue 16: the worker's loaded state has one owner, and messages name
the options that exist."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import ROOT, Run
from kgraph import Project
from kgraph.errors import ExitStatus


@pytest.mark.parametrize("command", ["validate", "convert"])
def test_an_input_of_unknown_syntax_names_the_input_format_option(
    kgraph: Callable[..., Run], tmp_path: Path, command: str
) -> None:
    # `--format` is the report format of validate and the output syntax of convert: the
    # input's syntax is `--input-format`.
    unknown = tmp_path / "facts.data"
    unknown.write_text("<http://example.org/a> <http://example.org/b> <http://example.org/c> .\n")
    result = kgraph(command, str(unknown))
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert "pass --input-format (" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("command", ["validate", "convert"])
def test_standard_input_without_a_syntax_names_the_input_format_option(
    kgraph: Callable[..., Run], command: str
) -> None:
    result = kgraph(command, "-", input="<http://example.org/a> <http://example.org/b> 1 .\n")
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert "reading standard input needs --input-format" in result.stderr


def test_the_worker_loads_what_the_project_loads_in_process() -> None:
    # The verbs' worker loads through Project.dataset and Project.shapes: the in-process
    # values and the worker's answers agree.
    isolated = Project.open(ROOT)
    here = Project.open(ROOT, isolated=False)
    stats = isolated.stats()
    dataset = here.dataset()
    assert stats.triples == sum(dataset.graph_sizes().values())
    shapes = here.shapes()
    assert {shape for shape, _ in stats.shapes} == {
        shape for shape, targets in shapes.targets_by_shape.items() if targets
    }
