"""The bank as ``qaexport serve`` shows it, kept up to date as its files change.

A save re-reads the files that changed (and any that appeared; the folder listing itself only sniffs each
file's first bytes; for an image saved, removed or restored, the bank files in its folder and the folders above),
assembles every file's records again (identity and validation are the whole bank's: a duplicate id can span two
files), and renders only the questions whose text or images changed. A bank with problems keeps showing its last
good version, with the problems' lines (``FILE:LINE: ...``, as ``validate`` prints them) on every page, until a
save fixes them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .. import sources
from ..assemble import assemble
from ..errors import Problem, QaexportError
from ..model import Framework, Library, Question, Subtopic, Topic
from ..records import ReadResult
from ..render import Highlighter, RenderCache, Rendered, Scheme, render_library

#: The site and the booklet use the book scheme; the Anki card the portable one.
SCHEMES = (Scheme.COMPACT, Scheme.PORTABLE)


@dataclass(frozen=True)
class Snapshot:
    """What the pages show: the last good library with its texts rendered, and the bank's problems now."""

    version: int
    library: Library
    rendered: dict[Scheme, dict[str, Rendered]]
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Reloaded:
    """What one reload did (the tests and the benchmark read it)."""

    version: int
    read: list[Path]  # the files read again
    rendered: list[str]  # the keys of the questions rendered again
    problems: list[str]
    changed: bool  # whether the pages show something new (else the version stays)
    warnings: list[str] = field(default_factory=list)  # the warnings the pages did not show before


def _holding(questions: list[Question], library: Library) -> Library:
    """A library of just these questions (for the renderer, which renders what a library holds)."""
    sub = Subtopic("changed", "changed", questions=questions)
    return Library([Framework("changed", "changed", topics=[Topic("changed", "changed", subtopics=[sub])])],
                   library.media)


def _text(question: Question) -> tuple[object, ...]:
    """What a question's rendering depends on: its texts, and the media its images are (a name is the image's
    content hash, so an image saved over shows its new picture)."""
    return question.format, question.question, question.answer, tuple(sorted(question.images.items()))


class LiveBank:
    """The files under ``paths``, read, assembled and rendered; :meth:`reload` brings it up to date."""

    def __init__(self, paths: list[Path], options: sources.ReaderOptions | None, highlighter: Highlighter,
                 cache: Callable[[], RenderCache | None] = lambda: None) -> None:
        self.paths = paths
        self.options = options
        self.highlighter = highlighter
        self.cache = cache  # a render cache for each reload (the CLI's: the user's cache folder), or none
        self.snapshot = Snapshot(0, Library(), {s: {} for s in SCHEMES})
        self._results: dict[Path, ReadResult] = {}
        self._texts: dict[str, tuple[object, ...]] = {}
        self._media: frozenset[str] = frozenset()
        self._rendered: dict[Scheme, dict[str, Rendered]] = {s: {} for s in SCHEMES}
        self._lock = threading.Lock()

    def reload(self, changed: Iterable[Path] | None = None, workers: int | None = 1) -> Reloaded:
        """Read every file (``changed`` None: the start) or only the ``changed`` ones and new ones, then show the
        result if the bank has no problem. ``workers``: rendering processes (1 after the start: a save changes
        a few questions, and the server's threads are not forked)."""
        with self._lock:
            return self._reload(None if changed is None else {Path(p).resolve() for p in changed}, workers)

    def _reload(self, changed: set[Path] | None, workers: int | None) -> Reloaded:
        skipped: list[Problem] = []
        problems: list[str] = []
        try:
            files = sources.expand(self.paths, self.options, skipped)
        except QaexportError as exc:
            files, problems = [], [str(exc)]
        results: dict[Path, ReadResult] = {}
        read = []
        # A saved file that is no bank file: an image, say. A Markdown file shows images from its own folder or
        # below, so the bank files in a folder holding it (or above it) read it again; their questions' media
        # names (content hashes) then say which to render again.
        known = {path.resolve() for path, _ in files}
        others = [p for p in changed or () if p not in known and p not in self._results]  # not a removed bank file
        for path, reader in files:
            where = path.resolve()
            if changed is None or where in changed or where not in self._results \
                    or any(other.is_relative_to(where.parent) for other in others):
                results[where] = sources.read_file(path, reader)
                read.append(path)
            else:
                results[where] = self._results[where]
        self._results = results
        library, found, warnings = assemble(results.values())
        problems += [str(p) for p in found]
        if not problems and library.count() == 0:
            problems = [f"{', '.join(map(str, self.paths))}: no questions found; write a question (## Question "
                        "{#id .easy}) in a bank file"]
        old = self.snapshot
        # A file that appeared and no reader takes (binary junk, a 60 MB file) changes no question, yet validate
        # warns of it: its warning is news, on the console and the pages (trial10 #15).
        told = [str(w) for w in skipped + warnings]
        new = [w for w in told if w not in old.warnings]
        if problems:  # keep showing the last good bank, and say what is wrong now
            news = problems != old.problems or told != old.warnings
            if news:
                self.snapshot = Snapshot(old.version + 1, old.library, old.rendered, problems, told)
            return Reloaded(self.snapshot.version, read, [], problems, news, new)
        questions = [ref.question for ref in library.questions()]
        media = frozenset(library.media)
        todo = [q for q in questions if self._texts.get(q.key) != _text(q)
                or (media != self._media and q.format != "markdown")]  # HTML content may show the library's images
        if todo:
            cache = self.cache()
            try:
                fresh = render_library(_holding(todo, library), self.highlighter, SCHEMES, cache=cache,
                                       workers=workers)
            finally:
                if cache is not None:
                    cache.close()
            for scheme in SCHEMES:
                self._rendered[scheme].update(fresh[scheme])
        self._texts = {q.key: _text(q) for q in questions}
        self._media = media
        self._rendered = {s: {q.key: self._rendered[s][q.key] for q in questions} for s in SCHEMES}
        changed = (bool(todo) or bool(old.problems) or old.version == 0 or library != old.library
                   or told != old.warnings)
        if changed:
            self.snapshot = Snapshot(old.version + 1, library, {s: dict(t) for s, t in self._rendered.items()}, [],
                                     told)
        return Reloaded(self.snapshot.version, read, [q.key for q in todo], [], changed, new)
