"""Wide tables on paper: smaller letters before broken words, and never past the page edge.

A screen scrolls a wide table sideways inside its own box (Anki, EPUB: CSS alone). Paper cannot scroll, and a
table whose words are wider together than the page either runs past the edge or has its words broken in the
middle. So before layout each printed table's narrowest possible width is estimated from its words (the longest
word of each column, in the booklet's fonts' average glyph widths) and, when that is wider than the text column,
the table gets a smaller font size, down to a readable floor: the layout then wraps its cells only between words.
Only when even the floor is too wide does the table get ``class="squeezed"``: its words may then be hyphenated or
broken (the print CSS says how). Links and inline code count as breakable: the print CSS lets them break anywhere.

Runs only on the renderer's and the sanitiser's own HTML, whose tables are regular (``<table>``, ``<tr>``,
``<th>``/``<td>`` with at most an alignment or span attribute).
"""

from __future__ import annotations

import html
import re

PT_PER_MM = 72 / 25.4
#: Glyph advance in em, per kind of character (DejaVu Serif Bold and Sans Bold, rounded up: header cells are bold,
#: and a width estimated too small would let the layout break words).
_WIDTH = {"lower": 0.64, "upper": 0.80, "digit": 0.70, "other": 0.62, "wide": 1.0}
#: A cell's horizontal padding and border, in em of the table's font (book.css: `padding: .3em .45em`).
CELL_EXTRA_EM = 0.95
#: A word counted for a link or inline code, which may break anywhere.
BREAKABLE_EM = 3.0

_TABLE = re.compile(r"<table\b([^>]*)>(.*?)</table>", re.S)
_ROW = re.compile(r"<tr\b[^>]*>(.*?)</tr>", re.S)
_CELL = re.compile(r"<t([hd])\b[^>]*>(.*?)</t\1>", re.S)
_BREAKABLE = re.compile(r"<(code|a)\b[^>]*>.*?</\1>", re.S)
_TAG = re.compile(r"<[^>]+>")


def _glyph(ch: str) -> float:
    if ch.islower():
        return _WIDTH["lower"]
    if ch.isupper():
        return _WIDTH["upper"]
    if ch.isdigit():
        return _WIDTH["digit"]
    return _WIDTH["wide"] if ord(ch) > 0x2E80 else _WIDTH["other"]


def _longest_word_em(cell: str) -> float:
    """The widest unbreakable run of the cell's text, in em; links and code count as breakable."""
    text = html.unescape(_TAG.sub("", _BREAKABLE.sub(" ", cell)))
    words = [sum(_glyph(ch) for ch in word) for word in text.split()]
    if _BREAKABLE.search(cell):
        words.append(BREAKABLE_EM)
    return max(words, default=0.0)


def narrowest_em(table_html: str) -> float:
    """How wide the table must be, in em of its font, to break no word: each column as wide as its longest word."""
    columns: list[float] = []
    for row in _ROW.findall(table_html):
        for i, (_kind, cell) in enumerate(_CELL.findall(row)):
            need = _longest_word_em(cell) + CELL_EXTRA_EM
            if i < len(columns):
                columns[i] = max(columns[i], need)
            else:
                columns.append(need)
    return sum(columns)


def fit_tables(fragment: str, width_mm: float, font_pt: float, floor_pt: float) -> str:
    """Every table in ``fragment`` that is too wide for ``width_mm`` at ``font_pt`` gets the largest font size that
    fits, not below ``floor_pt``; one that does not fit even then is also marked ``squeezed``."""
    if "<table" not in fragment:
        return fragment
    width_pt = width_mm * PT_PER_MM

    def fit(match: re.Match[str]) -> str:
        need = narrowest_em(match.group(2))
        if need * font_pt <= width_pt:
            return match.group(0)
        size = max(floor_pt, width_pt / need)
        squeezed = ' class="squeezed"' if size * need > width_pt else ""
        return f'<table{match.group(1)}{squeezed} style="font-size: {size:.2f}pt">{match.group(2)}</table>'

    return _TABLE.sub(fit, fragment)


def scrollable_tables(fragment: str) -> str:
    """Tables for a screen, where a wide one scrolls sideways inside its own box: each can take the keyboard's
    focus, so it can be scrolled without a pointer (WCAG 2.1.1; axe's scrollable-region-focusable)."""
    return fragment.replace("<table>", '<table tabindex="0">') if "<table>" in fragment else fragment
