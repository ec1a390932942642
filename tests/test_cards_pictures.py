"""Pictures in a question moved to the middle of its card: each drawn once, where the question is.

A question with room to spare is its measuring page drawn in two clipped pieces (its head where it is, its body
lower). Each piece drew the page's pictures: a picture was in the PDF twice (``pdfimages -list`` showed two images
for one), and one in the question's first line, whose top is the body's top, showed as a thin line under the head.
Read back with pikepdf (the images each sheet draws, through the forms that draw the cards) and PDFium (the pixels).
"""

from __future__ import annotations

from pathlib import Path

import pikepdf
import pypdfium2 as pdfium
import pytest
from PIL import Image

from tests.cli_run import qaexport

pytestmark = pytest.mark.slow  # lays out cards

RED, BLUE = (220, 30, 30), (30, 30, 220)
BANK = """---
framework: Example
topic: Pictures
subtopic: Colours
---

## Which colour is this? ![a box](red.png) {#colour .easy}

Red.

## And this one? ![a wide box](blue.png) {#wide .easy}

Blue.
"""


def drawn_images(pdf: pikepdf.Pdf, page: pikepdf.Page) -> list[str]:
    """The images a page draws (``Do`` of an image XObject), through the forms it draws, in drawing order."""
    found: list[str] = []

    def walk(contents: pikepdf.Object | pikepdf.Page, resources: pikepdf.Dictionary) -> None:
        xobjects = resources.get("/XObject", pikepdf.Dictionary())
        for item in pikepdf.parse_content_stream(contents):
            if str(item.operator) == "Do":
                xobject = xobjects[str(item.operands[0])]
                if xobject.get("/Subtype") == "/Image":
                    found.append(f"{int(xobject.Width)}x{int(xobject.Height)}")
                elif xobject.get("/Subtype") == "/Form":
                    walk(xobject, xobject.get("/Resources", pikepdf.Dictionary()))
            elif str(item.operator) == "INLINE IMAGE":
                found.append("inline")

    walk(page, page.Resources)
    return found


@pytest.fixture(scope="module")
def cards(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pictures")
    bank = folder / "bank"
    bank.mkdir()
    (bank / "colours.md").write_text(BANK, encoding="utf-8")
    Image.new("RGB", (24, 16), RED).save(bank / "red.png")
    Image.new("RGB", (300, 150), BLUE).save(bank / "blue.png")
    target = folder / "cards.pdf"
    qaexport("cards", str(bank), "--duplex", "none", "--no-cache", "-o", str(target))
    return target


def test_each_picture_is_drawn_once(cards):
    with pikepdf.open(cards) as pdf:
        pages = [sorted(drawn_images(pdf, page)) for page in pdf.pages]
    assert pages[0] == ["24x16", "300x150"], pages  # the fronts: one draw each (two each before)
    assert all(not images for images in pages[1:]), pages  # the answers have none


def test_the_picture_stands_in_its_question_line_and_nowhere_else(cards):
    """The red box's pixels are all on the question's line (beside "?"), in its card, none under the head."""
    doc = pdfium.PdfDocument(str(cards))
    try:
        page = doc[0]
        scale = 2.0
        bitmap = page.render(scale=scale).to_pil().convert("RGB")
        text = page.get_textpage()
        height = page.get_height()
        boxes = [text.get_charbox(i) for i in range(text.count_chars())]
        chars = text.get_text_range()
    finally:
        doc.close()
    mark = chars.index("this?") + len("this")  # the question's "?"; the box is drawn beside it
    _left, bottom, right, top = boxes[mark]
    line = ((height - top) * scale, (height - bottom) * scale)  # the "?"'s box, pixels from the top
    pixels = bitmap.load()
    red = [(x, y) for y in range(bitmap.height) for x in range(bitmap.width)
           if (lambda r, g, b: r > 150 and g < 90 and b < 90)(*pixels[x, y])]
    assert len(red) > 24 * 16 * scale * scale * 0.6  # the whole box is there
    ys = [y for _x, y in red]
    assert min(ys) >= line[0] - 6 * scale and max(ys) <= line[1] + 6 * scale, (min(ys), max(ys), line)
    assert min(x for x, _y in red) >= right * scale - 1  # beside the "?", to its right
