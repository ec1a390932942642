"""A model of how tall a card face's text is, from the fonts' advance widths: where measuring starts.

WeasyPrint's layout of a face costs in proportion to the text laid out, and a face searched for its size or for
where its first card ends was laid out whole several times (9 pt, then smaller sizes, then runs of blocks). This
model lays the text out approximately, in Python and in microseconds: the advance widths of the sans and mono
faces (read once from the font files with fontTools), greedy line breaking between words, code lines wrapped at
the columns they hold, the margins of cards.css. It chooses the first size a face is measured at and guesses where
a card ends; it never decides anything on its own: every face goes on a card only after WeasyPrint measured it
(``layout._search``), so a wrong estimate costs layouts, never a clipped card. Content it does not know (tables,
images, formulas, quotes) gets no estimate, and such a face is searched the old way.

Calibrated on the sample bank against WeasyPrint's measures (``tests/test_cards.py`` checks the estimates stay
within ``TOLERANCE`` of the real heights there).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from .split import Atom, Element, Node, join, parse

PX_PER_PT = 96 / 72
PX_PER_MM = 96 / 25.4
#: cards.css: text line height, code line height, paragraph gap (em), heading gap (em), list indent (em).
LINE = 1.3
CODE_LINE = 1.22
GAP_EM = 0.45
HEADING_GAP_EM = 0.3
LIST_INDENT_EM = 1.25
#: A code block's padding (.8 mm above and below, 1.2 mm at the sides) and border (.5 pt).
PRE_PAD_Y_MM, PRE_PAD_X_MM, PRE_BORDER_PT = 0.8, 1.2, 0.5
#: Inline code's padding (.15 em at each side).
CODE_PAD_EM = 0.15
#: WeasyPrint's lines hold less than the advance widths say (its shaping, the variable font's instance): the
#: model's line is this much shorter (calibrated on the sample bank: most estimates exact, the rest a line short).
SPREAD = 1.05
#: Bold text is wider than the regular instance whose widths the variable font's default holds.
BOLD_WIDTH = 1.1
#: The mono face's advance (em) and the hanging indent of a wrapped code line (ch): books.fonts, books.html.
MONO_EM = 0.6
HANG = 2
#: How far from WeasyPrint's heights the estimates may be on the sample bank (a fraction of the height).
TOLERANCE = 0.15
_INLINE = frozenset({"strong", "b", "em", "i", "a", "span", "code", "kbd", "mark", "s", "del", "u", "ins", "small",
                     "abbr", "cite", "q", "var", "samp", "time", "br", "wbr"})
_GAPPED = frozenset({"p", "ul", "ol", "pre"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})


class UnmodelledError(Exception):
    """Content the model does not lay out (tables, images, formulas): no estimate."""


@dataclass(frozen=True)
class Advances:
    """Advance widths in ems by character: the sans face upright and italic (mono is fixed)."""

    upright: dict[int, float]
    italic: dict[int, float]
    fallback: float

    def width(self, text: str, italic: bool = False, bold: bool = False, mono: bool = False) -> float:
        """Width of ``text`` in ems."""
        if mono:
            return MONO_EM * len(text)
        table = self.italic if italic else self.upright
        em = sum(table.get(ord(c), self.fallback) for c in text)
        return em * BOLD_WIDTH if bold else em


def _advances(path: Path) -> dict[int, float]:
    from fontTools.ttLib import TTFont

    font = TTFont(path, lazy=True)
    units = font["head"].unitsPerEm
    metrics = font["hmtx"].metrics
    return {code: metrics[name][0] / units for code, name in font.getBestCmap().items() if name in metrics}


@cache
def advances() -> Advances:
    """The sans face's widths, read once (their files are the ones the cards are laid out with)."""
    from ...books.fonts import SANS, text_faces

    faces = {face.style: face.path for face in text_faces() if face.family == SANS}
    upright = _advances(faces["normal"])
    italic = _advances(faces.get("italic", faces["normal"]))
    return Advances(upright, italic, upright.get(ord("n"), 0.55))


@dataclass(frozen=True)
class Style:
    bold: bool = False
    italic: bool = False
    mono: bool = False


def _words(node: Node, style: Style, out: list[tuple[str, Style]]) -> None:
    """The inline content of ``node`` as (text, style) runs; an element the model does not know raises."""
    if isinstance(node, str):
        out.append((node, style))
        return
    tag = node.tag
    if tag == "br":
        out.append(("\n", style))
        return
    if tag not in _INLINE:
        raise UnmodelledError(tag)
    if tag == "code":
        out.append(("\u0000", style))  # inline code's padding: drawn as a narrow box of its own
    inner = Style(style.bold or tag in ("strong", "b"), style.italic or tag in ("em", "i", "cite", "var"),
                  style.mono or tag in ("code", "kbd", "samp"))
    for child in node.children:
        _words(child, inner, out)


def _lines(runs: list[tuple[str, Style]], width_em: float, fonts: Advances) -> int:
    """Lines greedy breaking between words takes for ``runs`` on a line ``width_em`` wide; a word longer than a
    line breaks anywhere (cards.css: overflow-wrap: anywhere)."""
    lines, x = 1, 0.0
    space = fonts.width(" ")
    word = 0.0
    pending_space = False

    def place(w: float, spaced: bool) -> None:
        nonlocal lines, x
        gap = space if spaced and x > 0 else 0.0
        if x + gap + w <= width_em:
            x += gap + w
            return
        if x > 0:
            lines += 1
            x = 0.0
        if w > width_em:
            more = math.ceil(w / width_em) - 1
            lines += more
            x = w - more * width_em
        else:
            x = w

    for text, style in runs:
        if text == "\u0000":
            word += 2 * CODE_PAD_EM
            continue
        if text == "\n":
            place(word, pending_space)
            word, pending_space = 0.0, False
            lines += 1
            x = 0.0
            continue
        start = 0
        for i, char in enumerate(text + " "):
            if i < len(text) and not char.isspace():
                continue
            if i > start:
                word += fonts.width(text[start:i], style.italic, style.bold, style.mono)
            if i < len(text):  # a space ends the word
                if word:
                    place(word, pending_space)
                    word = 0.0
                    pending_space = True
                elif x > 0:
                    pending_space = True
            start = i + 1
    if word:
        place(word, pending_space)
    return lines


def _code_height(pre: Element, width_px: float, size_px: float) -> float:
    """A code block: each line wrapped at the columns it holds, continuation lines indented (hanging)."""
    text = "".join(_text(pre))
    found = text.split("\n")
    if found and found[-1] == "":
        found.pop()
    inner = width_px - 2 * PRE_PAD_X_MM * PX_PER_MM - 2 * PRE_BORDER_PT * PX_PER_PT
    columns = max(1, int(inner / (MONO_EM * size_px)))
    count = 0
    for line in found:
        line = line.expandtabs(4).rstrip()
        indent = len(line) - len(line.lstrip(" "))
        rest = max(1, columns - indent - HANG)
        count += 1 + (math.ceil((len(line) - columns) / rest) if len(line) > columns else 0)
    return count * CODE_LINE * size_px + 2 * PRE_PAD_Y_MM * PX_PER_MM + 2 * PRE_BORDER_PT * PX_PER_PT


def _text(node: Node) -> list[str]:
    if isinstance(node, str):
        return [node]
    return [piece for child in node.children for piece in _text(child)]


def _blocks(children: list[Node], width_px: float, size_px: float, fonts: Advances, style: Style) -> float:
    """Height (CSS px) of a sequence of block siblings, with the gaps between them (none after the last)."""
    height = 0.0
    gap = 0.0
    inline: list[tuple[str, Style]] = []

    def flush() -> None:
        nonlocal height, gap
        if any(text.strip() for text, _ in inline):
            height += gap + _lines(inline, width_px / size_px / SPREAD, fonts) * LINE * size_px
            gap = 0.0
        inline.clear()

    for child in children:
        if isinstance(child, str) or child.tag in _INLINE:
            _words(child, style, inline)
            continue
        flush()
        tag = child.tag
        if tag == "p" or tag in _HEADINGS:
            runs: list[tuple[str, Style]] = []
            for grand in child.children:
                _words(grand, Style(style.bold or tag in _HEADINGS, style.italic, style.mono), runs)
            body = _lines(runs, width_px / size_px / SPREAD, fonts) * LINE * size_px if runs else 0.0
            height += gap + body
            gap = (HEADING_GAP_EM if tag in _HEADINGS else GAP_EM) * size_px
        elif tag in ("ul", "ol"):
            if "table-rows" in (child.attr("class") or ""):
                raise UnmodelledError("table")
            items = [c for c in child.children if isinstance(c, Element)]
            inner = width_px - LIST_INDENT_EM * size_px
            body = sum(_blocks(list(li.children), inner, size_px, fonts, style) for li in items)
            height += gap + body
            gap = GAP_EM * size_px
        elif tag == "pre":
            height += gap + _code_height(child, width_px, size_px)
            gap = GAP_EM * size_px
        elif tag == "div" and not child.attrs:
            height += gap + _blocks(list(child.children), width_px, size_px, fonts, style)
            gap = GAP_EM * size_px
        else:
            raise UnmodelledError(tag)
    flush()
    return height


@lru_cache(maxsize=8)
def _parsed(html: str) -> Element:
    return parse(html)


def text_height(html: str, size_pt: float, width_mm: float, bold: bool = False) -> float | None:
    """Estimated height (CSS px) of a face's body ``html`` at ``size_pt`` in a column ``width_mm`` wide, or None
    when it holds content the model does not lay out."""
    try:
        return _blocks(list(_parsed(html).children), width_mm * PX_PER_MM, size_pt * PX_PER_PT, advances(),
                       Style(bold=bold))
    except UnmodelledError:
        return None


@dataclass(frozen=True)
class TextModel:
    """The model for faces ``width_mm`` wide: a body's height, and how much of a card each run of atoms takes."""

    width_mm: float

    def height(self, html: str, size_pt: float) -> float | None:
        return text_height(html, size_pt, self.width_mm)

    def weights(self, queue: list[Atom], size_pt: float) -> list[float] | None:
        """The model's height of each run ``queue[:k]`` (CSS px), or None where it has none: a code line is its
        lines, a piece of a paragraph its share of a line, a block its height and the gap after it."""
        size_px = size_pt * PX_PER_PT
        width_px = self.width_mm * PX_PER_MM
        fonts = advances()
        out = [0.0]
        for atom in queue:
            inside = [el.tag for el, _ in atom.chain]
            if "pre" in inside:
                height = _code_height(Element("pre", children=list(atom.nodes)), width_px, size_px)
                height -= 2 * PRE_PAD_Y_MM * PX_PER_MM + 2 * PRE_BORDER_PT * PX_PER_PT
            elif inside and all(isinstance(n, str) or n.tag in _INLINE for n in atom.nodes):
                runs: list[tuple[str, Style]] = []
                try:
                    for node in atom.nodes:
                        _words(node, Style(), runs)
                except UnmodelledError:
                    return None
                em = sum(fonts.width(t, st.italic, st.bold, st.mono) for t, st in runs if t not in "\u0000\n")
                height = LINE * size_px * em * SPREAD / (width_px / size_px)
            else:
                found = text_height(join([atom]), size_pt, self.width_mm)
                if found is None:
                    return None
                node = atom.nodes[0]
                gapped = isinstance(node, Element) and node.tag in _GAPPED
                height = found + (GAP_EM * size_px if gapped else 0.0)
            out.append(out[-1] + height + 0.01)
        return out
