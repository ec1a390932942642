"""A layout process started before the book is known: it imports WeasyPrint while this process renders the texts.

Why: a small booklet (the author's loop: a bank of a few dozen questions, laid out whole in one child process) spends
a fifth of its run importing WeasyPrint (~0.2 s of CPU), and this process had nothing else to do meanwhile but
render a few texts, make the book's HTML and find its faces (~0.1 s together). Forked before the rendering, the
child imports WeasyPrint and sets up its user-agent stylesheet on the other core while this process does that
work, then lays out the document it is sent, as :func:`qaexport.weasy.layout.layout_in_child` would have: the same
code on the same document, the same bytes. The CPU time is the same; the wall time of a small booklet ~0.1 s less.

Started only where the run's one exporter is the PDF and the book is small (``PdfExporter.prepare_alone``) and fork is
available; used by the process that started it, once (a forked child of that process, such as a book's part, never
touches it); stopped when it is not used (a book laid out in parts after all), at the latest when the command ends
(``forked.end_started_ahead``: a run that failed before its layout) or this process exits. Without a job it waits on
its pipe, and ends when the pipe closes (this process gone).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..forked import Children, can_fork, failure_of, process_context, started_ahead
from ..model import Media


class _Worker:
    """The started layout process and the pipe its job goes through."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.advance: Callable[[int], None] = lambda _pages: None
        self.label = ""
        self.receive, self.send = process_context().Pipe(duplex=False)
        self.group = Children(lambda _index, pages: self.advance(pages), self._failure)

    def begin(self) -> None:
        """Fork the child. Called once the worker is known to :func:`stop` (:func:`start`): a stop let in as the fork
        ends (``stops.held``) raises here, and the command's end must still end the child, which would otherwise wait
        for a job forever while the command's exit waits for it."""
        try:
            self.group.start(self._serve)
        finally:
            self.receive.close()  # the child's end: only the child reads jobs

    def _failure(self, cause: str) -> str:
        return failure_of(self.label, "PDF layout")(cause)

    def _serve(self, report: Callable[[int], None]) -> list[str] | None:
        """In the child: import WeasyPrint and set up, then lay out and write the one job sent (None: no job).

        The child runs without Python's cyclic garbage collector from its start to its end: its import of WeasyPrint
        ran ~130 automatic collections (~0.025 s of CPU of ~0.28 s), and the collector restarted after the layout
        (``layout.collector_paused``) visited every object of the laid-out book once more (~0.01 s) just before the
        child ends, all on the run's longest path. What it would free is the import's few cycles: the layout
        itself already runs with the collector paused, and this process only ever lays out a book too small to be
        cut into parts (under ``MIN_PART``: ``PdfExporter.prepare_alone``); its memory goes back to the system when
        it ends."""
        gc.disable()
        self.send.close()  # the parent's end: closed here, the pipe ends when the parent closes it or exits
        from . import layout

        layout.warm_up()
        if _setup_from is not None and not self.receive.poll():  # nothing sent yet: the last run's stylesheet
            _set_up_ahead(_setup_from)
        while True:
            try:
                job = self.receive.recv()
            except EOFError:
                return None
            if not isinstance(job, SetupHint):
                break
            if not self.receive.poll():  # the job not sent yet: the run's own stylesheet meanwhile (hint_setup)
                with contextlib.suppress(Exception):  # a hint that fails is no hint: the job sets up its own
                    layout.setup_ahead(job.css, job.files)
        return None if job is None else layout.write_pdf_sorted(*job, report)

    def hint(self, css: str, files: dict[str, Path]) -> None:
        """Send the stylesheet the job will most likely have (:func:`hint_setup`)."""
        with contextlib.suppress(OSError):  # the child is gone: the job's sending finds out why
            self.send.send(SetupHint(css, files))

    def layout(self, job: tuple, advance: Callable[[int], None], label: str, keep_setup: Path | None = None
               ) -> list[str]:
        """Send ``job`` (:func:`layout.write_pdf_sorted`'s arguments but the last) and wait for its result; while it
        runs, keep its stylesheet and font files in the cache folder ``keep_setup`` for the next run's process."""
        self.advance, self.label = advance, label
        try:
            with contextlib.suppress(OSError):  # the child is gone: its outcome says why
                self.send.send(job)
            self.send.close()
            if keep_setup is not None:
                from .last_setup import remember

                _html, css, _identifier, _target, _media, files, _tagged = job
                remember(keep_setup, css, files or {})
            return self.group.results()[0]
        finally:
            self.group.__exit__(None, None, None)

    def stop(self) -> None:
        """End the child unused."""
        try:
            self.send.close()
        finally:
            self.group.__exit__(None, None, None)


_worker: _Worker | None = None
#: The cache folder (found in the started process: ``launch.cache_folder``) whose kept stylesheet
#: (``weasy.last_setup``) the process started next parses while it waits for its job (:func:`set_up_ahead_from`);
#: None: it waits without.
_setup_from: Callable[[], Path] | None = None


def set_up_ahead_from(folder: Callable[[], Path] | None) -> None:
    """The process started next parses the stylesheet kept in the cache folder ``folder()`` (``weasy.last_setup``)
    while it waits for its job, if the job has not come by then (None: nothing ahead)."""
    global _setup_from
    _setup_from = folder


def _set_up_ahead(folder: Callable[[], Path]) -> None:
    """In the started process: the last run's stylesheet and fonts set up (``layout.setup_ahead``), if there is one and
    it can be; the job checks it is its own before it uses it. A guess that fails is no guess: the job sets up its own
    (and reports a font file that cannot be read then)."""
    from . import layout
    from .last_setup import recall

    kept = recall(folder())
    if kept is not None:
        with contextlib.suppress(Exception):
            layout.setup_ahead(*kept)


@dataclass(frozen=True)
class SetupHint:
    """A message to the started process before its job: the stylesheet and font files the job will most likely
    have, to set up while the job is being made (:func:`hint_setup`)."""

    css: str
    files: dict[str, Path]


def hint_setup(css: str, files: dict[str, Path]) -> None:
    """Tell the started process (if this process started it and has not used it yet) the stylesheet and font files
    its job will most likely have: it parses the stylesheet and registers the faces while this process makes the
    book's HTML, if the job has not come by then (``layout.setup_ahead``), and the job uses that setup only when its
    stylesheet and files are the very same and the files unchanged (``layout._setup``), else it sets up its own.

    Why: a run with an empty cache has no stylesheet kept from the last run (``weasy.last_setup``), and the job's
    first step was the stylesheet (~0.055 s of CPU for the author's 16-question book) while the started process had
    waited idle for it: this process's making of the book's HTML (Jinja's import and compile, ~0.06 s) runs after
    WeasyPrint's import there. Sent as soon as the texts are rendered and the book's view made."""
    worker = _worker
    if worker is not None and worker.pid == os.getpid():
        worker.hint(css, files)


def start() -> None:
    """Start the layout process (once; nothing where processes are not forked)."""
    global _worker
    if _worker is None and can_fork():
        _worker = _Worker()
        started_ahead(stop)  # the command's end, however it ends (a stop as the child is forked too: begin)
        atexit.register(stop)
        _worker.begin()


def _take() -> _Worker | None:
    """The started process, for this process only (a forked child of the one that started it gets None), once."""
    global _worker
    worker, _worker = _worker, None
    return worker if worker is not None and worker.pid == os.getpid() else None


def stop() -> None:
    """End the started layout process unused (a book laid out in parts; the end of the run)."""
    worker = _take()
    if worker is not None:
        worker.stop()


def layout_whole(html: str, css: str, identifier: str, target: Path, advance: Callable[[int], None], label: str,
                 media: dict[str, Media] | None, files: dict[str, Path] | None, tagged: bool,
                 keep_setup: Path | None = None) -> list[str]:
    """Lay out and write a whole book in the started process, else in a child forked now
    (:func:`layout.layout_in_child`); the characters drawn as empty boxes. With the started process, its stylesheet
    is kept in the cache folder ``keep_setup`` (None: not kept) for the next run's (``weasy.last_setup``)."""
    worker = _take()
    if worker is not None:
        return worker.layout((html, css, identifier, target, media, files, tagged), advance, label, keep_setup)
    from .layout import layout_in_child

    return layout_in_child(html, css, identifier, target, advance, label=label, media=media, files=files,
                           tagged=tagged)


def started() -> Any:
    """The started process's handle (tests)."""
    return _worker
