"""A big booklet laid out in parts, one per core, and merged: the layout is the slow step and uses one core.

WeasyPrint lays out one document on one core (about a millisecond per inline box). A booklet whose chapters
(frameworks) each start on a new page can be cut there without changing a single page: each group of chapters is
laid out in its own child process, at the same time. A framework bigger than :data:`MAX_PART` is cut further,
between questions (near a topic's or a subtopic's first question where one is near), so that the parts laid out at
once bound the memory: such a cut starts a page where the whole layout would not (a change to how big books look,
chosen: docs/benchmarks.md). What crosses a cut is page numbers, and they are put back:

- *footers* ("12 / 240") need the book's total and each page's number, known only when every part is laid out.
  The parts are laid out without footers; a last small layout, the *front* document, has the cover, the contents
  and one empty page per body page that carries only its footer (the same ``@page`` margin box, so the same
  place and look). Those pages are stamped onto the body pages as overlays;
- *contents numbers* come from the parts' named destinations plus the pages before them, and are written into
  the front document as numbers (``data-page``) instead of ``target-counter()``. The number of contents pages is
  learnt by a probe laid out beside the parts; if the real numbers change it, the front is laid out again;
- *contents links* point to the anchors of other parts: the front document writes them as links to
  :data:`LINK_BASE`, and the merge turns each into the internal link WeasyPrint writes (``/Dest`` by name);
- *outline and named destinations* are copied from each part with their pages mapped to the merged book.

Running heads (``string-set``) never cross a chapter start, which resets them; a part that starts inside a
framework sets them again first (its ``.continued`` element). The quiz edition and tagged PDFs
are laid out whole: the answer key has no page-aligned cut and cross-references go both ways, and a structure
tree cannot be merged faithfully. The merge uses pikepdf (the maintained binding of qpdf).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import scratch
from ..errors import OutputError
from ..model import Media

if TYPE_CHECKING:  # pikepdf is imported when a book is split
    from pikepdf import Array, Name, OutlineItem, Page, Pdf

    from .kept import KeptLayouts

#: Contents links in the front document point here; the merge makes them internal links. ``.invalid`` never
#: resolves, and no link to it is left in a finished book (the tests check every link).
LINK_BASE = "https://contents.qaexport.invalid/"
#: Body parts draw no footer: the front document's empty pages carry it.
BODY_CSS = "\n@page { @bottom-center { content: none; } }\n"
#: Estimated size (HTML characters) a part must have for a split to pay: below it, forking, the probe, the front
#: layout and the merge (about a second) cost more than the second core saves.
MIN_PART = 120_000
#: The size (HTML characters) a big book's parts are cut to, between questions where a framework holds more: a
#: part's layout holds ~360 bytes per character of HTML until it is drawn, and ``workers`` parts are laid out at a
#: time, so the parts' size is what bounds the tree's memory. Measured on the 560 book (docs/benchmarks.md, "PDF 560:
#: smaller parts"; the tree's peak, CPU, pages): 800,000 (two parts, one drawn in two) 559-629 MiB, 243 pages;
#: 150,000: 228-262 MiB, 244; 120,000: 202 MiB, 246; 100,000: 198 MiB, 249; the CPU the same within the noise. Below
#: ~120,000 the peak hardly falls (the forking process and the front document are most of it) while the pages a cut
#: adds grow. A cut inside a framework starts a page: books this big are printed with such page starts.
MAX_PART = 120_000
#: A book bigger than this is laid out in parts even when ``--parts 1`` asks for it whole (in parts of
#: :data:`MAX_PART`, one at a time): its memory stays bounded.
WHOLE_MAX = 800_000
#: A cut inside a framework moves back to a topic's or a subtopic's first question that begins in the last this
#: share of the part: the page the next part starts then begins at a heading.
CUT_SLACK = 0.3
#: The memory the whole process tree may use while a big book is laid out: the process that forks the parts (it
#: holds the content model and the book's view) and the parts laid out at once. How many are laid out at a time
#: follows from it (:func:`parts_at_once`), so that a bank of any size stays under 1 GiB with a margin.
TREE_BUDGET = 768 * 2**20
#: The forking process's memory: a base (interpreter, libraries, fonts) and a share per character of the book's
#: HTML (measured: 98 MiB at 7.8 million characters of a Markdown bank, 186 MiB at 31 million, 333 MiB at 78
#: million; an Anki package, with Anki's libraries, 162 MiB at 2.8 million, 214 MiB at 11.4 million).
PARENT_BASE = 120 * 2**20
PARENT_BYTES_PER_CHAR = 5
#: A part's memory of its own: a base (the layout's set-up after the fork) and a share per character of its HTML,
#: held until it is drawn (measured: ~300 MiB for 780,000 characters).
PART_BASE = 24 * 2**20
PART_BYTES_PER_CHAR = 360
#: Seconds a child that has sent its result has to exit before the next one is forked (it is killed after: it is
#: done, and must not hang the run). Exiting takes milliseconds; a child stuck at its exit is the only one that waits.
EXIT_BOUND = 5.0
#: Attempts at a contents whose page count agrees with the numbers written into it.
FRONT_ATTEMPTS = 3
#: The page number the probe writes on every contents line, to count the contents' pages before the numbers
#: are known: as wide as most books' numbers. When the real ones change the count, the front is laid out again.
PROBE_NUMBER = "000"


def front_css(total: int) -> str:
    """The front document's footer with the book's total as a number, and its footer-only pages."""
    return (f'\n@page {{ @bottom-center {{ content: counter(page) " / {total}"; }} }}\n'
            ".stamp { page: stamp; break-before: page; }\n@page stamp { @top-left { content: none; } }\n")


def _parent_bytes(total: int) -> int:
    return PARENT_BASE + PARENT_BYTES_PER_CHAR * total


def _part_bytes(size: int) -> int:
    return PART_BASE + PART_BYTES_PER_CHAR * size


def parts_at_once(total: int, biggest: int, workers: int) -> int:
    """How many parts of at most ``biggest`` characters (or the footer documents) are laid out at a time: one per
    worker while the forking process and that many parts fit :data:`TREE_BUDGET`, at least one. A part of one
    question may be bigger than :data:`MAX_PART`: counted as that size."""
    room = TREE_BUDGET - _parent_bytes(total)
    return max(1, min(workers, room // _part_bytes(min(biggest, MAX_PART))))


def plan(sizes: Sequence[int], workers: int, min_part: int = MIN_PART, max_part: int | None = None) -> list[range]:
    """Contiguous groups of chapters for the parts, balanced (the largest group as small as can be): one per
    worker, more when the book is big (no part above ``max_part``, default :data:`MAX_PART`, where chapters allow, so
    that ``workers`` parts at a time bound the memory), none below ``min_part``. One group means: lay the book out
    whole."""
    n, total = len(sizes), sum(sizes)
    max_part = MAX_PART if max_part is None else max_part
    k = min(n, total // max(1, min_part), max(workers, -(-total // max(1, max_part))))
    prefix = [0]
    for size in sizes:
        prefix.append(prefix[-1] + size)
    while k >= 2:
        groups = _balanced(prefix, k)
        if min(prefix[g.stop] - prefix[g.start] for g in groups) >= min_part:
            return groups
        k -= 1
    return [range(n)]


def _balanced(prefix: list[int], k: int) -> list[range]:
    """The cut of the chapters (sizes given as prefix sums) into ``k`` contiguous groups whose largest is smallest."""
    n = len(prefix) - 1
    inf = float("inf")
    best = [[inf] * (n + 1) for _ in range(k + 1)]  # best[j][i]: first i chapters in j groups
    cut = [[0] * (n + 1) for _ in range(k + 1)]
    best[0][0] = 0
    for j in range(1, k + 1):
        for i in range(j, n + 1):
            for m in range(j - 1, i):
                cost = max(best[j - 1][m], prefix[i] - prefix[m])
                if cost < best[j][i]:
                    best[j][i], cut[j][i] = cost, m
    groups, i = [], n
    for j in range(k, 0, -1):
        groups.append(range(cut[j][i], i))
        i = cut[j][i]
    return groups[::-1]


#: Footer-only pages (see the module docstring) laid out in one document at most: a book of 25,000 pages has its
#: footers drawn in documents of this many pages, so their layout's memory stays bounded too.
STAMP_CHUNK = 2_000


@dataclass
class PartedBook:
    """What :func:`layout_parts` lays out: each body part's HTML (made when, and where, the part is laid out: the
    parts of a big book are never all held at once) and its estimated size; the front document's HTML for given
    contents numbers (anchor → page; None: placeholders) and a number of footer-only pages; and a document of
    footer-only pages alone (for the footers past the front's ``STAMP_CHUNK``)."""

    bodies: list[Callable[[], str]]
    sizes: list[int]
    front: Callable[[dict[str, str] | None, int], str]
    stamps: Callable[[int], str]
    anchors: list[str]  # the contents' link targets
    css: str
    workers: int  # parts laid out at a time
    variable_faces: bool = False  # the book draws with a variable face (a fallback): each document instances it


def layout_parts(book: PartedBook, identifier: str, target: Path, advance: Callable[[int], None], label: str,
                 media: dict[str, Media] | None, files: dict[str, Path] | None, kept: KeptLayouts | None = None
                 ) -> list[str]:
    """Lay out the parts at once, then the front document, and merge them into ``target``; returns the
    characters drawn as empty boxes.

    Each part reports its page count and anchors as soon as it is laid out; the front document is laid out
    while the last parts are still being drawn, so it costs no wall time when a core is free by then. A part
    ``kept`` from an earlier run with the same key (``weasy.kept``) is copied instead of laid out.
    """
    from ..forked import Children, failure_of

    failure = failure_of(label, "PDF layout")

    with scratch.folder("pdf") as folder:
        work = Path(folder)
        bodies = [work / f"part-{i}.pdf" for i in range(len(book.bodies))]
        front = work / "front.pdf"
        laid: dict[int, _Part] = {}
        probe_pages: list[int] = []  # the contents' page count, with placeholder numbers
        fronts: list[tuple[int, int]] = []  # (child index, contents pages it assumed)
        missing: set[str] = set()

        def part_job(i: int) -> Callable[[Callable[[object], None]], list[str]]:
            return partial(_lay_part, book.bodies[i], book.css + BODY_CSS, identifier, bodies[i], media, files,
                           kept)

        def front_job(html: str, css: str, path: Path) -> Callable[[Callable[[object], None]], tuple[list[str], int]]:
            return partial(_lay_front, html, css, identifier, path, media, files)

        stamp_files: list[Path] = []
        # At most ``at_once`` children at a time, parts and footer documents alike (a book of 25,000 pages has a
        # dozen footer documents of STAMP_CHUNK pages: all at once, they were as big as the parts); the front first.
        at_once = parts_at_once(sum(book.sizes), max(book.sizes, default=0), book.workers)
        running: set[int] = set()
        waiting: list[Callable[[], None]] = []  # footer documents not started yet

        def launch(job: Callable[[Callable[[object], None]], Any]) -> int:
            index = group.start(job)
            running.add(index)
            return index

        def launch_front(job: Callable[[Callable[[object], None]], Any], attempt: int, front_pages: int) -> None:
            fronts[attempt] = (launch(job), front_pages)

        def start_front(group: Children, front_pages: int) -> None:
            numbers, total = contents_numbers([laid[i] for i in range(len(bodies))], book.anchors, front_pages)
            body_pages = total - front_pages
            html = book.front(numbers, min(body_pages, STAMP_CHUNK))
            fronts.append((-1, front_pages))
            stamp_files.clear()  # the footers past the front's: laid out again for these numbers
            waiting.clear()  # (those of an earlier attempt not started yet never will be)

            waiting.append(partial(launch_front, front_job(html, book.css + front_css(total), front), len(fronts) - 1,
                                   front_pages))
            for first in range(STAMP_CHUNK, body_pages, STAMP_CHUNK):
                path = work / f"stamps-{len(fronts)}-{first}.pdf"  # an attempt's own: an earlier one may still run
                stamp_files.append(path)
                count = min(STAMP_CHUNK, body_pages - first)
                numbered = f"\n@page :first {{ counter-reset: page {front_pages + first + 1}; }}\n"
                waiting.append(partial(launch, front_job(book.stamps(count),
                                                         book.css + front_css(total) + numbered, path)))
            fill()

        def fill() -> None:
            while waiting and len(running) < at_once:
                waiting.pop(0)()

        def on_progress(part: int, value: object) -> None:  # part -1: not a part's child
            if part < 0:
                return
            if isinstance(value, tuple) and value[0] == "laid-out":
                laid[part] = _Part(value[1], value[2], value[3])
                if len(laid) == len(bodies) and probe_pages:
                    start_front(group, probe_pages[0])
            elif isinstance(value, int):
                advance(value)

        probe_job = front_job(book.front(dict.fromkeys(book.anchors, PROBE_NUMBER), 0), book.css + front_css(999),
                              work / "probe.pdf")
        probe = -1
        _share_with_children(book.variable_faces)
        queue = start_order(book.sizes, at_once)
        slots: dict[int, int] = {}  # child index -> part
        with Children(lambda index, value: on_progress(slots.get(index, -1), value), failure) as group:
            while queue and len(slots) < at_once:
                part = queue.pop(0)
                slots[launch(part_job(part))] = part
            for index, result in group.finished():
                running.discard(index)
                group.end(index, EXIT_BOUND)  # its memory gone before the next is forked
                if index in slots and queue:
                    part = queue.pop(0)
                    slots[launch(part_job(part))] = part
                elif index in slots and probe < 0:
                    probe = launch(probe_job)  # on the core the last parts leave free
                if index == probe:
                    missing |= set(result[0])
                    probe_pages.append(result[1])
                    if len(laid) == len(bodies):
                        start_front(group, probe_pages[0])
                elif fronts and index == fronts[-1][0]:
                    found, pages = result
                    missing |= set(found)
                    assumed = fronts[-1][1]
                    contents = pages - min(sum(part.pages for part in laid.values()), STAMP_CHUNK)
                    if contents != assumed:  # the numbers changed the contents' length: number again
                        if len(fronts) == FRONT_ATTEMPTS:
                            raise OutputError(failure("the contents' page count did not settle"))
                        start_front(group, contents)
                if index in slots:
                    missing |= set(result)
                fill()
        merge(front, fronts[-1][1], bodies, target, [laid[i].outline_levels for i in range(len(bodies))], stamp_files)
    return sorted(missing)


def _share_with_children(variable_faces: bool) -> None:
    """Load here, once, what every child would otherwise load for itself: the modules WeasyPrint loads as it turns
    a variable face into a static one at the very end of a part's drawing (``compat_fonttools.load_for_instancing``:
    ~0.1 s of CPU and ~12 MiB in each child, where its memory is largest), and the e-mail headers module its
    fetched files' responses load as the fonts are read (~0.015 s). Children forked after share them (docs/
    benchmarks.md, "PDF 560: the parts' ends")."""
    import email.policy  # noqa: F401  (weasyprint.urls.URLFetcherResponse makes an EmailMessage)

    if variable_faces:
        from .compat_fonttools import load_for_instancing

        load_for_instancing()


def start_order(sizes: Sequence[int], at_once: int) -> list[int]:
    """The order the parts are started in, ``at_once`` at a time, each next one when one ends: biggest first (the last
    to start are the quickest to finish, so the cores end together), but with more parts than are laid out at once,
    the smallest second, beside the biggest.

    Why: a part's memory grows through its layout and drawing and is largest at its end (~90 MiB for 110,000
    characters of HTML), and a big framework is cut into parts of about the same size. Started together, two such
    parts reached their ends together, and so did every pair after them: the tree's peak was the forking process and
    two parts at their ends. The smallest part ends first and puts the two slots out of step for the rest of the
    run (each next part starts as one ends), so that one part is at its end while the other is still in its layout:
    docs/benchmarks.md, "PDF 560: the parts out of step"."""
    order = sorted(range(len(sizes)), key=lambda i: -sizes[i])
    if len(order) > at_once >= 2:
        order.insert(1, order.pop())
    return order


def contents_numbers(parts: Sequence[_Part], anchors: Sequence[str], front_pages: int) -> tuple[dict[str, str], int]:
    """The page number (as printed) of each contents entry, and the book's page count, when the front document
    (cover and contents) has ``front_pages`` pages and the parts follow it in order."""
    numbers: dict[str, str] = {}
    start = front_pages
    for part in parts:
        numbers |= {name: str(start + page + 1) for name, page in part.anchor_pages.items()}
        start += part.pages
    return {a: numbers[a] for a in anchors}, start


def _quiet(_pages: int) -> None:
    pass


def _lay_part(body: Callable[[], str], css: str, identifier: str, path: Path, media: dict[str, Media] | None,
              files: dict[str, Path] | None, kept: KeptLayouts | None, report: Callable[[object], None]) -> list[str]:
    """A body part, in a child: its HTML made here (no process holds every part's), then laid out (or copied from
    the parts ``kept`` from an earlier run, when its key is there); it reports its page count, anchors and outline
    shape as soon as it is laid out (the front document needs them), then its pages as they are drawn."""
    html = body()
    key = kept.key(html, css) if kept is not None else ""
    record = kept.fetch(key, path) if kept is not None else None
    if record is not None:
        try:
            facts = ("laid-out", int(record["pages"]), {str(k): int(v) for k, v in record["anchors"].items()},
                     [int(level) for level in record["levels"]])
            missing = sorted(str(c) for c in record["missing"])
        except (KeyError, TypeError, ValueError, AttributeError):
            record = None
            path.unlink(missing_ok=True)
        else:
            report(facts)
            report(facts[1])
            return missing
    from .layout import write_pdf

    laid: list[tuple[str, int, dict[str, int], list[int]]] = []

    def laid_out(document: Any) -> None:
        anchors: dict[str, int] = {}
        for number, page in enumerate(document.pages):
            for name in page.anchors:
                anchors.setdefault(name, number)
        # The part's outline items in order, by their bookmark level: the merge nests the items of all the parts
        # again by them, as one document's outline would nest them (a part that begins inside a framework has
        # topics or subtopics at the top of its own outline).
        levels = [level for page in document.pages for level, *_rest in page.bookmarks]
        laid.append(("laid-out", len(document.pages), anchors, levels))
        report(laid[-1])

    missing = sorted(write_pdf(html, css, identifier, path, report, media, files, laid_out=laid_out))
    if kept is not None and laid:
        _kind, pages, anchors, levels = laid[0]
        kept.store(key, path, {"pages": pages, "anchors": anchors, "levels": levels, "missing": missing})
    return missing


def _lay_front(html: str, css: str, identifier: str, path: Path, media: dict[str, Media] | None,
               files: dict[str, Path] | None, _report: Callable[[object], None]) -> tuple[list[str], int]:
    """The front document (or the probe), in a child: its missing characters and page count."""
    from .layout import write_pdf

    pages: list[int] = []
    found = write_pdf(html, css, identifier, path, _quiet, media, files,
                      laid_out=lambda document: pages.append(len(document.pages)))
    return sorted(found), pages[0]


def _lay_piece(html: str, css: str, identifier: str, path: Path, media: dict[str, Media] | None,
               files: dict[str, Path] | None, report: Callable[[object], None]) -> set[str]:
    from .layout import write_pdf

    return write_pdf(html, css, identifier, path, report, media, files)


@dataclass
class _Part:
    """A laid-out part: its page count and the page (0-based, in the part) of each anchor."""

    pages: int
    anchor_pages: dict[str, int]
    outline_levels: list[int]  # the bookmark level of each outline item, in order


def _dests(pdf: Pdf) -> dict[str, Array]:
    import pikepdf

    root = pdf.Root
    if "/Names" not in root or "/Dests" not in root.Names:
        return {}
    return dict(pikepdf.NameTree(root.Names.Dests).items())


def _append(out: Pdf, path: Path, dests: dict[str, Array], outline: list[OutlineItem]) -> None:
    """The pages of the PDF at ``path`` added at the end of ``out``; its named destinations and outline items,
    pointing at those pages, added to ``dests`` and ``outline``."""
    import pikepdf
    from pikepdf import Array

    with pikepdf.open(path) as part:
        first = len(out.pages)
        out.pages.extend(part.pages)
        pages = {page.obj.objgen: out.pages[first + i].obj for i, page in enumerate(part.pages)}

        def mapped(dest: Array) -> Array:
            return Array([pages[dest[0].objgen], *list(dest)[1:]])

        for name, dest in _dests(part).items():  # a box cut by a page break is in both files: its first page
            dests.setdefault(name, mapped(dest))
        with part.open_outline() as part_outline:
            outline += [_copy_item(item, mapped) for item in part_outline.root]


def _finish(out: Pdf, dests: dict[str, Array], outline: list[OutlineItem]) -> None:
    """The merged book's named destinations and outline (none is written when there is none, as WeasyPrint)."""
    from pikepdf import Dictionary, NameTree

    if dests:
        names = NameTree.new(out)
        for name in sorted(dests):
            names[name] = dests[name]
        out.Root.Names = Dictionary(Dests=names.obj)
    if outline:
        with out.open_outline() as merged:
            merged.root[:] = outline


def merge(front: Path, front_pages: int, bodies: Sequence[Path], target: Path,
          outline_levels: Sequence[list[int]], stamp_files: Sequence[Path] = ()) -> None:
    """The front document's cover and contents, then every body part with a footer page stamped on each page (the
    front's footer-only pages, then those of ``stamp_files``); outline, named destinations and contents links as in
    a book laid out whole. ``outline_levels``: each part's outline items' bookmark levels, in order: the items of
    every part are nested again by them, as one document nests them (a part that begins inside a framework has
    topics or subtopics at the top of its own outline)."""
    import pikepdf
    from pikepdf import Array, Name, String

    with pikepdf.open(front) as out:
        body_start = len(out.pages)
        dests: dict[str, Array] = {}
        items: list[OutlineItem] = []
        for path in bodies:
            _append(out, path, dests, items)
        outline = _nested(items, [level for levels in outline_levels for level in levels])
        body_end = len(out.pages)
        for path in stamp_files:  # more footer pages, after the body for now
            with pikepdf.open(path) as more:
                out.pages.extend(more.pages)
        stamps = [*out.pages[front_pages:body_start], *out.pages[body_end:]]
        for number, (stamp, page) in enumerate(zip(stamps, out.pages[body_start:body_end], strict=True),
                                               front_pages + 1):
            _stamp(page, stamp, Name(f"/Footer{number}"))
        del out.pages[body_end:]
        del out.pages[front_pages:body_start]
        _finish(out, dests, outline)
        for page in out.pages[:front_pages]:
            for annot in page.obj.get("/Annots", Array()):
                action = annot.get("/A")
                uri = str(action.get("/URI", "")) if action is not None else ""
                if action is not None and action.get("/S") == Name.URI and uri.startswith(LINK_BASE + "#"):
                    del annot["/A"]
                    annot.Dest = String(uri.removeprefix(LINK_BASE + "#"))
        save_pdf(out, target)


def save_pdf(pdf: Any, target: Path, **options: Any) -> None:
    """Write the pikepdf ``pdf`` to ``target``, an owned temporary path (``output.atomic_path`` made it and renames
    it into place). Through a stream: given a path that exists, pikepdf writes a temporary file of its own beside it
    (``.pikepdf.<name>.tmp…``), which a run killed while saving left behind and the sweep does not know as ours.
    Through :class:`_Sink`, not the file itself: a full disk must be an ``OSError`` here, not the end of the process
    (see there). ``options`` go to ``Pdf.save`` (tests watch the folder through ``progress``)."""
    with open(target, "wb") as stream:
        sink = _Sink(stream)
        pdf.save(sink, deterministic_id=True, **options)
        if sink.error is not None:
            raise sink.error


class _Sink(io.RawIOBase):
    """The file ``save_pdf`` writes, as a stream pikepdf calls ``write`` on. Given a plain file, pikepdf 10 writes to
    its descriptor from C++, and a failed write there (``ENOSPC``: a full disk) ends the process with
    ``std::terminate`` (exit 134, the temporary file left behind: trial10). Here a failed write is kept and the rest
    of the save is dropped; ``save_pdf`` raises it once pikepdf is done, and the caller's one-line disk error and
    cleanup follow as for every other output."""

    def __init__(self, stream: io.BufferedWriter) -> None:
        super().__init__()
        self._stream = stream
        self._written = 0
        self.error: OSError | None = None

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = len(memoryview(data))
        if self.error is None:
            try:
                self._stream.write(data)
            except OSError as exc:
                self.error = exc
        self._written += size
        return size

    def tell(self) -> int:
        return self._written


def concatenate(pieces: Sequence[Path], target: Path) -> None:
    """The pages of ``pieces`` one after the other, with their named destinations (pieces have no outline: the
    cards' headings make no bookmarks); the first piece's metadata and document identifier stay (every piece was
    laid out with the same ones)."""
    import pikepdf

    with pikepdf.open(pieces[0]) as out:
        dests: dict[str, Array] = dict(_dests(out))
        for path in pieces[1:]:
            _append(out, path, dests, [])
        _finish(out, dests, [])
        save_pdf(out, target)


def layout_pieces(htmls: Sequence[str], css: str, identifier: str, target: Path, advance: Callable[[int], None],
                  label: str, media: dict[str, Media] | None, files: dict[str, Path] | None, workers: int
                  ) -> list[str]:
    """Documents that share nothing but their CSS (no page numbers, no links between them: the cards' sheets)
    laid out ``workers`` at a time in forked children and concatenated into ``target``; returns the characters
    drawn as empty boxes."""
    from ..forked import failure_of, run_forked_all

    with scratch.folder("pdf") as folder:
        paths = [Path(folder) / f"piece-{i}.pdf" for i in range(len(htmls))]

        found = run_forked_all([partial(_lay_piece, htmls[i], css, identifier, paths[i], media, files)
                                for i in range(len(htmls))],
                               lambda pages: advance(pages) if isinstance(pages, int) else None,
                               failure_of(label, "PDF layout"), workers)
        concatenate(paths, target)
    return sorted(set().union(*found))


def _stamp(page: Page, stamp: Page, name: Name) -> None:
    """``stamp`` drawn over ``page`` as a form XObject: what pikepdf's ``add_overlay`` does, under a name given
    here (``add_overlay`` invents random ones, and a rebuild must be byte-identical)."""
    from pikepdf import Name, Rectangle

    form = stamp.as_form_xobject()
    placed = page.add_resource(form, Name.XObject, name)
    drawing = page.calc_form_xobject_placement(form, placed, Rectangle(page.trimbox))
    page.contents_add(b"q\n", prepend=True)
    page.contents_add(b"Q\n" + drawing)  # (not coalesced: that would hold every page's drawing in memory)


def _nested(items: list[OutlineItem], levels: list[int]) -> list[OutlineItem]:
    """``items`` (trees) flattened depth first and nested again by their bookmark ``levels``: an item goes under
    the last one before it of a lower level."""
    flat: list[OutlineItem] = []

    def walk(level: list[OutlineItem]) -> None:
        for item in level:
            flat.append(item)
            walk(list(item.children))
            item.children[:] = []

    walk(items)
    if len(flat) != len(levels):
        raise OutputError(f"the parts' outline has {len(flat)} items, not {len(levels)}")
    roots: list[OutlineItem] = []
    open_items: list[tuple[int, OutlineItem]] = []
    for item, level in zip(flat, levels, strict=True):
        while open_items and open_items[-1][0] >= level:
            open_items.pop()
        (open_items[-1][1].children if open_items else roots).append(item)
        open_items.append((level, item))
    return roots


def _copy_item(item: OutlineItem, mapped: Callable[[Array], Array]) -> OutlineItem:
    """An outline item and its children, pointing at the merged book's pages."""
    from pikepdf import OutlineItem

    copy = OutlineItem(item.title, destination=mapped(item.destination))
    copy.is_closed = item.is_closed
    copy.children[:] = [_copy_item(child, mapped) for child in item.children]
    return copy
