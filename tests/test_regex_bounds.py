"""Every regular expression that sees input, audited: the ones that backtracked on crafted text were replaced by
one-pass scanners (held here to the patterns they replaced, as specifications), and each pattern that remains is
run through its public entry point on long runs of its own special characters.

The runs are up to the text limits (200,000 characters); a linear pattern takes milliseconds on them, the
quadratic ones this audit found took minutes (``_CODE_BLOCK``: 27 s on 360 KB), so the generous deadline only
catches a pattern that went superlinear again."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
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


def _seconds(function: Callable[[str], object], text: str) -> float:
    """The quickest of three runs (a shared machine adds noise, never speed)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        function(text)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.slow
@pytest.mark.parametrize("name", list(ENTRY_POINTS))
@settings(max_examples=4, deadline=None)
@given(data=st.data())
def test_patterns_that_see_input_are_linear_on_runs_of_their_special_characters(name, data):
    """Four times the text may cost about four times the time, never sixteen: a growth check, not a deadline (the
    machine's speed cancels out). Runs up to 200,000 characters, the answer limit."""
    function, units = ENTRY_POINTS[name]
    runs = data.draw(st.lists(st.sampled_from(units), min_size=1, max_size=3))

    def text(chars: int) -> str:
        return "".join(unit * (chars // len(runs) // len(unit) + 1) for unit in runs)[:chars]

    small, big = _seconds(function, text(50_000)), _seconds(function, text(200_000))
    assert big < 0.5 or big < 9 * small, f"{name}: {small:.3f} s for 50,000 characters, {big:.3f} s for 200,000"
