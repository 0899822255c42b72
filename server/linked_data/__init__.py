"""Linked data: a page and RDF for every resource under /id/, the ontology, vocabulary and
shapes pages.

`blueprint` is what the application registers.
"""

from alliance.server.linked_data.pages import blueprint

__all__ = ["blueprint"]
