"""The SPARQL faces: the query endpoint with its page and service description, SPARQL Update,
the Graph Store Protocol, and who may write.

`blueprint` is what the application registers.
"""

from alliance.server.sparql.endpoint import blueprint

__all__ = ["blueprint"]
