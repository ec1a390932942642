"""The sheets: every card's faces placed, as laid out, in their cells (imposition), with pikepdf.

Each face is a page of a measuring document (``layout``): card-wide, with the card in its top card-high part. Here
each becomes a form XObject clipped to that part (its bounding box) and drawn in its cell of a sheet, fronts on one
sheet and their backs on the next, in the cell behind (``geometry``): what a cell with ``overflow: hidden`` showed
when the sheets were laid out with their cards, without laying anything out twice. The sheets themselves come from
a small WeasyPrint document that holds the cut marks and the metadata (title, dates, the identifier), one sheet of
each kind: each sheet of cards has its kind's page boxes and draws its marks (a form XObject). Link annotations are
copied with their face. A question moved to the middle of its card is its page drawn in two clipped pieces (its head
where it is, its body lower), each with only its own text (``_cut_text``): a reader meets the text once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
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
    "k/n" drawn with it (``label``, first: a face kept without it) and a "(continued)" (``after``, last: under a
    question's head, so that a reader meets "#n k/n", the head, then "(continued)")."""

    path: Path
    page: int
    lift: float = 0.0
    top: float = 0.0
    label: Placed | None = None
    after: Placed | None = None
    #: Only its head (above ``top``), as on a "(continued)" front under its question's kept first card.
    head_only: bool = False


def _shift(rect: Rect, paper_h: float, page_h: float) -> tuple[float, float]:
    """How far (PDF points) a face's page moves so that its top card-high part lands on ``rect`` of a sheet
    ``paper_h`` mm high (PDF y runs up from the bottom; the page is ``page_h`` points high)."""
    return rect.x * PT_PER_MM, (paper_h - rect.y - rect.h) * PT_PER_MM - (page_h - rect.h * PT_PER_MM)


#: A name in a content stream (PDF 32000 7.3.5): a solidus and the regular characters after it.
_NAME = re.compile(rb"/([^\x00\t\n\x0c\r ()<>\[\]{}/%]*)")
_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")  # a character of a name written as its code


def _only_used_resources(page: pikepdf.Page) -> None:
    """A measuring page's resources cut to the names its drawing uses: WeasyPrint gives every page the patterns of
    its whole document (hundreds), and a form drawn on a sheet would carry them all. The names are read from the
    drawing's bytes (a name inside a string would keep a resource it does not use: never one it uses); parsing the
    drawing into objects took as long as the rest of the imposition."""
    from pikepdf import Array, Dictionary

    resources = page.obj.get("/Resources")
    if resources is None:
        return
    contents = page.obj.Contents
    drawing = b"\n".join(part.read_bytes() for part in contents) if isinstance(contents, Array) else \
        contents.read_bytes()
    used = {"/" + _HEX.sub(lambda m: bytes.fromhex(m.group(1).decode()), name).decode("latin-1")
            for name in _NAME.findall(drawing)}
    kept = Dictionary()
    for kind, entries in resources.items():
        if isinstance(entries, Dictionary):
            kept[kind] = Dictionary({name: value for name, value in entries.items() if name in used})
        else:
            kept[kind] = entries
    page.obj.Resources = kept


#: Operators that show text, and those that move to a new line before showing it.
_SHOW = frozenset({"Tj", "TJ", "'", '"'})
_NEXT_LINE = frozenset({"T*", "'", '"'})


def _cut_text(contents: list, page_h: float, top: float,
              pictures: Mapping[str, tuple[float, float, float, float]] | None = None) -> tuple[list, list]:
    """A page's drawing (``contents``, parsed; the page ``page_h`` points high) as two: without the text and the
    pictures shown below ``top`` (CSS px from the page's top), and without those shown above it. A face moved in two
    pieces (its head where it is, its body lower) draws each piece clipped from the same page: with the whole page's
    text in both, a reader (a search, a screen reader) met its text twice; with its pictures in both, a picture was
    drawn twice (two images in the PDF for one), and one in the question's first line, whose top is the body's top,
    showed its edge as a thin line under the head's clip. What is cut lies outside the piece's clip (but for that
    edge). A line is placed by its start (its text matrix in the page's space: text runs along a line); a picture
    (an XObject drawn with ``Do``: ``pictures`` gives each name's box in its own space, x0 y0 x1 y1) by its middle,
    an inline image (the unit square) too."""
    import pikepdf

    def times(a: tuple[float, ...], b: tuple[float, ...]) -> tuple[float, ...]:  # a then b (PDF's row vectors)
        return (a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
                a[2] * b[1] + a[3] * b[3], a[4] * b[0] + a[5] * b[2] + b[4], a[4] * b[1] + a[5] * b[3] + b[5])

    identity = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    ctm, stack, line, leading = identity, [], identity, 0.0
    above: list = []
    below: list = []
    unit = (0.0, 0.0, 1.0, 1.0)
    for item in contents:
        operands, operator = item.operands, item.operator
        op = str(operator)
        if op in ("Do", "INLINE IMAGE"):
            x0, y0, x1, y1 = (pictures or {}).get(str(operands[0]), unit) if op == "Do" else unit
            middle = times((1.0, 0.0, 0.0, 1.0, (x0 + x1) / 2, (y0 + y1) / 2), ctm)[5]
            (above if (page_h - middle) / PT_PER_PX < top else below).append(item)
            continue
        if op == "q":
            stack.append(ctm)
        elif op == "Q" and stack:
            ctm = stack.pop()
        elif op == "cm":
            ctm = times(tuple(float(v) for v in operands), ctm)
        elif op == "BT":
            line = identity
        elif op == "Tm":
            line = tuple(float(v) for v in operands)
        elif op in ("Td", "TD"):
            tx, ty = (float(v) for v in operands)
            leading = -ty if op == "TD" else leading
            line = times((1.0, 0.0, 0.0, 1.0, tx, ty), line)
        elif op == "TL":
            leading = float(operands[0])
        if op in _NEXT_LINE:
            line = times((1.0, 0.0, 0.0, 1.0, 0.0, -leading), line)
        if op in _SHOW:
            y = times(line, ctm)[5]  # the line's start, in the page's space (points up from its bottom)
            (above if (page_h - y) / PT_PER_PX < top else below).append(pikepdf.ContentStreamInstruction(
                operands, operator))
            continue
        instruction = pikepdf.ContentStreamInstruction(operands, operator)
        above.append(instruction)
        below.append(instruction)
    return above, below


def _pictures(page: pikepdf.Page) -> dict[str, tuple[float, float, float, float]]:
    """The box (x0 y0 x1 y1, in the space it is drawn in) of each XObject a page draws: an image fills the unit
    square; a form its bounding box, through its matrix."""
    from pikepdf import Dictionary

    resources = page.obj.get("/Resources")
    xobjects = resources.get("/XObject") if resources is not None else None
    boxes: dict[str, tuple[float, float, float, float]] = {}
    for name, xobject in (xobjects.items() if isinstance(xobjects, Dictionary) else ()):
        if xobject.get("/Subtype") != "/Form" or "/BBox" not in xobject:
            boxes[str(name)] = (0.0, 0.0, 1.0, 1.0)
            continue
        x0, y0, x1, y1 = (float(v) for v in xobject.BBox)
        a, b, c, d, e, f = (float(v) for v in xobject.get("/Matrix", (1, 0, 0, 1, 0, 0)))
        xs, ys = zip(*((a * x + c * y + e, b * x + d * y + f) for x in (x0, x1) for y in (y0, y1)), strict=True)
        boxes[str(name)] = (min(xs), min(ys), max(xs), max(ys))
    return boxes


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
        forms: dict[tuple[Path, int], pikepdf.Object] = {}  # a page drawn on many cards (a "k/n") is copied once
        heads: dict[tuple[Path, int], pikepdf.Object] = {}  # and a question's head, on its "(continued)" fronts
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
                    # The "k/n"'s text reads first (a reader puts it after the number, on its line)
                    layers = [(layer, drawn) for layer, drawn in (("", face.label), ("L", face), ("A", face.after))
                              if drawn is not None]
                    for layer, drawn in layers:
                        name = Name(f"/Card{index}{layer}")
                        _draw(out, sources, page, rect, drawn, name, grid.paper_h, forms, heads)
            del out.pages[:2]
            for page in out.pages:
                page.contents_coalesce()
            save_pdf(out, target)
        finally:
            for source_pdf in sources.values():
                source_pdf.close()


def _draw(out: pikepdf.Pdf, sources: dict[Path, pikepdf.Pdf], page: pikepdf.Page, rect: Rect, face: Placed,
          name: pikepdf.Name, paper_h: float, forms: dict[tuple[Path, int], pikepdf.Object],
          heads: dict[tuple[Path, int], pikepdf.Object]) -> None:
    """``face``'s page drawn in ``rect`` of a sheet, clipped to it; with a ``lift``, its head (above ``top``) where
    it is and its body that much lower, as the body's padding moved it when the face was laid out with it. A page
    drawn whole is made a form once (``forms``; every cell is the same size), however many cards draw it, and a
    lifted page's head too (``heads``: a "(continued)" front draws its question's)."""
    import pikepdf
    from pikepdf import Array, Matrix, Name

    if face.path not in sources:
        sources[face.path] = pikepdf.open(face.path)
    source = sources[face.path].pages[face.page]
    height = float(source.mediabox[3]) - float(source.mediabox[1])
    whole = not face.lift and not face.head_only
    # A "(continued)" front draws the head its question's first card drew (made just before): that same form.
    form = forms.get((face.path, face.page)) if whole else heads.get((face.path, face.page)) if face.head_only \
        else None
    if form is None:
        _only_used_resources(source)
        form = out.copy_foreign(source.as_form_xobject())
        form.BBox = Array([0, height - rect.h * PT_PER_MM, rect.w * PT_PER_MM, height])
        if whole:
            forms[face.path, face.page] = form
    x, y = _shift(rect, paper_h, height)
    # Clipped to its cell by a path too, as the cell's overflow: hidden was: a renderer draws the edge of a
    # clipping path anti-aliased, and a form's bounding box on whole pixels.
    left, bottom = rect.x * PT_PER_MM, (paper_h - rect.y - rect.h) * PT_PER_MM
    width, cell = rect.w * PT_PER_MM, rect.h * PT_PER_MM
    lift = face.lift * PT_PER_PX
    head = face.top * PT_PER_PX
    if face.head_only and (face.path, face.page) in heads:
        pieces = [(f"{left:.4f} {bottom + cell - head:.4f} {width:.4f} {head:.4f} re W n", 0.0, form, Name(f"{name}H"))]
    elif lift or face.head_only:
        # Its head where it is and its body lower: two pieces of the page, each drawing only its own text.
        above, below = _cut_text(pikepdf.parse_content_stream(source), height, face.top, _pictures(source))
        head_form = pikepdf.Stream(out, pikepdf.unparse_content_stream(above))
        for key, value in form.items():
            if key not in ("/Length", "/Filter", "/DecodeParms"):
                head_form[key] = value
        form.write(pikepdf.unparse_content_stream(below))
        heads[face.path, face.page] = head_form = out.make_indirect(head_form)
        pieces = [(f"{left:.4f} {bottom + cell - head:.4f} {width:.4f} {head:.4f} re W n", 0.0, head_form,
                   Name(f"{name}H")),
                  (f"{left:.4f} {bottom:.4f} {width:.4f} {cell - head - lift:.4f} re W n", lift, form, name)]
        if face.head_only:  # a "(continued)" front: its question's head alone
            pieces = pieces[:1]
    else:
        pieces = [(f"{left:.4f} {bottom:.4f} {width:.4f} {cell:.4f} re W n", 0.0, form, name)]
    for clip, down, drawing, called in pieces:
        page.add_resource(drawing, Name.XObject, called, replace_existing=True)
        page.contents_add(f"q {clip} 1 0 0 1 {x:.4f} {y - down:.4f} cm {called} Do Q\n".encode())
    if "/Annots" in source.obj and not face.head_only:  # (a head has no links: the body's stay on its card)
        page.copy_annotations(source, Matrix().translated(x, y - lift))
