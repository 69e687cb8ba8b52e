"""Validation internals: chunks spread over processes give the same answer as one pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import DATA
from kgraph import validation
from kgraph.errors import KGraphError
from kgraph.limits import Limits
from kgraph.operations import Context, load_inputs, load_shape_index
from kgraph.project import Project
from kgraph.store import Dataset

BROKEN = sorted((DATA / "shapes").glob("*.ttl"))[:12]


def report(project: Path, chunk: int, monkeypatch: pytest.MonkeyPatch) -> validation.Report:
    monkeypatch.setattr(validation, "CHUNK", chunk)
    context = Context(Project(project), Limits())
    dataset = Dataset.open(context.project, limits=context.limits)
    load_inputs(dataset, [str(p) for p in BROKEN], context.limits)
    return validation.validate(dataset, load_shape_index(context), dataset.asserted_graphs())


def test_many_small_chunks_in_several_processes_equal_one_pass(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    whole = report(project, 10**6, monkeypatch)
    chunked = report(project, 17, monkeypatch)
    assert len(whole.findings) >= len(BROKEN)
    assert sorted(map(repr, (f.key for f in chunked.findings))) == sorted(
        map(repr, (f.key for f in whole.findings))
    )
    assert chunked.focus_nodes == whole.focus_nodes


def test_a_failing_chunk_fails_the_whole_validation() -> None:
    def fn(item: int) -> list[validation.Finding]:
        if item == 3:
            raise KGraphError("chunk 3 broke")
        return []

    with pytest.raises(KGraphError, match="chunk 3 broke"):
        validation.map_forked(fn, list(range(6)), 2)
    assert validation.map_forked(lambda i: [], list(range(6)), 2) == [[] for _ in range(6)]
