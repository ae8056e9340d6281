"""Escaping for human output: every string that comes from a pack, a ruling file or a
ruleset goes through here before a terminal, a Markdown file or a JUnit report sees it.

Evidence is written by whoever produced the run, possibly an attacker: a newline in a
``run_id`` must not start a second ``# vlab ruling: PASS`` heading, an ESC must not reach
a terminal, a U+202E must not reverse what a reviewer reads. JSON output needs none of
this (JSON escapes control characters by construction) and does not use it.

- ``human(text)``: one line, every unsafe character shown as a visible escape, the
  backslash doubled, so the escaped form is unambiguous (a real ESC is ``\\x1b``, the four
  characters ``\\x1b`` in the evidence are ``\\\\x1b``) and can be read back exactly.
- ``md_text(text)`` / ``md_code(text)``: ``human`` made inert for Markdown (GitHub
  flavoured: tables, strikethrough, math), as running text or as a code span.
- ``scrub(text)``: a last guard at the output sinks for text already built from escaped
  pieces: unsafe characters escaped, backslashes left alone (not reversible, a no-op on
  text built with ``human``).

Unsafe characters are the Unicode categories Cc (C0 and C1 controls, DEL, ESC), Cf
(format characters: the bidi embeddings, overrides and isolates U+202A..U+202E and
U+2066..U+2069, the marks U+200E, U+200F, U+061C, zero-width characters, soft hyphen,
BOM, tag characters), Zl and Zp (U+2028, U+2029, which some viewers break lines on), Cs
(lone surrogates, as file names that are not UTF-8 arrive) and Cn (unassigned code points
and the noncharacters U+FFFE/U+FFFF, which XML 1.0 forbids and a newer terminal may give a
meaning Python's Unicode tables do not know yet).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Characters worth a look: everything but printable ASCII (decided by category, once per
# distinct character), and for ``human`` the backslash. Negated classes: a class spelling
# out the range up to U+10FFFF costs ~10 ms to compile, on every start of the CLI.
_CANDIDATE = re.compile(r"[^\x20-\x5b\x5d-\x7e]")  # 0x5c, the backslash, is a candidate
_CANDIDATE_NOT_BACKSLASH = re.compile(r"[^\x20-\x7e]")
_CANDIDATE_NOT_BACKSLASH_NEWLINE = re.compile(r"[^\n\x20-\x7e]")


@lru_cache(maxsize=4096)
def _escaped(ch: str) -> str:
    if ch == "\\":
        return "\\\\"
    if ch in _NAMED:
        return _NAMED[ch]
    if unicodedata.category(ch) not in UNSAFE_CATEGORIES:
        return ch
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _ascii_plain(text: str) -> bool:
    """Printable ASCII (space to ``~``): the common case, returned as it is."""
    return text.isascii() and text.isprintable()


def human(text: object) -> str:
    """One line of text that is safe on a terminal and reversible: ``\\\\``, ``\\n``,
    ``\\r``, ``\\t``, ``\\xNN``, ``\\uNNNN``, ``\\UNNNNNNNN`` (Python's spelling) for a
    backslash and every unsafe character; everything else unchanged."""
    s = text if isinstance(text, str) else str(text)
    if _ascii_plain(s) and "\\" not in s:
        return s
    return _CANDIDATE.sub(lambda m: _escaped(m.group()), s)


def scrub(text: str, *, keep_newlines: bool = False) -> str:
    """Unsafe characters escaped, backslashes untouched: for a sink that receives text
    already built from ``human``/``md_*`` pieces (where it changes nothing), so a piece
    someone forgot to escape still cannot send a raw control character. With
    ``keep_newlines`` the text stays a multi-line document (a Markdown step summary)."""
    if _ascii_plain(text):
        return text
    pattern = _CANDIDATE_NOT_BACKSLASH_NEWLINE if keep_newlines else _CANDIDATE_NOT_BACKSLASH
    return pattern.sub(lambda m: _escaped(m.group()), text)


# Markdown: data is only ever placed inside a line vlab writes (a list item, a table cell,
# a heading), never at a line's start, and ``human`` has removed every line ending. So
# block structure (``#`` headings, ``>`` quotes, lists, fences, setext underlines) cannot
# start from data; what is left are the inline constructs and the table's cells:
#   \            the escape character itself (``human``'s escapes must show as written)
#   ` * ~        code spans, emphasis, GFM strikethrough
#   _            emphasis, except between two letters or digits, where CommonMark's
#                flanking rules never let it open or close one (``not_declared`` stays)
#   [ ]          links, images (``!`` and ``(`` mean nothing without them), footnotes
#   < &          raw HTML, autolinks, entities (``&#x202E;`` would be a bidi override)
#   |            a GFM table cell boundary, escaped everywhere (harmless outside tables)
#   #            a heading's closing sequence (``## title #`` loses its ``#``)
#   $            GitHub's math (``$\color{green}{PASS}$``)
# ``>`` is left alone: without ``<`` it only matters at a line's start.
_MD_META = re.compile(r"[\\`*~\[\]<&|#$]|(?<![^\W_])_|_(?![^\W_])")
_BACKTICKS = re.compile(r"`+")


def md_text(text: object) -> str:
    """Data as Markdown running text: renders as exactly ``human(text)``."""
    s = human(text)
    return _MD_META.sub(lambda m: "\\" + m.group(), s)


def md_code(text: object, *, table: bool = False) -> str:
    """Data as a Markdown code span showing exactly ``human(text)``: the fence is longer
    than any run of backticks inside, padded with a space when the text starts or ends
    with a backtick or a space (CommonMark strips one space each side). In a GFM table
    (``table=True``) ``|`` is escaped too: the table splits cells before it sees code
    spans, and takes ``\\|`` back to ``|`` inside them."""
    s = human(text)
    longest = max((len(run) for run in _BACKTICKS.findall(s)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if not s or s[0] in "` " or s[-1] in "` " else ""
    if table:
        s = s.replace("|", "\\|")
    return f"{fence}{pad}{s}{pad}{fence}"


def md_fence(text: str) -> str:
    """A backtick fence for a fenced code block around ``text``: longer than any run of
    backticks in it (at least three), so no line of the text can close the block."""
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    return "`" * max(3, longest + 1)
