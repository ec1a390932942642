"""Where every card sits on a sheet, front and back: pure arithmetic in millimetres, no layout engine.

The grid is centred with equal margins left/right and top/bottom, so mirroring a cell about the
sheet's vertical axis (long-edge duplex) or horizontal axis (short-edge duplex) lands exactly on
another cell: a card's back is printed exactly behind its front when the printer is exact, and
``--back-offset`` corrects the printers that are not.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...errors import UsageError

MM_PER_INCH = 25.4

#: Paper (width, height) in mm, portrait. Pages are always portrait: a printer that rotates a
#: landscape page before duplexing would turn "long edge" into "short edge".
PAPERS: dict[str, tuple[float, float]] = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}

#: Card stock (width, height) in mm as sold; the grid may turn a card to fit more per sheet.
CARD_SIZES: dict[str, tuple[float, float]] = {
    "a7": (105.0, 74.0),
    "index-3x5": (5 * MM_PER_INCH, 3 * MM_PER_INCH),
    "index-4x6": (6 * MM_PER_INCH, 4 * MM_PER_INCH),
    "business": (85.0, 55.0),
}

DUPLEX_MODES = ("long-edge", "short-edge", "none")

#: Cut marks: drawn only in a margin at least this wide, this far from the card edge.
MARK_MIN_MARGIN = 3.0
MARK_GAP = 1.0
MARK_MAX_LENGTH = 6.0
#: A back offset beyond this is a typo, not a printer's misregistration.
MAX_OFFSET = 20.0
_EPS = 1e-6


@dataclass(frozen=True)
class Rect:
    """A rectangle in mm from the sheet's top-left corner (CSS coordinates)."""

    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True)
class Grid:
    """``cols`` × ``rows`` cards of ``card_w`` × ``card_h`` centred on a ``paper_w`` × ``paper_h`` sheet."""

    paper_w: float
    paper_h: float
    card_w: float
    card_h: float
    cols: int
    rows: int

    @property
    def per_page(self) -> int:
        return self.cols * self.rows

    @property
    def margin_x(self) -> float:
        return (self.paper_w - self.cols * self.card_w) / 2

    @property
    def margin_y(self) -> float:
        return (self.paper_h - self.rows * self.card_h) / 2

    def cell(self, row: int, col: int) -> Rect:
        return Rect(self.margin_x + col * self.card_w, self.margin_y + row * self.card_h, self.card_w, self.card_h)

    def front(self, slot: int) -> Rect:
        """Slot ``slot`` (row-major) on a front page."""
        return self.cell(*divmod(slot, self.cols))

    def back(self, slot: int, duplex: str, offset: tuple[float, float] = (0.0, 0.0)) -> Rect:
        """The cell behind slot ``slot`` on the next page, as that page is printed (then shifted by ``offset``)."""
        row, col = divmod(slot, self.cols)
        if duplex == "long-edge":  # the sheet turns about its vertical axis: columns swap
            col = self.cols - 1 - col
        elif duplex == "short-edge":  # it turns about its horizontal axis: rows swap
            row = self.rows - 1 - row
        r = self.cell(row, col)
        return Rect(r.x + offset[0], r.y + offset[1], r.w, r.h)

    def cut_marks(self) -> list[Rect]:
        """Short hairlines extending each grid line into the margins, never inside the grid.

        Returned as zero-width (vertical) or zero-height (horizontal) rectangles; a side whose
        margin is too narrow (A7 fills A4 edge to edge) gets none: the paper edge is the cut there.
        """
        marks: list[Rect] = []
        mx, my = self.margin_x, self.margin_y
        if my >= MARK_MIN_MARGIN:
            length = min(MARK_MAX_LENGTH, my - MARK_GAP - 0.5)
            for c in range(self.cols + 1):
                x = mx + c * self.card_w
                marks.append(Rect(x, my - MARK_GAP - length, 0, length))
                marks.append(Rect(x, self.paper_h - my + MARK_GAP, 0, length))
        if mx >= MARK_MIN_MARGIN:
            length = min(MARK_MAX_LENGTH, mx - MARK_GAP - 0.5)
            for r in range(self.rows + 1):
                y = my + r * self.card_h
                marks.append(Rect(mx - MARK_GAP - length, y, length, 0))
                marks.append(Rect(self.paper_w - mx + MARK_GAP, y, length, 0))
        return marks


def _fit(paper: tuple[float, float], card: tuple[float, float]) -> tuple[int, int]:
    return int(paper[0] / card[0] + _EPS), int(paper[1] / card[1] + _EPS)


def choose_grid(paper: str, size: str, per_page: int = 0) -> Grid:
    """The grid for ``size`` cards on ``paper``: as many as fit (``per_page`` 0), else exactly ``per_page``.

    Both card orientations are tried; the one holding more cards wins (ties: the card as sold).
    """
    pw, ph = PAPERS[paper]
    w, h = CARD_SIZES[size]
    options = []
    for cw, ch in ((w, h), (h, w)):
        cols, rows = _fit((pw, ph), (cw, ch))
        options.append((cols * rows, cw, ch, cols, rows))
    best = max(options, key=lambda o: o[0])  # max() keeps the first of equals: the card as sold
    if best[0] == 0:
        raise UsageError(f"--size {size} cards do not fit on {paper} paper; choose a smaller --size")
    if per_page == 0:
        _, cw, ch, cols, rows = best
        return Grid(pw, ph, cw, ch, cols, rows)
    possible: dict[int, Grid] = {}
    for _, cw, ch, max_cols, max_rows in sorted(options, key=lambda o: -o[0]):
        for cols in range(max_cols, 0, -1):
            for rows in range(max_rows, 0, -1):
                possible.setdefault(cols * rows, Grid(pw, ph, cw, ch, cols, rows))
    if per_page not in possible:
        allowed = ", ".join(str(n) for n in sorted(possible))
        raise UsageError(f"--per-page {per_page}: {size} cards on {paper} paper make a grid of {allowed} per page; "
                         "choose one of those")
    return possible[per_page]


def parse_offset(text: str) -> tuple[float, float]:
    """``"X,Y"`` in mm (right and down on the back page) → floats; a usage error otherwise."""
    parts = text.replace(" ", "").split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        x, y = float(parts[0]), float(parts[1])
    except ValueError:
        raise UsageError(f"--back-offset {text!r}: give two numbers in millimetres, X,Y (e.g. 1.5,-0.5)") from None
    if not (abs(x) <= MAX_OFFSET and abs(y) <= MAX_OFFSET):
        raise UsageError(f"--back-offset {text!r}: each value must be within ±{MAX_OFFSET:g} mm; "
                         "print `qaexport cards --calibrate` to measure your printer")
    return x, y


@dataclass(frozen=True)
class Mark:
    """A line, tick or label of the calibration sheet, in mm from the sheet's top-left corner."""

    kind: str  # "line", "tick", "label" (under the horizontal ruler) or "vlabel" (beside the vertical one)
    x: float
    y: float
    w: float
    h: float
    text: str = ""


CALIBRATION_RANGE = 10  # mm either side of zero
RULER_DISTANCE = 15.0  # mm from the centre: each ruler crosses one long arm of the other side's cross
ARM = 30.0
_LINE = 0.2  # mm


def calibration_marks(paper: str, duplex: str, side: str) -> list[Mark]:
    """A cross at the sheet's centre with long arms, and two rulers across the arms, in ``--back-offset`` values.

    Seen through the sheet, the other side's vertical arm crosses this side's horizontal ruler (15 mm
    below the centre) and its horizontal arm crosses the vertical ruler (15 mm right of it). The labels
    are chosen so the number read there is the offset to pass, on either side. On the back a label L
    sits L mm right of (below) zero: a printer that shifts the back by s puts the label -s under the
    front's arm, and -s is the correction. On the front the same correction is read through the
    mirror of the duplex turn: long-edge turns x over, short-edge y.
    """
    pw, ph = PAPERS[paper]
    cx, cy = pw / 2, ph / 2
    sx, sy = 1, 1
    if side == "front":
        sx, sy = (1, -1) if duplex == "long-edge" else (-1, 1)
    hy, vx = cy + RULER_DISTANCE, cx + RULER_DISTANCE  # the rulers' base lines
    span = CALIBRATION_RANGE + 2
    marks = [Mark("line", cx - ARM, cy - _LINE / 2, 2 * ARM, _LINE),  # the cross
             Mark("line", cx - _LINE / 2, cy - ARM, _LINE, 2 * ARM),
             Mark("line", cx - span, hy - _LINE / 2, 2 * span, _LINE),  # the rulers' base lines
             Mark("line", vx - _LINE / 2, cy - span, _LINE, 2 * span)]
    for half_mm in range(-2 * CALIBRATION_RANGE, 2 * CALIBRATION_RANGE + 1):
        r = half_mm / 2
        length = 4.0 if half_mm % 10 == 0 else 2.5 if half_mm % 2 == 0 else 1.5
        marks.append(Mark("tick", cx + r - _LINE / 2, hy, _LINE, length))  # hanging below the horizontal ruler
        marks.append(Mark("tick", vx, cy + r - _LINE / 2, length, _LINE))  # right of the vertical ruler
        if half_mm % 10 == 0:
            marks.append(Mark("label", cx + r - 4, hy + 4.8, 8, 2.5, _label(sx * r)))
            marks.append(Mark("vlabel", vx + 4.8, cy + r - 1.35, 8, 2.5, _label(sy * r)))
    return marks


def _label(value: float) -> str:
    return "0" if value == 0 else f"{value:+.0f}"
