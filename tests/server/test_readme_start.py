"""`alliance serve` started exactly as the README says, then written to with a token.

No `--no-ingest`, no `--store`: the store is the default one (under XDG_DATA_HOME) and the
port and token come from their environment variables. The first start builds the store
from the bundled data; the second finds it built. Both must take writes through the
Graph Store Protocol and SPARQL Update, answer concurrent writers (2xx, or 503 with
Retry-After, never an empty reply), keep every write they acknowledged, and stop on
SIGTERM. (Before, a store opened by gunicorn's main process made every write hang until
the worker was killed.)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

live = sys.modules["alliance_tests_live"]  # loaded by tests/conftest.py
http, free_port = live.http, live.free_port

pytestmark = pytest.mark.slow

TOKEN = "readme-token"
ID = "https://w3id.org/alliance/id/"
GRAPH = f"{ID}graph/readme-writes"
FIRST_START_SECONDS = 240.0


class ReadmeServer:
    """`alliance serve` as the README runs it, on a free port, its data under `home`."""

    def __init__(self, home: Path, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_")}
        env.update(
            XDG_DATA_HOME=str(home),
            ALLIANCE_PORT=str(self.port),
            ALLIANCE_WRITE_TOKEN=TOKEN,
        )
        command = shutil.which("alliance") or sys.exit("the alliance command is not installed")
        self.log_path = log_path
        with open(log_path, "wb") as log_file:
            self.process = subprocess.Popen(
                [command, "serve"], env=env, stdout=log_file, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + FIRST_START_SECONDS
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                if http("GET", f"{self.url}/health", timeout=5).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.5)
        self.process.kill()
        raise AssertionError(f"no answer from /health:\n{self.log_path.read_text()}")

    def update(self, text: str):  # noqa: ANN201
        return http(
            "POST",
            f"{self.url}/sparql/update",
            data=text,
            headers={"Content-Type": "application/sparql-update", **self.auth},
        )

    def ask(self, text: str) -> bool:
        reply = http(
            "GET",
            f"{self.url}/sparql",
            params={"query": text},
            headers={"Accept": "application/sparql-results+json"},
        )
        assert reply.status == 200, reply.text
        return '"boolean":true' in reply.text.replace(" ", "")

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}

    def stop(self) -> int:
        """SIGTERM, as systemd or Ctrl-C would; the exit status (it must come)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError("the server did not stop on SIGTERM") from None


def writes_are_taken(server: ReadmeServer, label: str) -> None:
    put = http(
        "PUT",
        f"{server.url}/store?" + urllib.parse.urlencode({"graph": GRAPH}),
        data=f'<{ID}readme/{label}> <{ID}readme/p> "put" .\n',
        headers={"Content-Type": "application/n-triples", **server.auth},
    )
    assert put.status in (201, 204), put.text
    update = server.update(
        f'INSERT DATA {{ GRAPH <{GRAPH}> {{ <{ID}readme/{label}> <{ID}readme/q> "update" }} }}'
    )
    assert update.status == 204, update.text
    assert server.ask(f'ASK {{ <{ID}readme/{label}> <{ID}readme/p> "put" }}')
    assert server.ask(f'ASK {{ GRAPH <{GRAPH}> {{ <{ID}readme/{label}> ?p "update" }} }}')


def concurrent_writers_are_all_answered(server: ReadmeServer, writers: int = 5) -> None:
    replies: dict[int, object] = {}

    def write(k: int) -> None:
        text = f'INSERT DATA {{ GRAPH <{GRAPH}> {{ <{ID}readme/w{k}> <{ID}readme/p> "w" }} }}'
        replies[k] = server.update(text)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(replies) == writers  # every writer got an answer: none raised on an empty reply
    for k, reply in replies.items():
        assert reply.status in (204, 503), (k, reply.status, reply.text)
        if reply.status == 503:
            assert int(reply.headers["retry-after"]) >= 1
        else:  # what the server said it stored is there
            assert server.ask(f"ASK {{ GRAPH <{GRAPH}> {{ <{ID}readme/w{k}> ?p ?o }} }}")
    assert any(reply.status == 204 for reply in replies.values())


def test_first_start_ingests_and_a_second_finds_the_store_both_take_writes(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    first = ReadmeServer(home, tmp_path / "first.log")
    try:
        assert (home / "alliance" / "store" / "CURRENT").is_file()
        assert "ingesting the bundled sources" in first.log_path.read_text()
        writes_are_taken(first, "first")
        concurrent_writers_are_all_answered(first)
    finally:
        assert first.stop() == 0, first.log_path.read_text()
    assert "WORKER TIMEOUT" not in first.log_path.read_text()

    second = ReadmeServer(home, tmp_path / "second.log")
    try:
        assert "ingesting" not in second.log_path.read_text()
        assert second.ask(f'ASK {{ <{ID}readme/first> <{ID}readme/p> "put" }}')  # kept
        writes_are_taken(second, "second")
        concurrent_writers_are_all_answered(second)
    finally:
        assert second.stop() == 0, second.log_path.read_text()
    assert "WORKER TIMEOUT" not in second.log_path.read_text()
