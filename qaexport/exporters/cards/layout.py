"""Make every card face fit its card, measured by WeasyPrint itself rather than estimated.

A face is laid out alone on a page exactly the card's size, with the CSS the sheets use; it fits
if it takes one page. Each face first tries its normal type size, then the largest smaller size
down to the minimum (binary search over a ladder of sizes); a face that does not fit even at the
minimum is cut into as few cards as possible (``split``: block boundaries first, then list
items, table rows, code lines, words) by a galloping search for the longest run that fits.

All faces are searched in lock step: each search is a generator that yields the face it wants
measured, and every round lays out all the pending faces as one document. A deck of hundreds of
cards costs a handful of layouts, not thousands.

A measuring page is a card-wide page whose top card-high part is the card: a face that fits is, on it, exactly the
card it will be. So a face measured whole with its final markup (``FitJob.final``: an answer, whose head does not
depend on what was measured) is drawn there and then, when it fits, into the round's PDF (:class:`Kept`), and placed
on the sheets from it (``impose``) instead of being laid out again: most answers are laid out once.
"""

from __future__ import annotations

import bisect
import dataclasses
import gc
import itertools
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from ...forked import can_fork, run_forked, run_forked_all
from ...model import Media
from ...weasy.layout import collector_paused, missing_glyphs, render, share_setup
from .split import Atom, Element, atoms, is_container, join, refine, serialize

#: Renders one face for measuring: (body HTML, type size in pt, element id, is a continuation) → HTML.
#: With an id, the face carries empty markers ``ID-s`` and ``ID-e`` just before and after its body.
FaceRenderer = Callable[[str, float, str, bool], str]
#: Measuring pages are this tall, so a face's natural height can be read even when it is far too long.
MEASURE_PAGE_MM = 3000.0
PX_PER_MM = 96 / 25.4
SIZE_STEP = 0.25
#: Cards one face may take; the rest of a longer face is left out (the exporter warns): the cards of one face are
#: cut one after the other, each a few measuring rounds, so a face of hundreds of cards took minutes.
MAX_PARTS = 12
#: A face longer than this (characters of HTML) holds more than ``MAX_PARTS`` cards at any size: it is cut at the
#: smallest size straight away, from its first this many characters, instead of being measured whole first.
MAX_FACE_CHARS = 30_000
_TAG = re.compile(r"<[^>]*>")
#: Faces laid out per measuring document: enough to amortise a document's setup, few enough to bound memory. Each
#: face is a page, and a page's boxes and drawing cost memory whatever its text: since documents are balanced by
#: text (``batch_ranges``), one of 200 short faces took the tree of a 560-question run to ~505 MiB (more than the
#: booklet's); at 120 it peaked at ~330 MiB, then 259-267 MiB (80 was no less while two documents of equal text
#: started together and peaked together). With the documents staggered (``STAGGER``), 80: 242 -> 198 MiB on the 560
#: bank (medians of 5), at ~6 % more CPU (more documents); the same sheets (docs/benchmarks.md, 2026-12-05 18:55).
BATCH = 80
#: Fewest faces worth a measuring document of their own on another core: its setup is a fork and ~0.05 s since the
#: documents share their stylesheet and fonts (``share_setup``; 0.17 s before, when this was 20).
MIN_BATCH = 8


@dataclass(frozen=True)
class Measure:
    """Where a face's body starts and ends (CSS px from the card's top) and how far it may go."""

    top: float
    end: float  # inf: ran off the measuring page
    limit: float

    @property
    def fits(self) -> bool:
        return self.end <= self.limit + 0.01




@dataclass(frozen=True)
class Kept:
    """A measuring page that is a finished face: the PDF it was drawn to and its page there."""

    path: Path
    page: int
    top: float = 0.0  # where the body starts on it (CSS px from the page's top)


@dataclass(frozen=True)
class Part:
    """One card's share of a face: its HTML, type size, the room left below it (CSS px), and the page it was drawn
    on when it was measured with its final markup (else it is laid out again)."""

    html: str
    size: float
    spare: float = 0.0
    cut: bool = False  # the face went on beyond this card, past MAX_PARTS: the rest is left out
    kept: Kept | None = None


Search = Generator[tuple[str, float, bool], Measure, list[Part]]


class Estimate(Protocol):
    """The model (``metrics.TextModel``): a body's height at a size (CSS px), and each run's of a queue of atoms;
    None where it has none."""

    def height(self, html: str, size_pt: float) -> float | None: ...

    def weights(self, queue: list[Atom], size_pt: float) -> list[float] | None: ...


@dataclass
class FitJob:
    """One face's text and the type sizes it may use: ``sizes[0]`` normally, down to ``sizes[1]`` at least.
    ``final``: ``render`` of the whole text (not split) is the face as it goes on its card, so a measure of it that
    fits is kept (drawn) rather than laid out again."""

    html: str
    sizes: tuple[float, float]
    render: FaceRenderer
    final: bool = False
    #: ``render`` of a run of the text (split) is also its card's face (but for its "k/n", drawn apart): every run
    #: measured that fits is drawn, and the one that makes the card is kept.
    final_parts: bool = False
    #: The model's height (CSS px) of a body at a size (``metrics``), None where it has none: it chooses the first
    #: size measured and guesses where cards end; only measures decide.
    estimate: Estimate | None = None
    #: Faces whose heads are alike (the same key: one line whatever it holds) share one measure of where the body
    #: starts, taken before the first round from the first of them; "" : each face's head is measured alone.
    head: str = ""


def _smaller(size: float, m: Measure, low: float) -> float:
    """The next size to try: text area grows with the square of the type size, so scale by the root."""
    ratio = max(0.0, (m.limit - m.top) / max(m.end - m.top, 1.0))
    guess = size * ratio ** 0.5 * 0.995
    stepped = int(guess / SIZE_STEP) * SIZE_STEP
    return max(low, min(size - SIZE_STEP, stepped))


def _search(job: FitJob, head: Measure | None = None) -> Search:
    """Yields (body, size, split) to measure and receives its :class:`Measure`; returns the parts. ``head``: where
    the body starts, measured on a face like it (``FitJob.head``), else the face's head is measured alone first."""
    size, low = job.sizes
    whole = job.html
    beyond: list[Atom] = []  # what a face too long for MAX_PARTS cards leaves out from the start
    hopeless = None
    if len(whole) > MAX_FACE_CHARS:
        queue, beyond = _head(atoms(whole), MAX_FACE_CHARS)
        size = low
        m = yield join(queue), size, True
    else:
        first = None
        if job.estimate is not None and job.estimate.height(whole, low) is not None:
            m = head if head is not None else (yield "", size, False)  # the head alone: where the body starts
            first, hopeless = _first_size(job.estimate, whole, m, size, low)
        if first is not None:
            size = first
            m = yield whole, size, False
        elif hopeless is not None:
            size = low
        else:
            m = yield whole, size, False
        while hopeless is None and not m.fits and size > low:
            smaller = _smaller(size, m, low)
            if smaller == low and (hopeless := _hopeless(m, size, low)) is not None:
                size = low  # it cannot fit at the smallest size either: cut it without measuring it whole there
                break
            size = smaller
            m = yield whole, size, False
        if hopeless is None and m.fits:
            return [Part(whole, size, max(0.0, m.limit - m.end))]
        queue = atoms(whole)
    parts: list[Part] = []
    # Known runs: the empty run ends where the body starts; the whole text was just measured (or, when it was not
    # measured at this size, a run just past it is estimated to end where the whole would: a guess for the
    # search, never taken as a measure of a run that can be cut).
    known = {0: Measure(m.top, m.top, m.limit), len(queue) + (hopeless is not None): hopeless or m}
    good, bad = 0, len(queue) + (hopeless is not None)  # queue[:good] fits, queue[:bad] does not
    last = 0.0  # text (``_weights``) of the previous card: a first guess at the next
    while queue:
        weights = _weights(queue, job.estimate, size)
        if job.estimate is not None:
            # Where the model ends the card inside a list, table or code block, cut it first (the search would,
            # after measuring that it does not fit whole): the runs measured then end near the card's end. The
            # first atom too (``k == 0``): measured alone, a container longer than the card was a run only to see
            # it not fit, as long as the card or longer (``PRE_CUT_FIRST``).
            while 0 <= (k := bisect.bisect_right(weights, m.limit - known[0].top) - 1) < len(queue) \
                    and (k or PRE_CUT_FIRST) and is_container(queue[k]) and (pieces := refine(queue[k])):
                queue[k:k + 1] = pieces
                known = {j + (len(pieces) - 1 if j > k else 0): v for j, v in known.items()}
                bad += len(pieces) - 1
                weights = _weights(queue, job.estimate, size)
        while True:
            while bad - good > 1:
                if (full := _cannot_grow(queue, good, known[good], size)) is not None:
                    if VERIFY is not None:  # the proof checked against WeasyPrint (tests/test_cards_proof.py)
                        proved = full
                        full = yield join(queue[:good + 1]), size, True
                        VERIFY.append((proved.end, full.end, full.limit))
                    bad = good + 1  # queue[:good] fits and the next atom's first line cannot: the card is full
                    known[bad] = full
                    continue
                probe = _interpolate(good, bad, known, last, weights)
                m = yield join(queue[:probe]), size, True
                known[probe] = m
                if m.fits:
                    good = probe
                else:
                    bad = probe
            if good == 0 and (pieces := refine(queue[0])):
                # The first atom alone is too big for a card: cut it, and search again.
                queue[0:1] = pieces
                bad = len(pieces)
                known = {0: known[0], bad: known[1]}
                weights = _weights(queue, job.estimate, size)
                continue
            # A list, table or code block that does not fit whole is cut here rather than moved on.
            if 0 < good < len(queue) and is_container(queue[good]) and (pieces := refine(queue[good])):
                queue[good:good + 1] = pieces
                known[good + len(pieces)] = known[good + 1]
                bad = good + len(pieces)
                known = {k: v for k, v in known.items() if k <= good or k == bad}
                weights = _weights(queue, job.estimate, size)
                continue
            break
        good = max(good, 1)  # an atom that cannot be cut (one character) goes alone
        parts.append(Part(join(queue[:good]), size))
        del queue[:good]
        if queue and len(parts) == MAX_PARTS:
            break
        last = weights[good]
        top = known[0].top
        known = {0: Measure(top, top, m.limit)}
        good, bad = 0, len(queue) + 1
    if queue or beyond:
        parts[-1] = Part(parts[-1].html, size, parts[-1].spare, cut=True)
    return parts


#: Blocks whose first line starts on a line of its own below what comes before (``_cannot_grow``).
_NEW_LINE_BLOCKS = frozenset({"p", "li", "ul", "ol", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "div"})
#: cards.css: the text's and the code's line heights, and the largest margin below a block (its ``.45em``), which a
#: run's end may include (collapsed through its last parents) and which is no longer below it once a block follows.
TEXT_LINE_EM, CODE_LINE_EM, MARGIN_EM = 1.3, 1.22, 0.45
#: CSS px the proof keeps from WeasyPrint's rounding: a run is taken to be too long only when it is past this.
PROOF_SLACK_PX = 0.5
#: The model's cut inside the first atom of a card taken too (``_search``): a list, table or code block the model puts
#: past the card's end is cut before it is measured alone. Off, that run was measured (on the 560 bank: 49 runs, each
#: as long as a card or longer) only to see it not fit; the cards are the same (``tests/test_cards_precut.py``).
PRE_CUT_FIRST = True
#: Set by the verification (``tests/test_cards_proof.py``): every run ``_cannot_grow`` proves too long is measured
#: too, and each measure is recorded here as (proved end, measured end, limit).
VERIFY: list[tuple[float, float, float]] | None = None


def _cannot_grow(queue: list[Atom], good: int, fits: Measure, size_pt: float) -> Measure | None:
    """Where ``queue[:good + 1]`` would at least end (an end past the card), when that is provably past the card;
    else None. ``fits`` is WeasyPrint's measure of ``queue[:good]``. The proof needs no model of the text: the next
    atom, when it starts a line of its own (a code line after a line's end; a block holding text, outside tables and
    inline styles), adds at least that line below the run's end: a code line its line height; a block its line
    height less the margin the run's end may already hold. A run that has less room left than that is full: the
    search does not measure the run one atom longer only to see it not fit (a fifth of the text measured)."""
    if good == 0 or good >= len(queue):
        return None
    atom, before = queue[good], queue[good - 1]
    size_px = size_pt * 96 / 72
    if atom.chain and before.chain and atom.chain[-1][0] is before.chain[-1][0] \
            and any(el.tag == "pre" for el, _ in atom.chain) and _ends_line(before):
        grow = CODE_LINE_EM * size_px  # a line of the same code block (its padding and border stay below)
    elif len(atom.nodes) == 1 and isinstance(node := atom.nodes[0], Element) and node.tag in _NEW_LINE_BLOCKS \
            and not any(el.tag == "table" or el.attr("style") for el, _ in atom.chain) \
            and "<table" not in (html := serialize(node)) and "style=" not in html \
            and _TAG.sub("", html).strip():
        grow = (TEXT_LINE_EM - MARGIN_EM) * size_px
    else:
        return None
    end = fits.end + grow - PROOF_SLACK_PX
    return Measure(fits.top, end, fits.limit) if end > fits.limit + 0.01 else None


def _ends_line(atom: Atom) -> bool:
    """A code line's atom ends with its line's end (one cut into pieces ends so only in its last piece)."""
    last = atom.nodes[-1]
    return isinstance(last, str) and last.endswith("\n")


def _head(queue: list[Atom], budget: int) -> tuple[list[Atom], list[Atom]]:
    """The atoms that make the first ``budget`` characters of a face (the atom where the budget ends is cut finer,
    down to words), and the rest."""
    kept: list[Atom] = []
    total = i = 0
    while i < len(queue):
        size = len(join([queue[i]]))
        if total + size <= budget:
            kept.append(queue[i])
            total += size
            i += 1
            continue
        finer = refine(queue[i])
        if not finer:
            break
        queue = [*queue[:i], *finer, *queue[i + 1:]]  # only the atom at the budget's end, a few times
    rest = queue[i:]
    return (kept, rest) if kept else (rest[:1], rest[1:])


#: How much less room a text may take at a smaller type size than its area scaled by the square of the sizes says
#: (a line that no longer wraps, rounding): a text that might fit at the smallest size by this is measured there.
HOPELESS_SLACK = 0.95


def _hopeless(m: Measure, size: float, low: float) -> Measure | None:
    """Where a whole text measured ``m`` at ``size`` (pt) would end at ``low``, when even its least height there
    (its area scaled by the square of the sizes, less ``HOPELESS_SLACK``) is past the card; None when it might fit,
    so it is measured there. The estimate scales by the sizes' power 1.5: lines that do not wrap (code), paddings
    and rules shrink less than text's area (on the sample bank the ratio was 0.63-0.83 from 9 to 7 pt)."""
    height = m.end - m.top
    if m.top + height * (low / size) ** 2 * HOPELESS_SLACK <= m.limit + 0.01:
        return None
    return Measure(m.top, m.top + height * (low / size) ** 1.5, m.limit)


def _first_size(estimate: Estimate, whole: str, head: Measure, high: float, low: float
                ) -> tuple[float | None, Measure | None]:
    """The size to measure a text at first: the largest of the sizes' ladder at which the model's height fits below
    the face's head (``head``: the face measured with an empty body); (None, where it would end at ``low``) when
    even there the model's height is past the card by more than the model errs (``MODEL_SLACK``)."""
    room = head.limit - head.top
    size = high
    while size > low:
        height = estimate.height(whole, size)
        if height is None:
            return high, None
        if height <= room:
            return size, None
        size = max(low, size - SIZE_STEP)
    height = estimate.height(whole, low)
    if height is None or height * MODEL_SLACK <= room:
        return low, None
    return None, Measure(head.top, head.top + height, head.limit)


#: How much shorter a model's height may be than WeasyPrint's (``metrics.TOLERANCE``): a text the model puts past the
#: card even so is cut at the smallest size without being measured whole there.
MODEL_SLACK = 0.85


def _weights(queue: list[Atom], estimate: Estimate | None = None, size: float = 0.0) -> list[float]:
    """How much of a card each run ``queue[:k]`` takes: the model's heights where it has them, else the text it
    holds (characters shown). Where a card ends is guessed from it."""
    if estimate is not None and (modelled := estimate.weights(queue, size)) is not None:
        return modelled
    out = [0.0]
    for atom in queue:
        out.append(out[-1] + len(_TAG.sub("", join([atom]))) + 1)
    return out


def _interpolate(good: int, bad: int, known: dict[int, Measure], last: float, weights: list[float]) -> int:
    """The next run length to try, strictly inside (good, bad): where the measured heights say a card ends, the
    text between two measured runs taken to fill the card evenly (``weights``); with nothing measured yet, as much
    text as the previous card took (``last``), else eight atoms."""
    g = known[good]
    b = known.get(bad)
    at = weights[min(bad, len(weights) - 1)]
    if b is not None and b.end != float("inf") and b.end > g.end and at > weights[good]:
        target = weights[good] + (g.limit - g.end) * (at - weights[good]) / (b.end - g.end)
    elif good > 0 and weights[good] > 0:
        target = weights[good] * (g.limit - g.top) / max(g.end - g.top, 1.0)
    elif last:
        target = last
    else:
        return min(max(8, good + 1), bad - 1)
    guess = bisect.bisect_right(weights, target) - 1
    return min(max(guess, good + 1), bad - 1)


@dataclass(frozen=True)
class Batch:
    """A measuring document's faces, which of them to keep (draw) when they fit one card, and where to draw them."""

    faces: list[str]
    keep: list[bool]
    path: Path | None = None


@dataclass(frozen=True)
class Measured:
    """A batch's measures, each face's page in ``Batch.path`` (None: not drawn), and the characters no font has."""

    spans: list[tuple[float, float]]
    pages: list[int | None]
    missing: list[str]


def _measure(batch: Batch, css: str, limit_px: float = 0.0, media: dict[str, Media] | None = None,
             files: dict[str, Path] | None = None) -> Measured:
    """Lay out each face alone at the top of a tall card-wide page; (body top, body end) in CSS px. The faces to
    keep that end within ``limit_px`` are drawn, one page each, to ``batch.path``.
    The document is set up as the sheets' (``weasy.layout.render``): same fonts, same media, nothing else."""
    html = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"></head><body class="measure">'
            + "".join(batch.faces) + "</body></html>")
    with collector_paused():  # the document's objects all live until measured and drawn (weasy.layout)
        return _measure_paused(html, batch, limit_px, css, media, files)


def _measure_paused(html: str, batch: Batch, limit_px: float, css: str, media: dict[str, Media] | None,
                    files: dict[str, Path] | None) -> Measured:
    with missing_glyphs() as missing:
        document = render(html, css, media, files)
    starts: dict[str, tuple[int, float]] = {}  # face id -> (page, y of body top)
    ends: dict[str, float] = {}
    for number, page in enumerate(document.pages):
        for anchor, (_x, y, *_rest) in page.anchors.items():
            face, _, edge = anchor.rpartition("-")
            if edge == "s":
                starts.setdefault(face, (number, y))
            elif edge == "e" and starts.get(face, (-1, 0.0))[0] == number:
                ends[face] = y  # on a later page: the face ran off the measuring page (too long)
    out: list[tuple[float, float]] = []
    drawn: list[Any] = []
    pages: list[int | None] = []
    for i in range(len(batch.faces)):
        page, top = starts.get(f"m-{i}", (0, 0.0))
        out.append((top, ends.get(f"m-{i}", float("inf"))))
        if batch.path is not None and batch.keep[i] and Measure(top, out[-1][1], limit_px).fits:
            pages.append(len(drawn))
            drawn.append(document.pages[page])
        else:
            pages.append(None)
    if drawn:
        assert batch.path is not None
        with missing_glyphs() as drawing:  # glyphs are looked up while drawing, too
            document.copy(drawn).write_pdf(batch.path)
        missing |= drawing
    return Measured(out, pages, sorted(missing))


@dataclass
class Fitted:
    """Each job's cards, and the characters no font could draw (measuring lays out every character)."""

    parts: list[list[Part]]
    missing: list[str]


def fit_faces(jobs: list[FitJob], css: str, limit_px: float, on_round: Callable[[int], None] = lambda n: None,
              media: dict[str, Media] | None = None, files: dict[str, Path] | None = None,
              workers: int = 1, keep: Path | None = None) -> Fitted:
    """For each job, the cards its face needs, in order.

    ``css`` must give the faces their card width and the measuring page; ``limit_px`` is how far
    down the card (CSS px) a body may end. A round's faces are measured in ``workers`` documents at once
    (forked children) when there are enough of them: each face is laid out alone, so the batches do not
    change any measure. With a ``keep`` folder, the final faces that fit are drawn there (:class:`Kept`).
    """
    share_setup(css, files)  # once, before the children are forked: each inherits it
    heads = _heads(jobs, css, limit_px, media, files)
    searches = [_search(job, heads.get(job.head)) for job in jobs]
    results: list[list[Part]] = [[] for _ in jobs]
    missing: set[str] = set()
    pending = {i: next(search) for i, search in enumerate(searches)}
    drawn: dict[int, dict[tuple[str, float], Kept]] = {}  # each search's measures drawn so far, by (body, size)
    rounds = 0
    while pending:
        order = list(pending)
        ranges = batch_ranges([len(pending[i][0]) for i in order], workers)
        faces = [jobs[order[k]].render(body, face_size, f"m-{k - start}", split) for start, end in ranges
                 for k in range(start, end) for body, face_size, split in [pending[order[k]]]]
        # A final face measured is drawn (kept) in case it fits; its head measured alone is not.
        wanted = [bool(pending[i][0]) and (jobs[i].final_parts if pending[i][2] else
                                           jobs[i].final and pending[i][0] == jobs[i].html) for i in order]
        batches = [Batch(faces[start:end], wanted[start:end],
                         keep / f"r{rounds}-{n}.pdf" if keep and any(wanted[start:end]) else None)
                   for n, (start, end) in enumerate(ranges)]
        measured = _measure_batches(batches, css, limit_px, media, files, workers)
        spans = [(span, batch.path, page) for batch, m in zip(batches, measured, strict=True)
                 for span, page in zip(m.spans, m.pages, strict=True)]
        missing.update(*(m.missing for m in measured))
        asked, pending = pending, {}
        for i, ((top, end), path, page) in zip(order, spans, strict=True):
            if path is not None and page is not None:  # it fits, as just drawn
                body, face_size, _split = asked[i]
                drawn.setdefault(i, {})[body, face_size] = Kept(path, page, top)
            try:
                pending[i] = searches[i].send(Measure(top, end, limit_px))
            except StopIteration as done:
                kept = drawn.pop(i, {})
                results[i] = [dataclasses.replace(part, kept=kept.get((part.html, part.size)))
                              for part in done.value]
        on_round(1)
        rounds += 1
    return Fitted(results, sorted(missing))


def _heads(jobs: list[FitJob], css: str, limit_px: float, media: dict[str, Media] | None,
           files: dict[str, Path] | None) -> dict[str, Measure]:
    """Where the body starts on each kind of head (``FitJob.head``), measured on its first face with an empty
    body, all in one small document here: the first round then measures the faces themselves (on 560 answers,
    560 heads measured alone were a round of their own and 3 % of the time)."""
    first: dict[str, FitJob] = {}
    for job in jobs:
        if job.head and job.estimate is not None:
            first.setdefault(job.head, job)
    if not first:
        return {}
    faces = [job.render("", job.sizes[0], f"m-{k}", False) for k, job in enumerate(first.values())]
    measured = _measure(Batch(faces, [False] * len(faces)), css, limit_px, media, files)
    return {key: Measure(top, end, limit_px) for key, (top, end) in zip(first, measured.spans, strict=True)}


#: A face's page costs about as much to lay out as this many characters of its HTML (its page, margin boxes, head).
PAGE_CHARS = 400


def batch_ranges(lengths: list[int], workers: int) -> list[tuple[int, int]]:
    """The faces (their bodies' lengths, in order) cut into measuring documents, as (start, end) ranges: at most
    ``BATCH`` faces each (memory), a document for each worker when every one still has ``MIN_BATCH`` faces, and
    as many documents as the workers can lay out in full waves (three documents on two cores take two documents'
    time, four of them less), each with about the same text to lay out (a layout costs in proportion to its text;
    equal counts of faces left one core idle while the other laid out the long answers)."""
    faces = len(lengths)
    count = max(-(-faces // BATCH), min(workers, faces // MIN_BATCH), 1)
    if count > workers > 1:
        count = -(-count // workers) * workers
    weights = [length + PAGE_CHARS for length in lengths]
    while True:
        stagger = STAGGER and workers > 1 and 2 <= count < faces
        ranges = _even_ranges(weights, min(count, faces), stagger) if faces else []
        if all(end - start <= BATCH for start, end in ranges) or count >= faces:
            return ranges
        count += workers  # a document of many short faces holds too many: another wave


#: The first and last documents of a round (of two or more) hold half a document's text each (``batch_ranges``): on
#: two cores the documents laid out at once are then half a document apart, so one is half grown when the other is
#: at its largest. Documents of equal text started together reached their largest memory together (a measuring
#: child's memory grows with the faces it has laid out, then by the drawing): the peak of the cards' process tree.
#: The last half document ends the round with the other core's last whole one.
STAGGER = True


def _even_ranges(weights: list[int], count: int, stagger: bool = False) -> list[tuple[int, int]]:
    """``count`` (at most ``len(weights)``) consecutive non-empty ranges of ``weights`` whose sums are as near equal
    as cutting between items allows; ``stagger``: ``count + 1`` ranges, the first and the last of half that sum."""
    prefix = list(itertools.accumulate(weights, initial=0))
    cuts = [0]
    fractions = [(j - 0.5) / count for j in range(1, count + 1)] if stagger else [j / count for j in range(1, count)]
    count = len(fractions) + 1
    for j, fraction in enumerate(fractions, 1):
        target = prefix[-1] * fraction
        i = bisect.bisect_left(prefix, target)
        if i > 0 and target - prefix[i - 1] < prefix[min(i, len(weights))] - target:
            i -= 1
        cuts.append(min(max(i, cuts[-1] + 1), len(weights) - (count - j)))
    return list(zip(cuts, [*cuts[1:], len(weights)], strict=True))


def _measure_batches(batches: list[Batch], css: str, limit_px: float, media: dict[str, Media] | None,
                     files: dict[str, Path] | None, workers: int) -> list[Measured]:
    """Each batch measured, in order: in ``workers`` forked children at a time when there are several."""
    if workers < 2 or len(batches) < 2:
        return [_measure(batch, css, limit_px, media, files) for batch in batches]

    return run_forked_all([partial(_measure_in_child, batch, css, limit_px, media, files) for batch in batches],
                          lambda _value: None,
                          lambda cause: f"measuring the cards failed ({cause}); nothing was written", workers)


def _measure_in_child(batch: Batch, css: str, limit_px: float, media: dict[str, Media] | None,
                      files: dict[str, Path] | None, _report: Callable[[object], None]) -> Measured:
    return measure_then_end(batch, css, limit_px, media, files)


def measure_then_end(batch: Batch, css: str, limit_px: float = 0.0, media: dict[str, Media] | None = None,
                     files: dict[str, Path] | None = None) -> Measured:
    """:func:`_measure` in a child that ends once it has sent its measures (a round's document, or the sheets'
    faces): the cyclic collector stays off after it. Turned back on, its next run visited the whole laid-out
    document, garbage the child's end returns anyway (1.3 % of the 560 cards' CPU, in ~25 children)."""
    gc.disable()
    return _measure(batch, css, limit_px, media, files)


def fit_faces_in_child(jobs: list[FitJob], css: str, limit_px: float, on_round: Callable[[int], None] = lambda n: None,
                       media: dict[str, Media] | None = None, files: dict[str, Path] | None = None,
                       workers: int = 1, keep: Path | None = None) -> Fitted:
    """:func:`fit_faces` in a forked child, so the memory of hundreds of measuring layouts is returned when it
    ends (Python keeps freed memory for itself); the jobs reach it by the fork, the parts come back pickled. Where
    children cannot be forked (the jobs' face templates do not pickle) it runs here, its batches still in
    children."""
    if not can_fork():
        return fit_faces(jobs, css, limit_px, on_round, media, files, workers, keep)
    return run_forked(lambda report: fit_faces(jobs, css, limit_px, report, media, files, workers, keep), on_round,
                      lambda cause: f"measuring the cards failed ({cause}); nothing was written")
