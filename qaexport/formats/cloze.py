"""Cloze deletions: Anki's own syntax, ``{{c1::answer}}`` and ``{{c1::answer::hint}}``, in Markdown and in HTML.

A question whose text holds a deletion is a cloze: each number is one Anki card (the deletions of that number
hidden, the others shown); books print the text once with every deletion blanked (``[…]``, or ``[hint]``) and
the answer with the text filled in, the deletions marked. The answer below a cloze is optional extra text.

Markdown: a markdown-it inline rule (:func:`cloze_plugin`) that reads a deletion like a link reads its label —
code spans, math and other inline syntax inside are skipped whole, so a ``}}`` inside `` `code` `` or ``$x^{2}}$``
never closes it — and emits ``cloze_open`` (``meta``: number, hint), the content's own tokens, ``cloze_close``.
``\\{{c1::…}}`` (a backslash escape) and code spans write the syntax literally. A malformed deletion (unclosed,
empty, number 0, nested, too many) is recorded in ``env["cloze_problems"]`` and left as text; the bank reader
refuses the question with one line naming the file and line, so the renderer only ever sees valid ones.

HTML (Anki notes read from a package): :func:`html_deletions` finds the same syntax in the text between tags.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_inline import StateInline

#: Deletions in one text, counted before it is parsed: a real note has a handful. As many as fit in the longest
#: question (``assemble.MAX_QUESTION_CHARS``, 5,000 characters: 500 ``{{c1::x}}`` and the spaces between), so
#: this is the limit an author meets, not one the length limit always meets first.
MAX_DELETIONS = 500
#: The highest deletion number (each number is a card of the note).
MAX_NUMBER = 500
OPEN = re.compile(r"\{\{c(\d{1,9})::")
CLOSE = "}}"
HINT = "::"
PROBLEMS = "cloze_problems"
#: What a deletion shows on the front when it has no hint.
BLANK = "[…]"


def has_cloze_marker(text: str) -> bool:
    """Cheap test before any parsing: could ``text`` hold a deletion at all?"""
    return "{{c" in text and OPEN.search(text) is not None


@dataclass(frozen=True)
class ClozeProblem:
    """A malformed deletion: ``offset`` into the inline text, and what is wrong (one clause)."""

    offset: int
    message: str


def _problem(state: StateInline, start: int, message: str) -> None:
    found = state.env.setdefault(PROBLEMS, [])
    if len(found) < 20:
        found.append(ClozeProblem(start, message))


def _fix_hint(number: str) -> str:
    return f"write {{{{c{number}::answer}}}} or {{{{c{number}::answer::hint}}}}"


def _cloze(state: StateInline, silent: bool) -> bool:
    src, start = state.src, state.pos
    if not src.startswith("{{c", start):
        return False
    m = OPEN.match(src, start)
    if m is None:
        return False
    number = int(m.group(1))
    if not 1 <= number <= MAX_NUMBER:
        if not silent:
            _problem(state, start, f"deletion number c{number} must be 1 to {MAX_NUMBER}; "
                                   f"number deletions c1, c2, …")
        return False
    if state.env.get("_cloze_depth"):
        return False  # a deletion inside a deletion: the outer one reports it
    content_start = pos = m.end()
    hint_at = close_at = -1
    old_pos, maximum = state.pos, state.posMax
    # Scan the content with markdown-it's own token skipping (code spans, math, links are passed whole).
    while pos < maximum:
        if src.startswith(CLOSE, pos):
            close_at = pos
            break
        if src.startswith(HINT, pos) and hint_at < 0:
            hint_at = pos
            pos += 2
            continue
        if src.startswith("{{c", pos) and OPEN.match(src, pos):
            # In the text or the hint: every scan ends at the next opening, so a text full of unclosed
            # deletions is still read in linear time.
            state.pos = old_pos
            if not silent:
                _problem(state, start, "a deletion inside a deletion; close the first with }} before the next "
                                       "{{c…:: (Anki cannot nest them here)")
            return False
        state.pos = pos
        state.env["_cloze_depth"] = 1
        try:
            state.md.inline.skipToken(state)
        finally:
            state.env["_cloze_depth"] = 0
        pos = max(state.pos, pos + 1)
    state.pos = old_pos
    if close_at < 0:
        if not silent:
            _problem(state, start, f"deletion {{{{c{number}:: is not closed; end it with }}}} "
                                   f"({_fix_hint(m.group(1))})")
        return False
    content_end = hint_at if hint_at >= 0 else close_at
    if not src[content_start:content_end].strip():
        if not silent:
            _problem(state, start, f"empty deletion c{number}; {_fix_hint(m.group(1))}")
        return False
    hint = src[hint_at + 2:close_at].strip() if hint_at >= 0 else ""
    if not silent:
        token = state.push("cloze_open", "span", 1)
        token.markup = m.group(0)
        token.meta = {"number": number, "hint": hint}
        state.pos, state.posMax = content_start, content_end
        state.env["_cloze_depth"] = 1
        try:
            state.md.inline.tokenize(state)
        finally:
            state.env["_cloze_depth"] = 0
        token = state.push("cloze_close", "span", -1)
        token.markup = CLOSE
        token.meta = {"number": number, "hint": hint}
        state.posMax = maximum
    state.pos = close_at + len(CLOSE)
    return True


def cloze_plugin(md: MarkdownIt) -> None:
    """Read ``{{cN::…}}`` deletions (see the module docstring); rendering is the renderer's business."""
    md.inline.ruler.before("escape", "cloze", _cloze)


# ---------------------------------------------------------------------------------------------- counting


def count_deletions(text: str) -> int:
    """Openings of deletions in ``text`` (a bound checked before parsing)."""
    return sum(1 for _ in OPEN.finditer(text)) if "{{c" in text else 0


def numbers_in_tokens(tokens: list[Any]) -> list[int]:
    """The distinct deletion numbers in a token stream (block tokens with inline children), sorted."""
    found: set[int] = set()
    for token in tokens:
        for child in token.children or ():
            if child.type == "cloze_open":
                found.add(child.meta["number"])
    return sorted(found)


# ---------------------------------------------------------------------------------------------- HTML


_TAG_OR_TEXT = re.compile(r"<[^>]*>|[^<]+")


@dataclass(frozen=True)
class HtmlPiece:
    """A stretch of cloze HTML: plain HTML, or a deletion's ``open``/``hint``/``close`` marker."""

    kind: str  # "html", "open", "hint", "close"
    text: str  # the HTML (for "html"), the hint text (for "hint"), "" otherwise
    number: int = 0


def html_pieces(html: str) -> Iterator[HtmlPiece]:
    """Split sanitised cloze HTML (an Anki note's field) into HTML and markers, as Anki's own cloze reader sees
    them: markers are found in the text between tags only; a hint runs to the closing ``}}``. Nested deletions
    (Anki 2.1.56+) are read as their outermost one: inner markers stay text."""
    depth = 0
    in_hint = False
    number = 0
    for m in _TAG_OR_TEXT.finditer(html):
        chunk = m.group(0)
        if chunk.startswith("<"):
            yield HtmlPiece("html", chunk)
            continue
        pos = 0
        while pos < len(chunk):
            if depth == 0:
                found = OPEN.search(chunk, pos)
                if found is None:
                    yield HtmlPiece("html", chunk[pos:])
                    break
                if found.start() > pos:
                    yield HtmlPiece("html", chunk[pos:found.start()])
                number = int(found.group(1))
                yield HtmlPiece("open", "", number)
                depth, in_hint, pos = 1, False, found.end()
                continue
            close = chunk.find(CLOSE, pos)
            hint = -1 if in_hint else chunk.find(HINT, pos)
            if close < 0 and hint < 0:
                yield HtmlPiece("hint" if in_hint else "html", chunk[pos:], number)
                break
            if hint >= 0 and (close < 0 or hint < close):
                if hint > pos:
                    yield HtmlPiece("html", chunk[pos:hint])
                in_hint, pos = True, hint + 2
                continue
            if close > pos:
                yield HtmlPiece("hint" if in_hint else "html", chunk[pos:close], number)
            yield HtmlPiece("close", "", number)
            depth, in_hint, pos = 0, False, close + 2


def html_numbers(html: str) -> list[int]:
    return sorted({p.number for p in html_pieces(html) if p.kind == "open"})
