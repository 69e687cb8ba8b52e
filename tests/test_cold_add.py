"""Cold start and add: the compiled sheets of data/ kept in the user's cache folder, what a
start imports, and the work `kgraph add` no longer repeats."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

import kgraph.store as kstore
from conftest import count_compiles
from kgraph.layout import Layout
from kgraph.limits import Limits
from kgraph.store import Dataset
from kgraph.usercache import sheet_folder

SHEET_GRAPH = "https://w3id.org/kgraph/graph/data/article2.yaml"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "user-cache"
    monkeypatch.setenv("KGRAPH_CACHE_DIR", str(folder))
    return folder


def sheet_nt(dataset: Dataset) -> bytes:
    """The sheet's graph as N-Triples, in the store's order (the bytes a cached load must
    reproduce)."""
    quads = dataset.store.quads_for_pattern(None, None, None, ox.NamedNode(SHEET_GRAPH))
    return ox.serialize([q.triple for q in quads], format=ox.RdfFormat.N_TRIPLES) or b""


def entries(cache: Path) -> list[Path]:
    return sorted((cache / "sheets").rglob("*.nt"))


def test_a_second_load_takes_the_sheet_from_the_cache(
    project: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compiled = count_compiles(monkeypatch)
    first = Dataset.open(Layout(project), limits=Limits())
    assert compiled == ["article2.yaml"]
    assert len(entries(cache)) == 1
    assert entries(cache)[0].parent == sheet_folder(project)
    second = Dataset.open(Layout(project), limits=Limits())
    assert compiled == ["article2.yaml"]  # not compiled again
    assert sheet_nt(second) == sheet_nt(first)
    assert len(sheet_nt(first).splitlines()) == 195


def test_the_cached_load_gives_the_fresh_compile_byte_for_byte(
    project: Path, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Dataset.open(Layout(project), limits=Limits())  # fills the cache
    cached = Dataset.open(Layout(project), limits=Limits())
    monkeypatch.setenv("KGRAPH_CACHE_DIR", str(tmp_path / "empty"))
    compiled = count_compiles(monkeypatch)
    fresh = Dataset.open(Layout(project), limits=Limits())
    assert compiled == ["article2.yaml"]
    assert sheet_nt(cached) == sheet_nt(fresh)
    every = [q for q in cached.store]
    assert sorted(map(str, every)) == sorted(map(str, fresh.store))


def test_an_edited_sheet_is_compiled_again_and_its_old_entry_dropped(
    project: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Dataset.open(Layout(project), limits=Limits())
    old = entries(cache)
    compiled = count_compiles(monkeypatch)
    sheet = project / "data" / "article2.yaml"
    sheet.write_text(
        sheet.read_text(encoding="utf-8").replace("Choe Son Hui", "Choe Son-hui", 1),
        encoding="utf-8",
    )
    Dataset.open(Layout(project), limits=Limits())
    assert compiled == ["article2.yaml"]
    assert len(entries(cache)) == 1 and entries(cache) != old


def test_a_changed_earlier_file_recompiles_the_sheet(
    project: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Dataset.open(Layout(project), limits=Limits())
    compiled = count_compiles(monkeypatch)
    earlier = project / "data" / "article.ttl"
    earlier.write_bytes(earlier.read_bytes() + b"\n# a comment\n")
    Dataset.open(Layout(project), limits=Limits())
    assert compiled == ["article2.yaml"]


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "flipped"])
def test_a_damaged_entry_is_compiled_again_and_rewritten(
    project: Path, cache: Path, monkeypatch: pytest.MonkeyPatch, damage: str
) -> None:
    good = sheet_nt(Dataset.open(Layout(project), limits=Limits()))
    (entry,) = entries(cache)
    text = entry.read_bytes()
    damaged = {
        # cut at a line's end: still valid N-Triples, with fewer triples
        "truncated": text[: text.rindex(b"\n", 0, len(text) // 2) + 1],
        "garbage": b"\x00\xff not N-Triples",
        "empty": b"",
        "flipped": text.replace(b"Putin", b"Putov", 1),
    }[damage]
    entry.write_bytes(damaged)
    compiled = count_compiles(monkeypatch)
    again = Dataset.open(Layout(project), limits=Limits())
    assert compiled == ["article2.yaml"]
    assert sheet_nt(again) == good
    assert entry.read_bytes() == text  # rebuilt


def test_an_unwritable_cache_folder_is_not_an_error(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("KGRAPH_CACHE_DIR", str(blocker / "cache"))
    compiled = count_compiles(monkeypatch)
    first = Dataset.open(Layout(project), limits=Limits())
    second = Dataset.open(Layout(project), limits=Limits())
    assert compiled == ["article2.yaml", "article2.yaml"]
    assert sheet_nt(first) == sheet_nt(second)


def test_a_cache_key_that_cannot_be_made_means_no_cache_not_an_error(
    project: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kgraph installed without its .py sources: the key (the compiler's source) cannot be
    read, so the sheet is compiled as without a cache."""

    def unreadable(self: object, folder: Path, against: object) -> None:
        raise FileNotFoundError(2, "No such file or directory", "sheets.py")

    monkeypatch.setattr(kstore.SheetCache, "__init__", unreadable)
    compiled = count_compiles(monkeypatch)
    dataset = Dataset.open(Layout(project), limits=Limits())
    assert compiled == ["article2.yaml"]
    assert len(sheet_nt(dataset).splitlines()) == 195
    assert entries(cache) == []


def test_a_cache_folder_inside_the_project_is_not_used(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KGRAPH_CACHE_DIR", str(project / "data" / "cache"))
    Dataset.open(Layout(project), limits=Limits())
    assert not (project / "data" / "cache").exists()


def test_the_confined_cli_worker_reads_and_writes_the_cache(project: Path, tmp_path: Path) -> None:
    """Through the CLI, in its sandboxed worker: the first query fills the cache, the
    second reads it (its entry's modification time is left as it was)."""
    env = {**os.environ, "KGRAPH_CACHE_DIR": str(tmp_path / "cli-cache")}
    argv = [sys.executable, "-m", "kgraph", "--project", str(project), "query"]
    first = subprocess.run([*argv, "officials-and-posts"], env=env, capture_output=True)
    assert first.returncode == 0, first.stderr
    (entry,) = sorted((tmp_path / "cli-cache" / "sheets").rglob("*.nt"))
    os.utime(entry, ns=(1, 1))
    second = subprocess.run([*argv, "officials-and-posts"], env=env, capture_output=True)
    assert second.returncode == 0 and second.stdout == first.stdout
    assert entry.stat().st_mtime_ns == 1  # read, not rewritten


def test_a_query_with_every_sheet_cached_imports_no_compiler(project: Path, tmp_path: Path) -> None:
    """The compiler and the name index stay unloaded when the cache holds the sheet and the
    query binds no parameter (before: both, on every start)."""
    env = {
        "KGRAPH_CACHE_DIR": str(tmp_path / "cli-cache"),
        "KGRAPH_INLINE": "1",  # the load runs in this process, where sys.modules is read
    }
    args = ["--project", str(project), "query", "officials-and-posts"]
    wanted = ("kgraph.sheets", "kgraph.names")
    assert loaded_by(args, wanted, env) == ["kgraph.names", "kgraph.sheets"]  # fills the cache
    assert loaded_by(args, wanted, env) == []


def loaded_by(args: list[str], prefixes: tuple[str, ...], env: dict[str, str]) -> list[str]:
    """The modules ``prefixes`` (and their submodules) that ``kgraph ARGS`` has loaded when
    it ends."""
    script = (
        "import sys\n"
        "from kgraph.cli import cli\n"
        "try:\n"
        f"    cli.main({args!r}, standalone_mode=False)\n"
        "finally:\n"
        f"    wanted = {prefixes!r}\n"
        "    print(sorted(m for m in sys.modules if m in wanted or m.startswith(tuple(w + '.' for w in wanted))), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return list(eval(done.stderr.splitlines()[-1]))  # a list of module names, printed by us


HEAVY = (
    "kgraph.remote",
    "kgraph.sandbox",
    "kgraph.guards",
    "kgraph.store",
    "yaml",
    "ctypes",
    "pickle",
)


def test_help_loads_neither_the_http_client_nor_the_sandbox() -> None:
    # Before: the CLI's push options imported kgraph.remote (for the store kinds) and the
    # limits imported the sandbox (ctypes) and pickle into every start.
    loaded = loaded_by(["--help"], HEAVY, {})
    assert loaded == []


def test_a_local_query_loads_no_http_client(project: Path, tmp_path: Path) -> None:
    env = {"KGRAPH_CACHE_DIR": str(tmp_path / "c"), "KGRAPH_INLINE": "1"}
    args = ["--project", str(project), "query", "officials-and-posts"]
    assert "kgraph.remote" not in loaded_by(args, ("kgraph.remote",), env)


# -- add: the batch is parsed once when it is accepted -----------------------------------


def count_line_indexes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from kgraph.shacl.locate import LineIndex

    built: list[int] = []
    real = LineIndex.build.__func__  # type: ignore[attr-defined]

    def counting(cls: type[LineIndex], data: bytes, *args: object, **kw: object) -> LineIndex:
        built.append(len(data))
        return real(cls, data, *args, **kw)  # type: ignore[no-any-return]

    monkeypatch.setattr(LineIndex, "build", classmethod(counting))
    return built


GOOD = (
    "@prefix kg: <https://w3id.org/kgraph/ontology#> .\n"
    "@prefix kgd: <https://w3id.org/kgraph/id/> .\n"
    "@prefix skos: <http://www.w3.org/2004/02/skos/core#> .\n"
    "@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
    'kgd:visit-cold a kg:Visit ; skos:prefLabel "Cold visit"@en ;\n'
    "    kg:visitor kgd:ChoeSonHui ; kg:destination kgd:Russia ;\n"
    '    kg:startDate "2024-11-01"^^xsd:date .\n'
)


def test_an_accepted_batch_is_not_parsed_again_for_its_lines(
    kgraph, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Before: every add parsed its input a second time, line by line, to place problems
    # that an accepted batch does not have.
    batch = tmp_path / "good.ttl"
    batch.write_text(GOOD, encoding="utf-8")
    monkeypatch.setenv("KGRAPH_INLINE", "1")  # the worker's work in this process, observed
    built = count_line_indexes(monkeypatch)
    result = kgraph("add", "--dry-run", str(batch))
    assert result.exit_code == 0, result.stderr
    assert built == []


def test_a_refused_batch_still_names_its_line_and_is_parsed_for_it_once(
    kgraph, project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = tmp_path / "typo.ttl"
    batch.write_text(GOOD + "kgd:visit-cold kg:visitorr kgd:ChoeSonHui .\n", encoding="utf-8")
    monkeypatch.setenv("KGRAPH_INLINE", "1")
    built = count_line_indexes(monkeypatch)
    result = kgraph("add", "--dry-run", str(batch))
    assert result.exit_code == 2
    assert f"{batch}:8: kg:visitorr is not a term of the ontology" in result.stderr
    assert built == [len(batch.read_bytes())]


# -- the command line loads a command's module only to run it ---------------------------


def test_the_lazy_command_table_matches_the_commands() -> None:
    import inspect

    from kgraph.cli import cli
    from kgraph.cli.app import COMMANDS

    assert sorted(COMMANDS) == sorted(cli.commands)
    for name, command in cli.commands.items():
        module, summary = COMMANDS[name]
        assert command.callback is not None
        assert command.callback.__module__ == f"kgraph.cli.{module}", name
        assert not command.hidden and not command.deprecated and not command.short_help
        assert inspect.cleandoc(command.help or "").split("\n\n")[0] == summary, name
        for limit in (20, 45, 74, 200):  # the same cut as Click's, whatever the width
            assert click_short(summary, limit) == command.get_short_help_str(limit)


def click_short(summary: str, limit: int) -> str:
    import click

    return click.Command("x", help=summary).get_short_help_str(limit)


@pytest.mark.parametrize("width", ["", "60", "200"])
def test_help_lists_the_same_commands_without_loading_them(width: str) -> None:
    env = {**os.environ, "COLUMNS": width} if width else dict(os.environ)
    lazy = subprocess.run(
        [sys.executable, "-m", "kgraph", "--help"], env=env, capture_output=True, text=True
    )
    eager = subprocess.run(
        [
            sys.executable,
            "-c",
            "from kgraph.cli import cli\ncli.main(['--help'], prog_name='kgraph')",
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert lazy.returncode == eager.returncode == 0
    assert lazy.stdout == eager.stdout and "  validate  Check the graph" in lazy.stdout


def test_help_and_a_query_load_only_what_they_run(project: Path, tmp_path: Path) -> None:
    modules = ("kgraph.cli.read", "kgraph.cli.write", "kgraph.cli.remote", "kgraph.cli.serve")
    script = (
        "import sys\n"
        "from kgraph.cli import main\n"
        "sys.argv = ['kgraph', *sys.argv[1:]]\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in sys.modules if m in {modules!r}), file=sys.stderr)\n"
    )
    env = {**os.environ, "KGRAPH_CACHE_DIR": str(tmp_path / "c")}

    def loaded(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", script, *args], env=env, capture_output=True, text=True
        )
        return done.stderr.splitlines()[-1]

    assert loaded("--help") == "[]"
    assert loaded("--project", str(project), "query", "officials-and-posts") == (
        "['kgraph.cli.read']"
    )
    assert loaded("template") == "['kgraph.cli.write']"


def test_a_misspelled_command_is_still_offered_the_nearest() -> None:
    done = subprocess.run([sys.executable, "-m", "kgraph", "qury"], capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == "Error: No such command 'qury'. Did you mean 'query'?"
