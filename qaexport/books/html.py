"""What the two books (PDF and EPUB) share on top of the rendered HTML: code lines, the wrap mark, the subtitle.

Long code lines wrap on paper and on phones. Each code line becomes its own block (``<span class="ln inN">``,
N = its indentation in columns) so a wrapped line can hang under its own indentation with a ``↪`` mark drawn by
CSS as a background image: the mark is not text, so copying the code or extracting the PDF's text gives the code
exactly. The compact highlighter never lets a span cross a line, so splitting at newlines keeps the HTML whole.
Class names are ones Pygments never gives a token (``w`` would be its whitespace class, coloured by themes).
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from ..model import Library, Question

if TYPE_CHECKING:
    from ..render import Rendered

#: Indentation classes go up to this many columns; deeper lines hang at this depth.
MAX_INDENT = 40
#: Continuation lines start this many columns right of their line's indentation.
HANG = 2
#: Lines at least this long get the class ``wrap``: they may wrap on paper (a code line holds ~100 columns on A4
#: and Letter, ~90 two lists deep). The PDF splits only blocks holding such a line into line boxes and draws the
#: ↪ column only beside them: WeasyPrint writes a pattern per box, even an empty one (measured on a 100-question
#: code-heavy bank: a mark on every line tripled the file; on lines from 60 columns it cost 1 s of 7).
MAY_WRAP = 88
WRAP_MARK = "wrap-mark.svg"
#: Descriptions kept as HTML (:func:`description_html`): a book has one per framework, topic and subtopic at most.
DESCRIPTIONS_KEPT = 4096

# The code between the tags as runs of "not <" (a lazy ".*?" tried "</code>" at every character: half the time).
_CODE_BLOCK = re.compile(r'(<pre class="hl">\s*<code[^>]*>)([^<]*(?:<(?!/code>)[^<]*)*)(</code>\s*</pre>)')
_TAG = re.compile(r"<[^>]+>")


_LEAD = re.compile(r"(?:<[^>]*>| )*")


def _line(line: str, columns: int, holds: int | None = None) -> str:
    if holds is not None:
        return _line_held(line, columns, holds)
    if "\t" in line or len(line) >= MAY_WRAP or (columns and len(line) > columns):
        text = html.unescape(_TAG.sub("", line)).expandtabs(4)
        indent = len(text) - len(text.lstrip(" "))
        wraps = " wrap" if len(text) >= MAY_WRAP else ""
        if columns and len(text) > columns and max(map(len, text.split())) > columns - min(indent, MAX_INDENT) - HANG:
            wraps += " brk"
    else:  # most lines: shorter than a wrap as written (tags and entities only make them longer), no tab
        lead = _LEAD.match(line).group()  # type: ignore[union-attr]  # the spaces and tags it starts with
        indent = len(_TAG.sub("", lead) if "<" in lead else lead)
        wraps = ""
    return f'<span class="ln in{min(indent, MAX_INDENT)}{wraps}">{line}\n</span>'


def _line_held(line: str, columns: int, holds: int) -> str:
    """A line marked ``wrap`` unless it surely fits one line of its block (``holds`` columns): ASCII in the mono
    face, no tab, at most ``holds`` characters."""
    if "\t" in line or len(line) > min(holds, columns or holds) or "&" in line or not line.isascii():
        text = html.unescape(_TAG.sub("", line)).expandtabs(4)
        indent = len(text) - len(text.lstrip(" "))
        wraps = " wrap" if "\t" in line or len(text) > holds or not text.isascii() else ""
        if columns and len(text) > columns and max(map(len, text.split())) > columns - min(indent, MAX_INDENT) - HANG:
            wraps += " brk"
    else:  # most lines: short ASCII without a tab or an entity (tags only make a line longer than its text)
        lead = _LEAD.match(line).group()  # type: ignore[union-attr]  # the spaces and tags it starts with
        indent = len(_TAG.sub("", lead) if "<" in lead else lead)
        wraps = ""
    return f'<span class="ln in{min(indent, MAX_INDENT)}{wraps}">{line}\n</span>'


#: Elements that hold nothing (no end tag), for :class:`_OpenElements`.
_VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                   "wbr"})
_ANY_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*?(/?)>")


class _OpenElements:
    """The elements open at points of an HTML text, read forward once (the code blocks of a text, in order)."""

    def __init__(self, text: str) -> None:
        self.text, self.pos, self.stack, self.lost = text, 0, list[str](), False

    def at(self, pos: int) -> tuple[str, ...] | None:
        """The names of the elements open at ``pos`` (outermost first); None where the tags do not nest."""
        for tag in _ANY_TAG.finditer(self.text, self.pos, pos):
            name = tag.group(2).lower()
            if tag.group(1):
                if self.stack and self.stack[-1] == name:
                    self.stack.pop()
                else:
                    self.lost = True
            elif name not in _VOID and not tag.group(3):
                self.stack.append(name)
        self.pos = max(self.pos, pos)
        return None if self.lost else tuple(self.stack)


def _visible_length(line: str) -> int:
    return len(html.unescape(_TAG.sub("", line)).expandtabs(4))


def code_lines(rendered_html: str, only_blocks_wider_than: int = 0, columns: int = 0,
               holds: Callable[[tuple[str, ...] | None], int] | None = None) -> str:
    """Wrap each line of every highlighted code block in a block span that knows its indentation.

    ``only_blocks_wider_than``: leave blocks whose lines are all shorter alone (they cannot wrap on paper, and
    WeasyPrint pays per box: a block per line cost the PDF a fifth of its layout time on code-heavy banks).

    ``columns``: the characters a code line holds on paper. A line with a word (a run without spaces) longer
    than its continuation lines hold gets the class ``brk``, which may break it between any two characters.
    ``overflow-wrap: anywhere`` should do that alone, but WeasyPrint does not break a word made of several
    inline boxes (highlighted tokens: ``enqueue_job(<span class="s">"build_report"</span>,``; Kozea/WeasyPrint
    #1614): the rest of the word ran out of the code block and the card. Only such lines get it, so every other
    line still wraps at spaces.

    ``holds``: the characters each line of a block surely fits on one line, from the elements the block is in
    (None: the tags do not nest): only lines that may wrap there get the class ``wrap`` (the cards draw the ↪
    column only beside those: WeasyPrint lays out and draws the column's box, empty or not, on every marked line).
    """
    if "<pre" not in rendered_html:
        return rendered_html

    opened = _OpenElements(rendered_html) if holds is not None else None

    def lines(match: re.Match[str]) -> str:
        found = match.group(2).split("\n")
        if found and found[-1] == "":
            found.pop()
        if only_blocks_wider_than and all(_visible_length(line) < only_blocks_wider_than for line in found):
            return match.group(0)
        held = holds(opened.at(match.start())) if holds is not None and opened is not None else None
        return f"{match.group(1)}{''.join(_line(line, columns, held) for line in found)}{match.group(3)}"

    return _CODE_BLOCK.sub(lines, rendered_html)


def code_line_css(line_height_em: float, mark_url: str = WRAP_MARK, marked: str = ".ln", positioned: str = ".ln"
                  ) -> str:
    """Hanging indents per indentation depth and the ↪ column on continuation lines (below a line's first) of
    the ``marked`` lines (``.ln``: all; ``.wrap``: those that may wrap); ``positioned``: the lines that are the
    column's containing block (``.wrap`` too: a positioned box is drawn in a layer of its own)."""
    lh = f"{line_height_em}em"
    rules = [
        "pre.hl .ln { display: block; position: relative; }" if positioned == ".ln" else
        f"pre.hl .ln {{ display: block; }} pre.hl {positioned} {{ position: relative; }}",
        "pre.hl .brk { word-break: break-all; }",  # a word longer than a line: see code_lines
        f'pre.hl {marked}::before {{ content: ""; position: absolute; top: {lh}; bottom: 0; width: {HANG}ch; '
        f'background-image: url("{mark_url}"); background-repeat: repeat-y; '
        f"background-size: {HANG}ch {lh}; background-position: 0 0; }}",
    ]
    for n in range(MAX_INDENT + 1):
        pad = n + HANG
        rules.append(f"pre.hl .in{n} {{ padding-left: {pad}ch; text-indent: -{pad}ch; }} "
                     f"pre.hl .in{n}::before {{ left: {n}ch; }}")
    return "\n".join(rules) + "\n"


def wrap_mark() -> Path:
    """The ↪ drawing (SVG paths, not a font glyph) shared by both books."""
    return Path(str(resources.files("qaexport").joinpath("templates", "books", WRAP_MARK)))


def cover_subtitle(library: Library) -> str:
    """The most specific description that matches the whole content: subtopic, then topic, then framework."""
    if len(library.frameworks) != 1:
        return ""
    fw = library.frameworks[0]
    if len(fw.topics) == 1:
        topic = fw.topics[0]
        if len(topic.subtopics) == 1 and topic.subtopics[0].description:
            return topic.subtopics[0].description
        if topic.description:
            return topic.description
    return fw.description


def cover_image(library: Library) -> dict[str, str] | None:
    """The cover image a bank's front matter names (``cover:``), as the books show it: its media name and alt
    text; None without one (or when it was left out)."""
    if library.cover is None or library.cover[0] not in library.media:
        return None
    name, alt = library.cover
    return {"name": name, "alt": alt}


@functools.lru_cache(maxsize=DESCRIPTIONS_KEPT)
def description_html(text: str, reader: bool = False) -> Markup:
    """A description (inline Markdown: code, emphasis, links, math) as HTML for a lead paragraph or a cover: its
    formulas drawn for print, or as MathML for a ``reader`` (an EPUB reading system). Kept (the same text gives the
    same HTML): an exporter makes them while the texts render (``EpubExporter.prepare_alone``), its export finds
    them."""
    from ..render.markdown import inline_html

    if not text:
        return Markup("")
    html = inline_html(text)
    return Markup(for_reader(html) if reader else for_print(html))


def description_text(text: str) -> str:
    """A description as plain text, its Markdown marks gone (metadata, the drawn cover image)."""
    from ..formats.html import to_text

    return to_text(description_html(text, reader=True)) if text else ""


# ---------------------------------------------------------------------------------------------- bounded layout

#: A run of characters with no break opportunity longer than this gets one (a zero-width space) every
#: ``BREAK_EVERY`` characters before layout: WeasyPrint lays the rest of a text out again for each line it breaks,
#: so a word that cannot fit costs the square of its length (one word of 190,000 characters: over five minutes).
#: No line of any page or card holds 120 characters, so only text that had to be cut anyway is touched.
LONG_RUN = 120
BREAK_EVERY = 16
#: Lines of one code block, rows and columns of one table, that the printed outputs lay out; the rest is left out
#: with a line saying so (and a warning): 100,000 code lines were 1,700 pages and minutes of layout, and 3,000
#: columns on a page are 0.07 mm each.
MAX_CODE_LINES = 1_000
MAX_TABLE_ROWS = 500
MAX_TABLE_COLUMNS = 40

_TABLE_TAG = re.compile(r"<table\b[^>]*>|</table>")
_ROW_START = re.compile(r"<tr\b[^>]*>")
_CELL = re.compile(r"<(t[dh])\b[^>]*>.*?</\1>", re.S)
_RUN = re.compile(rf"(?:[^\s<>&\u200b]|&#?\w+;){{{LONG_RUN},}}")
_CHARACTER = re.compile(r"&#?\w+;|.", re.S)


def printed(rendered: Rendered, question: Question, warn: Callable[[str], None]) -> tuple[str, str]:
    """A question's rendered question and answer as the printed outputs lay them out (:func:`printable`), with a
    warning naming the question for what was left out."""
    shown_question, cut = printable(for_print(rendered.question))
    answer, cut_answer = printable(for_print(rendered.answer))
    for note in cut + cut_answer:
        warn(f"{question.location}: question {question.id!r}: {note}; the EPUB, the site and the Anki deck "
             "hold it whole")
    return shown_question, answer


def printable(rendered_html: str) -> tuple[str, list[str]]:
    """Rendered HTML made safe to lay out in bounded time: long code blocks and tables cut (a line says how much
    was left out), runs without a break opportunity given some. Returns the HTML and what was cut, in words, for
    the exporter's warning. The HTML is the renderer's or the sanitiser's (canonical: tags are regular)."""
    notes: list[str] = []
    out = rendered_html
    if "<pre" in out:
        out = _kept(out, _CODE_BLOCK.sub(lambda m: _cut_code(m, notes), out))
    if "<table" in out:
        out = _kept(out, _cut_tables(out, notes))
    if _RUN.search(out):
        out = _kept(out, _break_runs(out))
    return out, notes


def _kept(old: str, new: str) -> str:
    """``old`` when a pass changed nothing: a substitution returns a new string even then, and the book's view
    holds every printed text until it is laid out (50,000 questions with code held their HTML twice)."""
    return old if new == old else new


def _cut_code(match: re.Match[str], notes: list[str]) -> str:
    lines = match.group(2).split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) <= MAX_CODE_LINES:
        return match.group(0)
    notes.append(f"a code block of {len(lines):,} lines: the first {MAX_CODE_LINES:,} are printed")
    kept = "\n".join(lines[:MAX_CODE_LINES])
    left = f"⋯ {len(lines) - MAX_CODE_LINES:,} more lines not printed"
    return f"{match.group(1)}{kept}\n{left}\n{match.group(3)}"


def _cut_tables(text: str, notes: list[str]) -> str:
    """Each outermost table cut to ``MAX_TABLE_ROWS`` rows and ``MAX_TABLE_COLUMNS`` cells a row."""
    out, pos, depth, start = [], 0, 0, 0
    for tag in _TABLE_TAG.finditer(text):
        if tag.group(0) != "</table>":
            if depth == 0:
                start = tag.start()
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                out += [text[pos:start], _cut_table(text[start:tag.end()], notes)]
                pos = tag.end()
    out.append(text[pos:])
    return "".join(out)


def _cut_table(table: str, notes: list[str]) -> str:
    rows = [m.start() for m in _ROW_START.finditer(table)]
    if table.count("<table") > 1:  # a table inside a cell: cells cannot be told apart by pattern; rows only
        wide = 0
    else:
        wide = max((sum(1 for _ in _CELL.finditer(table, a, b)) for a, b in zip(rows, [*rows[1:], len(table)],
                                                                                 strict=True)), default=0)
    left = ""
    if len(rows) > MAX_TABLE_ROWS:
        notes.append(f"a table of {len(rows):,} rows: the first {MAX_TABLE_ROWS:,} are printed")
        left = f"⋯ {len(rows) - MAX_TABLE_ROWS:,} more rows not printed"
        end = rows[MAX_TABLE_ROWS]
        closing = "</tbody></table>" if "<tbody" in table[:end] and "</tbody>" not in table[:end] else "</table>"
        table = table[:end] + closing
    if wide > MAX_TABLE_COLUMNS:
        notes.append(f"a table of {wide:,} columns: the first {MAX_TABLE_COLUMNS:,} are printed")
        table = re.sub(r"(<tr\b[^>]*>)(.*?)(</tr>)", lambda m: m.group(1) + _first_cells(m.group(2)) + m.group(3),
                       table, flags=re.S)
        left = "; ".join(filter(None, [left, f"⋯ {wide - MAX_TABLE_COLUMNS:,} more columns not printed"]))
    return table + (f'<p class="cut">{left}</p>' if left else "")


def _first_cells(row: str) -> str:
    cells = list(_CELL.finditer(row))
    if len(cells) <= MAX_TABLE_COLUMNS:
        return row
    return row[:cells[MAX_TABLE_COLUMNS - 1].end()] + "\n"


def _break_runs(text: str) -> str:
    """A zero-width space every ``BREAK_EVERY`` characters of each long run, outside tags."""
    out, pos = [], 0
    for tag in re.finditer(r"<[^<>]*>", text):
        out.append(_RUN.sub(_broken, text[pos:tag.start()]))
        out.append(tag.group(0))
        pos = tag.end()
    out.append(_RUN.sub(_broken, text[pos:]))
    return "".join(out)


def _broken(match: re.Match[str]) -> str:
    characters = _CHARACTER.findall(match.group(0))
    return "\u200b".join("".join(characters[i:i + BREAK_EVERY]) for i in range(0, len(characters), BREAK_EVERY))

_MATHML = re.compile(r"<math\b[^>]*>.*?</math>", re.S)  # latex2mathml never nests <math>
_MATH_DRAWING = re.compile(r'<span class="math-svg"[^>]*>.*?</svg></span>', re.S)  # ziamath's SVG holds no span


def for_print(rendered_html: str) -> str:
    """A formula as drawn (SVG), for WeasyPrint, which has no MathML: the rendered HTML holds both forms."""
    return _MATHML.sub("", rendered_html) if "<math" in rendered_html else rendered_html


def for_reader(rendered_html: str) -> str:
    """A formula as MathML (with its TeX as ``alttext``), for EPUB reading systems and browsers, which typeset it
    themselves."""
    return _MATH_DRAWING.sub("", rendered_html) if "math-svg" in rendered_html else rendered_html


_MATHML_ALT = re.compile(r'<math\b[^>]*?\salttext="([^"]*)"[^>]*>.*?</math>', re.S)


def formulas_as_tex(rendered_html: str) -> str:
    """A formula as the TeX it was written in (plain text made from HTML: search indexes)."""
    return _MATHML_ALT.sub(r"\1", for_reader(rendered_html)) if "<math" in rendered_html else rendered_html
