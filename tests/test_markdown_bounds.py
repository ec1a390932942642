"""The Markdown reader in bounded time and memory: linear heading parsing (a brace that does not pair up is an error
at its line, never an id), a big file parsed in pieces cut at question headings (the same questions and problems as
one whole parse), sizes and line counts refused before parsing, problems per file capped."""

from __future__ import annotations

import os
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qaexport import sources
from qaexport.errors import QaexportError
from qaexport.formats import markdown_bank as markdown
from qaexport.formats.markdown_bank import parse_text, split_attributes
from qaexport.sources import markdown as reader
from qaexport.sources.markdown import _looks_like_question_heading

FRONT = "---\nframework: F\ntopic: T\nsubtopic: S\n---\n\n"


def problems(body: str) -> list[tuple[int, str]]:
    return parse_text(FRONT + body).problems


@pytest.mark.parametrize(("heading", "expected"), [
    ("What is X? {#x .easy}", ("What is X?", "#x .easy", "")),
    ("{#x .easy}", ("", "#x .easy", "")),
    ("What is f{x}", ("What is f{x}", None, "")),
    ("What is `{}`? {#d .hard}", ("What is `{}`?", "#d .hard", "")),
    ("Plain text", ("Plain text", None, "")),
])
def test_split_attributes(heading, expected):
    assert split_attributes(heading) == expected


@pytest.mark.parametrize("heading", ["Q {#x .easy", "Q {{#x .easy}", "Q {#x .easy}}", "Q #x .easy}", "Q {.easy"])
def test_braces_that_do_not_pair_up_are_an_error_at_the_heading_line(heading):
    found = problems(f"## First {{#a .easy}}\n\nA\n\n## {heading}\n\nAnswer\n")
    assert found and found[0][0] == 11, found
    assert "brace" in found[0][1] or "`{`" in found[0][1] or "`}`" in found[0][1]
    assert [q.id for q in parse_text(FRONT + f"## {heading}\n\nAnswer\n").questions] == []  # never an id


_SPECIAL = st.sampled_from(["{", "}", "#", ".", " ", "\t", "=", '"', "a", "{#", ".x", "}}"])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(_SPECIAL, st.integers(1, 60_000)), min_size=1, max_size=4))
def test_heading_attributes_on_long_runs_of_their_syntax(runs):
    """Long runs of the syntax's own characters (the pattern this replaced took minutes on a 1 MB run of spaces;
    how the time grows is measured by ``python -m tests.bounds_corpus --patterns``)."""
    heading = "".join(unit * count for unit, count in runs)[:200_000]
    text, inside, _wrong = split_attributes(heading)
    assert inside is None or "{" not in inside
    assert len(text) <= len(heading)
    parse_text(FRONT + f"## {heading}\n\nA\n")


_OLD_SNIFF = re.compile(rb"^##[ \t].*\{[^}\n]*[#.][^}\n]*\}[ \t]*$")


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([b"## ", b"##\t", b"{", b"}", b"#", b".", b"a", b" ", b"\t", b"##"]), max_size=14))
def test_the_sniffing_check_agrees_with_the_pattern_it_replaced(parts):
    line = b"".join(parts)
    assert _looks_like_question_heading(line) == bool(_OLD_SNIFF.match(line))


_LINES = st.sampled_from([
    "## Q {#a .easy}", "## Q {#b .hard}", "##", "## ", "   ## Indented {#c .easy}", "## {#d .easy}",
    "```", "```question", "```answer", "~~~", "````", "   ```", "    ```", "- item", "  - nested", "> quote",
    "1. item", "   ```python", "text", "", "", "Setext", "---", "***", "    code", "| a | b |", "|---|---|",
    "## No attrs", "## Q {#a .easy .hard}", "## Q {#e .easy format=html}", "[ref]: https://x.org",
    "$$", "  $$", "    $$", "$$x", "x $$", "$$ a $$", "- $$", "> $$", "1. $$", "> - $$", "{{c1::cloze}}", "$x$",
    "<div>", "</div>", "<details>", "<!--", "-->", "<pre>", "</pre>", "<script>", "<?php", "<![CDATA[",
])


def test_a_heading_line_inside_what_would_be_an_html_block_starts_a_question_as_the_renderer_shows_it():
    """Raw HTML is off in the dialect (the renderer escapes it, ``formats/dialect``), so markdown-it has no HTML
    blocks: a ``## … {…}`` line after ``<div>`` or inside ``<!-- … -->`` is a question heading for the reader, in
    one piece or in many, and ``<div>`` is shown as text; no question can hide inside a block the reader and the
    renderer see differently."""
    from qaexport.render import Highlighter, MarkdownRenderer, Scheme

    body = ("## First? {#a .easy}\n\n<div class=\"note\">\n## Inside? {#x .easy}\n</div>\n\n"
            "## Second? {#b .easy}\n\n<!--\n\n## Hidden? {#y .easy}\n-->\n\nAnswer.\n")
    whole, pieces = _parsed_with(body, 10**9), _parsed_with(body, 1)
    assert whole == pieces
    assert [q[0] for q in whole[0]] == ["a", "x", "b", "y"]
    tokens = markdown._parser().parse(body)
    assert "html_block" not in {t.type for t in tokens}
    shown = MarkdownRenderer(Highlighter()).render('<div class="note">', [Scheme.COMPACT])[Scheme.COMPACT]
    assert "&lt;div" in shown and "<div" not in shown


@settings(max_examples=int(os.environ.get("QAEXPORT_EXAMPLES", "300")), deadline=None)
@given(st.lists(_LINES, max_size=40))
def test_parsing_in_pieces_finds_what_one_whole_parse_finds(lines):
    body = "\n".join(lines)
    whole, pieces = _parsed_with(body, 10**9), _parsed_with(body, 1)
    assert whole == pieces


def _parsed_with(body: str, piece_chars: int) -> tuple:
    old = markdown.PIECE_CHARS
    markdown.PIECE_CHARS = piece_chars
    try:
        parsed = parse_text(FRONT + body)
    finally:
        markdown.PIECE_CHARS = old
    return ([(q.id, q.difficulty, q.question, q.answer, q.line, q.format) for q in parsed.questions],
            sorted(parsed.problems))


def test_a_question_section_over_the_limit_is_refused_before_parsing(monkeypatch):
    real = markdown._piece

    def piece(lines, first, last, parsed, before, cuts):
        assert last <= 6, "the long section was parsed"
        return real(lines, first, last, parsed, before, cuts)

    monkeypatch.setattr(markdown, "_piece", piece)
    found = problems("## Q {#a .easy}\n\n" + "*_" * 200_000 + "\n")
    assert found == [(7, f"question section is 400,019 characters, over the {markdown.MAX_SECTION_CHARS:,} limit; "
                         "shorten it or split the question")]


def test_a_file_over_the_line_limit_is_refused_before_parsing(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "MAX_LINES", 1000)
    bank = tmp_path / "bank.md"
    bank.write_text(FRONT + "## Q {#a .easy}\n\n" + "x\n" * 1000)
    with pytest.raises(QaexportError, match=r"bank.md: file has 1,009 lines, over the 1,000 limit"):
        sources.load([bank])


def test_problems_per_file_are_capped_with_a_count(monkeypatch):
    monkeypatch.setattr(markdown, "MAX_PROBLEMS", 5)
    found = parse_text(FRONT + "## Q {#a .easy}\n\nA\n\n" + "## Q {#b .easy !}\n\nA\n\n" * 20).problems  # one each
    assert len(found) == 6
    assert found[-1][1] == "and 15 more problems in this file; fix the ones above first"


def test_a_big_file_is_parsed_in_pieces_of_bounded_size(monkeypatch):
    sizes: list[int] = []
    real = markdown._parser

    class Counting:
        def parse(self, text):
            sizes.append(len(text))
            return real().parse(text)

    monkeypatch.setattr(markdown, "_parser", Counting)
    body = "".join(f"## Question {i} {{#q{i} .easy}}\n\nAnswer {i} " + "word " * 100 + "\n\n" for i in range(3000))
    parsed = parse_text(FRONT + body)
    assert len(parsed.questions) == 3000 and not parsed.problems
    assert len(sizes) > 1 and max(sizes) <= markdown.PIECE_CHARS + 1000


def _front(front: str) -> list[tuple[int, str]]:
    return parse_text(f"---\n{front}\n---\n\n## Q {{#a .easy}}\n\nA\n").problems


def test_yaml_aliases_are_refused_before_anything_is_built(monkeypatch):
    import yaml

    def never(*_args, **_kwargs):
        raise AssertionError("constructed")

    monkeypatch.setattr(yaml, "safe_load", never)
    levels = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    found = _front("\n".join(levels) + "\nframework: {name: F, order: *a8}\ntopic: T\nsubtopic: S")
    assert found == [(2, "front matter uses a YAML anchor or alias (`&name` / `*name`); write each value out instead")]


def test_a_lone_alias_is_refused_at_its_line():
    found = _front("framework: F\ntopic: T\nsubtopic: {name: S, slug: *x}")
    assert found[0][0] == 4 and ("alias" in found[0][1] or "YAML" in found[0][1])


def test_a_huge_number_is_refused_without_converting_it():
    found = _front(f"framework: {{name: F, order: {'9' * 5000}}}\ntopic: T\nsubtopic: S")
    assert found == [(2, "number of 5,000 characters in front matter; an `order` is a small number such as 3")]


@pytest.mark.parametrize("order", [".inf", "-.inf", ".nan", "1e400"])
def test_an_order_must_be_finite(order):
    found = _front(f"framework: {{name: F, order: {order}}}\ntopic: T\nsubtopic: S")
    assert [line for line, message in found if "`framework.order` must be a number" in message] == [2]


def test_a_bad_value_is_echoed_in_80_characters_at_most():
    found = _front(f"framework: {{name: F, slug: {'Bad Slug ' * 2000}}}\ntopic: T\nsubtopic: S")
    assert len(found) == 1 and len(found[0][1]) < 300, found


def test_splitting_never_runs_the_inline_parse(monkeypatch):
    """Emphasis and links are the renderer's business; the splitter reads blocks only (a 5 MB line of `*_` cost
    minutes in the inline parse before the size limits could refuse it)."""
    def never(*_args, **_kwargs):
        raise AssertionError("inline parse")

    monkeypatch.setattr(markdown._parser().inline, "parse", never)
    parsed = parse_text(FRONT + "## Q *em* {#a .easy}\n\n*_" * 3 + " [a](https://x.org) **b**\n")
    assert [q.question for q in parsed.questions] == ["Q *em*"]
