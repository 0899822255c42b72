"""HTTP to the remote store: one `requests` session per thread, credentials as the server asks.

Every request of the remote store goes through `Transport`: queries, updates and the Graph
Store Protocol alike.

- **Connections.** Each thread keeps its own session, whose connections stay open between
  requests: a stream of light queries pays no handshake per query. A connection idle for
  more than `MAX_IDLE_SECONDS` is replaced rather than reused: servers close idle
  connections after a few seconds (Apache 5, gunicorn 2) to a minute (nginx), and Oxigraph
  server 0.5 writes an unasked `500 Resource temporarily unavailable` on one idle for 60 s.
  One the server closed meanwhile, or wrote something on unasked, is seen by urllib3 before
  reuse and replaced; the request is sent once.
- **Credentials.** The first request to a URL goes without; a 401 answer names the scheme in
  WWW-Authenticate (basic or digest), used for that URL from then on.
- **Queries** go by GET while the URL stays short (servers answer it with less work:
  Virtuoso spends 0.4 ms of its CPU per query of the benchmark mix), by POST otherwise,
  asking for the answer's media type by Accept only (Oxigraph refuses the format/output
  parameters). A client time limit that passes closes the connection and raises
  QueryTimeout, so that the serving thread is free again.
"""

from __future__ import annotations

import threading
import time
import urllib.parse

import requests
from requests.auth import AuthBase, HTTPBasicAuth, HTTPDigestAuth

from alliance.store.errors import QueryTimeout, StoreError
from alliance.store.remote.engines import MAX_GET_QUERY, is_evaluation_error

#: A connection idle for longer is replaced rather than reused (see the module docstring).
MAX_IDLE_SECONDS = 5.0


class Transport:
    """HTTP to one server's endpoints, with `user`'s credentials when it asks for them."""

    def __init__(self, user: str | None, password: str, timeout: float):
        self.user = user
        self.password = password
        self.timeout = timeout
        self._local = threading.local()
        self._auth: dict[str, AuthBase | None] = {}
        self._proxies: dict[str, dict[str, str]] = {}

    def _proxies_for(self, url: str) -> dict[str, str]:
        """The proxies the environment sets for `url` (HTTP(S)_PROXY, minus NO_PROXY)."""
        if url not in self._proxies:
            self._proxies[url] = requests.utils.get_environ_proxies(url)
        return self._proxies[url]

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
            # The environment's proxies are read once per URL (`_proxies_for`), not by
            # requests at every request.
            session.trust_env = False
        elif time.monotonic() - self._local.used > MAX_IDLE_SECONDS:
            session.close()  # its pooled connections; the session opens new ones
        return session

    def request(self, method: str, url: str, **kwargs: object) -> requests.Response:
        """One HTTP exchange, authenticated the way the server asks (basic or digest).

        StoreError when no answer comes (its cause the `requests` exception) or when the
        server refuses the credentials.
        """
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("proxies", self._proxies_for(url))
        session = self._session()
        try:
            auth = self._auth.get(url)
            response = session.request(method, url, auth=auth, **kwargs)  # type: ignore[arg-type]
            if response.status_code == 401 and self.user is not None and auth is None:
                auth = self._auth_for(response.headers.get("WWW-Authenticate", ""))
                self._auth[url] = auth
                response = session.request(method, url, auth=auth, **kwargs)  # type: ignore[arg-type]
        except requests.RequestException as exc:
            session.close()  # a half-read answer must not be read as the next one
            raise StoreError(f"{url}: {exc}") from exc
        finally:
            self._local.used = time.monotonic()
        if response.status_code == 401:
            raise StoreError(
                f"{url}: the server refused the credentials"
                if self.user is not None
                else f"{url}: the server asks for credentials (--store-user, --store-password)"
            )
        return response

    def _auth_for(self, challenge: str) -> AuthBase:
        if challenge.strip().lower().startswith("digest"):
            return HTTPDigestAuth(self.user or "", self.password)
        return HTTPBasicAuth(self.user or "", self.password)

    def query(
        self,
        url: str,
        sparql: str,
        params: list[tuple[str, str]],
        accept: str,
        timeout: float | None = None,
    ) -> tuple[bytes, str]:
        """Send a SPARQL query (SPARQL Protocol); the answer's body and media type.

        A malformed query (400) raises StoreError from SyntaxError, one the server could
        not evaluate StoreError from RuntimeError, both with the server's own message;
        past `timeout` seconds, QueryTimeout.
        """
        form = [("query", sparql), *params]
        short = len(urllib.parse.urlencode(form)) <= MAX_GET_QUERY
        arguments: dict[str, object] = {
            "headers": {"Accept": accept},
            "timeout": timeout or self.timeout,
        }
        if short:
            arguments["params"] = form
        else:
            arguments["data"] = form
        try:
            response = self.request("GET" if short else "POST", url, **arguments)
        except StoreError as exc:
            if timeout is not None and isinstance(exc.__cause__, requests.Timeout):
                raise QueryTimeout(timeout) from exc
            raise
        if response.status_code >= 400:
            message = response.text.strip()[:2000]
            if response.status_code == 400:
                raise StoreError(message) from SyntaxError(message)
            if is_evaluation_error(message):
                raise StoreError(message) from RuntimeError(message)
            raise StoreError(f"{url}: {response.status_code} {message}")
        media_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
        return response.content, media_type
