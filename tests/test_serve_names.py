"""Names as parameters of `kgraph serve`'s canned queries and of `kgraph query --endpoint`
(issue 11, point 5): a label, an alternative name or an IRI, resolved as the local CLI
resolves it; an ambiguous, unknown or wrong-kind one is refused with the CLI's own line
(HTTP 400; exit 2), never an empty answer."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from conftest import ROOT, Run, invoke
from serving import Served, request, start
from stores import OxigraphServer

pytestmark = pytest.mark.server

NAMESAKE = (
    "@prefix kg: <https://w3id.org/kgraph/ontology#> .\n"
    "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
    "<https://w3id.org/kgraph/id/ChoeSonHuiJunior> a kg:Person ;\n"
    '    skos:prefLabel "Choe Son-Hui"@en .\n'
)
# (query, parameter, value): each refused by the local CLI with exit 2.
REFUSED = [
    ("visits", "visitor", "choe son hui"),  # two people bear the name
    ("visits", "visitor", "Choe Son Hu"),  # a typo: the nearest name
    ("visits", "visitor", "kgd:ChoeSonHu"),  # a misspelled IRI
    ("claims-by-stance", "stance", "Choe Son Hui"),  # a person is not a stance
    ("claims-by-stance", "stance", "kgd:ChoeSonHui"),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped project with a second person named Choe Son-Hui (an ambiguous name)."""
    root = tmp_path_factory.mktemp("serve-names") / "project"
    for name in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("batches", ".*"))
    (root / "data" / "namesake.ttl").write_text(NAMESAKE, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def served(project: Path) -> Iterator[Served]:
    server = start(["--workers", "1"], project=project)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def endpoint(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = OxigraphServer(tmp_path_factory.mktemp("serve-names-oxigraph") / "data")
    pushed = invoke(["--project", str(project), "push", server.base + "/store"])
    assert pushed.exit_code == 0, pushed.stderr
    yield server.query_endpoint
    server.stop()


def local(project: Path, name: str, *args: str) -> Run:
    return invoke(["--project", str(project), "query", name, *args, "-f", "json"])


def rows(body: str) -> list[dict[str, object]]:
    return list(json.loads(body)["results"]["bindings"])


def canned(served: Served, name: str, **params: str) -> tuple[int, str]:
    answer = request(
        served.url(f"/queries/{name}?{urlencode(params)}"),
        headers={"Accept": "application/sparql-results+json"},
    )
    return answer.status, answer.text


# -- kgraph serve -------------------------------------------------------------------------


def test_serve_takes_a_name_as_the_iri_it_names(project: Path, served: Served) -> None:
    status, by_name = canned(served, "claims-by-stance", stance="not denied")
    by_iri = canned(served, "claims-by-stance", stance="kg:NotDenied")
    cli = local(project, "claims-by-stance", "-p", "stance", "kg:NotDenied")
    assert status == 200 and by_iri[0] == 200 and cli.exit_code == 0
    assert rows(by_name) == rows(by_iri[1]) == rows(cli.stdout)
    assert rows(by_name), "the stance has claims: an empty answer would prove nothing"
    # An alternative name (skos:altLabel "Biden"), and a name in another script.
    status, biden = canned(served, "about-entity", entity="biden")
    assert status == 200
    assert rows(biden) == rows(canned(served, "about-entity", entity="kgd:JoeBiden")[1])
    assert {r["entity"]["value"] for r in rows(biden)} == {"https://w3id.org/kgraph/id/JoeBiden"}  # type: ignore[index]
    assert rows(canned(served, "about-entity", entity="Джо Байден")[1]) == rows(biden)


@pytest.mark.parametrize(("name", "param", "value"), REFUSED)
def test_serve_refuses_a_bad_name_with_the_cli_line(
    project: Path, served: Served, name: str, param: str, value: str
) -> None:
    cli = local(project, name, "-p", param, value)
    assert cli.exit_code == 2
    status, text = canned(served, name, **{param: value})
    assert status == 400
    assert text.count("\n") == 1 and "Traceback" not in text
    assert text.strip() == cli.stderr.strip().removeprefix("Error: ")


def test_serve_ambiguous_name_lists_both_candidates(served: Served) -> None:
    status, text = canned(served, "visits", visitor="Choe Son Hui")
    assert status == 400
    assert "names 2 things" in text
    assert "kgd:ChoeSonHui (Choe Son Hui)" in text and "kgd:ChoeSonHuiJunior" in text


def test_the_page_form_takes_a_typed_name(served: Served) -> None:
    page = request(
        served.url("/q/claims-by-stance?" + urlencode({"stance": "Not Denied", "run": 1}))
    )
    by_iri = request(
        served.url("/q/claims-by-stance?" + urlencode({"stance": "kg:NotDenied", "run": 1}))
    )
    assert page.status == 200 and by_iri.status == 200
    answer = page.text.split('<section id="answer">', 1)[1]
    assert 'class="error"' not in answer and "<table" in answer
    assert answer == by_iri.text.split('<section id="answer">', 1)[1]
    wrong = request(served.url("/q/visits?" + urlencode({"visitor": "Choe Son Hu", "run": 1})))
    assert wrong.status == 200
    assert 'class="error"' in wrong.text and "nearest: kgd:ChoeSonHui" in wrong.text


# -- kgraph query --endpoint ----------------------------------------------------------------


def test_endpoint_takes_a_name_as_the_iri_it_names(project: Path, endpoint: str) -> None:
    remote = local(
        project, "claims-by-stance", "-p", "stance", "not denied", "--endpoint", endpoint
    )
    here = local(project, "claims-by-stance", "-p", "stance", "kg:NotDenied")
    assert remote.exit_code == 0, remote.stderr
    assert rows(remote.stdout) == rows(here.stdout) and rows(remote.stdout)


@pytest.mark.parametrize(("name", "param", "value"), REFUSED)
def test_endpoint_refuses_a_bad_name_with_the_local_line(
    project: Path, endpoint: str, name: str, param: str, value: str
) -> None:
    here = local(project, name, "-p", param, value)
    remote = local(project, name, "-p", param, value, "--endpoint", endpoint)
    assert here.exit_code == remote.exit_code == 2
    assert remote.stdout == ""
    assert remote.stderr == here.stderr
