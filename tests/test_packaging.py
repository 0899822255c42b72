"""The package declares what it imports: a fresh install without the test extra must run.

The test extra pulls in many libraries (requests among them), so a module that imports one
of those works in the tests and fails on a user's fresh install. CI also installs the wheel
in a new virtual environment without the extra and imports every module there
(`.ci/fresh-install`); this test finds the same mistake in a normal test run, from the
source: every library imported anywhere in the `alliance` package (at the top of a module or
inside a function) must be the standard library, the package itself, or a distribution that
`pyproject.toml` lists in its runtime dependencies.
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import alliance

ROOT = Path(__file__).resolve().parent.parent


def runtime_dependencies() -> set[str]:
    """The normalised names of the distributions `[project] dependencies` lists."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = (re.match(r"[A-Za-z0-9._-]+", spec).group() for spec in project["dependencies"])
    return {_normalised(name) for name in names}


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def package_files() -> list[Path]:
    """Every Python file of the installed `alliance` package (each mapped folder)."""
    folders = {Path(p) for p in alliance.__path__}
    mapping = _package_dirs()
    folders |= {ROOT / folder for folder in mapping.values()}
    return sorted({f for folder in folders for f in folder.rglob("*.py")})


def _package_dirs() -> dict[str, str]:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    return setuptools.get("package-dir", {})


def imported_top_names(path: Path) -> set[str]:
    """The first component of every absolute import in a file."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_imported_library_is_a_declared_dependency() -> None:
    declared = runtime_dependencies()
    distributions = importlib.metadata.packages_distributions()
    missing: dict[str, set[str]] = {}
    files = package_files()
    assert len(files) > 50, "the package's modules were not found"
    for path in files:
        for name in imported_top_names(path):
            if name in sys.stdlib_module_names or name == "alliance":
                continue
            providers = {_normalised(d) for d in distributions.get(name, [name])}
            if not providers & declared:
                missing.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_the_check_sees_an_undeclared_import(tmp_path: Path) -> None:
    """The check itself: a module importing `pytest` (test extra only) is reported."""
    module = tmp_path / "uses_pytest.py"
    module.write_text("def f():\n    import pytest.mark\n")
    assert "pytest" in imported_top_names(module)
    assert "pytest" not in runtime_dependencies()


def test_every_package_folder_goes_into_the_wheel() -> None:
    """pyproject.toml lists the packages by hand (each top folder is mapped into `alliance`,
    which setuptools' discovery cannot do): a new subpackage must be listed, or the wheel
    would lack it. Here every folder holding Python code must be."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    mapping = setuptools["package-dir"]
    expected = set()
    for package, folder in mapping.items():
        for init in (ROOT / folder).rglob("*.py"):
            relative = init.parent.relative_to(ROOT / folder)
            if "__pycache__" not in relative.parts:
                expected.add(".".join([package, *relative.parts]))
    assert expected - listed == set(), "add these to [tool.setuptools] packages"
    assert listed - expected == set(), "these listed packages have no folder"


def test_every_file_the_pages_serve_goes_into_the_wheel() -> None:
    """The server's templates and static files (YASGUI's among them) reach the wheel only
    through `package-data` globs, which do not descend into subfolders: a file in a new
    folder would be missing from an installed server, whose pages must work offline."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    globs = setuptools["package-data"]["alliance.server"]
    folder = ROOT / setuptools["package-dir"]["alliance.server"]
    served = [
        path.relative_to(folder).as_posix()
        for sub in ("static", "templates")
        for path in (folder / sub).rglob("*")
        if path.is_file()
    ]
    assert "static/yasgui/yasgui.min.js" in served
    missing = [
        name
        for name in served
        if not any(fnmatch(name, g) and name.count("/") == g.count("/") for g in globs)
    ]
    assert missing == [], "add globs for these to [tool.setuptools.package-data]"
