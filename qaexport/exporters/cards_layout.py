"""Make every card face fit its card, measured by WeasyPrint itself rather than estimated.

A face is laid out alone on a page exactly the card's size, with the CSS the sheets use; it fits
if it takes one page. Each face first tries its normal type size, then the largest smaller size
down to the minimum (binary search over a ladder of sizes); a face that does not fit even at the
minimum is cut into as few cards as possible (``cards_split``: block boundaries first, then list
items, table rows, code lines, words) by a galloping search for the longest run that fits.

All faces are searched in lock step: each search is a generator that yields the face it wants
measured, and every round lays out all the pending faces as one document. A deck of hundreds of
cards costs a handful of layouts, not thousands.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass

from weasyprint import CSS, HTML

from .cards_split import Atom, atoms, is_container, join, refine
from .pdf_layout import RefusingFetcher

#: Renders one face for measuring: (body HTML, type size in pt, element id, is a continuation) → HTML.
FaceRenderer = Callable[[str, float, str, bool], str]
Search = Generator[tuple[str, float, bool], bool, list[tuple[str, float]]]


@dataclass
class FitJob:
    """One face's text and the type sizes it may use, largest first (the last is the readable minimum)."""

    html: str
    sizes: Sequence[float]
    render: FaceRenderer


def _search(job: FitJob) -> Search:
    """Yields (body, size, split) to measure, receives whether it fits; returns the parts (body, size)."""
    sizes, whole = job.sizes, job.html
    if (yield whole, sizes[0], False):
        return [(whole, sizes[0])]
    if len(sizes) > 1 and (yield whole, sizes[-1], False):
        lo, hi = 0, len(sizes) - 1  # sizes[hi] fits, sizes[lo] does not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if (yield whole, sizes[mid], False):
                hi = mid
            else:
                lo = mid
        return [(whole, sizes[hi])]
    size = sizes[-1]
    queue: list[Atom] = atoms(whole)
    parts: list[tuple[str, float]] = []
    guess = 2
    while queue:
        # The first atom must fit a card on its own: cut it until it does.
        while not (yield join(queue[:1]), size, True):
            pieces = refine(queue[0])
            if not pieces:
                break  # a single character wider than a card: nothing smaller exists
            queue[0:1] = pieces
        good, bad = 1, len(queue) + 1  # queue[:good] fits; queue[:bad] does not (len+1: unknown)
        probe = min(guess, len(queue))
        while True:
            while bad - good > 1:
                if not good < probe < bad:
                    probe = min(good * 2, len(queue)) if bad > len(queue) else (good + bad) // 2
                if (yield join(queue[:probe]), size, True):
                    good = probe
                else:
                    bad = probe
            # A list, table or code block that does not fit whole is cut here rather than moved on.
            if good < len(queue) and is_container(queue[good]) and (pieces := refine(queue[good])):
                queue[good:good + 1] = pieces
                bad, probe = good + len(pieces), good + 1
                continue
            break
        parts.append((join(queue[:good]), size))
        del queue[:good]
        guess = max(2, good)
    return parts


def _measure(faces: list[str], css: str) -> list[bool]:
    """Lay the faces out, one per card-sized page; a face fits if it took exactly one page."""
    fetcher = RefusingFetcher()
    html = ('<!DOCTYPE html><html><head><meta charset="utf-8"></head><body class="measure">'
            + "".join(faces) + "</body></html>")
    document = HTML(string=html, url_fetcher=fetcher, base_url=None).render(
        stylesheets=[CSS(string=css, url_fetcher=fetcher)])
    starts: dict[str, int] = {}
    for number, page in enumerate(document.pages):
        for anchor in page.anchors:
            if anchor.startswith("m-"):
                starts.setdefault(anchor, number)
    ends = [*(starts.get(f"m-{i}", -1) for i in range(1, len(faces))), len(document.pages)]
    return [ends[i] - starts.get(f"m-{i}", -10) == 1 for i in range(len(faces))]


def fit_faces(jobs: list[FitJob], css: str, on_round: Callable[[int], None] = lambda n: None
              ) -> list[list[tuple[str, float]]]:
    """For each job, the cards its face needs: a list of (body HTML, type size), in order."""
    searches = [_search(job) for job in jobs]
    results: list[list[tuple[str, float]]] = [[] for _ in jobs]
    pending = {i: next(search) for i, search in enumerate(searches)}
    while pending:
        order = list(pending)
        faces = [jobs[i].render(body, size, f"m-{k}", split) for k, i in enumerate(order)
                 for body, size, split in [pending[i]]]
        fits = _measure(faces, css)
        pending = {}
        for i, ok in zip(order, fits, strict=True):
            try:
                pending[i] = searches[i].send(ok)
            except StopIteration as done:
                results[i] = done.value
        on_round(1)
    return results
