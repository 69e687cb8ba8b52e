"""Review 5: output folders, portable kg:sourceFile, unknown ontology terms in a query.
Each test fails on the code before its fix."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import Run
from kgraph.errors import ExitStatus

# -- -o into a folder that does not exist is bad input, and creates nothing ---------------

OUTPUT_COMMANDS = [
    ("export",),
    ("export", "-f", "nq.gz"),
    ("reason",),
    ("convert", "{data}"),
    ("query", "-e", "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"),
    ("validate",),
    ("check",),
]


@pytest.mark.parametrize("args", OUTPUT_COMMANDS, ids=lambda a: "-".join(a[:3])[:30])
def test_output_into_a_missing_folder_is_refused_and_creates_nothing(
    kgraph: Callable[..., Run], project: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    data = next(p for p in sorted((project / "data").glob("*.ttl")))
    missing = tmp_path / "nonexistent"
    target = missing / "dir" / "x.out"
    run = kgraph(*(str(data) if a == "{data}" else a for a in args), "-o", str(target))
    assert run.exit_code == ExitStatus.BAD_INPUT, (run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert str(target) in lines[0] and "does not exist" in lines[0]
    assert "Traceback" not in run.stderr
    assert not missing.exists()


def test_output_whose_folder_is_a_file_is_refused(
    kgraph: Callable[..., Run], tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("keep\n")
    run = kgraph("export", "-o", str(blocker / "x.nq"))
    assert run.exit_code == ExitStatus.BAD_INPUT, run.stderr
    assert "is not a folder" in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert blocker.read_text() == "keep\n"


def test_output_into_an_existing_folder_still_works_and_add_makes_its_batch_folder(
    kgraph: Callable[..., Run], project: Path, tmp_path: Path
) -> None:
    target = tmp_path / "x.nq"
    run = kgraph("export", "-o", str(target))
    assert run.exit_code == ExitStatus.OK, run.stderr
    assert target.stat().st_size > 0
    # data/batches/ is kgraph's own folder: the first add makes it.
    assert not (project / "data" / "batches").exists()
    sheet = tmp_path / "one.ttl"
    sheet.write_text(
        "@prefix kgd: <https://w3id.org/kgraph/id/> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        'kgd:review5-thing rdfs:label "review5" .\n'
    )
    added = kgraph("add", str(sheet))
    assert added.exit_code == ExitStatus.OK, added.stderr
    assert len(list((project / "data" / "batches").glob("*.ttl"))) == 1


# -- kg:sourceFile records a portable name, never the local absolute path -----------------


def source_files(project: Path) -> list[str]:
    import pyoxigraph as ox

    (batch,) = sorted((project / "data" / "batches").glob("*.ttl"))
    return sorted(
        t.object.value
        for t in ox.parse(path=str(batch), format=ox.RdfFormat.TURTLE)
        if t.predicate.value == "https://w3id.org/kgraph/ontology#sourceFile"
    )


TURTLE = (
    "@prefix kgd: <https://w3id.org/kgraph/id/> .\n"
    "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
    'kgd:review5-{n} rdfs:label "review5 {n}" .\n'
)


def test_a_file_outside_the_project_is_recorded_by_its_name_only(
    kgraph: Callable[..., Run], project: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "home" / "someone" / "in"
    folder.mkdir(parents=True)
    path = folder / "article3.ttl"
    path.write_text(TURTLE.format(n=1))
    run = kgraph("add", str(path))
    assert run.exit_code == ExitStatus.OK, run.stderr
    assert source_files(project) == ["article3.ttl"]
    batch_text = next((project / "data" / "batches").glob("*.ttl")).read_text()
    assert str(tmp_path) not in batch_text


def test_a_file_inside_the_project_is_recorded_relative_to_it(
    kgraph: Callable[..., Run], project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "incoming").mkdir()
    path = project / "incoming" / "a.ttl"
    path.write_text(TURTLE.format(n=2))
    monkeypatch.chdir(project / "incoming")  # given relative to the working folder
    run = kgraph("add", "a.ttl")
    assert run.exit_code == ExitStatus.OK, run.stderr
    assert source_files(project) == ["incoming/a.ttl"]


def test_a_batch_written_with_an_absolute_source_file_still_validates(
    kgraph: Callable[..., Run], project: Path, tmp_path: Path
) -> None:
    # Batches are never rewritten: one an older kgraph wrote (absolute path) stays valid.
    path = tmp_path / "old.ttl"
    path.write_text(TURTLE.format(n=3))
    assert kgraph("add", str(path)).exit_code == ExitStatus.OK
    (batch,) = sorted((project / "data" / "batches").glob("*.ttl"))
    text = batch.read_text()
    assert '"old.ttl"' in text
    batch.write_text(text.replace('"old.ttl"', '"/home/someone/in/old.ttl"'))
    checked = kgraph("validate")
    assert checked.exit_code == ExitStatus.OK, checked.stdout + checked.stderr
    listed = kgraph("batches")
    assert "/home/someone/in/old.ttl" in listed.stdout


# -- a term of the project's vocabulary the ontology does not declare is warned about -----


def test_a_misspelt_class_in_an_ad_hoc_query_warns_and_still_answers(
    kgraph: Callable[..., Run],
) -> None:
    run = kgraph("query", "-e", "SELECT ?s WHERE { ?s a kg:Meetin }", "-f", "csv")
    assert run.exit_code == ExitStatus.OK, run.stderr
    assert run.stdout.splitlines() == ["s"]  # the (empty) answer is still printed
    assert run.stderr.splitlines() == [
        "Warning: -e:1:24: kg:Meetin is not in the ontology (did you mean kg:Meeting?)"
    ]


def test_a_query_that_is_refused_gets_its_one_error_line_and_no_warning(
    kgraph: Callable[..., Run],
) -> None:
    # Found by the fuzz test: a mangled PREFIX left the namespace IRI standing alone, which
    # was warned about (as a term) before the query's own error line.
    text = "PREFIX kg: <https://w3id.org/kgraph/ontology#>\nRELECT ?s WHERE { ?s a kg:Meetin }"
    run = kgraph("query", "-e", text)
    assert run.exit_code == ExitStatus.BAD_INPUT
    assert len(run.stderr.splitlines()) == 1 and run.stderr.startswith("Error: "), run.stderr
    alone = kgraph("query", "-e", "ASK { <https://w3id.org/kgraph/ontology#> ?p ?o }")
    assert alone.exit_code == ExitStatus.OK and alone.stderr == "", alone.stderr


def test_a_query_file_names_its_line_and_a_full_iri_is_checked_too(
    kgraph: Callable[..., Run], tmp_path: Path
) -> None:
    path = tmp_path / "mine.rq"
    path.write_text(
        "# kg:NotChecked in a comment\n"
        'SELECT ?s WHERE {\n  ?s <https://w3id.org/kgraph/ontology#abot> ?x ; ?p "kg:Nor" .\n}\n'
    )
    run = kgraph("query", str(path), "-f", "csv")
    assert run.exit_code == ExitStatus.OK, run.stderr
    assert run.stderr.splitlines() == [
        f"Warning: {path}:3:6: <https://w3id.org/kgraph/ontology#abot> is not in the ontology"
        " (did you mean kg:about?)"
    ]


def test_declared_terms_data_iris_and_other_vocabularies_give_no_warning(
    kgraph: Callable[..., Run],
) -> None:
    text = (
        "PREFIX ex: <http://example.org/> "
        "SELECT ?s WHERE { ?s a kg:Meeting ; kg:about ?e . "
        "OPTIONAL { ?s ex:Meetin kgd:no-such-thing ; schema:nmae ?n } }"
    )
    run = kgraph("query", "-e", text, "-f", "csv")
    assert run.exit_code == ExitStatus.OK, run.stderr
    assert run.stderr == ""
    # A prefix the query binds to the ontology's namespace is the ontology's, too.
    rebound = "PREFIX o: <https://w3id.org/kgraph/ontology#> SELECT * WHERE { ?s a o:Meetng }"
    warned = kgraph("query", "-e", rebound, "-f", "csv")
    assert "o:Meetng is not in the ontology (did you mean kg:Meeting?)" in warned.stderr


def test_the_canned_queries_name_only_declared_terms(project: Path) -> None:
    from kgraph.limits import Limits
    from kgraph.vocab import declared_terms, unknown_terms, warning

    declared = declared_terms(project / "ontology", limit=Limits.max_input_bytes)
    files = sorted((project / "queries").rglob("*.rq"))
    assert len(files) > 5
    problems = [
        warning(str(p), u)
        for p in files
        for u in unknown_terms(p.read_text(encoding="utf-8"), lambda: declared)
    ]
    assert problems == []


def test_a_canned_query_does_not_read_the_ontology_for_the_check(
    kgraph: Callable[..., Run], monkeypatch: pytest.MonkeyPatch
) -> None:
    from kgraph import vocab

    real = vocab.declared_terms
    reads: list[object] = []

    def counted(*args: Any, **kwargs: Any) -> frozenset[str]:
        reads.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(vocab, "declared_terms", counted)
    run = kgraph("query", "claims-by-source", "-f", "csv")
    assert run.exit_code == ExitStatus.OK, run.stderr
    assert run.stderr == "" and reads == []
    # An ad-hoc query naming a kg: term reads it, once; one naming none does not.
    assert kgraph("query", "-e", "SELECT * WHERE { ?s a kg:Meeting ; kg:about ?x }").exit_code == 0
    assert len(reads) == 1
    assert kgraph("query", "-e", "SELECT * WHERE { ?s ?p ?o } LIMIT 1").exit_code == 0
    assert len(reads) == 1
