"""qaexport's ``$$`` block rule (``formats/math._linear_block``) reads what mdit-py-plugins' own dollarmath rule
reads, token for token, on any text (the answer that lost its formula, then generated mixes of ``$$`` lines,
no-break and other indentation, list items, blockquotes and fences), and does it in linear work: the look-ahead
over lines is counted, not timed."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.rules_block import StateBlock
from mdit_py_plugins.dollarmath import dollarmath_plugin
from mdit_py_plugins.dollarmath.index import math_block_dollar

from qaexport.formats.dialect import extend, parser

#: The answer that lost its display formula: a ``$$`` opened only after a no-break space, a real block below it.
REPORTED = "- \u00a0$$\n- $$\nx\n$$\n"


def _stock_rule_parser() -> MarkdownIt:
    """qaexport's dialect with dollarmath's own block rule put back (configured as qaexport configures it)."""
    md = extend(MarkdownIt("commonmark", {"html": False}))
    md.block.ruler.at("math_block", math_block_dollar(allow_labels=False, allow_blank_lines=False))
    return md


STOCK = _stock_rule_parser()
PLAIN = MarkdownIt("commonmark", {"html": False}).use(
    dollarmath_plugin, allow_labels=False, allow_space=False, allow_digits=False, allow_blank_lines=False,
    double_inline=True)


def _tokens(md: MarkdownIt, text: str) -> list[dict]:
    return [token.as_dict() for token in md.parse(text)]


def _blocks(md: MarkdownIt, text: str) -> list[tuple]:
    return [(t.type, t.map, t.content) for t in md.parse(text) if t.type == "math_block"]


def test_the_reported_answer_shows_its_display_formula_as_the_stock_rule_does():
    assert _blocks(PLAIN, REPORTED) == [("math_block", [1, 4], "\nx\n")]
    assert _blocks(parser(), REPORTED) == _blocks(PLAIN, REPORTED)
    assert _tokens(parser(), REPORTED) == _tokens(STOCK, REPORTED)


_LINES = st.sampled_from([
    "$$", "$$$", "$$x", "x$$", "$$x$$", "$$ a $$ b", "\u00a0$$", "\u00a0$$x", " $$", "  $$x", "   $$", "    $$",
    "\t$$", "\u3000$$", "\u2003$$x", "- $$", "- \u00a0$$", "- $$ a $$ b", "- $$x", "  - $$", "1. $$", "* x",
    "> $$", "> \u00a0$$", "> $$x", ">", "> ", "> x", "> > $$", "> - $$", "> x$$", "```", "~~~", "```math",
    "    code", "", "", " ", "\u00a0", "x", "  x", "# h", "---", "| a |", "|---|",
])


@settings(max_examples=600, deadline=None)
@given(st.lists(_LINES, max_size=14))
@example([REPORTED.rstrip("\n")])
@example(["- $$ a $$ b", "- $$", "x", "$$"])
@example(["> \u00a0$$", "> $$", "> x", "> $$"])
def test_qaexport_reads_every_text_as_the_stock_rule_reads_it(lines):
    text = "\n".join(lines)
    assert _tokens(parser(), text) == _tokens(STOCK, text)


class _Counted(list):
    """A line-end table that counts its reads: each line the block rules look at is one read or a few."""

    reads = 0

    def __getitem__(self, index):
        _Counted.reads += 1
        return super().__getitem__(index)


def _reads(text: str, monkeypatch: pytest.MonkeyPatch) -> int:
    real = StateBlock.__init__

    def init(self, *args, **kwargs):
        real(self, *args, **kwargs)
        self.eMarks = _Counted(self.eMarks)

    monkeypatch.setattr(StateBlock, "__init__", init)
    _Counted.reads = 0
    parser().parse(text)
    monkeypatch.setattr(StateBlock, "__init__", real)
    return _Counted.reads


@pytest.mark.parametrize(("unit", "tail"), [
    ("$$x\n# h\n", ""),  # openers that never close, each its own block (the 35 s for 16,000 lines)
    ("- $$x\n", ""),  # the same as list items
    ("> $$x\n> # h\n", ""),  # inside a blockquote
    ("- $$ a $$ b\n", "$$\n"),  # lines the rule refuses without looking ahead, a closing line at the very end
    ("- \u00a0$$x\n", "$$\n"),  # no openers at all, the same closing line
])
def test_the_look_ahead_is_linear_in_the_lines(unit, tail, monkeypatch):
    """Twice the lines, about twice the reads (a look-ahead per opener would be four times)."""
    small, big = (_reads(unit * n + tail, monkeypatch) for n in (1_500, 3_000))
    assert big < 2.3 * small, (small, big)
