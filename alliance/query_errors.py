"""Oxigraph's syntax errors, explained to the person who wrote the query.

pyoxigraph reports a malformed query as `error at 1:39: expected one of Prefix not found,
['%'], ['-' | '0' ..= '9' …`: a position (line and column, counted in characters from 1)
and the parser's list of what it would have accepted there, character classes included.
That list is written for the parser's authors. Most malformed queries written by people
have one of two mistakes, which the text itself shows without the parser's help:

* a prefixed name whose prefix is not declared (`igeo:Commune` without `PREFIX igeo:`):
  the message names the prefix and, when it is one of the project's (namespaces.PREFIXES),
  gives the declaration to add;
* a word that is no SPARQL keyword (`SELEC`, `LIMT`, `FILTR`): in SPARQL every bare word
  is a keyword, a function name, `a`, `true` or `false`, so any other word is a mistake, and
  the close keywords are named (difflib), among the query forms when it starts the query.

The query is read with the project's one SPARQL lexer (`sparql_text.lexemes`). Otherwise the
message gives the position, what stands there, and the keywords and punctuation from the
parser's list. The parser's own message is kept beside the explanation, never replaced.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from dataclasses import dataclass, field

from alliance.namespaces import PREFIXES
from alliance.sparql_text import lexemes

#: What a query may start with (after comments), by the grammar's first rule.
QUERY_STARTS = ("PREFIX", "BASE", "SELECT", "CONSTRUCT", "ASK", "DESCRIBE")
#: Every bare word SPARQL 1.1 (and Oxigraph's SPARQL 1.2 additions) reads as a keyword or a
#: function name, upper-cased; `a` is the one that is case-sensitive.
KEYWORDS = frozenset(
    """
    BASE PREFIX SELECT CONSTRUCT DESCRIBE ASK DISTINCT REDUCED AS FROM NAMED WHERE GROUP BY
    HAVING ORDER ASC DESC LIMIT OFFSET VALUES UNDEF OPTIONAL GRAPH SERVICE SILENT BIND MINUS
    UNION FILTER NOT IN EXISTS A TRUE FALSE LATERAL LOAD CLEAR DROP CREATE ADD MOVE COPY TO
    INSERT DELETE DATA WITH USING DEFAULT ALL INTO SEPARATOR VERSION
    STR LANG LANGMATCHES DATATYPE BOUND IRI URI BNODE RAND ABS CEIL FLOOR ROUND CONCAT STRLEN
    UCASE LCASE ENCODE_FOR_URI CONTAINS STRSTARTS STRENDS STRBEFORE STRAFTER YEAR MONTH DAY
    HOURS MINUTES SECONDS TIMEZONE TZ NOW UUID STRUUID MD5 SHA1 SHA256 SHA384 SHA512 COALESCE
    IF STRLANG STRDT SAMETERM ISIRI ISURI ISBLANK ISLITERAL ISNUMERIC REGEX SUBSTR REPLACE
    COUNT SUM MIN MAX AVG SAMPLE GROUP_CONCAT ADJUST TRIPLE SUBJECT PREDICATE OBJECT ISTRIPLE
    LANGDIR STRLANGDIR HASLANG HASLANGDIR
    """.split()
)
#: `error at LINE:COLUMN: MESSAGE`, as pyoxigraph writes a syntax error.
_POSITION = re.compile(r"error at (\d+):(\d+): ?(.*)", re.DOTALL)
#: Items of the parser's `expected one of …` list: quoted tokens, character classes, words.
_EXPECTED_ITEM = re.compile(
    r""""((?:[^"\\]|\\.)*)"|\[(?:'[^']*'|[^\]'])*\]|([A-Za-z_](?:[A-Za-z_ ]*[A-Za-z_])?)"""
)
#: The parser's own notes in its list that the explanations here already cover.
_COVERED_NOTES = ("Prefix not found",)
#: What starts an update (SPARQL 1.1 Update), which is not a query.
UPDATE_STARTS = frozenset("INSERT DELETE LOAD CLEAR DROP CREATE ADD MOVE COPY WITH".split())
_BARE_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: How many of the parser's expected tokens a message lists.
SHOWN_EXPECTED = 12


@dataclass(frozen=True)
class QueryError:
    """A malformed query, explained: where, what, and what would fix it."""

    message: str
    parser: str
    line: int | None = None
    column: int | None = None
    #: The undeclared prefix (without its colon), and its declaration when it is known.
    prefix: str | None = None
    declaration: str | None = None
    #: Keywords close to a misspelt word, or the keywords that fit at the position.
    suggestions: tuple[str, ...] = field(default_factory=tuple)

    def where(self) -> str:
        if self.line is None:
            return ""
        return f"line {self.line}, column {self.column}: "

    def explained(self) -> str:
        """The position and the message, as a sentence: `Line 1, column 27: the prefix…`."""
        text = f"{self.where()}{self.message}"
        return text[:1].upper() + text[1:]

    def as_text(self) -> str:
        """The plain-text answer: `Malformed query: ` and the explanation, then the parser's."""
        lines = [f"Malformed query: {self.where()}{self.message}"]
        if self.declaration:
            lines.append(self.declaration)
        lines += ["", f"Oxigraph's message: {self.parser}"]
        return "\n".join(lines)

    def as_json(self) -> dict[str, object]:
        return {
            "error": "Malformed query",
            "message": self.explained(),
            "line": self.line,
            "column": self.column,
            "prefix": self.prefix,
            "declaration": self.declaration,
            "suggestions": list(self.suggestions),
            "parser": self.parser,
        }


def moved_up(error: QueryError, lines: int) -> QueryError:
    """The error with its position `lines` lines up: in the query as its author typed it,
    when the text that was parsed had `lines` lines of declarations before it."""
    if error.line is None or error.line <= lines:
        return error
    return dataclasses.replace(error, line=error.line - lines)


@dataclass(frozen=True)
class _Token:
    text: str
    start: int


def explain(query: str, parser_message: str, known: dict[str, str] = PREFIXES) -> QueryError:
    """The explanation of Oxigraph's `parser_message` about `query`, with `known` prefixes."""
    found = _POSITION.match(parser_message.strip())
    if found is None:
        return QueryError(parser_message, parser_message)
    line, column, expected_text = int(found[1]), int(found[2]), found[3]
    offset = _offset(query, line, column)
    words = _words(query)
    early = _update(query, words, parser_message) or _broken_token(query, parser_message)
    if early is not None:
        return early
    prefix_error = _undeclared_prefix(query, words, offset, known, parser_message)
    word_error = _unknown_word(query, words, offset, parser_message)
    errors = [e for e in (prefix_error, word_error) if e is not None]
    if errors:
        return min(errors, key=lambda e: (e[0] > offset, e[0]))[1]
    bracket_error = _unmatched_bracket(query, parser_message)
    if bracket_error is not None:
        return bracket_error
    notes = _notes(expected_text)
    if notes:  # the parser said it in words: "Duplicated variable name in SELECT"…
        message = "; ".join(notes)
        return QueryError(message + ".", parser_message, line, column)
    expected = _expected(expected_text)
    if offset >= len(query.rstrip()):
        message = "the parser could not go on at the end of the query"
    else:
        message = f"the query cannot be read from {_shown(query, offset)} on"
    if expected:
        message += f"; expected one of {', '.join(expected)}"
    return QueryError(message + ".", parser_message, line, column, suggestions=tuple(expected))


def _update(query: str, words: list[_Token], parser: str) -> QueryError | None:
    """An update sent as a query: its first word after the prologue is an update's."""
    for token in words:
        word = token.text.upper()
        if word in ("PREFIX", "BASE") or token.text.endswith(":"):
            continue
        if word in UPDATE_STARTS:
            line, column = _position(query, token.start)
            message = (
                f"‘{token.text}’ begins a SPARQL Update, not a query: a query starts with "
                "SELECT, CONSTRUCT, ASK or DESCRIBE."
            )
            return QueryError(message, parser, line, column)
        return None
    return None


def _broken_token(query: str, parser: str) -> QueryError | None:
    """A string whose quote is never closed, or an IRI that cannot be one (`<a b>`): the lexer
    reads their opening character alone, where a well-formed one would be one token."""
    tokens = list(lexemes(query))
    for match, following in zip(tokens, [*tokens[1:], None], strict=False):
        value = match.group()
        if match.lastgroup != "other":
            continue
        if value in "\"'":
            line, column = _position(query, match.start())
            return QueryError(
                f"this string is never closed ({value} … {value}).", parser, line, column
            )
        starts_iri = (
            value == "<"
            and following is not None
            and following.start() == match.end()
            and following.lastgroup == "run"
            and ":" in following.group()
        )
        if starts_iri:
            line, column = _position(query, match.start())
            message = (
                "this IRI is not valid: between < and > an IRI holds no spaces and none of "
                '< > " { } | ^ ` \\.'
            )
            return QueryError(message, parser, line, column)
    return None


def _notes(text: str) -> list[str]:
    """The sentences of the parser's list: what it says in words (not what it expected)."""
    notes = []
    for match in _EXPECTED_ITEM.finditer(re.sub(r"^expected (one of )?", "", text.strip())):
        item = match.group(2)
        if item and " " in item and item not in _COVERED_NOTES:
            notes.append(item)
    return notes


def _offset(text: str, line: int, column: int) -> int:
    """The character offset of a 1-based line and column."""
    lines = text.splitlines(keepends=True)
    before = sum(len(ln) for ln in lines[: line - 1])
    return min(before + column - 1, len(text))


def _position(text: str, offset: int) -> tuple[int, int]:
    """The 1-based line and column of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _shown(text: str, offset: int) -> str:
    rest = text[offset:].split(None, 1)
    piece = rest[0] if rest else ""
    return f"‘{piece[:30]}’" if piece else "the end of the query"


def _words(text: str) -> list[_Token]:
    """The runs of name characters of the text (keywords, names, variables…), trailing dots
    (the end of a triple) left out."""
    tokens = []
    for match in lexemes(text):
        if match.lastgroup == "run":
            value = match.group().rstrip(".")
            if value:
                tokens.append(_Token(value, match.start()))
    return tokens


def declared_prefixes(query: str) -> set[str]:
    """The prefixes a query declares (`PREFIX x: <…>`), without their colons."""
    return _declared(_words(query))


def _declared(words: list[_Token]) -> set[str]:
    declared = set()
    for previous, token in zip(words, words[1:], strict=False):
        if previous.text.upper() == "PREFIX" and token.text.endswith(":"):
            declared.add(token.text[:-1])
    return declared


def _undeclared_prefix(
    query: str, words: list[_Token], offset: int, known: dict[str, str], parser: str
) -> tuple[int, QueryError] | None:
    declared = _declared(words)
    undeclared = [
        w
        for w in words
        if ":" in w.text and w.text[0] not in "?$@_" and w.text.split(":", 1)[0] not in declared
    ]
    if not undeclared:
        return None
    # The parser stops at the end of the first name it cannot expand.
    token = next((w for w in undeclared if w.start + len(w.text) >= offset), undeclared[0])
    token = next((w for w in undeclared if w.start + len(w.text) == offset), token)
    prefix = token.text.split(":", 1)[0]
    line, column = _position(query, token.start)
    shown = f"{prefix}:" if prefix else "the empty prefix ‘:’"
    if prefix in known:
        declaration = f"PREFIX {prefix}: <{known[prefix]}>"
        message = f"the prefix {shown} is not declared; add this line at the top of the query:"
    else:
        declaration = None
        message = (
            f"the prefix {shown} is not declared; declare it with PREFIX {prefix}: <…> at the "
            f"top of the query (the project's prefixes are {', '.join(sorted(known))})."
        )
    error = QueryError(message, parser, line, column, prefix=prefix, declaration=declaration)
    return token.start, error


def _unknown_word(
    query: str, words: list[_Token], offset: int, parser: str
) -> tuple[int, QueryError] | None:
    """The first bare word that is no keyword, at or before where the parser stopped."""
    first = True  # still in the prologue: the query's form comes next
    for token in words:
        bare = _BARE_WORD.fullmatch(token.text) is not None
        if bare and token.text.upper() not in KEYWORDS and token.start <= offset:
            word = token.text
            candidates = QUERY_STARTS if first else sorted(KEYWORDS - {"A"})
            close = tuple(difflib.get_close_matches(word.upper(), candidates, n=3, cutoff=0.6))
            line, column = _position(query, token.start)
            message = f"‘{word}’ is not a SPARQL keyword"
            if close:
                message += f"; did you mean {' or '.join(close)}?"
            elif first:
                close = QUERY_STARTS
                message += (
                    "; a query starts with SELECT, CONSTRUCT, ASK or DESCRIBE, after its "
                    "PREFIX and BASE declarations."
                )
            else:
                message += "."
            return token.start, QueryError(message, parser, line, column, suggestions=close)
        first = first and (token.text.upper() in ("PREFIX", "BASE") or token.text.endswith(":"))
    return None


_CLOSING = {"}": "{", ")": "(", "]": "["}


def _unmatched_bracket(query: str, parser: str) -> QueryError | None:
    """A bracket that closes nothing, closes another kind, or is never closed."""
    opened: list[tuple[str, int]] = []
    for match in lexemes(query):
        value = match.group()
        if match.lastgroup != "other" or value not in "{}()[]":
            continue
        if value in "{([":
            opened.append((value, match.start()))
            continue
        if opened and opened[-1][0] == _CLOSING[value]:
            opened.pop()
            continue
        line, column = _position(query, match.start())
        if opened:
            other = opened[-1][0]
            message = f"‘{value}’ closes ‘{other}’ (line %d, column %d)" % _position(
                query, opened[-1][1]
            )
        else:
            message = f"‘{value}’ closes no bracket"
        return QueryError(message + ".", parser, line, column)
    if opened:
        value, start = opened[-1]
        line, column = _position(query, start)
        return QueryError(f"‘{value}’ is never closed.", parser, line, column)
    return None


def _expected(text: str) -> list[str]:
    """The keywords and punctuation of the parser's `expected …` list, without its character
    classes and internal notes."""
    text = re.sub(r"^expected (one of )?", "", text.strip())
    items: list[str] = []
    for match in _EXPECTED_ITEM.finditer(text):
        quoted, word = match.group(1), match.group(2)
        if quoted:
            item = quoted if quoted.isalpha() else f"‘{quoted}’"
        elif word and word.isupper() and " " not in word:  # keywords, not the parser's notes
            item = word
        else:
            continue
        if item not in items:
            items.append(item)
    return items[:SHOWN_EXPECTED]
