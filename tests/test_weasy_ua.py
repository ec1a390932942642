"""The lean user-agent stylesheet (weasy/compat.py): it applies to the installed WeasyPrint and to every release
pyproject.toml allows, pages look exactly the same, and without WeasyPrint's private parts the public HTML prints
the same pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from weasyprint import HTML

from qaexport.weasy import compat as weasy_ua
from qaexport.weasy.compat import TESTED, LeanHTML, html_class, lean_ua_source
from tests.system_tools import python_release
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
    stock = weasy_ua._private_ua()[2]
    assert stock in HTML(string="<p>x</p>")._ua_stylesheets()
    assert stock not in LeanHTML(string="<p>x</p>")._ua_stylesheets()


def test_an_unexpected_stylesheet_is_left_alone():
    ua = weasy_ua._private_ua()[0]
    assert lean_ua_source(ua.replace("::footnote-marker", "::footnote-mark")) is None
    assert lean_ua_source("p { color: red }") is None
    assert lean_ua_source(ua + "\n::marker { color: red }\n") is None  # a rule twice: not the sheet we know


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
    weasy_ua._private_ua.cache_clear()
    yield
    weasy_ua._lean_stylesheet.cache_clear()
    weasy_ua._private_ua.cache_clear()


@pytest.mark.parametrize("breakage", ["no private sheet", "another signature", "other rules"])
def test_without_the_private_parts_the_public_html_prints_the_same_pages(breakage, monkeypatch, tmp_path):
    """The fallback: when this WeasyPrint lacks what the trim reaches for, layout uses the public ``HTML``."""
    import weasyprint.html

    if breakage == "no private sheet":
        monkeypatch.delattr(weasyprint.html, "UA_STYLESHEET")
    elif breakage == "another signature":
        stock = HTML._ua_stylesheets  # a release whose method takes another argument: the trim must not guess
        monkeypatch.setattr(HTML, "_ua_stylesheets", lambda self, forms=False, extra=None: stock(self, forms))
    else:
        monkeypatch.setattr(weasyprint.html, "UA", weasyprint.html.UA.replace("::footnote-marker", "::footnote-mark"))
    assert html_class() is HTML
    assert LeanHTML(string="<p>x</p>")._ua_stylesheets() is not None  # even used directly, it never breaks
    from qaexport.weasy.layout import write_pdf

    write_pdf(PAGE, "", "0" * 32, tmp_path / "fallback.pdf", lambda _n: None)
    monkeypatch.undo()
    weasy_ua._lean_stylesheet.cache_clear()
    weasy_ua._private_ua.cache_clear()
    assert html_class() is LeanHTML
    write_pdf(PAGE, "", "0" * 32, tmp_path / "lean.pdf", lambda _n: None)
    assert page_bitmaps(tmp_path / "fallback.pdf", 1.5) == page_bitmaps(tmp_path / "lean.pdf", 1.5)


def test_pyproject_bounds_weasyprint_to_the_tested_releases():
    import tomllib

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    spec = next(d for d in project["dependencies"] if d.startswith("weasyprint"))
    assert spec.split("#")[0].strip() == f"weasyprint>={TESTED.start},<{TESTED.stop}"


_CHECK_RELEASE = """
import sys
from weasyprint import HTML, __version__
from qaexport.weasy import compat
from tests.test_weasy_ua import PAGE
from tests.system_tools import python_release
from tests.tools import page_bitmaps
assert __version__.startswith(sys.argv[1] + "."), __version__
assert compat.html_class() is compat.LeanHTML, "the trim does not apply to WeasyPrint " + __version__
HTML(string=PAGE).write_pdf(sys.argv[2] + "/stock.pdf")
compat.LeanHTML(string=PAGE).write_pdf(sys.argv[2] + "/lean.pdf")
assert page_bitmaps(sys.argv[2] + "/stock.pdf", 1.5) == page_bitmaps(sys.argv[2] + "/lean.pdf", 1.5)
print("ok", __version__)
"""


@pytest.mark.parametrize("major", [m for m in TESTED])
def test_the_trim_applies_to_every_release_in_the_bound(major, tmp_path_factory):
    """Each major release pyproject.toml allows, installed beside this one (its wheel is pure Python; the
    other libraries are the installed ones): the trim applies and the pages equal the stock sheet's."""
    import subprocess
    import sys

    import weasyprint

    root = Path(__file__).parent.parent
    # the installed release, or another one installed once into the tools cache and reused from there
    site = None if weasyprint.__version__.startswith(f"{major}.") else python_release(f"weasyprint=={major}.*")
    env = {**__import__("os").environ, "PYTHONPATH": f"{site}:{root}" if site else str(root)}
    out = tmp_path_factory.mktemp("pages")
    result = subprocess.run([sys.executable, "-c", _CHECK_RELEASE, str(major), str(out)], capture_output=True,
                            text=True, env=env, cwd=root, timeout=300)
    assert result.returncode == 0 and result.stdout.startswith("ok"), result.stdout + result.stderr



#: A page with no margin-box rule (the cards' measuring pages): its margin boxes are skipped, not made.
BARE = PAGE.replace(' @bottom-center { content: counter(page) " / " counter(pages); }', "")


@pytest.mark.parametrize("page", [PAGE, BARE], ids=["footer", "bare"])
def test_pages_without_margin_box_rules_are_the_same_without_margin_boxes(tmp_path, monkeypatch, page):
    """Skipping the margin boxes of pages that have no margin-box rule applies to the installed WeasyPrint, makes
    none for such a page, and prints the same pages as WeasyPrint's own margin boxes: a footer is still drawn."""
    import weasyprint.layout
    from weasyprint.formatting_structure import boxes

    from qaexport.weasy import layout  # noqa: F401  (applies it)

    skipping = weasyprint.layout.make_margin_boxes
    assert weasy_ua.skip_empty_margin_boxes() and skipping.__wrapped__ is not skipping
    made: list[str] = []

    class Counted(boxes.MarginBox):
        def __init__(self, at_keyword, style, *args, **kwargs):
            made.append(at_keyword)
            super().__init__(at_keyword, style, *args, **kwargs)

    monkeypatch.setattr(boxes, "MarginBox", Counted)
    ours = _bitmaps(LeanHTML(string=page), tmp_path)
    skipped = not made
    monkeypatch.setattr(weasyprint.layout, "make_margin_boxes", skipping.__wrapped__)
    theirs = _bitmaps(LeanHTML(string=page), tmp_path)
    assert made and len(ours) == len(theirs) >= 1 and ours == theirs
    assert skipped == (page is BARE)
    if page is PAGE:  # the footer is drawn: the pages differ from the same page without it
        assert ours != _bitmaps(LeanHTML(string=BARE), tmp_path)
