"""Pathological runs are broken or capped before layout (books/html.py ``printable``; the cards' face budget): the
printed outputs lay out in bounded time, say what they left out, and the EPUB, the site and the Anki deck keep
everything."""

from __future__ import annotations

import re

import pytest

from qaexport.books import html as books
from qaexport.books.html import printable
from qaexport.exporters.cards import layout
from qaexport.exporters.cards.split import atoms, join
from qaexport.render import Highlighter, MarkdownRenderer, Scheme

_md = MarkdownRenderer(Highlighter())


def rendered(markdown: str) -> str:
    return _md.render(markdown, [Scheme.COMPACT])[Scheme.COMPACT]


def test_ordinary_html_is_left_alone():
    html = rendered("Some *text* with a [link](https://example.org/" + "a" * 100 + ")\n\n| a | b |\n|---|---|\n"
                    "| x | y |\n\n```python\nprint(1)\n```")
    assert printable(html) == (html, [])
    # The same string, not an equal copy: a book's view holds every printed text until it is laid out, and a copy
    # per question with code or a table held 50,000 questions' HTML twice in the process that forks the parts.
    assert printable(html)[0] is html


def test_a_long_run_gets_a_break_opportunity_every_few_characters_outside_tags():
    word = "x" * 1000
    html = rendered(f"A {word} and [link](https://example.org/{'p' * 300}) &amp; more")
    out, notes = printable(html)
    assert notes == []
    assert out.replace("\u200b", "") == html  # only break opportunities were added
    runs = re.findall(r"[^\s<>\u200b]+", re.sub(r"<[^>]*>", " ", out))
    assert max(len(r) for r in runs) <= books.LONG_RUN
    assert "\u200b" not in "".join(re.findall(r"<[^>]*>", out))  # never inside a tag (the link's href)


def test_entities_count_as_one_character_and_are_never_split():
    out, _ = printable("<p>" + "&amp;" * 500 + "</p>")
    assert "&am\u200b" not in out and "&\u200b" not in out
    assert out.replace("\u200b", "") == "<p>" + "&amp;" * 500 + "</p>"


def test_a_long_code_block_is_cut_with_a_line_saying_so():
    out, notes = printable(rendered("```python\n" + "x = 1\n" * 5000 + "```"))
    assert notes == [f"a code block of 5,000 lines: the first {books.MAX_CODE_LINES:,} are printed"]
    assert out.count("\n") <= books.MAX_CODE_LINES + 3
    assert f"⋯ {5000 - books.MAX_CODE_LINES:,} more lines not printed" in out
    assert out.endswith("</code></pre>\n")


def test_a_long_and_wide_table_is_cut_in_both_directions():
    columns, rows = books.MAX_TABLE_COLUMNS + 10, books.MAX_TABLE_ROWS + 20
    table = "|" + "|".join(f"h{i}" for i in range(columns)) + "|\n|" + "---|" * columns + "\n" + \
        ("|" + "|".join(f"c{i}" for i in range(columns)) + "|\n") * rows
    out, notes = printable(rendered(table))
    assert notes == [f"a table of {rows + 1:,} rows: the first {books.MAX_TABLE_ROWS:,} are printed",
                     f"a table of {columns:,} columns: the first {books.MAX_TABLE_COLUMNS:,} are printed"]
    assert out.count("<tr") == books.MAX_TABLE_ROWS
    assert max(len(re.findall(r"<t[dh]\b", row)) for row in out.split("</tr>")) == books.MAX_TABLE_COLUMNS
    assert "<th>h0</th>" in out and f"<th>h{books.MAX_TABLE_COLUMNS}</th>" not in out
    assert out.count("<table") == out.count("</table>") == 1 and out.count("<tbody") == out.count("</tbody>")
    assert "more rows not printed" in out and "more columns not printed" in out


@pytest.mark.parametrize("limit", ["MAX_CODE_LINES", "MAX_TABLE_ROWS", "MAX_TABLE_COLUMNS", "LONG_RUN"])
def test_each_limit_is_what_cuts(limit, monkeypatch):
    html = rendered("```\n" + "l\n" * 30 + "```\n\n" + "|a" * 15 + "|\n" + "|-" * 15 + "|\n" + ("|x" * 15 + "|\n") * 30
                    + "\n" + "w" * 50)
    before = printable(html)
    monkeypatch.setattr(books, limit, 10)
    if limit == "LONG_RUN":
        monkeypatch.setattr(books, "_RUN", re.compile(r"(?:[^\s<>&\u200b]|&#?\w+;){10,}"))
    after = printable(html)
    assert after != before


def test_a_face_too_long_for_the_cards_is_cut_at_its_start(monkeypatch):
    html = "<p>" + " ".join(f"word{i}" for i in range(20_000)) + "</p><p>second</p>"
    kept, rest = layout._head(atoms(html), 1000)
    text = join(kept)
    assert 400 < len(text) <= 1000 and text.startswith("<p>word0 word1")  # counted with each word's tags
    assert rest and "second" in join(rest[-1:])


def test_cards_check_the_output_can_be_written_before_measuring(tmp_path, sample_path, monkeypatch):
    from typer.testing import CliRunner

    from qaexport.cli import app
    from qaexport.exporters import cards

    def never(*_args, **_kwargs):
        raise AssertionError("measured the cards before finding the output unwritable")

    monkeypatch.setattr(cards, "make_cards", never)
    # A folder that cannot be made (procfs makes none), which only the writing finds: a file in the way is a usage
    # error the command line finds before the exporter runs (tests/test_cli_paths.py).
    result = CliRunner().invoke(app, ["cards", str(sample_path), "-o", "/proc/qaexport-no-such-folder/cards.pdf"])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: /proc/qaexport-no-such-folder: cannot make this folder ("), result.output


def test_the_warning_of_a_cut_table_names_every_output_that_holds_it_whole(tmp_path, monkeypatch):
    """trial11 #5: "the first 500 are printed; the EPUB and the Anki deck hold it whole" left out the site, which
    holds it whole too (a real site build of the same bank shows every row)."""
    from typer.testing import CliRunner

    from qaexport.cli import app
    from qaexport.model import Location, Question
    from qaexport.render import Rendered

    table = "|a|b|\n|-|-|\n" + "".join(f"|row{i}|x|\n" for i in range(15))
    monkeypatch.setattr(books, "MAX_TABLE_ROWS", 10)
    told: list[str] = []
    question = Question("t", None, "Table?", table, "f/t/s/t", Location("b.md", 7))
    books.printed(Rendered("Table?", rendered(table)), question, told.append)
    assert told == ["b.md:7: question 't': a table of 16 rows: the first 10 are printed; the EPUB, the site and the "
                    "Anki deck hold it whole"]
    bank = tmp_path / "b.md"
    bank.write_text("---\nframework: {name: F, slug: f}\ntopic: {name: T, slug: t}\nsubtopic: {name: S, slug: s}\n"
                    "---\n\n## Table? {#t .easy}\n\n" + table)
    result = CliRunner().invoke(app, ["site", str(bank), "-o", str(tmp_path / "site")])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "site" / "f" / "t" / "s.html").read_text(encoding="utf-8")
    assert all(f"row{i}<" in page for i in range(15))
