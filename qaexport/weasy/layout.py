"""WeasyPrint layout, isolated: nothing fetched but the library's own media and the package files the exporter
names (fonts, the wrap mark), progress and missing glyphs from WeasyPrint's log, run in a child process."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import FontError
from ..forked import failure_of, run_forked
from ..model import Media
from .compat_libraries import load_weasyprint

load_weasyprint()  # first: its C libraries opened by their file names (compat_libraries), before any import of it

from weasyprint import CSS, Document  # noqa: E402
from weasyprint.text.fonts import FontConfiguration  # noqa: E402
from weasyprint.urls import URLFetcher, URLFetcherResponse  # noqa: E402

from .compat import (  # noqa: E402
    hang_trailing_spaces,
    html_class,
    open_arrays,
    parse_types_ahead,
    skip_empty_margin_boxes,
)
from .compat_pydyf import write_objects_once  # noqa: E402

open_arrays()  # WeasyPrint's font subsetting without a C parse per glyph count (compat)
parse_types_ahead()  # the C types WeasyPrint names, parsed in one pass (compat, compat_cffi)
skip_empty_margin_boxes()  # pages without margin-box rules (the cards' measuring pages) make none
hang_trailing_spaces()  # a run that overflows by its trailing space alone is not cut after one word (compat)
write_objects_once()  # pydyf serialises and compresses each object once, not again for the identifier (compat_pydyf)

#: Base URL of the document: relative ``src="NAME"`` of library media resolve below it. The ``.invalid``
#: top-level domain can never resolve, and the fetcher never goes to the network anyway.
MEDIA_BASE = "https://media.qaexport.invalid/"
#: WeasyPrint's documented loggers: warnings (among them each glyph no font has) and the layout's progress.
LOGGER = logging.getLogger("weasyprint")
PROGRESS_LOGGER = logging.getLogger("weasyprint.progress")


class RefusingFetcher(URLFetcher):
    """Fetch nothing: no network, no local files, whatever the content asks for."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=())

    def fetch(self, url: str, headers: Any = None) -> Any:
        raise ValueError(f"qaexport does not fetch resources ({url[:60]})")


class PackageFileFetcher(RefusingFetcher):
    """Serve exactly the package files the exporter names (fonts, the wrap mark); refuse everything else."""

    def __init__(self, files: dict[str, Path]) -> None:
        super().__init__()
        self.files = dict(files)
        #: The package files that could not be read, and why (WeasyPrint says nothing of a font it cannot fetch: it
        #: draws that text in another font).
        self.unread: list[tuple[Path, str]] = []
        #: The last package file served (the one a font face that then fails to load was made from).
        self.last: Path | None = None

    def fetch(self, url: str, headers: Any = None) -> Any:
        path = self.files.get(url)
        if path is None:
            return super().fetch(url, headers)
        kind = "image/svg+xml" if path.suffix == ".svg" else "font/ttf"
        self.last = path
        try:
            body = path.read_bytes()
        except OSError as exc:
            self.unread.append((path, exc.strerror or type(exc).__name__))
            raise
        return URLFetcherResponse(url, body=body, headers={"Content-Type": kind})


class _FontsNotLoaded(logging.Handler):
    """The package files whose font face WeasyPrint could not load (its log: "Font-face ... cannot be loaded"): the
    file the fetcher served last, which it made that face from."""

    def __init__(self, fetcher: PackageFileFetcher) -> None:
        super().__init__(logging.WARNING)
        self.fetcher = fetcher
        self.failed: list[Path | None] = []

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith("Font-face") and "cannot be loaded" in str(record.msg):
            self.failed.append(self.fetcher.last)


def _stylesheet(css: str, files: dict[str, Path] | None, font_config: FontConfiguration) -> CSS:
    """``css`` parsed and its fonts registered with ``font_config``. :class:`FontError` when a font file named in
    ``files`` could not be read or loaded (it vanished or changed since the exporter found it): WeasyPrint would
    lay that text out in a fallback font and say nothing."""
    fetcher = PackageFileFetcher(files or {})
    failures = _FontsNotLoaded(fetcher)
    LOGGER.addHandler(failures)
    try:
        stylesheet = CSS(string=css, url_fetcher=fetcher, font_config=font_config)
    finally:
        LOGGER.removeHandler(failures)
    if fetcher.unread:
        path, why = fetcher.unread[0]
        raise FontError(f"{path}: a font file the layout uses could not be read ({why}): it vanished or changed "
                        f"during the run; nothing was written. {_font_fix(path)}")
    if failures.failed:
        path = failures.failed[0]
        raise FontError(f"{path or 'a font file'}: a font file the layout uses cannot be loaded as a font: it changed "
                        f"during the run or is damaged; nothing was written. {_font_fix(path)}")
    return stylesheet


def _font_fix(path: Path | None) -> str:
    """How to fix a :class:`FontError`: run again (the file may have been in the middle of a change); if it fails
    again, repair the file (:func:`qaexport.font_files.repair_hint`: the store's files are made again by the next
    run, a font package's are reinstalled, that package alone)."""
    from ..font_files import repair_hint

    fix = repair_hint(path) if path is not None else "reinstall qaexport's font packages"
    return f"Run the command again; if it fails again: {fix[0].lower()}{fix[1:]}"


class MediaFetcher(PackageFileFetcher):
    """Serve the library's media by exact name below :data:`MEDIA_BASE` (and the named package files);
    refuse everything else."""

    def __init__(self, media: dict[str, Media], files: dict[str, Path] | None = None) -> None:
        super().__init__(files or {})
        self.media = media

    def fetch(self, url: str, headers: Any = None) -> Any:
        name = url.removeprefix(MEDIA_BASE) if url.startswith(MEDIA_BASE) else None
        item = self.media.get(name) if name else None
        if item is None:
            return super().fetch(url, headers)
        return URLFetcherResponse(url, body=item.data, headers={"Content-Type": item.mime})


class _MissingGlyphs(logging.Handler):
    """Collects the characters WeasyPrint drew as .notdef (an empty box): its log names each one."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.chars: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if str(record.msg).startswith(".notdef glyph") and record.args and isinstance(record.args, tuple):
            self.chars.add(str(record.args[0]))


class _PageProgress(logging.Handler):
    """Turns WeasyPrint's progress log ("Step 5 - Creating layout - Page N") into one call per page laid out
    for the first time: the layout is the slow step, and pages are what moves during it."""

    def __init__(self, on_pages: Callable[[int], None]) -> None:
        super().__init__(logging.INFO)
        self.on_pages = on_pages
        self.pages = 0

    def emit(self, record: logging.LogRecord) -> None:
        if not str(record.msg).startswith("Step 5 - Creating layout - Page") or not record.args:
            return
        page = record.args[0] if isinstance(record.args, tuple) else None
        if isinstance(page, int) and page > self.pages:
            self.on_pages(page - self.pages)
            self.pages = page


#: The stylesheet and font configuration set up by :func:`share_setup` or :func:`setup_ahead` in this process (or in
#: the parent it was forked from): the CSS they were made from, the package files it could load, and (set up ahead
#: only) the stamps those files had before they were read.
_shared: tuple[str, dict[str, Path], FontConfiguration, CSS, list[tuple[int, int, int] | None] | None] | None = None


def share_setup(css: str, files: dict[str, Path] | None = None) -> None:
    """Parse ``css`` and register its fonts once, for every document laid out after it with the same CSS and files,
    here and in the children forked after it (a forked child inherits them): the flashcards lay their faces out in
    a score of documents, and each parsed the stylesheet and wrote its fonts for fontconfig again (~5 % of their
    time). WeasyPrint's documented use: one ``FontConfiguration`` and its ``CSS`` for many documents."""
    global _shared
    if _shared is not None and _shared[0] == css and _shared[1] == (files or {}):
        return
    font_config = FontConfiguration()
    stylesheet = _stylesheet(css, files, font_config)
    _shared = (css, dict(files or {}), font_config, stylesheet, None)
    # A line in each text face drawn here: what a process's first drawing sets up (cffi parsing the C types that
    # HarfBuzz's subsetting and the PDF stream allocate, ~3 % of the cards' run when every measuring child did it
    # again; the fonts Pango opens) is then inherited by the children forked after it.
    render(WARM_UP, css, None, files).write_pdf()


#: What :func:`share_setup` draws once: a word in each of the faces the books and cards use.
WARM_UP = "<p>a <b>b</b> <i>c</i> <b><i>d</i></b> <code>e</code> <b><code>f</code></b></p>"


def setup_ahead(css: str, files: dict[str, Path]) -> None:
    """Parse ``css`` and register its fonts now, for a document laid out later in this process with the very same CSS
    and package files whose stamps (size, modification time, inode) are still those they had before they were read
    here (:func:`_setup` checks): the started layout process does it while it waits for its job, with the last run's
    stylesheet (``weasy.last_setup``). :class:`FontError` when a file could not be read or loaded (nothing kept)."""
    global _shared
    if _shared is not None and _shared[0] == css and _shared[1] == files and _shared[4] == _stamps(files):
        return  # set up ahead already (the last run's stylesheet was this run's: ``weasy.warm``)
    stamps = _stamps(files)
    font_config = FontConfiguration()
    stylesheet = _stylesheet(css, files, font_config)
    _shared = (css, dict(files), font_config, stylesheet, stamps)


def _stamps(files: dict[str, Path]) -> list[tuple[int, int, int] | None]:
    """Each package file's size, modification time and inode (None: it cannot be found)."""
    stamps: list[tuple[int, int, int] | None] = []
    for path in files.values():
        try:
            info = os.stat(path)
        except OSError:
            stamps.append(None)
            continue
        stamps.append((info.st_size, info.st_mtime_ns, info.st_ino))
    return stamps


def _setup(css: str, files: dict[str, Path] | None) -> tuple[FontConfiguration, CSS]:
    """The shared setup when it is this CSS's (``share_setup``; ``setup_ahead`` while its files are unchanged), else
    a new one."""
    if _shared is not None and _shared[0] == css and _shared[1] == (files or {}) \
            and (_shared[4] is None or _shared[4] == _stamps(_shared[1])):
        return _shared[2], _shared[3]
    font_config = FontConfiguration()
    return font_config, _stylesheet(css, files, font_config)


def render(html: str, css: str, media: dict[str, Media] | None = None, files: dict[str, Path] | None = None,
           tagged: bool = False) -> Document:
    """Lay out (without writing): the one document setup, also used by the flashcards to measure their faces.
    ``files`` (URL → package file) and the library's ``media`` are all it may load."""
    font_config, stylesheet = _setup(css, files)
    # WeasyPrint loads CSS images through the document's fetcher: it gets the media and our drawings only.
    images = {url: path for url, path in (files or {}).items() if path.suffix == ".svg"}
    fetcher = MediaFetcher(media or {}, images)
    return html_class()(string=html, url_fetcher=fetcher, base_url=MEDIA_BASE if media else None).render(
        stylesheets=[stylesheet], font_config=font_config, pdf_tags=tagged)


@contextlib.contextmanager
def missing_glyphs() -> Iterator[set[str]]:
    """The characters WeasyPrint draws as empty boxes (no font has them) while the block runs, from its log."""
    handler = _MissingGlyphs()
    LOGGER.addHandler(handler)
    try:
        yield handler.chars
    finally:
        LOGGER.removeHandler(handler)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while a document is laid out and drawn (restored after): by
    :func:`write_pdf`, and by the flashcards around each measuring document (66 → 58 s of the 560 cards' CPU).

    A layout builds millions of objects (boxes, computed styles, text layouts) that all live until the document is
    drawn, and every automatic full collection visits all of them again: 11 collections in the layout of the 560
    booklet's bigger part (640,000 characters of HTML) were a fifth of its CPU time (render 6.9 s → 5.5 s without
    them, the other part 4.3 s → 3.5 s), and freed ~30,000 objects of millions. Without them the part's largest
    memory is the same (284 MiB) and the PDF the same bytes. Objects without cycles are still freed at once
    (reference counts); a part's cyclic garbage waits for the child's end, and a layout in this process for the
    collector's next run after it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def write_pdf(html: str, css: str, identifier: str, target: Path, on_pages: Callable[[int], None],
              media: dict[str, Media] | None = None, files: dict[str, Path] | None = None,
              tagged: bool = False, laid_out: Callable[[Document], None] | None = None) -> set[str]:
    """Lay out and write; returns the characters no font could draw.

    ``pdf_identifier`` from the content keeps rebuilds byte-identical. ``files`` (URL → package file) and the
    library's ``media`` are the only things the layout may load; nothing else the content names is fetched.
    ``tagged`` adds the structure tree (PDF/UA tags: headings, lists, tables, reading order) for screen readers
    and reflow. ``laid_out(document)`` is called between the layout and the drawing (a book laid out in parts
    learns each part's pages and anchors there, while the part is still being drawn).
    """
    handler = _PageProgress(on_pages)
    missing = _MissingGlyphs()
    PROGRESS_LOGGER.addHandler(handler)
    LOGGER.addHandler(missing)
    old_level = PROGRESS_LOGGER.level
    PROGRESS_LOGGER.setLevel(logging.INFO)
    try:
        with collector_paused():
            document = render(html, css, media, files, tagged)
            if laid_out is not None:
                laid_out(document)
            document.write_pdf(target, pdf_identifier=identifier.encode(), pdf_tags=tagged)
    finally:
        PROGRESS_LOGGER.removeHandler(handler)
        LOGGER.removeHandler(missing)
        PROGRESS_LOGGER.setLevel(old_level)
    return missing.chars


def write_pdf_sorted(html: str, css: str, identifier: str, target: Path, media: dict[str, Media] | None,
                     files: dict[str, Path] | None, tagged: bool, report: Callable[[int], None]) -> list[str]:
    """:func:`write_pdf`'s characters drawn as empty boxes, sorted (a child's result)."""
    return sorted(write_pdf(html, css, identifier, target, report, media, files, tagged))


def warm_up() -> None:
    """What every document's layout sets up first, done ahead (a layout process started early: ``weasy.warm``):
    the user-agent stylesheet (``compat.html_class``)."""
    html_class()


def layout_in_child(html: str, css: str, identifier: str, target: Path, advance: Callable[[int], None],
                    label: str = "", media: dict[str, Media] | None = None, files: dict[str, Path] | None = None,
                    tagged: bool = False) -> list[str]:
    """Run the layout in a child process so its memory (hundreds of MiB for big books) is freed after.

    Returns the characters drawn as empty boxes (no installed or bundled font has them).
    """
    work = partial(write_pdf_sorted, html, css, identifier, target, media, files, tagged)
    return run_forked(work, advance, failure_of(str(label or target), "PDF layout"))
