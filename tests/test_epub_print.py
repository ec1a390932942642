"""The EPUB for readers: Ace by DAISY finds no violation, a cover image, code that wraps visibly and copies intact,
nothing wider than a phone, a bounded line length on wide screens (headless Chromium measures the chapters)."""

from __future__ import annotations

import html
import json
import re
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.cli_run import qaexport
from tests.print_banks import LONG_CODE_LINE, long_bank, symbols_bank
from tests.system_tools import ace, ace_violations, chromium_dump_dom
from tests.tools import run_epubcheck

pytestmark = pytest.mark.slow  # lays out books or drives real tools: `-m 'not slow'` skips it

CLEAN = {"fatal": 0, "error": 0, "warning": 0, "info": 0, "usage": 0}


@pytest.fixture(scope="module")
def books(tmp_path_factory, sample_path) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("epub-print")
    out = {name: tmp / f"{name}.epub" for name in ("book", "quiz", "long", "symbols")}
    qaexport("epub", str(sample_path), "-o", str(out["book"]))
    qaexport("epub", str(sample_path), "--answers", "end", "-o", str(out["quiz"]))
    qaexport("epub", str(long_bank(tmp)), "-o", str(out["long"]))
    qaexport("epub", str(symbols_bank(tmp)), "--answers", "end", "--language", "en-GB", "-o", str(out["symbols"]))
    return out


@pytest.fixture(scope="module")
def ace_reports(books) -> dict[str, list[str]]:
    names = ("book", "quiz")
    ace()  # install once, before the threads
    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(names, pool.map(ace_violations, [books[n] for n in names]), strict=True))


@pytest.mark.parametrize("name", ["book", "quiz"])
def test_ace_by_daisy_reports_no_violation(ace_reports, name):
    assert ace_reports[name] == []


@pytest.mark.parametrize("name", ["long", "symbols"])
def test_epubcheck_still_reports_nothing(books, name):
    counts, report = run_epubcheck(books[name])
    assert counts == CLEAN, report


def _files(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        return {n: zf.read(n).decode("utf-8") for n in zf.namelist() if not n.endswith(".ttf")}  # fonts: binary


def test_package_metadata_for_accessibility(books):
    opf = _files(books["symbols"])["EPUB/content.opf"]
    assert re.search(r'<package [^>]*xml:lang="en-GB"', opf)
    for prop in ("accessMode", "accessModeSufficient", "accessibilityFeature", "accessibilityHazard",
                 "accessibilitySummary"):
        assert f'property="schema:{prop}"' in opf, prop


def test_cover_image_is_declared_and_drawn_from_the_cover(books, sample_library):
    files = _files(books["book"])
    opf = files["EPUB/content.opf"]
    item = re.search(r'<item [^>]*properties="cover-image"[^>]*/>', opf).group(0)
    href = re.search(r'href="([^"]+)"', item).group(1)
    assert 'media-type="image/svg+xml"' in item
    svg = files[f"EPUB/{href}"]
    assert html.escape(sample_library.title, quote=False) in svg
    assert f"{sample_library.count()} questions" in svg


def test_code_lines_copy_intact_and_know_their_indentation(books):
    chapter = _files(books["long"])["EPUB/longfw-longtopic-long.xhtml"]
    block = next(b for b in re.findall(r'<pre class="hl">(.*?)</pre>', chapter, re.S) if "compute_value_4" in b)
    text = html.unescape(re.sub(r"<[^>]+>", "", block))
    assert LONG_CODE_LINE + "\n" in text and "↪" not in text  # copying gives the code, no marks
    assert '<span class="ln in4 wrap">' in block


@pytest.mark.parametrize("line", [
    "plain", "    four", '<span class="w">        </span><span class="k">eight</span>', "\ttab", " \t mixed",
    '<span class="w">  </span>' + "x" * 86, "  " + "&lt;" * 30 + "y" * 60, "y" * 87, "y" * 88, "  <b>  </b>  z",
    '<span class="s">"   "</span>', "",
])
def test_code_lines_measure_what_the_reader_sees(line):
    """Each line's indentation and whether it may wrap are those of its visible text (tags out, entities in,
    tabs of 4), whichever way ``code_lines`` takes to find them."""
    from qaexport.books.html import MAX_INDENT, MAY_WRAP, code_lines

    text = html.unescape(re.sub(r"<[^>]+>", "", line)).expandtabs(4)
    indent = min(len(text) - len(text.lstrip(" ")), MAX_INDENT)
    wraps = " wrap" if len(text) >= MAY_WRAP else ""
    block = f'<pre class="hl"><code class="language-py">{line}\n</code></pre>'
    assert code_lines(block) == (f'<pre class="hl"><code class="language-py"><span class="ln in{indent}{wraps}">'
                                 f"{line}\n</span></code></pre>")


def _measure(chapter: Path, width: int) -> dict:
    """Lay a chapter out in headless Chromium at ``width`` CSS pixels; report what sticks out past the right."""
    script = """
    document.getElementById("f").onload = () => {
      const d = document.getElementById("f").contentDocument;
      const W = d.documentElement.clientWidth, bad = [];
      // Inside a box that scrolls sideways (a wide table), content may reach past the screen: the box may not.
      const scrolled = el => { for (let p = el.parentElement; p; p = p.parentElement) {
        if (["auto", "scroll"].includes(getComputedStyle(p).overflowX)) return true; } return false; };
      for (const el of d.body.querySelectorAll("*")) {
        const r = el.getBoundingClientRect();
        if (r.width && r.right > W + 0.5 && !scrolled(el))
          bad.push(el.tagName + "." + el.className + ":" + Math.round(r.right));
      }
      const widest = Math.max(...[...d.querySelectorAll("p")].map(p => p.getBoundingClientRect().width));
      const em = parseFloat(getComputedStyle(d.body).fontSize);
      const out = document.createElement("pre"); out.id = "result";
      out.textContent = JSON.stringify({W, scrollWidth: d.documentElement.scrollWidth, bad, widest, em});
      document.body.appendChild(out);
    };"""
    with tempfile.TemporaryDirectory() as tmp:
        wrapper = Path(tmp) / "measure.html"
        wrapper.write_text(f'<!DOCTYPE html><html><body style="margin:0"><iframe id="f" src="{chapter.as_uri()}" '
                           f'style="width:{width}px;height:900px;border:0"></iframe><script>{script}</script>'
                           "</body></html>")
        dom = chromium_dump_dom(wrapper, Path(tmp) / "profile", "--allow-file-access-from-files",
                                "--virtual-time-budget=5000")
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.S)
    assert found, dom
    return json.loads(html.unescape(found.group(1)))


@pytest.fixture(scope="module")
def unpacked(books, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(books["long"]) as zf:
        zf.extractall(folder)
    return folder / "EPUB" / "longfw-longtopic-long.xhtml"


def test_nothing_is_wider_than_a_phone(unpacked):
    result = _measure(unpacked, 360)
    assert result["bad"] == [] and result["scrollWidth"] <= result["W"], result


def test_lines_stay_readable_on_a_wide_screen(unpacked):
    result = _measure(unpacked, 1280)
    assert result["bad"] == []
    assert result["widest"] <= 41 * result["em"], result  # about 75 characters, not 1280 px
