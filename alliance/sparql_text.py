"""What the server must know about a SPARQL text before Oxigraph runs it.

Two questions, answered by a lexical scan:

* Does it call SERVICE (or, in an update, LOAD)? pyoxigraph would then open an
  HTTP connection to whatever host the text names, and nothing in its API turns
  that off, so the endpoint must refuse such text itself.
* Does a query declare its own dataset (FROM / FROM NAMED)? Our default graph is
  the union of the named graphs, and pyoxigraph's union option silently overrides
  FROM, so a query that names its dataset must be run without it.

Why a scan and not a parse: no parser reachable from Python accepts exactly the
language Oxigraph's does. Oxigraph's PEG grammar matches keywords without a word
boundary (`?s ?p trueSERVICE <x> {}` and `{ SERVICE:x {} }` both call a service
there), which rdflib's parser rejects or reads as a prefixed name. So the scan
mirrors Oxigraph's greedy tokens for everything that can *hide* text (IRIs,
strings, comments, variables, blank nodes, language tags, the local part of
prefixed names) and treats every other run of word characters containing the
keyword as the keyword. Its errors are refusals of harmless text (a prefix named
`myservice:`), never acceptance of a call.

Codepoint escapes: the SPARQL specification (§19.2) replaces `\\u0053`-style
escapes in the whole text before parsing, so `\\u0053ERVICE` is SERVICE there (and
in rdflib's parser); Oxigraph 0.5 applies them only inside IRIs and strings, where
they hide nothing from this scan. The scan reads both views, the raw text and the
unescaped one, and a keyword seen in either counts.

The scan is linear in the text (the endpoint takes bodies of megabytes): IRIs,
strings and comments are blanked by one regular expression, and only the runs of
name characters that spell the keyword are looked at closely.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

_BASE = (
    "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u02ff\u0370-\u037d\u037f-\u1fff\u200c-\u200d"
    "\u2070-\u218f\u2c00-\u2fef\u3001-\ud7ff\uf900-\ufdcf\ufdf0-\ufffd\U00010000-\U000effff"
)
_CHARS_U = _BASE + "_"
_CHARS = _CHARS_U + r"\-0-9\u00b7\u0300-\u036f\u203f-\u2040"
_PLX = r"(?:%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%])"
_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"

#: The tokens that can hide text: IRIs, strings, comments, and backslash escapes.
_IRI = rf"""<(?:[^<>"{{}}|^`\\\x00-\x20]|{_UCHAR})*>"""
_SQ, _DQ = "'", '"'
_STRING = "|".join(
    [
        # long strings first: three quotes, any content, the same three quotes
        rf"{_DQ * 3}(?:[^{_DQ}\\]|\\.|{_DQ}(?!{_DQ * 2}))*{_DQ * 3}",
        rf"{_SQ * 3}(?:[^{_SQ}\\]|\\.|{_SQ}(?!{_SQ * 2}))*{_SQ * 3}",
        # then one-line strings
        rf"{_DQ}(?:[^{_DQ}\\\n\r]|\\.)*{_DQ}",
        rf"{_SQ}(?:[^{_SQ}\\\n\r]|\\.)*{_SQ}",
    ]
)
_COMMENT = r"#[^\n\r]*"
_ESCAPE = r"\\."
#: A run of name characters: keywords, variables, prefixed names, numbers, language tags.
_RUN = r"[?$@]?[\w.:%\-\u00b7\u0300-\u036f\u203f-\u2040]+"
#: Every pattern is matched without looking past its own end, so a scan is linear. None of
#: the hiding tokens can start inside a run, so blanking them alone (_HIDING) leaves
#: exactly the runs that the full tokenizer (_TOKEN) finds.
_HIDING = re.compile(f"{_IRI}|{_STRING}|{_COMMENT}|{_ESCAPE}", re.DOTALL)
_RUNS = re.compile(_RUN)
_TOKEN = re.compile(
    f"(?P<iri>{_IRI})|(?P<string>{_STRING})|(?P<comment>{_COMMENT})|(?P<escape>{_ESCAPE})"
    f"|(?P<run>{_RUN})|(?P<other>.)",
    re.DOTALL,
)
#: Within a run: the greedy tokens whose text is never a keyword.
_VARNAME = re.compile(rf"[{_CHARS_U}0-9][{_CHARS_U}0-9\u00b7\u0300-\u036f\u203f-\u2040]*")
_LABEL = re.compile(rf"[{_CHARS_U}0-9](?:[{_CHARS}.]*[{_CHARS}])?")
_LANGTAG = re.compile(r"@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*")
_LOCAL = re.compile(
    rf"(?:[{_CHARS_U}:0-9]|{_PLX})(?:(?:[{_CHARS}.:]|{_PLX})*(?:[{_CHARS}:]|{_PLX}))?"
)
_PIECES = re.compile(r"\w+")


def _run_words(run: str) -> list[str]:
    """The upper-cased pieces of a run of name characters that Oxigraph may read as keywords.

    Variables, blank node labels, language tags and the local part of a prefixed
    name are consumed greedily there as here; everything else is split at every
    non-word character, and a prefixed name's prefix counts (Oxigraph reads
    `SERVICE:x` as `SERVICE :x`).
    """
    words: list[str] = []
    pos, end = 0, len(run)
    while pos < end:  # positions, not slices: a scan stays linear in the run's length
        if run[pos] in "?$":
            match = _VARNAME.match(run, pos + 1)
            pos = match.end() if match else pos + 1
        elif run.startswith("_:", pos):
            match = _LABEL.match(run, pos + 2)
            pos = match.end() if match else pos + 2
        elif run[pos] == "@":
            match = _LANGTAG.match(run, pos)
            pos = match.end() if match else pos + 1
        else:
            colon = run.find(":", pos)
            words += [w.upper() for w in _PIECES.findall(run, pos, end if colon < 0 else colon)]
            if colon < 0:
                break
            match = _LOCAL.match(run, colon + 1)
            pos = match.end() if match else colon + 1
    return words


def lexemes(text: str) -> Iterator[re.Match[str]]:
    """Every token of the text, in order, as a match whose `lastgroup` names its kind.

    Kinds: `iri`, `string`, `comment`, `escape` (a backslash and the character after it,
    outside strings and IRIs), `run` (a run of name characters: a keyword, a variable, a
    prefixed name, a number, a language tag) and `other` (one character: brackets,
    punctuation, operators, white space). The one lexer of the project's SPARQL texts.
    """
    return _TOKEN.finditer(text)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, start) of each token; a run's pieces come as ("word", piece, start)."""
    tokens = []
    for match in _TOKEN.finditer(text):
        kind, value = match.lastgroup or "other", match.group()
        if kind == "run":
            tokens += [("word", word, match.start()) for word in _run_words(value)]
        else:
            tokens.append((kind, value, match.start()))
    return tokens


def _words(text: str) -> list[str]:
    """The upper-cased pieces of the text that Oxigraph may read as keywords."""
    return [value for kind, value, _ in _tokens(text) if kind == "word"]


def blanked(text: str) -> str:
    """The text with its IRIs, strings, comments and escapes replaced by a space each.

    What is left are the tokens that give a text its structure: brackets, operators,
    keywords, names and numbers (the input guards scan it for depth and chains).
    """
    return _HIDING.sub(" ", text)


def _code(text: str) -> str:
    """The text upper-cased, with its IRIs, strings, comments and escapes blanked out."""
    return blanked(text).upper()


def _keyword_runs(code: str, keyword: str) -> list[list[str]]:
    """The words of each run of `code` that contains `keyword`.

    Most texts never spell the keyword, and then this is one pass in C.
    """
    if keyword not in code:
        return []
    return [_run_words(run) for run in _RUNS.findall(code) if keyword in run]


_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def _codepoint(match: re.Match[str]) -> str:
    value = int(match.group(1) or match.group(2), 16)
    return chr(value) if value <= 0x10FFFF else match.group()


def unescape_codepoints(text: str) -> str:
    """The text with its `\\uXXXX` / `\\UXXXXXXXX` escapes replaced, as SPARQL §19.2 reads it."""
    return _CODEPOINT.sub(_codepoint, text) if "\\" in text else text


def has_codepoint_escapes(text: str) -> bool:
    return _CODEPOINT.search(text) is not None


def _views(text: str) -> list[str]:
    """The text as Oxigraph reads it, and as the specification (and rdflib) read it."""
    unescaped = unescape_codepoints(text)
    return [text] if unescaped == text else [text, unescaped]


def keyword_count(text: str, keyword: str) -> int:
    """How many times `keyword` may be read as a keyword, in the view that reads it most."""
    return max(
        sum(word.count(keyword) for words in _keyword_runs(_code(view), keyword) for word in words)
        for view in _views(text)
    )


def has_word(text: str, keyword: str) -> bool:
    """Whether `keyword` (upper case) may be read as a keyword of the text, in either view."""
    return keyword_count(text, keyword) > 0


def forbidden_operation(text: str, *, update: bool = False) -> str | None:
    """The name of the first operation this endpoint refuses to run, if the text has one.

    SERVICE in queries and updates; LOAD in updates as well.
    """
    for keyword in ("SERVICE", "LOAD") if update else ("SERVICE",):
        if has_word(text, keyword):
            return keyword
    return None


def declares_dataset(text: str) -> bool:
    """Whether a query names its own dataset with FROM or FROM NAMED."""
    return any("FROM" in words for words in _keyword_runs(_code(text), "FROM"))


def with_using(text: str, default_graphs: list[str], named_graphs: list[str]) -> str:
    """The update with the protocol's using-graph-uri / using-named-graph-uri as USING clauses.

    SPARQL Protocol §2.2.3: the parameters give the dataset of every DELETE/INSERT
    ... WHERE operation, and an update that has its own USING or WITH must then be
    refused (ValueError). Oxigraph's API takes no such dataset, so the clauses are
    written in, before the WHERE of each operation (never inside a pattern).
    """
    from pyoxigraph import NamedNode  # validates the IRIs and writes them escaped

    clause = "".join(f"USING {NamedNode(g)} " for g in default_graphs) + "".join(
        f"USING NAMED {NamedNode(g)} " for g in named_graphs
    )
    conflict = {"USING", "WITH"} & set(_words(text))  # anywhere: neither is used elsewhere
    if conflict:
        raise ValueError(f"the update has its own {sorted(conflict)[0]} clause")
    pieces: list[str] = []
    depth, done, previous = 0, 0, ""
    for kind, value, start in _tokens(text):
        if kind == "other" and value in "{}":
            depth += 1 if value == "{" else -1
        elif (
            kind == "word"
            and depth == 0
            and text[start : start + 5].upper() == "WHERE"  # a whole run, not a piece
            and previous != "DELETE"
        ):
            pieces += [text[done:start], clause]
            done = start
        if kind != "comment" and not value.isspace():
            previous = value
    pieces.append(text[done:])
    return "".join(pieces)


#: An operation of an update made only of data: ("INSERT" or "DELETE", the prologue
#: declarations in force, the `{ … }` block of quads).
DataOperation = tuple[str, str, str]


def data_operations(text: str) -> list[DataOperation] | None:
    """The operations of an update made only of INSERT DATA and DELETE DATA, else None.

    Each comes with the PREFIX and BASE declarations in force where it stands, so that
    `f"{prologue}\\nINSERT DATA {block}"` alone states the same quads. None as soon as
    anything else appears at the top level, or anything the scan does not expect: the
    caller then treats the update as a general one. Used to apply small updates quad by
    quad (server/web/sandbox.py checks the split against Oxigraph's own reading).
    """
    operations: list[DataOperation] = []
    prologue: list[str] = []
    segment: list[tuple[str, str]] = []
    depth, block_start = 0, 0
    for match in _TOKEN.finditer(text):
        kind, value = match.lastgroup or "other", match.group()
        if kind == "comment" or (kind == "other" and value.isspace()):
            continue
        if kind == "other" and value in "{([":
            if depth == 0:
                if value != "{":
                    return None
                block_start = match.start()
            depth += 1
        elif kind == "other" and value in "})]":
            depth -= 1
            if depth < 0:
                return None
            if depth == 0:
                segment.append(("block", text[block_start : match.end()]))
        elif depth > 0:
            continue
        elif kind == "other" and value == ";":
            if not _data_segment(segment, prologue, operations):
                return None
            segment = []
        else:
            segment.append((kind, value))
    if depth != 0 or not _data_segment(segment, prologue, operations):
        return None
    return operations or None


def _data_segment(
    tokens: list[tuple[str, str]], prologue: list[str], operations: list[DataOperation]
) -> bool:
    """Read one `;`-separated part: declarations, then at most one DATA operation."""
    position = 0
    while position < len(tokens):
        kind, value = tokens[position]
        keyword = value.upper() if kind == "run" else ""
        rest = tokens[position + 1 :]
        if keyword == "PREFIX" and len(rest) >= 2 and rest[0][0] == "run" and rest[1][0] == "iri":
            if not rest[0][1].endswith(":"):
                return False
            prologue.append(f"PREFIX {rest[0][1]} {rest[1][1]}")
            position += 3
        elif keyword == "BASE" and rest and rest[0][0] == "iri":
            prologue.append(f"BASE {rest[0][1]}")
            position += 2
        elif (
            keyword in ("INSERT", "DELETE")
            and len(rest) == 2
            and rest[0][0] == "run"
            and rest[0][1].upper() == "DATA"
            and rest[1][0] == "block"
        ):
            operations.append((keyword, "\n".join(prologue), rest[1][1]))
            return True
        else:
            return False
    return True
