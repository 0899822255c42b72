"""Real servers for tests: `alliance serve` in a subprocess, on a free loopback port.

Tests go through the whole HTTP stack (gunicorn's threaded workers, the app, the
store) the way clients will; each server is stopped by its process id.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

START_SECONDS = 60.0


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log_path: Path
    token: str | None = None

    @property
    def sparql(self) -> str:
        return f"{self.url}/sparql"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # SIGTERM to the gunicorn arbiter: graceful stop
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    store_dir: Path,
    log_path: Path,
    *,
    token: str | None = None,
    workers: int = 2,
    args: tuple[str, ...] = (),
    cache_dir: Path | None = None,
) -> LiveServer:
    """Start `alliance serve --no-ingest` over `store_dir` and wait until it answers.

    `cache_dir` becomes the server's ALLIANCE_CACHE_DIR, so that it reuses dumps built there.
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "alliance.cli",
        "serve",
        "--store",
        str(store_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-ingest",
    ]
    if token is not None:
        command += ["--write-token", token]
    # Every test talks from 127.0.0.1: no rate limit unless a test asks for one in `args`.
    command += ["--rate-limit", "0", *args]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_")}
    if cache_dir is not None:
        env["ALLIANCE_CACHE_DIR"] = str(cache_dir)
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log_path, token)
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited ({process.returncode}):\n{server.log_text()}")
        try:
            request = urllib.request.Request(server.sparql, headers={"Accept": "text/turtle"})
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    log.info("server up at %s (pid %d)", server.url, process.pid)
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the server did not answer within {START_SECONDS} s:\n{server.log_text()}")


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def media_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip()

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def http(
    method: str,
    url: str,
    *,
    params: list[tuple[str, str]] | dict[str, str] | None = None,
    data: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 60.0,
) -> Reply:
    """One HTTP exchange, sending exactly the given headers; error statuses are returned."""
    import http.client
    from urllib.parse import urlencode, urlsplit

    if params:
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
    parts = urlsplit(url)
    body = data.encode("utf-8") if isinstance(data, str) else data
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Reply(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()
