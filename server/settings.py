"""What a running server is configured with (flags and ALLIANCE_* variables of `alliance serve`)."""

from __future__ import annotations

from dataclasses import dataclass

from alliance.namespaces import ID

DEFAULT_BASE = ID  # https://w3id.org/alliance/id/


@dataclass(frozen=True)
class Settings:
    #: folder of the embedded store
    store: str | None = None
    #: public base of minted IRIs; pages answer under /id/ whatever the base
    base: str = DEFAULT_BASE
    #: token for /sparql/update and /store; None disables both
    write_token: str | None = None
    #: seconds a query may run (enforced by the query runner)
    query_timeout: float = 30.0
    #: largest request body accepted, in bytes
    max_body: int = 10 * 1024 * 1024
    #: most rows a SELECT answer may hold
    max_rows: int = 100_000
