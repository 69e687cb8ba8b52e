"""Canned queries under reasoning: the same facts give the same rows with --infer as without.

The closure types a node by every supertype of its class and gives a party every
super-property of its role, so a query that reads ``?x a ?type`` or ``?x ?role ?y`` had one
row per inferred supertype (timeline 32 rows, 135 with --infer owlrl). Inference may still
add facts a query asks for (a claim typed kg:Claim only through a subclass, an attribution
inferred from a qualified one); those rows are checked to come from inferred triples.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, Run, copy_shipped, invoke, memo_runner
from kgraph.queries import load_query
from stores import Jena, OxigraphServer, Store, Virtuoso

QUERY_FILES = sorted((ROOT / "queries").glob("*.rq"))
QUERY_IDS = [p.stem for p in QUERY_FILES]
PROFILES = ("rdfs", "owlrl")

# Columns that name the class of the row's thing (their header comments: the event's or
# item's type, the class counted).
TYPE_COLUMNS = {"eventType", "itemType", "class"}

# Columns a query computes from several facts at once (joined lists) where inference may
# add a fact that changes such a value without adding a row. None now: took-part-together's
# sources were one agent SAMPLEd per claim, and the closure gives a quotation's speaker as
# a second agent; they are every agent by prov:wasAttributedTo or kg:speaker now.
DERIVED_COLUMNS: dict[str, set[str]] = {}

# The queries whose header lets inference add rows: they list claims (kg:Claim and its
# subclasses, attributions, conflicts), and the closure makes a quotation or conditional
# statement a kg:Claim, gives it the agent of its qualified attribution and makes
# kg:conflictsWith symmetric.
GAINS_CLAIMS = {
    "about-entity",
    "claims-by-source",
    "claims-by-stance",
    "conditional-statements",
    "conflicting-claims",
    "hypothetical-events",
}

Row = tuple[str, ...]
XSD_INTEGER = "http://www.w3.org/2001/XMLSchema#integer"


@pytest.fixture(scope="module")
def run_in(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Run]:
    """Run kgraph on one read-only copy of the shipped project; each command line once."""
    return memo_runner(copy_shipped(tmp_path_factory.mktemp("infer") / "project"))


def answer(run: Callable[..., Run], *args: str) -> tuple[list[str], list[Row]]:
    result = run("query", *args, "-f", "csv")
    assert result.exit_code == 0, result.stderr
    header, *rows = list(csv.reader(io.StringIO(result.stdout)))
    return header, [tuple(row) for row in rows]


def without(header: list[str], rows: list[Row], drop: set[str]) -> list[Row]:
    keep = [i for i, name in enumerate(header) if name not in drop]
    return [tuple(row[i] for i in keep) for row in rows]


def inferred_only_claims(run: Callable[..., Run], profile: str) -> set[str]:
    """Claims whose kg:Claim type, attribution or conflict only the closure gives."""
    query = """
        PREFIX kg: <https://w3id.org/kgraph/ontology#>
        SELECT DISTINCT ?claim WHERE {
          GRAPH ?inferred {
            { ?claim a kg:Claim } UNION { ?claim <http://www.w3.org/ns/prov#wasAttributedTo> ?a }
            UNION { ?claim kg:conflictsWith ?c }
          }
          FILTER(STRSTARTS(STR(?inferred), "https://w3id.org/kgraph/graph/inferred/"))
        }"""
    _, rows = answer(run, "-e", query, "--infer", profile)
    return {row[0] for row in rows}


def cases() -> list[tuple[Path, tuple[str, ...]]]:
    """Each query unbound, and with its example parameters when it has some."""
    found: list[tuple[Path, tuple[str, ...]]] = []
    for path in QUERY_FILES:
        found.append((path, ()))
        params = load_query(path).params
        if params:
            found.append((path, tuple(a for p in params for a in ("-p", p.name, str(p.example)))))
    return found


CASES = cases()
CASE_IDS = [p.stem + ("-example" if args else "") for p, args in CASES]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(("path", "params"), CASES, ids=CASE_IDS)
def test_inference_repeats_no_row_per_supertype(
    path: Path, params: tuple[str, ...], profile: str, run_in: Callable[..., Run]
) -> None:
    header, rows = answer(run_in, path.stem, *params, "--infer", profile)
    keys = Counter(without(header, rows, TYPE_COLUMNS | DERIVED_COLUMNS.get(path.stem, set())))
    _, plain_rows = answer(run_in, path.stem, *params)
    plain = Counter(
        without(header, plain_rows, TYPE_COLUMNS | DERIVED_COLUMNS.get(path.stem, set()))
    )
    repeated = {key: n for key, n in keys.items() if n > plain.get(key, 1)}
    assert not repeated, (
        f"{path.stem} --infer {profile}: rows repeated, e.g. {next(iter(repeated))}"
    )


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize(("path", "params"), CASES, ids=CASE_IDS)
def test_inference_keeps_the_facts_and_adds_only_inferred_ones(
    path: Path, params: tuple[str, ...], profile: str, run_in: Callable[..., Run]
) -> None:
    header, rows = answer(run_in, path.stem, *params, "--infer", profile)
    _, plain_rows = answer(run_in, path.stem, *params)
    drop = DERIVED_COLUMNS.get(path.stem, set())
    inferred, plain = set(without(header, rows, drop)), set(without(header, plain_rows, drop))
    # Every row of the plain answer is there (a type column included: the most specific
    # type, the one asserted, is still the one given).
    assert plain <= inferred, f"{path.stem} --infer {profile} lost {sorted(plain - inferred)[:1]}"
    gained = inferred - plain
    if path.stem not in GAINS_CLAIMS:
        assert not gained, f"{path.stem} --infer {profile} gained {sorted(gained)[:1]}"
        return
    claims = inferred_only_claims(run_in, profile)
    assert claims, "the shipped graph has no claim that only inference makes one"
    unexplained = [row for row in gained if not claims & set(row)]
    assert not unexplained, (
        f"{path.stem} --infer {profile}: {unexplained[0]} comes from no inferred claim"
    )


# -- the same on real stores, with the closure pushed in its own graph ------------------------

# The queries this fix changed: their NOT EXISTS filters only act when the store holds the
# inferred graph, which tests/test_stores.py does not push.
CHANGED = (
    "counts-by-document",
    "events-in-range",
    "events-on-date",
    "hypothetical-events",
    "timeline",
    "took-part-together",
)
STORE_CASES = [(name, args) for path, args in CASES if (name := path.stem) in CHANGED]
STORE_CASE_IDS = [name + ("-example" if args else "") for name, args in STORE_CASES]


@pytest.fixture(scope="module", params=("oxigraph", "virtuoso", "jena"))
def inferred_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, Callable[..., Run]]]:
    """A store holding the shipped graph and its OWL 2 RL closure, with kgraph on its copy."""
    folder = tmp_path_factory.mktemp(f"infer-{request.param}")
    shipped = copy_shipped(folder / "project")

    def kg(*args: str) -> Run:
        return invoke(["--project", str(shipped), *args])

    store: Store
    if request.param == "jena":
        jena = Jena(folder)
        dump = folder / "closure.nq"
        exported = kg("export", "-f", "nq", "--infer", "owlrl", "-o", str(dump))
        assert exported.exit_code == 0, exported.stderr
        jena.bulk_load(dump)
        jena.start()
        store = jena
    else:
        store = OxigraphServer(folder) if request.param == "oxigraph" else Virtuoso(folder)
        pushed = kg("push", store.push_url, "--infer", "owlrl")
        # Virtuoso keeps the triples but rewrites the one xsd:duration (tests/test_stores.py)
        if pushed.exit_code != 0 and '"3.6288e+06"^^' not in pushed.stderr:
            store.stop()
            pytest.fail(f"push to {request.param} failed: {pushed.stderr}")
    yield store, kg
    store.stop()


@pytest.mark.server
@pytest.mark.parametrize(("name", "params"), STORE_CASES, ids=STORE_CASE_IDS)
def test_store_with_the_closure_gives_the_local_inferred_rows(
    name: str, params: tuple[str, ...], inferred_store: tuple[Store, Callable[..., Run]]
) -> None:
    store, kg = inferred_store
    args = ("query", name, *params, "--infer", "owlrl", "-f", "tsv")
    here = kg(*args)
    assert here.exit_code == 0, here.stderr
    there = kg(*args, "--endpoint", store.query_endpoint)
    assert there.exit_code == 0, f"{store.name}: {there.stderr}"
    drop = DERIVED_COLUMNS.get(name, set())

    def lines(output: str) -> list[str]:
        header, *rows = [line.split("\t") for line in output.splitlines()]
        keep = [i for i, column in enumerate(header) if column.lstrip("?") not in drop]
        return sorted("\t".join(row[i] for i in keep) for row in [header, *rows])

    want, got = lines(here.stdout), lines(there.stdout)
    missing = sorted((Counter(want) - Counter(got)).elements())[:2]
    extra = sorted((Counter(got) - Counter(want)).elements())[:2]
    assert got == want, f"{store.name}: missing {missing}; extra {extra}"


def test_virtuoso_ask_answer_is_read_and_anything_else_is_not() -> None:
    # Virtuoso 7.2 answers ASK as a SELECT of __ASK_RETVAL (as the probe of the store with
    # the closure showed): --endpoint --infer refused every Virtuoso store before.
    from kgraph.remote import _virtuoso_ask

    def answer(*bindings: dict[str, Any]) -> dict[str, Any]:
        return {
            "head": {"link": [], "vars": ["__ASK_RETVAL"]},
            "results": {"bindings": list(bindings)},
        }

    one = {"__ASK_RETVAL": {"type": "typed-literal", "datatype": XSD_INTEGER, "value": "1"}}
    assert _virtuoso_ask(answer(one)) is True
    assert _virtuoso_ask(answer()) is False
    assert _virtuoso_ask(answer({"__ASK_RETVAL": {"type": "literal", "value": "yes"}})) is None
    assert _virtuoso_ask(answer(one, one)) is None
    assert _virtuoso_ask({"head": {"vars": ["x"]}, "results": {"bindings": []}}) is None
