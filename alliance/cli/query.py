"""`alliance query` and `alliance queries`: run a query (named or not) and list the named ones."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from alliance.cli.options import store_option
from alliance.queries.output import GRAPH_FORMATS, RESULTS_FORMATS


@click.command()
@store_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", *RESULTS_FORMATS, *GRAPH_FORMATS]),
    default="table",
    show_default=True,
    help="table: readable; json/xml/csv/tsv: W3C SPARQL results formats; "
    "turtle/ntriples/jsonld: for CONSTRUCT and DESCRIBE.",
)
@click.option(
    "--plain-default-graph",
    is_flag=True,
    help="Query the plain default graph instead of the union of all named graphs.",
)
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="Bind the query variable ?NAME to VALUE. For a named query, VALUE is read as the "
    "parameter's declared type (see `alliance queries`) and defaults apply; otherwise it is an "
    "IRI if it is http(s)://… or <…>, else a plain literal. Repeatable.",
)
@click.argument("query", metavar="QUERY_OR_FILE")
def query(
    store_location: str | None,
    fmt: str,
    plain_default_graph: bool,
    params: tuple[str, ...],
    query: str,
) -> None:
    """Run a SPARQL query on the store and print its results.

    QUERY_OR_FILE is the name of a bundled query (see `alliance queries`), a
    .rq file, or the query text itself. The project's prefixes (alli:, igeo:,
    org:, skos:…) are declared for you. Without GRAPH, a query sees the union
    of every source's graph.

    \b
    Example:
      alliance query cq9-territory-involvement \\
        --param territory=https://w3id.org/alliance/id/commune/69123
    """
    from pyoxigraph import Literal, NamedNode

    from alliance.cli.options import store_access
    from alliance.queries import ParameterError, named_queries, read_query
    from alliance.queries.output import print_results
    from alliance.store import StoreError, open_store

    library = named_queries()
    named = None
    if query in library:
        named = library[query]
    elif query.endswith(".rq") and Path(query).is_file():
        named = read_query(Path(query))
    prologue = ""  # what is prepended to the query as typed
    if named is not None:
        text = named.sparql()
    else:
        from alliance.namespaces import sparql_prefixes

        prologue = sparql_prefixes()
        text = prologue + query
    given: dict[str, str] = {}
    for param in params:
        name, sep, value = param.partition("=")
        name = name.strip().lstrip("?$")
        if not sep or not name:
            raise click.BadParameter(f"{param!r}: expected NAME=VALUE", param_hint="--param")
        given[name] = value
    substitutions: dict[str, object] = {}
    if named is not None and named.parameters:
        # declared parameters: typed, checked, defaults filled in (see alliance.queries)
        try:
            substitutions = dict(named.bind(given))
        except ParameterError as exc:
            raise click.BadParameter(str(exc), param_hint="--param") from None
    else:
        for name, value in given.items():
            if value.startswith("<") and value.endswith(">"):
                substitutions[name] = NamedNode(value[1:-1])
            elif value.startswith(("http://", "https://")):
                substitutions[name] = NamedNode(value)
            else:
                substitutions[name] = Literal(value)
    location = store_location
    try:
        with open_store(location, read_only=True, **store_access()) as store:
            result = store.query(
                text,
                union_default_graph=not plain_default_graph,
                substitutions=substitutions or None,
            )
            print_results(result, fmt, sys.stdout.buffer)
    except StoreError as exc:
        message = str(exc)
        if isinstance(exc.__cause__, SyntaxError):
            from alliance.query_errors import explain, moved_up

            # Positions in the query as typed, not in the text with the prefixes before it.
            error = moved_up(explain(text, str(exc.__cause__)), prologue.count("\n"))
            message = error.as_text()
        click.secho(f"error: {message}", fg="red", err=True)
        sys.exit(2)
    except RuntimeError as exc:  # pyoxigraph: a --param the query does not project
        if not substitutions:
            raise
        raise click.BadParameter(str(exc), param_hint="--param") from exc


@click.command("queries")
def list_queries() -> None:
    """List the bundled named queries."""
    from alliance.queries import named_queries

    for q in named_queries().values():
        click.echo(f"{q.name:32} {q.title}")
        for p in q.parameters:
            need = "required" if p.required else f"default {p.default}" if p.default else "optional"
            click.echo(f"{'':34}--param {p.name}={p.type.upper()}  ({need})")
