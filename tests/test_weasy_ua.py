"""The lean user-agent stylesheet: it applies to the installed WeasyPrint, and pages look exactly the same."""

from __future__ import annotations

from pathlib import Path

import pytest
from weasyprint import HTML
from weasyprint.html import UA, UA_STYLESHEET

from qaexport.weasy import compat as weasy_ua
from qaexport.weasy.compat import LeanHTML, lean_ua_source
from tests.tools import page_bitmaps

#: Lists of every kind our content can hold (ordered, unordered, nested, with a start), code, a table, links.
PAGE = """<!DOCTYPE html><html lang="en"><head><style>
@page { size: A6; margin: 8mm; @bottom-center { content: counter(page) " / " counter(pages); } }
</style></head><body>
<h1>Lists</h1>
<ol><li>first</li><li>second<ul><li>inner disc<ul><li>square</li></ul></li></ul></li><li>third</li></ol>
<ol start="9"><li>nine</li><li>ten</li><li>eleven</li></ol>
<ul><li>a</li><li>b</li></ul>
<details><summary>summary line</summary><p>body</p></details>
<pre><code>def f(x):\n    return x</code></pre>
<table><tr><th>A</th><td>1</td></tr></table>
<p><a href="https://example.org">a link</a> and <code>code</code>.</p>
</body></html>"""


def _bitmaps(html: HTML, tmp: Path) -> list[bytes]:
    pdf = tmp / "out.pdf"
    html.write_pdf(pdf)
    return page_bitmaps(pdf, 1.5)


def test_the_trim_applies_to_the_installed_weasyprint():
    lean = lean_ua_source()
    assert lean is not None, "WeasyPrint's html5_ua.css changed: update compat._UNIVERSAL"
    assert "::footnote-call" not in lean and "\n::marker" not in lean
    assert ":is(li, summary)::marker" in lean
    assert UA_STYLESHEET not in LeanHTML(string="<p>x</p>")._ua_stylesheets()


def test_an_unexpected_stylesheet_is_left_alone():
    assert lean_ua_source(UA.replace("::note-callback", "::note-back")) is None
    assert lean_ua_source("p { color: red }") is None


def test_pages_are_pixel_identical_to_the_stock_stylesheet(tmp_path):
    stock = _bitmaps(HTML(string=PAGE), tmp_path)
    lean = _bitmaps(LeanHTML(string=PAGE), tmp_path)
    assert len(stock) == len(lean) >= 1
    assert stock == lean


def test_the_lean_sheet_keeps_far_fewer_styles():
    """What the trim is for: no pseudo-element style per element for markers and notes nobody uses."""
    stock, lean = _kept_styles(HTML), _kept_styles(LeanHTML)
    assert lean < stock / 3, (lean, stock)


def _kept_styles(cls: type[HTML]) -> int:
    """Computed styles WeasyPrint made for a document of 50 list items (counted through its StyleFor)."""
    from weasyprint.css import get_all_computed_styles

    html = cls(string="<ul>" + "<li><p><span>x</span> y</p></li>" * 50 + "</ul>")
    style_for = get_all_computed_styles(html, user_stylesheets=[])
    return len(style_for.get_computed_styles())


@pytest.fixture(autouse=True)
def _fresh_cache():
    weasy_ua._lean_stylesheet.cache_clear()
    yield
