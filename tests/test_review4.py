"""Review of the add-a-new-article route (claim sheets, Turtle, the canned queries that
should then answer across the documents): each test fails on the code before its fix."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path

from conftest import Run
from kgraph.errors import ExitStatus
from kgraph.sheets import TEMPLATE

KGD = "https://w3id.org/kgraph/id/"


def tsv(run: Run) -> list[dict[str, str]]:
    assert run.exit_code == ExitStatus.OK, run.stderr
    reader = csv.DictReader(io.StringIO(run.stdout), delimiter="\t", quoting=csv.QUOTE_NONE)
    return [{k.lstrip("?"): v for k, v in row.items()} for row in reader]


# -- an estimate that names only its quantity is listed with the state's troops ---------


def test_the_templates_estimate_is_listed_beside_the_one_it_supersedes(
    kgraph: Callable[..., Run], project: Path
) -> None:
    # The template's estimate says `of: North Korean soldiers sent to Russia` and
    # `supersedes: kgd:claim-F56` but no `about:`: the query read the state only from the
    # estimate's own kg:about, so F56 showed as superseded by an estimate it did not list.
    path = project / "report.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    added = kgraph("add", str(path))
    assert added.exit_code == ExitStatus.OK, added.stderr
    for args in ((), ("-p", "state", "North Korea")):
        table = tsv(kgraph("query", "troop-estimates-over-time", "-f", "tsv", *args))
        by_fact = {row["factId"].strip('"'): row for row in table}
        new = by_fact["C01"]
        assert new["state"] == f"<{KGD}DPRK>"
        assert new["count"] == "11000"
        assert new["isCurrent"] == "true"
        assert by_fact["F56"]["supersededBy"] == new["estimate"]
        assert by_fact["F56"]["isCurrent"] == "false"
    # The state comes from the estimates of the same quantity, not from any state's troops.
    assert tsv(kgraph("query", "troop-estimates-over-time", "-f", "tsv", "-p", "state", "Russia")) == []
