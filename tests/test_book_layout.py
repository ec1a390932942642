"""Wide tables, answer headings, questions of several paragraphs, descriptions and running heads in every output,
read back by real tools: Anki's own card renderer and headless Chromium at phone width (light and night), PDFium's
text layer (positions and font sizes) for the booklet and the cards, and the EPUB's chapters in Chromium.

The bank is ``tests/banks/layout``: a 12-column table of ordinary words (too wide for a phone and, at the booklet's
normal size, for the page), one of twelve-letter words (too wide even at the smallest size), answers with their own
``#``, ``##`` and ``###`` headings, a question of two paragraphs, Markdown descriptions and bare URLs.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

from tests.anki_collection import import_deck, new_collection
from tests.cli_run import qaexport
from tests.system_tools import chromium_probe, chromium_screenshot
from tests.tools import font_size_of, page_head, pdf_chars, pdf_page_texts

pytestmark = pytest.mark.slow

BANK = Path(__file__).parent / "banks" / "layout"
TABLE_FILE = BANK / "systems" / "tables" / "01-wide-tables.md"
MM = 72 / 25.4
PDF_MARGIN = 17 * MM  # templates/pdf/book.css


def _table_words(question_id: str) -> list[str]:
    """Every word of the first table in the answer of ``question_id`` in the bank file."""
    lines = TABLE_FILE.read_text(encoding="utf-8").split(f"{{#{question_id} ", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    rows = [row for row in lines[start:end] if not set(row) <= set("|-")]
    return sorted({word for row in rows for cell in row.strip("|").split("|") for word in cell.split()})


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("layout")
    out = {"apkg": tmp / "layout.apkg", "pdf": tmp / "layout.pdf", "letter": tmp / "letter.pdf",
           "epub": tmp / "layout.epub", "quiz": tmp / "quiz.epub", "cards": tmp / "layout.cards.pdf"}
    qaexport("anki", str(BANK), "-o", str(out["apkg"]))
    qaexport("pdf", str(BANK), "-o", str(out["pdf"]))
    qaexport("pdf", str(BANK), "--paper", "letter", "-o", str(out["letter"]))
    qaexport("epub", str(BANK), "-o", str(out["epub"]))
    qaexport("epub", str(BANK), "--answers", "end", "-o", str(out["quiz"]))
    qaexport("cards", str(BANK), "-o", str(out["cards"]))
    return out


# ---------------------------------------------------------------------------------------------- Anki, on a phone

#: In every table cell, each word whose letters are drawn on more than one line (a word broken in the middle),
#: and for each table whether it scrolls inside its own box and where its box ends.
TABLE_PROBE = r"""
function probe() {
  const out = {broken: [], tables: [], page: document.documentElement.scrollWidth, body: innerWidth};
  for (const cell of document.querySelectorAll("td, th")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const m of node.data.matchAll(/\S+/g)) {
        const range = document.createRange();
        range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
        if (new Set([...range.getClientRects()].map(r => Math.round(r.top))).size > 1) out.broken.push(m[0]);
      }
    }
  }
  for (const t of document.querySelectorAll("table")) {
    out.tables.push({columns: t.rows[0].cells.length, scrolls: t.scrollWidth > t.clientWidth + 1,
                     right: t.getBoundingClientRect().right, text: t.rows[1].cells[0].textContent});
  }
  return out;
}
"""

#: Computed font sizes (px) of the question and of every heading inside an answer.
HEADING_PROBE = r"""
function probe() {
  const size = el => parseFloat(getComputedStyle(el).fontSize);
  const questions = [...document.querySelectorAll(QUESTION)].map(size);
  const headings = [...document.querySelectorAll(".answer h1, .answer h2, .answer h3, .answer h4, .answer h5, "
                                                 + ".answer h6")].map(h => [h.tagName, h.textContent, size(h)]);
  return {questions, headings};
}
"""


def _anki_pages(deck: Path, folder: Path, night: bool = False) -> dict[str, Path]:
    """Each note's answer side as Anki renders it (its own template engine, the note type's CSS), in a page like
    Anki's reviewer: ``<body class="card">``, plus ``nightMode night_mode`` at night."""
    pages = {}
    with new_collection(folder / "col") as col:
        import_deck(col, deck)
        for cid in col.find_cards(""):
            card = col.get_card(cid)
            key = card.note()["Key"].rsplit("/", 1)[-1]
            body_class = "card nightMode night_mode" if night else "card"
            page = folder / f"{key}{'-night' if night else ''}.html"
            page.write_text(f'<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" '
                            f'content="width=device-width"></head><body class="{body_class}"><div id="qa">'
                            f"{card.answer()}</div></body></html>", encoding="utf-8")
            pages[page.stem] = page
    return pages


@pytest.fixture(scope="module")
def anki_pages(outputs, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("anki-pages")
    return _anki_pages(outputs["apkg"], folder) | _anki_pages(outputs["apkg"], folder, night=True)


@pytest.mark.parametrize("page", ["twelve-engines", "twelve-engines-night", "too-wide"])
def test_a_wide_table_on_a_phone_scrolls_inside_its_box_and_breaks_no_word(anki_pages, page):
    found = chromium_probe(anki_pages[page], TABLE_PROBE, width=360)
    (table,) = found["tables"]
    assert table["columns"] == 12 and found["broken"] == [], found
    assert table["scrolls"] and table["right"] <= found["body"], found  # scrolls inside its box, never the card
    assert found["page"] <= found["body"], found


def test_a_narrow_table_on_a_phone_does_not_scroll(anki_pages):
    found = chromium_probe(anki_pages["narrow-table"], TABLE_PROBE, width=360)
    assert not found["tables"][0]["scrolls"] and found["broken"] == []


def test_a_wide_table_in_the_epub_scrolls_inside_its_box_and_breaks_no_word(outputs, tmp_path):
    chapter = _epub_chapters(outputs["epub"], tmp_path)["systems-tables-twelve-columns"]
    found = chromium_probe(chapter, TABLE_PROBE, width=360)
    assert [t["columns"] for t in found["tables"]] == [12, 12, 2] and found["broken"] == [], found
    assert [t["scrolls"] for t in found["tables"]] == [True, True, False], found
    assert all(t["right"] <= found["body"] for t in found["tables"]) and found["page"] <= found["body"], found


def _mean_brightness(png: Path) -> float:
    from PIL import Image, ImageStat

    with Image.open(png) as image:
        return ImageStat.Stat(image.convert("L")).mean[0]


def test_pictures_of_the_phone_cards_are_dark_at_night(anki_pages, tmp_path_factory):
    """Screenshots to look at (light and night, kept in the test's folder); the night card is drawn dark, the day
    card light (the whole picture's mean brightness, 0-255)."""
    folder = tmp_path_factory.mktemp("anki-pictures")
    for name in ("twelve-engines", "middleware-order"):
        day = _mean_brightness(chromium_screenshot(anki_pages[name], folder / f"{name}.png", width=360, height=760))
        night = _mean_brightness(chromium_screenshot(anki_pages[f"{name}-night"], folder / f"{name}-night.png",
                                                     width=360, height=760))
        assert day > 200 and night < 60, (name, day, night)


# ---------------------------------------------------------------------------------------------- paper


def _words_whole(text: str, words: list[str]) -> list[str]:
    """The words not found whole in the extracted text (a word broken across lines has a line end inside)."""
    flat = re.sub(r"[ \t]+", " ", text)
    return [w for w in words if not re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", flat)]


@pytest.mark.parametrize("paper", ["pdf", "letter"])
def test_a_twelve_column_table_on_paper_shrinks_to_fit_and_breaks_no_word(outputs, paper):
    chars = pdf_chars(outputs[paper])
    past = [(c.page, c.char, round(c.right, 1)) for c in chars
            if not c.char.isspace() and c.right > c.page_width - PDF_MARGIN + 0.5]
    assert past == []
    texts = pdf_page_texts(outputs[paper])
    page = next(i for i, t in enumerate(texts, 1) if "Cassandra" in t and "Postgres" in t.replace("PostgreSQL", ""))
    words = _table_words("twelve-engines")
    assert len(words) > 40 and _words_whole(texts[page - 1], words) == []
    # it did have to shrink: its letters are smaller than a narrow table's, but not below the 6.5pt floor
    narrow, wide = font_size_of(chars, "timeout"), font_size_of(chars, "Cassandra", page)
    assert 6.5 / 8.8 * narrow - 0.05 <= wide < narrow


def test_a_table_too_wide_even_at_the_floor_is_hyphenated_not_cut(outputs):
    texts = pdf_page_texts(outputs["pdf"])
    page = next(t for t in texts if "PostgreSQL" in t.replace("\r\n", "") or "Postgr" in t)
    assert re.search(r"\w[-\u2010]\r\n\w", page), page  # a visible hyphen ends each broken part


def test_a_table_too_wide_for_a_card_is_written_row_by_row_and_breaks_no_word(outputs):
    """On a 74 mm card even the smallest letters leave twelve columns too narrow for their words: each row becomes
    a list item, each cell after its column's heading, and every word stays whole."""
    texts = pdf_page_texts(outputs["cards"])
    back = next(t for t in texts if "Cassandra" in t and "Postgres" in t.replace("PostgreSQL", ""))
    flat = " ".join(back.split())
    # every word but the first column's heading (each row starts with its first cell, in bold, without it)
    words = [w for w in _table_words("twelve-engines") + _table_words("too-wide") if w != "Engine"]
    assert len(words) > 70 and _words_whole(back, words) == []
    assert "Postgres Speed: moderate Latency: steady" in flat and "Cassandra Throughput: enormous" in flat, flat


# ---------------------------------------------------------------------------------------------- headings


def _pdf_heading_sizes(path: Path) -> tuple[float, dict[str, float]]:
    chars = pdf_chars(path)
    question = font_size_of(chars, "Which order do middlewares run in?")
    return question, {h: font_size_of(chars, h) for h in ("Request", "Example", "Response", "Short answer",
                                                          "Details")}


def test_block_quotes_nested_to_markdowns_limit_keep_a_readable_width_in_the_pdf(tmp_path):
    """19 ``>`` one inside another (the most Markdown reads, ``formats.dialect.MAX_NESTING``) print their words on a
    line or two: indented 80px a level, 12 levels printed one letter a line."""
    bank = tmp_path / "q.md"
    words = "deep quote text that keeps its words together"
    bank.write_text("---\nframework: A\ntopic: B\nsubtopic: C\n---\n\n## Quotes {#q .easy}\n\n"
                    + "> " * 19 + words + "\n\nAfter.\n", encoding="utf-8")
    qaexport("pdf", str(bank), "-o", str(tmp_path / "q.pdf"))
    lines = [line for page in pdf_page_texts(tmp_path / "q.pdf") for line in page.split("\r\n")]
    start = lines.index("Quotes") + 1
    end = next(n for n, line in enumerate(lines) if line == "After.")
    quoted = lines[start:end]  # some 65 mm wide at 19 levels: two lines, every word whole
    assert len(quoted) <= 2 and " ".join(quoted).split() == words.split(), quoted


def test_answer_headings_print_smaller_than_the_question_in_the_pdf(outputs):
    question, headings = _pdf_heading_sizes(outputs["pdf"])
    assert all(size < question for size in headings.values()), (question, headings)
    # and the answer's own order of levels survives: # > ## > ###
    assert headings["Request"] >= headings["Example"] >= headings["Response"]


def test_answer_headings_print_smaller_than_the_question_on_cards(outputs):
    chars = pdf_chars(outputs["cards"])
    question = font_size_of(chars, "Which order do")
    for heading in ("Request", "Example", "Response", "Short answer", "Details"):
        assert font_size_of(chars, heading) < question, heading
    # a long question shrinks to fit its card, below the answer's normal size: the answer's heading follows it down
    long_question, answer = font_size_of(chars, "A question long enough"), font_size_of(chars, "The web process")
    assert long_question < answer and font_size_of(chars, "Sketch") < long_question


def _epub_chapters(epub: Path, folder: Path) -> dict[str, Path]:
    with zipfile.ZipFile(epub) as zf:
        zf.extractall(folder)
    return {p.stem: p for p in (folder / "EPUB").glob("*.xhtml")}


@pytest.mark.parametrize("book", ["epub", "quiz"])
def test_answer_headings_print_smaller_than_the_question_in_the_epub(outputs, tmp_path, book):
    chapter = _epub_chapters(outputs[book], tmp_path)["systems-structure-headings"]
    found = chromium_probe(chapter, HEADING_PROBE.replace("QUESTION", '"section.qa > h2"'), width=360)
    assert len(found["questions"]) == 4 and len(found["headings"]) == 6, found
    smallest_question = min(found["questions"])
    assert all(size < smallest_question for _, _, size in found["headings"]), found
    # the renderer moved them under the question's h2: #, ## and ### became h3, h4, h5
    assert [tag.lower() for tag, _, _ in found["headings"]] == ["h3", "h4", "h5", "h3", "h4", "h3"], found


@pytest.mark.parametrize("night", [False, True])
def test_answer_headings_print_smaller_than_the_question_in_anki(anki_pages, night):
    page = anki_pages["middleware-order-night" if night else "middleware-order"]
    found = chromium_probe(page, HEADING_PROBE.replace("QUESTION", '".question"'), width=360)
    (question,) = found["questions"]
    # Anki's notes keep the author's levels (h1, h2, h3); the card's CSS prints them below the question
    assert [tag.lower() for tag, _, _ in found["headings"]] == ["h1", "h2", "h3"], found
    assert all(size < question for _, _, size in found["headings"]), found


# ---------------------------------------------------------------------------------------------- questions, heads


def test_a_question_of_two_paragraphs_is_a_heading_and_a_block_in_the_epub(outputs, tmp_path):
    text = _epub_chapters(outputs["epub"], tmp_path)["systems-structure-headings"].read_text(encoding="utf-8")
    assert ('<h2 id="h-two-paragraphs"><span class="num">5.</span> A question of two paragraphs, with '
            "<code>code</code> in the first.</h2>") in text
    block = text.split('<div class="q-rest">', 1)[1].split("</div>", 1)[0]
    assert "<p>And a second paragraph that asks: which headings does the answer get?</p>" in block
    assert not re.search(r"<h2[^>]*>(?:(?!</h2>).)*<(?:p|pre|ul|ol|div)\b", text, re.S)  # no block in a heading


def test_the_running_head_names_the_topic_in_force_at_the_top_of_the_page(tmp_path):
    """Two topics of five long answers each: the second starts low on a page, whose head names the first."""
    bank = tmp_path / "bank"
    for order, (slug, name) in enumerate((("alpha", "Alpha topic"), ("beta", "Beta topic"))):
        questions = "".join(f"\n## Question {n} of {name}? {{#{slug}-{n} .easy}}\n\n" + "Answer text. " * 90 + "\n"
                            for n in range(5))
        path = bank / slug / "01-sub.md"
        path.parent.mkdir(parents=True)
        path.write_text(f"---\nframework: {{name: Frame, slug: frame}}\ntopic: {{name: {name}, slug: {slug}, "
                        f"order: {order}}}\nsubtopic: Sub {name}\n---\n{questions}", encoding="utf-8")
    pdf = tmp_path / "heads.pdf"
    qaexport("pdf", str(bank), "-o", str(pdf))
    pages = pdf_page_texts(pdf)
    start = next(i for i, text in enumerate(pages, 1) if "\r\nBeta topic\r\n" in text)
    chars = pdf_chars(pdf)
    assert not pages[start - 1].startswith("Beta topic")  # it starts lower on its page ...
    assert page_head(chars, start) == "Frame / Alpha topic"  # ... so the head names the topic at the top
    assert page_head(chars, start + 1) == "Frame / Beta topic"


def test_a_topic_heading_and_its_description_never_end_a_page(outputs):
    """The layout bank's second topic would start at the foot of page 3 with its description, its first question
    on the next page: headings and descriptions keep with what follows."""
    texts = pdf_page_texts(outputs["pdf"])
    (page,) = [t for t in texts if "Answers with their own headings" in t]
    assert "Which order do middlewares run in?" in page, page


def test_descriptions_are_markdown_in_every_output(outputs, tmp_path):
    pdf = "\n".join(pdf_page_texts(outputs["pdf"]))
    assert "One table with 12 columns of ordinary words." in pdf and "`12`" not in pdf
    chapters = _epub_chapters(outputs["epub"], tmp_path)
    lead = chapters["systems-structure-headings"].read_text(encoding="utf-8")
    assert "Answers with their <em>own</em> headings, and questions of <code>several</code> paragraphs." in lead
    with new_collection(tmp_path / "col") as col:
        import_deck(col, outputs["apkg"])
        descriptions = {d["name"]: d["desc"] for d in col.decks.all()}
    assert descriptions["Systems::Answer structure"] == ("Answers with their <em>own</em> headings, and questions "
                                                         "of <code>several</code> paragraphs.")
    assert '<a href="https://example.com/qaexport">https://example.com/qaexport</a>' in descriptions["Systems"]
    qaexport("site", str(BANK), "-o", str(tmp_path / "site"))
    index = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "Answers with their <em>own</em> headings, and questions of <code>several</code> paragraphs." in index
    assert '<a href="https://example.com/qaexport">https://example.com/qaexport</a>' in index
    page = (tmp_path / "site" / "systems" / "tables" / "twelve-columns.html").read_text(encoding="utf-8")
    assert '<p class="lead">One table with <code>12</code> columns of ordinary words.</p>' in page


def test_bare_urls_become_links_with_safe_schemes_only(outputs, tmp_path):
    text = _epub_chapters(outputs["epub"], tmp_path)["systems-structure-headings"].read_text(encoding="utf-8")
    assert ('<a href="https://example.com/docs/deployment?section=workers#gunicorn">'
            "https://example.com/docs/deployment?section=workers#gunicorn</a>") in text
    assert '<a href="mailto:authors@example.com">' in text
    assert "ftp://example.com/file stays text" in text and 'href="ftp:' not in text
    assert "<code>https://example.com/in/code</code>" in text
