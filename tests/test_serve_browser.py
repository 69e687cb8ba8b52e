"""The pages of `kgraph serve` in a real headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by Selenium): each view draws, with no console error, and a
label holding markup stays text.

With KGRAPH_SCREENSHOTS=1 (`make screenshots`) each view is saved as a PNG in
docs/screenshots/, which the README shows.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from serving import KGRAPH, Served, start

pytestmark = pytest.mark.server

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "screenshots"
CHOE = "https://w3id.org/kgraph/id/ChoeSonHui"
INJECTED = "https://w3id.org/kgraph/id/Injected"
MARKUP = '<script>window.kgraphPwned = 1</script><img src="x" onerror="window.kgraphPwned = 2">'
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
]


def _browser_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    missing = [n for n, p in (("chromium", chromium), ("chromedriver", driver)) if p is None]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[test]')")
    if missing:
        reason = f"needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    assert chromium and driver
    return chromium, driver


@pytest.fixture(scope="module")
def site() -> Iterator[Served]:
    """The server on the shipped graph (what the screenshots show)."""
    _browser_paths()
    served = start(["--workers", "2"])
    yield served
    served.stop()


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The server on a copy of the project with one label that holds markup."""
    _browser_paths()
    project = tmp_path_factory.mktemp("serve") / "project"
    for name in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("batches", ".*"))
    (project / "data" / "injected.ttl").write_text(
        "@prefix kg: <https://w3id.org/kgraph/ontology#> .\n"
        "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        f"<{INJECTED}> a kg:Person ; skos:prefLabel {_turtle_string(MARKUP)}@en ;\n"
        f"    rdfs:seeAlso <{CHOE}> .\n",
        encoding="utf-8",
    )
    served = start(["--workers", "2"], project=project)
    yield served
    served.stop()


def _turtle_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    chromium, driver_path = _browser_paths()
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = chromium
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def wait_for(condition: Callable[[], Any], timeout: float = 20, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception:
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def cli_rows(name: str, param: str, value: str) -> int:
    """How many rows `kgraph query NAME -p PARAM VALUE` gives."""
    out = subprocess.run(
        [*KGRAPH, "query", name, "-p", param, value, "-f", "json"],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    return len(json.loads(out)["results"]["bindings"])


def console_errors(browser: Any) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def screenshot(browser: Any, name: str) -> None:
    if os.environ.get("KGRAPH_SCREENSHOTS") == "1":
        SHOTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(SHOTS / f"{name}.png"))


def not_pwned(browser: Any) -> None:
    assert browser.execute_script("return window.kgraphPwned === undefined")


def test_overview_shows_documents_sources_classes_and_validation(
    site: Served, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    def validated() -> bool:
        browser.get(site.url("/"))
        return "running" not in browser.find_element(By.CSS_SELECTOR, ".status").text

    wait_for(validated, 90, "the validation status")
    status = browser.find_element(By.CSS_SELECTOR, ".status").text
    assert "violations" in status
    assert browser.find_elements(By.CSS_SELECTOR, "#documents + .count + .scroll tbody tr")
    sources = browser.find_element(By.CSS_SELECTOR, "#sources + .count + .scroll").text
    assert "Unnamed publisher of the article" in sources
    assert "Person" in browser.find_element(By.TAG_NAME, "main").text
    assert len(browser.find_elements(By.CSS_SELECTOR, "ul.queries li")) >= 20
    assert console_errors(browser) == []
    screenshot(browser, "overview")


def test_a_form_runs_its_query_and_shows_named_links(site: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(site.url("/q/officials-and-posts"))
    date = browser.find_element(By.ID, "param-date")
    assert date.get_attribute("type") == "date"
    browser.execute_script("arguments[0].value = '2024-10-28'", date)
    browser.find_element(By.CSS_SELECTOR, "form.query button[type=submit]").click()
    rows = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#answer tbody tr"), what="result rows"
    )
    assert len(rows) == cli_rows("officials-and-posts", "date", "2024-10-28")
    link = browser.find_element(By.LINK_TEXT, "Choe Son Hui")
    assert link.get_attribute("href").endswith("/entity?iri=" + quote(CHOE, safe=""))
    assert console_errors(browser) == []
    screenshot(browser, "query-form")


def test_entity_field_completes_by_name(site: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(site.url("/q/about-entity"))
    field = browser.find_element(By.ID, "param-entity")
    field.send_keys("Choe Son")
    options = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#list-entity option"), what="completions"
    )
    assert "kgd:ChoeSonHui" in [o.get_attribute("value") for o in options]
    field.clear()
    field.send_keys("kgd:ChoeSonHui")
    browser.find_element(By.CSS_SELECTOR, "form.query button[type=submit]").click()
    rows = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#answer tbody tr"))
    assert len(rows) > 5
    # A concept field: the stance, by its name.
    browser.get(site.url("/q/claims-by-stance"))
    field = browser.find_element(By.ID, "param-stance")
    field.send_keys("not den")
    options = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#list-stance option"), what="stances"
    )
    assert [(o.get_attribute("value"), o.get_attribute("label")) for o in options] == [
        ("kg:NotDenied", "not denied")
    ]
    field.clear()
    field.send_keys("kg:NotDenied")
    browser.find_element(By.CSS_SELECTOR, "form.query button[type=submit]").click()
    rows = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#answer tbody tr"))
    assert len(rows) == cli_rows("claims-by-stance", "stance", "kg:NotDenied")
    assert console_errors(browser) == []


def test_entity_page_shows_claims_with_their_sentences(site: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(site.url("/entity?iri=kgd:ChoeSonHui"))
    assert browser.find_element(By.TAG_NAME, "h1").text == "Choe Son Hui"
    claims = browser.find_elements(By.CSS_SELECTOR, "#claims li.claim")
    assert len(claims) > 5
    text = browser.find_element(By.ID, "claims").text
    # Sentence 1 of the article, verbatim, under the claim F01 it supports.
    assert "North Korean Foreign Minister Cui Shanji embarked on a visit to Russia" in text
    first = next(c for c in claims if "F01" in c.text)
    assert first.find_element(By.CSS_SELECTOR, ".stance").text
    assert "Unnamed publisher of the article" in first.text
    assert first.find_element(By.CSS_SELECTOR, "blockquote.sentence").text.startswith("On Monday")
    assert browser.find_elements(By.CSS_SELECTOR, "#claims .document h3 a")
    assert browser.find_elements(By.CSS_SELECTOR, "#links-out tbody tr")
    assert console_errors(browser) == []
    screenshot(browser, "entity")
    # A claim with its own date (X05, 23 October, by the Pentagon's count) shows it.
    browser.get(site.url("/entity?iri=kgd:quantity-dprk-soldiers-sent-to-russia"))
    dated = next(
        c for c in browser.find_elements(By.CSS_SELECTOR, "#claims li.claim") if "X05" in c.text
    )
    assert "date: 2024-10-23" in dated.text


def test_timeline_draws_dated_events_and_sets_hypothetical_apart(
    site: Served, browser: Any
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(site.url("/timeline"))
    events = browser.find_elements(By.CSS_SELECTOR, "#timeline li.event")
    assert len(events) > 10
    assert browser.find_elements(By.CSS_SELECTOR, "#timeline-strip circle")
    assert all("dated by" in e.text for e in events[:5])
    assert browser.find_elements(By.CSS_SELECTOR, "#timeline li.background")
    hypothetical = browser.find_elements(By.CSS_SELECTOR, "#hypothetical li.hypothetical")
    assert hypothetical
    hypothetical_names = {h.find_element(By.TAG_NAME, "a").text for h in hypothetical}
    dated_names = {e.find_element(By.TAG_NAME, "a").text for e in events}
    assert not hypothetical_names & dated_names
    assert console_errors(browser) == []
    screenshot(browser, "timeline")


def test_network_draws_expands_and_exports_svg(site: Served, browser: Any) -> None:
    browser.get(site.url("/network?entity=kgd:ChoeSonHui"))
    nodes = int(
        wait_for(
            lambda: browser.execute_script(
                "return document.getElementById('network').dataset.nodes"
            ),
            what="the network",
        )
    )
    assert nodes > 3
    screenshot(browser, "network")
    # Expand a neighbour, as a click on it does.
    browser.execute_script(
        "var cy = window.kgraphNetwork;"
        "cy.nodes().filter(function (n) { return !n.hasClass('expanded'); })[0].emit('tap');"
    )
    wait_for(
        lambda: (
            int(browser.execute_script("return document.getElementById('network').dataset.nodes"))
            > nodes
        ),
        what="the network to grow",
    )
    svg = browser.execute_script("return window.kgraphNetworkSvg()")
    root = ET.fromstring(svg)
    count = browser.execute_script("return window.kgraphNetwork.nodes().length")
    assert len(root.findall("{http://www.w3.org/2000/svg}circle")) == count
    assert "Choe Son Hui" in svg
    assert console_errors(browser) == []


def test_sparql_editor_runs_a_query_on_the_endpoint(site: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(site.url("/editor"))
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".yasqe .CodeMirror"), what="YASQE")
    query = browser.execute_script("return window.kgraphYasgui.getTab().getYasqe().getValue()")
    assert "PREFIX kgd: <https://w3id.org/kgraph/id/>" in query
    browser.execute_script("window.kgraphYasgui.getTab().getYasqe().query()")
    wait_for(
        lambda: "Choe Son Hui" in browser.find_element(By.CSS_SELECTOR, ".yasr").text,
        30,
        "the results table",
    )
    rows = browser.find_elements(By.CSS_SELECTOR, ".yasr tbody tr")
    # The table's filter box (DataTables' search) keeps the rows that match, offline.
    search = browser.find_element(By.CSS_SELECTOR, ".yasr .tableFilter")
    assert search.is_displayed()
    search.send_keys("Choe Son")
    wait_for(
        lambda: 0 < len(browser.find_elements(By.CSS_SELECTOR, ".yasr tbody tr")) < len(rows),
        10,
        "the filtered table",
    )
    shown = browser.find_element(By.CSS_SELECTOR, ".yasr tbody").text
    assert all(
        "Choe Son" in r.text for r in browser.find_elements(By.CSS_SELECTOR, ".yasr tbody tr")
    )
    assert "Choe Son Hui" in shown
    search.clear()
    search.send_keys(" ")  # keyup with the box emptied of the term: every row again
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, ".yasr tbody tr")) == len(rows), 10)
    assert console_errors(browser) == []
    screenshot(browser, "sparql-editor")


def test_a_label_holding_markup_stays_text(hostile: Served, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    site = hostile
    browser.get(site.url("/entity?iri=" + quote(INJECTED, safe="")))
    assert browser.find_element(By.TAG_NAME, "h1").text == MARKUP
    assert not browser.find_elements(By.CSS_SELECTOR, "main script, main img")
    not_pwned(browser)
    browser.get(site.url("/entity?iri=kgd:ChoeSonHui"))
    assert MARKUP in browser.find_element(By.ID, "links-in").text
    not_pwned(browser)
    browser.get(site.url("/q/about-entity"))
    browser.find_element(By.ID, "param-entity").send_keys("script")
    options = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#list-entity option"))
    assert MARKUP in [o.get_attribute("label") for o in options]
    not_pwned(browser)
    browser.get(site.url("/network?entity=" + quote(INJECTED, safe="")))
    wait_for(
        lambda: browser.execute_script("return document.getElementById('network').dataset.nodes")
    )
    svg = browser.execute_script("return window.kgraphNetworkSvg()")
    ET.fromstring(svg)  # still well-formed XML: the label was escaped
    not_pwned(browser)
    browser.get(site.url("/editor"))
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".yasqe .CodeMirror"))
    browser.execute_script("window.kgraphYasgui.getTab().getYasqe().query()")
    wait_for(lambda: "kgraphPwned" in browser.find_element(By.CSS_SELECTOR, ".yasr").text, 30)
    not_pwned(browser)
    # Filtering indexes every cell: the markup still finds its row, as text, and runs nothing.
    browser.find_element(By.CSS_SELECTOR, ".yasr .tableFilter").send_keys("kgraphPwned = 2")
    wait_for(lambda: len(browser.find_elements(By.CSS_SELECTOR, ".yasr tbody tr")) == 1, 10)
    assert "kgraphPwned" in browser.find_element(By.CSS_SELECTOR, ".yasr tbody").text
    not_pwned(browser)
    assert console_errors(browser) == []
