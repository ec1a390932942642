"""The Markdown qaexport reads: CommonMark with raw HTML off, GFM tables and strikethrough, cloze deletions
(:mod:`.cloze`) and math (:mod:`.math`).

The bank reader (splitting a file into questions, checking each text) and the renderer build their parsers with
:func:`extend`, so both see the same blocks: a ``## `` line inside ``$$…$$`` never starts a question, exactly as
the renderer would not read it as a heading. :func:`scan` is what the reader checks in a text: its deletions
(and their problems), images and formulas, each with the line it is on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from .cloze import PROBLEMS, ClozeProblem, cloze_plugin, has_cloze_marker
from .math import DISPLAY_TOKENS, MATH_TOKENS, has_math_marker, math_plugin

if TYPE_CHECKING:
    from markdown_it import MarkdownIt


def extend(md: MarkdownIt) -> MarkdownIt:
    """``md`` with qaexport's Markdown: tables, strikethrough, cloze deletions, math."""
    md.enable(["table", "strikethrough"])
    cloze_plugin(md)
    math_plugin(md)
    return md


@cache
def parser() -> MarkdownIt:
    """The block and inline grammar shared with the renderer (which adds only its output options)."""
    from markdown_it import MarkdownIt

    return extend(MarkdownIt("commonmark", {"html": False}))


#: markdown-it's nesting limit (``maxNesting`` of the commonmark preset): a block this deep is not parsed. A list
#: counts two levels (the list and its item), a block quote one: 9 lists, or 19 ``>``, one inside another, are read;
#: one more and markdown-it drops the rest of the text without a word (its own guard against recursion).
MAX_NESTING = 20
_TOO_DEEP = "qaexport.too_deep"
#: A line's leading container marks and indentation (tabs count 4 columns). A block at nesting level L starts on a
#: line whose marks span at least L columns (a list adds 2 levels per 2+ columns, a ``>`` one per column), so a text
#: without such a line at :data:`MAX_NESTING` columns cannot hit the limit and is not parsed again.
_LEADING_MARKS = re.compile(r"^[ \t>*+\-.)0-9]{5,}", re.MULTILINE)


def _watching_blocks():
    """markdown-it's block parser that notes, in ``env``, the first line where it stops at the nesting limit."""
    from markdown_it.parser_block import ParserBlock

    class Watching(ParserBlock):
        def tokenize(self, state, startLine: int, endLine: int) -> None:  # noqa: N803 (markdown-it's names)
            # The level is the same for the whole call, and markdown-it stops at the first block it would read: the
            # same condition, checked once at the start.
            if state.level >= state.md.options.maxNesting:
                line = state.skipEmptyLines(startLine)
                if line < endLine and state.sCount[line] >= state.blkIndent:
                    state.env.setdefault(_TOO_DEEP, line)
            super().tokenize(state, startLine, endLine)

    return Watching()


@cache
def _nesting_parser() -> MarkdownIt:
    """The dialect's block grammar (no inline parse: nesting is a matter of blocks), watching its nesting limit."""
    from markdown_it import MarkdownIt

    md = extend(MarkdownIt("commonmark", {"html": False}))
    block = _watching_blocks()
    block.ruler = md.block.ruler  # the dialect's block rules (math) with the stock ones
    md.block = block
    md.core.ruler.disable(["inline"])
    return md


def too_deep(text: str) -> int | None:
    """The 0-based line of ``text`` from which markdown-it would drop everything, lists or block quotes being nested
    past :data:`MAX_NESTING`; None when the whole text is read. Cheap for a text without deeply indented lines."""
    if not any(len(m.group(0).expandtabs(4)) >= MAX_NESTING - 2 for m in _LEADING_MARKS.finditer(text)):
        return None
    env: dict[str, Any] = {}
    _nesting_parser().parse(text, env)
    return env.get(_TOO_DEEP)


#: What an author reads when :func:`too_deep` finds a line.
TOO_DEEP_MESSAGE = ("lists or block quotes nested too deeply: the text from here on would be lost (at most 9 lists, "
                    "or 19 `>`, one inside another); nest them less deeply")


@dataclass(frozen=True)
class Image:
    src: str
    alt: str
    line: int  # 0-based, within the scanned text


@dataclass(frozen=True)
class Formula:
    tex: str
    display: bool
    line: int


@dataclass
class Scan:
    """What a text holds that the reader must check; lines are 0-based within the text."""

    numbers: list[int] = field(default_factory=list)  # distinct deletion numbers, sorted
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, message) of malformed deletions
    images: list[Image] = field(default_factory=list)
    formulas: list[Formula] = field(default_factory=list)


def might_hold_extras(text: str) -> bool:
    """Whether :func:`scan` could find anything (most texts hold no image, deletion or formula)."""
    return "![" in text or has_cloze_marker(text) or has_math_marker(text)


def _alt(children: list[Any]) -> str:
    return "".join(c.content for c in children if c.type in ("text", "code_inline") or c.type in MATH_TOKENS)


def scan(text: str) -> Scan:
    """Deletions, images and formulas of a Markdown text, parsed as the renderer parses it."""
    out = Scan()
    if not might_hold_extras(text):
        return out
    env: dict[str, Any] = {}
    tokens = parser().parse(text, env)
    numbers: set[int] = set()
    line = 0
    for token in tokens:
        if token.map is not None:
            line = token.map[0]
        if token.type in MATH_TOKENS:  # a $$…$$ block
            out.formulas.append(Formula(token.content, True, line))
            if has_cloze_marker(token.content):
                out.problems.append((line, "a cloze deletion inside a formula; put the whole formula in the "
                                           "deletion instead: {{c1::$$…$$}}"))
        if token.type != "inline":
            continue
        found = env.pop(PROBLEMS, [])
        out.problems += [(line + token.content[:p.offset].count("\n"), p.message)
                         for p in found if isinstance(p, ClozeProblem)]
        for child in token.children or []:  # a flat list: an image inside a link or deletion is a sibling
            if child.type == "cloze_open":
                numbers.add(child.meta["number"])
            elif child.type == "image":
                out.images.append(Image(child.attrGet("src") or "", _alt(child.children or []), line))
            elif child.type in MATH_TOKENS:
                out.formulas.append(Formula(child.content, child.type in DISPLAY_TOKENS, line))
                if has_cloze_marker(child.content):
                    out.problems.append((line, "a cloze deletion inside a formula; put the whole formula in the "
                                               "deletion instead: {{c1::$…$}}"))
    out.problems += [(line, p.message) for p in env.pop(PROBLEMS, []) if isinstance(p, ClozeProblem)]
    out.numbers = sorted(numbers)
    return out

