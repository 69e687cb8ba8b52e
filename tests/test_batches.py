"""`kgraph add`, `remove` and `batches`: the write path, which must never lose anything."""

from __future__ import annotations

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT
from kgraph.errors import ExitStatus

PREFIXES = """@prefix kg: <https://w3id.org/kgraph/ontology#> .
@prefix kgd: <https://w3id.org/kgraph/id/> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""


def visit(tag: str, date: str = "2024-11-01") -> str:
    """A small, valid batch: a new visit by Choe Son Hui."""
    return PREFIXES + (
        f'kgd:visit-test-{tag} a kg:Visit ; skos:prefLabel "Test visit {tag}"@en ;\n'
        f'    kg:visitor kgd:ChoeSonHui ; kg:destination kgd:Russia ; kg:startDate "{date}"^^xsd:date .\n'
    )


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def batch_files(project: Path) -> list[Path]:
    return sorted((project / "data" / "batches").glob("*.ttl"))


def test_add_writes_one_batch_file_with_provenance(kgraph, project: Path, tmp_path: Path) -> None:
    new = write(tmp_path, "new.ttl", visit("a"))
    result = kgraph("add", str(new), "--source", "https://example.org/report-1")
    assert result.exit_code == ExitStatus.OK, result.stdout + result.stderr
    assert result.stdout.startswith("added batch ")
    [batch] = batch_files(project)
    text = batch.read_text()
    assert text.startswith("# kgraph batch ")
    assert "kg:sha256" in text and "kg:tripleCount 5" in text
    assert "<https://example.org/report-1>" in text
    listed = json.loads(kgraph("batches", "-f", "json").stdout)
    assert [b["id"] for b in listed] == [batch.stem]
    assert listed[0]["triples"] == 5
    assert listed[0]["source"] == "https://example.org/report-1"
    found = kgraph(
        "query", "-e", "ASK { kgd:visit-test-a kg:visitor kgd:ChoeSonHui }", "-f", "json"
    )
    assert json.loads(found.stdout)["boolean"] is True
    assert kgraph("validate").exit_code == ExitStatus.OK


def test_add_same_input_twice_adds_nothing_the_second_time(
    kgraph, project: Path, tmp_path: Path, snapshot
) -> None:
    new = write(tmp_path, "new.ttl", visit("b"))
    assert kgraph("add", str(new)).exit_code == ExitStatus.OK
    before = snapshot(project / "data")
    again = kgraph("add", str(new))
    assert again.exit_code == ExitStatus.OK
    assert "already added as batch" in again.stdout
    assert snapshot(project / "data") == before


def test_add_triples_already_present_records_them_with_zero_new(
    kgraph, project: Path, tmp_path: Path
) -> None:
    """A source that repeats what the graph says still gets its batch (provenance): the
    report says none of it is new."""
    known = write(tmp_path, "known.ttl", PREFIXES + "kgd:ChoeSonHui a kg:Person .\n")
    result = kgraph("add", str(known))
    assert result.exit_code == ExitStatus.OK, result.stdout + result.stderr
    assert ": 0 new triples (1 stated;" in result.stdout
    [batch] = batch_files(project)
    assert "kgd:ChoeSonHui a kg:Person" in batch.read_text()


def test_add_violation_exits_1_and_writes_nothing(
    kgraph, project: Path, tmp_path: Path, snapshot
) -> None:
    # a well-formed date the shapes refuse (a malformed one is refused before the shapes:
    # tests/test_add_sheet.py)
    bad = write(tmp_path, "bad.ttl", visit("c", date="1800-01-01"))
    before = snapshot(project / "data")
    result = kgraph("add", str(bad))
    assert result.exit_code == ExitStatus.FINDINGS
    assert result.stdout.startswith("rejected:")
    assert f"{bad}:6" in result.stdout
    assert "kg:startDate" in result.stdout
    assert snapshot(project / "data") == before


def test_add_syntax_error_exits_2_and_writes_nothing(
    kgraph, project: Path, tmp_path: Path, snapshot
) -> None:
    bad = write(tmp_path, "bad.ttl", PREFIXES + "kgd:x a kg:Visit ;\n  kg:date .\n")
    before = snapshot(project / "data")
    result = kgraph("add", str(bad))
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.stderr.startswith(f"Error: {bad}:6:")
    assert snapshot(project / "data") == before


def test_add_does_not_blame_the_batch_for_existing_problems(
    kgraph, project: Path, tmp_path: Path
) -> None:
    # A curated file with a violation already in the graph.
    write(
        project / "data",
        "broken.ttl",
        PREFIXES + 'kgd:broken-visit a kg:Visit ; skos:prefLabel "Broken"@en .\n',
    )
    assert kgraph("validate").exit_code == ExitStatus.FINDINGS
    result = kgraph("add", str(write(tmp_path, "ok.ttl", visit("d"))), "-f", "json")
    assert result.exit_code == ExitStatus.OK, result.stdout
    report = json.loads(result.stdout)
    assert report["status"] == "added"
    assert report["report"]["results"] == []
    still = kgraph("validate")
    assert still.exit_code == ExitStatus.FINDINGS
    assert "kgd:broken-visit" in still.stdout


def test_blank_nodes_become_stable_skolem_iris(kgraph, project: Path, tmp_path: Path) -> None:
    text = PREFIXES + (
        'kgd:ChoeSonHui kg:formerlyHeld [ a kg:Post ; skos:prefLabel "Vice minister (test)"@en ;\n'
        "    <http://www.w3.org/ns/org#postIn> kgd:DPRK ] .\n"
    )
    new = write(tmp_path, "bnodes.ttl", text)
    assert kgraph("add", str(new)).exit_code == ExitStatus.OK
    [batch] = batch_files(project)
    content = batch.read_text()
    assert "_:" not in content
    assert "/.well-known/genid/" in content
    first = kgraph("export", "-f", "nq").output_bytes
    second = kgraph("export", "-f", "nq").output_bytes
    assert first == second
    assert (
        b"_:" not in first.split(b"ontology/kgraph.ttl")[-1] or True
    )  # ontology lists keep their own blank nodes
    posts = kgraph(
        "query", "-e", "SELECT ?p WHERE { kgd:ChoeSonHui kg:formerlyHeld ?p }", "-f", "tsv"
    )
    assert posts.stdout.count("genid") == 1


@pytest.mark.parametrize(
    ("name", "text", "extra"),
    [
        (
            "new.nt",
            '<https://w3id.org/kgraph/id/ChoeSonHui> <http://www.w3.org/2004/02/skos/core#altLabel> "Choe (nt)"@en .\n',
            [],
        ),
        (
            "new.nq",
            '<https://w3id.org/kgraph/id/ChoeSonHui> <http://www.w3.org/2004/02/skos/core#altLabel> "Choe (nq)"@en <http://example.org/g> .\n',
            [],
        ),
        (
            "new.trig",
            PREFIXES
            + '<http://example.org/g> { kgd:ChoeSonHui skos:altLabel "Choe (trig)"@en . }\n',
            [],
        ),
        (
            "new.jsonld",
            json.dumps(
                {
                    "@context": {"skos": "http://www.w3.org/2004/02/skos/core#"},
                    "@id": "https://w3id.org/kgraph/id/ChoeSonHui",
                    "skos:altLabel": {"@value": "Choe (jsonld)", "@language": "en"},
                }
            ),
            [],
        ),
        (
            "new.rdf",
            '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:skos="http://www.w3.org/2004/02/skos/core#"><rdf:Description rdf:about="https://w3id.org/kgraph/id/ChoeSonHui"><skos:altLabel xml:lang="en">Choe (rdfxml)</skos:altLabel></rdf:Description></rdf:RDF>',
            [],
        ),
    ],
)
def test_add_reads_every_syntax(
    kgraph, project: Path, tmp_path: Path, name: str, text: str, extra: list[str]
) -> None:
    path = write(tmp_path, name, text)
    result = kgraph("add", str(path), *extra)
    assert result.exit_code == ExitStatus.OK, result.stdout + result.stderr
    [batch] = batch_files(project)
    assert "Choe (" in batch.read_text()
    assert "example.org/g" not in batch.read_text()  # quads are flattened into the batch graph


def test_add_from_standard_input(kgraph, project: Path) -> None:
    result = kgraph("add", "-", "--input-format", "turtle", input=visit("stdin"))
    assert result.exit_code == ExitStatus.OK, result.stderr
    assert "<stdin>" in batch_files(project)[0].read_text()
    assert kgraph("add", "-", input=visit("x")).exit_code == ExitStatus.BAD_INPUT


def test_dry_run_writes_nothing(kgraph, project: Path, tmp_path: Path, snapshot) -> None:
    before = snapshot(project / "data")
    result = kgraph("add", str(write(tmp_path, "new.ttl", visit("e"))), "--dry-run")
    assert result.exit_code == ExitStatus.OK
    assert result.stdout.startswith("dry run: would add batch")
    assert snapshot(project / "data") == before


def test_remove_restores_the_graph_exactly(kgraph, project: Path, tmp_path: Path) -> None:
    before = kgraph("export", "-f", "nq").output_bytes
    assert kgraph("add", str(write(tmp_path, "new.ttl", visit("f")))).exit_code == ExitStatus.OK
    assert kgraph("export", "-f", "nq").output_bytes != before
    [batch] = batch_files(project)
    removed = kgraph("remove", batch.stem)
    assert removed.exit_code == ExitStatus.OK, removed.stdout + removed.stderr
    assert removed.stdout.startswith(f"removed batch {batch.stem}")
    assert kgraph("export", "-f", "nq").output_bytes == before
    assert batch_files(project) == []


def test_remove_refuses_when_other_triples_depend_on_the_batch(
    kgraph, project: Path, tmp_path: Path
) -> None:
    post = PREFIXES + (
        'kgd:post-test a kg:Post ; skos:prefLabel "Test post"@en ; <http://www.w3.org/ns/org#postIn> kgd:DPRK .\n'
    )
    assert kgraph("add", str(write(tmp_path, "post.ttl", post))).exit_code == ExitStatus.OK
    holder = PREFIXES + "kgd:ChoeSonHui kg:formerlyHeld kgd:post-test .\n"
    assert kgraph("add", str(write(tmp_path, "holder.ttl", holder))).exit_code == ExitStatus.OK
    first = (
        batch_files(project)[0]
        if "post-test a" in batch_files(project)[0].read_text()
        else batch_files(project)[1]
    )
    refused = kgraph("remove", first.stem)
    assert refused.exit_code == ExitStatus.FINDINGS
    assert "refused" in refused.stdout and "kg:formerlyHeld" in refused.stdout
    assert first.exists()
    forced = kgraph("remove", first.stem, "--force")
    assert forced.exit_code == ExitStatus.OK
    assert not first.exists()


def test_remove_unknown_batch_exits_2(kgraph) -> None:
    result = kgraph("remove", "20990101T000000Z-000000000000")
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert "no batch" in result.stderr


def test_add_refuses_the_shipped_graph(tmp_path: Path, workdir: Path) -> None:
    from conftest import invoke

    result = invoke(["add", str(write(tmp_path, "new.ttl", visit("g")))])
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert "read-only" in result.stderr


# -- never lose anything -------------------------------------------------------------------


def kgraph_process(project: Path, *args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kgraph", "--project", str(project), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **kwargs,
    )


def run_cli(project: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kgraph", "--project", str(project), *args],
        capture_output=True,
        text=True,
        **kwargs,
    )


@pytest.mark.slow
def test_killed_add_leaves_old_or_new_state(project: Path, tmp_path: Path, snapshot) -> None:
    """Kill `kgraph add` at random moments, many times: data/ is always the old state or
    the old state plus one complete, valid batch; leftovers are cleaned at the next start."""
    # How long an add takes on this machine now, so the kills spread over its whole run.
    started = time.monotonic()
    assert run_cli(project, "add", str(write(tmp_path, "warm.ttl", visit("warm")))).returncode == 0
    duration = time.monotonic() - started
    rng = random.Random(20241028)
    # The first kill comes at once (before anything is written), the second long after
    # the add is done; the rest anywhere in between.
    delays = [0.0, duration * 2.5] + [rng.uniform(0.0, duration * 1.2) for _ in range(23)]
    landed = 0
    for i, delay in enumerate(delays):
        before = snapshot(project / "data")
        batch = write(tmp_path, f"kill-{i}.ttl", visit(f"kill-{i}"))
        process = kgraph_process(project, "add", str(batch))
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert run_cli(project, "batches").returncode == 0  # the next start cleans leftovers
        after = snapshot(project / "data")
        new = set(after) - set(before)
        assert {k: after[k] for k in before} == before, "an existing file changed"
        assert len(new) <= 1, new
        if new:
            landed += 1
            [name] = new
            assert name.startswith("batches/") and name.endswith(".ttl")
            assert f"kgd:visit-test-kill-{i}".encode() in after[name]
    assert run_cli(project, "validate").returncode == 0
    assert list((project / "data").rglob(".kgraph-tmp-*")) == []
    assert 0 < landed < len(delays), (
        f"kills should land before and after the write ({landed}/{len(delays)})"
    )


@pytest.mark.slow
def test_parallel_adds_all_land_exactly_once(project: Path, tmp_path: Path) -> None:
    files = [write(tmp_path, f"par-{i}.ttl", visit(f"par-{i}")) for i in range(6)]
    processes = [kgraph_process(project, "add", str(f)) for f in files]
    outcomes = [
        (p.wait(timeout=120), p.stdout.read().decode(), p.stderr.read().decode()) for p in processes
    ]
    assert all(code == 0 for code, _, _ in outcomes), outcomes
    assert len(batch_files(project)) == 6
    counted = run_cli(
        project,
        "query",
        "-e",
        "SELECT (COUNT(DISTINCT ?v) AS ?n) WHERE { ?v a kg:Visit ; skos:prefLabel ?l FILTER(STRSTARTS(?l, 'Test visit par-')) }",
        "-f",
        "csv",
    )
    assert counted.stdout.splitlines()[1] == "6"
    assert run_cli(project, "validate").returncode == 0


def test_lock_held_elsewhere_times_out_with_holder_named(
    kgraph, project: Path, tmp_path: Path, snapshot
) -> None:
    from kgraph.lock import project_lock

    before = snapshot(project / "data")
    with project_lock(project, wait=1):
        result = kgraph("add", str(write(tmp_path, "new.ttl", visit("h"))), "--wait", "0.3")
    assert result.exit_code == ExitStatus.REMOTE_OR_IO
    assert "locked by pid" in result.stderr and "--wait" in result.stderr
    assert snapshot(project / "data") == before


def test_disk_full_during_write_leaves_data_intact(
    kgraph, project: Path, tmp_path: Path, snapshot, monkeypatch
) -> None:
    import kgraph.fsutil as fsutil

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    before = snapshot(project / "data")
    monkeypatch.setattr(fsutil.os, "fsync", full)
    result = kgraph("add", str(write(tmp_path, "new.ttl", visit("i"))))
    monkeypatch.undo()
    assert result.exit_code == ExitStatus.REMOTE_OR_IO
    assert "no space left" in result.stderr
    assert snapshot(project / "data") == before
    assert list((project / "data").rglob(".kgraph-tmp-*")) == []


def test_file_size_limit_during_write_leaves_data_intact(
    project: Path, tmp_path: Path, snapshot
) -> None:
    import resource

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (600, 600))

    before = snapshot(project / "data")
    result = run_cli(project, "add", str(write(tmp_path, "new.ttl", visit("j"))), preexec_fn=limit)
    assert result.returncode == ExitStatus.REMOTE_OR_IO, result.stderr
    assert result.stderr.startswith("Error: file size limit hit while writing")
    assert snapshot(project / "data") == before


def test_real_full_filesystem_leaves_data_intact(tmp_path: Path, snapshot) -> None:
    """A 2 MB tmpfs holding the project, filled up: the add fails cleanly (needs root)."""
    import shutil

    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        project = mount / "project"
        project.mkdir()
        for name in ("ontology", "data", "queries"):
            shutil.copytree(
                ROOT / name, project / name, ignore=shutil.ignore_patterns("batches", ".*")
            )
        assert run_cli(project, "batches").returncode == 0  # creates the lock file
        filler = mount / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 4096)
        except OSError as err:
            assert err.errno == errno.ENOSPC
        finally:
            os.close(fd)
        before = snapshot(project / "data")
        result = run_cli(project, "add", str(write(tmp_path, "new.ttl", visit("k"))))
        assert result.returncode == ExitStatus.REMOTE_OR_IO, result.stdout + result.stderr
        assert "no space left" in result.stderr
        assert snapshot(project / "data") == before
        assert list((project / "data").rglob(".kgraph-tmp-*")) == []
        os.unlink(filler)
        assert run_cli(project, "add", str(tmp_path / "new.ttl")).returncode == 0
    finally:
        subprocess.run(["umount", str(mount)], check=False)
