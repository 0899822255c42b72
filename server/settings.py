"""What a running server is configured with (flags and ALLIANCE_* variables of `alliance serve`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from alliance.namespaces import ID
from alliance.store import StoreAccess

DEFAULT_BASE = ID  # https://w3id.org/alliance/id/


@dataclass(frozen=True)
class Settings:
    #: folder of the embedded store, or the query endpoint of a remote one
    store: str | None = None
    #: a remote store's update and Graph Store Protocol endpoints, and its credentials
    store_update: str | None = None
    store_gsp: str | None = None
    store_user: str | None = None
    store_password: str | None = field(default=None, repr=False)
    #: public base of minted IRIs; pages answer under /id/ whatever the base
    base: str = DEFAULT_BASE
    #: token for /sparql/update and /store; None disables both
    write_token: str | None = None
    #: web origins whose pages may call /sparql/update and /store (CORS); "*": any
    cors_origins: tuple[str, ...] = ()
    #: seconds a query may run; enforced only with query_processes (see store/isolated.py)
    query_timeout: float = 30.0
    #: largest request body accepted, in bytes
    max_body: int = 10 * 1024 * 1024
    #: most rows (or triples) a /sparql answer may hold; over it: 422 (see web/limits.py)
    max_rows: int = 100_000
    #: most bytes a /sparql answer may hold; over it: 422
    max_result_bytes: int = 100 * 1000 * 1000
    #: memory cap of each query process and each parsing process, in bytes (0: none);
    #: past it that process ends, not the server (see alliance/children.py)
    query_memory: int = 2 * 1024**3
    #: threads that serve costly requests in each server process (`--threads`)
    threads: int = 4
    #: query processes per server process; 0 runs queries in the serving process itself,
    #: without the time limit (the Flask test client, `flask run`)
    query_processes: int = 0
    #: SERVICE endpoints queries may call (see web/outbound.py); empty: SERVICE is refused
    service_allow: tuple[str, ...] = ()
    #: sources LOAD may fetch in /sparql/update; empty: LOAD is refused
    load_allow: tuple[str, ...] = ()
    #: costly requests per minute per client (see web/rate_limit.py); 0: no limit. `alliance
    #: serve` sets 600 by default; an app built in-process has no limit unless given one.
    rate_limit: int = 0
    #: file shared by the workers for the rate limit; None: counted in this process only
    rate_limit_file: str | None = None
    #: proxies in front whose X-Forwarded-For / -Proto are believed (0: none)
    trust_proxy: int = 0

    def store_access(self) -> StoreAccess:
        """The remote store's endpoints and credentials, as `open_store` keywords."""
        return StoreAccess(
            update=self.store_update,
            gsp=self.store_gsp,
            user=self.store_user,
            password=self.store_password,
        )
