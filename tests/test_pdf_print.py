"""The booklet on paper: every glyph drawn, nothing past the page edge, long code splits and wraps visibly,
answer-key headers, tagged PDF and language. Read back with pikepdf, pypdf and PDFium."""

from __future__ import annotations

import re
from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from qaexport.books.fonts import font_faces
from qaexport.cli import app
from qaexport.weasy.layout import PackageFileFetcher
from tests.cli_run import qaexport
from tests.payloads import page, question, subtopic, write
from tests.pdf_glyphs import glyph_report
from tests.print_banks import LONG_IDENTIFIER, cjk_bank, long_bank, long_code, symbols_bank

pytestmark = pytest.mark.slow  # lays out books or drives real tools: `-m 'not slow'` skips it

MM = 72 / 25.4
RIGHT_MARGIN = 17 * MM  # templates/pdf/book.css @page margin
#: Code lines whose longest word is made of several highlighted tokens (WeasyPrint does not break such a word with
#: overflow-wrap alone, Kozea/WeasyPrint#1614), at the top level and in a list, a few characters either side of
#: what a line holds on A4 and on letter.
TOKEN_LINES = [
    'result = queue.enqueue_job("build_report_for_the_quarterly_financial_review",user_id=current_user.identifier,'
    "priority=HIGH_PRIORITY_VALUE)",
    "def handler(): return some_module.some_function_with_a_long_name(argument_one,argument_two,argument_three,"
    "argument_four)",
    'fetch("https://example.com/api/v1/reports/quarterly/financial/summary?include=everything&format=json&limit=10")'
    ".then(r=>r.json())",
]


@pytest.fixture(scope="module")
def pdfs(tmp_path_factory, sample_path) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("print")
    banks = {"symbols": symbols_bank(tmp), "long": long_bank(tmp)}
    code = write(tmp / "code.json", page([subtopic("code", "Code", [
        question("short", "easy", q="A short one?", a="Short answer."),
        question("big", "hard", q="Two hundred lines of code?", a="Here it is:\n\n" + long_code(200)),
    ])], fw="codefw", fw_name="Code", topic="codetopic", topic_name="Code topic"))
    fence = "```python\n" + "\n".join(TOKEN_LINES) + "\n```"
    listed = "1. First:\n\n" + "\n".join("   " + ln for ln in fence.split("\n"))
    tokens = write(tmp / "tokens.json", page([subtopic("tokens", "Tokens", [
        question("top", "easy", q="Long lines of many tokens?", a=fence),
        question("listed", "hard", q="In a list?", a=listed),
        question("asked", "medium", q="What does this do?\n\n" + fence, a="It enqueues a job."),
    ])], fw="tokfw", fw_name="Tokens", topic="toktopic", topic_name="Token topic"))
    out = {name: tmp / f"{name}.pdf" for name in ("sample", "quiz", "symbols", "long", "code", "tagged", "tokens",
                                                  "tokens-letter")}
    qaexport("pdf", str(tokens), "-o", str(out["tokens"]))
    qaexport("pdf", str(tokens), "--paper", "letter", "-o", str(out["tokens-letter"]))
    qaexport("pdf", str(sample_path), "-o", str(out["sample"]))
    qaexport("pdf", str(sample_path), "--answers", "end", "-o", str(out["quiz"]))
    qaexport("pdf", str(banks["symbols"]), "-o", str(out["symbols"]))
    qaexport("pdf", str(banks["long"]), "--paper", "letter", "-o", str(out["long"]))
    qaexport("pdf", str(code), "-o", str(out["code"]))
    qaexport("pdf", str(banks["symbols"]), "--tagged", "--language", "de", "-o", str(out["tagged"]))
    return out


def _texts(path: Path) -> list[str]:
    return [p.extract_text() or "" for p in PdfReader(path).pages]


@pytest.mark.parametrize("name", ["sample", "symbols", "quiz"])
def test_no_character_is_drawn_as_an_empty_box(pdfs, name):
    report = glyph_report(pdfs[name])
    assert report.drawn, "no text read back"
    assert report.notdef == [], report.notdef[:10]


def test_sample_table_ticks_and_crosses_use_the_bundled_emoji_face(pdfs):
    report = glyph_report(pdfs["sample"])
    assert "✅" in report.drawn and "❌" in report.drawn
    assert any("qaexport-Emoji" in name for name in report.fonts), report.fonts


def test_text_extraction_gives_back_symbols_and_emoji_without_nuls(pdfs):
    for name in ("sample", "symbols"):
        text = "\n".join(_texts(pdfs[name]))
        assert "\x00" not in text, name
    text = "\n".join(_texts(pdfs["symbols"]))
    for char in "✅❌🐍🚀⚡→✔★⚠":
        assert char in text, char
    assert "Retries ❌ ✅" in text
    for word in ("Ελληνικά", "Кириллица", "ไทย"):
        assert word in text, word


def test_uncovered_characters_are_named_in_one_warning_line(tmp_path):
    src = cjk_bank(tmp_path)
    out = tmp_path / "cjk.pdf"
    result = CliRunner().invoke(app, ["pdf", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(lines) == 1, result.output
    line = lines[0]
    for char in "中文日本語":
        assert char in line
    assert "cjkfw/cjktopic/cjk/kanji" in line and "cjkfw/cjktopic/cjk/plain" not in line
    assert "fonts-noto-cjk" in line
    # the warning tells the truth: exactly these characters are empty boxes in the file
    assert {char for _, _, char in glyph_report(out).notdef} == set("中文日本語")


def test_fonts_come_only_from_the_named_package_files():
    faces = font_faces()
    fetcher = PackageFileFetcher({face.uri: face.path for face in faces})
    assert fetcher.fetch(faces[1].uri).read()[:4] in (b"\x00\x01\x00\x00", b"OTTO", b"true")
    sibling = (faces[0].path.parent / "__init__.py").as_uri()
    for url in (sibling, "file:///etc/passwd", "https://example.com/font.ttf", "data:font/ttf;base64,AAAA",
                faces[0].uri + "?x"):
        with pytest.raises(ValueError, match="does not fetch"):
            fetcher.fetch(url)


def _chars_past_right_margin(path: Path) -> list[tuple[int, str, float]]:
    bad = []
    doc = pdfium.PdfDocument(path)
    try:
        for index in range(len(doc)):
            pdf_page = doc[index]
            limit = pdf_page.get_width() - RIGHT_MARGIN + 0.5
            text = pdf_page.get_textpage()
            for i in range(text.count_chars()):
                char = text.get_text_range(i, 1)
                if char.isspace():
                    continue  # PDFium's synthesised line ends sit just after the last character
                right = text.get_charbox(i)[2]
                if right > limit:
                    bad.append((index + 1, char, round(right, 1)))
    finally:
        doc.close()
    return bad


@pytest.mark.parametrize("name", ["long", "sample", "symbols", "tokens", "tokens-letter"])
def test_nothing_runs_past_the_right_margin(pdfs, name):
    assert _chars_past_right_margin(pdfs[name]) == []


@pytest.mark.parametrize("name", ["tokens", "tokens-letter"])
def test_code_lines_of_many_tokens_are_all_printed(pdfs, name):
    """Broken anywhere, but nothing lost: the text of every long line is there, three times (in an answer, in a
    list, in a question)."""
    text = "".join("".join(_texts(pdfs[name])).split()).replace("↪", "")
    for piece in ("build_report_for_the_quarterly_financial_review", "priority=HIGH_PRIORITY_VALUE)",
                  "argument_three,argument_four)", "format=json&limit=10"):
        assert text.count(piece) == 3, piece


def test_long_urls_and_identifiers_are_all_there(pdfs):
    text = "".join("".join(_texts(pdfs["long"])).split())
    assert LONG_IDENTIFIER in text
    assert "section-11/subsection-11/index.html" in text


def test_a_200_line_block_starts_on_its_questions_page_and_splits(pdfs):
    pages = _texts(pdfs["code"])
    start = next(i for i, text in enumerate(pages) if "Two hundred lines of code?" in text)
    assert "def generated():" in pages[start] and "# line 2\n" in pages[start], pages[start][-400:]
    last = next(i for i, text in enumerate(pages) if "# line 200" in text)
    assert last > start  # split across pages, in order
    for i in range(start, last + 1):
        assert "# line" in pages[i]


def test_wrapped_code_lines_hang_under_their_indentation_and_copy_intact(pdfs):
    doc = pdfium.PdfDocument(pdfs["long"])
    try:
        for index in range(len(doc)):
            text = doc[index].get_textpage()
            full = text.get_text_range()
            at = full.find("result = compute_value_4(")
            if at >= 0:
                break
        else:
            pytest.fail("the long code line is not in the PDF")
        cont = full.find("epsilon_parameter", at)
        left = text.get_charbox(full.find("def f", at - 40))[0]
        first = text.get_charbox(at)[0]
        wrapped = text.get_charbox(cont)[0]
        assert text.get_charbox(cont)[3] < text.get_charbox(at)[1]  # on a later line
        char_w = (text.get_charbox(at + 1)[0] - first)
        assert wrapped > first + 1.5 * char_w  # hangs right of the line's own indentation (4 spaces)
        assert first > left + 3 * char_w  # the indentation itself is kept
    finally:
        doc.close()
    extracted = "\n".join(_texts(pdfs["long"]))
    assert "↪" not in extracted  # the mark is a drawing, not text


def test_answer_key_header_names_the_subtopic_in_force_at_the_top_of_the_page(pdfs, sample_library):
    subs = [(t.name, s.name) for _, t, s in sample_library.subtopics()]
    heading = re.compile("|".join(re.escape(f"{t} › {s}") for t, s in subs))
    pages = _texts(pdfs["quiz"])
    start = next(i for i, text in enumerate(pages) if text.startswith("Answer key"))
    in_force = None
    checked = []
    for number, text in enumerate(pages[start:], start):
        parts = re.split(r"Answer key\s+/\s+", text)
        body, header = (parts[0], parts[-1]) if len(parts) > 1 else (text, "")
        first = heading.search(body)
        top = first.group(0) if first and first.start() < 40 else in_force
        if header:
            assert header.splitlines()[0].strip() == top, (header.splitlines()[0], top, body[:120])
            checked.append(number)
        for match in heading.finditer(body):
            in_force = match.group(0)
    assert len(checked) >= 3
    assert checked[0] == start, "the key's first page names the first subtopic too"


def test_cover_subtitle_is_the_topic_description_for_one_topic(pdfs, sample_library):
    topic = sample_library.frameworks[0].topics[0]
    cover = " ".join(_texts(pdfs["sample"])[0].split())
    assert " ".join(topic.description.split())[:60] in cover


def test_tagged_pdf_has_a_structure_tree_and_the_language(pdfs):
    with pikepdf.open(pdfs["tagged"]) as pdf:
        assert "/StructTreeRoot" in pdf.Root
        assert pdf.Root.MarkInfo.Marked is True or str(pdf.Root.MarkInfo.Marked) == "true"
        assert str(pdf.Root.Lang) == "de"
        kinds = set()

        def walk(node, depth=0):
            if depth > 40 or not isinstance(node, pikepdf.Dictionary):
                return
            if "/S" in node:
                kinds.add(str(node.S))
            kids = node.get("/K")
            for kid in (kids if isinstance(kids, pikepdf.Array) else [kids] if kids is not None else []):
                walk(kid, depth + 1)

        walk(pdf.Root.StructTreeRoot)
        assert {"/H1", "/H2", "/H3", "/P", "/Table"} <= kinds, kinds
    with pikepdf.open(pdfs["sample"]) as pdf:
        assert "/StructTreeRoot" not in pdf.Root
        assert str(pdf.Root.Lang) == "en"


def test_language_option_is_checked(tmp_path, sample_path):
    result = CliRunner().invoke(app, ["pdf", str(sample_path), "--language", "de\" onload", "-o",
                                      str(tmp_path / "x.pdf")])
    assert result.exit_code != 0
    assert not (tmp_path / "x.pdf").exists()
