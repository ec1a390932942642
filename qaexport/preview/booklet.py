"""A question's booklet page(s) as a picture: the question laid out alone by the PDF exporter (its cover and
contents left out), the pages from the question's own anchor on drawn with PDFium and stacked into one PNG.

A layout takes about a second, so pictures are made when a preview asks for one and kept by what they show
(the question's rendered text, its names, the theme): a save that leaves a question unchanged keeps its picture.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import threading
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from ..exporters import Build
from ..exporters.pdf import PdfExporter, PdfOptions
from ..model import Library, QuestionRef
from ..render import Highlighter, Rendered

#: Pixels per PDF point: an A4 page 893 px wide, sharp enough to read code.
SCALE = 1.5
GAP = 16  # pixels between stacked pages
#: Pictures kept (each ~100-300 KiB).
KEPT = 64


def alone(ref: QuestionRef, library: Library) -> Library:
    """A library holding this question only, under its own framework, topic and subtopic."""
    sub = replace(ref.subtopic, questions=[ref.question])
    topic = replace(ref.topic, subtopics=[sub])
    return Library([replace(ref.framework, topics=[topic])], library.media)


def _question_pages(pdf_path: Path) -> tuple[int, int]:
    """(first, end) page indexes of the question: from the page of its anchor (``q-1``) to the last page."""
    import pikepdf

    with pikepdf.open(pdf_path) as pdf:
        names = pikepdf.NameTree(pdf.Root.Names.Dests)
        target = names["q-1"]
        page = target[0] if isinstance(target, pikepdf.Array) else target.D[0]
        first = next(i for i, p in enumerate(pdf.pages) if p.objgen == page.objgen)
        return first, len(pdf.pages)


def draw(pdf_path: Path, first: int, end: int) -> bytes:
    """Pages ``first``..``end - 1`` of a PDF, drawn and stacked top to bottom, as a PNG."""
    import pypdfium2 as pdfium
    from PIL import Image

    document = pdfium.PdfDocument(str(pdf_path))
    try:
        images = [document[i].render(scale=SCALE).to_pil() for i in range(first, end)]
    finally:
        document.close()
    width = max(im.width for im in images)
    sheet = Image.new("RGB", (width, sum(im.height for im in images) + GAP * (len(images) - 1)), (128, 128, 128))
    y = 0
    for im in images:
        sheet.paste(im, (0, y))
        y += im.height + GAP
    out = io.BytesIO()
    sheet.save(out, format="PNG", optimize=False)
    return out.getvalue()


class Booklet:
    """Booklet pictures of questions, made one at a time and kept by content."""

    def __init__(self, highlighter: Highlighter, time: float) -> None:
        self.highlighter = highlighter
        self.time = time
        self._kept: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self.made = 0  # layouts done (the tests read it)

    def identity(self, ref: QuestionRef, rendered: Rendered) -> str:
        """What the picture shows, as a digest: the key it is kept by (and the preview's cache-busting query)."""
        names = [ref.framework.name, ref.topic.name, ref.subtopic.name, ref.framework.description,
                 ref.topic.description, ref.subtopic.description, ref.question.key,
                 ref.question.difficulty.label if ref.question.difficulty else "", rendered.question, rendered.answer,
                 *(t.name for t in self.highlighter.themes)]
        return hashlib.blake2b("\0".join(names).encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()

    def png(self, ref: QuestionRef, library: Library, rendered: Rendered) -> bytes:
        """The picture of ``ref``'s pages (``rendered``: its text in the book scheme)."""
        identity = self.identity(ref, rendered)
        with self._lock:  # one layout at a time; a second request for the same picture waits and finds it
            if identity in self._kept:
                self._kept.move_to_end(identity)
                return self._kept[identity]
            build = Build(alone(ref, library), {ref.question.key: rendered}, self.highlighter, self.time)
            with tempfile.TemporaryDirectory(prefix="qaexport-preview-") as folder:
                target = Path(folder) / "question.pdf"
                PdfExporter().export(build, PdfOptions(parts=1), target)
                picture = draw(target, *_question_pages(target))
            self.made += 1
            self._kept[identity] = picture
            while len(self._kept) > KEPT:
                self._kept.popitem(last=False)
            return picture
