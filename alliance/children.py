"""Long-lived child processes that do one risky job at a time, under a deadline and a memory cap.

Some work must not run in a serving process: pyoxigraph cannot cancel a query, its parsers
recurse on nesting until the native stack overflows (SIGSEGV), and a hostile document can
make them allocate without end. A crash there would take a gunicorn worker with every
request it serves. So that work goes to a small pool of child processes (`ChildPool`):

- each child is started with `subprocess` (`python -P -m MODULE ARGS… REQ_FD ANS_FD`),
  never forked: RocksDB handles and threads do not survive a fork;
- each limits its own data segment (RLIMIT_DATA) when the pool gives it a memory cap, so a
  runaway allocation ends that child (Rust aborts, SIGABRT), not the machine;
- the parent sends one pickled request and waits for one answer until a deadline; past it,
  it SIGKILLs the child. A child that died, was killed or passed its deadline is replaced
  in the background, and the caller is told which of these happened (`ChildTimeout`,
  `ChildDied` with a readable cause);
- a child dies with its parent (PR_SET_PDEATHSIG where available, else at the EOF of its
  request pipe).

Protocol, over two pipes with `multiprocessing.connection` framing: one pickled request
from the parent; one message back, a pickled header preceded by its size, then the
answer's bytes (so that large answers are not pickled). The child's side is `serve`, given
the function that answers a request.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import pickle
import queue
import resource
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection

log = logging.getLogger(__name__)

#: The answer message starts with the size of its pickled header.
HEADER_SIZE = struct.Struct("!I")
#: Seconds a killed or closed child gets to be reaped before we stop waiting for it.
REAP_SECONDS = 5.0
#: The environment variable that gives a child its memory cap, in bytes.
MEMORY_VARIABLE = "ALLIANCE_CHILD_MEMORY"

#: A child's answer: a picklable header and the answer's bytes (None: none).
Answer = tuple[tuple, bytes | None]


class ChildTimeout(Exception):
    """The child passed its deadline (and was killed), or none was free in time."""

    def __init__(self, seconds: float, reason: str | None = None):
        super().__init__(reason or f"stopped after its time limit of {seconds:g} s")
        self.seconds = seconds
        #: why, when it is not the time limit itself (no child was free)
        self.reason = reason


class ChildDied(Exception):
    """The child ended while it worked on the request; `cause` says how, for people."""

    def __init__(self, cause: str, *, memory: bool = False, crashed: bool = False):
        super().__init__(cause)
        self.cause = cause
        #: it most likely passed its memory cap
        self.memory = memory
        #: it crashed (a signal such as SIGSEGV), as parsers do on text nested too deeply
        self.crashed = crashed


def death_cause(returncode: int | None, memory: int | None) -> ChildDied:
    """How a child ended, from its exit status, told for the person reading the error."""
    if returncode is None:
        return ChildDied("it closed its pipe while still running")
    if returncode >= 0:
        return ChildDied(f"it exited with status {returncode}")
    number = -returncode
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    if number == signal.SIGABRT:
        cap = f" of {memory // 2**20:,} MiB" if memory else ""
        return ChildDied(
            f"it was stopped ({name}), most likely by its memory limit{cap}", memory=True
        )
    if number == signal.SIGKILL:
        return ChildDied(
            f"it was killed ({name}), possibly by the system's out-of-memory killer",
            memory=True,
        )
    return ChildDied(f"it crashed ({name})", crashed=True)


@dataclass
class _Child:
    """One child process and the two ends of its pipes held by the parent."""

    process: subprocess.Popen
    requests: Connection
    answers: Connection

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        for end in (self.requests, self.answers):
            with contextlib.suppress(OSError):
                end.close()
        # Reap in the background: the caller is answering a client meanwhile.
        threading.Thread(target=self._reap, daemon=True).start()

    def _reap(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            self.process.wait(timeout=REAP_SECONDS)


class ChildPool:
    """`processes` children running `python -P -m module *args`, asked one request at a time.

    `timeout`: the default deadline of a request in seconds (None: none); `memory`: each
    child's cap on its data segment in bytes (None: none); `name`: what a child is called
    in logs and errors ("query process").
    """

    def __init__(
        self,
        module: str,
        args: list[str],
        *,
        processes: int,
        timeout: float | None = None,
        memory: int | None = None,
        name: str = "child process",
    ):
        self.module = module
        self.args = list(args)
        self.processes = max(1, processes)
        self.timeout = timeout if timeout and timeout > 0 else None
        self.memory = memory or None
        self.name = name
        self._idle: queue.LifoQueue[_Child] = queue.LifoQueue()
        self._lock = threading.Lock()
        self._closed = False
        #: Children started since the pool opened (replacements included), for tests and logs.
        self.started_children = 0
        # Children are started by one long-lived thread: Linux ties PR_SET_PDEATHSIG to the
        # thread that started a process, so a short-lived starter would kill its child.
        self._to_start: queue.SimpleQueue[bool] = queue.SimpleQueue()
        self._starter_thread = threading.Thread(
            target=self._starter, name=f"{name}-starter", daemon=True
        )
        self._starter_thread.start()
        for _ in range(self.processes):
            self._to_start.put(True)

    # -- the pool --------------------------------------------------------------

    def _start_child(self) -> _Child:
        parent_requests, child_requests = os.pipe()
        child_answers, parent_answers = os.pipe()
        command = [sys.executable, "-P", "-m", self.module, *self.args]
        command += [str(parent_requests), str(parent_answers)]
        env = dict(os.environ)
        if self.memory:
            env[MEMORY_VARIABLE] = str(self.memory)
        try:
            process = subprocess.Popen(
                command,
                pass_fds=(parent_requests, parent_answers),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                close_fds=True,
                env=env,
            )
        finally:
            os.close(parent_requests)
            os.close(parent_answers)
        with self._lock:
            self.started_children += 1
        log.debug("%s %d started", self.name, process.pid)
        return _Child(
            process,
            Connection(child_requests, readable=False),
            Connection(child_answers, writable=False),
        )

    def _starter(self) -> None:
        """Start a child for each request, retried until it works: a pool that shrank for
        good would starve the server."""
        while self._to_start.get() and not self._closed:
            while not self._closed:
                try:
                    self._idle.put(self._start_child())
                    break
                except OSError:
                    log.exception("cannot start a %s; trying again in 1 s", self.name)
                    time.sleep(1.0)

    def _replace(self, child: _Child, reason: str) -> None:
        """Kill `child` and have a fresh one put in the pool (started in the background)."""
        log.warning("%s %d %s: replacing it", self.name, child.process.pid, reason)
        child.kill()
        self._to_start.put(True)

    def children(self) -> list[int]:
        """Process ids of the idle children (a snapshot, for tests and diagnostics)."""
        with self._idle.mutex:
            return [c.process.pid for c in self._idle.queue]

    def ask(self, request: dict[str, object], timeout: float | None = None) -> Answer:
        """Send `request` to an idle child and wait for its answer until the deadline.

        `timeout`: seconds (None: the pool's default, 0 or less: none). Raises ChildTimeout
        or ChildDied; the child is then replaced.
        """
        if self._closed:
            raise ChildDied("the pool is closed")
        limit = self.timeout if timeout is None else (timeout if timeout > 0 else None)
        deadline = math.inf if limit is None else time.monotonic() + limit
        payload = pickle.dumps(request, pickle.HIGHEST_PROTOCOL)
        for _attempt in range(self.processes + 1):
            child = self._checkout(limit, deadline)
            try:
                if child.process.poll() is not None:
                    raise BrokenPipeError(f"exit status {child.process.returncode}")
                child.requests.send_bytes(payload)
                break
            except OSError as exc:
                # Died while idle (killed from outside): no request was lost, try another.
                self._replace(child, f"was found dead ({exc})")
        else:
            raise ChildDied(f"no {self.name} could be started")
        try:
            remaining = max(0.0, deadline - time.monotonic())
            if not child.answers.poll(None if limit is None else remaining):
                self._replace(child, f"passed the {limit:g} s limit")
                raise ChildTimeout(limit or 0.0)
            message = child.answers.recv_bytes()
        except ChildTimeout:
            raise
        except (EOFError, OSError) as exc:
            try:  # its pipe closed: give it a moment to be reaped, to tell how it ended
                code = child.process.wait(timeout=REAP_SECONDS)
            except subprocess.TimeoutExpired:
                code = None
            died = death_cause(code, self.memory)
            self._replace(child, f"failed ({exc}; {died.cause})")
            raise died from exc
        except BaseException:
            # Interrupted mid-answer: what is left in its pipe is unknown.
            self._replace(child, "was interrupted")
            raise
        self._idle.put(child)
        (size,) = HEADER_SIZE.unpack_from(message)
        header = pickle.loads(message[HEADER_SIZE.size : HEADER_SIZE.size + size])
        return header, message[HEADER_SIZE.size + size :]

    def _checkout(self, limit: float | None, deadline: float) -> _Child:
        """An idle child, waited for until the deadline."""
        try:
            if limit is None:
                return self._idle.get()
            return self._idle.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise ChildTimeout(
                limit or 0.0, f"every {self.name} stayed busy for {limit:g} s"
            ) from None

    def close(self) -> None:
        self._closed = True
        self._to_start.put(False)
        if threading.current_thread() is not self._starter_thread:
            self._starter_thread.join(timeout=REAP_SECONDS)
        while True:
            try:
                child = self._idle.get_nowait()
            except queue.Empty:
                break
            child.kill()


# -- the child's side --------------------------------------------------------------


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (a no-op elsewhere)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def limit_memory(limit: int | None) -> None:
    """Cap this process's data segment (heap and private mappings) at `limit` bytes."""
    if not limit:
        return
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def serve(argv: list[str], answer: Callable[[dict], Answer], *, name: str) -> int:
    """The child's loop: answer each request from the parent until its pipe closes.

    `argv` ends with the two descriptors the pool passed; `answer` turns a request into
    a header and bytes, and must report its errors in the header, not raise them.
    """
    requests_fd, answers_fd = int(argv[-2]), int(argv[-1])
    _die_with_parent()
    # Interrupts are for the parent (Ctrl-C in a terminal reaches the whole group).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format=f"{name} %(process)d: %(message)s")
    limit_memory(int(os.environ.get(MEMORY_VARIABLE) or 0) or None)
    requests = Connection(requests_fd, writable=False)
    answers = Connection(answers_fd, readable=False)
    while True:
        try:
            request = pickle.loads(requests.recv_bytes())
        except (EOFError, OSError):
            return 0
        header, data = answer(request)
        # One message (header size, header, bytes): one wake-up of the parent per request.
        encoded = pickle.dumps(header, pickle.HIGHEST_PROTOCOL)
        answers.send_bytes(HEADER_SIZE.pack(len(encoded)) + encoded + (data or b""))
