"""Wide tables on paper: smaller letters before broken words, and never past the page edge.

A screen scrolls a wide table sideways inside its own box (Anki, EPUB: CSS alone). Paper cannot scroll, and a
table whose words are wider together than the page either runs past the edge or has its words broken in the
middle. So before layout each printed table's narrowest possible width is estimated from its words (the longest
word of each column, in the booklet's fonts' average glyph widths) and, when that is wider than the text column,
the table gets a smaller font size, down to a readable floor: the layout then wraps its cells only between words.
Only when even the floor is too wide does the table get ``class="squeezed"``: its words may then be hyphenated or
broken (the print CSS says how). Links and inline code count as breakable: the print CSS lets them break anywhere.
Where the page is a pocket card, such a table is written row by row instead (``stack``): a list with one item per
row, each cell after its column's heading, which wraps between words at the answer's own size; twelve columns on a
74 mm card would otherwise break nearly every word.

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
_SPAN = re.compile(r"\b(?:colspan|rowspan)=")


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


def fit_tables(fragment: str, width_mm: float, font_pt: float, floor_pt: float, stack: bool = False) -> str:
    """Every table in ``fragment`` that is too wide for ``width_mm`` at ``font_pt`` gets the largest font size that
    fits, not below ``floor_pt``; one that does not fit even then is also marked ``squeezed``, or, with ``stack``,
    written row by row (:func:`stacked`) when it has a heading row and no spans."""
    if "<table" not in fragment:
        return fragment
    width_pt = width_mm * PT_PER_MM

    def fit(match: re.Match[str]) -> str:
        need = narrowest_em(match.group(2))
        if need * font_pt <= width_pt:
            return match.group(0)
        size = max(floor_pt, width_pt / need)
        if size * need > width_pt:
            rows = stacked(match.group(2)) if stack else None
            if rows is not None:
                return rows
            return f'<table{match.group(1)} class="squeezed" style="font-size: {size:.2f}pt">{match.group(2)}</table>'
        return f'<table{match.group(1)} style="font-size: {size:.2f}pt">{match.group(2)}</table>'

    return _TABLE.sub(fit, fragment)


def stacked(table_body: str) -> str | None:
    """A table as a list, one item per body row: its first cell in bold, then each other cell after its column's
    heading (``Speed: moderate``), empty cells left out. None when the table has no heading row of ``<th>`` cells
    or spans cells (then rows and headings do not pair up)."""
    if _SPAN.search(table_body):
        return None
    rows = [_CELL.findall(row) for row in _ROW.findall(table_body)]
    if len(rows) < 2 or not rows[0] or any(kind != "h" for kind, _ in rows[0]):
        return None
    headings = [cell for _, cell in rows[0]]
    items = []
    for row in rows[1:]:
        cells = [cell.strip() for _, cell in row]
        if not any(cells):
            continue
        first, rest = (cells[0], cells[1:]) if cells[0] else ("", cells[1:])
        pairs = [f'<span class="table-pair"><span class="table-head">{headings[i + 1].strip()}:</span> {cell}</span>'
                 for i, cell in enumerate(rest) if cell and i + 1 < len(headings)]
        lead = f'<strong class="table-key">{first}</strong> ' if first else ""
        items.append(f"<li>{lead}{' '.join(pairs)}</li>")
    return f'<ul class="table-rows">{"".join(items)}</ul>'


def scrollable_tables(fragment: str) -> str:
    """Tables for a screen, where a wide one scrolls sideways inside its own box: each can take the keyboard's
    focus, so it can be scrolled without a pointer (WCAG 2.1.1; axe's scrollable-region-focusable)."""
    return fragment.replace("<table>", '<table tabindex="0">') if "<table>" in fragment else fragment
