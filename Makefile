# kgraph: `make demo` runs the tool on the shipped graph, `make test` runs every check.
# Both create the virtual environment in .venv on first use; nothing else is needed.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test quick lint typecheck docs docs-check bench screenshots clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/kgraph validate
	$(BIN)/kgraph validate --infer owlrl
	$(BIN)/kgraph queries
	$(BIN)/kgraph query officials-and-posts -p date 2024-10-28
	$(BIN)/kgraph query troop-estimates-over-time
	$(BIN)/kgraph query claims-by-stance -p stance kg:NotDenied
	$(BIN)/kgraph check
	@echo 'Read the graph in a browser: $(BIN)/kgraph serve  (then open http://127.0.0.1:7878/ ; SPARQL endpoint http://127.0.0.1:7878/sparql)'

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

docs: $(STAMP)
	$(BIN)/python -m kgraph.docgen --write

docs-check: $(STAMP)
	$(BIN)/python -m kgraph.docgen --check

# Every test, on one pytest-xdist worker per core; a file's tests stay in one worker, since
# most files share module fixtures (a project loaded or generated once, real Virtuoso, Jena
# and Oxigraph servers, a browser) that a file split over two workers would set up twice.
test: $(STAMP) lint typecheck docs-check
	$(BIN)/python -m pytest -q -n auto --dist loadfile

# The edit loop: lint, types, and every test but the slow ones (pySHACL references,
# kill loops, real servers), stopping at the first failure. `make test` runs them all.
quick: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -q -x -m 'not slow and not server' -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench
	$(BIN)/python -m bench.serve

# The README's screenshots, made by the browser tests (needs chromium and chromium-driver).
screenshots: $(STAMP)
	KGRAPH_SCREENSHOTS=1 $(BIN)/python -m pytest -q tests/test_serve_browser.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
