"""What a reader hands over: raw records with locations, before any rule is applied.

A reader only turns bytes into these. Every rule about identity (slugs, ids, keys),
limits, duplicates and merging lives in :mod:`qaexport.assemble`, once, so a Markdown
bank, a Nuxt payload and an Anki package give the same key for the same question.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import Problem
from .model import BankFile, ContentFormat, Location, Media, Restored


@dataclass
class Node:
    """A framework, topic or subtopic as the reader saw it; an empty slug is derived from the name."""

    name: str
    slug: str = ""
    description: str = ""
    order: float | None = None
    #: The line of its name, for a source that has lines (a Markdown bank's front matter): where a slug clash and
    #: a missing slug are told.
    line: int | None = None

    @property
    def unpinned(self) -> bool:
        """Whether a source with lines names it without a ``slug``: its slug, and so every key and Anki note under
        it, then follows the name, and a rename makes new notes (``assemble`` warns, once per place, at ``line``).
        A source without lines (an Anki package, a Nuxt site) has nowhere to pin one, so it is never told."""
        return self.line is not None and not self.slug


@dataclass
class QuestionRecord:
    """One question's raw values. ``id=None`` asks the model to derive one from the question text;
    ``difficulty`` is whatever the source says (``None``: nothing); texts may be any type until checked."""

    id: object
    difficulty: object
    question: object
    answer: object
    location: Location
    format: ContentFormat = ContentFormat.MARKDOWN
    origin: object = None  # the key a moved question was first exported under (a bank's ``from=``), unchecked
    cloze: bool = False  # the question text holds cloze deletions; the answer may then be empty
    images: dict[str, str] = field(default_factory=dict)  # Markdown image reference → media name
    answer_line: int | None = None  # the file line the answer starts on, for a source that has lines


@dataclass
class SubtopicRecord:
    """A subtopic and its place. ``difficulty_optional``: the source has no notion of difficulty
    (Anki packages), so a missing one is not an error."""

    framework: Node
    topic: Node
    subtopic: Node
    questions: list[QuestionRecord]
    location: Location
    difficulty_optional: bool = False


@dataclass
class ReadResult:
    """Everything one file gave: records, the problems that make it invalid, warnings, embedded media."""

    subtopics: list[SubtopicRecord] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    media: dict[str, Media] = field(default_factory=dict)
    cover: tuple[str, str] | None = None  # (media name, alt text) of a cover image the file names
    bank_file: BankFile | None = None  # a Markdown bank file's own bytes (``name``: the file's own name)
    restored: list[Restored] = field(default_factory=list)  # the bank files an Anki deck carried
