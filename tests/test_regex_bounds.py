"""Every regular expression that sees input, audited: the ones that backtracked on crafted text were replaced by
one-pass scanners (held here to the patterns they replaced, as specifications). Each pattern that remains is listed
in ``ENTRY_POINTS`` with its public entry point and the units its special runs are made of;
``python -m tests.bounds_corpus --patterns`` measures how their time grows on long runs of those (up to the text
limits, 200,000 characters: a linear pattern takes milliseconds, the quadratic ones this audit found took minutes,
``_CODE_BLOCK`` 27 s on 360 KB). Speed is measured there, never asserted in a test."""

from __future__ import annotations

import re
from collections.abc import Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from qaexport.books import html as book_html
from qaexport.exporters.anki import text as anki_text
from qaexport.exporters.cards import split as cards_split
from qaexport.formats.html import code_blocks, inline, replace_code_blocks, sanitize, strip_breaks, to_text
from qaexport.model import slugify
from qaexport.render import Highlighter, MarkdownRenderer, Scheme, code_chars
from qaexport.sources import nuxt
from qaexport.sources.apkg import _replace_av, answer_without_front

_OLD_CODE_BLOCK = re.compile(r'<pre>\s*<code class="language-([^"]+)">(.*?)</code>\s*</pre>', re.S)
_OLD_BREAKS = re.compile(r"(?:\s*<br />)+\s*$|^(?:\s*<br />)+\s*")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(['<pre>', '<code class="language-a">', "</code>", "</pre>", " ", "x", "<br>"]),
                max_size=16))
def test_code_blocks_are_found_as_the_lazy_pattern_found_them(parts):
    text = "".join(parts)
    assert [(b.start, b.end, b.language) for b in code_blocks(text)] == \
        [(m.start(), m.end(), m.group(1)) for m in _OLD_CODE_BLOCK.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(["<br />", " ", "\n", "x", "<br", "/>", "\u2003"]), max_size=14))
def test_breaks_are_stripped_as_the_pattern_stripped_them(parts):
    text = "".join(parts)
    assert strip_breaks(text) == _OLD_BREAKS.sub("", text)


_md = MarkdownRenderer(Highlighter())


def _nuxt(text: str) -> None:
    nuxt._nuxt_data("<html>" + text)


#: name → (the function that runs the pattern on input, the units its runs are made of)
ENTRY_POINTS: dict[str, tuple[Callable[[str], object], list[str]]] = {
    "render.html code blocks": (lambda t: replace_code_blocks(sanitize(t, set()), lambda c, lang: c),
                                ['<pre><code class="language-a">x</code>y</pre>', "<pre><code class=", "</code>",
                                 "<pre>", " "]),
    "render.html inline (breaks, block tags, cells)": (lambda t: inline(sanitize(t, set()), set()),
                                                       [" ", "<br>", "<p", "<p>", "<td>", "<div ", "\n", "<br> "]),
    "render.html sanitize (links, numbers, classes)": (lambda t: sanitize(t, {"a.png"}),
                                                       ['<a href="http://', "<img src=", 'width="1', "<img ",
                                                        '<span class="', "<br ", "<wbr "]),
    "render.html to_text": (lambda t: to_text(sanitize(t, set())), ["<p>", "<br>", "<li", " "]),
    "render markdown (invisible characters, fences)": (lambda t: (_md.render(t, [Scheme.COMPACT]), code_chars),
                                                       ["\u202e", "```", "~~~", "```a\n", "`", "\x01", "\u200b"]),
    "render code_chars (fenced code)": (lambda t: code_chars([type("Q", (), {"answer": t})()]),
                                        ["```", "```a\n", "````a\n```b\n", "~", " ```a\n", "\n"]),
    "model slugify": (slugify, ["-", " ", "é", "a-", "--", "\u00a0"]),
    # inert() sees rendered HTML only (sanitised card HTML, or Markdown rendered with raw HTML escaped)
    "exporters.anki_text inert (tags, MathJax, Anki markup)": (
        lambda t: (anki_text.inert(sanitize(t, set())), anki_text.inert(_md.render(t, [Scheme.COMPACT])[
            Scheme.COMPACT])), ["\\(", "<!--", '<a "', "<a", "[sound:", "&#92;(", "[", "<code>", "\\"]),
    "exporters.book_html code lines": (
        lambda t: book_html.code_lines(_md.render("```\n" + t + "\n```", [Scheme.COMPACT])[Scheme.COMPACT]),
        ["<", " ", "\t", "x" * 100, "<a>", "\n"]),
    "exporters.cards_split words": (lambda t: cards_split._WORDS.findall(t), [" ", "a", " a", "\n\n"]),
    "sources.apkg answer rule and sounds": (lambda t: (answer_without_front("", t), _replace_av(t, [], [])),
                                            ["<hr", "<hr  ", '<hr id="', "[anki:play:q:", "[anki:play:a:1"]),
    "sources.nuxt script scan": (_nuxt, ["<script", "<!--", '<script a="', "<script id=", "'", "</script"]),
}


def run_of(units: list[str], chars: int) -> str:
    """``chars`` characters of the units repeated in turn, each in a run of its own."""
    return "".join(unit * (chars // len(units) // len(unit) + 1) for unit in units)[:chars]


def test_every_entry_point_takes_runs_of_its_units():
    """The list the growth measurement walks stays runnable (a short run of each unit; how time grows on long ones
    is the corpus script's to measure)."""
    for function, units in ENTRY_POINTS.values():
        for unit in units:
            function(run_of([unit], 2_000))
