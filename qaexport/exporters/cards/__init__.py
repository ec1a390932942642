"""Printable double-sided flashcards: a page of fronts (questions), then the page of their backs (answers).

Each card face is measured by WeasyPrint at the card's size (``layout``) so it fits: long
text shrinks down to a readable minimum, then continues on further cards numbered "1/2", "2/2".
The grid (``geometry``) is centred so a back page mirrored for the duplex turn lands exactly
behind its front; ``--back-offset`` corrects a printer that shifts the back side, and
``--calibrate`` prints the sheet that measures that shift. Measuring and the final layout both go through
``weasy.layout`` (each in a child process): the booklet's document setup, fetchers (the library's media and
our fonts, nothing else), fonts, wrapped-code mark and Pygments theme CSS.

Most faces are kept as they were drawn while measuring: answers that fit whole, every part of a cut answer
(measured with its head but for its "k/n") and the question of a one-card question (``impose`` moves its body to the
middle of the card). A "k/n" is a small face drawn first in the same cell, laid out once for every card whose number
has as many digits (``label_key``); a "(continued)" front under a question kept whole is that question's head with
such a face, and a "(continued)" laid out once per head (``continued_key``). The rest (questions of several-card
questions, other "(continued)" fronts) are laid out on measuring pages in as many documents as cores, and ``impose``
places every page on the sheets (pikepdf): the sheets are never laid out with their cards.
A text model (``metrics``) chooses where measuring starts; only measures decide.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup

from ... import scratch
from ...books.fonts import MONO_ADVANCE_EM, font_face_css, font_faces, font_files_state, missing_glyphs_warning
from ...books.html import code_line_css, code_lines, printed, wrap_mark
from ...books.tables import fit_tables
from ...directions import is_language_tag, text_direction
from ...errors import OutputError, UsageError, shown
from ...forked import cores
from ...model import Media
from ...output import atomic_path
from ...render import Scheme
from ...templates import asset, environment
from .. import Build, ExporterBase, Produces, option
from .geometry import CARD_SIZES, DUPLEX_MODES, PAPERS, Grid, Rect, calibration_marks, choose_grid, parse_offset
from .impose import Placed, impose

#: Type sizes in pt: the normal size, and the smallest we consider readable on paper (text shrinks between them).
QUESTION_SIZES = (11.0, 7.0)
#: A question that needs more cards than this is named in a warning: a learner flips through a stack, not a card.
MAX_QUIET_PARTS = 3
ANSWER_SIZES = (9.0, 7.0)
#: pre.hl line-height in templates/cards/cards.css; the wrap mark repeats at this pitch.
CODE_LINE_HEIGHT = 1.22
#: Blank border inside each card: keeps text clear of the cut and of a printer's unprintable edge.
PADDING_MM = 4.0
#: The smallest letters a wide table gets on a card (below it, its words are hyphenated).
TABLE_FLOOR_PT = 5.5
MM_PER_PT = 25.4 / 72


@dataclass
class CardsOptions:
    size: str = option("a7", "Card stock: a7 (74×105 mm, 8 per A4), index-3x5 and index-4x6 (inches), "
                             "business (85×55 mm, 10 per sheet).", choices=tuple(CARD_SIZES))
    paper: str = option("a4", "Paper size.", choices=tuple(PAPERS))
    per_page: int = option(0, "Cards per sheet, as a full grid of the card size (0: as many as fit).")
    duplex: str = option("long-edge", "How the printer turns the sheet: long-edge (backs mirrored left-right), "
                                      "short-edge (top-bottom) or none (backs unmirrored, to cut and glue).",
                         choices=DUPLEX_MODES)
    back_offset: str = option("0,0", "Shift every back page X,Y mm (right, down) to match your printer; "
                                     "--calibrate measures it.")
    calibrate: bool = option(False, "Write the one-sheet duplex test page instead of cards: it tells which "
                                    "--back-offset to pass.")
    language: str = option("en", "Language of the content (BCP 47 code such as en or pt-BR): the PDF's /Lang; "
                                 "a right-to-left one (ar, he, fa, ur ...) sets the faces right to left.")

    def __post_init__(self) -> None:  # usage errors surface before any input is read
        if not is_language_tag(self.language):
            raise UsageError(f"--language {shown(self.language)}: give a language code such as en or pt-BR")
        self.grid()
        self.offset()
        if self.calibrate and self.duplex == "none":
            raise UsageError("--calibrate measures duplex printing; give --duplex long-edge or short-edge")

    def grid(self) -> Grid:
        if self.per_page < 0:
            raise UsageError(f"--per-page {self.per_page}: give a positive number of cards, or 0 for as many as fit")
        return choose_grid(self.paper, self.size, self.per_page)

    def offset(self) -> tuple[float, float]:
        return parse_offset(self.back_offset)


#: A face's HTML for a given element id (empty: none): with one, its body is marked as when it was measured.
FaceHtml = Callable[..., str]


@dataclass
class Card:
    """A card's two faces (HTML for an id), and the back's page when measuring drew it as it is to be."""

    front: FaceHtml
    back: FaceHtml
    back_kept: Placed | None = None
    front_kept: Placed | None = None
    #: The "k/n" alone (a face with all else hidden), drawn over a face kept as measured without it: a part of a cut
    #: answer, the question on the first of several cards, a "(continued)" front (its question's head).
    front_label: Label | None = None
    back_label: Label | None = None
    #: The "(continued)" alone, drawn (after) on a "(continued)" front kept as its question's head.
    front_after: Label | None = None


@dataclass(frozen=True)
class Label:
    """A face that draws only a card's "k/n" (and a "(continued)"), everything else in it hidden: it lands where the
    hidden rest puts it, so one layout serves every card of the same :func:`label_key` (``lay_out_faces``)."""

    html: FaceHtml
    key: tuple[object, ...]


def label_key(number: int, part: str) -> tuple[object, ...]:
    """What decides where a card's "k/n" is drawn (:class:`Label`): its text, and the width of the number before it
    in the head ("#N", bold sans at a fixed size, the "k/n" after it on the same line), which is its count of digits:
    the sans face's figures are tabular (every digit one advance) and not kerned against each other
    (tests/test_cards_labels.py checks the face, and that the shared layout draws exactly what the card's own
    would)."""
    return len(str(number)), part


def continued_key(level: str, subtopic: str) -> tuple[object, ...]:
    """What decides where a "(continued)" is drawn: the head above it, one line (the badge, the number) and the
    subtopic's lines (its text decides them; the badge is kept too, being above it)."""
    return "(continued)", level, subtopic


@dataclass
class Sheet:
    """A sheet as WeasyPrint lays it out: only its cut marks (``impose`` adds the cards)."""

    side: str
    marks: list[Rect]


#: Millimetres of a face's width its code lines do not get: the face's padding on both sides, and the code
#: block's padding (1.2 mm) and border (.5 pt) on both sides (cards.css).
CODE_INSET_MM = 2 * PADDING_MM + 2 * 1.2 + 2 * 0.5 * MM_PER_PT


def code_columns(card_w: float, size_pt: float) -> int:
    """Characters a code line holds on a face ``card_w`` mm wide with text of ``size_pt``; two fewer, for a
    block in a list (its indent) or a quote."""
    return int((card_w - CODE_INSET_MM) / (MONO_ADVANCE_EM * size_pt * MM_PER_PT)) - 2


#: cards.css: what a list (``padding-left``, em of the text) and a quote (padding and border, mm) take from a code
#: block's width.
LIST_INDENT_EM = 1.25
QUOTE_INDENT_MM = 2.0 + 1.0 * MM_PER_PT


def code_holds(card_w: float, size_pt: float) -> Callable[[tuple[str, ...] | None], int]:
    """The characters every line of a code block surely holds on one line of a face ``card_w`` mm wide with text of
    ``size_pt``, from the elements it is in (``books.html.code_lines``): the block's width less each list's and
    quote's indent, in the mono face's advances, less one for rounding; 0 (every line may wrap) inside anything
    else (a table cell) or where the tags do not nest. A line that holds is not marked ``wrap``, so it gets no ↪
    column (an empty box, laid out and drawn on every code line: ~10 % of the cards' CPU time)."""
    advance = MONO_ADVANCE_EM * size_pt * MM_PER_PT

    def holds(opened: tuple[str, ...] | None) -> int:
        if opened is None:
            return 0
        width = card_w - CODE_INSET_MM
        for name in opened:
            if name in ("ul", "ol"):
                width -= LIST_INDENT_EM * size_pt * MM_PER_PT
            elif name == "blockquote":
                width -= QUOTE_INDENT_MM
            elif name != "li":
                return 0
        return max(0, int(width / advance) - 1)

    return holds


def _mm(value: float) -> str:
    return f"{value:.3f}mm"


def sheet_css(grid: Grid) -> str:
    """Sizes for the sheets (final layout) and for single card pages (measuring), from the grid."""
    # An image may take at most half a card's height, so it always fits a card with its header and some text.
    return (f".face {{ width: {_mm(grid.card_w)}; padding: {_mm(PADDING_MM)}; }}\n"
            f".body img {{ max-width: 100%; max-height: {_mm((grid.card_h - 2 * PADDING_MM) / 2)}; }}\n"
            f".sheet {{ width: {_mm(grid.paper_w)}; height: {_mm(grid.paper_h)}; }}\n")


def _page(w: float, h: float) -> str:
    return f"@page {{ size: {_mm(w)} {_mm(h)}; margin: 0; }}\n"


def answer_heading_size(question: float, answer: float) -> float:
    """The answer's headings: its text's size in bold, but always below the question's fitted size (pt)."""
    return min(answer, question * 0.95)


def measure_css(base_css: str, grid: Grid) -> str:
    """Faces alone on card-wide pages, each starting a page: for measuring, and for the faces laid out again."""
    from .layout import MEASURE_PAGE_MM

    return base_css + sheet_css(grid) + _page(grid.card_w, MEASURE_PAGE_MM)


def make_cards(build: Build, grid: Grid, base_css: str, files: dict[str, Path], workers: int = 1,
               keep: Path | None = None, language: str = "en") -> tuple[list[Card], list[str]]:
    """Every question as one or more cards whose faces fit (measured by WeasyPrint, ``workers`` layouts at once),
    and the characters no font has. With a ``keep`` folder, answers that fit whole are drawn there as measured.
    ``language``: each face's (measured and drawn in documents of their own, so each face says it), left out for
    ``en``, the measuring documents' own, so a default deck's faces keep their bytes."""
    face = functools.partial(environment("cards").get_template("face.html").module.face,  # type: ignore[attr-defined]
                             lang="" if language == "en" else language, dir=text_direction(language))
    refs = list(build.library.questions())
    jobs = []

    def coded(body: str, size: float) -> Markup:
        """A body's code lines as blocks, for the card's width at ``size``: each marked ``wrap`` only when it may."""
        return Markup(code_lines(body, columns=code_columns(grid.card_w, size), holds=code_holds(grid.card_w, size)))

    from .layout import MAX_PARTS, PX_PER_MM, FitJob, Part, fit_faces_in_child  # imports WeasyPrint: when made
    from .metrics import TextModel

    estimate = TextModel(grid.card_w - 2 * PADDING_MM)

    for number, ref in enumerate(refs, 1):
        q = ref.question
        level = q.difficulty.label if q.difficulty else ""
        html = build.rendered[q.key]
        question, answer = printed(html, q, build.warn)

        def front(body: str, size: float, el_id: str, split: bool, n: int = number, d: str = level,
                  sub: str = ref.subtopic.name) -> str:
            # Measured without a "k/n" (the head is one line whatever it holds): a question that fits whole on a
            # question's only card is its front as measured.
            return face("front", n, "", d, sub, coded(body, size), size,
                        el_id, continued=split)

        def back(body: str, size: float, el_id: str, split: bool, n: int = number, d: str = level) -> str:
            # Measured as it goes on its card, whole or each part of a cut answer, but for its "k/n" (the head is
            # one line whatever it holds, so its text never changes a measure): the "k/n" is drawn over it apart.
            return face("back", n, "", d, "", coded(body, size), size, el_id)

        # A one-paragraph question is inline HTML; one of several blocks is already blocks (never inside a <p>).
        asked = question if html.heading_and_rest()[1] else f'<p class="q">{question}</p>'
        jobs.append(FitJob(asked, QUESTION_SIZES, front, final=True))
        # A wide table gets smaller letters (not below TABLE_FLOOR_PT) before any word of it would break; one too
        # wide even then is written row by row.
        answer = fit_tables(answer, grid.card_w - 2 * PADDING_MM - 1, ANSWER_SIZES[0], TABLE_FLOOR_PT, stack=True)
        # Every back's head is one line, whatever number and level it holds: one measure of it serves them all.
        jobs.append(FitJob(answer, ANSWER_SIZES, back, final=True, final_parts=True, estimate=estimate, head="back"))
    with build.progress("Fitting cards", 8) as advance:
        result = fit_faces_in_child(jobs, measure_css(base_css, grid), (grid.card_h - PADDING_MM) * PX_PER_MM,
                                    advance, build.library.media, files, workers, keep)
    fitted = result.parts
    cards = []
    for number, ref in enumerate(refs, 1):
        q = ref.question
        level = q.difficulty.label if q.difficulty else ""
        fronts, backs = fitted[2 * number - 2], fitted[2 * number - 1]
        for side, parts in (("question", fronts), ("answer", backs)):
            if parts and parts[-1].cut:
                build.warn(f"{q.location}: question {q.id!r}: its {side} needs more than {MAX_PARTS} cards; the "
                           f"first {MAX_PARTS} are printed, the EPUB, the site and the Anki deck hold it whole")
        total = max(len(fronts), len(backs), 1)
        if total > MAX_QUIET_PARTS:
            build.warn(f"{q.location}: question {q.id!r} ({q.key}) takes {total} cards even at "
                       f"{min(ANSWER_SIZES):g} pt, each after the first marked (continued); shorten its answer or "
                       "split it into several questions")
        for k in range(total):
            part = f"{k + 1}/{total}" if total > 1 else ""
            ask = fronts[k] if k < len(fronts) else Part("", fronts[-1].size if fronts else QUESTION_SIZES[0])
            tell = backs[k] if k < len(backs) else Part("", ANSWER_SIZES[1])
            headings = answer_heading_size(ask.size, tell.size)
            # An answer drawn while measuring is the card's back when its headings are its text's size, as measured
            # (1em; under a question shrunk below the answer's size they are smaller, and the back is laid out
            # again), and when it was measured with the head it needs: none, a part of a cut answer (its head, with
            # its "k/n", drawn apart), or its own without a part, the question taking one card. A question drawn
            # while measuring is the front of its only card, moved down to the middle of the card (``lift``) when
            # it is placed.
            cut = len(backs) > 1
            kept = tell.kept if tell.kept is not None and headings == tell.size and (cut or total == 1) else None
            # A whole question on the first of several cards is kept too, drawn below a head with its "k/n".
            asked = ask.kept if fronts and (total == 1 or (k == 0 and len(fronts) == 1)) else None
            lift = round(ask.spare / 2, 2)  # as the template writes it
            front_kept = Placed(asked.path, asked.page, lift=lift, top=asked.top) if asked else None
            label = Label(functools.partial(face, "front", number, part, level, ref.subtopic.name, "", ask.size,
                                            part_only=True), label_key(number, part)) if total > 1 else None
            front_label = label if asked else None
            front_after = None
            if k > 0 and len(fronts) == 1 and (first := fronts[0].kept) is not None:
                # A "(continued)" front under a question kept whole: its first card's head (above the body), the
                # "k/n" and the "(continued)" drawn with it.
                front_kept = Placed(first.path, first.page, top=first.top, head_only=True)
                front_label = label
                front_after = Label(functools.partial(face, "front", number, part, level, ref.subtopic.name, "",
                                                      ask.size, continued=True, continued_only=True),
                                    continued_key(level, ref.subtopic.name))
            cards.append(Card(
                functools.partial(face, "front", number, part, level, ref.subtopic.name,
                                  coded(ask.html, ask.size), ask.size, continued=k > 0,
                                  lift=ask.spare / 2),  # a question that fits whole stands in the middle of its card
                functools.partial(face, "back", number, part, level, "",
                                  coded(tell.html, tell.size), tell.size,
                                  headings=headings),
                Placed(kept.path, kept.page) if kept else None,
                front_kept,
                front_label,
                label if cut and kept else None,
                front_after))
    return cards, result.missing


def sheets(grid: Grid, duplex: str, offset: tuple[float, float]) -> list[Sheet]:
    """The two kinds of sheet: fronts (with the cut marks) and backs (marks only when not duplex: shifted by
    ``offset``, as the backs are)."""
    marks = grid.cut_marks()
    back_marks = [Rect(m.x + offset[0], m.y + offset[1], m.w, m.h) for m in marks] if duplex == "none" else []
    return [Sheet("front", marks), Sheet("back", back_marks)]


def _lay_out_batch(batch: Any, css: str, media: dict[str, Media], files: dict[str, Path],
                   report: Callable[[object], None]) -> Any:
    """A child's work (module level: it pickles where children are spawned): a document of faces, each drawn."""
    from . import layout

    done = layout.measure_then_end(batch, css, float("inf"), media, files)
    report(len(batch.faces))
    return done


def lay_out_faces(cards: list[Card], css: str, folder: Path, advance: Callable[[int], None], label: str,
                  media: dict[str, Media], files: dict[str, Path], workers: int) -> tuple[list[tuple[Placed, Placed]],
                                                                                     list[str]]:
    """The faces not kept while measuring laid out on measuring pages, ``workers`` documents at once (forked
    children), one page each; every card's front and back page, and the characters no font has."""
    from ...forked import failure_of, run_forked_all
    from ...weasy.layout import share_setup
    from .layout import Batch, batch_ranges

    todo: list[FaceHtml] = []
    labels: dict[tuple[object, ...], int] = {}  # each label's face, laid out once per key: its index in ``todo``
    slots: list[list[int | None]] = []  # each card's labels (front, back, after), front and back in ``todo``

    def add(face: FaceHtml) -> int:
        todo.append(face)
        return len(todo) - 1

    def shared(label: Label | None) -> int | None:
        if label is None:
            return None
        if label.key not in labels:
            labels[label.key] = add(label.html)
        return labels[label.key]

    for card in cards:
        slots.append([shared(card.front_label), shared(card.back_label), shared(card.front_after),
                      None if card.front_kept is not None else add(card.front),
                      None if card.back_kept is not None else add(card.back)])
    ranges = batch_ranges([len(html()) for html in todo], workers)  # (a face's markup: a few microseconds)
    batches = [Batch([html(id=f"m-{k}") for k, html in enumerate(todo[start:end])], [True] * (end - start),
                     folder / f"faces-{n}.pdf") for n, (start, end) in enumerate(ranges)]

    share_setup(css, files)  # the measuring documents' stylesheet and fonts, inherited by the children forked here
    measured = run_forked_all([functools.partial(_lay_out_batch, b, css, media, files) for b in batches],
                              lambda n: advance(n) if isinstance(n, int) else None,
                              failure_of(label, "PDF layout"), workers)
    pages = [Placed(b.path, page) for b, m in zip(batches, measured, strict=True) for page in m.pages
             if b.path is not None and page is not None]
    if len(pages) != len(todo):
        raise OutputError(f"{label}: {len(todo) - len(pages)} card faces were not laid out; nothing was written")
    placed = []
    for card, (front_label, back_label, after, front_at, back_at) in zip(cards, slots, strict=True):
        front = card.front_kept or pages[front_at]  # type: ignore[index]
        back = card.back_kept or pages[back_at]  # type: ignore[index]
        placed.append((dataclasses.replace(front, label=None if front_label is None else pages[front_label],
                                           after=None if after is None else pages[after]),
                       dataclasses.replace(back, label=None if back_label is None else pages[back_label])))
    return placed, sorted(set().union(*(m.missing for m in measured)))


class CardsExporter(ExporterBase):
    """Write printable double-sided flashcards: question fronts and answer backs that line up when printed duplex."""

    name = "cards"
    outside_state = staticmethod(font_files_state)  # the font files its bytes depend on (their stamps)
    suffix = ".cards.pdf"  # beside the booklet's .pdf in dist/
    produces = Produces.FILE
    scheme = Scheme.COMPACT  # the booklet's rendering: compact highlighting classes, same theme CSS
    in_all = False  # a second full PDF layout: made on request, not by every `qaexport all`
    Options = CardsOptions

    @staticmethod
    def prepare() -> None:
        """WeasyPrint takes ~0.45 s to import (its C bindings): while the texts render."""
        from ...weasy import layout  # noqa: F401

    def export(self, build: Build, options: CardsOptions, target: Path) -> None:
        # The output's temporary file first: a folder that cannot be written fails now, not after the measuring.
        with atomic_path(target) as tmp:
            self._export(build, options, target, tmp)

    def _export(self, build: Build, options: CardsOptions, target: Path, tmp: Path) -> None:
        grid = options.grid()
        workers = cores()
        mark = wrap_mark()  # the booklet's drawn ↪ beside wrapped code lines, and its fonts
        files = {face.uri: face.path for face in font_faces()} | {mark.as_uri(): mark}
        # The ↪ column only beside the lines that may wrap (``code_holds``), each its own containing block.
        base_css = (font_face_css() + asset("cards", "cards.css")
                    + code_line_css(CODE_LINE_HEIGHT, mark.as_uri(), ".wrap", ".wrap") + build.highlighter.css(0))
        if text_direction(options.language) == "rtl":  # only then: a left-to-right deck's sheets keep their bytes
            base_css += asset("cards", "rtl.css")
        created = build.datetime.strftime("%Y-%m-%dT%H:%M:%SZ")
        env = environment("cards")
        from ...weasy.layout import layout_in_child  # imports WeasyPrint: only when a PDF is asked for

        css = base_css + sheet_css(grid) + _page(grid.paper_w, grid.paper_h)
        if options.calibrate:
            sides = [{"name": side, "rects": calibration_marks(options.paper, options.duplex, side)}
                     for side in ("front", "back")]
            flip = "flip on long edge" if options.duplex == "long-edge" else "flip on short edge"
            html = env.get_template("calibrate.html").render(
                sides=sides, paper=options.paper.upper(), flip=flip, duplex=options.duplex, created=created)
            pdf_id = hashlib.sha256(f"calibrate:{options.paper}:{options.duplex}".encode()).hexdigest()[:32]
            with build.progress("Laying out cards", None) as advance:
                layout_in_child(html, css, pdf_id, tmp, advance, label=str(target), files=files)
            return
        keys = "\n".join(ref.question.key for ref in build.library.questions())
        settings = f"{options.size}:{options.paper}:{grid.per_page}:{options.duplex}:{options.back_offset}"
        direction = text_direction(options.language)
        pdf_id = hashlib.sha256(f"{settings}\n{keys}".encode()).hexdigest()[:32]
        title = f"{build.library.title}: flashcards"
        with scratch.folder("cards") as folder:
            work = Path(folder)
            cards, missing = make_cards(build, grid, base_css, files, workers, keep=work, language=options.language)
            # The sheets' metadata (title, dates, identifier) and cut marks: one sheet of each kind.
            marks = env.get_template("sheets.html").render(
                sheets=sheets(grid, options.duplex, options.offset()), title=title, created=created,
                language=options.language, direction=direction)
            with build.progress("Laying out cards", None) as advance:
                layout_in_child(marks, css, pdf_id, work / "marks.pdf", lambda _pages: None, label=str(target),
                                files=files)
                placed, found = lay_out_faces(cards, measure_css(base_css, grid), work, advance, str(target),
                                              build.library.media, files, workers)
                impose(work / "marks.pdf", placed, grid, options.duplex, options.offset(), tmp)
        warning = missing_glyphs_warning(sorted(set(missing) | set(found)), build.library, title)
        if warning:
            build.warn(warning)
