"""Math in Markdown banks: where a formula is, and whether it can be typeset.

Delimiters: ``$…$`` (inline) and ``$$…$$`` (display, on its own lines or inside a paragraph) read by
mdit-py-plugins' dollarmath, with the rules that keep prices and code text: the opening ``$`` must be followed
by a non-space and not preceded by a digit, the closing ``$`` preceded by a non-space and not followed by a digit
(``$5 and $10`` and ``costs $5`` stay text), ``\\$`` is a literal dollar, code spans and code blocks are never
math. ``\\(…\\)`` and ``\\[…\\]`` (what Anki and MathJax write) are read by :func:`_brackets` here: the same
tokens, found in linear time.

Tokens: ``math_inline`` (inline) and ``math_inline_double``/``math_block`` (display), ``content`` the TeX.

:func:`mathml` converts TeX to MathML with latex2mathml (pure Python): the one conversion that decides whether
a formula can be typeset. An unknown command, a syntax error or a formula over the size bounds raises
:class:`MathError`; the bank reader warns with FILE:LINE and every output prints the formula as code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.rules_inline import StateInline

#: Longest formula typeset; longer ones print as code (a formula is a line or two, not a page).
MAX_TEX_CHARS = 4_000
#: Deepest brace nesting typeset (the converter recurses once per level).
MAX_TEX_DEPTH = 50
MATH_TOKENS = frozenset({"math_inline", "math_inline_double", "math_block", "math_block_label"})
DISPLAY_TOKENS = frozenset({"math_inline_double", "math_block", "math_block_label"})
_UNKNOWN_COMMAND = re.compile(r">\s*\\[A-Za-z]")


class MathError(ValueError):
    """A formula that cannot be typeset; the message says why in one clause."""


def has_math_marker(text: str) -> bool:
    """Cheap test before any parsing: could ``text`` hold a formula at all?"""
    return "$" in text or "\\(" in text or "\\[" in text


def _escaped(src: str, pos: int) -> bool:
    """Whether the character at ``pos`` is escaped by an odd run of backslashes before it."""
    count = 0
    while pos - count - 1 >= 0 and src[pos - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def _brackets(state: StateInline, silent: bool) -> bool:
    r"""``\(…\)`` inline and ``\[…\]`` display. The next closing delimiter ends a formula; searches for it are
    remembered per text, so a text full of unclosed openings is still read in linear time."""
    src, pos = state.src, state.pos
    if src[pos] != "\\" or pos + 1 >= state.posMax or src[pos + 1] not in "([" or _escaped(src, pos):
        return False
    closer = "\\)" if src[pos + 1] == "(" else "\\]"
    memo = state.env.setdefault("_math_close", {})
    known = memo.get((id(src), closer))
    if known is not None and known[0] <= pos + 2 and (known[1] < 0 or known[1] >= pos + 2):
        end = known[1]
    else:
        end = src.find(closer, pos + 2, state.posMax)
        memo[(id(src), closer)] = (pos + 2, end)
    if end < 0 or not src[pos + 2:end].strip():
        return False
    if not silent:
        token = state.push("math_inline" if closer == "\\)" else "math_inline_double", "math", 0)
        token.content = src[pos + 2:end]
        token.markup = src[pos:pos + 2]
    state.pos = end + 2
    return True


def _no_code_inside(rule: Any) -> Any:
    """dollarmath's inline rule, except that a formula never holds a backtick (``$10, `$x$` `` is a price and a
    code span, not a formula that ends inside the code) nor starts with ``]`` (Anki's ``[$]…[/$]`` is text)."""

    def guarded(state: StateInline, silent: bool) -> bool:
        start = state.pos
        if not rule(state, True):
            return False
        end, state.pos = state.pos, start
        inner = state.src[start:end].strip("$")
        if "`" in inner or inner.startswith("]"):  # code, or Anki's own [$]…[/$] (kept as inert text)
            return False
        if silent:
            state.pos = end
            return True
        return bool(rule(state, False))

    return guarded


def math_plugin(md: MarkdownIt) -> None:
    """Add the math rules (see the module docstring) to a parser; rendering is the renderer's business."""
    from mdit_py_plugins.dollarmath import dollarmath_plugin
    from mdit_py_plugins.dollarmath.index import math_inline_dollar

    dollarmath_plugin(md, allow_labels=False, allow_space=False, allow_digits=False, allow_blank_lines=False,
                      double_inline=True)
    rules = md.block.ruler.__rules__  # markdown-it's own list (its Ruler has no public lookup by name)
    index = next(i for i, rule in enumerate(rules) if rule.name == "math_block")
    md.block.ruler.at("math_block", _linear_block(rules[index].fn))
    md.inline.ruler.at("math_inline", _no_code_inside(math_inline_dollar(allow_space=False, allow_digits=False,
                                                                         allow_double=True)))
    md.inline.ruler.before("escape", "math_brackets", _brackets)


@dataclass(frozen=True)
class _Scanned:
    """What the ``$$`` block rule's look-ahead found after the opener on line ``first``: ``stop`` is the first line
    after it that is blank or ends with ``$$`` (``closes``), or the end of the range when there is none. The lines
    between are neither, so an opener on any line from ``first`` up to ``stop`` stops at ``stop`` too, as long as
    that line reads the same (``at``, where its text starts: a blockquote moves it)."""

    src: str
    first: int
    stop: int
    closes: bool
    at: int


def _text_start(state: Any, line: int, end: int) -> int:
    return state.bMarks[line] + state.tShift[line] if line < end else -1


def _scan(state: Any, first: int, end: int) -> _Scanned:
    """The look-ahead dollarmath's block rule does, with what ended it (its own never tells)."""
    stop = first + 1
    while stop < end:
        text = state.src[state.bMarks[stop] + state.tShift[stop]:state.eMarks[stop]].strip()
        if text.endswith("$$"):
            return _Scanned(state.src, first, stop, True, _text_start(state, stop, end))
        if not text:
            break
        stop += 1
    return _Scanned(state.src, first, stop, False, _text_start(state, stop, end))


def _linear_block(rule: Any) -> Any:
    """dollarmath's ``$$`` block rule, in linear time over a document: an opening ``$$`` looks ahead for its closing
    line up to a blank line, and a text of openers that never close (``$$x`` and a heading, again and again) made
    every opener scan to the same blank line (quadratic: 35 s for 16,000 lines). Each look-ahead is remembered
    (:class:`_Scanned`): a later opener before the line it stopped at stops there too, and when that line is no
    closing one, the rule would find none (so it is not run).

    The look-ahead is this module's own, not inferred from the rule's answer: the rule also says no without looking
    ahead (at ``$$ a $$ b``, and at a no-break space before ``$$``, which Python's ``strip`` takes and markdown-it's
    indentation does not), so reading its no as "no closing below" hid a real block below such a line."""
    def block(state: Any, start: int, end: int, silent: bool) -> bool:
        if not state.src.startswith("$$", state.bMarks[start] + state.tShift[start], state.eMarks[start]):
            return bool(rule(state, start, end, silent))  # not an opener: the rule says no at once
        memo = state.env.setdefault("qaexport.math_scanned", {})
        known = memo.get(end)
        if (known is not None and known.src is state.src and known.first <= start < known.stop
                and known.at == _text_start(state, known.stop, end)):
            return known.closes and bool(rule(state, start, end, silent))
        found = bool(rule(state, start, end, silent))
        if not found:
            memo[end] = _scan(state, start, end)
        return found

    return block


def _depth(tex: str) -> int:
    depth = deepest = 0
    for ch in tex:
        if ch == "{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == "}":
            depth -= 1
    return deepest


def mathml(tex: str, display: bool) -> str:
    """MathML for a TeX formula, or :class:`MathError` when it cannot be typeset."""
    tex = tex.strip()
    if not tex:
        raise MathError("the formula is empty")
    if len(tex) > MAX_TEX_CHARS:
        raise MathError(f"the formula is {len(tex):,} characters, over the {MAX_TEX_CHARS:,} limit")
    if _depth(tex) > MAX_TEX_DEPTH:
        raise MathError(f"braces nest deeper than {MAX_TEX_DEPTH} levels")
    from latex2mathml.converter import convert

    try:
        out = convert(tex, display="block" if display else "inline")
    except RecursionError:
        raise MathError("the formula nests too deeply") from None
    except Exception as exc:  # latex2mathml's errors share no base class
        reason = str(exc).strip() or type(exc).__name__
        raise MathError(f"TeX syntax error ({reason[:60]})") from None
    unknown = _UNKNOWN_COMMAND.search(out)
    if unknown:
        name = re.match(r"\\[A-Za-z]+", out[unknown.end() - 2:])
        raise MathError(f"unknown command {name.group(0) if name else '?'}")
    _check_markup(out, tex)
    return out


def _check_markup(out: str, tex: str) -> None:
    """latex2mathml writes some TeX as text that is no XML (``aligned``'s ``&`` as ``<mi>&</mi>``, ``\\text{a<b}``
    as ``<mtext>a<b</mtext>``). The drawing (ziamath), the EPUB and the site refused it and printed code, while the
    bank reader, which asks only this function, said nothing, and Anki's MathJax typeset it: one formula, told
    apart by no one (trial10). Refused here, it is code everywhere and the reader warns, with the way out."""
    from xml.etree import ElementTree

    try:
        ElementTree.fromstring(out)
    except ElementTree.ParseError:
        if re.search(r"\\begin\s*\{aligned\}", tex):
            raise MathError("the aligned environment is not supported; write \\begin{align*} … \\end{align*}") \
                from None
        raise MathError("it converts to broken MathML, as a `<`, `>` or `&` inside \\text{…} does; write those "
                        "outside it, as \\lt, \\gt, \\&") from None
