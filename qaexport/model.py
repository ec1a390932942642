"""The content model every reader produces and every exporter consumes.

library → framework → topic → subtopic → question. Identity is the stable key
``framework/topic/subtopic/question-id`` built from slugs; exporters derive every id a
user's tool remembers from it, never from position, time or content.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field, replace


def _crumb(text: str) -> str:
    """A topic filter as compared: case-insensitive, '>' or '›' between parts, spacing ignored."""
    parts = text.replace(">", "›").split("›")
    return " › ".join(" ".join(p.split()).lower() for p in parts)


class Difficulty(enum.IntEnum):
    EASY = 1
    MEDIUM = 2
    HARD = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: object) -> Difficulty | None:
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError:
                return None
        return None


class ContentFormat(enum.StrEnum):
    """What a question or answer text is; the render layer dispatches on it, exporters never see it."""

    MARKDOWN = "markdown"  # CommonMark + GFM tables (payloads, Markdown banks)
    HTML = "html"  # HTML from a source such as an Anki card: untrusted, sanitised by the render layer


@dataclass(frozen=True)
class Location:
    """Where a record came from, as precisely as its reader knows: every message names it."""

    file: str
    line: int | None = None
    record: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.record}" if self.record else where


@dataclass(frozen=True)
class Media:
    """An embedded file (an image from an Anki package). ``name`` is content-addressed
    (``<sha256[:16]><ext>``), so merging sources never collides; HTML refers to it as ``src="NAME"``."""

    name: str
    data: bytes
    mime: str
    pixels: int = 0  # as embedded (``qaexport.limits`` checked it): what the build's image budget counts


_SLUG_DROP = re.compile(r"[^a-z0-9]+")


def slugify(text: str) -> str:
    """Lowercase ASCII slug; stable across runs and platforms."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return _SLUG_DROP.sub("-", ascii_text.lower()).strip("-")


#: A question id: what a bank may write after ``#`` (assemble checks it), at most ``MAX_ID_CHARS``.
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]*"
MAX_ID_CHARS = 120
_SLUG_PATTERN = r"[a-z0-9]+(?:-[a-z0-9]+)*"
#: A question key as every output spells it: ``framework/topic/subtopic/id``, slugs then the id.
KEY_PATTERN = rf"{_SLUG_PATTERN}/{_SLUG_PATTERN}/{_SLUG_PATTERN}/{ID_PATTERN}"
_KEY = re.compile(KEY_PATTERN)


def is_key(text: str) -> bool:
    """Whether ``text`` is a well-formed question key (``fastapi/deployment/uvicorn/worker-count``)."""
    return _KEY.fullmatch(text) is not None and len(text.rsplit("/", 1)[-1]) <= MAX_ID_CHARS


@dataclass
class Question:
    """One question. ``key`` (``framework/topic/subtopic/id``) says where it is: anchors, caches, the Anki
    note's Key field and deck. Only :mod:`qaexport.assemble` makes questions, so the key is never empty.

    ``origin`` is the key a question moved from had when it was first exported (a bank's ``from=``): its
    ``identity``, the key its Anki note's GUID was made from, stays that first key, so a question moved to
    another subtopic or file keeps its note and reviews, and GUIDs already in learners' decks never change."""

    id: str
    difficulty: Difficulty | None  # None: the source gives none (Anki packages); shown without a badge
    question: str
    answer: str
    key: str
    location: Location
    format: ContentFormat = ContentFormat.MARKDOWN
    origin: str | None = None
    #: The question text holds cloze deletions (``{{c1::…}}``): an Anki Cloze note (a card per number), a text
    #: with blanks in print; ``answer`` is then optional extra text ("" when there is none).
    cloze: bool = False
    #: Markdown images: the reference as the renderer sees it (``images/a.png``) → the library media it shows.
    #: A reference missing here was left out (outside the bank folder, a URL, too big): it prints as its alt text.
    images: dict[str, str] = field(default_factory=dict)

    @property
    def identity(self) -> str:
        """The key this question was first exported under: what its Anki note's GUID derives from."""
        return self.origin or self.key


@dataclass
class Subtopic:
    slug: str
    name: str
    description: str = ""
    order: float | None = None
    questions: list[Question] = field(default_factory=list)


@dataclass
class Topic:
    slug: str
    name: str
    description: str = ""
    order: float | None = None
    subtopics: list[Subtopic] = field(default_factory=list)


@dataclass
class Framework:
    slug: str
    name: str
    description: str = ""
    order: float | None = None
    topics: list[Topic] = field(default_factory=list)


def path_names(framework: Framework, topic: Topic, subtopic: Subtopic) -> list[str]:
    """The names a reader should see for a subtopic's place: a level named like its parent is the same
    thing seen again (an Anki deck ``Chemistry`` is framework, topic and subtopic at once), so it is
    printed once."""
    names = [framework.name]
    for node in (topic, subtopic):
        if node.name != names[-1]:
            names.append(node.name)
    return names


@dataclass
class QuestionRef:
    """A question with the path that places it; what exporters iterate over."""

    framework: Framework
    topic: Topic
    subtopic: Subtopic
    question: Question

    @property
    def breadcrumb(self) -> str:
        return " › ".join(path_names(self.framework, self.topic, self.subtopic))


@dataclass(frozen=True)
class BankFile:
    """One file of a Markdown bank as its author wrote it (spacing, comments, field order and all), so that a deck
    can carry it and ``convert`` give it back byte for byte (``formats/anki_package``: the deck's originals)."""

    #: Where it sits in the bank folder, ``/``-separated (``fastapi/basics.md``).
    name: str
    data: bytes
    #: Each image reference as written in it (a question's or the cover's) → media name.
    images: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Restored:
    """A bank file that a deck carried back (see :class:`BankFile`): the questions it holds, by key, in order, and
    the keys of those whose notes changed in Anki since the export (a learner's edit, a deleted note). Nothing
    changed: the Markdown writer writes the file's own bytes; otherwise its canonical form, saying which changed."""

    file: BankFile
    keys: tuple[str, ...]
    changed: tuple[str, ...] = ()


@dataclass
class Library:
    frameworks: list[Framework] = field(default_factory=list)
    media: dict[str, Media] = field(default_factory=dict)
    #: A cover image for the books (a Markdown bank's front matter ``cover:``): its media name and alt text.
    cover: tuple[str, str] | None = None
    #: The Markdown bank files read, by their location (``Location.file``), for the Anki deck to carry. A filtered
    #: library has none: a deck of part of a file must not give the whole file back.
    bank_files: dict[str, BankFile] = field(default_factory=dict)
    #: The bank files an Anki deck carried (its originals), for ``convert``.
    restored: list[Restored] = field(default_factory=list)
    #: Places a Markdown bank names without a slug, one warning each (``validate`` says them; a build does not:
    #: a build with warnings is never skipped as up to date, and the ``.apkg`` exporter tells an actual rename).
    #: Each as (where the place is named, what to say); a Problem is made of it there (errors imports this module).
    unpinned: list[tuple[Location, str]] = field(default_factory=list)

    def questions(self) -> Iterator[QuestionRef]:
        for fw in self.frameworks:
            for topic in fw.topics:
                for sub in topic.subtopics:
                    for q in sub.questions:
                        yield QuestionRef(fw, topic, sub, q)

    def subtopics(self) -> Iterator[tuple[Framework, Topic, Subtopic]]:
        for fw in self.frameworks:
            for topic in fw.topics:
                for sub in topic.subtopics:
                    yield fw, topic, sub

    def count(self) -> int:
        return sum(len(sub.questions) for _, _, sub in self.subtopics())

    def count_rows(self) -> list[tuple[str, int]]:
        """(label, count) per difficulty for covers, plus "unrated" when some questions have none."""
        counts = self.counts_by_difficulty()
        rows = [(d.label, counts[d]) for d in Difficulty]
        unrated = self.count() - sum(counts.values())
        return [*rows, ("unrated", unrated)] if unrated else rows

    def counts_by_difficulty(self) -> dict[Difficulty, int]:
        """Questions per difficulty; questions without one are counted by :meth:`count` only."""
        counts = dict.fromkeys(Difficulty, 0)
        for ref in self.questions():
            if ref.question.difficulty is not None:
                counts[ref.question.difficulty] += 1
        return counts

    @property
    def title(self) -> str:
        """A human title: the topic when there is one, else the framework, else a generic name."""
        if len(self.frameworks) == 1:
            fw = self.frameworks[0]
            if len(fw.topics) == 1:
                return f"{fw.name}: {fw.topics[0].name}"
            return fw.name
        return "Interview Questions"

    @property
    def slug(self) -> str:
        """File-name stem for outputs, from the content."""
        if len(self.frameworks) == 1:
            fw = self.frameworks[0]
            if len(fw.topics) == 1:
                return f"{fw.slug}-{fw.topics[0].slug}"
            return fw.slug
        return "interview-questions"

    def filtered(self, difficulties: set[Difficulty | None] | None = None, topics: set[str] | None = None
                 ) -> Library:
        """A copy holding only the matching questions; empty branches are dropped. ``None`` among
        ``difficulties`` keeps the unrated questions (``-d unrated``).

        ``topics`` matches a framework, topic or subtopic by slug or name (case-insensitive),
        or a key prefix such as ``fastapi/deployment``.
        """
        wanted = {_crumb(t) for t in topics} if topics else None

        def topic_matches(fw: Framework, topic: Topic, sub: Subtopic) -> bool:
            if wanted is None:
                return True
            names = {
                fw.slug, fw.name, topic.slug, topic.name, sub.slug, sub.name,
                f"{fw.slug}/{topic.slug}", f"{fw.slug}/{topic.slug}/{sub.slug}",
                f"{fw.name} › {topic.name}", f"{fw.name} › {topic.name} › {sub.name}",  # pasted from `list`
                " › ".join(path_names(fw, topic, sub)),  # `list` prints a repeated level once
            }
            return bool({_crumb(n) for n in names} & wanted)

        def difficulty_matches(q: Question) -> bool:
            # A question without a difficulty matches only `-d unrated`: it was never labelled.
            return not difficulties or q.difficulty in difficulties

        frameworks = []
        for fw in self.frameworks:
            topics_out = []
            for topic in fw.topics:
                subs = []
                for sub in topic.subtopics:
                    if not topic_matches(fw, topic, sub):
                        continue
                    qs = [q for q in sub.questions if difficulty_matches(q)]
                    if qs:
                        subs.append(replace(sub, questions=qs))
                if subs:
                    topics_out.append(replace(topic, subtopics=subs))
            if topics_out:
                frameworks.append(replace(fw, topics=topics_out))
        kept = Library(frameworks, self.media, self.cover, restored=self.restored)
        if kept.count() == self.count():  # nothing left out: every bank file is whole
            kept.bank_files = self.bank_files
        return kept
