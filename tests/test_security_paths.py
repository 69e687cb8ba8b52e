"""Hostile projects and names: the second outside review's findings 2-6 (issue 15).

A cloned project can hold symbolic links (git keeps them), check queries and shapes; an
input file's name is the user's text. None of them may make kgraph read, write, truncate or
delete a file outside the project, reach the network, or add triples that were not
validated.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyoxigraph as ox
import pytest

from conftest import Run
from kgraph.errors import ExitStatus
from test_security import SECRET, _server, assert_error, assert_no_leak, canary, server

__all__ = ["_server", "canary", "server"]  # fixtures, used by name

KGD = "https://w3id.org/kgraph/id/"
BATCH = """@prefix kgd: <https://w3id.org/kgraph/id/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
kgd:NewThing skos:altLabel "a new name"@en .
"""


def _batch_files(project: Path) -> list[Path]:
    folder = project / "data" / "batches"
    return sorted(folder.glob("*.ttl")) if folder.is_dir() else []


# -- finding 2: the lock file ------------------------------------------------------------


@pytest.mark.parametrize("command", [("batches",), ("add", "new.ttl")])
def test_symlinked_lock_file_never_truncates_its_target(
    kgraph, project: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    victim = tmp_path / "important.txt"
    victim.write_text("keep me\n")
    (project / ".kgraph.lock").symlink_to(victim)
    (tmp_path / "new.ttl").write_text(BATCH)
    args = [str(tmp_path / a) if a.endswith(".ttl") else a for a in command]
    result = kgraph(*args)
    assert victim.read_text() == "keep me\n"
    if command[0] == "add":
        assert_error(result, ExitStatus.REMOTE_OR_IO, "symbolic link")
        assert _batch_files(project) == []


def test_dangling_lock_link_creates_nothing(kgraph, project: Path, tmp_path: Path) -> None:
    target = tmp_path / "created-by-kgraph.txt"
    (project / ".kgraph.lock").symlink_to(target)
    (tmp_path / "new.ttl").write_text(BATCH)
    result = kgraph("add", str(tmp_path / "new.ttl"))
    assert_error(result, ExitStatus.REMOTE_OR_IO, "symbolic link")
    assert not target.exists()


def test_hard_linked_lock_file_is_refused(kgraph, project: Path, tmp_path: Path) -> None:
    victim = tmp_path / "important.txt"
    victim.write_text("keep me\n")
    os.link(victim, project / ".kgraph.lock")
    (tmp_path / "new.ttl").write_text(BATCH)
    result = kgraph("add", str(tmp_path / "new.ttl"))
    assert_error(result, ExitStatus.REMOTE_OR_IO, "hard links")
    assert victim.read_text() == "keep me\n"


# -- finding 3: the check queries ----------------------------------------------------------


def test_service_in_a_check_query_is_refused(kgraph, server, project: Path) -> None:
    (project / "queries" / "checks" / "hostile-violation.rq").write_text(
        "#+ level: ERROR\n"
        f"SELECT ?entity ?property ?value WHERE {{ SERVICE <{server.url}/sparql> "
        "{ ?entity ?property ?value } }\n"
    )
    result = kgraph("check")
    assert_error(result, ExitStatus.BAD_INPUT, "hostile-violation.rq", "SERVICE is refused")


# -- finding 4: a newline in an input file's name --------------------------------------------


def test_newline_in_an_input_name_adds_no_unvalidated_triples(
    kgraph, project: Path, tmp_path: Path
) -> None:
    # No "/" can be in a file name: the injected Turtle uses the batch file's own prefixes.
    injected = (
        'x\nkgd:ChoeSonHui skos:altLabel "INJECTED" .\nkgd:Forged kg:sha256 "forged" .\n#.ttl'
    )
    name = tmp_path / injected
    name.write_text(BATCH)
    result = kgraph("add", str(name))
    assert result.exit_code == 0, result.stderr
    (batch,) = _batch_files(project)
    parsed = list(ox.parse(path=str(batch), format=ox.RdfFormat.TURTLE, base_iri="urn:b"))
    assert not [q for q in parsed if q.object.value in ("INJECTED", "forged")]
    assert not [q for q in parsed if q.subject.value == KGD + "Forged"]
    # The name is kept, escaped, in the record; `kgraph batches` still reads the file.
    assert kgraph("batches", "-f", "json").exit_code == 0
    again = kgraph("add", str(name))
    assert again.exit_code == 0 and "already added" in again.stdout


# -- finding 5: shapes text pasted into a query --------------------------------------------


def test_literal_target_class_of_a_sparql_shape_is_refused(
    kgraph, server, project: Path, tmp_path: Path
) -> None:
    hostile = (
        f"urn:a> }} OPTIONAL {{ SERVICE <{server.url}/sparql> {{ ?a ?b ?c }} }} VALUES ?q {{ <urn:b"
    )
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(
        shapes.read_text()
        + f'''
kgs:HostileTargetShape
    a sh:NodeShape ;
    sh:targetClass "{hostile}" ;
    sh:sparql [
        a sh:SPARQLConstraint ;
        kg:reads rdf:type ;
        sh:message "hostile" ;
        sh:select """SELECT $this WHERE {{ $this a ?c }}""" ] .
'''
    )
    (tmp_path / "new.ttl").write_text(BATCH)
    for args in (("validate",), ("add", str(tmp_path / "new.ttl"))):
        result = kgraph(*args)
        assert_error(result, ExitStatus.BAD_INPUT, "sh:targetClass", "must be an IRI")
    assert _batch_files(project) == []


# -- finding 6: symbolic links in the project ----------------------------------------------


def test_symlinked_data_file_is_refused_not_read(kgraph, project: Path, canary: Path) -> None:
    (project / "data" / "leak.ttl").symlink_to(canary / "secret.txt")
    for args in (("validate",), ("query", "timeline"), ("export",)):
        result: Run = kgraph(*args)
        assert_error(result, ExitStatus.BAD_INPUT, "data/leak.ttl", "symbolic link")
        assert_no_leak(result)


def test_symlinked_data_folder_is_refused(kgraph, project: Path, canary: Path) -> None:
    outside = canary / "more"
    outside.mkdir()
    (outside / "x.ttl").write_text(f'<urn:a> <urn:b> "{SECRET}" .\n')
    (project / "data" / "more").symlink_to(outside, target_is_directory=True)
    result = kgraph("export")
    assert_error(result, ExitStatus.BAD_INPUT, "symbolic link")
    assert_no_leak(result)


def test_symlinked_batch_folder_is_never_written(kgraph, project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (project / "data" / "batches").symlink_to(outside, target_is_directory=True)
    (tmp_path / "new.ttl").write_text(BATCH)
    result = kgraph("add", str(tmp_path / "new.ttl"))
    assert_error(result, ExitStatus.BAD_INPUT, "data/batches", "symbolic link")
    assert list(outside.iterdir()) == []


def test_symlinked_batch_file_is_never_deleted(kgraph, project: Path, tmp_path: Path) -> None:
    (tmp_path / "new.ttl").write_text(BATCH)
    assert kgraph("add", str(tmp_path / "new.ttl")).exit_code == 0
    (batch,) = _batch_files(project)
    outside = tmp_path / batch.name
    batch.rename(outside)
    batch.symlink_to(outside)
    result = kgraph("remove", batch.stem)
    assert_error(result, ExitStatus.BAD_INPUT, "symbolic link")
    assert outside.exists()


def test_symlinked_query_file_is_refused(kgraph, project: Path, canary: Path) -> None:
    (project / "queries" / "leak.rq").symlink_to(canary / "secret.txt")
    result = kgraph("queries")
    assert_error(result, ExitStatus.BAD_INPUT, "leak.rq", "symbolic link")
    assert_no_leak(result)


def test_symlinked_shapes_file_is_refused(kgraph, project: Path, canary: Path) -> None:
    shapes = project / "ontology" / "shapes.ttl"
    shapes.unlink()
    shapes.symlink_to(canary / "secret.txt")
    result = kgraph("validate")
    assert_error(result, ExitStatus.BAD_INPUT, "shapes.ttl", "symbolic link")
    assert_no_leak(result)


def test_project_folder_itself_may_be_a_link(kgraph, project: Path, tmp_path: Path) -> None:
    link = tmp_path / "link-to-project"
    link.symlink_to(project, target_is_directory=True)
    result = kgraph("query", "timeline", project_dir=link)
    assert result.exit_code == 0, result.stderr
