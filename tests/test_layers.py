"""The code's layers depend on one another one way only, as docs/architecture.md draws them.

From the bottom: the shared basics of `alliance/` (namespaces, the problem type, the SPARQL
lexer, the child processes); `ontology/` and `store/`; `shapes/`; `ingest/` and `queries/`;
`server/`; the command line (`alliance/cli/`, and `__main__` modules) on top. A module may
import from its own package and from lower layers, never from a higher layer nor from
another package of its own layer. Library code imports at the top of its modules: a
function-local import of the project's code (which would hide a cycle) is allowed only in
the command line, which imports lazily to keep `alliance --help` quick, and where a
reason is listed in LAZY below.

The test reads every module's imports with `ast`, so it needs no import to run.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Each top folder and the package it is installed as (pyproject.toml's package-dir).
FOLDERS = {
    "alliance": "alliance",
    "ontology": "alliance.ontology",
    "store": "alliance.store",
    "shapes": "alliance.shapes",
    "ingest": "alliance.ingest",
    "queries": "alliance.queries",
    "server": "alliance.server",
}
#: Layer of each package, lowest first; `alliance.*` modules not listed are the basics (0).
LAYERS = {
    "alliance.ontology": 1,
    "alliance.store": 1,
    "alliance.shapes": 2,
    "alliance.ingest": 3,
    "alliance.queries": 3,
    "alliance.server": 4,
    "alliance.cli": 5,
}
#: Function-local imports of the project's code in library modules, each with its reason.
LAZY = {
    ("alliance.server.serving.runner", "alliance.server.web.observability"): (
        "prometheus-client picks its multiprocess mode at import: the variable that sets it "
        "must come first (prepare_metrics)"
    ),
    ("alliance.server.serving.runner", "alliance.server.app"): (
        "the application is built in each gunicorn worker, after the fork"
    ),
}


@dataclass(frozen=True)
class Edge:
    source: str  # importing module
    target: str  # imported module
    line: int
    local: bool  # inside a function


def module_name(path: Path) -> str:
    folder = path.relative_to(ROOT).parts[0]
    rest = path.relative_to(ROOT / folder).with_suffix("").parts
    parts = FOLDERS[folder].split(".") + [p for p in rest if p != "__init__"]
    return ".".join(parts)


@cache
def project_modules() -> frozenset[str]:
    return frozenset(
        module_name(path) for folder in FOLDERS for path in (ROOT / folder).rglob("*.py")
    )


def package_of(module: str) -> str:
    """The layered package a module belongs to (`alliance` for the basics)."""
    for package in sorted(LAYERS, key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            return package
    return "alliance"


def layer_of(module: str) -> int:
    if module.rsplit(".", 1)[-1] == "__main__":
        return LAYERS["alliance.cli"]
    return LAYERS.get(package_of(module), 0)


def edges(source: str, text: str) -> list[Edge]:
    """The imports of the project's modules in one module's text."""
    tree = ast.parse(text)
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function |= {id(sub) for sub in ast.walk(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from package import module` imports that module; `from module import name`
            # the module itself.
            targets = [
                f"{node.module}.{alias.name}"
                if f"{node.module}.{alias.name}" in project_modules()
                else node.module
                for alias in node.names
            ]
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            continue
        for target in targets:
            if target == "alliance" or target.startswith("alliance."):
                found.append(Edge(source, target, node.lineno, id(node) in in_function))
    return found


def violations(all_edges: list[Edge]) -> list[str]:
    found = []
    for edge in all_edges:
        source_layer, target_layer = layer_of(edge.source), layer_of(edge.target)
        where = f"{edge.source}:{edge.line} imports {edge.target}"
        if target_layer > source_layer:
            found.append(f"{where}: a higher layer")
        elif (
            target_layer == source_layer
            and source_layer > 0
            and package_of(edge.source) != package_of(edge.target)
            and layer_of(edge.source) != LAYERS["alliance.cli"]
        ):
            found.append(f"{where}: another package of the same layer")
        if (
            edge.local
            and source_layer < LAYERS["alliance.cli"]
            and (edge.source, edge.target) not in LAZY
        ):
            found.append(f"{where} inside a function (import it at the top of the module)")
    return found


def project_edges() -> list[Edge]:
    found = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            found += edges(module_name(path), path.read_text())
    return found


def test_imports_flow_down_the_layers() -> None:
    all_edges = project_edges()
    assert len(all_edges) > 200, "the project's imports were not found"
    assert violations(all_edges) == []


def test_every_lazy_exception_is_still_needed() -> None:
    local = {(e.source, e.target) for e in project_edges() if e.local}
    assert set(LAZY) <= local


@pytest.mark.parametrize(
    ("source", "text", "expected"),
    [
        ("alliance.store.embedded", "from alliance.server.app import create_app", "higher"),
        ("alliance.shapes.gate", "import alliance.ingest.pipeline", "higher"),
        ("alliance.ingest.pipeline", "from alliance.queries import named_queries", "same layer"),
        ("alliance.namespaces", "from alliance.store import open_store", "higher"),
        ("alliance.server.app", "def f():\n    from alliance.store import x\n", "function"),
    ],
)
def test_the_check_sees_a_wrong_import(source: str, text: str, expected: str) -> None:
    (found,) = violations(edges(source, text))
    assert expected in found


def test_the_check_allows_what_the_layers_allow() -> None:
    allowed = {
        "alliance.server.app": "from alliance.store import open_store",
        "alliance.ingest.pipeline": "from alliance.shapes import shapes_files",
        "alliance.cli.serve": "def f():\n    from alliance.server.serving import runner\n",
        "alliance.ingest.reference.__main__": "from alliance.cli.snapshot import rebuild_command",
        "alliance.store.embedded": "from alliance.store import union_index",
    }
    for source, text in allowed.items():
        assert violations(edges(source, text)) == [], source
