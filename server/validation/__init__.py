"""Validation for curators: /validate takes a table or an RDF document and answers a report.

`blueprint` is what the application registers.
"""

from alliance.server.validation.routes import blueprint

__all__ = ["blueprint"]
