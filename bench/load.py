"""Load test: the production server under concurrent clients, heavy queries included.

Starts `alliance serve` (the production command: gunicorn, query processes) over the
bundled store, warms it up, then drives `--clients` keep-alive HTTP clients in threads for
`--seconds` with a weighted mix: SPARQL lookups, joins, aggregates and DESCRIBE, named
queries of the API, linked-data pages (HTML and Turtle), and heavy queries, some of which
exceed the server's query time limit (`--query-timeout`, passed on to `serve`).

It prints the answers by status and by kind of request, requests/s, p50 and p99 latency,
and the resident memory (RSS) of the server and all its children after the warm-up and at
the end, with their ratio. Timed-out queries (503 with the time-limit message) are counted
as "timeouts", not errors. Exit status 1 if any other 5xx (or a dropped connection) was
seen, or if memory at the end exceeds memory after the warm-up by more than `--max-growth`
(20 %).

Client and server share the machine's cores: the figures are indicative.

Usage: python bench/load.py [--seconds 60] [--clients 8] [--warmup 15] [--store DIR]
                            [--query-timeout 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ID = "https://w3id.org/alliance/id/"
ALLI = "https://w3id.org/alliance/ontology#"
IGEO = "http://rdf.insee.fr/def/geo#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
JSON = "application/sparql-results+json"
TIMEOUT_TEXT = b"gives one query at most"  # server/web/limits.py, timeout_message


@dataclass(frozen=True)
class Request:
    kind: str  # lookup, join, aggregate, describe, api, page, heavy
    name: str
    path: str
    accept: str
    weight: int = 1


def sparql(query: str) -> str:
    return "/sparql?" + urllib.parse.urlencode({"query": query})


MIX = [
    Request(
        "lookup",
        "commune name",
        sparql(f"SELECT ?name {{ <{ID}commune/69123> <{IGEO}nom> ?name }}"),
        JSON,
        6,
    ),
    Request(
        "lookup",
        "labels of an EPCI",
        sparql(f"SELECT ?l {{ <{ID}epci/200046977> <{RDFS}label> ?l }}"),
        JSON,
        4,
    ),
    Request(
        "join",
        "members of an EPCI",
        sparql(
            f"SELECT ?c ?name {{ ?c <{ALLI}memberOf> <{ID}epci/200046977> ; <{IGEO}nom> ?name }}"
        ),
        JSON,
        4,
    ),
    Request(
        "aggregate",
        "largest EPCI",
        sparql(
            f"SELECT ?e (COUNT(?c) AS ?n) {{ ?c <{ALLI}memberOf> ?e }} "
            "GROUP BY ?e ORDER BY DESC(?n) LIMIT 10"
        ),
        JSON,
        2,
    ),
    Request(
        "heavy",
        "communes by département",
        sparql(
            f"SELECT ?d (COUNT(?c) AS ?n) {{ ?c <{IGEO}subdivisionDirecteDe> ?d ; "
            f"<{ALLI}memberOf> ?e }} GROUP BY ?d ORDER BY DESC(?n) LIMIT 10"
        ),
        JSON,
        1,
    ),
    Request("describe", "an EPCI", sparql(f"DESCRIBE <{ID}epci/242900314>"), "text/turtle", 3),
    Request(
        "api", "cq1-pilot-contracts", "/api/queries/cq1-pilot-contracts", "application/json", 2
    ),
    Request(
        "api", "cq3-pact-signatories", "/api/queries/cq3-pact-signatories", "application/json", 2
    ),
    Request(
        "api",
        "cq9-territory-involvement",
        "/api/queries/cq9-territory-involvement?territory="
        + urllib.parse.quote(f"{ID}commune/69123", safe=""),
        "application/json",
        2,
    ),
    Request("page", "commune page", "/id/commune/69123", "text/html", 3),
    Request("page", "EPCI as Turtle", "/id/epci/200046977", "text/turtle", 2),
    Request("page", "agreement page", "/id/agreement/pacte-etat-metropoles", "text/html", 2),
    Request(
        "heavy",
        "regex over every name",
        sparql(
            f'SELECT ?c ?n {{ ?c <{IGEO}nom> ?n FILTER(REGEX(?n, "^Saint.*-sur-", "i")) }} '
            "LIMIT 200"
        ),
        JSON,
        1,
    ),
    Request(
        "heavy",
        "sort every triple",
        sparql("SELECT ?s ?o { ?s ?p ?o } ORDER BY DESC(STR(?o)) LIMIT 5"),
        JSON,
        1,
    ),
    Request(
        "heavy",
        "count distinct objects",
        sparql("SELECT (COUNT(DISTINCT ?o) AS ?n) { ?s ?p ?o }"),
        JSON,
        1,
    ),
    Request(
        "heavy",
        "cross product (over the time limit)",
        sparql("SELECT (COUNT(*) AS ?n) { ?a ?p ?b . ?c ?q ?d }"),
        JSON,
        1,
    ),
]


@dataclass
class Tally:
    statuses: Counter = field(default_factory=Counter)
    by_kind: dict[str, Counter] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    timeouts: int = 0
    unexpected: list[str] = field(default_factory=list)  # 5xx (not timeouts) and failures
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, request: Request, status: int | str, seconds: float, body: bytes) -> None:
        with self.lock:
            self.statuses[status] += 1
            self.by_kind.setdefault(request.kind, Counter())[status] += 1
            self.latencies.append(seconds)
            if status == 503 and TIMEOUT_TEXT in body:
                self.timeouts += 1
            elif isinstance(status, str) or status >= 500:
                self.unexpected.append(f"{status} {request.name}: {body[:200]!r}")


def drive(port: int, clients: int, seconds: float, seed: int) -> tuple[Tally, float]:
    """`clients` threads sending the weighted mix for `seconds`; the tally and the elapsed time."""
    tally = Tally()
    stop = time.monotonic() + seconds
    weighted = [r for r in MIX for _ in range(r.weight)]

    def client(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while time.monotonic() < stop:
            request = rng.choice(weighted)
            start = time.perf_counter()
            try:
                connection.request("GET", request.path, headers={"Accept": request.accept})
                response = connection.getresponse()
                body = response.read()
                status: int | str = response.status
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
            except (OSError, http.client.HTTPException) as exc:
                body, status = repr(exc).encode(), type(exc).__name__
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            tally.add(request, status, time.perf_counter() - start, body)
        connection.close()

    began = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally, time.monotonic() - began


# -- memory ------------------------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (psutil if installed, else /proc)."""
    try:
        import psutil

        parent = psutil.Process(pid)
        return [pid] + [p.pid for p in parent.children(recursive=True)]
    except ImportError:
        pass
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def rss(pid: int) -> tuple[int, int]:
    """Resident memory of `pid` and its descendants, in bytes, and how many processes."""
    total = count = 0
    for process in descendants(pid):
        try:
            for line in Path(f"/proc/{process}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    count += 1
        except OSError:
            continue  # ended meanwhile (a query process replaced after a timeout)
    return total, count


# -- the server --------------------------------------------------------------------------------


def serve_options() -> str:
    return subprocess.run(
        [sys.executable, "-m", "alliance.cli", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def wait_until_up(port: int, process: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", sparql("ASK {}"), headers={"Accept": JSON})
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"the server did not answer within {timeout:.0f} s")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


def report(title: str, tally: Tally, elapsed: float) -> None:
    total = sum(tally.statuses.values())
    print(f"\n{title}: {total} requests in {elapsed:.1f} s, {total / elapsed:.1f} req/s")
    if tally.latencies:
        print(
            f"  latency p50 {1000 * statistics.median(tally.latencies):.0f} ms, "
            f"p99 {1000 * percentile(tally.latencies, 0.99):.0f} ms"
        )
    statuses = ", ".join(f"{s}: {n}" for s, n in sorted(tally.statuses.items(), key=str))
    print(f"  by status: {statuses}")
    for kind, counts in sorted(tally.by_kind.items()):
        print(
            f"    {kind:10} " + ", ".join(f"{s}: {n}" for s, n in sorted(counts.items(), key=str))
        )
    print(f"  timeouts (503, query time limit): {tally.timeouts}")
    print(f"  unexpected 5xx or failures: {len(tally.unexpected)}")
    for line in Counter(tally.unexpected).most_common(5):
        print(f"    {line[1]} x {line[0]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=float, default=15, help="seconds of warm-up load")
    parser.add_argument("--store", help="a store folder to serve (default: build one)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--query-timeout", type=float, default=5)
    parser.add_argument("--max-growth", type=float, default=0.20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.clients < 1 or args.seconds <= 0:
        parser.error("--clients and --seconds must be positive")

    work = Path(tempfile.mkdtemp(prefix="alliance-bench-load-"))
    process: subprocess.Popen | None = None
    try:
        if args.store:
            store = Path(args.store)
        else:
            store = work / "store"
            print(f"building the store in {store}…", flush=True)
            subprocess.run(
                [sys.executable, "-m", "alliance.cli", "ingest", "--store", str(store)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        options = serve_options()
        port = free_port()
        command = [sys.executable, "-m", "alliance.cli", "serve", "--no-ingest"]
        command += ["--store", str(store), "--port", str(port), "--workers", str(args.workers)]
        if "--query-timeout" in options:
            command += ["--query-timeout", f"{args.query_timeout:g}"]
        else:
            print("note: this `alliance serve` has no --query-timeout", flush=True)
        if "--rate-limit" in options:
            command += ["--rate-limit", "0"]  # one client address sends everything here
        if "--access-log" in options:
            command += ["--access-log", str(work / "access.log")]
        log_path = work / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALLIANCE_")}
        with open(log_path, "wb") as log_file:
            process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, env=env)
        wait_until_up(port, process)
        print(f"server pid {process.pid} on port {port}: {' '.join(command[2:])}", flush=True)

        warm, warm_elapsed = drive(port, args.clients, args.warmup, args.seed)
        report("warm-up", warm, warm_elapsed)
        time.sleep(1)
        after_warmup, processes_warm = rss(process.pid)

        tally, elapsed = drive(port, args.clients, args.seconds, args.seed + 1)
        report(f"load ({args.clients} clients)", tally, elapsed)
        time.sleep(1)
        at_end, processes_end = rss(process.pid)
        ratio = at_end / after_warmup if after_warmup else float("inf")
        print(
            f"\nRSS (server and children): after warm-up {mib(after_warmup)} "
            f"({processes_warm} processes), at the end {mib(at_end)} "
            f"({processes_end} processes), ratio {ratio:.2f}"
        )
        if process.poll() is not None:
            print(f"FAIL: the server exited ({process.returncode})")
            return 1
        failed = False
        if tally.unexpected or warm.unexpected:
            print(f"FAIL: {len(tally.unexpected) + len(warm.unexpected)} unexpected 5xx/failures")
            failed = True
        if ratio > 1 + args.max_growth:
            print(f"FAIL: memory grew by {100 * (ratio - 1):.0f} % (limit {args.max_growth:.0%})")
            failed = True
        if not failed:
            print("OK: no unexpected 5xx, memory within the limit")
        return 1 if failed else 0
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
