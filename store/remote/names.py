"""The private graphs Alliance keeps in a remote store, and how they are named.

Every graph whose IRI starts with `PRIVATE_PREFIX` is Alliance's own bookkeeping: never
listed as published, never part of the union default graph, never dumped.
"""

from __future__ import annotations

from pyoxigraph import NamedNode

PRIVATE_PREFIX = "urn:x-alliance:"
#: A writer's graph before it is published: `staging:<unix time>:<id>:<n>`.
STAGING_PREFIX = PRIVATE_PREFIX + "staging:"
#: A materialised union of the published graphs: `union:<unix time in ms>:<id>`.
UNION_PREFIX = PRIVATE_PREFIX + "union:"
#: The state graph holds the content's version marker and the union pointer.
STATE_GRAPH = NamedNode(PRIVATE_PREFIX + "state")
VERSION = NamedNode(PRIVATE_PREFIX + "version")
UNION_POINTER = NamedNode(PRIVATE_PREFIX + "union")
#: A graph that never exists: the default graph of a dataset that must be empty.
NO_GRAPH = NamedNode(PRIVATE_PREFIX + "none")

#: How long a reader reuses the list of published graphs and the union pointer (both are
#: needed by every union query); a writer waits this long before dropping an unlinked union.
GRAPHS_TTL_SECONDS = 2.0


def stamp_of(graph: NamedNode, prefix: str) -> int | None:
    """When a staging graph (unix time) or a union (in ms) was created, from its name."""
    stamp = graph.value[len(prefix) :].split(":", 1)[0]
    return int(stamp) if stamp.isdigit() else None
