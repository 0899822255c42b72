"""CI: the README's first command on a fresh install, without the test extra.

The test extra pulls in many libraries, so the test suite cannot see a runtime dependency
that is missing from `pyproject.toml`. This script proves the README's first command the
way a new user runs it, before the test suite:

1. builds the wheel and installs it (`pip install .`) in a new virtual environment, with
   the runtime dependencies only, and imports every `alliance.*` module there;
2. runs `alliance serve` from that environment on an empty store (its default location,
   under a temporary XDG_DATA_HOME): the first start ingests the bundled data, then
   `/health` answers 200, a query answers, and a write with the token (a Graph Store PUT
   and a SPARQL Update) answers 2xx and is kept; SIGTERM stops it within seconds;
3. does the same after `pip install -e .` in a second new environment, over the store the
   first start built (a start on an already ingested store).

The port and the write token come from their environment variables (ALLIANCE_PORT,
ALLIANCE_WRITE_TOKEN), documented equivalents of the flags: the command is the README's.
Exits non-zero, saying which step failed, on the first failure.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "fresh-install-token"
FIRST_START_SECONDS = 300
COMMUNE_COUNT = "SELECT (COUNT(?c) AS ?n) { ?c a <http://rdf.insee.fr/def/geo#Commune> }"
#: Imports every module of the installed package and writes their names to argv[1]; with
#: a second argument, imports the names listed in that file instead (an editable install's
#: finder does not list the subpackages that pyproject.toml maps from other folders).
IMPORT_ALL = """
import importlib, pkgutil, sys, alliance
if len(sys.argv) > 2:
    names = open(sys.argv[2]).read().split()
else:
    names = [m.name for m in pkgutil.walk_packages(alliance.__path__, "alliance.")]
    open(sys.argv[1], "w").write("\\n".join(names))
for name in names:
    importlib.import_module(name)
print(f"{len(names)} modules imported, alliance from {alliance.__path__[0]}")
"""


def step(message: str) -> None:
    print(f"fresh install: {message}", flush=True)


def run(command: list[str], **kwargs: object) -> None:
    subprocess.run(command, check=True, **kwargs)  # type: ignore[call-overload]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def new_venv(folder: Path) -> Path:
    run([sys.executable, "-m", "venv", str(folder)])
    python = folder / "bin" / "python"
    run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    return python


def http(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def ask(base: str, query: str) -> dict:
    status, body = http(
        "GET",
        f"{base}/sparql?" + urllib.parse.urlencode({"query": query}),
        headers={"Accept": "application/sparql-results+json"},
    )
    if status != 200:
        raise SystemExit(f"fresh install: the query answered {status}: {body[:300]!r}")
    return json.loads(body)


def serve_and_check(venv: Path, data_home: Path, work: Path, label: str) -> None:
    """`alliance serve`, as the README says, then a read, two writes and a stop."""
    port = free_port()
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(data_home),
        "ALLIANCE_PORT": str(port),
        "ALLIANCE_WRITE_TOKEN": TOKEN,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("ALLIANCE_STORE", None)
    log_path = work / f"serve-{label}.log"
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            ["alliance", "serve"], env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + FIRST_START_SECONDS
        status = 0
        while time.monotonic() < deadline and server.poll() is None:
            try:
                status, _ = http("GET", f"{base}/health")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(1.0)
        if status != 200:
            raise SystemExit(f"fresh install ({label}): /health never answered 200")
        step(f"{label}: /health answered 200")
        rows = ask(base, COMMUNE_COUNT)["results"]["bindings"]
        communes = int(rows[0]["n"]["value"])
        if communes < 30_000:
            raise SystemExit(f"fresh install ({label}): only {communes} communes")
        step(f"{label}: a query answered ({communes:,} communes)")

        auth = {"Authorization": f"Bearer {TOKEN}"}
        graph = "https://w3id.org/alliance/id/graph/fresh-install"
        started = time.monotonic()
        status, body = http(
            "PUT",
            f"{base}/store?" + urllib.parse.urlencode({"graph": graph}),
            b'<urn:fresh:a> <urn:fresh:p> "put" .\n',
            {**auth, "Content-Type": "application/n-triples"},
        )
        if status not in (201, 204):
            raise SystemExit(f"fresh install ({label}): PUT answered {status}: {body[:300]!r}")
        update = f'INSERT DATA {{ GRAPH <{graph}> {{ <urn:fresh:b> <urn:fresh:p> "update" }} }}'
        status, body = http(
            "POST",
            f"{base}/sparql/update",
            update.encode(),
            {**auth, "Content-Type": "application/sparql-update"},
        )
        if status != 204:
            raise SystemExit(f"fresh install ({label}): update answered {status}: {body[:300]!r}")
        kept = ask(base, f"ASK {{ GRAPH <{graph}> {{ <urn:fresh:b> ?p ?o }} }}")["boolean"]
        if not kept:
            raise SystemExit(f"fresh install ({label}): the update was not kept")
        step(
            f"{label}: a PUT and an update answered and were kept in "
            f"{time.monotonic() - started:.1f} s"
        )
    except BaseException:
        print(log_path.read_text(errors="replace")[-5000:], file=sys.stderr)
        raise
    finally:
        stopped = time.monotonic()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            raise SystemExit(
                f"fresh install ({label}): the server did not stop on SIGTERM"
            ) from None
    step(f"{label}: stopped {time.monotonic() - stopped:.1f} s after SIGTERM")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="alliance-fresh-") as temporary:
        work = Path(temporary)
        data_home = work / "data"
        dist = work / "dist"
        step("building the wheel")
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "-w",
                str(dist),
                str(ROOT),
            ],
            cwd=work,
        )
        wheel = next(dist.glob("alliance-*.whl"))

        step(f"installing {wheel.name} in a new virtual environment, without the test extra")
        python = new_venv(work / "venv-wheel")
        run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], cwd=work)
        modules = work / "modules.txt"
        run([str(python), "-c", IMPORT_ALL, str(modules)], cwd=work)
        serve_and_check(python.parent.parent, data_home, work, "pip install . (empty store)")

        step("pip install -e . in a new virtual environment, without the test extra")
        python = new_venv(work / "venv-editable")
        run([str(python), "-m", "pip", "install", "--quiet", "-e", str(ROOT)], cwd=work)
        run([str(python), "-c", IMPORT_ALL, "-", str(modules)], cwd=work)
        serve_and_check(python.parent.parent, data_home, work, "pip install -e . (ingested store)")
    step("passed")


if __name__ == "__main__":
    main()
