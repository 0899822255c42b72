"""Rewriting queries for a remote engine: their form, their GRAPH patterns, substitutions.

Read with the project's one SPARQL lexer (alliance.sparql_text), so that IRIs, strings and
comments never count as keywords.
"""

from __future__ import annotations

from alliance.sparql_text import lexemes


def query_form(sparql: str) -> str | None:
    """SELECT, CONSTRUCT, DESCRIBE or ASK: the first such keyword outside IRIs, strings and
    comments (a plain search is misled by a comment or a prefix)."""
    for match in lexemes(sparql):
        if match.lastgroup == "run":
            word = match.group().upper()
            if word in ("SELECT", "CONSTRUCT", "DESCRIBE", "ASK"):
                return word
    return None


def mentions_graph(sparql: str) -> bool:
    """Whether the query has a GRAPH keyword (outside IRIs, strings and comments): only
    then do its named graphs matter."""
    return any(
        match.lastgroup == "run" and match.group().upper() == "GRAPH" for match in lexemes(sparql)
    )


def with_values(sparql: str, substitutions: dict[str, object]) -> str:
    """The query with `substitutions` bound by a VALUES block opening each of its groups.

    pyoxigraph substitutes the variables everywhere in the query before evaluation. A
    single VALUES block at the start of the WHERE clause is not the same: a FILTER in a
    nested group or a UNION branch runs before that join and sees the variable unbound.
    So every group of the pattern gets the one-row block (a group that holds a sub-SELECT
    excepted: it can hold nothing else; its own WHERE gets it). Terms are written in their
    N-Triples form, valid SPARQL that cannot change the query's shape. The short form
    `CONSTRUCT WHERE { … }` admits only triples: it gets a trailing VALUES clause instead.
    """
    names = " ".join(f"?{name}" for name in substitutions)
    values = " ".join(str(term) for term in substitutions.values())
    block = f" VALUES ({names}) {{ ({values}) }} "
    tokens = [
        (m.lastgroup or "other", m.group(), m.end())
        for m in lexemes(sparql)
        if m.lastgroup != "comment" and not m.group().isspace()
    ]
    has_where = _has_where(tokens)
    cuts: list[int] = []
    parens = braces = 0
    in_pattern = values_header = False
    previous = ""
    for index, (kind, text, end) in enumerate(tokens):
        upper = text.upper()
        if kind == "run" and braces == 0 and parens == 0 and upper == "WHERE":
            if previous == "CONSTRUCT":
                return f"{sparql}\n{block}"
            in_pattern = True
        elif kind == "run" and upper == "VALUES":
            values_header = True  # the next { opens a data block, not a group
        elif kind == "other" and text == "(":
            parens += 1
        elif kind == "other" and text == ")":
            parens -= 1
        elif kind == "other" and text == "{":
            data_block, values_header = values_header, False
            if braces == 0 and parens == 0 and not has_where and not data_block:
                in_pattern = True
            if in_pattern and not data_block and not _opens_data_block(tokens, index):
                following = tokens[index + 1][1].upper() if index + 1 < len(tokens) else ""
                if following != "SELECT":
                    cuts.append(end)
            braces += 1
        elif kind == "other" and text == "}":
            braces -= 1
        previous = upper
    if not cuts:
        return f"{sparql}\n{block}"
    pieces, done = [], 0
    for cut in cuts:
        pieces += [sparql[done:cut], block]
        done = cut
    pieces.append(sparql[done:])
    return "".join(pieces)


def _opens_data_block(tokens: list[tuple[str, str, int]], index: int) -> bool:
    """Whether the { at `index` follows `VALUES ?x` or `VALUES (?x …)` (a data block)."""
    back = index - 1
    if back >= 0 and tokens[back][1] == ")":
        while back >= 0 and tokens[back][1] != "(":
            back -= 1
        back -= 1
    elif back >= 0 and tokens[back][1].startswith(("?", "$")):
        back -= 1
    return back >= 0 and tokens[back][1].upper() == "VALUES"


def _has_where(tokens: list[tuple[str, str, int]]) -> bool:
    braces = parens = 0
    for kind, text, _ in tokens:
        if kind == "run" and braces == 0 and parens == 0 and text.upper() == "WHERE":
            return True
        if kind == "other":
            braces += {"{": 1, "}": -1}.get(text, 0)
            parens += {"(": 1, ")": -1}.get(text, 0)
    return False
