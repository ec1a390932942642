"""Images never run past the screen's edge in the EPUB and the site, either way: a 300×5000 picture was many screens
tall on a phone (trial 9, item 10). Laid out in headless Chromium at 360×740 CSS px, light and dark; the EPUB still
passes EPUBCheck."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from PIL import Image

from tests.browser import launched
from tests.cli_run import qaexport
from tests.tools import run_epubcheck

pytestmark = pytest.mark.slow  # builds books and drives Chromium and EPUBCheck

BANK = """---
framework: F
topic: T
subtopic: S
---

## Tall {#tall .easy}

Before ![tall green](images/tall.png) after.

![a wide banner](images/wide.png) and ![small red](images/small.png)
"""
SIZES = {"tall green": (300, 5000), "a wide banner": (2400, 60), "small red": (40, 20)}
WIDTH, HEIGHT = 360, 740


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("tall")
    (tmp / "bank" / "images").mkdir(parents=True)
    (tmp / "bank" / "a.md").write_text(BANK)
    for (name, file), colour in zip((("tall green", "tall"), ("a wide banner", "wide"), ("small red", "small")),
                                    ("green", "orange", "red"), strict=True):
        Image.new("RGB", SIZES[name], colour).save(tmp / "bank" / "images" / f"{file}.png")
    out = {"book": tmp / "a.epub", "quiz": tmp / "q.epub"}
    qaexport("epub", str(tmp / "bank"), "-o", str(out["book"]))
    qaexport("epub", str(tmp / "bank"), "--answers", "end", "-o", str(out["quiz"]))  # the answers after the chapter
    qaexport("site", str(tmp / "bank"), "-o", str(tmp / "site") + "/")
    pages = {"site": tmp / "site" / "f" / "t" / "s.html"}
    for name in ("book", "quiz"):
        with zipfile.ZipFile(out[name]) as zf:
            zf.extractall(tmp / name)
        pages[name] = tmp / name / "EPUB" / "f-t-s.xhtml"
    return {**out, **{f"page-{k}": v for k, v in pages.items()}}


def test_the_epub_with_a_tall_image_passes_epubcheck(built):
    counts, report = run_epubcheck(built["book"])
    assert counts["fatal"] == counts["error"] == counts["warning"] == 0, report


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_image_fits_a_phone_screen_with_its_aspect_ratio(built, scheme):
    with launched() as browser:
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT}, color_scheme=scheme)
        page = context.new_page()
        for name in ("book", "quiz", "site"):
            page.goto(built[f"page-{name}"].as_uri())
            if name == "site":
                page.click("#reveal-all")
            boxes = page.evaluate("""() => [...document.querySelectorAll('img')].map(i => {
                const r = i.getBoundingClientRect(); return [i.alt, r.width, r.height]; })""")
            assert sorted(alt for alt, _w, _h in boxes) == sorted(SIZES), (name, boxes)
            for alt, w, h in boxes:
                assert 0 < h <= HEIGHT and 0 < w <= WIDTH, (name, alt, w, h)
                natural_w, natural_h = SIZES[alt]
                assert abs(w / h - natural_w / natural_h) <= 0.05 * natural_w / natural_h, (name, alt, w, h)
        context.close()
