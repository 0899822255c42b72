"""The OpenAPI 3.1 description of the named-query API, generated from the query files.

Each query gets its own path, so that its parameters (type, default, example) and the columns
of its rows are described exactly; `/api/queries/{name}` stands for every other name (404).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pyoxigraph import QuerySolutions, Store

from alliance import __version__
from alliance.queries import NamedQuery, Parameter
from alliance.queries.parameters import INT64, IRI_PATTERN, MAX_STRING

JSON = "application/json"
SPARQL_JSON = "application/sparql-results+json"
SPARQL_XML = "application/sparql-results+xml"
CSV = "text/csv"
TSV = "text/tab-separated-values"
HTML = "text/html"
#: `format=` values and the media type each one answers with.
FORMATS: dict[str, str] = {
    "json": JSON,
    "sparql-json": SPARQL_JSON,
    "xml": SPARQL_XML,
    "csv": CSV,
    "tsv": TSV,
    "html": HTML,
}
NAME_PATTERN = "^[A-Za-z0-9_-]+$"

Schema = dict[str, Any]


@lru_cache(maxsize=256)
def columns_of(sparql: str) -> tuple[str, ...]:
    """The projected variables of a SELECT query, from a run over an empty in-memory store."""
    result = Store().query(sparql)
    if not isinstance(result, QuerySolutions):
        return ()
    return tuple(v.value for v in result.variables)


def value_schema(kind: str) -> Schema:
    """The JSON schema of a parameter's value as the API echoes it (null when unbound)."""
    base = {"integer": "integer", "boolean": "boolean"}.get(kind, "string")
    return {"type": [base, "null"]}


def parameter_schema(parameter: Parameter) -> Schema:
    """The schema of a parameter's text in the query string: what the API accepts."""
    schema: Schema
    if parameter.type == "integer":
        schema = {"type": "integer", "format": "int64", "minimum": INT64[0], "maximum": INT64[1]}
    elif parameter.type == "boolean":
        schema = {"type": "boolean"}
    elif parameter.type == "date":
        schema = {"type": "string", "format": "date"}  # RFC 3339 full-date: YYYY-MM-DD
    elif parameter.type == "iri":
        schema = {"type": "string", "pattern": IRI_PATTERN}
    else:
        schema = {"type": "string", "minLength": 1, "maxLength": MAX_STRING}
    default = parameter.as_json()["default"]
    if default is not None:
        schema["default"] = default
    return schema


def query_parameters(query: NamedQuery) -> list[Schema]:
    declared: list[Schema] = []
    for parameter in query.parameters:
        entry: Schema = {
            "name": parameter.name,
            "in": "query",
            "required": parameter.required,
            "description": f"({parameter.type}) {parameter.description}",
            "schema": parameter_schema(parameter),
        }
        example = parameter.as_json()["example"]
        if example is not None:
            entry["example"] = example
        declared.append(entry)
    return [*declared, {"$ref": "#/components/parameters/format"}]


def result_schema(query: NamedQuery) -> Schema:
    """The friendly JSON answer of one query: its columns and typed parameters spelled out."""
    columns = list(columns_of(query.sparql()))
    row: Schema = {
        "type": "object",
        "properties": {c: {"$ref": "#/components/schemas/Value"} for c in columns},
        "required": columns,
        "additionalProperties": False,
    }
    return {
        "type": "object",
        "required": ["query", "parameters", "columns", "rows", "count"],
        "properties": {
            "query": {"const": query.name},
            "parameters": {
                "type": "object",
                "properties": {p.name: value_schema(p.type) for p in query.parameters},
                "required": [p.name for p in query.parameters],
                "additionalProperties": False,
            },
            "columns": {"type": "array", "items": {"enum": columns} if columns else {}},
            "rows": {"type": "array", "items": row},
            "count": {"type": "integer", "minimum": 0},
        },
        "additionalProperties": False,
    }


def results_content(json_schema: Schema) -> Schema:
    """The 200 answer in every format the API writes."""
    text = {"schema": {"type": "string"}}
    return {
        JSON: {"schema": json_schema},
        SPARQL_JSON: {"schema": {"$ref": "#/components/schemas/SparqlResults"}},
        SPARQL_XML: text,
        CSV: text,
        TSV: text,
        HTML: text,
    }


def query_operation(query: NamedQuery) -> Schema:
    description = query.description
    if "question" in query.header:
        description += f" (Competency question {query.header['question']}.)"
    if "note" in query.header:
        description += f" Note: {query.header['note']}"
    responses: Schema = {
        "200": {
            "description": "The rows (JSON by default; see the format parameter).",
            "content": results_content(result_schema(query)),
        },
        "400": {"$ref": "#/components/responses/BadParameter"},
        "406": {"$ref": "#/components/responses/NotAcceptable"},
        "422": {"$ref": "#/components/responses/OverResultLimit"},
        "429": {"$ref": "#/components/responses/TooManyRequests"},
        "503": {"$ref": "#/components/responses/OverTimeLimit"},
    }
    return {
        "get": {
            "operationId": f"query-{query.name}",
            "summary": query.title,
            "description": description,
            "tags": ["named queries"],
            "parameters": query_parameters(query),
            "responses": responses,
        }
    }


def error_response(description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": ERROR}}}


ERROR: Schema = {"$ref": "#/components/schemas/Error"}

COMPONENTS: Schema = {
    "schemas": {
        "Value": {
            "description": "An IRI or text as a string, a number, a boolean, or null if unbound.",
            "type": ["string", "number", "boolean", "null"],
        },
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {"type": "string", "description": "what went wrong, in a sentence"},
                "parameter": {"type": "string", "description": "the parameter at fault"},
                "query": {"type": "string", "description": "the query name asked for"},
                "reason": {"type": "string", "description": "why the value was refused"},
            },
        },
        "SparqlResults": {
            "description": "SPARQL 1.1 Query Results JSON Format (W3C).",
            "type": "object",
            "required": ["head"],
            "properties": {
                "head": {
                    "type": "object",
                    "properties": {"vars": {"type": "array", "items": {"type": "string"}}},
                },
                "results": {
                    "type": "object",
                    "required": ["bindings"],
                    "properties": {
                        "bindings": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "additionalProperties": {"$ref": "#/components/schemas/Term"},
                            },
                        }
                    },
                },
                "boolean": {"type": "boolean"},
            },
        },
        "Term": {
            "type": "object",
            "required": ["type", "value"],
            "properties": {
                "type": {"enum": ["uri", "literal", "bnode", "triple"]},
                "value": {},
                "xml:lang": {"type": "string"},
                "datatype": {"type": "string"},
            },
        },
        "QueryList": {
            "type": "object",
            "required": ["queries"],
            "properties": {
                "queries": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["name", "title", "description", "parameters", "links"],
                        "properties": {
                            "name": {"type": "string"},
                            "title": {"type": "string"},
                            "description": {"type": "string"},
                            "question": {"type": ["string", "null"]},
                            "note": {"type": ["string", "null"]},
                            "columns": {"type": "array", "items": {"type": "string"}},
                            "parameters": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/ParameterInfo"},
                            },
                            "links": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                            "sparql": {"type": "string"},
                        },
                    },
                },
            },
        },
        "ParameterInfo": {
            "type": "object",
            "required": ["name", "type", "required", "description"],
            "properties": {
                "name": {"type": "string"},
                "type": {"enum": ["iri", "string", "integer", "date", "boolean"]},
                "required": {"type": "boolean"},
                "default": {"type": ["string", "integer", "boolean", "null"]},
                "example": {"type": ["string", "integer", "boolean", "null"]},
                "description": {"type": "string"},
            },
        },
    },
    "parameters": {
        "format": {
            "name": "format",
            "in": "query",
            "required": False,
            "description": (
                "The answer's format, overriding the Accept header: json (rows of plain "
                "values, the default), sparql-json (W3C SPARQL results JSON), xml, csv, tsv "
                "(W3C SPARQL results formats) or html (a table)."
            ),
            "schema": {"type": "string", "enum": list(FORMATS)},
        }
    },
    "responses": {
        "BadParameter": error_response(
            "A parameter is missing, unknown, repeated or not of its type: `parameter` names "
            "it and `reason` says why."
        ),
        "NotAcceptable": error_response("No format the client accepts can be written."),
        "NotFound": error_response("No query has this name."),
        "OverResultLimit": error_response(
            "The answer has more rows or bytes than the server's result limit "
            "(`alliance serve --max-rows`, `--max-result-bytes`): `reason` names it."
        ),
        "OverTimeLimit": error_response(
            "The query ran past the server's time limit (`alliance serve --query-timeout`) and "
            "was stopped: `reason` names the limit."
        ),
        "TooManyRequests": {
            "description": "The client sent more requests a minute than the server's rate "
            "limit (`alliance serve --rate-limit`); Retry-After says when to try again.",
            "headers": {
                "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
            },
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
    },
}


def openapi_document(queries: dict[str, NamedQuery], server_url: str) -> Schema:
    """The whole OpenAPI document for `queries`, served under `server_url`."""
    paths: Schema = {
        "/api/queries": {
            "get": {
                "operationId": "list-queries",
                "summary": "The named queries, with their parameters and links",
                "tags": ["catalogue"],
                "responses": {
                    "200": {
                        "description": "The list (HTML for browsers).",
                        "content": {
                            JSON: {"schema": {"$ref": "#/components/schemas/QueryList"}},
                            HTML: {"schema": {"type": "string"}},
                        },
                    },
                    "406": {"$ref": "#/components/responses/NotAcceptable"},
                },
            }
        },
    }
    for query in queries.values():
        paths[f"/api/queries/{query.name}"] = query_operation(query)
    paths["/api/queries/{name}"] = {
        "get": {
            "operationId": "query-by-name",
            "summary": "Any named query by name (the paths above describe each one)",
            "tags": ["named queries"],
            "parameters": [
                {
                    "name": "name",
                    "in": "path",
                    "required": True,
                    "description": "the query's name, as listed by /api/queries",
                    "schema": {"type": "string", "pattern": NAME_PATTERN, "minLength": 1},
                },
                {"$ref": "#/components/parameters/format"},
            ],
            "responses": {
                "200": {
                    "description": "The rows of that query.",
                    "content": results_content({"type": "object"}),
                },
                "400": {"$ref": "#/components/responses/BadParameter"},
                "404": {"$ref": "#/components/responses/NotFound"},
                "406": {"$ref": "#/components/responses/NotAcceptable"},
                "422": {"$ref": "#/components/responses/OverResultLimit"},
                "429": {"$ref": "#/components/responses/TooManyRequests"},
                "503": {"$ref": "#/components/responses/OverTimeLimit"},
            },
        }
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Alliance named-query API",
            "version": __version__,
            "description": (
                "Named SPARQL queries over the Alliance knowledge graph (cooperation between "
                "French territories), with typed parameters bound by the engine. Each answer "
                "is JSON rows by default, or a W3C SPARQL results format. The full SPARQL "
                "endpoint is at /sparql."
            ),
            "license": {"name": "CC BY 4.0 (facts, ontology); Licence Ouverte 2.0 (territories)"},
        },
        "servers": [{"url": server_url or "/"}],
        "tags": [
            {"name": "catalogue", "description": "What queries there are."},
            {"name": "named queries", "description": "One operation per query file."},
        ],
        "paths": paths,
        "components": COMPONENTS,
    }
