"""Real SPARQL engines for the backend tests: Oxigraph server and Virtuoso 7, on free ports.

Each engine runs in its own temporary folder, listens on 127.0.0.1 only, and is stopped
by its process id. A helper module (not a conftest) so that it can be used by hand too:
`python tests/backends/engines.py virtuoso` starts one and prints its endpoints.
"""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

START_SECONDS = 90.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Engine:
    """A running engine and the endpoints `alliance --store …` needs to reach it."""

    name: str
    query: str
    update: str | None
    gsp: str | None
    process: subprocess.Popen
    folder: Path
    user: str | None = None
    password: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def options(self) -> list[str]:
        """The command-line options naming this engine as the store."""
        args = ["--store", self.query]
        if self.update:
            args += ["--store-update", self.update]
        if self.gsp:
            args += ["--store-gsp", self.gsp]
        if self.user:
            args += ["--store-user", self.user, "--store-password", self.password or ""]
        return args

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _wait(engine: Engine, probe: str, log_path: Path) -> Engine:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if engine.process.poll() is not None:
            text = log_path.read_text(errors="replace") if log_path.exists() else ""
            raise RuntimeError(f"{engine.name} exited ({engine.process.returncode}):\n{text}")
        try:
            with urllib.request.urlopen(probe, timeout=5) as response:
                if response.status == 200:
                    log.info("%s up at %s (pid %d)", engine.name, engine.query, engine.process.pid)
                    return engine
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            time.sleep(0.3)
    engine.stop()
    text = log_path.read_text(errors="replace") if log_path.exists() else ""
    raise RuntimeError(f"{engine.name} did not answer within {START_SECONDS} s:\n{text}")


def oxigraph_binary() -> str | None:
    return shutil.which("oxigraph")


def start_oxigraph(folder: Path, port: int | None = None) -> Engine:
    """`oxigraph serve` over `folder` (no auth: it has none), on `port` or a free one."""
    binary = oxigraph_binary()
    if binary is None:
        raise RuntimeError("the oxigraph binary is not installed (pip install oxigraph)")
    port = port or free_port()
    data = folder / "data"
    log_path = folder / "oxigraph.log"
    with open(log_path, "wb") as out:
        process = subprocess.Popen(
            [binary, "serve", "--location", str(data), "--bind", f"127.0.0.1:{port}"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{port}"
    engine = Engine("oxigraph", f"{base}/query", f"{base}/update", f"{base}/store", process, folder)
    probe = f"{base}/query?query=ASK%7B%7D"
    return _wait(engine, probe, log_path)


def restart_oxigraph(engine: Engine) -> None:
    """Start a stopped Oxigraph `engine` again over its folder, at the same endpoints."""
    port = int(engine.query.rsplit(":", 1)[1].split("/", 1)[0])
    engine.process = start_oxigraph(engine.folder, port).process


VIRTUOSO_BINARY = "/usr/bin/virtuoso-t"

VIRTUOSO_INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DirsAllowed = ., {dir}
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {dir}
[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = 120
MaxConstructTriples = 1000000
"""


def virtuoso_binary() -> str | None:
    return shutil.which("virtuoso-t") or (
        VIRTUOSO_BINARY if Path(VIRTUOSO_BINARY).exists() else None
    )


def start_virtuoso(folder: Path) -> Engine:
    """Virtuoso 7 from an ini of its own; writes need digest auth as dba/dba."""
    binary = virtuoso_binary()
    if binary is None:
        raise RuntimeError("virtuoso-t is not installed (Debian virtuoso-opensource-7-bin)")
    sql_port, http_port = free_port(), free_port()
    ini = folder / "virtuoso.ini"
    ini.write_text(VIRTUOSO_INI.format(dir=folder, sql_port=sql_port, http_port=http_port))
    log_path = folder / "virtuoso.log"
    with open(folder / "virtuoso.out", "wb") as out:
        process = subprocess.Popen(
            [binary, "+foreground", "+configfile", str(ini)],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    base = f"http://127.0.0.1:{http_port}"
    engine = Engine(
        "virtuoso",
        f"{base}/sparql",
        f"{base}/sparql-auth",
        f"{base}/sparql-graph-crud-auth",
        process,
        folder,
        user="dba",
        password="dba",
        extra={"sql_port": str(sql_port)},
    )
    probe = f"{base}/sparql?query=ASK%7B%7D"
    return _wait(engine, probe, log_path)


if __name__ == "__main__":  # pragma: no cover - by hand
    import sys
    import tempfile

    logging.basicConfig(level=logging.INFO)
    which = sys.argv[1] if len(sys.argv) > 1 else "oxigraph"
    where = Path(tempfile.mkdtemp(prefix=f"alliance-{which}-"))
    started = start_virtuoso(where) if which == "virtuoso" else start_oxigraph(where)
    print(" ".join(started.options()), "pid", started.process.pid, flush=True)
    try:
        started.process.wait()
    except KeyboardInterrupt:
        started.stop()
