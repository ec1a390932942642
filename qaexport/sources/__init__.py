"""Readers turn input files into model pieces; this module finds them and merges the result.

A reader is a module with ``NAME``, ``SUFFIXES`` and ``read(path) -> (frameworks, problems)``.
A new input format is one new module and one line in ``READERS``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import ModuleType

from ..errors import InputError, Problem, UsageError, ValidationError
from ..model import Framework, Library, Question, Subtopic, Topic
from . import markdown, nuxt

READERS: tuple[ModuleType, ...] = (nuxt, markdown)


def _reader_for(path: Path) -> ModuleType:
    for reader in READERS:
        if path.suffix.lower() in reader.SUFFIXES:
            return reader
    return READERS[0]  # content sniffing in the reader gives the clearer error


def expand(sources: Sequence[Path]) -> list[Path]:
    """Files named directly, plus readable files inside named folders (recursive, sorted, hidden entries skipped)."""
    suffixes = {s for r in READERS for s in r.SUFFIXES}
    files: list[Path] = []
    for src in sources:
        if src.is_dir():
            found = sorted(p for p in src.rglob("*") if p.is_file() and p.suffix.lower() in suffixes
                           and not any(part.startswith(".") for part in p.relative_to(src).parts))
            if not found:
                raise UsageError(f"{src}: folder holds no question files ({', '.join(sorted(suffixes))})")
            files.extend(found)
        elif src.exists():
            files.append(src)
        else:
            raise UsageError(f"{src}: no such file or folder")
    return files


def _sort_key(item: tuple[int, float | None]) -> tuple[float, int]:
    seq, order = item
    return (order if order is not None else math.inf, seq)


class _Merger:
    """Merges frameworks/topics/subtopics by slug; order fields first, then input order."""

    def __init__(self) -> None:
        self.frameworks: dict[str, Framework] = {}
        self.problems: list[Problem] = []
        self.owner: dict[str, Question] = {}
        self.arrival: dict[int, int] = {}  # id(node) -> position of first appearance

    def _arrived(self, node: object) -> None:
        self.arrival.setdefault(id(node), len(self.arrival))

    def add(self, fw: Framework) -> None:
        target = self.frameworks.setdefault(fw.slug, Framework(fw.slug, fw.name, fw.description, fw.order))
        self._arrived(target)
        target.description = target.description or fw.description
        target.order = target.order if target.order is not None else fw.order
        for topic in fw.topics:
            t = next((t for t in target.topics if t.slug == topic.slug), None)
            if t is None:
                t = Topic(topic.slug, topic.name, topic.description, topic.order)
                self._arrived(t)
                target.topics.append(t)
            t.description = t.description or topic.description
            for sub in topic.subtopics:
                self._add_subtopic(t, sub)

    def _add_subtopic(self, topic: Topic, sub: Subtopic) -> None:
        s = next((s for s in topic.subtopics if s.slug == sub.slug), None)
        if s is None:
            s = Subtopic(sub.slug, sub.name, sub.description, sub.order, sub.updated, sub.source)
            self._arrived(s)
            topic.subtopics.append(s)
        elif sub.updated and (s.updated is None or sub.updated > s.updated):
            s.updated = sub.updated
        for q in sub.questions:
            if q.key in self.owner:
                self.problems.append(Problem(q.source, f"question {q.id!r} ({q.key})",
                                             f"also defined in {self.owner[q.key].source}; keep one of them"))
                continue
            self.owner[q.key] = q
            s.questions.append(q)

    def library(self) -> Library:
        def ordered(items: list) -> list:
            return sorted(items, key=lambda x: _sort_key((self.arrival[id(x)], x.order)))

        frameworks = ordered(list(self.frameworks.values()))
        for fw in frameworks:
            fw.topics = ordered(fw.topics)
            for t in fw.topics:
                t.subtopics = ordered(t.subtopics)
        return Library(frameworks)


def read_all(files: Iterable[Path]) -> tuple[Library, list[Problem]]:
    """Read every file, collecting all problems (for ``validate``); unreadable files become problems."""
    merger = _Merger()
    problems: list[Problem] = []
    for path in files:
        try:
            frameworks, found = _reader_for(path).read(path)
        except InputError as exc:
            problems.append(exc.problem)
            continue
        problems.extend(found)
        for fw in frameworks:
            merger.add(fw)
    problems.extend(merger.problems)
    return merger.library(), problems


def load(sources: Sequence[Path]) -> Library:
    """The merged library, or :class:`ValidationError` listing every problem."""
    library, problems = read_all(expand(sources))
    if problems:
        raise ValidationError(problems)
    if library.count() == 0:
        raise ValidationError([Problem(", ".join(map(str, sources)), "", "no questions found")])
    return library
