"""CI: type-check the package with mypy against a baseline that may only shrink.

The code predates its type checking: `.ci/mypy-baseline.txt` lists the errors mypy found when
the check was introduced, one line each (file, message and code, without line numbers, which
move with every edit). This script fails on any error not in the baseline, and on any
baseline error mypy no longer reports, so that a fixed error leaves the baseline for good.
Errors are compared by message and code, not by file: code that moves takes its errors
along (`--update` then records their new files).

The top folders are installed as subpackages of `alliance` (pyproject.toml's package-dir),
which mypy cannot map from a source tree; the check runs over a temporary tree of symbolic
links laid out as the installed package.

    python .ci/typecheck.py            check (exit 1 on a difference, listed)
    python .ci/typecheck.py --update   rewrite the baseline, when no error is new
"""

from __future__ import annotations

import collections
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / ".ci" / "mypy-baseline.txt"
ERROR = re.compile(r"^(?P<path>[^:]+):\d+(?::\d+)?: error: (?P<message>.*)$")


def package_tree(target: Path) -> dict[str, str]:
    """Links under `target` laid out as the installed `alliance` package; how to map the
    package's paths back to the repository's."""
    mapping = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-dir"
    ]
    package = target / "alliance"
    package.mkdir()
    for entry in (ROOT / "alliance").iterdir():
        if entry.name != "__pycache__":
            (package / entry.name).symlink_to(entry)
    back = {"alliance/": "alliance/"}
    for name, folder in mapping.items():
        parts = name.split(".")
        if len(parts) == 2:  # a top folder mapped into the package (nested ones follow it)
            (package / parts[1]).symlink_to(ROOT / folder)
            back[f"alliance/{parts[1]}/"] = f"{folder}/"
    return back


def errors() -> collections.Counter[str]:
    with tempfile.TemporaryDirectory(prefix="alliance-mypy-") as folder:
        back = package_tree(Path(folder))
        result = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")]
            + ["-p", "alliance"],
            cwd=folder,
            capture_output=True,
            text=True,
        )
    if result.returncode not in (0, 1):
        sys.exit(f"mypy failed to run:\n{result.stdout}{result.stderr}")
    found: collections.Counter[str] = collections.Counter()
    for line in result.stdout.splitlines():
        match = ERROR.match(line)
        if match is None:
            continue
        path = match["path"]
        for prefix, folder in sorted(back.items(), key=lambda kv: -len(kv[0])):
            if path.startswith(prefix):
                path = folder + path[len(prefix) :]
                break
        found[f"{path}: {match['message']}"] += 1
    return found


def _messages(lines: collections.Counter[str]) -> collections.Counter[str]:
    """The errors without their file: code that moves takes its errors along."""
    found: collections.Counter[str] = collections.Counter()
    for line, n in lines.items():
        found[line.split(": ", 1)[1]] += n
    return found


def main() -> None:
    found = errors()
    existed = BASELINE.exists()
    known = collections.Counter(BASELINE.read_text().splitlines() if existed else [])
    new = _messages(found) - _messages(known)
    fixed = _messages(known) - _messages(found)
    if "--update" in sys.argv[1:]:
        if new and existed:
            for line in sorted(new):
                print(f"new type error: {line}")
            sys.exit("the baseline may only shrink: fix the new errors first")
        lines = sorted(line for line, n in found.items() for _ in range(n))
        BASELINE.write_text("".join(f"{line}\n" for line in lines))
        print(f"{BASELINE.relative_to(ROOT)}: {len(lines)} errors")
        return
    for line in sorted(new):
        print(f"new type error: {line}")
    for line in sorted(fixed):
        print(f"fixed, remove from {BASELINE.name}: {line}")
    if new or fixed:
        print(
            f"{sum(new.values())} new, {sum(fixed.values())} fixed; the baseline may only "
            "shrink (python .ci/typecheck.py --update after fixing errors)"
        )
        sys.exit(1)
    moved = found != known
    note = " (some moved to other files: --update records where)" if moved else ""
    print(f"typecheck: {sum(found.values())} known errors, none new{note}")


if __name__ == "__main__":
    main()
