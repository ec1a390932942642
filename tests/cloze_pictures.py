"""The pictures of cloze, images and math in docs/formats.md: a cloze card as Anki renders it (the official
``anki`` package) on a 360 px phone by day and at night, front and back side by side, and the booklet's page with
a cloze, an image and formulas (pdftoppm). Taken from the test bank of ``tests/test_cloze_images_math.py``.

    python -m tests.cloze_pictures docs/images
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from tests.anki_collection import import_deck, new_collection
from tests.browser import launched
from tests.test_cloze_images_math import write_bank

PHONE = {"width": 360, "height": 300}
ENV = {"SOURCE_DATE_EPOCH": "1700000000", "PATH": "/usr/bin:/bin"}
#: The booklet's third page (the questions), from the subtopic heading down, at 110 dpi.
PAGE, DPI, CROP = 3, 110, (40, 150, 830, 790)


def _run(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "qaexport", *args], check=True, capture_output=True, env=ENV)


def _card_page(css: str, html: str, number: int, night: bool, media: Path) -> str:
    body = f"card card{number}" + (" nightMode night_mode" if night else "")
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><base href="{media.as_uri()}/">'
            f"<style>{css}</style></head><body class=\"{body}\">{html}</body></html>")


def pictures(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp_name, launched() as browser:
        tmp = Path(tmp_name)
        bank = write_bank(tmp)
        _run("anki", str(bank), "-o", str(tmp / "deck.apkg"))
        _run("pdf", str(bank), "-o", str(tmp / "book.pdf"))
        with new_collection(tmp / "col") as col:
            import_deck(col, tmp / "deck.apkg")
            (nid,) = col.find_notes('"Key:science/physics/basics/light"')
            card = sorted(col.get_note(nid).cards(), key=lambda c: c.ord)[1]  # card 2: the hinted deletion
            shown = card.render_output()
            media = Path(col.media.dir())
            for night in (False, True):
                sides = []
                for side, html in (("front", shown.question_text), ("back", shown.answer_text)):
                    context = browser.new_context(viewport=PHONE, color_scheme="dark" if night else "light",
                                                  device_scale_factor=1)
                    page = context.new_page()
                    page.set_content(_card_page(shown.css, html, card.ord + 1, night, media))
                    sides.append(tmp / f"{side}-{night}.png")
                    page.screenshot(path=str(sides[-1]))
                    context.close()
                target = out / f"cloze-card-phone-{'night' if night else 'day'}.png"
                _side_by_side(sides, target)
                written.append(target)
        x, y, right, bottom = CROP
        subprocess.run(["pdftoppm", "-png", "-singlefile", "-r", str(DPI), "-f", str(PAGE), "-l", str(PAGE),
                        "-x", str(x), "-y", str(y), "-W", str(right - x), "-H", str(bottom - y),
                        str(tmp / "book.pdf"), str(out / "cloze-images-math-print")], check=True)
        written.append(out / "cloze-images-math-print.png")
    return written


def _side_by_side(paths: list[Path], target: Path) -> None:
    from PIL import Image

    images = [Image.open(p) for p in paths]
    gap = 12
    joined = Image.new("RGB", (sum(i.width for i in images) + gap * (len(images) - 1),
                               max(i.height for i in images)), "#888888")
    x = 0
    for image in images:
        joined.paste(image, (x, 0))
        x += image.width + gap
    joined.save(target, optimize=True)


if __name__ == "__main__":
    for path in pictures(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images")):
        print(path)
