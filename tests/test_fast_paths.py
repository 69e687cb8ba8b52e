"""The add path's fixed costs cut without weakening a check: rdflib's verdicts on the
shapes' SPARQL remembered in the store (kgraph.guardcache), and the guard's ASCII name
patterns (kgraph.sparql)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import invoke
from kgraph import guards, sparql
from kgraph.errors import ExitStatus, RefusedError
from kgraph.guardcache import CACHE_FILE, RdflibVerdicts
from kgraph.project import Project
from test_security import _shape_with

# The shape of the security tests whose SPARQL would reach a server through SERVICE.
HOSTILE = _shape_with(
    "SELECT $this WHERE { $this a ?c . SERVICE <http://127.0.0.1:9/sparql> { $this ?p ?o } }"
)

EXTRA = '''
kgs:ExtraShape
    a sh:NodeShape ;
    sh:targetClass kg:NewsArticle ;
    sh:sparql [
        a sh:SPARQLConstraint ;
        kg:reads rdf:type ;
        sh:message "never" ;
        sh:select """SELECT $this WHERE { $this a ?c . FILTER (false) }""" ] .
'''


@pytest.fixture
def rdflib_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts rdflib's parser is asked to read (in process: isolated=False)."""
    seen: list[str] = []
    real = guards._check_in_rdflib

    def counting(text: str, source: str) -> str:
        seen.append(text)
        return real(text, source)

    monkeypatch.setattr(guards, "_check_in_rdflib", counting)
    return seen


def _open(project: Path, store: Path | None) -> Project:
    return Project.open(project, store=store, isolated=False)


def test_shapes_sparql_is_parsed_by_rdflib_once_per_store(
    project: Path, store: Path, rdflib_parses: list[str]
) -> None:
    first = _open(project, store).shapes()
    assert len(rdflib_parses) == 4  # the shipped shapes' four SPARQL constraints
    cache = json.loads((store / CACHE_FILE).read_text())
    assert cache["format"] == 1 and sorted(cache["verdicts"].values()) == ["SELECT"] * 4
    rdflib_parses.clear()
    second = _open(project, store).shapes()
    assert rdflib_parses == []
    assert second.reads == first.reads and second.global_shapes == first.global_shapes
    assert len(second.sparql) == len(first.sparql) == 4


def test_without_a_store_the_users_cache_remembers(
    project: Path, rdflib_parses: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kept in the user's cache folder (kgraph.usercache.shapes_folder), never the project."""
    monkeypatch.setenv("KGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    _open(project, None).shapes()
    _open(project, None).shapes()
    assert len(rdflib_parses) == 4
    assert list((tmp_path / "cache" / "shapes").glob(f"*/{CACHE_FILE}"))
    assert not list(project.rglob("kgraph-*cache*.json"))


def test_a_cache_folder_inside_the_project_remembers_nothing(
    project: Path, rdflib_parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KGRAPH_CACHE_DIR", str(project / "data" / "cache"))
    _open(project, None).shapes()
    _open(project, None).shapes()
    assert len(rdflib_parses) == 8
    assert not (project / "data" / "cache").exists()


def test_a_folder_that_is_not_a_kgraph_store_gets_no_cache(
    project: Path, tmp_path: Path, rdflib_parses: list[str]
) -> None:
    folder = tmp_path / "someone-else"
    folder.mkdir()
    _open(project, folder).shapes()
    assert list(folder.iterdir()) == []


def test_a_changed_query_is_parsed_again(
    project: Path, store: Path, rdflib_parses: list[str]
) -> None:
    _open(project, store).shapes()
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(shapes.read_text() + EXTRA)
    rdflib_parses.clear()
    _open(project, store).shapes()
    assert rdflib_parses == ["SELECT $this WHERE { $this a ?c . FILTER (false) }"]
    assert len(json.loads((store / CACHE_FILE).read_text())["verdicts"]) == 5


def test_another_rdflib_version_is_a_miss(
    project: Path, store: Path, rdflib_parses: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _open(project, store).shapes()
    import kgraph.guardcache as guardcache

    real = guardcache._engine_versions
    monkeypatch.setattr(guardcache, "_engine_versions", lambda: real() + "\nrdflib 99")
    rdflib_parses.clear()
    _open(project, store).shapes()
    assert len(rdflib_parses) == 4


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b"[]",
        json.dumps({"format": 2, "verdicts": {}}).encode(),
        json.dumps({"format": 1, "verdicts": {"0" * 64: "UPDATE"}}).encode(),
        json.dumps({"format": 1, "verdicts": {"zz": "SELECT"}}).encode(),
        json.dumps({"format": 1, "verdicts": {"0" * 64: ["SELECT"]}}).encode(),
        b"\xff\xfe\x00",
    ],
    ids=["syntax", "empty", "list", "format", "form", "key", "unhashable", "binary"],
)
def test_a_corrupt_cache_is_ignored_and_rewritten(
    project: Path, store: Path, rdflib_parses: list[str], content: bytes
) -> None:
    (store / CACHE_FILE).write_bytes(content)
    index = _open(project, store).shapes()
    assert len(index.sparql) == 4 and len(rdflib_parses) == 4
    cache = json.loads((store / CACHE_FILE).read_text())
    assert sorted(cache["verdicts"].values()) == ["SELECT"] * 4


def test_a_cache_that_is_a_directory_is_no_error(
    project: Path, store: Path, rdflib_parses: list[str]
) -> None:
    (store / CACHE_FILE).mkdir()
    assert len(_open(project, store).shapes().sparql) == 4
    assert len(rdflib_parses) == 4


def _forge(store: Path, texts: list[str]) -> None:
    """A cache claiming that rdflib accepted ``texts`` (as a hostile or broken writer would)."""
    verdicts = RdflibVerdicts(None)
    forged = {verdicts.key(text): "SELECT" for text in texts}
    (store / CACHE_FILE).write_text(json.dumps({"format": 1, "verdicts": forged}))


def _hostile_texts(project: Path) -> list[str]:
    return [t for t in _texts_of(project) if "SERVICE" in t]


def _texts_of(project: Path) -> list[str]:
    data = (project / "ontology" / "shapes.ttl").read_text()
    return [m.group(1) for m in re.finditer(r'sh:select """(.*?)"""', data, re.S)]


def test_service_in_the_shapes_is_refused_on_a_cache_hit(
    project: Path, store: Path, rdflib_parses: list[str]
) -> None:
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(shapes.read_text() + HOSTILE)
    texts = _texts_of(project)
    _forge(store, texts)
    assert RdflibVerdicts(store / CACHE_FILE).form(_hostile_texts(project)[0]) == "SELECT"
    with pytest.raises(RefusedError, match="SERVICE is refused"):
        _open(project, store).shapes()
    assert rdflib_parses == []  # refused by kgraph's own parse, before rdflib's was needed


def test_service_in_the_shapes_is_refused_by_add_on_a_cache_hit(
    project: Path, store: Path, tmp_path: Path
) -> None:
    shapes = project / "ontology" / "shapes.ttl"
    shapes.write_text(shapes.read_text() + HOSTILE)
    _forge(store, _texts_of(project))
    batch = tmp_path / "batch.ttl"
    batch.write_text(
        "@prefix kg: <https://w3id.org/kgraph/ontology#> .\n"
        '<https://w3id.org/kgraph/id/x> kg:name "x" .\n'
    )
    result = invoke(
        ["--store", str(store), "--project", str(project), "add", "--dry-run", str(batch)]
    )
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert "shapes.ttl (sh:select)" in result.stderr and "SERVICE is refused" in result.stderr


def test_the_cache_keeps_the_verdict_of_the_cli_commands(project: Path, store: Path) -> None:
    result = invoke(["--store", str(store), "--project", str(project), "validate"])
    assert result.exit_code == ExitStatus.OK, result.stderr
    cache = json.loads((store / CACHE_FILE).read_text())
    assert sorted(cache["verdicts"].values()) == ["SELECT"] * 4
    again = invoke(["--store", str(store), "--project", str(project), "validate"])
    assert again.exit_code == ExitStatus.OK and again.stdout == result.stdout


# -- the guard's ASCII name patterns -------------------------------------------------------

_FULL = sparql._Names.build(sparql._BASE, sparql._CHARS_EXTRA)
_PATTERNS = ("var", "pname_ns", "pn_local", "blank", "not_var_start")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=24), st.integers(0, 4))
def test_ascii_name_patterns_match_as_the_full_ones_on_ascii_text(text: str, start: int) -> None:
    position = min(start, len(text))
    for name in _PATTERNS:
        ascii_match = getattr(sparql._ASCII_NAMES, name).match(text, position)
        full_match = getattr(_FULL, name).match(text, position)
        assert (ascii_match and ascii_match.span()) == (full_match and full_match.span()), name


def test_non_ascii_text_is_read_with_the_full_classes() -> None:
    parsed = sparql.parse("SELECT ?é WHERE { ?é <urn:p> ex·é:ñ }", max_depth=8, prefixes=None)
    assert parsed.form == "SELECT" and parsed.prefixed_names == frozenset({"ex·é"})
    assert sparql._names_for("SELECT ?é {}") is not sparql._ASCII_NAMES
