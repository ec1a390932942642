"""Right-to-left languages read right to left (trial10 item 8): ``--language ar`` gives the site, the EPUB and the
PDF booklet ``dir="rtl"``, so the real readers (headless Chromium, EPUBCheck and Ace, WeasyPrint's page as pypdf
reads it) put the text on the right, while code stays left to right; a left-to-right language gets no ``dir``."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from qaexport.cli import app
from qaexport.directions import is_language_tag, text_direction
from tests.browser import launched
from tests.cli_run import qaexport
from tests.system_tools import ace_violations, chromium_probe
from tests.tools import run_epubcheck

CLEAN = {"fatal": 0, "error": 0, "warning": 0, "info": 0, "usage": 0}

BANK = """---
framework: {name: العربية, slug: ar}
topic: {name: القواعد, slug: qawaid}
subtopic: {name: الأفعال, slug: afal}
---

## ما هو الفعل الماضي؟ {#past .easy}

الفعل الماضي هو ما دلّ على حدث وقع في الزمن الماضي، مثل: كَتَبَ (3 أحرف).

- أولاً: كتب.
- ثانياً: قرأ.

```python
def f(x):
    return x + 1
```
"""

#: What the probe reports from a page: the root's direction, where the question's heading and the code block sit.
PROBE = """function probe() {
  var h = document.querySelector("h2, .q-rest"), pre = document.querySelector("pre"), li = document.querySelector("li");
  var width = document.documentElement.clientWidth, text = document.createRange();
  text.selectNodeContents(h);
  var box = text.getClientRects()[0];  // the heading's first line of text, not its box (the column's width)
  return {root: getComputedStyle(document.documentElement).direction, pre: getComputedStyle(pre).direction,
          li: getComputedStyle(li).direction, width: width, left: box.left, right: box.right,
          preLeft: pre.getBoundingClientRect().left};
}"""


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("rtl")
    (root / "ar.md").write_text(BANK, encoding="utf-8")
    qaexport("all", str(root / "ar.md"), "--language", "ar", "-o", f"{root / 'out'}/", "--no-cache",
             env={"QAEXPORT_STATE_DIR": str(root / "state"), "SOURCE_DATE_EPOCH": "1764000000"})
    return root / "out"


@pytest.mark.parametrize(("tag", "direction"), [
    ("ar", "rtl"), ("he", "rtl"), ("fa-IR", "rtl"), ("ur", "rtl"), ("yi", "rtl"), ("pa-Arab", "rtl"),
    ("en", "ltr"), ("pt-BR", "ltr"), ("ku-Latn", "ltr"), ("sd-Deva", "ltr"), ("zh-Hant-TW", "ltr"),
])
def test_a_language_tag_gives_its_direction(tag, direction):
    assert text_direction(tag) == direction


def test_the_list_agrees_with_cldr_as_babel_reads_it():
    """Babel is not qaexport's dependency (the list is kept as data) but the test tools' (Sphinx's): every CLDR locale
    whose text runs right to left is right to left here too, and no other (Mongolian's vertical script aside)."""
    import babel.localedata
    wrong = [(ident, locale.text_direction) for ident in babel.localedata.locale_identifiers()
             if (locale := babel.Locale.parse(ident)).text_direction in ("ltr", "rtl")
             and text_direction(ident.replace("_", "-")) != locale.text_direction]
    assert wrong == []


@pytest.mark.parametrize("tag", ["en", "pt-BR", "zh-Hant-TW", "sr-Latn", "es-419", "de-CH-1901", "sl-rozaj-biske",
                                 "en-a-bbb-x-a-ccc", "x-whatever", "zh-yue-HK", "en-GB-oed", "i-klingon", "EN-us"])
def test_a_well_formed_language_tag_is_taken(tag):
    assert is_language_tag(tag)


@pytest.mark.parametrize("tag", ["xx-", "-en", "en--us", "e", "a" * 300, "en-" + "b" * 9, "عر", "ｅｎ", "en-x",
                                 "en_US", "en us", "en-US-"])
def test_a_malformed_language_tag_is_refused_before_anything_is_written(tag, tmp_path):
    """EPUBCheck refuses a book whose tag is not well-formed (``xx-``: "Empty subtag"), so every format refuses it."""
    assert not is_language_tag(tag)
    (tmp_path / "a.md").write_text(BANK, encoding="utf-8")
    for command in ("epub", "pdf", "site", "cards"):
        result = CliRunner().invoke(app, [command, str(tmp_path / "a.md"), "--language", tag, "-o", f"{tmp_path}/"])
        assert result.exit_code == 2 and "give a language code such as en or pt-BR" in result.output, result.output
    assert [p.name for p in tmp_path.iterdir()] == ["a.md"]


def test_every_cldr_locale_is_a_well_formed_tag():
    import babel.localedata
    assert [ident for ident in babel.localedata.locale_identifiers()
            if not is_language_tag(ident.replace("_", "-"))] == []


def test_the_site_reads_right_to_left_and_its_code_left_to_right(built):
    page = built / "ar-qawaid-site" / "ar" / "qawaid" / "afal.html"
    assert '<html lang="ar" dir="rtl">' in page.read_text(encoding="utf-8")
    with launched() as browser:  # Playwright's evaluate: the site's CSP refuses an inline probe, rightly
        tab = browser.new_page(viewport={"width": 360, "height": 900})
        tab.goto(page.as_uri())
        tab.evaluate("document.querySelectorAll('.qa').forEach(q => q.classList.add('open'))")  # answers shown
        seen = tab.evaluate("(() => {" + PROBE.replace('"h2, .q-rest"', '".qa h2"') + "; return probe(); })()")
    assert (seen["root"], seen["li"], seen["pre"]) == ("rtl", "rtl", "ltr"), seen
    assert seen["right"] > seen["width"] - 40 and seen["left"] > 40, seen  # the heading's text starts on the right


def test_the_epub_reads_right_to_left_and_stays_epubcheck_and_ace_clean(built):
    book = built / "ar-qawaid.epub"
    with zipfile.ZipFile(book) as epub:
        names = epub.namelist()
        opf = epub.read("EPUB/content.opf").decode()
        pages = {n: epub.read(n).decode() for n in names if n.endswith(".xhtml")}
        epub.extractall(built / "unpacked")
    assert re.search(r'<spine [^>]*page-progression-direction="rtl"', opf), opf
    for name, text in pages.items():  # chapters, cover and the table of contents
        assert re.search(r'<html [^>]*dir="rtl"', text), name
    chapter = built / "unpacked" / "EPUB" / "ar-qawaid-afal.xhtml"
    seen = chromium_probe(chapter, PROBE)
    assert (seen["root"], seen["li"], seen["pre"]) == ("rtl", "rtl", "ltr"), seen
    assert seen["right"] > seen["width"] - 40 and seen["left"] > 40, seen
    counts, report = run_epubcheck(book)
    assert counts == CLEAN, report
    assert ace_violations(book) == []


def _placed(pdf: Path, page: int) -> list[tuple[float, str]]:
    """Every run of text on ``page`` with its x (pypdf's text matrix): where WeasyPrint put it on the line."""
    runs: list[tuple[float, str]] = []
    PdfReader(pdf).pages[page].extract_text(
        visitor_text=lambda text, cm, tm, font, size: runs.append((tm[4] * cm[0] + cm[4], text)) if text.strip()
        else None)
    return runs


def test_the_booklet_sets_its_text_on_the_right_and_its_code_on_the_left(built):
    pdf = built / "ar-qawaid.pdf"
    width = float(PdfReader(pdf).pages[-1].mediabox.width)
    runs = _placed(pdf, -1)
    arabic = [x for x, text in runs if re.search("[\u0600-\u06ff]", text)]
    code = [x for x, text in runs if "def" in text]
    assert arabic and code, runs
    assert min(arabic) > width * 0.3, runs  # the lines start on the right: no Arabic text at the left margin
    assert max(code) < width * 0.3, runs  # code stays left to right, at the left


def test_a_left_to_right_language_gets_no_direction(tmp_path):
    (tmp_path / "en.md").write_text(BANK, encoding="utf-8")
    qaexport("site", str(tmp_path / "en.md"), "--language", "pt-BR", "-o", str(tmp_path / "site"), "--no-cache",
             env={"QAEXPORT_STATE_DIR": str(tmp_path / "state")})
    pages = [p.read_text(encoding="utf-8") for p in (tmp_path / "site").rglob("*.html")]
    assert pages and not any("dir=" in p for p in pages)


def test_the_cards_set_their_faces_right_to_left_and_their_code_left_to_right(tmp_path):
    """The cards take --language as the booklet does: /Lang, and each face right to left for an RTL language (its
    lines and list markers start at the card's right edge), code left to right at the left. Positions are pypdf's,
    inside each face's drawing (a card 74 mm wide). Before, every face was set left to right (stop 39's leftover)."""
    (tmp_path / "ar.md").write_text(BANK, encoding="utf-8")
    pdf = tmp_path / "ar.cards.pdf"
    qaexport("cards", str(tmp_path / "ar.md"), "--language", "ar", "-o", str(pdf), "--no-cache",
             env={"QAEXPORT_STATE_DIR": str(tmp_path / "state"), "SOURCE_DATE_EPOCH": "1764000000"})
    card = 74 / 25.4 * 72
    assert PdfReader(pdf).trailer["/Root"]["/Lang"] == "ar"
    front, back = _placed(pdf, 0), _placed(pdf, 1)
    heading = [x for x, text in front if "الفعل" in text or "الضعل" in text]  # (pypdf's reading of its glyphs)
    lines = [x for x, text in back if re.search("[\u0600-\u06ff]{3}", text)]
    bullets = [x for x, text in back if "•" in text]
    code = [x for x, text in back if "def" in text]
    assert heading and lines and bullets and code, (front, back)
    assert min(heading) > card / 2, front  # a short line ends at the right edge, so it starts past the middle
    assert min(bullets) > card * 0.8 and min(lines) > card * 0.1, back  # markers on the right
    assert max(code) < card * 0.15, back  # code stays left to right, at the left
