"""The sheets: every card's faces placed, as laid out, in their cells (imposition), with pikepdf.

Each face is a page of a measuring document (``layout``): card-wide, with the card in its top card-high part. Here
each becomes a form XObject clipped to that part (its bounding box) and drawn in its cell of a sheet, fronts on one
sheet and their backs on the next, in the cell behind (``geometry``): what a cell with ``overflow: hidden`` showed
when the sheets were laid out with their cards, without laying anything out twice. The sheets themselves come from
a small WeasyPrint document that holds the cut marks and the metadata (title, dates, the identifier), one sheet of
each kind: each sheet of cards has its kind's page boxes and draws its marks (a form XObject). Link annotations are
copied with their face.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .geometry import Grid, Rect

if TYPE_CHECKING:  # pikepdf is imported when cards are imposed
    import pikepdf

PT_PER_MM = 72 / 25.4
PT_PER_PX = 0.75
#: The page boxes a sheet takes from its kind's page (WeasyPrint writes the media, trim and bleed boxes).
BOXES = ("/MediaBox", "/CropBox", "/TrimBox", "/BleedBox", "/ArtBox")


@dataclass(frozen=True)
class Placed:
    """A laid-out face: the PDF it was drawn to and its page there; where its body starts (``top``, CSS px from the
    page's top) and how far down the body moves on its card (``lift``: a question in the middle of its card); the
    head drawn with it (``label``: a part of a cut answer is kept without its head, which has its "k/n")."""

    path: Path
    page: int
    lift: float = 0.0
    top: float = 0.0
    label: Placed | None = None


def _shift(rect: Rect, paper_h: float, page_h: float) -> tuple[float, float]:
    """How far (PDF points) a face's page moves so that its top card-high part lands on ``rect`` of a sheet
    ``paper_h`` mm high (PDF y runs up from the bottom; the page is ``page_h`` points high)."""
    return rect.x * PT_PER_MM, (paper_h - rect.y - rect.h) * PT_PER_MM - (page_h - rect.h * PT_PER_MM)


def _only_used_resources(page: pikepdf.Page) -> None:
    """A measuring page's resources cut to the names its drawing uses: WeasyPrint gives every page the patterns of
    its whole document (hundreds), and a form drawn on a sheet would carry them all."""
    import pikepdf
    from pikepdf import Dictionary, Name

    used = {str(operand) for operands, _operator in pikepdf.parse_content_stream(page) for operand in operands
            if isinstance(operand, Name)}
    resources = page.obj.get("/Resources")
    if resources is None:
        return
    kept = Dictionary()
    for kind, entries in resources.items():
        if isinstance(entries, Dictionary):
            kept[kind] = Dictionary({name: value for name, value in entries.items() if name in used})
        else:
            kept[kind] = entries
    page.obj.Resources = kept


def impose(marks: Path, cards: Sequence[tuple[Placed, Placed]], grid: Grid, duplex: str,
           offset: tuple[float, float], target: Path) -> None:
    """``marks``: the two kinds of sheet (fronts' marks, backs' marks) and the metadata; ``cards``: each card's
    front and back page. Writes the sheets to ``target``: fronts, their backs, the next fronts..."""
    import pikepdf
    from pikepdf import Array, Dictionary, Name

    from ...weasy.parts import save_pdf

    with pikepdf.open(marks) as out:
        kinds = [(page, out.make_indirect(page.as_form_xobject())) for page in out.pages[:2]]
        sources: dict[Path, pikepdf.Pdf] = {}
        try:
            sheet: list[pikepdf.Page] = []
            for slot, faces in enumerate(cards):
                index = slot % grid.per_page
                if index == 0:
                    sheet = []
                    for kind, drawing in kinds:
                        page = out.add_blank_page()
                        for box in BOXES:
                            if box in kind.obj:
                                page.obj[box] = Array(list(kind.obj[box]))
                        page.obj.Resources = Dictionary(XObject=Dictionary(Marks=drawing))
                        page.contents_add(b"q /Marks Do Q\n")
                        sheet.append(page)
                cells = (grid.front(index), grid.back(index, duplex, offset))
                for page, rect, face in zip(sheet, cells, faces, strict=True):
                    layers = [face] if face.label is None else [face.label, face]  # the head's text reads first
                    for layer, drawn in enumerate(layers):
                        name = Name(f"/Card{index}" + ("L" if layer else ""))
                        _draw(out, sources, page, rect, drawn, name, grid.paper_h)
            del out.pages[:2]
            for page in out.pages:
                page.contents_coalesce()
            save_pdf(out, target)
        finally:
            for source_pdf in sources.values():
                source_pdf.close()


def _draw(out: pikepdf.Pdf, sources: dict[Path, pikepdf.Pdf], page: pikepdf.Page, rect: Rect, face: Placed,
          name: pikepdf.Name, paper_h: float) -> None:
    """``face``'s page drawn in ``rect`` of a sheet, clipped to it; with a ``lift``, its head (above ``top``) where
    it is and its body that much lower, as the body's padding moved it when the face was laid out with it."""
    import pikepdf
    from pikepdf import Array, Matrix, Name

    if face.path not in sources:
        sources[face.path] = pikepdf.open(face.path)
    source = sources[face.path].pages[face.page]
    _only_used_resources(source)
    height = float(source.mediabox[3]) - float(source.mediabox[1])
    form = out.copy_foreign(source.as_form_xobject())
    form.BBox = Array([0, height - rect.h * PT_PER_MM, rect.w * PT_PER_MM, height])
    x, y = _shift(rect, paper_h, height)
    page.add_resource(form, Name.XObject, name, replace_existing=True)
    # Clipped to its cell by a path too, as the cell's overflow: hidden was: a renderer draws the edge of a
    # clipping path anti-aliased, and a form's bounding box on whole pixels.
    left, bottom = rect.x * PT_PER_MM, (paper_h - rect.y - rect.h) * PT_PER_MM
    width, cell = rect.w * PT_PER_MM, rect.h * PT_PER_MM
    lift = face.lift * PT_PER_PX
    if lift:
        head = face.top * PT_PER_PX
        clips = [(f"{left:.4f} {bottom + cell - head:.4f} {width:.4f} {head:.4f} re W n", 0.0),
                 (f"{left:.4f} {bottom:.4f} {width:.4f} {cell - head - lift:.4f} re W n", lift)]  # moved head out
    else:
        clips = [(f"{left:.4f} {bottom:.4f} {width:.4f} {cell:.4f} re W n", 0.0)]
    for clip, down in clips:
        page.contents_add(f"q {clip} 1 0 0 1 {x:.4f} {y - down:.4f} cm {name} Do Q\n".encode())
    if "/Annots" in source.obj:
        page.copy_annotations(source, Matrix().translated(x, y - lift))
