"""Review of the Setting, serve-cache and memory-limit changes: each test fails on the code
before its fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgraph.errors import ExitStatus
from kgraph.server import _cached_store
from kgraph.server.backend import locate_project
from test_hardening_io import run_process

# -- a small memory limit hit while parsing a canned query ------------------------------


@pytest.mark.parametrize("megabytes", ["5", "20"])
def test_canned_query_under_a_tiny_memory_limit_is_the_memory_limit(
    project: Path, megabytes: str
) -> None:
    # The SPARQL parser recurses; under so small an address space CPython 3.11 cannot push a
    # frame and raises SystemError("error return without exception set"), not MemoryError.
    result = run_process(project, "--max-memory", megabytes, "query", "visits")
    assert result.exit_code == ExitStatus.LIMIT, result.stderr
    assert result.stderr == f"Error: memory limit of {megabytes} MB hit; raise --max-memory\n"


# -- the SERVICE refusal reads right with the flag and in words -------------------------


def test_service_refusal_names_the_endpoint_flag_grammatically(kgraph: object) -> None:
    result = kgraph("query", "-e", "SELECT * { SERVICE <http://x/> { ?s ?p ?o } }")  # type: ignore[operator]
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.stderr == (
        "Error: -e:1:12: SERVICE is refused: a federated query would send data to another "
        "endpoint; run the query at that endpoint instead (set --endpoint to it)\n"
    )


# -- serve's cache folder inside the project ---------------------------------------------


@pytest.mark.parametrize("inside", ["data/cache", "cache"])
def test_cache_folder_inside_the_project_serves_from_memory(
    project: Path, monkeypatch: pytest.MonkeyPatch, inside: str
) -> None:
    # In data/ the store's own files (its sheet cache's .nt) became graphs of the project;
    # anywhere in it, the user's folder was written.
    monkeypatch.setenv("KGRAPH_CACHE_DIR", str(project / inside))
    said: list[str] = []
    store = _cached_store(locate_project(str(project)), said.append)
    assert store is None
    assert said == [
        f"kgraph serve: the cache folder {project / inside / 'serve'} is inside the project "
        f"{project.resolve()}; serving from memory"
    ]
    assert not (project / inside).exists()


def test_cache_folder_outside_the_project_is_used(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KGRAPH_CACHE_DIR", str(tmp_path / "elsewhere"))
    said: list[str] = []
    store = _cached_store(locate_project(str(project)), said.append)
    assert store is not None and store.parent == tmp_path / "elsewhere" / "serve"
    assert store.parent.is_dir() and said == []


# -- an HTTP failure crosses the worker's pipe -------------------------------------------


def test_http_failure_survives_pickling_with_what_may_have_been_applied() -> None:
    import pickle

    from kgraph.errors import Setting
    from kgraph.remote import HttpFailure

    sent = HttpFailure(
        "no complete answer within 5 s (the HTTP timeout)",
        maybe_applied=True,
        status=502,
        setting=Setting.HTTP_TIMEOUT,
    )
    back = pickle.loads(pickle.dumps(sent))
    assert type(back) is HttpFailure
    assert (back.message, back.maybe_applied, back.http_status, back.settings) == (
        sent.message,
        True,
        502,
        (Setting.HTTP_TIMEOUT,),
    )
    assert back.naming(lambda s: "--http-timeout").endswith("(--http-timeout)")


# -- a URL setting as the subject of check_url's message ----------------------------------


def test_bad_query_endpoint_is_named_by_its_flag_alone(kgraph: object) -> None:
    # FLAGS named it "--query-endpoint URL": "--query-endpoint URL 'ftp://x' is not ...".
    result = kgraph("push", "http://127.0.0.1:9/store", "--query-endpoint", "ftp://x")  # type: ignore[operator]
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.stderr == (
        "Error: --query-endpoint 'ftp://x' is not an http:// or https:// URL\n"
    )


def test_ask_result_as_rdf_is_refused_with_an_article_that_fits(kgraph: object) -> None:
    result = kgraph("query", "-e", "ASK {}", "-f", "turtle")  # type: ignore[operator]
    assert result.exit_code == ExitStatus.BAD_INPUT
    assert result.stderr.startswith("Error: an ASK result is a table: set -f to one of "), (
        result.stderr
    )


def test_cache_folder_that_takes_no_store_serves_from_memory(
    project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The cache folder exists, but the store's folder cannot be made in it (here a file is
    # in its place; unwritable for another user alike): only its parent was made, and the
    # builder then failed the server's start instead of serving from memory.
    monkeypatch.setenv("KGRAPH_CACHE_DIR", str(tmp_path / "cache"))
    layout = locate_project(str(project))
    from kgraph.server.storecache import store_for

    blocked = store_for(layout)
    blocked.parent.mkdir(parents=True)
    blocked.write_text("not a folder")
    said: list[str] = []
    assert _cached_store(layout, said.append) is None
    assert len(said) == 1 and said[0].startswith(
        f"kgraph serve: cannot make the cache folder {blocked} ("
    )
    assert said[0].endswith("); serving from memory")


# -- the advice when a store lacks the inferred graph -----------------------------------


def test_missing_inferred_graph_says_which_command_pushes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kgraph import remote
    from kgraph.cli.app import _error_line
    from kgraph.errors import Setting, UsageError

    def absent(*args: object, **kwargs: object) -> remote.Response:
        return remote.Response(200, "OK", remote.SPARQL_JSON, b'{"head": {}, "boolean": false}')

    monkeypatch.setattr(remote, "sparql", absent)
    with pytest.raises(UsageError) as caught:
        remote._require_graph("http://127.0.0.1:9/sparql", "urn:g", "rdfs", 5.0)
    assert caught.value.settings == (Setting.INFER,)
    assert _error_line(caught.value) == (
        "Error: the store has no inferred graph <urn:g>; push it first (`kgraph push` with "
        "--infer rdfs), or query without it"
    )


def test_a_sheet_over_the_input_limit_is_named_like_any_file() -> None:
    # The sheet's size check says the limit as every other input does (fsutil.too_big).
    from kgraph.errors import LimitError, Setting
    from kgraph.limits import Limits
    from kgraph.names import NameIndex
    from kgraph.sheets import compile_sheet

    limits = Limits(max_input_bytes=2 * 1024 * 1024)
    with pytest.raises(LimitError) as caught:
        compile_sheet(
            b"#" * (limits.max_input_bytes + 1), name="big.yaml", index=NameIndex([]), limits=limits
        )
    assert caught.value.setting is Setting.MAX_INPUT
    assert str(caught.value) == (
        "big.yaml: file is larger than the input limit of 2 MB; raise the input limit"
    )
