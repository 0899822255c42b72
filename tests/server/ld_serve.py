"""Start the production server (`alliance serve`, gunicorn) for the linked-data tests.

Kept apart from the SPARQL tests' launcher so that each suite controls its own server: this
one passes ALLIANCE_CACHE_DIR, so the server reuses the dumps the in-process tests built.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

START_SECONDS = 60.0


@dataclass
class Served:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Terminate the gunicorn arbiter by its pid (it stops its own workers)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def command() -> list[str]:
    script = shutil.which("alliance")
    return [script] if script else [sys.executable, "-m", "alliance.cli"]


def start(store_dir: Path, log_path: Path, *, cache_dir: Path) -> Served:
    """`alliance serve --no-ingest` over `store_dir` on a free port, once it answers."""
    port = free_port()
    argv = [
        *command(),
        "serve",
        "--no-ingest",
        "--store",
        str(store_dir),
        "--port",
        str(port),
        "--host",
        "127.0.0.1",
        "--workers",
        "1",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_")}
    env["ALLIANCE_CACHE_DIR"] = str(cache_dir)
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            argv, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
    served = Served(f"http://127.0.0.1:{port}", process, log_path)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{served.log_text()}")
        try:
            with urllib.request.urlopen(f"{served.url}/vocab", timeout=5) as response:
                if response.status == 200:
                    return served
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    served.stop()
    raise RuntimeError(f"the server did not answer within {START_SECONDS} s:\n{served.log_text()}")


def fetch(url: str, accept: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET over real HTTP: (status, headers with lower-case names, body); errors too."""
    headers = {"Accept": accept} if accept else {}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()
