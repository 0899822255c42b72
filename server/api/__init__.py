"""The named-query API: the queries of `queries/` as web resources, with their OpenAPI document.

`blueprint` is what the application registers.
"""

from alliance.server.api.routes import blueprint

__all__ = ["blueprint"]
